-- Holding stock: M2E Pro's example, QTY 12 and 2 bought on Amazon.
SELECT inventory.set_on_hand('res-A', 12);
SELECT inventory.reserve('res-A', 2, channel => 'amazon', owner => 'order 1') AS order1 \gset
SELECT inventory.salable_qty('res-A');
SELECT sku, location, quantity, state, owner, channel,
       expires_at - created_at AS ttl
  FROM inventory.reservations WHERE id = :'order1';

-- A ttl of our own, and metadata kept with the hold.
SELECT inventory.reserve('res-A', 1, ttl => '15 minutes', metadata => '{"cart": 7}') AS cart \gset
SELECT expires_at - created_at AS ttl, metadata FROM inventory.reservations WHERE id = :'cart';

-- The setting inventory.default_ttl applies when no ttl is given.
SET inventory.default_ttl = '2 hours';
SELECT inventory.reserve('res-A', 1) AS two_hours \gset
SELECT expires_at - created_at AS ttl FROM inventory.reservations WHERE id = :'two_hours';
RESET inventory.default_ttl;

-- Idempotent import: the same key returns the same hold and holds nothing more.
SELECT inventory.reserve('res-A', 3, idempotency_key => 'amazon:302-7') AS first \gset
SELECT inventory.reserve('res-A', 3, idempotency_key => 'amazon:302-7') = :'first' AS same_id;
SELECT inventory.salable_qty('res-A');
-- ...but the same key for a different request is refused.
SELECT inventory.reserve('res-A', 4, idempotency_key => 'amazon:302-7');
\echo :LAST_ERROR_SQLSTATE

-- Not enough stock: SQLSTATE IR001, nothing held.
SELECT inventory.reserve('res-A', 6);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('res-A', 5) IS NOT NULL AS exactly_the_rest;
SELECT inventory.salable_qty('res-A');

-- Safety stock stays out of the salable quantity.
SELECT inventory.set_on_hand('res-B', 5);
UPDATE inventory.stock SET safety_stock = 2 WHERE sku = 'res-B';
SELECT inventory.salable_qty('res-B');
SELECT inventory.reserve('res-B', 4);
\echo :LAST_ERROR_SQLSTATE

SELECT event, quantity FROM inventory.reservation_log WHERE sku = 'res-A' ORDER BY id;

-- Ids are UUID version 7: a later hold has a larger id, so new holds append to the indexes.
SELECT inventory.set_on_hand('res-C', 2);
SELECT inventory.reserve('res-C', 1) AS earlier \gset
SELECT substr(:'earlier', 15, 1) AS version,
       inventory.reserve('res-C', 1) > :'earlier' AS later_sorts_after;
