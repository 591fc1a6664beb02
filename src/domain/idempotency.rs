//! Idempotency keys: one key, one reservation (or one whole order), for ever. Callers of a key
//! are serialized by a lock only the library can take (see `locks`), then find what the key
//! already holds.

use inventory_reservation_core::InventoryError;
use inventory_reservation_core::order::{Line, order_key_of_line_key};
use pgrx::datum::Uuid;
use pgrx::spi::SpiClient;

use crate::errors::ApiResult;
use crate::locks;
use crate::store::{self, statement};

/// The quantity reservation `r` was made with, which a replay of its request compares
/// against: the reserve row of the log, since a partial commit or update_quantity changes the
/// stored quantity; the stored one if the log has been pruned.
macro_rules! reserved_quantity {
    () => {
        "COALESCE((SELECT l.quantity FROM inventory.log l
                    WHERE l.reservation_id = r.id AND l.event = 'reserve'
                    ORDER BY l.id LIMIT 1), r.quantity)"
    };
}

statement! {
    /// The reservations stored under any of `keys`, each with the (1-based) position of its
    /// key in `keys`, in key order.
    struct FindByIdempotencyKeys { keys: Vec<String> }
    = concat!(
        "SELECT k.n::int, r.id, r.sku, r.location, ",
        reserved_quantity!(),
        "
            FROM unnest($keys::text[]) WITH ORDINALITY k(key, n)
            JOIN inventory.reservation r ON r.idempotency_key = k.key
           ORDER BY k.n"
    );
}

/// How a request stores its holds under its idempotency key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// reserve: one hold under the key itself.
    Single,
    /// reserve_many: one hold per line, under the line keys "<key>#1", "<key>#2", ...
    Order,
}

/// With an idempotency key: serialize callers of the key, then return the holds the same
/// request made before, if it did. Another request under the key is an error (IR005), and so
/// is a single reserve under a line key ("<key>#n") of no stored line: a hold under it would
/// later pass for an order (or a line of one) that was never placed.
pub(crate) fn replay(
    client: &mut SpiClient<'_>,
    key: &str,
    shape: Shape,
    lines: &[Line],
) -> ApiResult<Option<Vec<Uuid>>> {
    lock_idempotency_key(key);
    // The keys the request stores its holds under, then the keys that would show another
    // request: for a single hold, an order's first line; for an order, one line more (a
    // longer order) and a single hold under the key itself.
    let mut keys = match shape {
        Shape::Single => vec![key.to_owned()],
        Shape::Order => (1..=lines.len()).map(|n| line_key(key, n)).collect(),
    };
    let stored = keys.len();
    match shape {
        Shape::Single => keys.push(line_key(key, 1)),
        Shape::Order => keys.extend([line_key(key, lines.len() + 1), key.to_owned()]),
    }
    let found = find_by_idempotency_keys(client, keys)?;
    let Some(first) = found.first() else {
        return match (shape, order_key_of_line_key(key)) {
            (Shape::Single, Some(order)) => Err(InventoryError::line_key_without_line(key, order).into()),
            _ => Ok(None),
        };
    };
    let same = found.len() == lines.len()
        && found
            .iter()
            .zip(lines)
            .enumerate()
            .all(|(n, (hold, line))| hold.position == n + 1 && hold.is(&line.sku, &line.location, line.quantity));
    if same {
        return Ok(Some(found.into_iter().filter_map(|hold| hold.id).collect()));
    }
    // Which key the first hold found is under: 0 for one the request stores its holds under,
    // then the others in the order pushed above.
    let existing = match (shape, first.position.saturating_sub(stored)) {
        (Shape::Single, 0) | (Shape::Order, 2) => first.describe(),
        (Shape::Order, 1) => format!("an order of more than {} lines", lines.len()),
        _ => format!("an order starting {}", first.describe()),
    };
    Err(InventoryError::idempotency_conflict(key, &existing).into())
}

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
struct StoredHold {
    /// The 1-based position of its key in the keys looked up.
    pub position: usize,
    pub id: Option<Uuid>,
    pub sku: Option<String>,
    pub location: Option<String>,
    /// The quantity it was reserved with (see `reserved_quantity!`).
    pub quantity: Option<i64>,
}

impl StoredHold {
    /// Whether it is the hold this request would make.
    fn is(&self, sku: &str, location: &str, quantity: i64) -> bool {
        self.sku.as_deref() == Some(sku)
            && self.location.as_deref() == Some(location)
            && self.quantity == Some(quantity)
    }

    /// For an idempotency conflict message: `3 x "A" at "default"`.
    fn describe(&self) -> String {
        format!(
            "{} x \"{}\" at \"{}\"",
            self.quantity.unwrap_or_default(),
            self.sku.as_deref().unwrap_or_default(),
            self.location.as_deref().unwrap_or_default()
        )
    }
}

/// The holds stored under any of `keys`, in key order.
fn find_by_idempotency_keys(client: &mut SpiClient<'_>, keys: Vec<String>) -> ApiResult<Vec<StoredHold>> {
    Ok(store::exec(client, FindByIdempotencyKeys { keys }, |rows| {
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
    })?)
}

/// The key of line `n` (1-based) of an idempotent reserve_many under `key`.
pub(crate) fn line_key(key: &str, n: usize) -> String {
    format!("{key}#{n}")
}
