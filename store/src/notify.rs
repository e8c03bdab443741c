//! Notices between processes sharing one PostgreSQL database (LISTEN/NOTIFY): "jobs were
//! queued", "these calendars changed". SQLite runs in one process, which needs none.

use sqlx::postgres::PgListener;

use crate::{Backend, Result, Store};

/// NOTIFY payloads must stay under PostgreSQL's 8000 bytes.
pub const MAX_NOTICE_BYTES: usize = 7900;

/// A LISTEN connection. It reconnects by itself when the connection drops; notices sent
/// while it was away are lost, so listeners treat a reconnect as "anything may have changed".
pub struct Listener(PgListener);

impl Listener {
    /// The next notice's payload; `None` after the connection dropped and came back.
    pub async fn recv(&mut self) -> Result<Option<String>> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_string()))
    }
}

impl Store {
    /// Sends a notice on `channel` to every listening process (PostgreSQL; a no-op on SQLite).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Listens on `channel` (PostgreSQL); None on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>> {
        let Some(url) = &self.url else { return Ok(None) };
        let mut l = PgListener::connect(url).await?;
        l.listen(channel).await?;
        Ok(Some(Listener(l)))
    }
}
