//! Heavyweight locks the library takes itself, through the lock manager, never through SQL.
//!
//! Advisory locks would be simpler, but `pg_advisory_lock` is executable by PUBLIC: any role
//! that can connect could take our keys and stall reserves or the expiry worker. The object
//! locks below use a lock tag no SQL statement can name, so only this library takes them.

use std::ffi::CStr;

use pgrx::pg_sys;

use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::gucs;

sql_function!(
    pg_finfo_inventory_take_tables_for_ddl,
    inventory_take_tables_for_ddl,
    take_tables_for_ddl,
    as_called
);

/// The "class" of our idempotency-key locks: a LOCKTAG_OBJECT whose class id is no catalog's
/// (catalogs have oids below 16384, this is "IR" and 1), so no DDL ever locks the same tag.
const IDEMPOTENCY_LOCK_CLASS: u32 = 0x4952_0001;

/// The relations a sweep reads or writes, each with the mode it takes, in the one order
/// everything that locks several of them up front uses: `expire_stale`, and the update scripts
/// (through `take_tables_for_ddl`, ACCESS EXCLUSIVE). The view comes first because a read of
/// it locks the view before its tables, and the update scripts replace it. Taking them in one
/// order, each in the strongest mode needed, means a sweep and an `ALTER EXTENSION ... UPDATE`
/// never wait for each other in a cycle.
const RELATIONS_IN_LOCK_ORDER: [(&CStr, u32); 5] = [
    (c"stock_levels", pg_sys::AccessShareLock),
    (c"stock", pg_sys::RowExclusiveLock),
    (c"stock_bucket", pg_sys::RowExclusiveLock),
    (c"reservation", pg_sys::RowExclusiveLock),
    (c"log", pg_sys::RowExclusiveLock),
];

/// Serialize callers of one idempotency key until this transaction (or the subtransaction
/// that took it) ends.
pub(crate) fn lock_idempotency_key(key: &str) {
    let hash = fnv1a(key.as_bytes());
    // SAFETY: a transaction-level lock on a tag of our own; released by the resource owner.
    unsafe {
        pg_sys::LockDatabaseObject(
            pg_sys::Oid::from(IDEMPOTENCY_LOCK_CLASS),
            pg_sys::Oid::from(hash as u32),
            (hash >> 32) as u16,
            pg_sys::ExclusiveLock as pg_sys::LOCKMODE,
        )
    };
}

/// The relations of `RELATIONS_IN_LOCK_ORDER` that exist (an earlier release may lack one), in
/// order, each with the mode a sweep takes.
fn relations_in_lock_order() -> Vec<(pg_sys::Oid, pg_sys::LOCKMODE)> {
    // SAFETY: catalog lookups by name.
    unsafe {
        let schema = pg_sys::get_namespace_oid(c"inventory".as_ptr(), false);
        RELATIONS_IN_LOCK_ORDER
            .iter()
            .map(|(name, mode)| {
                (
                    pg_sys::get_relname_relid(name.as_ptr(), schema),
                    *mode as pg_sys::LOCKMODE,
                )
            })
            .filter(|(relid, _)| *relid != pg_sys::InvalidOid)
            .collect()
    }
}

/// Lock the sweep's relations in `RELATIONS_IN_LOCK_ORDER`, each in the mode its statement
/// takes anyway, before its first statement: so it never asks for a lock on a relation after
/// DDL has taken an earlier one, nor a stronger one on a relation it already holds.
pub(crate) fn lock_sweep_relations() {
    for (relid, mode) in relations_in_lock_order() {
        // SAFETY: a relation lock held to the end of the transaction.
        unsafe { pg_sys::LockRelationOid(relid, mode) };
    }
}

/// How long the update scripts try to take their tables without waiting while holding one.
const POLITE_TRIES: u32 = 50;

/// For the update scripts: take every relation of `RELATIONS_IN_LOCK_ORDER` ACCESS EXCLUSIVE
/// before any DDL, in that order, so a sweep (which takes them in the same order) never meets the
/// update in a lock cycle. Clients take the tables in the orders of their statements, so the
/// update first tries politely: it waits for the first table only, takes the others without
/// waiting, and lets all go and tries again 10 ms later when one is busy (its holder may be
/// waiting for the first). After `POLITE_TRIES`, under traffic that never leaves a gap, it
/// waits for each in turn with a deadlock_timeout longer than any update: a client that closes
/// a cycle with it is then the one PostgreSQL's deadlock check cancels (40P01, to retry), and
/// the update goes through.
fn take_tables_for_ddl(_args: &Args) -> ApiResult<()> {
    let mode = pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE;
    let tables: Vec<pg_sys::Oid> = relations_in_lock_order().into_iter().map(|(relid, _)| relid).collect();
    let Some((first, rest)) = tables.split_first() else {
        return Ok(());
    };
    // SAFETY: relation locks of this transaction; the ones released were taken just above.
    unsafe {
        for _ in 0..POLITE_TRIES {
            pg_sys::LockRelationOid(*first, mode);
            let taken = rest
                .iter()
                .take_while(|relid| pg_sys::ConditionalLockRelationOid(**relid, mode))
                .count();
            if taken == rest.len() {
                return Ok(());
            }
            for relid in rest[..taken].iter().chain(std::iter::once(first)) {
                pg_sys::UnlockRelationOid(*relid, mode);
            }
            pg_sys::pg_usleep(10_000);
            pgrx::check_for_interrupts!();
        }
        let nest = pg_sys::NewGUCNestLevel();
        gucs::set_for_nest_level(c"deadlock_timeout", c"1h", pg_sys::GucContext::PGC_SUSET);
        for relid in &tables {
            pg_sys::LockRelationOid(*relid, mode);
        }
        pg_sys::AtEOXact_GUC(true, nest);
    }
    Ok(())
}

/// Whether the extension exists in this database, and if so lock it (ACCESS SHARE, to the
/// end of the transaction) so that a `DROP EXTENSION`, which takes the extension's own lock
/// before any table's, waits for us instead of meeting us in a cycle on the tables.
pub(crate) fn lock_extension_if_installed() -> bool {
    // SAFETY: catalog lookups; the lock is transaction-level and released by the resource owner.
    unsafe {
        let ext = pg_sys::get_extension_oid(c"inventory_reservation".as_ptr(), true);
        if ext == pg_sys::InvalidOid {
            return false;
        }
        pg_sys::LockDatabaseObject(
            pg_sys::ExtensionRelationId,
            ext,
            0,
            pg_sys::AccessShareLock as pg_sys::LOCKMODE,
        );
        // Taking the lock read the invalidations: a DROP that committed while we waited shows.
        !pg_sys::get_extension_name(ext).is_null()
    }
}

/// Whether someone is dropping (or renaming, or copying as a template) this database: those
/// hold a lock on the database object that conflicts with the one a new connection takes. The
/// worker then leaves, since a plain `DROP DATABASE` gives other sessions only 5 s to go.
/// Must run inside a transaction.
pub(crate) fn database_wanted_exclusively() -> bool {
    let tag = pg_sys::LOCKTAG {
        locktag_field1: 0, // a shared object: no database
        locktag_field2: u32::from(pg_sys::DatabaseRelationId),
        // SAFETY: set once the worker is connected.
        locktag_field3: u32::from(unsafe { pg_sys::MyDatabaseId }),
        locktag_field4: 0,
        locktag_type: pg_sys::LockTagType::LOCKTAG_OBJECT as u8,
        locktag_lockmethodid: pg_sys::DEFAULT_LOCKMETHOD as u8,
    };
    let mode = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: a conditional lock, released at once when we got it.
    unsafe {
        if pg_sys::LockAcquire(&tag, mode, false, true) == pg_sys::LockAcquireResult::LOCKACQUIRE_NOT_AVAIL {
            return true;
        }
        pg_sys::LockRelease(&tag, mode, false);
    }
    false
}

/// 64-bit FNV-1a: a stable hash of the key, the same in every backend of this library.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
