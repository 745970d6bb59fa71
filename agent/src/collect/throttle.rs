//! Keeps a long walk (thousands of profiles on a terminal server) from pinning a CPU the users
//! are working on: after each slice of wall time the walk pauses long enough that the CPU time
//! it used is at most its share of the time passed. Time spent waiting for the disk costs no
//! CPU and so earns no pause; a short walk (a workstation's few profiles) ends inside its first
//! slice and never pauses.

use std::time::{Duration, Instant};

/// Check the CPU used this often: a workstation's whole walk fits in one slice.
pub(crate) const SLICE: Duration = Duration::from_millis(50);
/// At most half of one CPU for a long walk.
pub(crate) const SHARE: f64 = 0.5;

/// When to pause and for how long; the caller reads the clocks and sleeps (pure, so tests drive
/// both clocks).
#[derive(Debug)]
pub(crate) struct Throttle {
    slice: Duration,
    share: f64,
    slice_started: Instant,
    cpu_at_start: Duration,
}

impl Throttle {
    /// `cpu` is the walking thread's CPU time so far.
    pub(crate) fn new(slice: Duration, share: f64, now: Instant, cpu: Duration) -> Self {
        Self {
            slice,
            share: share.clamp(0.01, 1.0),
            slice_started: now,
            cpu_at_start: cpu,
        }
    }

    /// Called between units of work with the wall clock and the thread's CPU time: the pause due
    /// now, if the current slice is over. The pause never runs past `deadline`: what is left
    /// undone there is reported by the walk.
    pub(crate) fn pause(
        &mut self,
        now: Instant,
        cpu: Duration,
        deadline: Instant,
    ) -> Option<Duration> {
        let wall = now.saturating_duration_since(self.slice_started);
        if wall < self.slice {
            return None;
        }
        let used = cpu.saturating_sub(self.cpu_at_start);
        // used / (wall + pause) = share
        let pause = used
            .div_f64(self.share)
            .saturating_sub(wall)
            .min(deadline.saturating_duration_since(now));
        self.slice_started = now + pause;
        self.cpu_at_start = cpu;
        (!pause.is_zero()).then_some(pause)
    }

    /// Between units of work with the real clocks: sleeps when a pause is due.
    #[cfg(windows)]
    pub(crate) fn breathe(&mut self, deadline: Instant) {
        if let Some(pause) = self.pause(Instant::now(), thread_cpu(), deadline) {
            std::thread::sleep(pause);
        }
    }
}

/// CPU time (user and kernel) the calling thread has used; zero if Windows cannot say, which
/// only turns the throttle off.
#[cfg(windows)]
#[allow(unsafe_code)] // GetThreadTimes has no safe wrapper in the crates used here
pub fn thread_cpu() -> Duration {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentThread, GetThreadTimes};

    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: the calling thread's pseudo-handle and four live FILETIMEs to write.
    let ok = unsafe {
        GetThreadTimes(
            GetCurrentThread(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    if ok == 0 {
        return Duration::ZERO;
    }
    let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    // FILETIME counts 100 ns.
    Duration::from_nanos(
        ticks(kernel)
            .saturating_add(ticks(user))
            .saturating_mul(100),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Walks `units` units, each `cpu` of CPU time and `wait` waiting for the disk, pausing as
    /// the throttle says: the share of one CPU used and the wall time taken.
    fn walk(share: f64, units: u32, cpu: Duration, wait: Duration) -> (f64, Duration) {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(3600);
        let mut throttle = Throttle::new(SLICE, share, start, Duration::ZERO);
        let (mut now, mut used) = (start, Duration::ZERO);
        for _ in 0..units {
            now += cpu + wait;
            used += cpu;
            if let Some(pause) = throttle.pause(now, used, deadline) {
                now += pause;
            }
        }
        let wall = now - start;
        (used.as_secs_f64() / wall.as_secs_f64(), wall)
    }

    #[test]
    fn a_short_walk_never_pauses() {
        let start = Instant::now();
        let mut throttle = Throttle::new(SLICE, SHARE, start, Duration::ZERO);
        let deadline = start + Duration::from_secs(15);
        for step in 0..49 {
            assert_eq!(throttle.pause(start + MS * step, MS * step, deadline), None);
        }
    }

    #[test]
    fn a_busy_walk_uses_its_share_of_one_cpu() {
        for share in [0.5, 0.25] {
            let (used, wall) = walk(share, 2000, 3 * MS, Duration::ZERO);
            assert!((used - share).abs() < 0.02, "share {share}: used {used}");
            // The last slice, cut short by the end of the walk, has no pause of its own.
            assert!(
                wall + SLICE.div_f64(share) >= Duration::from_secs(6).div_f64(share),
                "{wall:?}"
            );
        }
        let (used, wall) = walk(1.0, 2000, 3 * MS, Duration::ZERO);
        assert!((used - 1.0).abs() < 1e-9, "{used}");
        assert_eq!(wall, Duration::from_secs(6), "a whole CPU never pauses");
    }

    #[test]
    fn waiting_for_the_disk_earns_no_pause() {
        // A quarter of each unit on the CPU, the rest waiting: already under half a CPU.
        let (used, wall) = walk(SHARE, 2000, MS, 3 * MS);
        assert!((used - 0.25).abs() < 1e-9, "{used}");
        assert_eq!(wall, Duration::from_secs(8));
    }

    #[test]
    fn no_pause_runs_past_the_deadline() {
        let start = Instant::now();
        let deadline = start + 70 * MS;
        let mut throttle = Throttle::new(SLICE, SHARE, start, Duration::ZERO);
        assert_eq!(
            throttle.pause(start + 60 * MS, 60 * MS, deadline),
            Some(10 * MS)
        );
        assert_eq!(throttle.pause(start + 200 * MS, 200 * MS, deadline), None);
    }
}
