//! The CRM's customer records: organisations and their persons (F-CRM-1).

use crate::search::Kind;
use crate::{new_id, Result, Store};
use chrono::Utc;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    /// Its e-mail domain, lower-case ('' = none): unknown attendees of that domain link a
    /// meeting to it (F-X-13).
    pub domain: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub id: String,
    pub organisation_id: Option<String>,
    pub name: String,
    pub email: String,
}

pub struct NewPerson<'a> {
    pub organisation_id: Option<&'a str>,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
}

impl Store {
    pub async fn create_organisation(&self, tenant_id: &str, name: &str) -> Result<Organisation> {
        self.create_organisation_with_domain(tenant_id, name, "").await
    }

    /// An organisation and the e-mail domain its people write from ("" for none).
    pub async fn create_organisation_with_domain(&self, tenant_id: &str, name: &str, domain: &str) -> Result<Organisation> {
        let id = new_id();
        let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO organisations (id, tenant_id, name, domain, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(tenant_id)
            .bind(name)
            .bind(&domain)
            .bind(Utc::now().timestamp())
            .execute(&mut *tx)
            .await?;
        crate::search::index(&mut tx, tenant_id, Kind::Organisation, &id, &format!("{name} {domain}")).await?;
        tx.commit().await?;
        Ok(Organisation { id, name: name.to_string(), domain })
    }

    pub async fn organisations(&self, tenant_id: &str) -> Result<Vec<Organisation>> {
        let rows = sqlx::query("SELECT id, name, domain FROM organisations WHERE tenant_id = $1 ORDER BY name, id")
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(Organisation { id: r.try_get("id")?, name: r.try_get("name")?, domain: r.try_get("domain")? })).collect()
    }

    pub async fn create_person(&self, tenant_id: &str, p: NewPerson<'_>) -> Result<Person> {
        let id = new_id();
        let mut tx = self.begin().await?;
        let organisation: Option<String> = match p.organisation_id {
            Some(o) => Some(
                sqlx::query("SELECT name FROM organisations WHERE id = $1 AND tenant_id = $2")
                    .bind(o)
                    .bind(tenant_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(crate::StoreError::NotFound)?
                    .try_get("name")?,
            ),
            None => None,
        };
        sqlx::query("INSERT INTO persons (id, tenant_id, organisation_id, name, email, phone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(tenant_id)
            .bind(p.organisation_id)
            .bind(p.name)
            .bind(p.email)
            .bind(p.phone)
            .bind(Utc::now().timestamp())
            .execute(&mut *tx)
            .await?;
        let text = crate::search::person_text(p.name, p.email, organisation.as_deref().unwrap_or(""));
        crate::search::index(&mut tx, tenant_id, Kind::Person, &id, &text).await?;
        tx.commit().await?;
        Ok(Person { id, organisation_id: p.organisation_id.map(str::to_string), name: p.name.to_string(), email: p.email.to_string() })
    }

    /// Persons of the tenant, optionally only those of one organisation.
    pub async fn persons(&self, tenant_id: &str, organisation_id: Option<&str>) -> Result<Vec<Person>> {
        let rows = sqlx::query(
            "SELECT id, organisation_id, name, email FROM persons \
             WHERE tenant_id = $1 AND ($2 IS NULL OR organisation_id = $2) ORDER BY name, id",
        )
        .bind(tenant_id)
        .bind(organisation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Person {
                    id: r.try_get("id")?,
                    organisation_id: r.try_get("organisation_id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// The names of the organisations linked to each of these meetings (the agenda's
    /// organisation column), as (meeting id, name), ordered by meeting and name.
    pub async fn organisation_names(&self, tenant_id: &str, meeting_ids: &[String]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        // In chunks: an IN list is bounded by the backends' parameter limits.
        for chunk in meeting_ids.chunks(500) {
            let sql = format!(
                "SELECT mo.meeting_id AS meeting_id, o.name AS name FROM meeting_organisations mo \
                 JOIN organisations o ON o.id = mo.organisation_id AND o.tenant_id = mo.tenant_id \
                 WHERE mo.tenant_id = $1 AND mo.meeting_id IN ({}) ORDER BY mo.meeting_id, o.name",
                crate::placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(tenant_id);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push((r.try_get("meeting_id")?, r.try_get("name")?));
            }
        }
        Ok(out)
    }
}
