//! Adaptive concurrency per provider (and, later, per service): an AIMD
//! window as TCP's. Each key's window starts wide; every window's worth of
//! successful calls widens it by one, a throttling answer halves it (never
//! below one) and holds every call of that key back until the answer's
//! `retry_after` has passed. `--parallel` stays a separate, hard cap on steps.
//!
//! [`Aimd`] is the controller alone, driven with explicit instants (unit
//! tests run it without sleeping); [`Limiter`] puts it behind an async
//! `acquire` that waits through the injected [`Clock`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::retry::Clock;

/// The window a key starts with.
pub(crate) const INITIAL_WINDOW: u32 = 256;
/// The widest a window grows.
pub(crate) const MAX_WINDOW: u32 = 1 << 16;

/// Why a call cannot start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// A throttling answer asked for calls to wait until then.
    Until(Instant),
    /// The window is full: wait for a call to end.
    Full,
}

/// The AIMD controller of one key.
#[derive(Debug, Clone)]
pub(crate) struct Aimd {
    window: u32,
    in_flight: u32,
    /// Successes since the window last grew.
    acked: u32,
    /// No call starts before this.
    not_before: Option<Instant>,
    /// Bumped on every decrease: a throttling answer to a call started
    /// before the last decrease does not halve again (one halving per
    /// congestion event, as TCP's once per round trip).
    epoch: u64,
}

impl Aimd {
    pub(crate) fn new(initial: u32) -> Self {
        Aimd {
            window: initial.clamp(1, MAX_WINDOW),
            in_flight: 0,
            acked: 0,
            not_before: None,
            epoch: 0,
        }
    }

    /// The current window.
    #[cfg(test)]
    pub(crate) fn window(&self) -> u32 {
        self.window
    }

    /// Calls in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Starts a call at `now` if the window and any `retry_after` allow it;
    /// returns the epoch to report its end with.
    pub(crate) fn try_start(&mut self, now: Instant) -> Result<u64, Wait> {
        if let Some(t) = self.not_before {
            if now < t {
                return Err(Wait::Until(t));
            }
            self.not_before = None;
        }
        if self.in_flight >= self.window {
            return Err(Wait::Full);
        }
        self.in_flight += 1;
        Ok(self.epoch)
    }

    /// A call ended without a throttling answer or a success to count (any
    /// other error): the slot is freed, the window stays.
    pub(crate) fn end(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A call succeeded: one more step towards widening the window.
    pub(crate) fn succeeded(&mut self) {
        self.end();
        self.acked += 1;
        if self.acked >= self.window {
            self.acked = 0;
            self.window = (self.window + 1).min(MAX_WINDOW);
        }
    }

    /// A call started in `epoch` was throttled at `now`: the window halves
    /// (once per congestion event) and nothing starts before `retry_after`.
    pub(crate) fn throttled(&mut self, epoch: u64, now: Instant, retry_after: Option<Duration>) {
        self.end();
        if epoch == self.epoch {
            self.window = (self.window / 2).max(1);
            self.acked = 0;
            self.epoch += 1;
        }
        if let Some(d) = retry_after.filter(|d| !d.is_zero()) {
            let until = now + d;
            self.not_before = Some(self.not_before.map_or(until, |t| t.max(until)));
        }
    }
}

/// How a call that held a slot ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallEnd {
    /// It succeeded.
    Success,
    /// It was throttled, with the answer's `retry_after`.
    Throttled(Option<Duration>),
    /// It failed otherwise (or never finished).
    Other,
}

/// One key's limiter: the controller and the calls waiting on it.
pub(crate) struct Limiter {
    aimd: Mutex<Aimd>,
    changed: Notify,
    clock: Arc<dyn Clock>,
}

impl Limiter {
    pub(crate) fn new(initial: u32, clock: Arc<dyn Clock>) -> Self {
        Limiter {
            aimd: Mutex::new(Aimd::new(initial)),
            changed: Notify::new(),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Aimd> {
        self.aimd.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current window (at least one).
    pub(crate) fn window(&self) -> usize {
        self.lock().window.max(1) as usize
    }

    /// A snapshot of the controller.
    #[cfg(test)]
    pub(crate) fn state(&self) -> Aimd {
        self.lock().clone()
    }

    /// Waits for a slot. Dropping the permit without [`Permit::end`] counts
    /// as [`CallEnd::Other`].
    pub(crate) async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so no release is missed.
            notified.as_mut().enable();
            let wait = {
                let now = self.clock.now();
                match self.lock().try_start(now) {
                    Ok(epoch) => {
                        return Permit {
                            limiter: Some(self.clone()),
                            epoch,
                        };
                    }
                    Err(w) => w,
                }
            };
            match wait {
                Wait::Full => notified.await,
                Wait::Until(t) => {
                    let d = t.saturating_duration_since(self.clock.now());
                    tokio::select! {
                        _ = self.clock.sleep(d) => {}
                        _ = notified => {}
                    }
                }
            }
        }
    }

    fn release(&self, epoch: u64, end: CallEnd) {
        {
            let mut a = self.lock();
            match end {
                CallEnd::Success => a.succeeded(),
                CallEnd::Throttled(after) => a.throttled(epoch, self.clock.now(), after),
                CallEnd::Other => a.end(),
            }
        }
        self.changed.notify_waiters();
    }
}

/// A slot held by one provider call.
pub(crate) struct Permit {
    limiter: Option<Arc<Limiter>>,
    epoch: u64,
}

impl Permit {
    /// Frees the slot, telling the controller how the call ended.
    pub(crate) fn end(mut self, end: CallEnd) {
        if let Some(l) = self.limiter.take() {
            l.release(self.epoch, end);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(l) = self.limiter.take() {
            l.release(self.epoch, CallEnd::Other);
        }
    }
}

/// The limiters of one operation, by key (provider package and instance; a
/// provider may later add a finer service key).
pub(crate) struct Limiters {
    by_key: Mutex<HashMap<String, Arc<Limiter>>>,
    initial: u32,
    clock: Arc<dyn Clock>,
}

impl Limiters {
    pub(crate) fn new(initial: u32, clock: Arc<dyn Clock>) -> Self {
        Limiters {
            by_key: Mutex::new(HashMap::new()),
            initial,
            clock,
        }
    }

    /// The limiter of `key`, made on first use.
    pub(crate) fn get(&self, key: &str) -> Arc<Limiter> {
        let mut m = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = m.get(key) {
            return l.clone();
        }
        let l = Arc::new(Limiter::new(self.initial, self.clock.clone()));
        m.insert(key.to_string(), l.clone());
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn window_rises_while_calls_succeed() {
        let now = t0();
        let mut a = Aimd::new(4);
        // Four calls fill the window; a fifth waits.
        let epochs: Vec<u64> = (0..4).map(|_| a.try_start(now).unwrap()).collect();
        assert_eq!(epochs, vec![0; 4]);
        assert_eq!(a.try_start(now), Err(Wait::Full));
        // A window's worth of successes widens it by one (additive increase).
        for _ in 0..4 {
            a.succeeded();
        }
        assert_eq!(a.window(), 5);
        assert_eq!(a.in_flight(), 0);
        // Then five more successes for the next step, and so on.
        for round in 0..10u32 {
            let w = a.window();
            for _ in 0..w {
                a.try_start(now).unwrap();
            }
            assert_eq!(a.try_start(now), Err(Wait::Full), "round {round}");
            for _ in 0..w {
                a.succeeded();
            }
            assert_eq!(a.window(), w + 1);
        }
        assert_eq!(a.window(), 15);
    }

    #[test]
    fn throttling_halves_once_per_event_and_never_below_one() {
        let now = t0();
        let mut a = Aimd::new(256);
        let epochs: Vec<u64> = (0..200).map(|_| a.try_start(now).unwrap()).collect();
        // Many calls of the same burst are throttled: one halving.
        for e in &epochs[..50] {
            a.throttled(*e, now, None);
        }
        assert_eq!(a.window(), 128);
        assert_eq!(a.in_flight(), 150);
        // A call started after the decrease and throttled halves again.
        for _ in 50..200 {
            a.end();
        }
        for _ in 0..20 {
            let e = a.try_start(now).unwrap();
            a.throttled(e, now, None);
        }
        assert_eq!(a.window(), 1);
        let e = a.try_start(now).unwrap();
        assert_eq!(a.try_start(now), Err(Wait::Full));
        a.throttled(e, now, None);
        assert_eq!(a.window(), 1, "never below one");
        // And it climbs back while calls succeed.
        for _ in 0..3 {
            a.try_start(now).unwrap();
            a.succeeded();
        }
        assert_eq!(a.window(), 3);
    }

    #[test]
    fn retry_after_holds_every_call_back() {
        let now = t0();
        let mut a = Aimd::new(8);
        let e = a.try_start(now).unwrap();
        a.throttled(e, now, Some(Duration::from_secs(2)));
        let until = now + Duration::from_secs(2);
        assert_eq!(a.try_start(now), Err(Wait::Until(until)));
        assert_eq!(
            a.try_start(now + Duration::from_millis(1999)),
            Err(Wait::Until(until))
        );
        // A shorter retry_after does not shorten the wait.
        a.throttled(
            99,
            now + Duration::from_millis(10),
            Some(Duration::from_millis(5)),
        );
        assert_eq!(
            a.try_start(now + Duration::from_secs(1)),
            Err(Wait::Until(until))
        );
        assert!(a.try_start(until).is_ok());
        assert!(a.try_start(until).is_ok());
    }

    /// A simulated service granting `rate` calls per second: the window
    /// falls on throttling and rises again while calls succeed, so the
    /// throughput settles near the granted rate (virtual time, no sleeps).
    #[test]
    fn throughput_follows_the_granted_rate() {
        let start = t0();
        let mut a = Aimd::new(256);
        // Each call takes 100 ms; the service grants 50 calls per second,
        // i.e. 5 calls in flight at once.
        let granted = 5u32;
        let mut done = 0u32;
        let mut throttled = 0u32;
        let mut windows = Vec::new();
        for tick in 0..600u32 {
            let now = start + Duration::from_millis(100 * u64::from(tick));
            let mut started = Vec::new();
            while let Ok(e) = a.try_start(now) {
                started.push(e);
            }
            for (i, e) in started.into_iter().enumerate() {
                if (i as u32) < granted {
                    a.succeeded();
                    done += 1;
                } else {
                    a.throttled(e, now, None);
                    throttled += 1;
                }
            }
            windows.push(a.window());
        }
        assert!(throttled > 0);
        // Fell from 256 to about the granted width, and kept near it.
        let late = &windows[100..];
        assert!(
            late.iter().all(|w| (2..=2 * granted + 2).contains(w)),
            "{late:?}"
        );
        // Over a minute, at least half the granted rate was used.
        assert!(done >= 600 * granted / 2, "{done}");
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_for_a_slot_and_for_retry_after() {
        let clock: Arc<dyn Clock> = Arc::new(super::super::retry::TokioClock);
        let limiters = Limiters::new(1, clock.clone());
        let l = limiters.get("aws[default]");
        assert!(Arc::ptr_eq(&l, &limiters.get("aws[default]")));
        let p = l.acquire().await;
        // The window (1) is full: a second acquire waits until the first ends.
        let l2 = l.clone();
        let waiting = tokio::spawn(async move { l2.acquire().await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        p.end(CallEnd::Throttled(Some(Duration::from_secs(3))));
        let before = clock.now();
        let p2 = waiting.await.unwrap();
        // It started only once retry_after had passed (virtual time).
        assert!(clock.now() - before >= Duration::from_secs(3));
        assert_eq!(l.state().window(), 1);
        p2.end(CallEnd::Success);
        assert_eq!(l.state().window(), 2);
        assert_eq!(l.state().in_flight(), 0);
    }
}
