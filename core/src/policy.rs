//! Expiry policies: which deadline a reservation gets.

use chrono::Weekday;

use crate::error::{InventoryError, Result};
use crate::ttl::{IntervalParts, check_ttl};

/// VTEX's inventory reservation period after the payment due date, in calendar days:
/// four when payment is due Sunday to Tuesday, five Wednesday to Friday, six on Saturday;
/// eleven for incomplete orders whatever the day.
pub fn payment_hold_days(due: Weekday, incomplete: bool) -> i32 {
    if incomplete {
        return 11;
    }
    match due {
        Weekday::Sun | Weekday::Mon | Weekday::Tue => 4,
        Weekday::Wed | Weekday::Thu | Weekday::Fri => 5,
        Weekday::Sat => 6,
    }
}

/// ISO day of week (1 = Monday ... 7 = Sunday), as PostgreSQL's `extract(isodow ...)`.
pub fn weekday_from_iso(isodow: i32) -> Option<Weekday> {
    match isodow {
        1..=7 => Some(Weekday::try_from((isodow - 1) as u8).ok()?),
        _ => None,
    }
}

/// Where a reservation's deadline comes from, in order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// `ttl` from now.
    Ttl(IntervalParts),
    /// An absolute time (microseconds, PostgreSQL epoch), like VTEX's lockTTL.
    At(i64),
    /// The channel's default ttl, or inventory.default_ttl.
    Default,
}

/// Choose the deadline from the `ttl` and `expires_at` arguments: at most one may be given,
/// a ttl must be positive and an absolute deadline must lie after `now`.
pub fn choose_deadline(ttl: Option<IntervalParts>, expires_at: Option<i64>, now: i64) -> Result<Deadline> {
    match (ttl, expires_at) {
        (Some(_), Some(_)) => Err(InventoryError::invalid_argument(
            "ttl",
            "and expires_at cannot both be given",
        )),
        (Some(ttl), None) => Ok(Deadline::Ttl(check_ttl("ttl", ttl)?)),
        // PostgreSQL stores 'infinity' as i64::MAX: a hold that never lapses is no deadline.
        (None, Some(i64::MAX)) => Err(InventoryError::invalid_argument("expires_at", "must be a finite time")),
        (None, Some(at)) if at <= now => Err(InventoryError::invalid_argument("expires_at", "must be in the future")),
        (None, Some(at)) => Ok(Deadline::At(at)),
        (None, None) => Ok(Deadline::Default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    #[test]
    fn every_weekday_has_its_period() {
        let expected = [(Mon, 4), (Tue, 4), (Wed, 5), (Thu, 5), (Fri, 5), (Sat, 6), (Sun, 4)];
        for (day, days) in expected {
            assert_eq!(payment_hold_days(day, false), days, "{day}");
        }
    }

    #[test]
    fn incomplete_orders_get_eleven_days_any_day() {
        for day in [Mon, Tue, Wed, Thu, Fri, Sat, Sun] {
            assert_eq!(payment_hold_days(day, true), 11);
        }
    }

    #[test]
    fn iso_weekdays() {
        assert_eq!(weekday_from_iso(1), Some(Mon));
        assert_eq!(weekday_from_iso(6), Some(Sat));
        assert_eq!(weekday_from_iso(7), Some(Sun));
        assert_eq!(weekday_from_iso(0), None);
        assert_eq!(weekday_from_iso(8), None);
    }

    const HOUR: IntervalParts = IntervalParts {
        months: 0,
        days: 0,
        micros: 3_600_000_000,
    };

    #[test]
    fn deadline_precedence_and_validation() {
        assert_eq!(choose_deadline(None, None, 0), Ok(Deadline::Default));
        assert_eq!(choose_deadline(Some(HOUR), None, 0), Ok(Deadline::Ttl(HOUR)));
        assert_eq!(choose_deadline(None, Some(10), 5), Ok(Deadline::At(10)));
        assert_eq!(
            choose_deadline(Some(HOUR), Some(10), 5).unwrap_err().message,
            "ttl and expires_at cannot both be given"
        );
        assert_eq!(
            choose_deadline(None, Some(5), 5).unwrap_err().message,
            "expires_at must be in the future"
        );
        let zero = IntervalParts {
            months: 0,
            days: 0,
            micros: 0,
        };
        assert!(choose_deadline(Some(zero), None, 0).is_err());
    }
}
