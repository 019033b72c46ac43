//! Throttling of failures per client, so guessing links is useless and noise stops
//! early. Only failures count: a valid link or sign-in is served whatever came before
//! it, so nobody can lock others out by failing from the same network. Kept per
//! process: with N processes a guesser gets N times the (tiny) budget, which 144-bit
//! tokens make irrelevant.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Keys kept before those that have waited out their limit are forgotten.
const MAX_KEYS: usize = 100_000;

/// Counts events per key (a client address, or an address with a client) in two tiers:
/// a burst that refills over `window`, then a slower one, so a client that keeps
/// failing waits longer and longer (backoff) instead of getting a fresh budget each
/// window.
pub struct FailureLimiter<K: Hash + Eq + Clone = IpAddr, C: Clock = DefaultClock> {
    short: Keyed<K, C>,
    long: Keyed<K, C>,
    clock: C,
}

type Keyed<K, C> =
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

fn quota(burst: u32, window: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let period = (window / burst.get()).max(Duration::from_millis(1));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl<K: Hash + Eq + Clone> FailureLimiter<K> {
    /// `burst` events at once, refilled evenly over `window`; past three bursts, one
    /// event per eight times that interval.
    pub fn new(burst: u32, window: Duration) -> FailureLimiter<K> {
        FailureLimiter::with_clock(burst, window, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> FailureLimiter<K, C> {
    pub fn with_clock(burst: u32, window: Duration, clock: C) -> FailureLimiter<K, C> {
        let keyed =
            |quota| RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone());
        FailureLimiter {
            short: keyed(quota(burst, window)),
            long: keyed(quota(burst.saturating_mul(3), window * 24)),
            clock,
        }
    }

    /// Counts one event of `key`: `Err(wait)` when `key` has had too many and should
    /// wait that long.
    pub fn hit(&self, key: &K) -> Result<(), Duration> {
        if self.short.len() > MAX_KEYS {
            self.short.retain_recent();
            self.long.retain_recent();
        }
        self.short
            .check_key(key)
            .and_then(|_| self.long.check_key(key))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Tells a throttled client when to come back (whole seconds, at least one).
pub fn set_retry_after(response: &mut actix_web::HttpResponse, wait: Duration) {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(seconds.max(1)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_after_a_burst_per_key() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let client: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(limiter.hit(&client).is_ok());
        }
        let wait = limiter.hit(&client).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert!(limiter.hit(&[10, 0, 0, 2].into()).is_ok());
    }

    #[test]
    fn backs_off_past_three_bursts() {
        let clock = governor::clock::FakeRelativeClock::default();
        let limiter = FailureLimiter::with_clock(2, Duration::from_secs(60), clock.clone());
        let client: IpAddr = [10, 0, 0, 1].into();
        // Waiting out each wait: two at once, then one per 30 s, until the long tier's
        // six are spent; then one per 4 minutes.
        let mut waits = Vec::new();
        for _ in 0..20 {
            match limiter.hit(&client) {
                Ok(()) => waits.push(Duration::ZERO),
                Err(wait) => {
                    waits.push(wait);
                    clock.advance(wait);
                }
            }
        }
        assert!(waits.iter().take(2).all(|w| w.is_zero()), "{waits:?}");
        assert!(
            waits.iter().any(|w| *w > Duration::from_secs(60)),
            "{waits:?}"
        );
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(240)),
            "{waits:?}"
        );
    }
}
