//! The bridge between PostgreSQL's function manager and our API functions.
//!
//! Each SQL function is a V1 C function declared beside its body in `src/api/`. Its body runs
//! inside `call`, which converts the result to a Datum, raises our errors with their own
//! SQLSTATE, and hands every other failure (a PostgreSQL error caught from SPI, a Rust panic)
//! back to pgrx's guard, which re-raises it unchanged.
//!
//! The API boundary. The functions are declared SECURITY INVOKER and switch to their owner
//! here, as SECURITY DEFINER would, with `search_path` pinned to `pg_catalog, pg_temp` for the
//! call. Doing it ourselves lets the call note first who called: `current_user` as the caller
//! had it (a role's own SECURITY DEFINER wrapper included), which the log records as the
//! actor. The switch is undone on return; on an error, the (sub)transaction's abort undoes it,
//! as it does for SECURITY DEFINER.

use std::cell::Cell;
use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use pgrx::datum::{FromDatum, IntoDatum};
use pgrx::pg_sys;

use crate::errors::{ApiError, ApiResult, raise};
use crate::gucs;

thread_local! {
    /// The role that called into the API, while a call is under way.
    static ACTOR: Cell<Option<pg_sys::Oid>> = const { Cell::new(None) };
}

/// The role on whose behalf the API runs: the caller of the outermost API call under way, or
/// `current_user` outside one.
pub(crate) fn actor() -> pg_sys::Oid {
    // SAFETY: GetUserId is valid in any backend with a user.
    ACTOR.get().unwrap_or_else(|| unsafe { pg_sys::GetUserId() })
}

/// The name of `actor()`, as inventory.caller() returns it and the log records it.
pub(crate) fn actor_name() -> String {
    // SAFETY: the actor is a role of this session; the name is palloc'd.
    let name = unsafe { std::ffi::CStr::from_ptr(pg_sys::GetUserNameFromId(actor(), false)) };
    name.to_string_lossy().into_owned()
}

/// How a V1 function runs.
#[derive(Clone, Copy)]
pub(crate) enum Runs {
    /// An API function: as its owner, with search_path pinned, the caller noted as the actor.
    AsOwner,
    /// As called: helpers whose result must not depend on the switch (caller(), uuid_v7()),
    /// and the reads that run no SQL (salable_qty, is_salable, salable_qty_many).
    AsCalled,
}

/// What entering the API changed, to undo on return.
struct Entered {
    outer_actor: Option<pg_sys::Oid>,
    user: pg_sys::Oid,
    security_context: c_int,
    guc_nest_level: c_int,
}

/// The owner of the function being called, from the catalog, and whether the catalog still
/// declares it SECURITY DEFINER (a database not yet updated to 0.7.0).
unsafe fn function_owner(fcinfo: pg_sys::FunctionCallInfo) -> ApiResult<(pg_sys::Oid, bool)> {
    // SAFETY: fcinfo and its flinfo are valid for the call; the syscache tuple is released.
    unsafe {
        let function = (*(*fcinfo).flinfo).fn_oid;
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::PROCOID as c_int,
            pg_sys::Datum::from(function),
        );
        if tuple.is_null() {
            return Err(ApiError::Internal(format!(
                "inventory_reservation: function {function:?} is not in pg_proc"
            )));
        }
        let proc = &*(pg_sys::GETSTRUCT(tuple) as pg_sys::Form_pg_proc);
        let found = (proc.proowner, proc.prosecdef);
        pg_sys::ReleaseSysCache(tuple);
        Ok(found)
    }
}

/// Note the caller, pin search_path and become the function's owner.
unsafe fn enter(fcinfo: pg_sys::FunctionCallInfo) -> ApiResult<Entered> {
    // SAFETY: the same steps as PostgreSQL's fmgr_security_definer, in the same order.
    unsafe {
        let (owner, still_security_definer) = function_owner(fcinfo)?;
        let (mut user, mut security_context) = (pg_sys::InvalidOid, 0);
        pg_sys::GetUserIdAndSecContext(&mut user, &mut security_context);
        // Declared SECURITY DEFINER (before the update to 0.7.0), PostgreSQL has switched to the
        // owner already: the session's role is the best name left for the caller.
        let caller = if still_security_definer {
            pg_sys::GetOuterUserId()
        } else {
            user
        };
        let guc_nest_level = pg_sys::NewGUCNestLevel();
        pg_sys::SetUserIdAndSecContext(owner, security_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as c_int);
        gucs::set_for_nest_level(c"search_path", c"pg_catalog, pg_temp", pg_sys::GucContext::PGC_USERSET);
        // Last, so that no step above can fail with the actor changed.
        let outer_actor = ACTOR.replace(Some(ACTOR.get().unwrap_or(caller)));
        Ok(Entered {
            outer_actor,
            user,
            security_context,
            guc_nest_level,
        })
    }
}

/// Undo `enter` after a call that returned normally.
unsafe fn leave(entered: &Entered) {
    // SAFETY: restores exactly what `enter` saved, innermost first.
    unsafe {
        pg_sys::AtEOXact_GUC(true, entered.guc_nest_level);
        pg_sys::SetUserIdAndSecContext(entered.user, entered.security_context);
    }
    ACTOR.set(entered.outer_actor);
}

/// Arguments of one call, read by position.
pub(crate) struct Args(pg_sys::FunctionCallInfo);

impl Args {
    /// The argument at `n`, or None for SQL NULL. None too for a parameter the call does not
    /// have: a database whose catalog still declares an earlier release's shorter signature
    /// calls the new library with fewer arguments until ALTER EXTENSION UPDATE, and parameters
    /// are only ever added at the end, with defaults.
    pub(crate) fn get<T: FromDatum>(&self, n: usize) -> Option<T> {
        if !self.has(n) {
            return None;
        }
        // SAFETY: fcinfo is the live call frame and n is below its nargs.
        unsafe { pgrx::fcinfo::pg_getarg::<T>(self.0, n) }
    }

    /// Whether the call has an argument at `n`.
    fn has(&self, n: usize) -> bool {
        // SAFETY: fcinfo is the live call frame.
        n < usize::try_from(unsafe { (*self.0).nargs }).unwrap_or(0)
    }

    /// The argument at `n`; SQL NULL raises 22004 naming `name`.
    pub(crate) fn required<T: FromDatum>(&self, n: usize, name: &str) -> ApiResult<T> {
        Ok(inventory_reservation_core::validate::required(name, self.get(n))?)
    }

    /// Return `rows` as the set of a set-returning function (materialize mode); the function's
    /// own Datum result is then ignored. Each row has one Datum per output column, None for NULL.
    pub(crate) fn return_rows(&self, rows: Vec<Vec<Option<pg_sys::Datum>>>) {
        // SAFETY: InitMaterializedSRF checks that the caller accepts a materialized set and
        // sets up the tuplestore and descriptor; putvalues copies each row into it.
        unsafe {
            pg_sys::InitMaterializedSRF(self.0, 0);
            let info = (*self.0).resultinfo as *mut pg_sys::ReturnSetInfo;
            for row in rows {
                let mut values: Vec<pg_sys::Datum> = row.iter().map(|d| d.unwrap_or(pg_sys::Datum::from(0))).collect();
                let mut nulls: Vec<bool> = row.iter().map(Option::is_none).collect();
                pg_sys::tuplestore_putvalues(
                    (*info).setResult,
                    (*info).setDesc,
                    values.as_mut_ptr(),
                    nulls.as_mut_ptr(),
                );
            }
        }
    }

    /// The raw Datum at `n`, to pass a value through to SQL without decoding it.
    pub(crate) fn datum(&self, n: usize) -> Option<pg_sys::Datum> {
        if !self.has(n) {
            return None;
        }
        // SAFETY: as above.
        unsafe { pgrx::fcinfo::pg_getarg_datum(self.0, n) }
    }

    /// The raw Datum at `n`; SQL NULL raises 22004 naming `name`.
    pub(crate) fn required_datum(&self, n: usize, name: &str) -> ApiResult<pg_sys::Datum> {
        Ok(inventory_reservation_core::validate::required(name, self.datum(n))?)
    }
}

/// Run an API function body for the call `fcinfo` and return its result as a Datum.
///
/// # Safety
/// `fcinfo` must be the call frame PostgreSQL passed to the V1 function.
pub(crate) unsafe fn call<R, F>(fcinfo: pg_sys::FunctionCallInfo, runs: Runs, body: F) -> pg_sys::Datum
where
    R: IntoDatum,
    F: FnOnce(&Args) -> ApiResult<R>,
{
    let mut entered = None;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Runs::AsOwner = runs {
            // SAFETY: fcinfo is the live call frame.
            entered = Some(unsafe { enter(fcinfo) }?);
        }
        body(&Args(fcinfo)).map(|value| match value.into_datum() {
            Some(datum) => datum,
            // SAFETY: fcinfo is valid for the whole call.
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        })
    }));
    match (outcome, entered) {
        (Ok(Ok(datum)), entered) => {
            if let Some(entered) = entered {
                // SAFETY: undoes the enter of this call, which returned normally.
                unsafe { leave(&entered) };
            }
            datum
        }
        // On an error the user and settings are restored by the abort of the (sub)transaction
        // that catches it; the actor is ours to restore.
        (Ok(Err(error)), entered) => {
            if let Some(entered) = entered {
                ACTOR.set(entered.outer_actor);
            }
            // SAFETY: nothing in this frame needs dropping any more.
            unsafe { raise(error) }
        }
        (Err(payload), entered) => {
            if let Some(entered) = entered {
                ACTOR.set(entered.outer_actor);
            }
            // SAFETY: pgrx's guard reports the caught error or panic as PostgreSQL expects.
            unsafe { pg_sys::panic::pgrx_extern_c_guard(|| resume_unwind(payload)) }
        }
    }
}

/// A V1 info record, as PG_FUNCTION_INFO_V1 would emit.
pub(crate) static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };

/// Export `$symbol` (and its `pg_finfo_` record) as a V1 C function running `$body`: an API
/// function (as its owner, see `Runs::AsOwner`) unless `as_called` is given.
macro_rules! sql_function {
    ($finfo:ident, $symbol:ident, $body:path) => {
        $crate::fmgr::sql_function!($finfo, $symbol, $body, $crate::fmgr::Runs::AsOwner);
    };
    ($finfo:ident, $symbol:ident, $body:path, as_called) => {
        $crate::fmgr::sql_function!($finfo, $symbol, $body, $crate::fmgr::Runs::AsCalled);
    };
    ($finfo:ident, $symbol:ident, $body:path, $runs:expr) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            &$crate::fmgr::V1
        }

        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $symbol(fcinfo: ::pgrx::pg_sys::FunctionCallInfo) -> ::pgrx::pg_sys::Datum {
            // SAFETY: PostgreSQL calls this with a valid fcinfo.
            unsafe { $crate::fmgr::call(fcinfo, $runs, $body) }
        }
    };
}
pub(crate) use sql_function;
