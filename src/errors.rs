//! Raising errors with our own SQLSTATEs.
//!
//! pgrx's `ErrorReport` only carries SQLSTATEs from PostgreSQL's own list, and maps any other
//! code to XX000. Clients must be able to branch on `IR001` (insufficient stock), so our
//! errors are raised here, with PostgreSQL's `ereport` primitives, from the outermost frame
//! of each SQL function (see `fmgr::call`), after every Rust value has been dropped.

use std::ffi::{c_char, c_int};

use inventory_reservation_core::InventoryError;
use pgrx::pg_sys;
use pgrx::pg_sys::AsPgCStr;

/// What an API function can fail with: a documented domain error, or a bug/SPI failure.
#[derive(Debug)]
pub(crate) enum ApiError {
    Inventory(InventoryError),
    Internal(String),
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        ApiError::Inventory(e)
    }
}

impl From<pgrx::spi::SpiError> for ApiError {
    fn from(e: pgrx::spi::SpiError) -> Self {
        ApiError::Internal(format!("inventory_reservation: SPI failure: {e}"))
    }
}

/// PostgreSQL's MAKE_SQLSTATE: five characters packed six bits each.
pub(crate) const fn sqlstate_code(sqlstate: &str) -> c_int {
    let b = sqlstate.as_bytes();
    let mut code = 0;
    let mut i = 0;
    while i < 5 {
        code |= ((b[i].wrapping_sub(b'0') & 0x3F) as c_int) << (6 * i);
        i += 1;
    }
    code
}

// Declared here because pgrx keeps them out of its bindings on purpose.
unsafe extern "C-unwind" {
    fn errstart(elevel: c_int, domain: *const c_char) -> bool;
    fn errcode(sqlerrcode: c_int) -> c_int;
    fn errmsg(fmt: *const c_char, ...) -> c_int;
    fn errdetail(fmt: *const c_char, ...) -> c_int;
    fn errhint(fmt: *const c_char, ...) -> c_int;
    fn errfinish(filename: *const c_char, lineno: c_int, funcname: *const c_char);
}

/// Raise `error` as a PostgreSQL ERROR. Never returns: control leaves by longjmp, so the
/// caller must hold nothing that needs dropping. Strings are copied into palloc'd memory
/// first, which PostgreSQL frees with the error context.
#[inline(never)]
pub(crate) unsafe fn raise(error: ApiError) -> ! {
    let (code, message, detail, hint) = match error {
        ApiError::Inventory(e) => (sqlstate_code(e.code.sqlstate()), e.message, e.detail, e.hint),
        ApiError::Internal(message) => (sqlstate_code("XX000"), message, None, None),
    };
    let message_c = message.as_str().as_pg_cstr();
    let detail_c = detail.as_deref().map_or(std::ptr::null_mut(), |d| d.as_pg_cstr());
    let hint_c = hint.as_deref().map_or(std::ptr::null_mut(), |h| h.as_pg_cstr());
    drop((message, detail, hint));
    unsafe {
        if errstart(pg_sys::PGERROR as c_int, std::ptr::null()) {
            errcode(code);
            errmsg(c"%s".as_ptr(), message_c);
            if !detail_c.is_null() {
                errdetail(c"%s".as_ptr(), detail_c);
            }
            if !hint_c.is_null() {
                errhint(c"%s".as_ptr(), hint_c);
            }
            errfinish(std::ptr::null(), 0, std::ptr::null());
        }
        // errstart(ERROR) always returns true and errfinish(ERROR) never returns.
        std::hint::unreachable_unchecked()
    }
}

#[cfg(test)]
mod unit {
    use super::sqlstate_code;

    #[test]
    fn packs_like_make_sqlstate() {
        // ERRCODE_INVALID_PARAMETER_VALUE as PostgreSQL computes it.
        assert_eq!(
            sqlstate_code("22023"),
            pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE as i32
        );
        assert_eq!(
            sqlstate_code("XX000"),
            pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR as i32
        );
    }
}
