//! Expiry: recording lapsed holds as expired and giving their units back, in batches for
//! the sweep (the worker, `expire_stale`) and per item for a reserve that needs the units.

use pgrx::spi::SpiClient;

use crate::domain::items::{Item, ItemKey};
use crate::domain::sql::return_units_of_item;
use crate::errors::ApiResult;
use crate::store::{self, Bound, statement};

statement! {
    /// One batch of the sweep: expire at most `batch` lapsed holds (oldest deadline first)
    /// with their log rows and give their units back to their items; returns what it freed
    /// per item. It never waits for a lock: walking the lapsed holds by deadline, it locks
    /// their items, skipping items another transaction has locked (a reserve in flight, a
    /// session idle in a transaction) so that they do not count against `batch`, and expires
    /// only holds of the items it got. So a sweep never holds one item's lapsed holds while it
    /// waits for another item, which would leave the first item's units unreachable for as
    /// long as the wait lasts, and a locked item never keeps the others from being swept.
    /// Holds of a skipped item stay for a later batch; reads subtract them meanwhile.
    /// Each item's holds are found through its own index (the LATERAL), as many as the batch
    /// found of it, whatever the plan thinks of the batch: joined as a whole, a generic plan
    /// made while the table was small could scan every lapsed hold once per item, minutes for
    /// a backlog of 200,000.
    /// "quantity > 0" (always true) is what lets it use the deadline index: see
    /// sql/schema.sql.
    pub(crate) struct ExpireBatch { batch: i32 }
    = "WITH due AS MATERIALIZED (
              SELECT s.sku, s.location
                FROM inventory.reservation r
                JOIN inventory.stock s ON s.sku = r.sku AND s.location = r.location
               WHERE r.state = 'reserved' AND r.quantity > 0 AND r.expires_at <= statement_timestamp()
               ORDER BY r.expires_at
               LIMIT $batch
                 FOR UPDATE OF s SKIP LOCKED),
          items AS (SELECT sku, location, count(*) AS holds FROM due GROUP BY sku, location),
          picked AS MATERIALIZED (
              SELECT h.id FROM items i
               CROSS JOIN LATERAL (
                     SELECT r.id FROM inventory.reservation r
                      WHERE r.sku = i.sku AND r.location = i.location
                        AND r.state = 'reserved' AND r.expires_at <= statement_timestamp()
                      ORDER BY r.expires_at
                      LIMIT i.holds
                        FOR UPDATE SKIP LOCKED) h),
          lapsed AS (
              UPDATE inventory.reservation r
                 SET state = 'expired', version = r.version + 1, updated_at = statement_timestamp()
                FROM picked WHERE r.id = picked.id
              RETURNING r.id, r.sku, r.location, r.quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
              SELECT sku, id, location, 'expire', quantity FROM lapsed),
          freed AS (
              SELECT sku, location, sum(quantity)::bigint AS units, count(*) AS holds
                FROM lapsed GROUP BY sku, location),
          returned AS (
              UPDATE inventory.stock s SET held = s.held - f.units, updated_at = statement_timestamp()
                FROM freed f
               WHERE s.sku = f.sku AND s.location = f.location)
          SELECT sku, location, holds FROM freed";
}

statement! {
    /// Expire the lapsed holds of one item and return the units to its counter. Rows another
    /// transaction has locked are skipped: that transaction is ending them itself. Like the
    /// view stock_levels it does not say "quantity > 0", so it cannot use the sweeper's
    /// deadline index: its generic plan reads the item's own index and not every lapsed hold
    /// of a backlog.
    pub(crate) struct ExpireLapsedOfItem<'a> { item: ItemKey<'a> }
    = concat!(
        "WITH lapsed AS (
              UPDATE inventory.reservation r
                 SET state = 'expired', version = r.version + 1, updated_at = statement_timestamp()
               WHERE r.id IN (SELECT id FROM inventory.reservation
                               WHERE sku = $sku AND location = $location AND state = 'reserved'
                                 AND expires_at <= statement_timestamp()
                               FOR UPDATE SKIP LOCKED)
              RETURNING r.id, r.sku, r.location, r.quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
              SELECT sku, id, location, 'expire', quantity FROM lapsed),
          ",
        return_units_of_item!(lapsed)
    );
}

statement! {
    /// The earliest deadline of a hold still recorded as reserved: when the worker's next pass
    /// is due. "quantity > 0" (always true) opens the deadline index, as in ExpireBatch.
    pub(crate) struct NextDeadline {}
    = "SELECT min(expires_at) FROM inventory.reservation WHERE state = 'reserved' AND quantity > 0";
}

/// What a batch freed on one item.
pub(crate) struct Freed {
    pub sku: String,
    pub location: String,
    pub holds: i64,
}

/// One batch of the sweep (see `ExpireBatch`).
pub(crate) fn expire_batch(client: &mut SpiClient<'_>, batch: i32) -> ApiResult<Vec<Freed>> {
    Ok(store::exec(client, ExpireBatch { batch }, |rows| {
        rows.map(|row| {
            Ok(Freed {
                sku: row.get::<String>(1)?.unwrap_or_default(),
                location: row.get::<String>(2)?.unwrap_or_default(),
                holds: row.get::<i64>(3)?.unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, _>>()
    })?)
}

/// Expire the lapsed holds of `item` that no other transaction has locked.
pub(crate) fn expire_lapsed_of_item(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<()> {
    store::exec_one::<i64, _>(client, ExpireLapsedOfItem { item: item.key() })?;
    Ok(())
}

/// The SQL of `NextDeadline`, for the worker, which runs it through plain SPI (it keeps no
/// plans).
pub(crate) fn next_deadline_sql() -> String {
    NextDeadline::statement().positional().0
}
