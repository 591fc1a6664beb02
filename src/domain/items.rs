//! An item, (sku, location): its key, its row, what it can sell, and the log of its settings.

use inventory_reservation_core::validate;
use pgrx::spi::SpiClient;

use crate::domain::events::salable_changed;
use crate::errors::ApiResult;
use crate::store::{self, statement};

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

    /// The item's key as the parameters of a statement that addresses one item.
    pub(crate) fn key(&self) -> ItemKey<'_> {
        ItemKey {
            sku: &self.sku,
            location: &self.location,
        }
    }
}

store::parameters! {
    /// The parameters $sku and $location.
    pub(crate) struct ItemKey<'a> { sku: &'a str, location: &'a str }
}

// Reading stock. The view inventory.stock_levels is the one definition of "salable".

statement! {
    pub(crate) struct SalableOfItem<'a> { item: ItemKey<'a> }
    = "SELECT salable FROM inventory.stock_levels WHERE sku = $sku AND location = $location";
}

statement! {
    struct SalableOfSku<'a> { sku: &'a str }
    = "SELECT LEAST(COALESCE(sum(salable), 0), 9223372036854775807)::bigint
         FROM inventory.stock_levels WHERE sku = $sku";
}

// Writing stock.

statement! {
    /// Lock the item's row and read on_hand; no row when the item is new.
    pub(crate) struct LockItem<'a> { item: ItemKey<'a> }
    = "SELECT on_hand FROM inventory.stock WHERE sku = $sku AND location = $location FOR UPDATE";
}

statement! {
    struct CreateItem<'a> { item: ItemKey<'a> }
    = "INSERT INTO inventory.stock (sku, location) VALUES ($sku, $location) ON CONFLICT (sku, location) DO NOTHING";
}

statement! {
    pub(crate) struct LogItemEvent<'a> { item: ItemKey<'a>, event: &'a str, quantity: i64, reason: Option<&'a str> }
    = "INSERT INTO inventory.log (sku, location, event, quantity, reason)
       VALUES ($sku, $location, $event, $quantity, $reason)";
}

/// Lock the item's row, creating the item (on_hand 0) if it is new; returns on_hand.
pub(crate) fn lock_or_create(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<i64> {
    if let Some(on_hand) = store::exec_one::<i64, _>(client, LockItem { item: item.key() })? {
        return Ok(on_hand);
    }
    store::run(client, CreateItem { item: item.key() })?;
    Ok(store::exec_one::<i64, _>(client, LockItem { item: item.key() })?.unwrap_or(0))
}

/// Log a change of an item's settings (event configure_item, `change` and the caller's
/// `reason` as the reason) and tell listeners, since settings move the salable quantity.
pub(crate) fn setting_changed(
    client: &mut SpiClient<'_>,
    item: &Item,
    change: &str,
    reason: Option<&str>,
) -> ApiResult<()> {
    let logged = match reason {
        Some(reason) => format!("{change}; {reason}"),
        None => change.to_owned(),
    };
    store::run(
        client,
        LogItemEvent {
            item: item.key(),
            event: "configure_item",
            quantity: 0,
            reason: Some(&logged),
        },
    )?;
    salable_changed(client, &item.sku, &item.location)
}

/// The salable quantity of one item, None when it has no stock record.
pub(crate) fn item_salable(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<Option<i64>> {
    Ok(store::exec_one::<i64, _>(client, SalableOfItem { item: item.key() })?)
}

/// The salable quantity of a sku over all its locations.
pub(crate) fn sku_salable(client: &mut SpiClient<'_>, sku: &str) -> ApiResult<i64> {
    Ok(store::exec_one::<i64, _>(client, SalableOfSku { sku })?.unwrap_or(0))
}
