//! Token buckets: how the services meter calls.

use std::collections::HashMap;
use std::time::Instant;

use crate::Class;

/// The shape of one bucket: how many calls it holds and how fast it refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Calls allowed in a burst (the bucket's size).
    pub capacity: f64,
    /// Tokens added per second.
    pub refill_per_sec: f64,
}

/// One bucket per throttled class; classes without a bucket are not throttled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Throttle {
    /// The buckets by class.
    pub buckets: HashMap<Class, Bucket>,
}

impl Throttle {
    /// No buckets (nothing throttled); add some with [`Throttle::bucket`].
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// Adds (or replaces) the bucket of `class`.
    pub fn bucket(mut self, class: Class, capacity: f64, refill_per_sec: f64) -> Throttle {
        self.buckets.insert(
            class,
            Bucket {
                capacity,
                refill_per_sec,
            },
        );
        self
    }

    /// Shaped like EC2's published per-account defaults ("Request throttling
    /// for the Amazon EC2 API"): non-mutating actions 100 calls, refilling 20
    /// a second; mutating actions 200, refilling 5 a second; resource-intensive
    /// actions (`RunInstances`, ...) 50, refilling 5 a second.
    pub fn ec2() -> Throttle {
        Throttle::new()
            .bucket(Class::NonMutating, 100.0, 20.0)
            .bucket(Class::Mutating, 200.0, 5.0)
            .bucket(Class::ResourceIntensive, 50.0, 5.0)
    }

    /// The same buckets refilled `factor` times as fast (sizes unchanged):
    /// EC2's shape at a pace a benchmark can wait for.
    pub fn scaled(mut self, factor: f64) -> Throttle {
        for b in self.buckets.values_mut() {
            b.refill_per_sec *= factor;
        }
        self
    }

    /// The shortest time in which `admitted` calls per class can pass these
    /// buckets, all starting full: for each class, the calls beyond the
    /// bucket's size at its refill rate; the slowest class decides.
    pub fn min_seconds(&self, admitted: &std::collections::BTreeMap<Class, u64>) -> f64 {
        admitted
            .iter()
            .filter_map(|(class, n)| {
                let b = self.buckets.get(class)?;
                Some(((*n as f64 - b.capacity).max(0.0)) / b.refill_per_sec)
            })
            .fold(0.0, f64::max)
    }

    /// Shaped like Compute Engine's per-project rate quotas (per minute,
    /// here as buckets of a minute's calls): reads 1 500 a minute, writes
    /// (`POST`, `PATCH`, `DELETE`) 1 500 a minute, refilled evenly.
    pub fn gcp() -> Throttle {
        Throttle::new()
            .bucket(Class::NonMutating, 1500.0, 25.0)
            .bucket(Class::Mutating, 1500.0, 25.0)
    }
}

/// A token bucket with time passed in (no clock inside, so tests need no sleeps).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    shape: Bucket,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket of `shape`.
    pub fn new(shape: Bucket) -> TokenBucket {
        TokenBucket {
            shape,
            tokens: shape.capacity,
            last: None,
        }
    }

    /// Takes one token at `now` if there is one (refilling for the time since
    /// the last call first); `false` means the call is throttled.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens =
                (self.tokens + elapsed * self.shape.refill_per_sec).min(self.shape.capacity);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_refill_rate() {
        let mut b = TokenBucket::new(Bucket {
            capacity: 3.0,
            refill_per_sec: 2.0,
        });
        let t0 = Instant::now();
        assert!((0..3).all(|_| b.try_take(t0)), "the burst");
        assert!(!b.try_take(t0), "empty");
        assert!(!b.try_take(t0 + Duration::from_millis(400)), "0.8 tokens");
        assert!(b.try_take(t0 + Duration::from_millis(500)), "1 token");
        // A long pause refills to capacity, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.try_take(later)).count(), 3);
    }

    #[test]
    fn the_floor_is_set_by_the_slowest_bucket() {
        let ec2 = Throttle::ec2();
        let admitted = |m: u64, n: u64| {
            std::collections::BTreeMap::from([(Class::Mutating, m), (Class::NonMutating, n)])
        };
        // 1 000 mutating calls: 200 at once, 800 at 5 a second.
        assert_eq!(ec2.min_seconds(&admitted(1000, 100)), 160.0);
        // Reads beyond their bucket are the slower ones here: 1 900 / 20.
        assert_eq!(ec2.min_seconds(&admitted(100, 2000)), 95.0);
        assert_eq!(ec2.min_seconds(&admitted(150, 50)), 0.0);
        assert_eq!(ec2.scaled(4.0).min_seconds(&admitted(1000, 0)), 40.0);
    }
}
