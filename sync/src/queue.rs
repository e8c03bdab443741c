//! Running queued jobs: a worker claims due jobs with a lease, runs each through a handler
//! (renewing the lease while it runs), records the run, and completes the job or puts it back
//! with a back-off. The back-off honours the provider's own (Retry-After,
//! BackOffMilliseconds) and otherwise grows exponentially with jitter, so that many
//! connections failing together do not retry in lock-step. One connection's failures only
//! delay that connection's jobs.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use store::{Job, JobRun, Store, StoreError};

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub message: String,
    /// The provider said how long to wait.
    pub retry_after: Option<Duration>,
    /// Retrying cannot help (e.g. the user must reconnect the calendar): drop the job.
    pub permanent: bool,
}

impl JobFailure {
    pub fn retry(message: impl Into<String>) -> Self {
        Self { message: message.into(), retry_after: None, permanent: false }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retry_after: None, permanent: true }
    }
}

/// What a handler reports about one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub outcome: Result<(), JobFailure>,
    /// Meetings changed in the CRM or at the provider.
    pub changes: i64,
    /// HTTP calls made to the provider.
    pub provider_calls: i64,
}

impl From<Result<(), JobFailure>> for JobReport {
    fn from(outcome: Result<(), JobFailure>) -> Self {
        Self { outcome, changes: 0, provider_calls: 0 }
    }
}

/// First retry after about this long, doubling per attempt up to `MAX_DELAY`.
pub const BASE_DELAY: Duration = Duration::from_secs(2);
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// How long to wait before attempt `attempts + 1`: the server's back-off when it gave one (never
/// less), else 2 s · 2^(attempts-1) capped at 15 min, with ±20 % jitter.
pub fn retry_delay(attempts: i64, server_hint: Option<Duration>) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let base = BASE_DELAY.saturating_mul(2u32.saturating_pow(exp)).min(MAX_DELAY);
    let jitter = rand::rng().random_range(0.8..1.2);
    let ours = base.mul_f64(jitter);
    match server_hint {
        Some(hint) => hint.max(ours.min(hint.saturating_mul(2))),
        None => ours,
    }
}

#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    /// Unique per process and worker (lease owner).
    pub name: String,
    pub lease: Duration,
    pub batch: i64,
}

impl Worker {
    /// Claims due jobs once and runs them concurrently; returns how many ran.
    pub async fn run_once<F, Fut, R>(&self, handler: F) -> Result<usize, StoreError>
    where
        F: Fn(Job) -> Fut,
        Fut: Future<Output = R>,
        R: Into<JobReport>,
    {
        let now = Utc::now();
        let jobs = self.store.claim_jobs(&self.name, now, now + self.lease_delta(), self.batch).await?;
        let n = jobs.len();
        let runs = jobs.into_iter().map(|job| self.run_job(job, &handler));
        for r in futures_util::future::join_all(runs).await {
            r?;
        }
        Ok(n)
    }

    fn lease_delta(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::minutes(5))
    }

    async fn run_job<F, Fut, R>(&self, job: Job, handler: &F) -> Result<(), StoreError>
    where
        F: Fn(Job) -> Fut,
        Fut: Future<Output = R>,
        R: Into<JobReport>,
    {
        let started = Utc::now();
        let (id, attempts) = (job.id.clone(), job.attempts);
        let mut run = JobRun {
            tenant_id: job.tenant_id.clone(),
            connection_id: job.connection_id.clone(),
            job_id: job.id.clone(),
            kind: job.kind,
            worker: self.name.clone(),
            started_at: started,
            finished_at: started,
            outcome: String::new(),
            message: String::new(),
            changes: 0,
            provider_calls: 0,
        };
        // Renew the lease a few times per period while the handler runs — in a task of its
        // own: the renewal may have to wait for the database's write lock, which the job
        // itself may hold, and must never hold the job up.
        let heartbeat = {
            let (store, name, id, period, lease) = (self.store.clone(), self.name.clone(), id.clone(), self.lease / 3, self.lease_delta());
            tokio::spawn(async move {
                let mut beat = tokio::time::interval(period);
                beat.tick().await;
                loop {
                    beat.tick().await;
                    if let Err(e) = store.extend_lease(&id, &name, Utc::now() + lease).await {
                        tracing::warn!(job = %id, error = %e, "could not renew the job's lease");
                    }
                }
            })
        };
        let report: JobReport = handler(job).await.into();
        heartbeat.abort();
        run.finished_at = Utc::now();
        run.changes = report.changes;
        run.provider_calls = report.provider_calls;
        match report.outcome {
            Ok(()) => {
                run.outcome = "ok".into();
                self.store.complete_job(&id, &self.name).await?;
            }
            Err(failure) if failure.permanent => {
                run.outcome = "failed".into();
                run.message = failure.message.clone();
                tracing::warn!(job = %id, error = %failure.message, "job failed for good");
                self.store.complete_job(&id, &self.name).await?;
            }
            Err(failure) => {
                let wait = retry_delay(attempts, failure.retry_after);
                let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(15));
                tracing::info!(job = %id, attempts, wait_ms = wait.as_millis() as u64, error = %failure.message, "job failed; retrying later");
                run.outcome = "retry".into();
                run.message = failure.message.clone();
                self.store.release_job(&id, &self.name, at, &failure.message).await?;
            }
        }
        if let Err(e) = self.store.record_run(&run).await {
            tracing::warn!(job = %run.job_id, error = %e, "could not record the job run");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_with_jitter_and_honours_the_server() {
        for attempt in 1..=12 {
            let d = retry_delay(attempt, None);
            let nominal = BASE_DELAY.saturating_mul(2u32.pow(attempt as u32 - 1)).min(MAX_DELAY);
            assert!(d >= nominal.mul_f64(0.8) && d <= nominal.mul_f64(1.2), "attempt {attempt}: {d:?}");
        }
        // Jitter: not every retry of the same attempt waits the same.
        let waits: std::collections::HashSet<_> = (0..20).map(|_| retry_delay(3, None)).collect();
        assert!(waits.len() > 1);
        // The server's back-off is a floor.
        assert!(retry_delay(1, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        assert!(retry_delay(1, Some(Duration::from_secs(30))) <= Duration::from_secs(60));
    }
}
