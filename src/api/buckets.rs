//! set_buckets: pin an item's escrow buckets (see `domain::escrow`).

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::SetBucketsArgs;
use crate::domain::escrow;
use crate::domain::items::Item;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.set_buckets(sku text, buckets integer, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_buckets';
COMMENT ON FUNCTION inventory.set_buckets(text, integer, text, text) IS
  'Hot items (flash sales): spread reserve over 1 to 64 escrow buckets, so concurrent buyers of the item lock different rows; 0 turns it off. Units move from the item to a bucket in chunks and back when the item needs them, so no unit is sold twice and none is refused while salable. Creates the item if new; logged as configure_item.';
"#,
    name = "set_buckets"
);
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
