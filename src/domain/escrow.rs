//! Hot items: escrow buckets. An item with buckets hands out units from the bucket of the
//! caller's slot, so a flash sale's buyers lock different rows instead of queueing on one.
//! Units move from the item to a bucket in chunks (core `bucket_grant`) and back whenever
//! the item needs them whole (a change of on_hand or settings, a reserve the buckets alone
//! cannot serve). stock.held counts free bucket units, so the item never grants more than
//! it has. See docs/performance.md, "Hot items".

use std::cell::RefCell;
use std::collections::HashMap;

use inventory_reservation_core::policy::bucket_grant;
use pgrx::datum::{DatumWithOid, Uuid};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::domain::holds;
use crate::domain::items::Item;
use crate::errors::ApiResult;
use crate::store;
use crate::subxact::keep_if_some;

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
    hold_args: &dyn Fn() -> ApiResult<[DatumWithOid<'a>; 9]>,
) -> ApiResult<Option<Uuid>> {
    let hint = known(item);
    let buckets = match hint {
        Some(buckets) => buckets,
        None => {
            if let Some(id) = holds::insert_hold(client, &store::HOLD, &hold_args()?)? {
                return Ok(Some(id));
            }
            let buckets = store::exec_one::<i32>(client, &store::ITEM_BUCKETS, &item.key())?.unwrap_or(0);
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
    let bucket_args = with_extra(hold_args()?, [(slot() % buckets).into()]);
    if let Some(id) = keep_if_some(|| holds::insert_hold(client, &store::BUCKET_HOLD, &bucket_args))? {
        return Ok(Some(id));
    }
    let key_quantity = [item.sku.as_str().into(), item.location.as_str().into(), quantity.into()];
    let found = store::exec(client, &store::LOCK_ITEM_FREE, &key_quantity, |rows| {
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
        let held = holds::insert_hold(client, &store::HOLD, &hold_args()?)?;
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
    let from = [
        item.sku.as_str().into(),
        item.location.as_str().into(),
        (slot() % buckets).into(),
        buckets.into(),
    ];
    let Some(bucket) = store::exec_one::<i32>(client, &store::LOCK_FREE_BUCKET, &from)? else {
        return holds::insert_hold(client, &store::HOLD_ON_ITEM, &hold_args()?);
    };
    holds::insert_hold(
        client,
        &store::GRANT_HOLD,
        &with_extra(hold_args()?, [bucket.into(), grant.into()]),
    )
}

/// `args` followed by `extra`.
fn with_extra<'a, const N: usize>(args: [DatumWithOid<'a>; 9], extra: [DatumWithOid<'a>; N]) -> Vec<DatumWithOid<'a>> {
    args.into_iter().chain(extra).collect()
}

/// Bring every free bucket unit of `item` back to the item row; returns how many. Locks the
/// item, then its buckets: callers that change on_hand or settings call this first.
pub(crate) fn drain(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<i64> {
    store::exec(client, &store::LOCK_ITEM, &item.key(), |_| Ok(()))?;
    Ok(store::exec_one::<i64>(client, &store::DRAIN_BUCKETS, &item.key())?.unwrap_or(0))
}
