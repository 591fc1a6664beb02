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

#[cfg(test)]
mod tests {
    use super::*;
    const S: i64 = 1_000_000;

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
