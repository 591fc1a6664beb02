-- M2E Pro "Quantity Reservation" for imported Amazon orders, with our API.
-- Their example: a product listed on Amazon with QTY = 12; 2 are bought and the Amazon order
-- is imported before the Magento order exists.
SELECT inventory.set_on_hand('m2e-TEE', 12);
-- The account's reservation period: 1 day by default, 1 to 14 days selectable.
SELECT inventory.set_channel('m2e-amazon', default_ttl => '1 day');

-- The Amazon order is imported: the 2 units are reserved, Amazon shows 10.
SELECT inventory.reserve('m2e-TEE', 2, channel => 'm2e-amazon', owner => 'amazon order 111',
                         idempotency_key => 'm2e-amazon:111') AS amazon_order \gset
SELECT inventory.salable_qty('m2e-TEE') AS "available on Amazon";
SELECT quantity, state, expires_at - created_at AS reservation_period
  FROM inventory.reservations WHERE id = :'amazon_order';

-- The import runs again (a retry): nothing more is reserved.
SELECT inventory.reserve('m2e-TEE', 2, channel => 'm2e-amazon', idempotency_key => 'm2e-amazon:111') = :'amazon_order' AS same_reservation;
SELECT inventory.salable_qty('m2e-TEE') AS "available on Amazon";

-- "Cancel QTY Reserve": the reserved quantity is released and available to buyers again.
SELECT inventory.release(:'amazon_order', 'Cancel QTY Reserve clicked');
SELECT inventory.salable_qty('m2e-TEE') AS "available on Amazon";

-- A longer period for another account, up to 14 days.
SELECT inventory.set_channel('m2e-amazon-de', default_ttl => '14 days');
SELECT inventory.reserve('m2e-TEE', 1, channel => 'm2e-amazon-de') AS de_order \gset
SELECT expires_at - created_at AS reservation_period FROM inventory.reservations WHERE id = :'de_order';

-- When the period runs out before the Magento order is created, the reservation ends by
-- itself: here with a 1 second period, to watch it happen. Another order of the same channel
-- gets its Magento order in time: confirming it there ends the period, so its hold stays
-- until it ships.
SELECT inventory.set_channel('m2e-amazon-fast', default_ttl => '1 second');
SELECT inventory.reserve('m2e-TEE', 3, channel => 'm2e-amazon-fast') AS fast_order \gset
SELECT inventory.reserve('m2e-TEE', 1, channel => 'm2e-amazon-fast') AS fast_created \gset
SELECT inventory.confirm(:'fast_created') AS magento_order_created;
SELECT inventory.salable_qty('m2e-TEE') AS "available on Amazon";
SELECT pg_sleep(1.5);
SELECT inventory.salable_qty('m2e-TEE') AS "available after the period";
SELECT state FROM inventory.reservations WHERE id = :'fast_order';
SELECT state FROM inventory.reservations WHERE id = :'fast_created';
SELECT inventory.commit(:'fast_created') AS shipped_after_the_period;

-- The Magento order is created and later shipped: the held unit leaves stock.
SELECT inventory.commit(:'de_order');
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'm2e-TEE';

-- M2E Pro reserves only when Magento manages the stock: with "Manage Stock = No" holds are
-- recorded but never limit sales.
SELECT inventory.configure_item('m2e-GIFT', manage_stock => false);
SELECT inventory.reserve('m2e-GIFT', 5) IS NOT NULL AS recorded, inventory.is_salable('m2e-GIFT', 100);

-- "All actions related to the Quantity Reservation are logged."
SELECT event, quantity, reason FROM inventory.reservation_log
 WHERE sku = 'm2e-TEE' AND event <> 'expire' ORDER BY id;
