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

/// A ttl must be longer than zero by PostgreSQL's own interval ordering.
pub fn check_ttl(argument: &str, ttl: IntervalParts) -> Result<IntervalParts> {
    if ttl.comparable_micros() > 0 {
        Ok(ttl)
    } else {
        Err(InventoryError::invalid_argument(
            argument,
            "must be a positive interval",
        ))
    }
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
        assert!(check_ttl("ttl", iv(1, -29, 0)).is_ok());
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
