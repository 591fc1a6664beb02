-- Stock levels as an ERP sync and a warehouse send them.
SELECT inventory.set_on_hand('stock-A', 12);               -- new item, default location
SELECT inventory.set_on_hand('stock-A', 7, 'berlin');      -- same sku, second location
SELECT inventory.salable_qty('stock-A');                   -- all locations
SELECT inventory.salable_qty('stock-A', 'berlin');
SELECT inventory.salable_qty('stock-unknown');             -- unknown sku: 0

-- Receipts and shrinkage; on_hand never goes below zero.
SELECT inventory.adjust_on_hand('stock-A', 5, 'berlin', 'goods receipt');
SELECT inventory.adjust_on_hand('stock-A', -20, 'berlin', 'flood damage');
SELECT inventory.adjust_on_hand('stock-B', 4);              -- creates the item

SELECT sku, location, on_hand, reserved, safety_stock, salable
  FROM inventory.stock_levels WHERE sku LIKE 'stock-%' ORDER BY sku, location;

-- is_salable answers a shop page's question without holding anything.
SELECT inventory.is_salable('stock-A'), inventory.is_salable('stock-A', 12),
       inventory.is_salable('stock-A', 13), inventory.is_salable('stock-A', 1, 'berlin');

-- Reads write nothing, not even a transaction id: they run on a hot standby, and a
-- transaction that only reads commits without a commit record.
BEGIN;
SELECT inventory.salable_qty('stock-A') AS salable, inventory.salable_qty('stock-A', 'berlin') AS berlin,
       inventory.is_salable('stock-A', 5) AS is_salable,
       inventory.payment_hold_until('2026-11-20 12:00+00') IS NOT NULL AS has_deadline,
       (SELECT count(*) FROM inventory.worker_status) AS worker_rows;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;

-- Every change is in the log, as the change of on_hand.
SELECT event, sku, location, quantity, reason, actor
  FROM inventory.reservation_log WHERE sku LIKE 'stock-%' ORDER BY id;
