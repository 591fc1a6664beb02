-- VTEX reservations: authorized, confirmed, acknowledged, then removal from inventory by
-- the ERP's stock update. Their example: a store holds three units of an item.
SELECT inventory.set_on_hand('vtex-ITEM', 3, 'vtex-warehouse');

-- The order is placed: one unit is reserved (Authorized reservation). Two available.
SELECT inventory.reserve('vtex-ITEM', 1, location => 'vtex-warehouse', owner => 'order v1') AS v1 \gset
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'vtex-ITEM';

-- Payment approved (Confirmed reservation): no longer subject to expiry.
SELECT inventory.confirm(:'v1');
SELECT state, expires_at FROM inventory.reservations WHERE id = :'v1';

-- Handling shipping started (Acknowledged reservation): the item is with the carrier.
SELECT inventory.acknowledge(:'v1');
SELECT state FROM inventory.reservations WHERE id = :'v1';
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'vtex-ITEM';

-- The ERP updates the quantity to two units (removal from inventory): two remain, none
-- reserved. The acknowledged reservation is settled, not taken off a second time.
SELECT inventory.set_on_hand('vtex-ITEM', 2, 'vtex-warehouse');
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'vtex-ITEM';
SELECT state FROM inventory.reservations WHERE id = :'v1';

-- A cancelled order gives its reservation back, confirmed or not.
SELECT inventory.reserve('vtex-ITEM', 1, location => 'vtex-warehouse') AS v2 \gset
SELECT inventory.confirm(:'v2');
SELECT inventory.release(:'v2', 'order cancelled');
SELECT salable FROM inventory.stock_levels WHERE sku = 'vtex-ITEM';

-- Expiry of an authorized reservation paid by boleto: payment due date plus 4 calendar
-- days when due Sunday to Tuesday, 5 Wednesday to Friday, 6 on Saturday; 11 days for
-- incomplete orders. The weekday is the session's.
SET TimeZone = 'America/Sao_Paulo';
SELECT due::date AS payment_due, to_char(due, 'Dy') AS day,
       inventory.payment_hold_until(due)::date AS reserved_until,
       inventory.payment_hold_until(due, incomplete => true)::date AS if_incomplete
  FROM generate_series(timestamptz '2026-11-22 18:00', '2026-11-28 18:00', '1 day') AS due;
SELECT inventory.reserve('vtex-ITEM', 1, location => 'vtex-warehouse',
                         expires_at => inventory.payment_hold_until('2026-12-02 18:00')) AS boleto \gset
SELECT expires_at::date FROM inventory.reservations WHERE id = :'boleto';
RESET TimeZone;

-- An external marketplace sends lockTTL: the period is its own, not computed.
SELECT inventory.reserve('vtex-ITEM', 1, location => 'vtex-warehouse', ttl => '3 days') AS locked \gset
SELECT expires_at - created_at AS lock_ttl FROM inventory.reservations WHERE id = :'locked';

SELECT event, quantity, reason FROM inventory.reservation_log WHERE sku = 'vtex-ITEM' ORDER BY id;
