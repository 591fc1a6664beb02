//! PostgreSQL intervals as the core's ttl rules see them.

use inventory_reservation_core::InventoryError;
use inventory_reservation_core::policy::{Deadline, choose_deadline};
use inventory_reservation_core::ttl::{IntervalParts, check_ttl};
use pgrx::datum::{Interval, IntoDatum, TimestampWithTimeZone};
use pgrx::pg_sys;

use crate::errors::{ApiError, ApiResult};

/// The months, days and microseconds of an interval, which the core's rules compare.
pub(crate) fn parts(i: Interval) -> IntervalParts {
    IntervalParts {
        months: i.months(),
        days: i.days(),
        micros: i.micros(),
    }
}

/// The core's check of a ttl named `name`: positive, with no negative part.
pub(crate) fn check(name: &str, ttl: Interval) -> Result<IntervalParts, InventoryError> {
    check_ttl(name, parts(ttl))
}

/// Whether an interval is exactly zero (no months, days or time).
pub(crate) fn is_zero(i: Interval) -> bool {
    i.months() == 0 && i.days() == 0 && i.micros() == 0
}

/// The core's choice between a call's `ttl` and `expires_at` (at most one; a ttl positive, a
/// deadline after the statement's start).
pub(crate) fn deadline(
    ttl: Option<Interval>,
    expires_at: Option<TimestampWithTimeZone>,
) -> Result<Deadline, InventoryError> {
    // SAFETY: a plain read of the current statement's start time.
    let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    choose_deadline(ttl.map(parts), expires_at.map(i64::from), now)
}

/// The statement's start plus `ttl`, as `statement_timestamp() + ttl` in SQL (raising the
/// same error when it leaves the timestamp range).
pub(crate) fn after_statement_start(ttl: Interval) -> ApiResult<TimestampWithTimeZone> {
    // SAFETY: a plain read of the current statement's start time.
    let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    // SAFETY: timestamptz + interval of two valid values; raises on overflow as SQL does.
    unsafe {
        pgrx::direct_function_call::<TimestampWithTimeZone>(
            pg_sys::timestamptz_pl_interval,
            &[Some(pg_sys::Datum::from(now)), ttl.into_datum()],
        )
    }
    .ok_or_else(|| ApiError::Internal("timestamptz + interval returned NULL".into()))
}
