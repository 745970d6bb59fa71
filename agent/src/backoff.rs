//! Capped exponential backoff with jitter, and interval jitter, so a fleet of agents that lost
//! the server at the same moment does not come back at the same moment.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff from `min`, doubling to `max`, each delay jittered down by up to a half.
#[derive(Clone, Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

// === impl Backoff ===

impl Backoff {
    /// A backoff from `min` to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            attempt: 0,
        }
    }

    /// The delivery backoff: 1 s up to 5 min.
    pub fn delivery() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(300))
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.base();
        self.attempt = self.attempt.saturating_add(1);
        let factor = rand::rng().random_range(0.5..=1.0);
        base.mul_f64(factor).max(self.min.min(base))
    }

    /// The longest delay, for failures retrying sooner would not fix (a revoked certificate).
    pub fn max_delay(&self) -> Duration {
        self.max
    }

    /// Back to the shortest delay after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    fn base(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(31));
        self.min.saturating_mul(factor).min(self.max)
    }
}

/// `interval` moved by a random amount of up to ±10 %.
pub fn jittered(interval: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    interval.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_at_the_cap() {
        let mut backoff = Backoff::delivery();
        let delays: Vec<Duration> = (0..20).map(|_| backoff.next_delay()).collect();
        for (i, delay) in delays.iter().enumerate() {
            let base = Duration::from_secs(1u64 << i.min(9)).min(Duration::from_secs(300));
            assert!(*delay <= base, "attempt {i}: {delay:?} > {base:?}");
            assert!(
                *delay >= base / 2,
                "attempt {i}: {delay:?} < half of {base:?}"
            );
            assert!(*delay >= Duration::from_secs(1));
        }
        assert!(delays[19] >= Duration::from_secs(150));
        assert!(delays[19] <= Duration::from_secs(300));
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::delivery();
        for _ in 0..10 {
            backoff.next_delay();
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn interval_jitter_stays_within_ten_percent() {
        let interval = Duration::from_secs(900);
        let samples: Vec<Duration> = (0..1000).map(|_| jittered(interval)).collect();
        assert!(samples.iter().all(|d| *d >= Duration::from_secs(810)));
        assert!(samples.iter().all(|d| *d <= Duration::from_secs(990)));
        let distinct: std::collections::BTreeSet<_> = samples.iter().collect();
        assert!(distinct.len() > 100, "the delay is actually random");
    }
}
