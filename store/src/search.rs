//! Finding people and organisations as one types (F-EDIT-1): word prefixes over a table of
//! folded words (`search_words`, migration 0010), so a search is a range of an index however
//! many persons a company has, and "sor" finds "Søren" on both backends.

use crate::{placeholders, Result, Store};
use domain::search::{fold, query_words, words};
use sqlx::{AnyConnection, Row};

/// What a search looks through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Person,
    Organisation,
    User,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Organisation => "organisation",
            Kind::User => "user",
        }
    }
}

/// One record found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub name: String,
    /// The e-mail address (an organisation's: its domain).
    pub email: String,
    /// Persons: their organisation.
    pub organisation_id: Option<String>,
    pub organisation: String,
}

/// At most this many query words count (the rest narrow nothing a person would notice).
const QUERY_WORDS: usize = 4;
/// How many index matches are ranked; a broader query shows the first of them by word order
/// (typing more narrows it).
const CANDIDATES: i64 = 200;

/// The end of the range of words beginning with `prefix` (byte order on both backends).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// The words a record's text is indexed by (at most 32, each cut to 64 characters).
pub(crate) fn index_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words(text).into_iter().take(32).map(|w| w.chars().take(64).collect::<String>()) {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// (Re)writes a record's words, in the caller's transaction or on the pool.
pub(crate) async fn index(db: &mut AnyConnection, tenant_id: &str, kind: Kind, record_id: &str, text: &str) -> Result<()> {
    sqlx::query("DELETE FROM search_words WHERE record_id = $1 AND kind = $2").bind(record_id).bind(kind.as_str()).execute(&mut *db).await?;
    for w in index_words(text) {
        sqlx::query("INSERT INTO search_words (tenant_id, kind, record_id, word) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(record_id)
            .bind(w)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}

/// The text a record is found by.
pub(crate) fn person_text(name: &str, email: &str, organisation: &str) -> String {
    format!("{name} {email} {organisation}")
}

impl Store {
    /// Indexes records written before the index existed (run when the store opens; a few
    /// hundred at a time, so a large company's first start does not hold one long transaction).
    pub(crate) async fn index_unindexed(&self) -> Result<()> {
        let missing = "NOT EXISTS (SELECT 1 FROM search_words s WHERE s.record_id = r.id)";
        loop {
            let rows = sqlx::query(&format!(
                "SELECT r.id AS id, r.tenant_id AS tenant_id, r.name || ' ' || r.email || ' ' || COALESCE(o.name, '') AS text \
                 FROM persons r LEFT JOIN organisations o ON o.id = r.organisation_id WHERE {missing} AND (r.name <> '' OR r.email <> '') LIMIT 500"
            ))
            .fetch_all(&self.pool)
            .await?;
            let orgs = sqlx::query(&format!("SELECT r.id AS id, r.tenant_id AS tenant_id, r.name || ' ' || r.domain AS text FROM organisations r WHERE {missing} AND r.name <> '' LIMIT 500"))
                .fetch_all(&self.pool)
                .await?;
            let users = sqlx::query(&format!("SELECT r.id AS id, r.tenant_id AS tenant_id, r.display_name || ' ' || r.email AS text FROM users r WHERE {missing} LIMIT 500"))
                .fetch_all(&self.pool)
                .await?;
            if rows.is_empty() && orgs.is_empty() && users.is_empty() {
                return Ok(());
            }
            let mut tx = self.begin().await?;
            for (kind, rows) in [(Kind::Person, rows), (Kind::Organisation, orgs), (Kind::User, users)] {
                for r in rows {
                    let (id, tenant, text): (String, String, String) = (r.try_get("id")?, r.try_get("tenant_id")?, r.try_get("text")?);
                    index(&mut *tx, &tenant, kind, &id, &text).await?;
                    if words(&text).is_empty() {
                        // Nothing to find it by; a placeholder keeps it from being read again.
                        sqlx::query("INSERT INTO search_words (tenant_id, kind, record_id, word) VALUES ($1, $2, $3, '') ON CONFLICT DO NOTHING")
                            .bind(&tenant)
                            .bind(kind.as_str())
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            tx.commit().await?;
        }
    }

    /// Records of `kind` whose words begin with every word of `query`, by name; persons of
    /// the `preferred` organisations first (the editor's chosen ones). At most `limit`.
    pub async fn search(&self, tenant_id: &str, kind: Kind, query: &str, preferred: &[String], limit: usize) -> Result<Vec<Found>> {
        let mut q: Vec<String> = query_words(query);
        q.truncate(QUERY_WORDS);
        let mut out: Vec<Found> = Vec::new();
        if kind == Kind::Person && !preferred.is_empty() {
            // Their persons are few: read them and match here.
            let sql = format!(
                "SELECT p.id AS id, p.name AS name, p.email AS email, p.organisation_id AS organisation_id, o.name AS organisation \
                 FROM persons p JOIN organisations o ON o.id = p.organisation_id \
                 WHERE p.tenant_id = $1 AND p.organisation_id IN ({}) ORDER BY p.name, p.id LIMIT 1000",
                placeholders(2, preferred.len().min(50))
            );
            let mut query_rows = sqlx::query(&sql).bind(tenant_id);
            for o in preferred.iter().take(50) {
                query_rows = query_rows.bind(o);
            }
            for r in query_rows.fetch_all(&self.pool).await? {
                let f = found(&r)?;
                if q.iter().all(|w| words(&person_text(&f.name, &f.email, &f.organisation)).iter().any(|x| x.starts_with(w.as_str()))) {
                    out.push(f);
                }
            }
            out.truncate(limit);
        }
        if q.is_empty() || out.len() >= limit {
            return Ok(out);
        }
        // The longest word drives (its range is the narrowest); every other word must begin
        // a word of the same record.
        q.sort_by_key(|w| std::cmp::Reverse(w.len()));
        let mut sql = String::from(
            "SELECT DISTINCT s.record_id AS record_id, s.word AS word FROM search_words s WHERE s.tenant_id = $1 AND s.kind = $2 AND s.word >= $3 AND s.word < $4",
        );
        for i in 1..q.len() {
            let (a, b) = (3 + 2 * i, 4 + 2 * i);
            sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM search_words t WHERE t.record_id = s.record_id AND t.word >= ${a} AND t.word < ${b})"));
        }
        sql.push_str(&format!(" ORDER BY s.word, s.record_id LIMIT {CANDIDATES}"));
        let mut rows = sqlx::query(&sql).bind(tenant_id).bind(kind.as_str());
        for w in &q {
            rows = rows.bind(w.clone()).bind(prefix_end(w));
        }
        let mut ids: Vec<String> = Vec::new();
        for r in rows.fetch_all(&self.pool).await? {
            let id: String = r.try_get("record_id")?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Ok(out);
        }
        let mut more = self.found_by_id(tenant_id, kind, &ids).await?;
        more.sort_by(|a, b| (fold(&a.name), &a.id).cmp(&(fold(&b.name), &b.id)));
        for f in more {
            if out.len() >= limit {
                break;
            }
            if !out.iter().any(|o| o.id == f.id) {
                out.push(f);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// These records of `kind` as a search finds them (persons with their organisation's
    /// name), in no particular order; unknown ids and other companies' records are left out.
    pub async fn found_by_id(&self, tenant_id: &str, kind: Kind, ids: &[String]) -> Result<Vec<Found>> {
        // By primary key alone, the company checked on each row read: with `tenant_id = ?` in
        // the query SQLite takes the (tenant_id, …) index instead and reads every person of the
        // company (180 ms at 100,000 persons against 2 ms; see README, the type-ahead).
        let select = match kind {
            Kind::Person => "SELECT p.tenant_id AS tenant_id, p.id AS id, p.name AS name, p.email AS email, p.organisation_id AS organisation_id, COALESCE(o.name, '') AS organisation \
                 FROM persons p LEFT JOIN organisations o ON o.id = p.organisation_id WHERE p.id IN",
            Kind::Organisation => "SELECT o.tenant_id AS tenant_id, o.id AS id, o.name AS name, o.domain AS email, NULL AS organisation_id, '' AS organisation \
                 FROM organisations o WHERE o.id IN",
            Kind::User => "SELECT u.tenant_id AS tenant_id, u.id AS id, u.display_name AS name, u.email AS email, NULL AS organisation_id, '' AS organisation \
                 FROM users u WHERE u.id IN",
        };
        let mut out = Vec::with_capacity(ids.len());
        // In chunks: an IN list is bounded by the backends' parameter limits.
        for chunk in ids.chunks(500) {
            let sql = format!("{select} ({})", placeholders(1, chunk.len()));
            let mut rows = sqlx::query(&sql);
            for id in chunk {
                rows = rows.bind(id);
            }
            for r in rows.fetch_all(&self.pool).await? {
                if r.try_get::<String, _>("tenant_id")? == tenant_id {
                    out.push(found(&r)?);
                }
            }
        }
        Ok(out)
    }
}

fn found(r: &sqlx::any::AnyRow) -> Result<Found> {
    Ok(Found {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation: r.try_get("organisation")?,
    })
}
