//! Reading our tables straight through their indexes, without SPI or the executor.
//!
//! The reads shops call most (salable_qty, is_salable, salable_qty_many) cost about one index
//! lookup this way, close to a plain SELECT, where a statement run through SPI would cost a
//! second executor start and finish inside the caller's. They use the caller's snapshot, so a
//! read is as consistent as any one statement. No SQL runs: nothing resolves through
//! search_path, no table privilege is checked (EXECUTE on the function is the gate), and the
//! relations are opened with AccessShareLock, as a SELECT would, until the transaction ends.
//!
//! Relations and columns are found by name in schema `inventory` and kept per backend until a
//! relcache invalidation (ALTER, DROP, an extension update) clears them; `rows` writes through
//! the same catalog.

use std::cell::Cell;
use std::ffi::{CStr, c_int};

use pgrx::pg_sys;

use crate::errors::{ApiError, ApiResult};

/// A relation and the attribute numbers of the columns we read from it.
#[derive(Clone, Copy)]
pub(crate) struct Table<const N: usize> {
    pub oid: pg_sys::Oid,
    pub columns: [pg_sys::AttrNumber; N],
}

/// Our relations as this backend last found them.
#[derive(Clone, Copy)]
pub(crate) struct Catalog {
    /// stock: location, on_hand, held, safety_stock, manage_stock, backorders, buckets,
    /// updated_at (see `stock`).
    pub stock: Table<8>,
    pub stock_key: pg_sys::Oid,
    /// reservation: quantity, state.
    pub reservation: Table<2>,
    /// reservation_item_deadline_idx: (sku, location, expires_at) of reserved holds.
    pub reservation_lapsed: pg_sys::Oid,
    /// stock_bucket: free.
    pub bucket: Table<1>,
    pub bucket_key: pg_sys::Oid,
    /// stock has buckets_pinned (0.9.0 on): adaptation may change buckets.
    pub stock_pins: bool,
    /// reservation, every column a new hold fills, in `RESERVATION_ROW` order.
    pub reservation_row: Table<14>,
    pub reservation_key: pg_sys::Oid,
    /// log, every column a log row of a hold fills, in `LOG_ROW` order.
    pub log_row: Table<9>,
    pub log_id_seq: pg_sys::Oid,
}

/// The columns of a new reservation row, in the order `Catalog::reservation_row` has them.
const RESERVATION_ROW: [&CStr; 14] = [
    c"id",
    c"sku",
    c"location",
    c"quantity",
    c"state",
    c"owner",
    c"channel",
    c"idempotency_key",
    c"expires_at",
    c"created_at",
    c"updated_at",
    c"metadata",
    c"line_ref",
    c"version",
];

/// The columns of a new log row, in the order `Catalog::log_row` has them.
const LOG_ROW: [&CStr; 9] = [
    c"sku",
    c"id",
    c"reservation_id",
    c"location",
    c"event",
    c"quantity",
    c"actor",
    c"logged_at",
    c"reason",
];

/// Positions in `Catalog::reservation_row`.
pub(crate) mod reservation {
    pub const SKU: usize = 1;
    pub const LOCATION: usize = 2;
    pub const QUANTITY: usize = 3;
    pub const STATE: usize = 4;
    pub const EXPIRES_AT: usize = 8;
    pub const UPDATED_AT: usize = 10;
    pub const VERSION: usize = 13;
}

/// Positions in `Catalog::stock`.
pub(crate) mod stock {
    pub const LOCATION: usize = 0;
    pub const ON_HAND: usize = 1;
    pub const HELD: usize = 2;
    pub const SAFETY_STOCK: usize = 3;
    pub const MANAGE_STOCK: usize = 4;
    pub const BACKORDERS: usize = 5;
    pub const BUCKETS: usize = 6;
    pub const UPDATED_AT: usize = 7;
}

thread_local! {
    static CATALOG: Cell<Option<Catalog>> = const { Cell::new(None) };
    static CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Any relcache invalidation may have moved or dropped one of ours: look again on next use.
unsafe extern "C-unwind" fn forget(_arg: pg_sys::Datum, _relid: pg_sys::Oid) {
    CATALOG.set(None);
}

/// Our relations, found by name on first use after an invalidation.
pub(crate) fn catalog() -> ApiResult<Catalog> {
    if let Some(found) = CATALOG.get() {
        return Ok(found);
    }
    if !CALLBACK.replace(true) {
        // SAFETY: registers a plain function for the life of the backend.
        unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(forget), pg_sys::Datum::from(0)) };
    }
    let schema = namespace(c"inventory")?;
    let stock = relation(schema, c"stock")?;
    let reservation = relation(schema, c"reservation")?;
    let bucket = relation(schema, c"stock_bucket")?;
    let found = Catalog {
        stock: Table {
            oid: stock,
            columns: [
                column(stock, c"location")?,
                column(stock, c"on_hand")?,
                column(stock, c"held")?,
                column(stock, c"safety_stock")?,
                column(stock, c"manage_stock")?,
                column(stock, c"backorders")?,
                column(stock, c"buckets")?,
                column(stock, c"updated_at")?,
            ],
        },
        stock_key: relation(schema, c"stock_pkey")?,
        reservation: Table {
            oid: reservation,
            columns: [column(reservation, c"quantity")?, column(reservation, c"state")?],
        },
        reservation_lapsed: relation(schema, c"reservation_item_deadline_idx")?,
        bucket: Table {
            oid: bucket,
            columns: [column(bucket, c"free")?],
        },
        bucket_key: relation(schema, c"stock_bucket_pkey")?,
        stock_pins: column(stock, c"buckets_pinned").is_ok(),
        reservation_row: table(reservation, RESERVATION_ROW)?,
        reservation_key: relation(schema, c"reservation_pkey")?,
        log_row: table(relation(schema, c"log")?, LOG_ROW)?,
        log_id_seq: relation(schema, c"log_id_seq")?,
    };
    CATALOG.set(Some(found));
    Ok(found)
}

fn missing(what: String) -> ApiError {
    ApiError::Internal(format!(
        "inventory_reservation: {what} is missing; run ALTER EXTENSION inventory_reservation UPDATE, or reinstall it"
    ))
}

fn namespace(name: &CStr) -> ApiResult<pg_sys::Oid> {
    // SAFETY: a catalog lookup by name; missing_ok returns InvalidOid instead of raising.
    let oid = unsafe { pg_sys::get_namespace_oid(name.as_ptr(), true) };
    if oid == pg_sys::InvalidOid {
        return Err(missing(format!("schema {}", name.to_string_lossy())));
    }
    Ok(oid)
}

fn relation(schema: pg_sys::Oid, name: &CStr) -> ApiResult<pg_sys::Oid> {
    // SAFETY: a syscache lookup by name and namespace.
    let oid = unsafe { pg_sys::get_relname_relid(name.as_ptr(), schema) };
    if oid == pg_sys::InvalidOid {
        return Err(missing(format!("relation inventory.{}", name.to_string_lossy())));
    }
    Ok(oid)
}

/// A relation with the attribute numbers of `names`, in their order.
fn table<const N: usize>(oid: pg_sys::Oid, names: [&CStr; N]) -> ApiResult<Table<N>> {
    let mut columns = [0; N];
    for (n, name) in names.iter().enumerate() {
        columns[n] = column(oid, name)?;
    }
    Ok(Table { oid, columns })
}

fn column(relation: pg_sys::Oid, name: &CStr) -> ApiResult<pg_sys::AttrNumber> {
    // SAFETY: a syscache lookup by relation and column name.
    let attnum = unsafe { pg_sys::get_attnum(relation, name.as_ptr()) };
    if attnum <= 0 {
        return Err(missing(format!("column {}", name.to_string_lossy())));
    }
    Ok(attnum)
}

/// A condition on one index column: equal to a value, or at most a value.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// A text column equal to a text Datum.
    TextEq(pg_sys::Datum),
    /// A timestamptz column at most a timestamptz Datum.
    TimestamptzAtMost(pg_sys::Datum),
    /// A uuid column equal to a uuid Datum.
    UuidEq(pg_sys::Datum),
}

/// An open index scan over a table, with a slot for the rows it finds. Rescan it with new key
/// values to look up the next item without opening anything again.
pub(crate) struct IndexScan {
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    scan: pg_sys::IndexScanDesc,
    slot: *mut pg_sys::TupleTableSlot,
    keys: Vec<pg_sys::ScanKeyData>,
}

/// The snapshot a read uses: the caller's statement's.
fn snapshot() -> pg_sys::Snapshot {
    // SAFETY: both are valid inside a transaction, which every SQL function call is.
    unsafe {
        if pg_sys::ActiveSnapshotSet() {
            pg_sys::GetActiveSnapshot()
        } else {
            pg_sys::GetTransactionSnapshot()
        }
    }
}

impl IndexScan {
    /// Open `table` and its `index` (AccessShareLock, held until the transaction ends) and
    /// scan for `keys`, one per leading index column.
    pub(crate) fn open(table: pg_sys::Oid, index: pg_sys::Oid, keys: &[Key]) -> IndexScan {
        IndexScan::open_at(table, index, keys, snapshot())
    }

    /// `open`, reading as of `snapshot`, which must stay valid while the scan is open.
    pub(crate) fn open_at(
        table: pg_sys::Oid,
        index: pg_sys::Oid,
        keys: &[Key],
        snapshot: pg_sys::Snapshot,
    ) -> IndexScan {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        // SAFETY: valid oids from catalog(); every resource opened here is closed in Drop, or
        // by the transaction's abort if an error unwinds past it.
        unsafe {
            let heap = pg_sys::table_open(table, lock);
            let index = pg_sys::index_open(index, lock);
            let scan = crate::compat::index_beginscan(heap, index, snapshot, keys.len() as c_int);
            let slot = pg_sys::table_slot_create(heap, std::ptr::null_mut());
            let mut opened = IndexScan {
                heap,
                index,
                scan,
                slot,
                keys: vec![std::mem::zeroed(); keys.len()],
            };
            opened.rescan(keys);
            opened
        }
    }

    /// Start over with new values for the same kind of keys.
    pub(crate) fn rescan(&mut self, keys: &[Key]) {
        for (n, key) in keys.iter().enumerate() {
            let (strategy, procedure, value) = match *key {
                Key::TextEq(value) => (pg_sys::BTEqualStrategyNumber, pg_sys::F_TEXTEQ, value),
                Key::TimestamptzAtMost(value) => (pg_sys::BTLessEqualStrategyNumber, pg_sys::F_TIMESTAMPTZ_LE, value),
                Key::UuidEq(value) => (pg_sys::BTEqualStrategyNumber, pg_sys::F_UUID_EQ, value),
            };
            // SAFETY: the index has at least keys.len() columns (ours, found by name); the
            // collation is the index column's own, as the planner would use.
            unsafe {
                let collation = *(*self.index).rd_indcollation.add(n);
                pg_sys::ScanKeyEntryInitialize(
                    &mut self.keys[n],
                    0,
                    (n + 1) as pg_sys::AttrNumber,
                    strategy as pg_sys::StrategyNumber,
                    pg_sys::InvalidOid,
                    collation,
                    pg_sys::Oid::from(procedure),
                    value,
                );
            }
        }
        // SAFETY: the scan is open and the keys live in self for as long as it does.
        unsafe {
            pg_sys::index_rescan(
                self.scan,
                self.keys.as_mut_ptr(),
                self.keys.len() as c_int,
                std::ptr::null_mut(),
                0,
            )
        };
    }

    /// Where the current row is.
    pub(crate) fn tid(&self) -> pg_sys::ItemPointerData {
        // SAFETY: the slot holds the row next() found.
        unsafe { (*self.slot).tts_tid }
    }

    /// How many keys the scan was opened with.
    pub(crate) fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Move to the next row visible to the snapshot; false at the end.
    pub(crate) fn next(&mut self) -> bool {
        // SAFETY: the scan and slot are open.
        unsafe { pg_sys::index_getnext_slot(self.scan, pg_sys::ScanDirection::ForwardScanDirection, self.slot) }
    }

    /// The current row's column `attnum` as a Datum, None for NULL. A by-reference value
    /// points into the row and lives until the scan moves on.
    pub(crate) fn datum(&self, attnum: pg_sys::AttrNumber) -> Option<pg_sys::Datum> {
        let mut isnull = false;
        // SAFETY: the slot holds the row next() found.
        let value = unsafe { pg_sys::slot_getattr(self.slot, c_int::from(attnum), &mut isnull) };
        (!isnull).then_some(value)
    }

    pub(crate) fn int8(&self, attnum: pg_sys::AttrNumber) -> i64 {
        self.datum(attnum).map_or(0, |d| d.value() as i64)
    }

    pub(crate) fn int2(&self, attnum: pg_sys::AttrNumber) -> i16 {
        self.datum(attnum).map_or(0, |d| d.value() as i16)
    }

    pub(crate) fn boolean(&self, attnum: pg_sys::AttrNumber) -> bool {
        self.datum(attnum).is_some_and(|d| d.value() != 0)
    }

    /// Whether text column `attnum` of the current row equals `expected`.
    pub(crate) fn text_is(&self, attnum: pg_sys::AttrNumber, expected: &str) -> bool {
        self.datum(attnum).is_some_and(|d| {
            // SAFETY: a text Datum of the current row; detoasting a short inline value only
            // reads it in place.
            let text = unsafe { pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr()) };
            let bytes = unsafe { pgrx::varlena::varlena_to_byte_slice(text) };
            bytes == expected.as_bytes()
        })
    }
}

impl Drop for IndexScan {
    fn drop(&mut self) {
        // After an error PostgreSQL's abort releases the scan's pins and relation references;
        // calling into it before that is not safe.
        if std::thread::panicking() {
            return;
        }
        // SAFETY: closes what open() opened, once; the locks stay until the transaction ends.
        unsafe {
            pg_sys::ExecDropSingleTupleTableSlot(self.slot);
            pg_sys::index_endscan(self.scan);
            pg_sys::index_close(self.index, pg_sys::NoLock as pg_sys::LOCKMODE);
            pg_sys::table_close(self.heap, pg_sys::NoLock as pg_sys::LOCKMODE);
        }
    }
}
