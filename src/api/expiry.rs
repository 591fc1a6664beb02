//! expire_stale: one batch of the sweep that records lapsed holds as expired.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::ExpireStaleArgs;
use crate::domain::events::salable_changed;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::{locks, store};

sql_function!(pg_finfo_inventory_expire_stale, inventory_expire_stale, expire_stale);

/// What a batch freed on one item.
struct Freed {
    sku: String,
    location: String,
    holds: i64,
}

/// inventory.expire_stale(batch_size): expire at most batch_size lapsed holds; returns how many.
/// Holds of items another transaction has locked are left for a later call.
fn expire_stale(args: &Args) -> ApiResult<i64> {
    let batch = validate::batch_size("batch_size", ExpireStaleArgs::read(args)?.batch_size)?;
    // The extension's lock first, then the tables: a DROP EXTENSION, which takes the
    // extension's lock before any table, then waits for this batch instead of meeting it in a
    // cycle, whoever calls it (the worker, pg_cron, a person).
    if !locks::lock_extension_if_installed() {
        return Ok(0);
    }
    locks::lock_sweep_relations();
    Spi::connect_mut(|client| {
        let freed = store::exec(client, &store::EXPIRE_BATCH, &[batch.into()], |rows| {
            rows.map(|row| {
                Ok(Freed {
                    sku: row.get::<String>(1)?.unwrap_or_default(),
                    location: row.get::<String>(2)?.unwrap_or_default(),
                    holds: row.get::<i64>(3)?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, _>>()
        })?;
        for f in &freed {
            salable_changed(client, &f.sku, &f.location)?;
        }
        Ok(freed.iter().map(|f| f.holds).sum())
    })
}
