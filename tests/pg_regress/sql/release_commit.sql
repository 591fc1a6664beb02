-- Ending holds: a cancel gives units back, a shipment takes them off the shelf.
SELECT inventory.set_on_hand('end-A', 10);
SELECT inventory.reserve('end-A', 2) AS cancelled \gset
SELECT inventory.reserve('end-A', 3) AS shipped \gset
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'end-A';

SELECT inventory.release(:'cancelled', 'buyer cancelled');
SELECT inventory.release(:'cancelled');                  -- a duplicate cancel event: false
SELECT inventory.commit(:'shipped');
SELECT inventory.commit(:'shipped');                     -- a repeat: false
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'end-A';

-- Transitions that make no sense raise IR004 and change nothing.
SELECT inventory.commit(:'cancelled');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.release(:'shipped');
\echo :LAST_ERROR_SQLSTATE

-- An unknown id raises IR003.
SELECT inventory.release('00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE

SELECT state, count(*) FROM inventory.reservations WHERE sku = 'end-A' GROUP BY state ORDER BY state;
SELECT event, quantity, reason FROM inventory.reservation_log WHERE sku = 'end-A' ORDER BY id;
