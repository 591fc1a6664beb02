//! expire_stale: one batch of the sweep that records lapsed holds as expired.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::events::salable_changed;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::store;

sql_function!(pg_finfo_inventory_expire_stale, inventory_expire_stale, expire_stale);

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
        let items = store::exec(client, &store::EXPIRE_BATCH, &[batch.into()], |rows| {
            rows.map(|row| Ok((row.get::<String>(1)?, row.get::<String>(2)?, row.get::<i64>(3)?)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut expired = 0;
        for (sku, location, holds) in items {
            expired += holds.unwrap_or(0);
            salable_changed(
                client,
                sku.as_deref().unwrap_or_default(),
                location.as_deref().unwrap_or_default(),
            )?;
        }
        Ok(expired)
    })
}
