//! prune_log: retention of the log and of ended reservations.

use pgrx::prelude::*;

use crate::api::args::PruneLogArgs;
use crate::domain::retention;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::ttl;

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.prune_log(older_than interval)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_prune_log';
COMMENT ON FUNCTION inventory.prune_log(interval) IS
  'Delete history older than older_than: log rows of stock events and of reservations that ended before the cutoff, and those reservations. Active reservations and their events are kept. Returns how many log rows went. For the owner (or a maintenance role): not granted to applications.';
"#,
    name = "prune_log"
);
sql_function!(pg_finfo_inventory_prune_log, inventory_prune_log, prune_log);

/// inventory.prune_log(older_than): delete log rows and ended reservations older than
/// older_than; returns how many log rows went.
fn prune_log(args: &Args) -> ApiResult<i64> {
    let PruneLogArgs { older_than } = PruneLogArgs::read(args)?;
    ttl::check("older_than", older_than)?;
    Spi::connect_mut(|client| retention::prune_log(client, older_than))
}
