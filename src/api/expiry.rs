//! expire_stale: one batch of the sweep that records lapsed holds as expired.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::events::salable_changed;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::store;

sql_function!(pg_finfo_inventory_expire_stale, inventory_expire_stale, expire_stale);

/// What a batch freed on one item.
struct Freed {
    sku: String,
    location: String,
    units: i64,
    holds: i64,
}

/// inventory.expire_stale(batch_size): expire at most batch_size lapsed holds; returns how many.
fn expire_stale(args: &Args) -> ApiResult<i64> {
    let batch = validate::batch_size("batch_size", args.required(0, "batch_size")?)?;
    Spi::connect_mut(|client| {
        store::exec(
            client,
            &store::LOCK_SWEEP,
            &[store::SWEEP_LOCK_CLASS.into()],
            |_| Ok(()),
        )?;
        let freed = store::exec(client, &store::EXPIRE_BATCH, &[batch.into()], |rows| {
            rows.map(|row| {
                Ok(Freed {
                    sku: row.get::<String>(1)?.unwrap_or_default(),
                    location: row.get::<String>(2)?.unwrap_or_default(),
                    units: row.get::<i64>(3)?.unwrap_or(0),
                    holds: row.get::<i64>(4)?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, _>>()
        })?;
        if freed.is_empty() {
            return Ok(0);
        }
        let skus: Vec<String> = freed.iter().map(|f| f.sku.clone()).collect();
        let locations: Vec<String> = freed.iter().map(|f| f.location.clone()).collect();
        let units: Vec<i64> = freed.iter().map(|f| f.units).collect();
        store::exec(
            client,
            &store::RETURN_EXPIRED_UNITS,
            &[skus.into(), locations.into(), units.into()],
            |_| Ok(()),
        )?;
        for f in &freed {
            salable_changed(client, &f.sku, &f.location)?;
        }
        Ok(freed.iter().map(|f| f.holds).sum())
    })
}
