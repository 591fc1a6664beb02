//! Availability events: NOTIFY inventory_salable when an item's salable quantity changes.

use pgrx::spi::SpiClient;

use crate::errors::ApiResult;
use crate::gucs;
use crate::store::{self, statement};

statement! {
    /// Tell listeners on channel inventory_salable the item's salable quantity. NOTIFY is
    /// delivered when the transaction commits, and never if it aborts.
    struct NotifySalable<'a> { sku: &'a str, location: &'a str }
    = "SELECT pg_catalog.pg_notify('inventory_salable',
              json_build_object('sku', sku, 'location', location, 'salable', salable)::text)
         FROM inventory.stock_levels WHERE sku = $sku AND location = $location";
}

/// Send the item's new salable quantity to listeners, if inventory.notify is on. Costs
/// nothing when it is off (the default).
pub(crate) fn salable_changed(client: &mut SpiClient<'_>, sku: &str, location: &str) -> ApiResult<()> {
    if gucs::NOTIFY.get() {
        store::run(client, NotifySalable { sku, location })?;
    }
    Ok(())
}
