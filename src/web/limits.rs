//! Rate limiting of failed token lookups per client address, so guessing links is
//! useless. Kept per process: with N processes a guesser gets N times the (tiny) budget,
//! which 144-bit tokens make irrelevant; the limit exists to stop noise early.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events per key (a client address by default; sign-in also counts per email
/// address) and says when a key has had too many within the window.
pub struct FailureLimiter<K = IpAddr> {
    max_failures: u32,
    window: Duration,
    seen: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Eq + Hash + Clone> FailureLimiter<K> {
    pub fn new(max_failures: u32, window: Duration) -> FailureLimiter<K> {
        FailureLimiter {
            max_failures,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `client` may try another lookup now.
    pub fn allowed(&self, client: &K) -> bool {
        let now = Instant::now();
        let Ok(seen) = self.seen.lock() else {
            return true;
        };
        match seen.get(client) {
            Some((start, failures)) if now.duration_since(*start) < self.window => {
                *failures < self.max_failures
            }
            _ => true,
        }
    }

    /// Records a failed lookup.
    pub fn failed(&self, client: K) {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.len() > 100_000 {
            // Forget stale entries rather than grow without bound.
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_too_many_failures() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let client: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(limiter.allowed(&client));
            limiter.failed(client);
        }
        assert!(!limiter.allowed(&client));
        assert!(limiter.allowed(&[10, 0, 0, 2].into()));
    }
}
