//! The sync engine's durable job queue. Jobs are claimed with a lease (a worker that dies lets
//! its lease run out and another takes the job over), at most one job per connection runs at a
//! time (so a slow or throttled connection holds up only itself), and pending jobs with the same
//! coalescing key are one job (ten "sync Anna's calendar" requests make one sync). PostgreSQL
//! claims with `FOR UPDATE SKIP LOCKED`, so several processes share the queue without taking
//! the same job; SQLite has one writer, which serialises claims by itself.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, Backend, Result, Store};

/// What a job does (see `sync::engine` for each kind's meaning and coalescing key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Bring a calendar's changes in.
    Sync,
    /// Push one meeting's CRM state to one calendar.
    Write,
    /// Create or renew a calendar's push subscription.
    Push,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Sync => "sync",
            JobKind::Write => "write",
            JobKind::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        [JobKind::Sync, JobKind::Write, JobKind::Push].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub connection_id: Option<String>,
    pub kind: JobKind,
    pub coalesce_key: Option<String>,
    pub payload: String,
    pub run_at: DateTime<Utc>,
    /// Including the current run.
    pub attempts: i64,
    pub last_error: String,
    /// Bits the job's requests OR-ed together when they coalesced.
    pub flags: i64,
}

pub struct NewJob<'a> {
    pub connection_id: Option<&'a str>,
    pub kind: JobKind,
    pub coalesce_key: Option<&'a str>,
    pub payload: &'a str,
    pub run_at: DateTime<Utc>,
    pub flags: i64,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

const COLUMNS: &str = "id, tenant_id, connection_id, kind, coalesce_key, payload, run_at, attempts, last_error, flags";

fn kind_of(r: &AnyRow) -> Result<JobKind> {
    let kind: String = r.try_get("kind")?;
    JobKind::parse(&kind).ok_or_else(|| crate::StoreError::Db(sqlx::Error::Decode(format!("unknown job kind {kind:?}").into())))
}

fn job(r: &AnyRow) -> Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        connection_id: r.try_get("connection_id")?,
        kind: kind_of(r)?,
        coalesce_key: r.try_get("coalesce_key")?,
        payload: r.try_get("payload")?,
        run_at: from_ms(r.try_get("run_at")?),
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        flags: r.try_get("flags")?,
    })
}

/// Queues a job on `executor` (the pool, or a transaction that also writes what the job is
/// about). With a coalescing key that already has a pending job, no second job is made: the
/// pending one runs at the earlier of the two times, with both jobs' flags, and the newer
/// payload — unless the older job asked for something (a flag) the newer does not, whose
/// payload then stays with it. Returns whether a new job was created.
pub(crate) async fn insert_job<'e, E>(executor: E, tenant_id: &str, j: NewJob<'_>) -> Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let done = sqlx::query(
        "INSERT INTO sync_jobs (id, tenant_id, connection_id, kind, coalesce_key, payload, run_at, created_at, flags) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (coalesce_key) WHERE coalesce_key IS NOT NULL AND lease_owner IS NULL \
         DO UPDATE SET run_at = CASE WHEN excluded.run_at < sync_jobs.run_at THEN excluded.run_at ELSE sync_jobs.run_at END, \
         payload = CASE WHEN (sync_jobs.flags & ~excluded.flags) = 0 THEN excluded.payload ELSE sync_jobs.payload END, \
         flags = sync_jobs.flags | excluded.flags \
         RETURNING (id = $1) AS created",
    )
    .bind(new_id())
    .bind(tenant_id)
    .bind(j.connection_id)
    .bind(j.kind.as_str())
    .bind(j.coalesce_key)
    .bind(j.payload)
    .bind(ms(j.run_at))
    .bind(Utc::now().timestamp())
    .bind(j.flags)
    .fetch_one(executor)
    .await?;
    crate::flag(&done, "created")
}

impl Store {
    /// Queues a job (see [`insert_job`]).
    pub async fn enqueue_job(&self, tenant_id: &str, j: NewJob<'_>) -> Result<bool> {
        insert_job(&self.pool, tenant_id, j).await
    }

    /// Claims up to `limit` due jobs for `worker` until `lease_until`: pending ones, and ones
    /// whose lease ran out (their worker died). Never a job of a connection that has a job
    /// running under a live lease, nor of a company whose calendar integration is switched
    /// off (its jobs wait, and run when it is switched on again: nothing is lost).
    pub async fn claim_jobs(&self, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<Job>> {
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE sync_jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT j.id FROM sync_jobs j \
                 WHERE j.run_at <= $3 AND (j.lease_owner IS NULL OR j.lease_until < $3) \
                 AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = j.tenant_id AND t.calendar_integration) \
                 AND NOT EXISTS (SELECT 1 FROM sync_jobs r WHERE r.connection_id = j.connection_id \
                     AND r.id <> j.id AND r.lease_owner IS NOT NULL AND r.lease_until >= $3) \
                 ORDER BY j.run_at, j.id LIMIT $4 {skip_locked}) \
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql).bind(worker).bind(ms(lease_until)).bind(ms(now)).bind(limit).fetch_all(&self.pool).await?;
        let mut jobs: Vec<Job> = rows.iter().map(job).collect::<Result<_>>()?;
        // Two due jobs of one connection can be claimed in the same statement; keep the first,
        // hand the others back at once.
        let mut seen = std::collections::HashSet::new();
        let mut extra = Vec::new();
        jobs.retain(|j| match &j.connection_id {
            Some(c) if !seen.insert(c.clone()) => {
                extra.push(j.id.clone());
                false
            }
            _ => true,
        });
        for id in extra {
            self.release_job(&id, worker, now, "").await?;
        }
        Ok(jobs)
    }

    /// Keeps a running job's lease alive (long syncs outlive one lease period). Returns false
    /// when the lease is no longer ours.
    pub async fn extend_lease(&self, id: &str, worker: &str, until: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query("UPDATE sync_jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2").bind(id).bind(worker).bind(ms(until)).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// The job is done: gone from the queue (only by the worker holding its lease).
    pub async fn complete_job(&self, id: &str, worker: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sync_jobs WHERE id = $1 AND lease_owner = $2").bind(id).bind(worker).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// The job failed (or yields): back to pending, to run at `retry_at`, with the error kept
    /// (returns true). If a pending job with the same coalescing key appeared meanwhile, that
    /// one does the work and this one is dropped (returns false) — handing over its flags (a
    /// "send invitations" must not be lost) and its back-off (a throttled provider stays
    /// spared).
    pub async fn release_job(&self, id: &str, worker: &str, retry_at: DateTime<Utc>, error: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE sync_jobs SET \
             payload = CASE WHEN ((SELECT d.flags FROM sync_jobs d WHERE d.id = $1 AND d.lease_owner = $2) & ~flags) = 0 THEN payload \
                 ELSE (SELECT d.payload FROM sync_jobs d WHERE d.id = $1 AND d.lease_owner = $2) END, \
             flags = flags | (SELECT d.flags FROM sync_jobs d WHERE d.id = $1 AND d.lease_owner = $2), \
             run_at = CASE WHEN run_at < $3 THEN $3 ELSE run_at END, last_error = $4 \
             WHERE lease_owner IS NULL AND id <> $1 \
             AND coalesce_key = (SELECT d.coalesce_key FROM sync_jobs d WHERE d.id = $1 AND d.lease_owner = $2)",
        )
        .bind(id)
        .bind(worker)
        .bind(ms(retry_at))
        .bind(error)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM sync_jobs WHERE id = $1 AND lease_owner = $2 AND coalesce_key IS NOT NULL \
             AND EXISTS (SELECT 1 FROM sync_jobs o WHERE o.coalesce_key = sync_jobs.coalesce_key AND o.lease_owner IS NULL AND o.id <> $1)",
        )
        .bind(id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("UPDATE sync_jobs SET lease_owner = NULL, lease_until = NULL, run_at = $3, last_error = $4 WHERE id = $1 AND lease_owner = $2")
            .bind(id)
            .bind(worker)
            .bind(ms(retry_at))
            .bind(error)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending and running jobs (queue depth), for metrics.
    pub async fn job_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM sync_jobs").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// The earliest time a pending job is due (None: the queue is empty). Workers sleep until
    /// then when nothing wakes them earlier.
    pub async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MIN(CASE WHEN lease_owner IS NULL THEN run_at ELSE lease_until END) AS t FROM sync_jobs").fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>("t")?.map(from_ms))
    }

    /// Is a job with this coalescing key waiting (not yet running)?
    pub async fn job_pending(&self, coalesce_key: &str) -> Result<bool> {
        Ok(!self.jobs_pending(&[coalesce_key.to_string()]).await?.is_empty())
    }

    /// Which of these coalescing keys have a job waiting (not yet leased).
    pub async fn jobs_pending(&self, coalesce_keys: &[String]) -> Result<std::collections::HashSet<String>> {
        if coalesce_keys.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!("SELECT coalesce_key FROM sync_jobs WHERE lease_owner IS NULL AND coalesce_key IN ({})", crate::placeholders(1, coalesce_keys.len()));
        let mut q = sqlx::query(&sql);
        for k in coalesce_keys {
            q = q.bind(k);
        }
        q.fetch_all(&self.pool).await?.iter().map(|r| Ok(r.try_get("coalesce_key")?)).collect()
    }

    pub async fn jobs_of_connection(&self, tenant_id: &str, connection_id: &str) -> Result<Vec<Job>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM sync_jobs WHERE tenant_id = $1 AND connection_id = $2 ORDER BY run_at, id"))
            .bind(tenant_id)
            .bind(connection_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job).collect()
    }
}

/// One run of a job, for the run log (`sync_runs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRun {
    pub tenant_id: String,
    pub connection_id: Option<String>,
    pub job_id: String,
    pub kind: JobKind,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `ok`, `retry` or `failed`.
    pub outcome: String,
    pub message: String,
    pub changes: i64,
    pub provider_calls: i64,
}

impl Store {
    pub async fn record_run(&self, r: &JobRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO sync_runs (id, tenant_id, connection_id, job_id, kind, worker, started_at, finished_at, outcome, message, changes, provider_calls) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(new_id())
        .bind(&r.tenant_id)
        .bind(r.connection_id.as_deref())
        .bind(&r.job_id)
        .bind(r.kind.as_str())
        .bind(&r.worker)
        .bind(ms(r.started_at))
        .bind(ms(r.finished_at))
        .bind(&r.outcome)
        .bind(&r.message)
        .bind(r.changes)
        .bind(r.provider_calls)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Runs recorded since `since`, oldest first (all tenants: operators, tests).
    pub async fn runs_since(&self, since: DateTime<Utc>) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(
            "SELECT tenant_id, connection_id, job_id, kind, worker, started_at, finished_at, outcome, message, changes, provider_calls \
             FROM sync_runs WHERE started_at >= $1 ORDER BY started_at, id",
        )
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobRun {
                    tenant_id: r.try_get("tenant_id")?,
                    connection_id: r.try_get("connection_id")?,
                    job_id: r.try_get("job_id")?,
                    kind: kind_of(r)?,
                    worker: r.try_get("worker")?,
                    started_at: from_ms(r.try_get("started_at")?),
                    finished_at: from_ms(r.try_get("finished_at")?),
                    outcome: r.try_get("outcome")?,
                    message: r.try_get("message")?,
                    changes: r.try_get("changes")?,
                    provider_calls: r.try_get("provider_calls")?,
                })
            })
            .collect()
    }

    pub async fn purge_runs(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sync_runs WHERE started_at < $1").bind(ms(before)).execute(&self.pool).await?.rows_affected())
    }
}
