//! What differs between the PostgreSQL majors we build for (features `pg15` to `pg18`), in
//! one place: everything else calls these and stays free of `#[cfg]`.

use pgrx::pg_sys;

/// This backend's number among the sessions running at once: stable for the session and
/// distinct from every other running session's. PostgreSQL 17 renamed it.
pub(crate) fn backend_number() -> i32 {
    // SAFETY: a plain integer set once at backend start.
    #[cfg(any(feature = "pg15", feature = "pg16"))]
    unsafe {
        pg_sys::MyBackendId
    }
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    unsafe {
        pg_sys::MyProcNumber
    }
}

/// Which index entries a new row version needs, as `table_tuple_update` reports it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexEntries {
    /// A heap-only (HOT) update: none.
    None,
    /// An entry in every index.
    All,
    /// Only in summarizing indexes such as BRIN (PostgreSQL 16 and later).
    Summarizing,
}

/// What `table_tuple_update` reports about index entries: a flag up to PostgreSQL 15, a
/// three-way value (`TU_UpdateIndexes`) from 16 on.
#[cfg(feature = "pg15")]
type UpdateIndexesReport = bool;
#[cfg(not(feature = "pg15"))]
type UpdateIndexesReport = pg_sys::TU_UpdateIndexes::Type;

#[cfg(feature = "pg15")]
fn index_entries(report: UpdateIndexesReport) -> IndexEntries {
    if report { IndexEntries::All } else { IndexEntries::None }
}

#[cfg(not(feature = "pg15"))]
fn index_entries(report: UpdateIndexesReport) -> IndexEntries {
    match report {
        pg_sys::TU_UpdateIndexes::TU_None => IndexEntries::None,
        pg_sys::TU_UpdateIndexes::TU_Summarizing => IndexEntries::Summarizing,
        _ => IndexEntries::All,
    }
}

/// `table_tuple_update` waiting for nothing (the row is ours), reporting which index entries
/// the new version needs.
///
/// # Safety
/// As `table_tuple_update`: `rel` open and locked, `tid` the row this transaction has locked.
pub(crate) unsafe fn table_tuple_update(
    rel: pg_sys::Relation,
    tid: &mut pg_sys::ItemPointerData,
    slot: *mut pg_sys::TupleTableSlot,
    cid: pg_sys::CommandId,
    snapshot: pg_sys::Snapshot,
    failure: &mut pg_sys::TM_FailureData,
    lock_mode: &mut pg_sys::LockTupleMode::Type,
) -> (pg_sys::TM_Result::Type, IndexEntries) {
    // false, or TU_None
    let mut report = UpdateIndexesReport::default();
    // SAFETY: the caller's contract.
    let result = unsafe {
        pg_sys::table_tuple_update(
            rel,
            tid,
            slot,
            cid,
            snapshot,
            std::ptr::null_mut(),
            true,
            failure,
            lock_mode,
            &mut report,
        )
    };
    (result, index_entries(report))
}

/// `ExecInsertIndexTuples` for the row in `slot`, not as part of an update and with no
/// conflict arbitration; `only_summarizing` limits it to summarizing indexes (PostgreSQL 16
/// and later; earlier majors have none to skip).
///
/// # Safety
/// `result_rel` has its indices open (`ExecOpenIndices`), `slot` holds a stored row of it.
pub(crate) unsafe fn insert_index_entries(
    result_rel: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    estate: *mut pg_sys::EState,
    only_summarizing: bool,
) {
    // SAFETY: the caller's contract. Not flagged as an update: that flag only feeds a hint
    // for bottom-up index deletion, and computing it needs a range table we do not build.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            let _ = only_summarizing;
            pg_sys::ExecInsertIndexTuples(
                result_rel,
                slot,
                estate,
                false,
                false,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
        }
        #[cfg(not(feature = "pg15"))]
        pg_sys::ExecInsertIndexTuples(
            result_rel,
            slot,
            estate,
            false,
            false,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            only_summarizing,
        );
    }
}

/// `index_beginscan` with `keys` scan keys, no order-by keys, and no instrumentation
/// (PostgreSQL 18 added the instrumentation argument).
///
/// # Safety
/// As `index_beginscan`: `heap` and `index` open and locked, `snapshot` registered.
pub(crate) unsafe fn index_beginscan(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    keys: std::ffi::c_int,
) -> pg_sys::IndexScanDesc {
    // SAFETY: the caller's contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            pg_sys::index_beginscan(heap, index, snapshot, keys, 0)
        }
        #[cfg(feature = "pg18")]
        {
            pg_sys::index_beginscan(heap, index, snapshot, std::ptr::null_mut(), keys, 0)
        }
    }
}
