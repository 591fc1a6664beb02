//! Settings. Each is defined once here, with the description `SHOW`/`pg_settings` prints.

use std::cell::RefCell;
use std::ffi::{CStr, CString};

use pgrx::datum::{Interval, IntoDatum};
use pgrx::pg_sys::{self, AsPgCStr};
use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

use crate::errors::ApiResult;
use crate::subxact::keep_if_some;
use crate::ttl;

pub(crate) static DEFAULT_TTL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"1 day"));
pub(crate) static NOTIFY: GucSetting<bool> = GucSetting::<bool>::new(false);
pub(crate) static WORKER_ENABLED: GucSetting<bool> = GucSetting::<bool>::new(true);
pub(crate) static WORKER_NAPTIME_MS: GucSetting<i32> = GucSetting::<i32>::new(10_000);
pub(crate) static EXPIRE_BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(1_000);
pub(crate) static EXPIRE_BATCH_DELAY_MS: GucSetting<i32> = GucSetting::<i32>::new(0);
pub(crate) static ADAPTIVE_BUCKETS: GucSetting<bool> = GucSetting::<bool>::new(true);
pub(crate) static MAX_BUCKETS: GucSetting<i32> = GucSetting::<i32>::new(32);
pub(crate) static BUCKET_FOLD_DELAY_MS: GucSetting<i32> = GucSetting::<i32>::new(60_000);
pub(crate) static WORKER_DATABASES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

pub(crate) fn init() {
    // SAFETY: the hook is a valid check hook for a string setting, and does not raise.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"inventory.default_ttl",
            c"How long a reservation holds stock when reserve() gets no ttl.",
            c"An interval such as '1 day' or '15 minutes'; must be positive. The default of one day is M2E Pro's default reservation period. Checked when it is set.",
            &DEFAULT_TTL,
            GucContext::Userset,
            GucFlags::default(),
            Some(check_default_ttl),
            None,
            None,
        );
    }
    GucRegistry::define_bool_guc(
        c"inventory.notify",
        c"Send NOTIFY inventory_salable with {\"sku\",\"location\",\"salable\"} when an item's salable quantity changes.",
        c"Delivered when the transaction commits, so a channel connector can LISTEN and push new quantities. Off by default.",
        &NOTIFY,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"inventory.worker_enabled",
        c"Whether the background worker expires lapsed reservations.",
        c"Off stops the launcher from starting expiry workers and makes running ones exit; reads stay exact either way. Reload to apply.",
        &WORKER_ENABLED,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"inventory.worker_naptime",
        c"Longest time the expiry worker sleeps between passes.",
        c"The worker also wakes at the earliest deadline of a reservation and when a session writes a sooner one, so this only bounds idle sleeps. Reload to apply.",
        &WORKER_NAPTIME_MS,
        100,
        86_400_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"inventory.expire_batch_size",
        c"Reservations the worker expires per transaction.",
        c"Each batch is one short transaction of inventory.expire_stale(batch_size); smaller batches hold row locks for less time. Reload to apply.",
        &EXPIRE_BATCH_SIZE,
        1,
        1_000_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"inventory.expire_batch_delay",
        c"Pause of the expiry worker after each full batch, while it works through a backlog.",
        c"0 (the default) sweeps a backlog at full speed. A pause leaves the CPU to the sessions, as autovacuum_vacuum_cost_delay does for vacuum; reads stay exact meanwhile, since lapsed holds are subtracted at read time. Reload to apply.",
        &EXPIRE_BATCH_DELAY_MS,
        0,
        10_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_bool_guc(
        c"inventory.adaptive_buckets",
        c"Whether contended items split into escrow buckets by themselves, and fold back when calm.",
        c"On (the default), reserves that keep meeting each other on one item spread it over escrow buckets, and the expiry worker folds it back into one row once it has been calm for inventory.bucket_fold_delay. Off: no item splits, and the worker folds the items that did. Items pinned with set_buckets are never changed. Needs shared_preload_libraries. Reload to apply.",
        &ADAPTIVE_BUCKETS,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"inventory.max_buckets",
        c"Most escrow buckets an item gets by adaptation.",
        c"A split item starts with about twice as many buckets as reserves met on it, and doubles when every bucket is busy, up to this. set_buckets pins any count up to 64 regardless. Reload to apply.",
        &MAX_BUCKETS,
        1,
        64,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"inventory.bucket_fold_delay",
        c"How long a split item must be calm before the expiry worker folds it back into one row.",
        c"Calm: no reserve of the item met another in flight. Reload to apply.",
        &BUCKET_FOLD_DELAY_MS,
        1_000,
        86_400_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_string_guc(
        c"inventory.worker_databases",
        c"Databases the expiry worker serves: a comma-separated list, or empty for all.",
        c"Empty (the default) serves every database that allows connections and has the extension. Reload to apply.",
        &WORKER_DATABASES,
        GucContext::Sighup,
        GucFlags::default(),
    );
}

/// Whether inventory.worker_databases lets the worker serve database `name`.
pub(crate) fn worker_serves(name: &str) -> bool {
    match WORKER_DATABASES.get() {
        None => true,
        Some(list) => {
            let list = list.to_string_lossy();
            list.trim().is_empty() || list.split(',').any(|d| d.trim() == name)
        }
    }
}

thread_local! {
    /// The last parsed value of inventory.default_ttl, so a call re-parses only after a change.
    static PARSED_DEFAULT_TTL: RefCell<Option<(CString, Interval)>> = const { RefCell::new(None) };
}

/// inventory.default_ttl as an interval, validated like a ttl argument. The check hook refuses
/// a bad value when it is set; this catches one set before the library was loaded.
pub(crate) fn default_ttl() -> ApiResult<Interval> {
    let text = DEFAULT_TTL.get().unwrap_or_else(|| c"1 day".to_owned());
    if let Some(hit) = PARSED_DEFAULT_TTL.with_borrow(|c| c.as_ref().filter(|(t, _)| *t == text).map(|(_, i)| *i)) {
        return Ok(hit);
    }
    let parsed = parse_ttl_setting(&text).map_err(|why| {
        inventory_reservation_core::InventoryError::invalid_argument("inventory.default_ttl", why)
            .with_hint("SET inventory.default_ttl to a positive interval such as '15 minutes'.")
    })?;
    PARSED_DEFAULT_TTL.with_borrow_mut(|c| *c = Some((text, parsed)));
    Ok(parsed)
}

/// A ttl setting's text as an interval: what the interval type accepts, positive, without a
/// negative part. The reason otherwise. Must run inside a transaction: the interval type's
/// parser raises on bad input (a field out of range included), which is caught in a
/// subtransaction, as PL/pgSQL catches it.
fn parse_ttl_setting(text: &CStr) -> Result<Interval, String> {
    let invalid = || format!("must be a positive interval, not \"{}\"", text.to_string_lossy());
    let parsed = keep_if_some(|| {
        Ok(PgTryBuilder::new(|| unsafe {
            // SAFETY: a NUL-terminated string, with the typmod and oid interval_in expects.
            pgrx::direct_function_call::<Interval>(
                pg_sys::interval_in,
                &[
                    Some(pg_sys::Datum::from(text.as_ptr())),
                    pg_sys::InvalidOid.into_datum(),
                    (-1i32).into_datum(),
                ],
            )
        })
        .catch_others(|_| None)
        .execute())
    })
    .ok()
    .flatten()
    .ok_or_else(invalid)?;
    ttl::check("inventory.default_ttl", parsed).map_err(|_| invalid())?;
    Ok(parsed)
}

/// GUC check hook of inventory.default_ttl: refuse a value reserve() could not use, when it is
/// set in a transaction (SET, ALTER ROLE/DATABASE ... SET, a session's start), with
/// PostgreSQL's 22023. Outside one (postgresql.conf read by the postmaster) or in parallel mode
/// no subtransaction can be had: the value is taken, and reserve() checks it at use.
#[pg_guard]
unsafe extern "C-unwind" fn check_default_ttl(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: PostgreSQL passes the proposed value, a NUL-terminated string or NULL.
    let Some(text) = (unsafe { (*newval).as_ref() }).map(|p| unsafe { CStr::from_ptr(p) }) else {
        return true;
    };
    // SAFETY: plain reads of the backend's state.
    if unsafe { !pg_sys::IsTransactionState() || pg_sys::IsInParallelMode() } {
        return true;
    }
    match parse_ttl_setting(text) {
        Ok(_) => true,
        Err(why) => {
            // SAFETY: PostgreSQL reads this palloc'd detail after the hook returns.
            unsafe { pg_sys::GUC_check_errdetail_string = format!("inventory.default_ttl {why}.").as_pg_cstr() };
            false
        }
    }
}

/// Set `name` to `value` until `AtEOXact_GUC` pops the GUC nest level the caller opened with
/// `NewGUCNestLevel`, as a function's SET clause does (or an abort pops it).
///
/// # Safety
/// A nest level must be open; `context` must allow the caller to set `name`.
pub(crate) unsafe fn set_for_nest_level(name: &CStr, value: &CStr, context: pg_sys::GucContext::Type) {
    // SAFETY: the caller keeps the contract above.
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            context,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
    }
}
