//! inventory.caller(): who acts, for the log.

use std::ffi::CStr;

use pgrx::pg_sys;

use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};

sql_function!(pg_finfo_inventory_caller, inventory_caller, caller);

/// The role the session acts as (SET ROLE included), unchanged by SECURITY DEFINER: inside
/// our functions current_user is the owner, but the log must name the caller.
fn caller(_args: &Args) -> ApiResult<String> {
    // SAFETY: GetOuterUserId is always valid in a backend; the name is palloc'd.
    let name = unsafe { CStr::from_ptr(pg_sys::GetUserNameFromId(pg_sys::GetOuterUserId(), false)) };
    Ok(name.to_string_lossy().into_owned())
}
