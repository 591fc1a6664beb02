//! expire_stale: one batch of the sweep that records lapsed holds as expired.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::store;

sql_function!(
    pg_finfo_inventory_expire_stale,
    inventory_expire_stale,
    expire_stale
);

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
        Ok(store::exec_one::<i64>(client, &store::EXPIRE_BATCH, &[batch.into()])?.unwrap_or(0))
    })
}
