//! Calendar days in the session's TimeZone, for deadline policies.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::spi::SpiClient;

use crate::errors::{ApiError, ApiResult};
use crate::store::{self, statement};

statement! {
    /// The calendar weekday (ISO, 1 = Monday) of a time in the session's TimeZone.
    struct IsoWeekday { at: TimestampWithTimeZone }
    = "SELECT extract(isodow FROM $at)::int";
}

statement! {
    /// `at` plus `days` calendar days in the session's TimeZone.
    struct PlusDays { at: TimestampWithTimeZone, days: i32 }
    = "SELECT $at + make_interval(days => $days)";
}

/// The ISO weekday (1 = Monday) of `at` in the session's TimeZone.
pub(crate) fn iso_weekday(client: &mut SpiClient<'_>, at: TimestampWithTimeZone) -> ApiResult<i32> {
    Ok(store::exec_one::<i32, _>(client, IsoWeekday { at })?.unwrap_or(0))
}

/// `at` plus `days` calendar days in the session's TimeZone.
pub(crate) fn plus_days(
    client: &mut SpiClient<'_>,
    at: TimestampWithTimeZone,
    days: i32,
) -> ApiResult<TimestampWithTimeZone> {
    store::exec_one::<TimestampWithTimeZone, _>(client, PlusDays { at, days })?
        .ok_or_else(|| ApiError::Internal("adding calendar days computed no time".into()))
}
