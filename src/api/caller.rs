//! inventory.caller(): who acts, for the log.

use crate::errors::ApiResult;
use crate::fmgr::{self, Args, sql_function};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.caller() RETURNS text
LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'inventory_caller';
COMMENT ON FUNCTION inventory.caller() IS
  'The role on whose behalf the API runs: current_user as the caller had it when it called the outermost inventory function under way (the caller''s own SECURITY DEFINER wrapper included), or current_user outside one. Default of inventory.log.actor.';
"#,
    name = "caller"
);
sql_function!(pg_finfo_inventory_caller, inventory_caller, caller, as_called);

/// The role that called into the API: `current_user` as the caller had it when it entered the
/// outermost API call under way (see `fmgr`), or `current_user` outside one. Inside the API
/// current_user is the owner, but the log must name the caller.
fn caller(_args: &Args) -> ApiResult<String> {
    Ok(fmgr::actor_name())
}
