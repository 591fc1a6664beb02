//! expire_stale: one batch of the sweep that records lapsed holds as expired.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::ExpireStaleArgs;
use crate::domain::events::salable_changed;
use crate::domain::expiry;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::{gucs, locks};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.expire_stale(batch_size integer DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_expire_stale';
COMMENT ON FUNCTION inventory.expire_stale(integer) IS
  'Record up to batch_size (default: the setting inventory.expire_batch_size) lapsed holds as expired, earliest deadline first, returning their units to the counters in one short transaction. Returns how many. The background worker calls this; reads are exact without it.';
"#,
    name = "expire_stale"
);
sql_function!(pg_finfo_inventory_expire_stale, inventory_expire_stale, expire_stale);

/// inventory.expire_stale(batch_size): expire at most batch_size (default: the setting
/// inventory.expire_batch_size) lapsed holds; returns how many.
/// Holds of items another transaction has locked are left for a later call.
fn expire_stale(args: &Args) -> ApiResult<i64> {
    let batch = ExpireStaleArgs::read(args)?.batch_size;
    let batch = validate::batch_size("batch_size", batch.unwrap_or_else(|| gucs::EXPIRE_BATCH_SIZE.get()))?;
    // The extension's lock first, then the tables: a DROP EXTENSION, which takes the
    // extension's lock before any table, then waits for this batch instead of meeting it in a
    // cycle, whoever calls it (the worker, pg_cron, a person).
    if !locks::lock_extension_if_installed() {
        return Ok(0);
    }
    locks::lock_sweep_relations();
    Spi::connect_mut(|client| {
        let freed = expiry::expire_batch(client, batch)?;
        for f in &freed {
            salable_changed(client, &f.sku, &f.location)?;
        }
        Ok(freed.iter().map(|f| f.holds).sum())
    })
}
