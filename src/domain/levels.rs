//! What items can sell, read for salable_qty, is_salable and salable_qty_many straight from
//! the indexes (see `scan`). Exact at read time, like the view inventory.stock_levels: a hold
//! past its deadline is free before any sweep records it, and free escrow units are salable.

use inventory_reservation_core::levels::{ItemCounts, total};
use pgrx::datum::IntoDatum;
use pgrx::pg_sys;

use crate::errors::{ApiError, ApiResult};
use crate::scan::{Catalog, IndexScan, Key, catalog, stock};

/// What a sku has, at one location or over all of them.
#[derive(Clone, Copy, Default)]
pub(crate) struct Levels {
    /// Units that can be sold, summed over the locations read.
    pub salable: i64,
    /// Some location does not limit reservations (manage_stock off, or backorders on).
    pub unlimited: bool,
}

/// Reads the levels of one sku after another with the same open scans.
pub(crate) struct LevelsReader {
    catalog: Catalog,
    now: pg_sys::Datum,
    items: Option<IndexScan>,
    lapsed: Option<IndexScan>,
    buckets: Option<IndexScan>,
}

fn text(value: &str) -> ApiResult<pg_sys::Datum> {
    value
        .into_datum()
        .ok_or_else(|| ApiError::Internal("a text value became NULL".into()))
}

impl LevelsReader {
    pub(crate) fn new() -> ApiResult<LevelsReader> {
        // SAFETY: the statement's start time, as statement_timestamp() in the view.
        let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
        Ok(LevelsReader {
            catalog: catalog()?,
            now: pg_sys::Datum::from(now),
            items: None,
            lapsed: None,
            buckets: None,
        })
    }

    /// The levels of `sku` at `location`, or over all its locations when None. An unknown
    /// sku or item has none: 0 salable.
    pub(crate) fn read(&mut self, sku: &str, location: Option<&str>) -> ApiResult<Levels> {
        let c = self.catalog;
        let sku = text(sku)?;
        let mut keys = vec![Key::TextEq(sku)];
        if let Some(location) = location {
            keys.push(Key::TextEq(text(location)?));
        }
        let mut items = match self.items.take() {
            Some(mut open) if open.key_count() == keys.len() => {
                open.rescan(&keys);
                open
            }
            _ => IndexScan::open(c.stock.oid, c.stock_key, &keys),
        };
        let column = |n: usize| c.stock.columns[n];
        let mut salables = Vec::new();
        let mut levels = Levels::default();
        while items.next() {
            let Some(at) = items.datum(column(stock::LOCATION)) else {
                continue;
            };
            let counts = ItemCounts {
                on_hand: items.int8(column(stock::ON_HAND)),
                held: items.int8(column(stock::HELD)),
                safety_stock: items.int8(column(stock::SAFETY_STOCK)),
                lapsed: self.lapsed_units(sku, at),
                escrowed: if items.int2(column(stock::BUCKETS)) > 0 {
                    self.escrowed_units(sku, at)
                } else {
                    0
                },
            };
            salables.push(counts.salable());
            levels.unlimited |= !items.boolean(column(stock::MANAGE_STOCK)) || items.boolean(column(stock::BACKORDERS));
        }
        self.items = Some(items);
        levels.salable = total(salables);
        Ok(levels)
    }

    /// Units of the item's holds past their deadline that are still stored as reserved.
    fn lapsed_units(&mut self, sku: pg_sys::Datum, location: pg_sys::Datum) -> i64 {
        let c = self.catalog;
        let keys = [
            Key::TextEq(sku),
            Key::TextEq(location),
            Key::TimestamptzAtMost(self.now),
        ];
        let scan = reopen(&mut self.lapsed, c.reservation.oid, c.reservation_lapsed, &keys);
        let [quantity, state] = c.reservation.columns;
        let mut units = 0i64;
        while scan.next() {
            // The index holds reserved rows only; a newer version reached through it may not be.
            if scan.text_is(state, "reserved") {
                units = units.saturating_add(scan.int8(quantity));
            }
        }
        units
    }

    /// Free units of the item's escrow buckets.
    fn escrowed_units(&mut self, sku: pg_sys::Datum, location: pg_sys::Datum) -> i64 {
        let c = self.catalog;
        let keys = [Key::TextEq(sku), Key::TextEq(location)];
        let scan = reopen(&mut self.buckets, c.bucket.oid, c.bucket_key, &keys);
        let mut units = 0i64;
        while scan.next() {
            units = units.saturating_add(scan.int8(c.bucket.columns[0]));
        }
        units
    }
}

/// The scan in `slot`, rescanned for `keys`, or opened on first use.
fn reopen<'a>(
    slot: &'a mut Option<IndexScan>,
    table: pg_sys::Oid,
    index: pg_sys::Oid,
    keys: &[Key],
) -> &'a mut IndexScan {
    match slot {
        Some(open) => {
            open.rescan(keys);
            open
        }
        None => slot.insert(IndexScan::open(table, index, keys)),
    }
}
