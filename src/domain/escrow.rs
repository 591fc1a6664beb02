//! Hot items: escrow buckets. An item with buckets hands out units from the bucket of the
//! caller's slot, so a flash sale's buyers lock different rows instead of queueing on one.
//! Units move from the item to a bucket in chunks (core `bucket_grant`) and back whenever
//! the item needs them whole (a change of on_hand or settings, a reserve the buckets alone
//! cannot serve). stock.held counts free bucket units, so the item never grants more than
//! it has. See docs/performance.md, "Hot items".

use std::cell::RefCell;
use std::collections::HashMap;

use inventory_reservation_core::policy::{bucket_grant, grown_buckets, split_buckets};
use pgrx::datum::Uuid;
use pgrx::spi::SpiClient;

use crate::contention;
use crate::domain::holds::{self, NewHold};
use crate::domain::items::{Item, ItemKey, LockItem, LogItemEvent, lock_or_create, setting_changed};
use crate::errors::ApiResult;
use crate::gucs;
use crate::scan;
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
    struct BucketHold<'a> { item: ItemKey<'a>, quantity: i64, first_bucket: i32 }
    = concat!(
        "UPDATE inventory.stock_bucket b SET free = b.free - $quantity
          WHERE b.sku = $sku AND b.location = $location AND b.free >= $quantity
            AND b.bucket = ",
        first_unlocked_bucket!("$first_bucket", "m.free >= $quantity"),
        "
         RETURNING 1"
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
    /// Both locked: move `grant` units from the item to `bucket` and take `quantity` of them.
    struct GrantHold<'a> { item: ItemKey<'a>, quantity: i64, bucket: i32, grant: i64 }
    = "WITH granted AS (
              UPDATE inventory.stock SET held = held + $grant, updated_at = statement_timestamp()
               WHERE sku = $sku AND location = $location
              RETURNING sku, location)
          UPDATE inventory.stock_bucket b SET free = b.free + $grant - $quantity
            FROM granted g
           WHERE b.sku = g.sku AND b.location = g.location AND b.bucket = $bucket
          RETURNING 1";
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
    /// The item's bucket count: as a hint for reserve.
    struct ItemBuckets<'a> { item: ItemKey<'a> }
    = "SELECT buckets::int FROM inventory.stock WHERE sku = $sku AND location = $location";
}

statement! {
    /// The item's bucket count and whether it is pinned, under the item's lock (set_buckets).
    struct ItemBucketSetting<'a> { item: ItemKey<'a> }
    = "SELECT buckets::int, buckets_pinned FROM inventory.stock WHERE sku = $sku AND location = $location";
}

statement! {
    /// Adaptation's split, step 1: lock an item whose buckets adaptation may change (limited
    /// stock, not pinned) and read its bucket count; no row for any other item.
    struct LockAdaptableItem<'a> { item: ItemKey<'a> }
    = "SELECT buckets::int FROM inventory.stock
        WHERE sku = $sku AND location = $location AND manage_stock AND NOT backorders AND NOT buckets_pinned
          FOR UPDATE";
}

statement! {
    /// Items that adaptation split, for the worker to fold back when calm.
    struct SplitItems {}
    = "SELECT sku, location FROM inventory.stock WHERE buckets > 0 AND NOT buckets_pinned";
}

statement! {
    /// Folding, step 1: lock an item that adaptation split, unless another transaction holds it
    /// (then the worker tries again on its next pass).
    struct LockSplitItem<'a> { item: ItemKey<'a> }
    = "SELECT 1 FROM inventory.stock
        WHERE sku = $sku AND location = $location AND buckets > 0 AND NOT buckets_pinned
          FOR UPDATE SKIP LOCKED";
}

statement! {
    /// Folding, step 2: lock every bucket of the item without waiting; false when a reserve
    /// in flight holds one (then the worker tries again on its next pass). So the worker never
    /// waits for a row while it holds the item, which a reserve may be queued for.
    struct LockIdleBuckets<'a> { item: ItemKey<'a> }
    = "SELECT (SELECT count(*) FROM inventory.stock_bucket WHERE sku = $sku AND location = $location)
            = (SELECT count(*) FROM (SELECT 1 FROM inventory.stock_bucket
                                      WHERE sku = $sku AND location = $location
                                        FOR UPDATE SKIP LOCKED) idle)";
}

statement! {
    /// Set the item's bucket count and whether it is pinned, and make sure buckets 0 to
    /// `buckets` - 1 exist. Rows beyond stay, drained and unused (no slot maps to them any more).
    struct SetBuckets<'a> { item: ItemKey<'a>, buckets: i32, pinned: bool }
    = "WITH item AS (
              UPDATE inventory.stock SET buckets = $buckets, buckets_pinned = $pinned, updated_at = statement_timestamp()
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
    crate::compat::backend_number()
}

/// reserve's first try: the item row for an ordinary item; a bucket for a hot one,
/// refilled from the item when none has the units. None when neither can give `quantity`.
/// An ordinary item whose reserves keep meeting each other is split first (adaptation).
pub(crate) fn take<'a>(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    new_hold: &dyn Fn() -> ApiResult<NewHold<'a>>,
) -> ApiResult<Option<Uuid>> {
    let arrival = contention::arrive(&item.sku, &item.location);
    let hint = known(item);
    let buckets = match hint {
        Some(buckets) => buckets,
        None => {
            let split = match arrival.as_ref() {
                Some(a) if a.split_due && adapting()? && a.claim() => split(client, item, a.others)?,
                _ => None,
            };
            match split {
                Some(buckets) => buckets,
                None => {
                    if let Some(id) = holds::hold_from_row(client, item, quantity, false, new_hold()?)? {
                        return Ok(Some(id));
                    }
                    let buckets = store::exec_one::<i32, _>(client, ItemBuckets { item: item.key() })?.unwrap_or(0);
                    if buckets == 0 {
                        return Ok(None); // an ordinary item that cannot give the units
                    }
                    buckets
                }
            }
        }
    };
    remember(item, buckets);
    // A miss can leave locks on buckets it tried (a row that changed under the lock and then
    // no longer had the units stays locked); the refill below waits for the item, and a drain
    // holds the item and waits for buckets. In a subtransaction the miss is undone, locks
    // included, so that cycle cannot form.
    let first_bucket = slot() % buckets;
    let from_bucket = || -> ApiResult<Option<Uuid>> {
        let take = BucketHold {
            item: item.key(),
            quantity,
            first_bucket,
        };
        holds::take_and_hold(client, take, new_hold()?)
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
    let Some((free, mut buckets)) = found else {
        // Too few units on the item row, or no buckets any more: then the hint was stale, and
        // the item row itself may have the units.
        let held = holds::hold_from_row(client, item, quantity, false, new_hold()?)?;
        if held.is_some() {
            remember(item, 0);
        }
        return Ok(held);
    };
    remember(item, buckets);
    let Some(grant) = bucket_grant(free, quantity, buckets) else {
        return Ok(None);
    };
    // The first bucket from the caller's slot that nobody holds. If every one is held (by
    // reserves still in their transactions), an adaptable item grows; failing that, take from
    // the item row, which is locked now.
    let mut free_bucket = lock_free_bucket(client, item, buckets)?;
    if free_bucket.is_none()
        && adapting()?
        && !pinned(client, item)?
        && let Some(grown) = grown_buckets(buckets, gucs::MAX_BUCKETS.get())
    {
        change_buckets(client, item, "split", buckets, grown, "every bucket was busy")?;
        buckets = grown;
        remember(item, buckets);
        free_bucket = lock_free_bucket(client, item, buckets)?;
    }
    let Some(bucket) = free_bucket else {
        return holds::hold_from_row(client, item, quantity, true, new_hold()?);
    };
    let take = GrantHold {
        item: item.key(),
        quantity,
        bucket,
        grant,
    };
    holds::take_and_hold(client, take, new_hold()?)
}

/// Whether adaptation may change buckets: switched on, and the schema updated to have pins
/// (a database not yet updated to 0.9.0 keeps working without it).
fn adapting() -> ApiResult<bool> {
    Ok(gucs::ADAPTIVE_BUCKETS.get() && scan::catalog()?.stock_pins)
}

/// Whether the item's bucket count is pinned with set_buckets.
fn pinned(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<bool> {
    Ok(store::exec(client, ItemBucketSetting { item: item.key() }, |rows| {
        Ok(!rows.is_empty() && rows.first().get::<bool>(2)?.unwrap_or(true))
    })?)
}

/// Lock the first of the item's `buckets` from the caller's slot that no one else holds.
fn lock_free_bucket(client: &mut SpiClient<'_>, item: &Item, buckets: i32) -> ApiResult<Option<i32>> {
    let free_bucket = LockFreeBucket {
        item: item.key(),
        first_bucket: slot() % buckets,
        buckets,
    };
    Ok(store::exec_one::<i32, _>(client, free_bucket)?)
}

/// Adaptation: split a contended item into escrow buckets, about two per reserve met on it.
/// Returns its bucket count, or None when it may not be split (pinned, unlimited stock,
/// unknown). Waits for the item's lock, as the reserve would have.
fn split(client: &mut SpiClient<'_>, item: &Item, others: u32) -> ApiResult<Option<i32>> {
    let Some(buckets) = store::exec_one::<i32, _>(client, LockAdaptableItem { item: item.key() })? else {
        return Ok(None);
    };
    if buckets > 0 {
        return Ok(Some(buckets)); // split by another transaction while we waited
    }
    let target = split_buckets(others, gucs::MAX_BUCKETS.get());
    let why = format!("{} reserves at once", others + 1);
    change_buckets(client, item, "split", 0, target, &why)?;
    Ok(Some(target))
}

/// Set an adaptable item's bucket count (the caller has locked it, and drained it when the
/// count shrinks) and log the change as `event`, split or fold.
fn change_buckets(
    client: &mut SpiClient<'_>,
    item: &Item,
    event: &str,
    before: i32,
    after: i32,
    why: &str,
) -> ApiResult<()> {
    store::run(
        client,
        SetBuckets {
            item: item.key(),
            buckets: after,
            pinned: false,
        },
    )?;
    store::run(
        client,
        LogItemEvent {
            item: item.key(),
            event,
            quantity: i64::from(after),
            reason: Some(&format!("buckets {before} -> {after}: {why}")),
        },
    )?;
    Ok(())
}

/// Fold the items adaptation split back into one row once they have been calm for
/// inventory.bucket_fold_delay (at once when adaptation is off). Returns how many it folded
/// and how many split items remain, for the worker to look at again. Never waits for a row
/// another transaction holds.
pub(crate) fn fold_calm(client: &mut SpiClient<'_>) -> ApiResult<(i64, i64)> {
    if !scan::catalog()?.stock_pins {
        return Ok((0, 0)); // not updated to 0.9.0 yet: nothing was split
    }
    let items = store::exec(client, SplitItems {}, |rows| {
        rows.map(|row| Ok(row.get::<String>(1)?.zip(row.get::<String>(2)?)))
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
    })?;
    let adaptive = gucs::ADAPTIVE_BUCKETS.get();
    let delay = u64::try_from(gucs::BUCKET_FOLD_DELAY_MS.get()).unwrap_or(0);
    let (mut folded, mut remaining) = (0, 0);
    for (sku, location) in items {
        let item = Item { sku, location };
        let calm = contention::calm_for_ms(&item.sku, &item.location).unwrap_or(u64::MAX);
        if adaptive && calm < delay {
            remaining += 1;
            continue;
        }
        if store::exec_one::<i32, _>(client, LockSplitItem { item: item.key() })?.is_none()
            || store::exec_one::<bool, _>(client, LockIdleBuckets { item: item.key() })? != Some(true)
        {
            remaining += 1; // the item or a bucket is held by another transaction: next pass
            continue;
        }
        let before = store::exec_one::<i32, _>(client, ItemBuckets { item: item.key() })?.unwrap_or(0);
        store::exec_one::<i64, _>(client, DrainBuckets { item: item.key() })?;
        let why = if adaptive {
            format!("calm for {} s", calm / 1000)
        } else {
            "inventory.adaptive_buckets is off".to_owned()
        };
        change_buckets(client, &item, "fold", before, 0, &why)?;
        folded += 1;
    }
    Ok((folded, remaining))
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

/// set_buckets: give `item` `buckets` escrow buckets (0: one row), pinned (adaptation leaves
/// the count alone) or not. Logs the change.
pub(crate) fn set_buckets(
    client: &mut SpiClient<'_>,
    item: &Item,
    buckets: i32,
    pinned: bool,
    reason: Option<&str>,
) -> ApiResult<()> {
    drain_and_lock(client, item)?;
    let before = store::exec(client, ItemBucketSetting { item: item.key() }, |rows| {
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(row.get::<i32>(1)?.zip(row.get::<bool>(2)?))
    })?
    .unwrap_or((0, false));
    if before == (buckets, pinned) {
        return Ok(());
    }
    store::run(
        client,
        SetBuckets {
            item: item.key(),
            buckets,
            pinned,
        },
    )?;
    let pin = match (before.1, pinned) {
        (false, true) => ", pinned",
        (true, false) => ", adaptive",
        _ => "",
    };
    setting_changed(client, item, &format!("buckets {} -> {buckets}{pin}", before.0), reason)
}
