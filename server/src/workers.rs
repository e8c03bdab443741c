//! The sync workers and the scheduler, in the server process. Each worker claims one job at a
//! time, so a long first sync of a big calendar occupies one worker and never holds up the
//! others; idle workers sleep until a job is queued (here or, on PostgreSQL, in another
//! process) or the next one falls due.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sync::queue::Worker;
use sync::Engine;

use crate::live::Hub;

/// Idle workers look at the queue at least this often (jobs that fall due, missed wake-ups).
const IDLE_CHECK: Duration = Duration::from_secs(2);
/// Poll and push upkeep runs this often.
const TICK: Duration = Duration::from_secs(5);

/// Starts `count` workers with leases of `lease`.
pub fn spawn_workers(engine: Engine, hub: Arc<Hub>, count: usize, lease: Duration) {
    let process = format!("{}-{}", std::process::id(), &store::new_id()[24..]);
    for i in 0..count {
        let worker = Worker { store: engine.store().clone(), name: format!("{process}-{i}"), lease, batch: 1 };
        let engine = engine.clone();
        let hub = hub.clone();
        tokio::spawn(async move {
            loop {
                // Register for a wake-up before looking, so a job queued in between is not missed.
                let woken = hub.wake.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                match worker.run_once(|job| engine.run(job)).await {
                    Ok(0) => {
                        // Until the next job falls due; a due job that waits for its
                        // connection's running job is started when that one ends (below).
                        let wait = match worker.store.next_job_due().await {
                            Ok(Some(t)) if t > Utc::now() => (t - Utc::now()).to_std().unwrap_or(IDLE_CHECK).min(IDLE_CHECK),
                            _ => IDLE_CHECK,
                        };
                        tokio::select! {
                            _ = &mut woken => {}
                            _ = tokio::time::sleep(wait) => {}
                        }
                    }
                    // A finished job may unblock its connection's next one.
                    Ok(_) => hub.wake.notify_waiters(),
                    Err(e) => {
                        tracing::warn!(worker = %worker.name, error = %e, "sync worker: database error");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

/// Polls calendars push does not cover and keeps push subscriptions alive.
pub fn spawn_scheduler(engine: Engine) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            if let Err(e) = engine.tick(Utc::now()).await {
                tracing::warn!(error = %e, "sync scheduler: database error");
            }
        }
    });
}
