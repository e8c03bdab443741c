//! Running queued jobs: a worker claims due jobs with a lease, runs each through a handler, and
//! completes it or puts it back with a back-off. The back-off honours the provider's own
//! (Retry-After, BackOffMilliseconds) and otherwise grows exponentially with jitter, so that
//! many connections failing together do not retry in lock-step. One connection's failures only
//! delay that connection's jobs.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use store::{Job, Store, StoreError};

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub message: String,
    /// The provider said how long to wait.
    pub retry_after: Option<Duration>,
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

pub struct Worker {
    pub store: Store,
    /// Unique per process and worker (lease owner).
    pub name: String,
    pub lease: Duration,
    pub batch: i64,
}

impl Worker {
    /// Claims due jobs once and runs them concurrently; returns how many ran.
    pub async fn run_once<F, Fut>(&self, handler: F) -> Result<usize, StoreError>
    where
        F: Fn(Job) -> Fut,
        Fut: Future<Output = Result<(), JobFailure>>,
    {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::minutes(5));
        let jobs = self.store.claim_jobs(&self.name, now, now + lease, self.batch).await?;
        let n = jobs.len();
        let runs = jobs.into_iter().map(|job| {
            let (id, attempts) = (job.id.clone(), job.attempts);
            let fut = handler(job);
            async move { (id, attempts, fut.await) }
        });
        for (id, attempts, outcome) in futures_util::future::join_all(runs).await {
            match outcome {
                Ok(()) => {
                    self.store.complete_job(&id, &self.name).await?;
                }
                Err(failure) => {
                    let wait = retry_delay(attempts, failure.retry_after);
                    let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(15));
                    tracing::info!(job = %id, attempts, wait_ms = wait.as_millis() as u64, error = %failure.message, "job failed; retrying later");
                    self.store.release_job(&id, &self.name, at, &failure.message).await?;
                }
            }
        }
        Ok(n)
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
