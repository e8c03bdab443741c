//! Migrations over data that was there before: what a company had before an upgrade is what it
//! has after (on SQLite and, with TEST_POSTGRES_URL, PostgreSQL).

use std::path::Path;

/// A database brought up to (and not past) migration `before`, as an older release left it.
async fn database_before(backend: &str, url: &str, dir: &Path, before: &str) -> sqlx::AnyPool {
    let old = dir.join(format!("{backend}-before-{before}"));
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir(format!("{}/../migrations/{backend}", env!("CARGO_MANIFEST_DIR"))).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().as_ref() < before {
            std::fs::copy(entry.path(), old.join(entry.file_name())).unwrap();
        }
    }
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&pool).await.unwrap();
    pool
}

/// Migration 0009 (issue 10, F-ADM-1): the company-wide integration switch starts to count,
/// so a company that was already syncing has it on afterwards; one that had connected no
/// calendar keeps it off until an administrator switches it on.
#[tokio::test]
async fn after_0009_companies_already_syncing_have_the_integration_switched_on() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.db");
    let mut backends = vec![("sqlite", format!("sqlite://{}?mode=rwc", file.display()), format!("sqlite:{}", file.display()), None)];
    if let Ok(admin) = std::env::var("TEST_POSTGRES_URL") {
        let url = store::testing::create_postgres_database(&admin).await;
        let db = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default().to_string();
        backends.push(("postgres", url.clone(), url, Some((admin, db))));
    }
    for (backend, raw_url, store_url, postgres) in backends {
        let pool = database_before(backend, &raw_url, dir.path(), "0009").await;
        for (id, name) in [("t-syncing", "Syncing Co"), ("t-new", "New Co")] {
            sqlx::query("INSERT INTO tenants (id, name, calendar_integration, created_at) VALUES ($1, $2, FALSE, 0)").bind(id).bind(name).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, time_zone, created_at) VALUES ('u1', 't-syncing', 'a@x.example', 'A', 'x', 'user', 'UTC', 0)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO calendar_connections (id, tenant_id, user_id, provider, auth_kind, mailbox, secret, created_at, updated_at) \
             VALUES ('c1', 't-syncing', 'u1', 'ews', 'basic', 'a@x.example', 'sealed', 0, 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = store::Store::connect(&store_url).await.unwrap();
        assert!(store.calendar_integration("t-syncing").await.unwrap(), "{backend}: a syncing company lost its sync");
        assert!(!store.calendar_integration("t-new").await.unwrap(), "{backend}: switched on for a company that never connected");
        store.close().await;
        if let Some((admin, db)) = postgres {
            store::testing::drop_postgres_database(&admin, &db).await;
        }
    }
}
