//! SQL fragments that several statements end with. Each names the parameters it uses; a
//! statement that includes one declares them (for a new hold, the group `holds::NewHold`).

/// For the item the CTE `item` yields, insert the reservation and its log row and return
/// `(id, expires_at)`. Uses the parameters of `holds::NewHold` but sku and location.
macro_rules! hold_for_item {
    () => {
        "hold AS (
              INSERT INTO inventory.reservation
                     (sku, location, quantity, owner, channel, idempotency_key, expires_at, metadata, line_ref)
              SELECT sku, location, $quantity, $owner, $channel, $idempotency_key,
                     COALESCE($expires_at, statement_timestamp() + $ttl), $metadata, $line_ref FROM item
              RETURNING id, sku, location, quantity, expires_at),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
              SELECT sku, id, location, 'reserve', quantity FROM hold)
          SELECT id, expires_at FROM hold"
    };
}

/// Take units of the item row itself: a conditional counter update, which never oversells
/// under READ COMMITTED (a blocked updater re-checks the condition on the newest row). Returns
/// a row when it took them. `$cond` narrows which items may be taken this way.
macro_rules! take_from_item {
    ($cond:literal) => {
        concat!(
            "UPDATE inventory.stock
                SET held = held + $quantity, updated_at = statement_timestamp()
              WHERE sku = $sku AND location = $location ",
            $cond,
            "
                AND (NOT manage_stock OR backorders OR GREATEST(on_hand - held, 0) - safety_stock >= $quantity)
             RETURNING 1"
        )
    };
}

/// Give the units of the rows the CTE `$ended` returned back to item ($sku, $location) and
/// return how many there were.
macro_rules! return_units_of_item {
    ($ended:ident) => {
        concat!(
            "freed AS (SELECT sum(quantity)::bigint AS quantity FROM ",
            stringify!($ended),
            "),
          item AS (
              UPDATE inventory.stock s SET held = s.held - freed.quantity, updated_at = statement_timestamp()
                FROM freed
               WHERE freed.quantity IS NOT NULL AND s.sku = $sku AND s.location = $location)
          SELECT COALESCE(quantity, 0) FROM freed"
        )
    };
}

pub(crate) use {hold_for_item, return_units_of_item, take_from_item};
