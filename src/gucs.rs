//! Settings. Each is defined once here, with the description `SHOW`/`pg_settings` prints.

use std::cell::RefCell;
use std::ffi::CString;
use std::str::FromStr;

use inventory_reservation_core::ttl::{IntervalParts, check_ttl};
use pgrx::datum::Interval;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

use crate::errors::ApiResult;

pub(crate) static DEFAULT_TTL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"1 day"));

pub(crate) fn init() {
    GucRegistry::define_string_guc(
        c"inventory.default_ttl",
        c"How long a reservation holds stock when reserve() gets no ttl.",
        c"An interval such as '1 day' or '15 minutes'; must be positive. The default of one day is M2E Pro's default reservation period.",
        &DEFAULT_TTL,
        GucContext::Userset,
        GucFlags::default(),
    );
}

thread_local! {
    /// The last parsed value of inventory.default_ttl, so a call re-parses only after a change.
    static PARSED_DEFAULT_TTL: RefCell<Option<(CString, Interval)>> = const { RefCell::new(None) };
}

/// inventory.default_ttl as an interval, validated like a ttl argument.
pub(crate) fn default_ttl() -> ApiResult<Interval> {
    let text = DEFAULT_TTL.get().unwrap_or_else(|| c"1 day".to_owned());
    if let Some(hit) =
        PARSED_DEFAULT_TTL.with_borrow(|c| c.as_ref().filter(|(t, _)| *t == text).map(|(_, i)| *i))
    {
        return Ok(hit);
    }
    let invalid = || {
        inventory_reservation_core::InventoryError::invalid_argument(
            "inventory.default_ttl",
            format!(
                "must be a positive interval, not \"{}\"",
                text.to_string_lossy()
            ),
        )
    };
    let parsed = Interval::from_str(&text.to_string_lossy()).map_err(|_| invalid())?;
    check_ttl("inventory.default_ttl", interval_parts(parsed)).map_err(|_| invalid())?;
    PARSED_DEFAULT_TTL.with_borrow_mut(|c| *c = Some((text, parsed)));
    Ok(parsed)
}

pub(crate) fn interval_parts(i: Interval) -> IntervalParts {
    IntervalParts {
        months: i.months(),
        days: i.days(),
        micros: i.micros(),
    }
}
