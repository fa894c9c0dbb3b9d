//! Retries: exponential backoff with full jitter, bounded by the resource's
//! tenacity and its operation timeout. Time is read and slept through a
//! [`Clock`], so tests can run in virtual time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

/// Time and sleep, injected.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Instant;
    /// Sleeps for `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// The tokio clock (virtual under `tokio::time::pause`, as in
/// `#[tokio::test(start_paused = true)]`).
#[derive(Debug, Default, Clone)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Backoff settings.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The first delay's upper bound.
    pub base: Duration,
    /// The largest delay.
    pub cap: Duration,
    rng: Arc<Mutex<fastrand::Rng>>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
    }
}

impl Backoff {
    /// Backoff from `base` doubling up to `cap`, with full jitter.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            rng: Arc::new(Mutex::new(fastrand::Rng::new())),
        }
    }

    /// The same, with a seeded jitter (for reproducible tests).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(seed)));
        self
    }

    /// The delay after failed attempt number `attempt` (1-based): uniform in
    /// `[0, min(cap, base * 2^(attempt-1))]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1).min(30))
                .unwrap_or(u32::MAX),
        );
        let ceiling = exp.min(self.cap).as_millis() as u64;
        let ms = self
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .u64(0..=ceiling);
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000)).with_seed(7);
        for attempt in 1..20 {
            let d = b.delay(attempt);
            let ceiling = (100u64 << (attempt - 1).min(20)).min(1000);
            assert!(d.as_millis() as u64 <= ceiling, "attempt {attempt}: {d:?}");
        }
    }
}
