//! An item, (sku, location): its key, its row, what it can sell, and the log of its settings.

use inventory_reservation_core::validate;
use pgrx::datum::DatumWithOid;
use pgrx::spi::SpiClient;

use crate::domain::events::salable_changed;
use crate::errors::ApiResult;
use crate::store;

/// An item's key, validated.
pub(crate) struct Item {
    pub sku: String,
    pub location: String,
}

impl Item {
    /// An item named by a call's arguments, validated.
    pub(crate) fn new(sku: String, location: String) -> ApiResult<Item> {
        validate::key("sku", &sku)?;
        validate::key("location", &location)?;
        Ok(Item { sku, location })
    }

    /// The (sku, location) parameters of the statements that address one item.
    pub(crate) fn key(&self) -> [DatumWithOid<'_>; 2] {
        [self.sku.as_str().into(), self.location.as_str().into()]
    }
}

/// Lock the item's row, creating the item (on_hand 0) if it is new; returns on_hand.
pub(crate) fn lock_or_create(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<i64> {
    if let Some(on_hand) = store::exec_one::<i64>(client, &store::LOCK_ITEM, &item.key())? {
        return Ok(on_hand);
    }
    store::exec(client, &store::CREATE_ITEM, &item.key(), |_| Ok(()))?;
    Ok(store::exec_one::<i64>(client, &store::LOCK_ITEM, &item.key())?.unwrap_or(0))
}

/// Log a change of an item's settings (event configure_item, `change` as the reason) and tell
/// listeners, since settings move the salable quantity.
pub(crate) fn setting_changed(client: &mut SpiClient<'_>, item: &Item, change: &str) -> ApiResult<()> {
    let log = [
        item.sku.as_str().into(),
        item.location.as_str().into(),
        "configure_item".into(),
        0i64.into(),
        change.into(),
    ];
    store::exec(client, &store::LOG_ITEM_EVENT, &log, |_| Ok(()))?;
    salable_changed(client, &item.sku, &item.location)
}

/// The salable quantity of one item, None when it has no stock record.
pub(crate) fn item_salable(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<Option<i64>> {
    Ok(store::exec_one::<i64>(client, &store::SALABLE_OF_ITEM, &item.key())?)
}
