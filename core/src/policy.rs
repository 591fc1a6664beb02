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

/// Most escrow buckets an item may have: enough for the connections of one busy server.
pub const MAX_BUCKETS: i32 = 64;

/// How many units to move from an item into one of its `buckets` escrow buckets when a
/// reserve of `quantity` finds that bucket empty and the item has `free` salable units.
/// A bucket takes a share of what is left (half of an even split, so the last buckets still
/// get some) and at least the quantity asked for; None when the item cannot give that.
/// Small shares near sell-out keep stragglers few; set_on_hand and a refused reserve bring
/// them back.
pub fn bucket_grant(free: i64, quantity: i64, buckets: i32) -> Option<i64> {
    if quantity <= 0 || buckets <= 0 || free < quantity {
        return None;
    }
    let share = free / (2 * i64::from(buckets));
    Some(share.clamp(quantity, free))
}

/// How many escrow buckets a contended item gets when adaptation splits it: about twice the
/// reserves met on it at once (`others` in flight besides the one splitting), as a power of two,
/// at least 4 and at most `cap`.
pub fn split_buckets(others: u32, cap: i32) -> i32 {
    let wanted = (2 * (u64::from(others) + 1)).next_power_of_two().max(4);
    i32::try_from(wanted).unwrap_or(i32::MAX).min(cap.clamp(1, MAX_BUCKETS))
}

/// The bucket count after every bucket of an item was found busy: twice as many, at most `cap`.
/// None when it cannot grow.
pub fn grown_buckets(buckets: i32, cap: i32) -> Option<i32> {
    let grown = buckets.saturating_mul(2).min(cap.clamp(1, MAX_BUCKETS));
    (grown > buckets).then_some(grown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_gives_about_twice_the_contenders_as_a_power_of_two() {
        assert_eq!(split_buckets(2, 32), 8); // 3 reserves at once
        assert_eq!(split_buckets(0, 32), 4); // never fewer than 4
        assert_eq!(split_buckets(15, 32), 32); // 16 clients
        assert_eq!(split_buckets(63, 32), 32); // capped
        assert_eq!(split_buckets(u32::MAX, 64), 64);
        assert_eq!(split_buckets(15, 0), 1); // a nonsense cap still gives a valid count
    }

    #[test]
    fn busy_buckets_double_up_to_the_cap() {
        assert_eq!(grown_buckets(8, 32), Some(16));
        assert_eq!(grown_buckets(16, 20), Some(20));
        assert_eq!(grown_buckets(32, 32), None);
        assert_eq!(grown_buckets(64, 128), None); // never beyond MAX_BUCKETS
    }

    #[test]
    fn bucket_grant_takes_a_share_and_never_more_than_is_free() {
        // 100M units over 16 buckets: a bucket takes 1/32 of what is left.
        assert_eq!(bucket_grant(100_000_000, 1, 16), Some(3_125_000));
        // 1,000 units: 31 at first, then the shares shrink with what is left.
        assert_eq!(bucket_grant(1_000, 1, 16), Some(31));
        assert_eq!(bucket_grant(40, 1, 16), Some(1));
        // At least the quantity asked for, at most what is free.
        assert_eq!(bucket_grant(10, 4, 16), Some(4));
        assert_eq!(bucket_grant(5, 5, 1), Some(5));
        assert_eq!(bucket_grant(9, 1, 1), Some(4));
        // Not enough, or nonsense.
        assert_eq!(bucket_grant(3, 4, 16), None);
        assert_eq!(bucket_grant(0, 1, 16), None);
        assert_eq!(bucket_grant(10, 0, 16), None);
        assert_eq!(bucket_grant(10, 1, 0), None);
    }
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
