//! The sender: claims due messages, sends them one at a time, and records each outcome
//! before the next send, so a crash repeats at most the message that was in flight.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;

use super::outbox::{self, Claimed};
use super::transport::{DeliveryError, Transport};
use super::{recipient_domain, MailError};
use crate::db::{self, Db};

/// How the sender paces itself; [`Default`] is what `icsat serve` uses.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Messages claimed per pass.
    pub batch: i64,
    /// How long a claim holds. A process that dies holding claims delays those messages
    /// by at most this; it is renewed while a pass works through its batch, and must stay
    /// longer than one SMTP attempt can take (a few times the SMTP timeout).
    pub lease: Duration,
    /// The wait after the first temporary failure; it doubles with each further one.
    pub base_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// After this many attempts a message that still fails temporarily is marked failed.
    pub max_attempts: i32,
    /// How often an idle sender looks for due messages.
    pub idle_poll: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            batch: 100,
            lease: Duration::from_secs(60),
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
            max_attempts: 12,
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendStats {
    pub claimed: usize,
    pub sent: usize,
    /// Temporary failures, scheduled again.
    pub retried: usize,
    /// Permanent failures, and messages out of attempts.
    pub failed: usize,
    /// The pass stopped early because the server could not be reached.
    pub unreachable: bool,
}

/// One pass with the default options: claim due messages, send each, record the outcome.
pub async fn send_due(
    db: &Db,
    transport: &Transport,
    worker: &str,
) -> Result<SendStats, MailError> {
    send_due_with(db, transport, worker, &SendOptions::default()).await
}

/// One pass; `worker` names this process in the claims (unique per process).
pub async fn send_due_with(
    db: &Db,
    transport: &Transport,
    worker: &str,
    options: &SendOptions,
) -> Result<SendStats, MailError> {
    pass(db, transport, worker, options, &AtomicBool::new(false)).await
}

/// The sender task of `icsat serve`, with the default options.
pub async fn run_sender(db: Db, transport: Transport, shutdown: impl Future<Output = ()>) {
    run_sender_with(db, transport, SendOptions::default(), shutdown).await
}

/// Sends until `shutdown` resolves, then finishes the message in flight, gives back the
/// rest of its claims and returns.
pub async fn run_sender_with(
    db: Db,
    transport: Transport,
    options: SendOptions,
    shutdown: impl Future<Output = ()>,
) {
    run_sender_as(db, transport, options, worker_name(), shutdown).await
}

/// A name for this process's sender in its claims: unique per process and start.
pub fn worker_name() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// [`run_sender_with`] under a name given by the caller, who can then hand back the
/// claims of a sender it had to stop before it finished ([`release_claims`]).
pub async fn run_sender_as(
    db: Db,
    transport: Transport,
    options: SendOptions,
    worker: String,
    shutdown: impl Future<Output = ()>,
) {
    tracing::info!(worker, transport = %transport.describe(), "mail sender started");
    let stop = AtomicBool::new(false);
    let (wake, mut woken) = tokio::sync::watch::channel(());
    let watcher = async {
        shutdown.await;
        stop.store(true, Ordering::SeqCst);
        let _ = wake.send(());
    };
    let work = async {
        while !stop.load(Ordering::SeqCst) {
            let wait = match pass(&db, &transport, &worker, &options, &stop).await {
                Ok(stats) => {
                    if stats.claimed > 0 {
                        tracing::info!(
                            sent = stats.sent,
                            retried = stats.retried,
                            failed = stats.failed,
                            "mail pass"
                        );
                    }
                    if stats.unreachable {
                        // The server is down: don't spend every message's attempts on it.
                        tracing::warn!("mail server unreachable; trying again later");
                        options.base_delay
                    } else if stats.claimed > 0 {
                        continue;
                    } else {
                        options.idle_poll
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "mail pass failed");
                    options.idle_poll.max(Duration::from_secs(1))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = woken.changed() => {}
            }
        }
    };
    tokio::join!(watcher, work);
    tracing::info!(worker, "mail sender stopped");
}

/// Hands back every claim `worker` still holds, so another process (or the next start)
/// sends those messages at once instead of after the lease; for a sender stopped in the
/// middle of a delivery. A message whose delivery was cut short may then be sent twice,
/// never lost.
pub async fn release_claims(db: &Db, worker: &str) -> Result<(), MailError> {
    let worker = worker.to_string();
    db.run(move |conn| outbox::release_all(conn, &worker)).await
}

async fn pass(
    db: &Db,
    transport: &Transport,
    worker: &str,
    options: &SendOptions,
    stop: &AtomicBool,
) -> Result<SendStats, MailError> {
    let lease = chrono::Duration::from_std(options.lease)
        .map_err(|_| MailError::Compose("the lease is too long".into()))?;
    let now = db::now();
    let (owner, limit) = (worker.to_string(), options.batch.max(1));
    let claimed = db
        .run(move |conn| outbox::claim(conn, &owner, now, now + lease, limit))
        .await?;
    let mut stats = SendStats {
        claimed: claimed.len(),
        ..SendStats::default()
    };
    let mut queue: VecDeque<Claimed> = claimed.into();
    let deliveries = &crate::metrics::global().mail_deliveries;
    let mut renewed = Instant::now();
    while let Some(message) = queue.pop_front() {
        if stop.load(Ordering::SeqCst) {
            queue.push_front(message);
            break;
        }
        // Keep the lease well ahead of the next send, so that nobody else can take a
        // message while this process is still sending it.
        if renewed.elapsed() > options.lease / 8 {
            let ids: Vec<i64> = std::iter::once(message.id)
                .chain(queue.iter().map(|m| m.id))
                .collect();
            let owner = worker.to_string();
            let until = db::now() + lease;
            let held = db
                .run(move |conn| outbox::renew(conn, &owner, &ids, until))
                .await?;
            renewed = Instant::now();
            queue.retain(|m| held.contains(&m.id));
            if !held.contains(&message.id) {
                continue;
            }
        }
        let outcome = transport
            .deliver(message.id, &message.recipient, &message.message)
            .await;
        let (id, attempts) = (message.id, message.attempts + 1);
        let domain = recipient_domain(&message.recipient).to_string();
        let now = db::now();
        match outcome {
            Ok(()) => {
                tracing::debug!(outbox_id = id, domain, "mail sent");
                db.run(move |conn| outbox::mark_sent(conn, id, now)).await?;
                stats.sent += 1;
                deliveries.with_label_values(&["sent"]).inc();
            }
            Err(DeliveryError::Permanent(reply)) => {
                tracing::warn!(outbox_id = id, domain, "mail refused permanently");
                db.run(move |conn| outbox::mark_failed(conn, id, attempts, &reply))
                    .await?;
                stats.failed += 1;
                deliveries.with_label_values(&["failed"]).inc();
            }
            Err(DeliveryError::Temporary(reply)) | Err(DeliveryError::Unreachable(reply))
                if attempts >= options.max_attempts =>
            {
                tracing::warn!(outbox_id = id, domain, attempts, "mail given up");
                let reply = format!("gave up after {attempts} attempts; the last: {reply}");
                db.run(move |conn| outbox::mark_failed(conn, id, attempts, &reply))
                    .await?;
                stats.failed += 1;
                deliveries.with_label_values(&["failed"]).inc();
            }
            Err(error) => {
                let unreachable = matches!(error, DeliveryError::Unreachable(_));
                let delay = backoff(options, attempts);
                tracing::debug!(outbox_id = id, domain, attempts, ?delay, "mail deferred");
                let next = now + chrono::Duration::from_std(delay).unwrap_or(lease);
                let reply = error.to_string();
                db.run(move |conn| outbox::mark_retry(conn, id, attempts, next, &reply))
                    .await?;
                stats.retried += 1;
                deliveries.with_label_values(&["retried"]).inc();
                if unreachable {
                    stats.unreachable = true;
                    break;
                }
            }
        }
    }
    if !queue.is_empty() {
        let ids: Vec<i64> = queue.iter().map(|m| m.id).collect();
        let owner = worker.to_string();
        db.run(move |conn| outbox::release(conn, &owner, &ids))
            .await?;
    }
    Ok(stats)
}

/// The wait after the `attempts`-th failure: base × 2^(attempts-1), at most max_delay,
/// ±25% at random so that messages that failed together don't retry together.
fn backoff(options: &SendOptions, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30);
    let plain = options
        .base_delay
        .saturating_mul(1u32 << doublings)
        .min(options.max_delay);
    plain.mul_f64(rand::rng().random_range(0.75..=1.25))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `icsat serve` spawns the sender on the runtime: its future must be Send.
    #[allow(dead_code)]
    fn the_sender_can_be_spawned(db: Db, transport: Transport) {
        fn spawnable<F: Future + Send + 'static>(_: F) {}
        spawnable(run_sender(db, transport, async {}));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let options = SendOptions::default();
        for _ in 0..100 {
            let first = backoff(&options, 1).as_secs_f64();
            assert!((7.5..=12.5).contains(&first), "{first}");
            let fourth = backoff(&options, 4).as_secs_f64();
            assert!((60.0..=100.0).contains(&fourth), "{fourth}");
            let late = backoff(&options, 40).as_secs_f64();
            assert!((2700.0..=4500.0).contains(&late), "{late}");
        }
    }
}
