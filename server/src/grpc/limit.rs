//! Per-agent report rate limit: a token bucket per agent, in memory.
//!
//! The buckets belong to one server process: with several processes behind a load balancer an
//! agent can get up to that many times the rate. Nothing else the server keeps is per process,
//! and a limit meant against a misbehaving agent does not need to be exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Above this many agents, buckets that are full again are dropped.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Time to earn one token.
    interval: Duration,
    burst: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub(crate) fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take a token for `agent`, or say how long until one is available.
    pub(crate) fn check(&self, agent: Uuid, now: Instant) -> Result<(), Duration> {
        // A panic while holding the lock leaves the map consistent enough for a rate limit.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            let (interval, burst) = (self.interval, self.burst);
            buckets.retain(|_, b| refilled(b, now, interval, burst) < burst);
        }
        let bucket = buckets.entry(agent).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = refilled(bucket, now, self.interval, self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.interval.mul_f64(1.0 - bucket.tokens))
        }
    }
}

fn refilled(bucket: &Bucket, now: Instant, interval: Duration, burst: f64) -> f64 {
    let earned =
        now.saturating_duration_since(bucket.updated).as_secs_f64() / interval.as_secs_f64();
    (bucket.tokens + earned).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let limiter = RateLimiter::new(Duration::from_secs(10), 3);
        let agent = Uuid::new_v4();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(agent, start).is_ok());
        }
        let wait = limiter.check(agent, start).expect_err("burst spent");
        assert!(wait <= Duration::from_secs(10) && wait > Duration::from_secs(9));
        assert!(
            limiter
                .check(agent, start + Duration::from_secs(5))
                .is_err()
        );
        assert!(
            limiter
                .check(agent, start + Duration::from_secs(11))
                .is_ok()
        );
        // Another agent has its own bucket.
        assert!(limiter.check(Uuid::new_v4(), start).is_ok());
    }
}
