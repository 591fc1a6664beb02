//! Subtransactions: try a step and undo it, row locks included, when it yields nothing.

use pgrx::prelude::*;

use crate::errors::ApiResult;

/// Run `step` in a subtransaction: kept when it returns Some, rolled back (with every row
/// lock it took) when it returns None, an error, or raises: a PostgreSQL error inside arrives
/// as a panic, which is passed on after the rollback, so an enclosing EXCEPTION block finds
/// the transaction as it left it.
pub(crate) fn keep_if_some<T>(step: impl FnOnce() -> ApiResult<Option<T>>) -> ApiResult<Option<T>> {
    // SAFETY: what PL/pgSQL does for a block with an EXCEPTION clause: the subtransaction
    // starts and ends inside this call on every path, and the caller's memory context and
    // resource owner are restored afterwards. The SPI connection was made outside it and
    // stays; results read inside were copied out before the rollback.
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(step));
        if matches!(result, Ok(Ok(Some(_)))) {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
        result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}
