//! Identifiers the library makes: reservation ids (UUID version 7, see core `id`) and log ids.

use std::cell::Cell;

use inventory_reservation_core::id::{UNIX_TO_POSTGRES_EPOCH_MICROS, next_micros, uuid_v7};
use pgrx::datum::Uuid;
use pgrx::pg_sys;

use crate::errors::{ApiError, ApiResult};

thread_local! {
    /// The time (Unix microseconds) in this session's last id.
    static LAST_MICROS: Cell<i64> = const { Cell::new(0) };
}

/// A version 7 UUID for now: the clock, not the transaction's start, and never earlier than
/// this session's last id, so a session's ids strictly increase (ids of different sessions
/// sort by time to the microsecond). Random bits from the same source as gen_random_uuid().
pub(crate) fn new_reservation_id() -> ApiResult<Uuid> {
    let mut random = [0u8; 8];
    // SAFETY: the buffer is ours and its length is passed along.
    let ok = unsafe { pg_sys::pg_strong_random(random.as_mut_ptr().cast(), random.len()) };
    if !ok {
        return Err(ApiError::Internal(
            "inventory_reservation: could not generate random values".into(),
        ));
    }
    // SAFETY: reads the system clock.
    let now = unsafe { pg_sys::GetCurrentTimestamp() } + UNIX_TO_POSTGRES_EPOCH_MICROS;
    let micros = next_micros(now, LAST_MICROS.get());
    LAST_MICROS.set(micros);
    Ok(Uuid::from_bytes(uuid_v7(micros, random)))
}

/// The next value of the log's id sequence (`seq`), as its identity default takes it.
pub(crate) fn next_log_id(seq: pg_sys::Oid) -> ApiResult<pg_sys::Datum> {
    // SAFETY: nextval of a sequence the running role owns; raises as nextval() would.
    unsafe { pgrx::direct_function_call_as_datum(pg_sys::nextval_oid, &[Some(pg_sys::Datum::from(seq))]) }
        .ok_or_else(|| ApiError::Internal("nextval returned NULL".into()))
}
