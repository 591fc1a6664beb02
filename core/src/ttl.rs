//! Time-to-live rules.

use crate::error::{InventoryError, Result};

const USECS_PER_DAY: i128 = 86_400_000_000;

/// An interval as PostgreSQL stores it: months, days and microseconds, each signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntervalParts {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl IntervalParts {
    /// The span PostgreSQL compares intervals by (a month counts 30 days), in microseconds.
    pub fn comparable_micros(self) -> i128 {
        (self.months as i128 * 30 + self.days as i128) * USECS_PER_DAY + self.micros as i128
    }
}

/// A ttl must be longer than zero by PostgreSQL's own interval ordering, and have no negative
/// part. The deadline is now plus the ttl by the calendar, where a month is 28 to 31 days and a
/// day 23 to 25 hours: "1 mon -29 days" is positive by that ordering, yet from 1 February it
/// ends on 31 January. With no negative part, every deadline lies after now.
pub fn check_ttl(argument: &str, ttl: IntervalParts) -> Result<IntervalParts> {
    let positive = || InventoryError::invalid_argument(argument, "must be a positive interval");
    if ttl.comparable_micros() <= 0 {
        return Err(positive());
    }
    if ttl.months < 0 || ttl.days < 0 || ttl.micros < 0 {
        return Err(positive().with_detail(
            "It has a negative part (months, days or time), which could put the deadline in the past on some dates.",
        ));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> IntervalParts {
        IntervalParts { months, days, micros }
    }

    #[test]
    fn positive_intervals_pass() {
        assert!(check_ttl("ttl", iv(0, 0, 1)).is_ok());
        assert!(check_ttl("ttl", iv(0, 1, 0)).is_ok());
        assert!(check_ttl("ttl", iv(1, 2, 3)).is_ok());
    }

    #[test]
    fn a_negative_part_fails_even_when_the_whole_is_positive() {
        // From 2027-02-01 "1 mon -29 days" ends on 2027-01-31; across a spring-forward night
        // "1 day -23 hours -30 minutes" ends half an hour before it starts.
        for mixed in [
            iv(1, -29, 0),
            iv(0, 1, -23 * 3_600_000_000 - 1_800_000_000),
            iv(-1, 40, 0),
        ] {
            let e = check_ttl("ttl", mixed).unwrap_err();
            assert_eq!(e.message, "ttl must be a positive interval");
            assert!(e.detail.unwrap().contains("negative part"));
        }
    }

    #[test]
    fn zero_and_negative_intervals_fail() {
        for bad in [iv(0, 0, 0), iv(0, 0, -1), iv(0, -1, 0), iv(1, -30, 0), iv(-1, 0, 0)] {
            let e = check_ttl("ttl", bad).unwrap_err();
            assert_eq!(e.message, "ttl must be a positive interval");
        }
    }

    #[test]
    fn extremes_do_not_overflow() {
        assert!(check_ttl("ttl", iv(i32::MAX, i32::MAX, i64::MAX)).is_ok());
        assert!(check_ttl("ttl", iv(i32::MIN, i32::MIN, i64::MIN)).is_err());
    }
}
