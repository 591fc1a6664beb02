//! Inserting our own rows without the executor.
//!
//! Every reserve writes a reservation row and a log row. As parts of a statement run through
//! SPI, each cost an executor start and finish, a ModifyTable node and a CTE scan: more than
//! the rows themselves. Here a row is written as PostgreSQL's own executor writes one (the heap
//! insert, then every index through `ExecInsertIndexTuples`, which also evaluates partial index
//! predicates and checks unique ones), with values the library has already validated.
//!
//! Only what the executor would add is left out, so a table that has any of it is refused
//! (`Ok(false)`) and the caller writes through SQL instead: triggers, CHECK constraints, and a
//! column with a default or NOT NULL that the caller does not fill (one added by hand).

use pgrx::pg_sys;

use crate::errors::ApiResult;

/// A column's value: the attribute number and the Datum, None for NULL.
pub(crate) type Value = (pg_sys::AttrNumber, Option<pg_sys::Datum>);

/// Insert each row of `values` into its table; columns not given are NULL. False, with
/// nothing written, when any of the tables needs the executor (see the module).
pub(crate) fn insert_all(rows: &[(pg_sys::Oid, &[Value])]) -> ApiResult<bool> {
    refuse_when_read_only(c"INSERT");
    let lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: valid relation oids from scan::catalog(), opened and closed here; the lock
    // stays until the transaction ends, as a statement's would.
    let writable = rows.iter().all(|(table, values)| unsafe {
        let rel = pg_sys::table_open(*table, lock);
        let writable = writable_directly(rel, values);
        pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        writable
    });
    if !writable {
        return Ok(false);
    }
    for (table, values) in rows {
        insert(*table, values);
    }
    Ok(true)
}

/// Insert one row of `values` into `table`, which `writable_directly` accepted.
fn insert(table: pg_sys::Oid, values: &[Value]) {
    let lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: a valid relation oid; every resource taken here is given back before returning,
    // or by the transaction's abort when an error unwinds.
    unsafe {
        let rel = pg_sys::table_open(table, lock);
        let estate = pg_sys::CreateExecutorState();
        let result_rel = pg_sys::palloc0(size_of::<pg_sys::ResultRelInfo>()).cast::<pg_sys::ResultRelInfo>();
        pg_sys::InitResultRelInfo(result_rel, rel, 1, std::ptr::null_mut(), 0);
        pg_sys::ExecOpenIndices(result_rel, false);
        let descriptor = (*rel).rd_att;
        let slot = pg_sys::ExecInitExtraTupleSlot(estate, descriptor, &pg_sys::TTSOpsVirtual);
        pg_sys::ExecClearTuple(slot);
        let natts = usize::try_from((*descriptor).natts).unwrap_or(0);
        let datums = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
        let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
        nulls.fill(true);
        for &(attnum, value) in values {
            let n = usize::try_from(attnum - 1).unwrap_or(usize::MAX);
            if n < natts {
                datums[n] = value.unwrap_or(pg_sys::Datum::from(0));
                nulls[n] = value.is_none();
            }
        }
        pg_sys::ExecStoreVirtualTuple(slot);
        pg_sys::simple_table_tuple_insert(rel, slot);
        crate::compat::insert_index_entries(result_rel, slot, estate, false);
        pg_sys::ExecCloseIndices(result_rel);
        pg_sys::ExecResetTupleTable((*estate).es_tupleTable, false);
        pg_sys::FreeExecutorState(estate);
        pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
    }
}

/// What the executor checks before any write: a read-only transaction (a hot standby's
/// included) or parallel mode raises, as the statement would (25006).
fn refuse_when_read_only(command: &std::ffi::CStr) {
    // SAFETY: both raise an ordinary error or return.
    unsafe {
        pg_sys::PreventCommandIfReadOnly(command.as_ptr());
        pg_sys::PreventCommandIfParallelMode(command.as_ptr());
    }
}

/// Whether a row of `values` can go into `rel` without the executor: no triggers, no CHECK
/// constraints, no generated columns, every column `values` leaves out may be NULL and has no
/// default, and no NULL goes into a NOT NULL column.
///
/// # Safety
/// `rel` must be an open relation.
unsafe fn writable_directly(rel: pg_sys::Relation, values: &[Value]) -> bool {
    // SAFETY: the relation and its descriptor stay valid while it is open.
    unsafe {
        if !updatable_directly(rel) {
            return false;
        }
        // pgrx's view of the descriptor knows each major's layout of the attributes.
        let descriptor = pgrx::PgTupleDesc::from_pg_unchecked((*rel).rd_att);
        descriptor.iter().enumerate().all(|(n, attr)| {
            match values
                .iter()
                .find(|(attnum, _)| usize::try_from(*attnum).ok() == Some(n + 1))
            {
                // A NULL for a NOT NULL column: the executor raises the error.
                Some((_, value)) => value.is_some() || !attr.attnotnull,
                None => attr.attisdropped || (!attr.attnotnull && !attr.atthasdef),
            }
        })
    }
}

/// The newest version of a row, locked, as `update_one` hands it to its caller.
pub(crate) struct LockedRow(*mut pg_sys::TupleTableSlot);

impl LockedRow {
    fn datum(&self, attnum: pg_sys::AttrNumber) -> Option<pg_sys::Datum> {
        let n = usize::try_from(attnum - 1).ok()?;
        // SAFETY: the slot holds the locked row with every attribute deformed.
        unsafe { (!*(*self.0).tts_isnull.add(n)).then(|| *(*self.0).tts_values.add(n)) }
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

    /// A timestamptz column as microseconds since 2000-01-01, None for NULL.
    pub(crate) fn timestamptz(&self, attnum: pg_sys::AttrNumber) -> Option<i64> {
        self.datum(attnum).map(|d| d.value() as i64)
    }

    /// A text column, copied; None for NULL.
    pub(crate) fn text(&self, attnum: pg_sys::AttrNumber) -> Option<String> {
        // SAFETY: a text Datum of the locked row, valid while the slot holds it.
        self.datum(attnum)
            .and_then(|d| unsafe { <String as pgrx::datum::FromDatum>::from_datum(d, false) })
    }
}

/// What `update_one` did.
pub(crate) enum Updated {
    /// The row was found, locked and changed.
    Changed,
    /// No row has the key, or `change` left it as it was (it stays locked).
    Unchanged,
    /// The table needs the executor (see the module): nothing was done.
    NeedsExecutor,
}

/// Update the row of `table` whose `index` key is `keys`, as an UPDATE statement under READ
/// COMMITTED does: find it with a fresh snapshot, lock its newest version (waiting for a
/// transaction that holds it, and following its updates), and let `change` decide on that
/// version: None leaves it, Some gives the columns to set. Under REPEATABLE READ or
/// SERIALIZABLE a row changed since the transaction's snapshot raises 40001, as an UPDATE does.
pub(crate) fn update_one(
    table: pg_sys::Oid,
    index: pg_sys::Oid,
    keys: &[crate::scan::Key],
    change: impl FnOnce(&LockedRow) -> Option<Vec<Value>>,
) -> ApiResult<Updated> {
    refuse_when_read_only(c"UPDATE");
    let lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: valid oids from scan::catalog(); every resource taken here is given back before
    // returning, or by the transaction's abort when an error unwinds.
    unsafe {
        let rel = pg_sys::table_open(table, lock);
        if !updatable_directly(rel) {
            pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
            return Ok(Updated::NeedsExecutor);
        }
        // What SPI does before a statement: make this transaction's earlier writes visible,
        // then take the statement's snapshot.
        pg_sys::CommandCounterIncrement();
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetTransactionSnapshot());
        let found = first_tid(rel, index, snapshot, keys);
        let outcome = match found {
            None => Ok(Updated::Unchanged),
            Some(tid) => lock_and_change(rel, tid, snapshot, change),
        };
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        outcome
    }
}

/// Whether a write to `rel` may skip the executor as far as the table goes: no triggers, no
/// CHECK constraints, no generated columns.
///
/// # Safety
/// `rel` must be an open relation.
unsafe fn updatable_directly(rel: pg_sys::Relation) -> bool {
    // SAFETY: as in writable_directly.
    unsafe {
        let constraints = (*(*rel).rd_att).constr;
        (*rel).trigdesc.is_null()
            && (constraints.is_null() || ((*constraints).num_check == 0 && !(*constraints).has_generated_stored))
    }
}

/// The tid of the first row of `index` with `keys` visible to `snapshot`.
///
/// # Safety
/// `rel` must be open and `snapshot` registered.
unsafe fn first_tid(
    rel: pg_sys::Relation,
    index: pg_sys::Oid,
    snapshot: pg_sys::Snapshot,
    keys: &[crate::scan::Key],
) -> Option<pg_sys::ItemPointerData> {
    // SAFETY: the caller's contract; the scan is closed before returning.
    unsafe {
        let mut scan = crate::scan::IndexScan::open_at((*rel).rd_id, index, keys, snapshot);
        scan.next().then(|| scan.tid())
    }
}

/// Lock the newest version of the row at `tid`, let `change` decide, and write the change.
///
/// # Safety
/// `rel` must be open with RowExclusiveLock and `snapshot` registered.
unsafe fn lock_and_change(
    rel: pg_sys::Relation,
    mut tid: pg_sys::ItemPointerData,
    snapshot: pg_sys::Snapshot,
    change: impl FnOnce(&LockedRow) -> Option<Vec<Value>>,
) -> ApiResult<Updated> {
    // SAFETY: the caller's contract; the executor state is freed before returning.
    unsafe {
        let estate = pg_sys::CreateExecutorState();
        let descriptor = (*rel).rd_att;
        let locked = pg_sys::ExecInitExtraTupleSlot(estate, descriptor, pg_sys::table_slot_callbacks(rel));
        let cid = pg_sys::GetCurrentCommandId(true);
        let transaction_snapshot = pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32;
        let flags = if transaction_snapshot {
            0
        } else {
            pg_sys::TUPLE_LOCK_FLAG_FIND_LAST_VERSION as u8
        };
        let mut failure = pg_sys::TM_FailureData::default();
        let result = pg_sys::table_tuple_lock(
            rel,
            &mut tid,
            snapshot,
            locked,
            cid,
            pg_sys::LockTupleMode::LockTupleNoKeyExclusive,
            pg_sys::LockWaitPolicy::LockWaitBlock,
            flags,
            &mut failure,
        );
        use pg_sys::TM_Result::{TM_Deleted, TM_Ok, TM_Updated};
        #[allow(non_upper_case_globals)] // PostgreSQL's names
        let outcome = match result {
            TM_Ok => {
                pg_sys::slot_getallattrs(locked);
                match change(&LockedRow(locked)) {
                    None => Ok(Updated::Unchanged),
                    Some(values) => {
                        write_update(rel, estate, locked, cid, snapshot, &values);
                        Ok(Updated::Changed)
                    }
                }
            }
            TM_Deleted if !transaction_snapshot => Ok(Updated::Unchanged),
            TM_Updated | TM_Deleted => {
                pgrx::ereport!(
                    pgrx::PgLogLevel::ERROR,
                    pgrx::PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                    "could not serialize access due to concurrent update"
                );
                unreachable!()
            }
            other => Err(crate::errors::ApiError::Internal(format!(
                "inventory_reservation: locking a row gave {other}"
            ))),
        };
        pg_sys::ExecResetTupleTable((*estate).es_tupleTable, false);
        pg_sys::FreeExecutorState(estate);
        outcome
    }
}

/// Write `values` over the locked row in `locked` (its other columns stay), with index entries
/// when the new version is not a HOT update.
///
/// # Safety
/// `locked` holds the row `rel` has locked for this transaction, all attributes deformed.
unsafe fn write_update(
    rel: pg_sys::Relation,
    estate: *mut pg_sys::EState,
    locked: *mut pg_sys::TupleTableSlot,
    cid: pg_sys::CommandId,
    snapshot: pg_sys::Snapshot,
    values: &[Value],
) {
    // SAFETY: the caller's contract.
    unsafe {
        let descriptor = (*rel).rd_att;
        let natts = usize::try_from((*descriptor).natts).unwrap_or(0);
        let new = pg_sys::ExecInitExtraTupleSlot(estate, descriptor, &pg_sys::TTSOpsVirtual);
        pg_sys::ExecClearTuple(new);
        std::ptr::copy_nonoverlapping((*locked).tts_values, (*new).tts_values, natts);
        std::ptr::copy_nonoverlapping((*locked).tts_isnull, (*new).tts_isnull, natts);
        for &(attnum, value) in values {
            let n = usize::try_from(attnum - 1).unwrap_or(usize::MAX);
            if n < natts {
                *(*new).tts_values.add(n) = value.unwrap_or(pg_sys::Datum::from(0));
                *(*new).tts_isnull.add(n) = value.is_none();
            }
        }
        pg_sys::ExecStoreVirtualTuple(new);
        let mut tid = (*locked).tts_tid;
        let mut failure = pg_sys::TM_FailureData::default();
        let mut lock_mode = pg_sys::LockTupleMode::LockTupleNoKeyExclusive;
        let (result, entries) =
            crate::compat::table_tuple_update(rel, &mut tid, new, cid, snapshot, &mut failure, &mut lock_mode);
        if result != pg_sys::TM_Result::TM_Ok {
            pgrx::error!("inventory_reservation: updating a row this transaction has locked gave {result}");
        }
        if entries != crate::compat::IndexEntries::None {
            let result_rel = pg_sys::palloc0(size_of::<pg_sys::ResultRelInfo>()).cast::<pg_sys::ResultRelInfo>();
            pg_sys::InitResultRelInfo(result_rel, rel, 1, std::ptr::null_mut(), 0);
            pg_sys::ExecOpenIndices(result_rel, false);
            let only_summarizing = entries == crate::compat::IndexEntries::Summarizing;
            crate::compat::insert_index_entries(result_rel, new, estate, only_summarizing);
            pg_sys::ExecCloseIndices(result_rel);
        }
    }
}
