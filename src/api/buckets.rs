//! set_buckets: pin an item's escrow buckets (see `domain::escrow`).

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::SetBucketsArgs;
use crate::domain::escrow;
use crate::domain::items::Item;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};

sql_function!(pg_finfo_inventory_set_buckets, inventory_set_buckets, set_buckets);

/// inventory.set_buckets(sku, buckets, location, reason): 0 to 64 escrow buckets for a hot item.
fn set_buckets(args: &Args) -> ApiResult<()> {
    let SetBucketsArgs {
        sku,
        buckets,
        location,
        reason,
    } = SetBucketsArgs::read(args)?;
    let buckets = validate::bucket_count("buckets", buckets)?;
    let item = Item::new(sku, location)?;
    validate::optional_reason("reason", reason.as_deref())?;
    Spi::connect_mut(|client| escrow::set_buckets(client, &item, buckets, reason.as_deref()))
}
