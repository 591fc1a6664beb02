//! When the expiry worker wakes. Times are PostgreSQL timestamps: microseconds.

/// How long to wait before looking again at a deadline that has already passed but could
/// not be swept (its rows were locked by a transaction that is ending them itself).
pub const RETRY_PASSED_DEADLINE_US: i64 = 100_000;

/// The next wake-up: the earliest of the nap time, the earliest stored deadline and the
/// earliest deadline announced by a reserving session, but never a busy loop.
pub fn next_wake(now: i64, naptime_us: i64, next_deadline: Option<i64>, announced: Option<i64>) -> i64 {
    let wake = now
        .saturating_add(naptime_us)
        .min(next_deadline.unwrap_or(i64::MAX))
        .min(announced.unwrap_or(i64::MAX));
    if wake <= now {
        now.saturating_add(RETRY_PASSED_DEADLINE_US)
    } else {
        wake
    }
}

/// Whole milliseconds to sleep until `wake`, rounded up so the worker never wakes early.
pub fn sleep_ms(now: i64, wake: i64) -> u64 {
    if wake <= now {
        0
    } else {
        ((wake - now) as u64).div_ceil(1000)
    }
}

/// Shortest sleep of the launcher: whatever it finds, it never loops faster than this.
pub const LAUNCHER_MIN_NAP_MS: u64 = 10;

/// When the launcher may start a database's worker: at `wake_at` (the wake-up time a parked
/// worker left, or now for a probe), but not within `restart_delay_us` of the last start, so a
/// start that failed or a worker that gave up at once is retried at that pace.
pub fn launcher_due(wake_at: i64, last_start: Option<i64>, restart_delay_us: i64) -> i64 {
    match last_start {
        Some(started) => wake_at.max(started.saturating_add(restart_delay_us)),
        None => wake_at,
    }
}

/// How long the launcher sleeps: until the earliest time it has something to start, at most
/// `interval_ms`. A due time it did not act on (already past) must not make it spin.
pub fn launcher_nap_ms(now: i64, next_due: Option<i64>, interval_ms: u64) -> u64 {
    next_due
        .map_or(interval_ms, |due| sleep_ms(now, due).min(interval_ms))
        .max(LAUNCHER_MIN_NAP_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    const S: i64 = 1_000_000;

    #[test]
    fn the_launcher_waits_for_the_wake_up_time_and_the_restart_delay() {
        assert_eq!(launcher_due(100 * S, None, S), 100 * S);
        assert_eq!(launcher_due(100 * S, Some(50 * S), S), 100 * S);
        // Started half a second ago and parked again, due in the past: not before the delay.
        assert_eq!(launcher_due(90 * S, Some(100 * S - S / 2), S), 100 * S + S / 2);
    }

    #[test]
    fn the_launcher_sleeps_until_its_next_start_or_its_interval() {
        assert_eq!(launcher_nap_ms(100 * S, None, 1000), 1000);
        assert_eq!(launcher_nap_ms(100 * S, Some(100 * S + 250_000), 1000), 250);
        assert_eq!(launcher_nap_ms(100 * S, Some(200 * S), 1000), 1000);
    }

    #[test]
    fn a_past_due_time_does_not_make_the_launcher_spin() {
        assert_eq!(launcher_nap_ms(100 * S, Some(99 * S), 1000), LAUNCHER_MIN_NAP_MS);
        assert_eq!(launcher_nap_ms(100 * S, Some(100 * S), 1000), LAUNCHER_MIN_NAP_MS);
    }

    #[test]
    fn naps_when_nothing_is_due() {
        assert_eq!(next_wake(100 * S, 10 * S, None, None), 110 * S);
    }

    #[test]
    fn wakes_at_the_earliest_deadline() {
        assert_eq!(next_wake(100 * S, 10 * S, Some(103 * S), None), 103 * S);
        assert_eq!(next_wake(100 * S, 10 * S, Some(103 * S), Some(101 * S)), 101 * S);
        assert_eq!(next_wake(100 * S, 10 * S, Some(200 * S), Some(150 * S)), 110 * S);
    }

    #[test]
    fn passed_deadlines_do_not_spin() {
        assert_eq!(
            next_wake(100 * S, 10 * S, Some(99 * S), None),
            100 * S + RETRY_PASSED_DEADLINE_US
        );
    }

    #[test]
    fn sleeps_round_up() {
        assert_eq!(sleep_ms(0, 1), 1);
        assert_eq!(sleep_ms(0, 1000), 1);
        assert_eq!(sleep_ms(0, 1001), 2);
        assert_eq!(sleep_ms(5, 5), 0);
    }

    #[test]
    fn no_overflow_at_the_edges() {
        assert_eq!(next_wake(i64::MAX - 1, i64::MAX, None, None), i64::MAX);
    }
}
