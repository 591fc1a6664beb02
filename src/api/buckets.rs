//! set_buckets: pin an item's escrow buckets, or hand it to adaptation (see `domain::escrow`).

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::SetBucketsArgs;
use crate::domain::escrow;
use crate::domain::items::Item;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.set_buckets(sku text, buckets integer, location text DEFAULT 'default', reason text DEFAULT NULL, pin boolean DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_buckets';
COMMENT ON FUNCTION inventory.set_buckets(text, integer, text, text, boolean) IS
  'Hot items: spread reserve over 1 to 64 escrow buckets, so concurrent buyers of the item lock different rows; 0: one row. Contended items split by themselves (inventory.adaptive_buckets); this pins a count instead, and adaptation leaves a pinned item alone: set_buckets(sku, 0) keeps it to one row for good. pin => false sets the count and hands the item back to adaptation (pin NULL, the default, pins). Units move from the item to a bucket in chunks and back when the item needs them, so no unit is sold twice and none is refused while salable. Creates the item if new; logged as configure_item.';
"#,
    name = "set_buckets"
);
sql_function!(pg_finfo_inventory_set_buckets, inventory_set_buckets, set_buckets);

/// inventory.set_buckets(sku, buckets, location, reason, pin): 0 to 64 escrow buckets for a
/// hot item, pinned or handed to adaptation.
fn set_buckets(args: &Args) -> ApiResult<()> {
    let SetBucketsArgs {
        sku,
        buckets,
        location,
        reason,
        pin,
    } = SetBucketsArgs::read(args)?;
    let buckets = validate::bucket_count("buckets", buckets)?;
    let item = Item::new(sku, location)?;
    validate::optional_reason("reason", reason.as_deref())?;
    Spi::connect_mut(|client| escrow::set_buckets(client, &item, buckets, pin.unwrap_or(true), reason.as_deref()))
}
