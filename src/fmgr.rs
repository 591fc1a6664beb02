//! The bridge between PostgreSQL's function manager and our API functions.
//!
//! Each SQL function is a V1 C function declared in `sql/api.sql`. Its body runs inside
//! `call`, which converts the result to a Datum, raises our errors with their own SQLSTATE,
//! and hands every other failure (a PostgreSQL error caught from SPI, a Rust panic) back to
//! pgrx's guard, which re-raises it unchanged.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use pgrx::datum::{FromDatum, IntoDatum};
use pgrx::pg_sys;

use crate::errors::{ApiResult, raise};

/// Arguments of one call, read by position.
pub(crate) struct Args(pg_sys::FunctionCallInfo);

impl Args {
    /// The argument at `n`, or None for SQL NULL.
    pub(crate) fn get<T: FromDatum>(&self, n: usize) -> Option<T> {
        // SAFETY: fcinfo is the live call frame and n is within the SQL signature.
        unsafe { pgrx::fcinfo::pg_getarg::<T>(self.0, n) }
    }

    /// The argument at `n`; SQL NULL raises 22004 naming `name`.
    pub(crate) fn required<T: FromDatum>(&self, n: usize, name: &str) -> ApiResult<T> {
        Ok(inventory_reservation_core::validate::required(name, self.get(n))?)
    }

    /// The raw Datum at `n`, to pass a value through to SQL without decoding it.
    pub(crate) fn datum(&self, n: usize) -> Option<pg_sys::Datum> {
        // SAFETY: as above.
        unsafe { pgrx::fcinfo::pg_getarg_datum(self.0, n) }
    }
}

/// Run an API function body for the call `fcinfo` and return its result as a Datum.
///
/// # Safety
/// `fcinfo` must be the call frame PostgreSQL passed to the V1 function.
pub(crate) unsafe fn call<R, F>(fcinfo: pg_sys::FunctionCallInfo, body: F) -> pg_sys::Datum
where
    R: IntoDatum,
    F: FnOnce(&Args) -> ApiResult<R>,
{
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        body(&Args(fcinfo)).map(|value| match value.into_datum() {
            Some(datum) => datum,
            // SAFETY: fcinfo is valid for the whole call.
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        })
    }));
    match outcome {
        Ok(Ok(datum)) => datum,
        // SAFETY: nothing in this frame needs dropping any more.
        Ok(Err(error)) => unsafe { raise(error) },
        // SAFETY: pgrx's guard reports the caught error or panic as PostgreSQL expects.
        Err(payload) => unsafe { pg_sys::panic::pgrx_extern_c_guard(|| resume_unwind(payload)) },
    }
}

/// A V1 info record, as PG_FUNCTION_INFO_V1 would emit.
pub(crate) static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };

/// Export `$symbol` (and its `pg_finfo_` record) as a V1 C function running `$body`.
macro_rules! sql_function {
    ($finfo:ident, $symbol:ident, $body:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            &$crate::fmgr::V1
        }

        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $symbol(fcinfo: ::pgrx::pg_sys::FunctionCallInfo) -> ::pgrx::pg_sys::Datum {
            // SAFETY: PostgreSQL calls this with a valid fcinfo.
            unsafe { $crate::fmgr::call(fcinfo, $body) }
        }
    };
}
pub(crate) use sql_function;
