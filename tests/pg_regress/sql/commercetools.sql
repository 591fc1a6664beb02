-- commercetools reservation states with our API. Their InventoryEntry has quantityOnStock
-- (our on_hand) and availableQuantity (our salable).
SELECT inventory.set_on_hand('ct-SHOE', 10);

-- Created: availableQuantity drops by the reserved quantity, quantityOnStock does not.
SELECT inventory.reserve('ct-SHOE', 2, owner => 'cart c1 line l1', ttl => '20 minutes') AS r1 \gset
SELECT on_hand AS "quantityOnStock", salable AS "availableQuantity" FROM inventory.stock_levels WHERE sku = 'ct-SHOE';

-- Updated: the line quantity changes; availableQuantity follows, quantityOnStock does not.
SELECT inventory.update_quantity(:'r1', 5);
SELECT on_hand AS "quantityOnStock", salable AS "availableQuantity" FROM inventory.stock_levels WHERE sku = 'ct-SHOE';
SELECT inventory.update_quantity(:'r1', 3);
SELECT on_hand AS "quantityOnStock", salable AS "availableQuantity" FROM inventory.stock_levels WHERE sku = 'ct-SHOE';
SELECT inventory.update_quantity(:'r1', 20);              -- more than is available
\echo :LAST_ERROR_SQLSTATE

-- Released: the cart line is removed.
SELECT inventory.release(:'r1', 'line removed from cart');
SELECT salable AS "availableQuantity" FROM inventory.stock_levels WHERE sku = 'ct-SHOE';

-- Expired: commercetools says "it can take a few minutes" after expiresAt. Here the units
-- are available the moment the deadline passes, and the state reads expired.
SELECT inventory.reserve('ct-SHOE', 4, ttl => '1 second') AS r2 \gset
SELECT salable AS "availableQuantity" FROM inventory.stock_levels WHERE sku = 'ct-SHOE';
SELECT pg_sleep(1.2);
SELECT salable AS "availableQuantity" FROM inventory.stock_levels WHERE sku = 'ct-SHOE';
SELECT state FROM inventory.reservations WHERE id = :'r2';

-- Committed: allocated for fulfilment; quantityOnStock drops by the reserved quantity.
SELECT inventory.reserve('ct-SHOE', 2) AS r3 \gset
SELECT inventory.commit(:'r3');
SELECT on_hand AS "quantityOnStock", salable AS "availableQuantity" FROM inventory.stock_levels WHERE sku = 'ct-SHOE';

SELECT event, quantity, reason FROM inventory.reservation_log
 WHERE sku = 'ct-SHOE' AND event <> 'expire' ORDER BY id;
