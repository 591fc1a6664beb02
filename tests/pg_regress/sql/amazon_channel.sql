-- Adobe Commerce's Amazon sales channel: "Reserve Quantity" or "Do Not Reserve Quantity"
-- (for FBA, Amazon fulfils from its own stock), and order import when Amazon marks an
-- order Unshipped.
SELECT inventory.set_on_hand('amz-MUG', 20);
SELECT inventory.set_channel('amz-merchant', reserve => true, default_ttl => '2 days');
SELECT inventory.set_channel('amz-fba', reserve => false);
SELECT channel, reserve, default_ttl FROM inventory.channels WHERE channel LIKE 'amz-%' ORDER BY channel;

-- An order becomes Unshipped and is imported: Reserve Quantity holds the units, so the
-- storefront cannot sell them again.
SELECT inventory.reserve('amz-MUG', 3, channel => 'amz-merchant', idempotency_key => 'amz:114-0000001') AS merchant_order \gset
SELECT inventory.salable_qty('amz-MUG') AS "storefront salable";

-- The status-change trigger fires twice: the import is harmless the second time.
SELECT inventory.reserve('amz-MUG', 3, channel => 'amz-merchant', idempotency_key => 'amz:114-0000001') = :'merchant_order' AS same;
SELECT inventory.salable_qty('amz-MUG') AS "storefront salable";

-- An FBA order with Do Not Reserve Quantity: nothing is held, reserve returns NULL, and the
-- log says why.
SELECT inventory.reserve('amz-MUG', 4, channel => 'amz-fba') IS NULL AS nothing_held;
SELECT inventory.salable_qty('amz-MUG') AS "storefront salable";

-- A whole multi-item Amazon order at once, all lines or none.
SELECT inventory.set_on_hand('amz-COASTER', 1);
SELECT inventory.reserve_many('[{"sku": "amz-MUG", "quantity": 2}, {"sku": "amz-COASTER", "quantity": 2}]',
                              channel => 'amz-merchant');
\echo :LAST_ERROR_SQLSTATE
SELECT sku, reserved FROM inventory.stock_levels WHERE sku IN ('amz-MUG', 'amz-COASTER') ORDER BY sku;
SELECT array_length(inventory.reserve_many('[{"sku": "amz-MUG", "quantity": 2}, {"sku": "amz-COASTER", "quantity": 1}]',
                                           channel => 'amz-merchant', idempotency_key => 'amz:114-0000002'), 1) AS lines_held;
SELECT sku, reserved, salable FROM inventory.stock_levels WHERE sku IN ('amz-MUG', 'amz-COASTER') ORDER BY sku;

-- The merchant-fulfilled order ships.
SELECT inventory.commit(:'merchant_order');
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'amz-MUG';

SELECT event, quantity, reason FROM inventory.reservation_log WHERE sku = 'amz-MUG' ORDER BY id;
