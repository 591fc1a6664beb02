//! Availability events: NOTIFY inventory_salable when an item's salable quantity changes.

use pgrx::spi::SpiClient;

use crate::errors::ApiResult;
use crate::{gucs, store};

/// Send the item's new salable quantity to listeners, if inventory.notify is on. Costs
/// nothing when it is off (the default).
pub(crate) fn salable_changed(client: &mut SpiClient<'_>, sku: &str, location: &str) -> ApiResult<()> {
    if gucs::NOTIFY.get() {
        store::exec(client, &store::NOTIFY_SALABLE, &[sku.into(), location.into()], |_| {
            Ok(())
        })?;
    }
    Ok(())
}
