//! Hot items: escrow buckets. An item with buckets hands out units from the bucket of the
//! caller's slot, so a flash sale's buyers lock different rows instead of queueing on one.
//! Units move from the item to a bucket in chunks (core `bucket_grant`) and back whenever
//! the item needs them whole (a change of on_hand or settings, a reserve the buckets alone
//! cannot serve). stock.held counts free bucket units, so the item never grants more than
//! it has. See docs/performance.md, "Hot items".

use std::cell::RefCell;
use std::collections::HashMap;

use inventory_reservation_core::policy::bucket_grant;
use pgrx::datum::Uuid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::domain::holds::{self, Hold, HoldOnItem, NewHold};
use crate::domain::items::{Item, ItemKey, LockItem, lock_or_create, setting_changed};
use crate::domain::sql::hold_for_item;
use crate::errors::ApiResult;
use crate::store::{self, statement};
use crate::subxact::keep_if_some;

/// The first bucket of item ($sku, $location) from bucket `$start` on, wrapping around, that
/// matches `$cond` and that no other transaction has locked; locks it (NULL when there is none).
/// Two searches walk the primary key in order, the second only when the first finds nothing:
/// an ORDER BY the index cannot serve would make the planner scan every bucket row of every
/// hot item, dead versions included, on each call.
macro_rules! first_unlocked_bucket {
    ($start:literal, $cond:literal) => {
        concat!(
            "COALESCE(
                 (SELECT m.bucket FROM inventory.stock_bucket m
                   WHERE m.sku = $sku AND m.location = $location AND m.bucket >= ",
            $start,
            " AND ",
            $cond,
            "
                   ORDER BY m.bucket LIMIT 1
                     FOR UPDATE SKIP LOCKED),
                 (SELECT m.bucket FROM inventory.stock_bucket m
                   WHERE m.sku = $sku AND m.location = $location AND m.bucket < ",
            $start,
            " AND ",
            $cond,
            "
                   ORDER BY m.bucket LIMIT 1
                     FOR UPDATE SKIP LOCKED))"
        )
    };
}

statement! {
    /// Take units from the first unlocked bucket that has them, starting at `first_bucket`
    /// (the caller's slot modulo the bucket count). Neither reads nor checks the item row: a
    /// bucket has free units only while its item has buckets and limited stock, because every
    /// change of those settings drains the buckets under lock first.
    struct BucketHold<'a> { hold: NewHold<'a>, first_bucket: i32 }
    = concat!(
        "WITH item AS (
              UPDATE inventory.stock_bucket b SET free = b.free - $quantity
               WHERE b.sku = $sku AND b.location = $location AND b.free >= $quantity
                 AND b.bucket = ",
        first_unlocked_bucket!("$first_bucket", "m.free >= $quantity"),
        "
              RETURNING b.sku, b.location), ",
        hold_for_item!()
    );
}

statement! {
    /// Refilling a bucket, step 1: lock the item and read its free units and bucket count; no
    /// row (and no lock taken) when it has no buckets or cannot give `quantity` units.
    struct LockItemFree<'a> { item: ItemKey<'a>, quantity: i64 }
    = "SELECT GREATEST(on_hand - held, 0) - safety_stock, buckets::int FROM inventory.stock
        WHERE sku = $sku AND location = $location AND buckets > 0 AND manage_stock AND NOT backorders
          AND GREATEST(on_hand - held, 0) - safety_stock >= $quantity
          FOR UPDATE";
}

statement! {
    /// Refilling a bucket, step 2 (the item is locked): lock the first of its `buckets` from
    /// `first_bucket` (the caller's slot modulo `buckets`) that no one else holds. Never
    /// waits, so a transaction that holds a bucket and waits for the item cannot meet us in a
    /// cycle.
    struct LockFreeBucket<'a> { item: ItemKey<'a>, first_bucket: i32, buckets: i32 }
    = concat!("SELECT ", first_unlocked_bucket!("$first_bucket", "m.bucket < $buckets"), "::int");
}

statement! {
    /// Both locked: move `grant` units from the item to `bucket` and hold `quantity` of them.
    struct GrantHold<'a> { hold: NewHold<'a>, bucket: i32, grant: i64 }
    = concat!(
        "WITH granted AS (
              UPDATE inventory.stock SET held = held + $grant, updated_at = statement_timestamp()
               WHERE sku = $sku AND location = $location
              RETURNING sku, location),
          item AS (
              UPDATE inventory.stock_bucket b SET free = b.free + $grant - $quantity
                FROM granted g
               WHERE b.sku = g.sku AND b.location = g.location AND b.bucket = $bucket
              RETURNING b.sku, b.location), ",
        hold_for_item!()
    );
}

statement! {
    /// Bring every bucket's free units back to the item, which the caller has locked: lock
    /// all its buckets in order (waiting for any reserve in flight, so none is missed).
    /// Returns the units.
    struct DrainBuckets<'a> { item: ItemKey<'a> }
    = "WITH locked AS MATERIALIZED (
              SELECT bucket, free FROM inventory.stock_bucket
               WHERE sku = $sku AND location = $location
               ORDER BY bucket
                 FOR UPDATE),
          total AS (SELECT COALESCE(sum(free), 0)::bigint AS units FROM locked),
          emptied AS (
              UPDATE inventory.stock_bucket b SET free = 0
                FROM locked l
               WHERE b.sku = $sku AND b.location = $location AND b.bucket = l.bucket AND l.free > 0),
          item AS (
              UPDATE inventory.stock s SET held = s.held - t.units, updated_at = statement_timestamp()
                FROM total t
               WHERE t.units > 0 AND s.sku = $sku AND s.location = $location)
          SELECT units FROM total";
}

statement! {
    /// The item's bucket count: under the item's lock for set_buckets; as a hint for reserve.
    struct ItemBuckets<'a> { item: ItemKey<'a> }
    = "SELECT buckets::int FROM inventory.stock WHERE sku = $sku AND location = $location";
}

statement! {
    /// Set the item's bucket count and make sure buckets 0 to `buckets` - 1 exist. Rows
    /// beyond stay, drained and unused (no slot maps to them any more).
    struct SetBuckets<'a> { item: ItemKey<'a>, buckets: i32 }
    = "WITH item AS (
              UPDATE inventory.stock SET buckets = $buckets, updated_at = statement_timestamp()
               WHERE sku = $sku AND location = $location
              RETURNING sku, location)
          INSERT INTO inventory.stock_bucket (sku, location, bucket)
          SELECT i.sku, i.location, n FROM item i, generate_series(0, $buckets - 1) n
          ON CONFLICT (sku, location, bucket) DO NOTHING";
}

/// Items this backend has found to have buckets, with their bucket count, so the next
/// reserve goes straight to its own bucket. Only a hint: a stale count changes which bucket
/// is tried first, never what may be taken.
const KNOWN_LIMIT: usize = 4096;
thread_local! {
    static KNOWN_BUCKETED: RefCell<HashMap<(String, String), i32>> = RefCell::new(HashMap::new());
}

fn known(item: &Item) -> Option<i32> {
    KNOWN_BUCKETED.with_borrow(|k| k.get(&(item.sku.clone(), item.location.clone())).copied())
}

/// Remember `item`'s bucket count; 0 forgets it.
fn remember(item: &Item, buckets: i32) {
    KNOWN_BUCKETED.with_borrow_mut(|k| {
        let key = (item.sku.clone(), item.location.clone());
        if buckets <= 0 {
            k.remove(&key);
            return;
        }
        if k.len() >= KNOWN_LIMIT {
            k.clear();
        }
        k.insert(key, buckets);
    });
}

/// This backend's slot: its backend id, stable for the session and distinct among the
/// sessions running at once, so concurrent buyers spread over the buckets.
fn slot() -> i32 {
    // SAFETY: a plain integer set once at backend start.
    unsafe { pg_sys::MyBackendId }
}

/// reserve's first try: the item row for an ordinary item; a bucket for a hot one,
/// refilled from the item when none has the units. None when neither can give `quantity`.
pub(crate) fn take<'a>(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    new_hold: &dyn Fn() -> ApiResult<NewHold<'a>>,
) -> ApiResult<Option<Uuid>> {
    let hint = known(item);
    let buckets = match hint {
        Some(buckets) => buckets,
        None => {
            if let Some(id) = holds::insert_hold(client, Hold { hold: new_hold()? })? {
                return Ok(Some(id));
            }
            let buckets = store::exec_one::<i32, _>(client, ItemBuckets { item: item.key() })?.unwrap_or(0);
            if buckets == 0 {
                return Ok(None); // an ordinary item that cannot give the units
            }
            remember(item, buckets);
            buckets
        }
    };
    // A miss can leave locks on buckets it tried (a row that changed under the lock and then
    // no longer had the units stays locked); the refill below waits for the item, and a drain
    // holds the item and waits for buckets. In a subtransaction the miss is undone, locks
    // included, so that cycle cannot form.
    let first_bucket = slot() % buckets;
    let from_bucket = || -> ApiResult<Option<Uuid>> {
        let hold = new_hold()?;
        holds::insert_hold(client, BucketHold { hold, first_bucket })
    };
    if let Some(id) = keep_if_some(from_bucket)? {
        return Ok(Some(id));
    }
    let free_on_item = LockItemFree {
        item: item.key(),
        quantity,
    };
    let found = store::exec(client, free_on_item, |rows| {
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(row.get::<i64>(1)?.zip(row.get::<i32>(2)?))
    })?;
    let Some((free, buckets)) = found else {
        // Too few units on the item row, or no buckets any more: then the hint was stale, and
        // the item row itself may have the units.
        if hint.is_none() {
            return Ok(None);
        }
        let held = holds::insert_hold(client, Hold { hold: new_hold()? })?;
        if held.is_some() {
            remember(item, 0);
        }
        return Ok(held);
    };
    remember(item, buckets);
    let Some(grant) = bucket_grant(free, quantity, buckets) else {
        return Ok(None);
    };
    // The first bucket from the caller's slot that nobody holds; if every one is held (by
    // reserves still in their transactions), take from the item row, which is locked now.
    let free_bucket = LockFreeBucket {
        item: item.key(),
        first_bucket: slot() % buckets,
        buckets,
    };
    let Some(bucket) = store::exec_one::<i32, _>(client, free_bucket)? else {
        return holds::insert_hold(client, HoldOnItem { hold: new_hold()? });
    };
    holds::insert_hold(
        client,
        GrantHold {
            hold: new_hold()?,
            bucket,
            grant,
        },
    )
}

/// Bring every free bucket unit of `item` back to the item row; returns how many. Locks the
/// item, then its buckets: callers that change on_hand or settings call this first.
pub(crate) fn drain(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<i64> {
    store::run(client, LockItem { item: item.key() })?;
    Ok(store::exec_one::<i64, _>(client, DrainBuckets { item: item.key() })?.unwrap_or(0))
}

/// What every change of on_hand or settings does first: bring the item's free bucket units
/// back (they were granted against the old count and settings), then lock the item, creating
/// it if new. Returns on_hand.
pub(crate) fn drain_and_lock(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<i64> {
    drain(client, item)?;
    lock_or_create(client, item)
}

/// set_buckets: pin `item` to `buckets` escrow buckets (0: one row). Logs the change.
pub(crate) fn set_buckets(
    client: &mut SpiClient<'_>,
    item: &Item,
    buckets: i32,
    reason: Option<&str>,
) -> ApiResult<()> {
    drain_and_lock(client, item)?;
    let before = store::exec_one::<i32, _>(client, ItemBuckets { item: item.key() })?.unwrap_or(0);
    if before == buckets {
        return Ok(());
    }
    store::run(
        client,
        SetBuckets {
            item: item.key(),
            buckets,
        },
    )?;
    setting_changed(client, item, &format!("buckets {before} -> {buckets}"), reason)
}
