//! Which items are contended right now, for adaptive escrow (see `domain::escrow`).
//!
//! A table in shared memory with one slot per hash of (database, sku, location). Each reserve
//! counts itself in its item's slot until its transaction ends; one that finds others already
//! in flight there has met contention, and the slot remembers when. Reserves of a hot item
//! meet each other nearly every time; a reserve on one of 10,000 quiet items meets another on
//! the same slot only by a hash collision, so a split needs several such meetings in a row.
//! The expiry worker folds an item back into one row once its slot has been calm for a while.
//!
//! Without shared_preload_libraries there is no table: nothing adapts, set_buckets still works.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use pgrx::atomics::PgAtomic;
use pgrx::pg_guard; // used by pg_shmem_init!
use pgrx::pg_sys;
use pgrx::shmem::PGRXSharedMemory;

use crate::locks;

/// Slots of the table: a power of two, so that a hash picks one with a mask.
const SLOTS: usize = 8192;
/// Others in flight on the same slot for an arrival to count as a meeting: a queue this deep
/// on one row. Shallower queues cost less than the escrow path, which is dearer per call.
const MEETING: u32 = 4;
/// Meetings in a row (none more than `MEETINGS_WITHIN_MS` apart) before the item is split.
const MEETINGS_TO_SPLIT: u32 = 16;
const MEETINGS_WITHIN_MS: u64 = 1_000;

pub(crate) struct Slot {
    /// Reserves of the slot's items whose transactions have not ended.
    in_flight: AtomicU32,
    /// Meetings in a row.
    meetings: AtomicU32,
    /// When the last meeting was (milliseconds since the Unix epoch); 0: never.
    last_meeting_ms: AtomicU64,
    /// Set while one transaction changes the item's buckets, so others do not queue to do the same.
    claimed: AtomicBool,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            in_flight: AtomicU32::new(0),
            meetings: AtomicU32::new(0),
            last_meeting_ms: AtomicU64::new(0),
            claimed: AtomicBool::new(false),
        }
    }
}

// SAFETY: atomics only, no pointers.
unsafe impl PGRXSharedMemory for Slot {}

static TABLE: PgAtomic<[Slot; SLOTS]> = unsafe { PgAtomic::new(c"inventory_reservation_contention") };
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Called from `_PG_init` while shared_preload_libraries is being processed.
pub(crate) fn init() {
    pgrx::pg_shmem_init!(TABLE = [const { Slot::new() }; SLOTS]);
    PRELOADED.store(true, Ordering::Relaxed);
}

fn table() -> Option<&'static [Slot; SLOTS]> {
    PRELOADED.load(Ordering::Relaxed).then(|| TABLE.get())
}

/// The slot of an item of the current database.
fn slot_of(sku: &str, location: &str) -> usize {
    // SAFETY: a plain integer set once the backend is connected.
    let db = u32::from(unsafe { pg_sys::MyDatabaseId });
    let mut key = Vec::with_capacity(4 + sku.len() + 1 + location.len());
    key.extend_from_slice(&db.to_le_bytes());
    key.extend_from_slice(sku.as_bytes());
    key.push(0); // keys cannot hold NUL, so ("ab", "c") and ("a", "bc") differ
    key.extend_from_slice(location.as_bytes());
    (locks::fnv1a(&key) as usize) & (SLOTS - 1)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

thread_local! {
    /// Slots this backend counts itself in (or has claimed), given back when the transaction ends.
    static ENTERED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static CLAIMED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static CALLBACK: Cell<bool> = const { Cell::new(false) };
}

unsafe extern "C-unwind" fn at_transaction_end(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    if !matches!(
        event,
        XACT_EVENT_COMMIT
            | XACT_EVENT_ABORT
            | XACT_EVENT_PARALLEL_COMMIT
            | XACT_EVENT_PARALLEL_ABORT
            | XACT_EVENT_PREPARE
    ) {
        return;
    }
    let Some(table) = table() else { return };
    for n in ENTERED.with_borrow_mut(std::mem::take) {
        table[n].in_flight.fetch_sub(1, Ordering::Relaxed);
    }
    for n in CLAIMED.with_borrow_mut(std::mem::take) {
        table[n].claimed.store(false, Ordering::Release);
    }
}

/// What a reserve learned when it counted itself in its item's slot.
pub(crate) struct Arrival {
    slot: usize,
    /// Other reserves of the slot's items in flight.
    pub others: u32,
    /// The item has been contended long enough to be split.
    pub split_due: bool,
}

/// Count a reserve of (sku, location) in its slot until the transaction ends. None without
/// the shared table.
pub(crate) fn arrive(sku: &str, location: &str) -> Option<Arrival> {
    let table = table()?;
    if !CALLBACK.replace(true) {
        // SAFETY: registers a plain function for the life of the backend.
        unsafe { pg_sys::RegisterXactCallback(Some(at_transaction_end), std::ptr::null_mut()) };
    }
    let n = slot_of(sku, location);
    let slot = &table[n];
    let others = slot.in_flight.fetch_add(1, Ordering::Relaxed);
    ENTERED.with_borrow_mut(|e| e.push(n));
    let mut split_due = false;
    if others >= MEETING {
        let now = now_ms();
        let last = slot.last_meeting_ms.swap(now, Ordering::Relaxed);
        let meetings = if now.saturating_sub(last) > MEETINGS_WITHIN_MS {
            slot.meetings.store(1, Ordering::Relaxed);
            1
        } else {
            slot.meetings.fetch_add(1, Ordering::Relaxed) + 1
        };
        split_due = meetings >= MEETINGS_TO_SPLIT;
    }
    Some(Arrival {
        slot: n,
        others,
        split_due,
    })
}

impl Arrival {
    /// Claim the right to change the item's buckets for this transaction; false when another
    /// transaction has it.
    pub(crate) fn claim(&self) -> bool {
        let Some(table) = table() else { return false };
        let won = table[self.slot]
            .claimed
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        if won {
            CLAIMED.with_borrow_mut(|c| c.push(self.slot));
        }
        won
    }
}

/// Milliseconds since reserves of (sku, location) last met contention; None without the
/// shared table, u64::MAX when they never did since the server started.
pub(crate) fn calm_for_ms(sku: &str, location: &str) -> Option<u64> {
    let table = table()?;
    let last = table[slot_of(sku, location)].last_meeting_ms.load(Ordering::Relaxed);
    Some(if last == 0 {
        u64::MAX
    } else {
        now_ms().saturating_sub(last)
    })
}
