//! set_buckets: pin an item's escrow buckets (see `domain::escrow`).

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::SetBucketsArgs;
use crate::domain::escrow::drain;
use crate::domain::items::{Item, lock_or_create, setting_changed};
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::store;

sql_function!(pg_finfo_inventory_set_buckets, inventory_set_buckets, set_buckets);

/// inventory.set_buckets(sku, buckets, location): 0 to 64 escrow buckets for a hot item.
fn set_buckets(args: &Args) -> ApiResult<()> {
    let SetBucketsArgs { sku, buckets, location } = SetBucketsArgs::read(args)?;
    let buckets = validate::bucket_count("buckets", buckets)?;
    let item = Item::new(sku, location)?;
    Spi::connect_mut(|client| {
        drain(client, &item)?;
        lock_or_create(client, &item)?;
        let before = store::exec_one::<i32>(client, &store::ITEM_BUCKETS, &item.key())?.unwrap_or(0);
        if before == buckets {
            return Ok(());
        }
        let set = [item.sku.as_str().into(), item.location.as_str().into(), buckets.into()];
        store::exec(client, &store::SET_BUCKETS, &set, |_| Ok(()))?;
        setting_changed(client, &item, &format!("buckets {before} -> {buckets}"))
    })
}
