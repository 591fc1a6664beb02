//! Idempotency keys: one key, one reservation (or one whole order), for ever. Callers of a key
//! are serialized by a lock only the library can take (see `locks`), then find what the key
//! already holds.

use inventory_reservation_core::order::order_key_of_line_key;
use pgrx::datum::Uuid;
use pgrx::spi::SpiClient;

use crate::errors::ApiResult;
use crate::{locks, store};

/// Serialize callers of one idempotency key until this transaction ends. A key shaped like a
/// line key of an idempotent reserve_many ("<key>#<n>") locks that order's key first, as the
/// order does before it writes its lines, so a single reserve naming a line waits for the order.
pub(crate) fn lock_idempotency_key(key: &str) {
    if let Some(order) = order_key_of_line_key(key) {
        lock_idempotency_key(order);
    }
    locks::lock_idempotency_key(key);
}

/// A hold stored under an idempotency key, as a replay compares it with its request.
pub(crate) struct StoredHold {
    /// The 1-based position of its key in the keys looked up.
    pub position: usize,
    pub id: Option<Uuid>,
    pub sku: Option<String>,
    pub location: Option<String>,
    /// The quantity it was reserved with (see `store::FIND_BY_IDEMPOTENCY_KEYS`).
    pub quantity: Option<i64>,
}

impl StoredHold {
    /// Whether it is the hold this request would make.
    pub(crate) fn is(&self, sku: &str, location: &str, quantity: i64) -> bool {
        self.sku.as_deref() == Some(sku)
            && self.location.as_deref() == Some(location)
            && self.quantity == Some(quantity)
    }

    /// For an idempotency conflict message: `3 x "A" at "default"`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} x \"{}\" at \"{}\"",
            self.quantity.unwrap_or_default(),
            self.sku.as_deref().unwrap_or_default(),
            self.location.as_deref().unwrap_or_default()
        )
    }
}

/// The holds stored under any of `keys`, in key order.
pub(crate) fn find_by_idempotency_keys(client: &mut SpiClient<'_>, keys: Vec<String>) -> ApiResult<Vec<StoredHold>> {
    Ok(store::exec(
        client,
        &store::FIND_BY_IDEMPOTENCY_KEYS,
        &[keys.into()],
        |rows| {
            rows.map(|row| {
                Ok(StoredHold {
                    position: row.get::<i32>(1)?.unwrap_or_default() as usize,
                    id: row.get::<Uuid>(2)?,
                    sku: row.get::<String>(3)?,
                    location: row.get::<String>(4)?,
                    quantity: row.get::<i64>(5)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
        },
    )?)
}

/// The key of line `n` (1-based) of an idempotent reserve_many under `key`.
pub(crate) fn line_key(key: &str, n: usize) -> String {
    format!("{key}#{n}")
}
