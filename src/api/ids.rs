//! inventory.uuid_v7(): the default of reservation.id, time-ordered (see core `id`).

use pgrx::datum::Uuid;

use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::ids;

sql_function!(pg_finfo_inventory_uuid_v7, inventory_uuid_v7, new_id, as_called);

/// A new reservation id (see `ids::new_reservation_id`).
fn new_id(_: &Args) -> ApiResult<Uuid> {
    ids::new_reservation_id()
}
