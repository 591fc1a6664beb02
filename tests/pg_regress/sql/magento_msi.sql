-- Magento MSI: salable quantity = quantity - reservations, per sales event. Two sources
-- (warehouses) feed one stock: our locations, summed when no location is given.
SELECT inventory.set_on_hand('msi-LAMP', 6, 'msi-source-a');
SELECT inventory.set_on_hand('msi-LAMP', 4, 'msi-source-b');

-- GetProductSalableQty, IsProductSalable, IsProductSalableForRequestedQty.
SELECT inventory.salable_qty('msi-LAMP') AS salable_qty,
       inventory.is_salable('msi-LAMP') AS is_salable,
       inventory.is_salable('msi-LAMP', 11) AS salable_for_11;

-- Order placement creates a reservation: the salable quantity drops.
SELECT inventory.reserve('msi-LAMP', 3, location => 'msi-source-a', owner => 'order 000000042') AS o42 \gset
SELECT inventory.salable_qty('msi-LAMP');

-- Cancellation compensates: the units are salable again.
SELECT inventory.release(:'o42', 'order canceled');
SELECT inventory.salable_qty('msi-LAMP');

-- Shipment: the source deduction happens, the reservation is compensated.
SELECT inventory.reserve('msi-LAMP', 2, location => 'msi-source-b', owner => 'order 000000043') AS o43 \gset
SELECT inventory.commit(:'o43');
SELECT location, on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'msi-LAMP' ORDER BY location;

-- A shipment of part of an order (MSI compensates per shipment): 2 of 3 units ship, the
-- third stays held, in the same state, until the next shipment or a cancel.
SELECT inventory.reserve('msi-LAMP', 3, location => 'msi-source-a', owner => 'order 000000044') AS o44 \gset
SELECT inventory.commit(:'o44', 2) AS shipped_two;
SELECT state, quantity FROM inventory.reservations WHERE id = :'o44';
SELECT inventory.release(:'o44', 'last item canceled');
SELECT location, on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'msi-LAMP' ORDER BY location;

-- MSI's known oversell: qty 1 and two "place order" clicks both succeed (magento/inventory
-- #2722). Here the check and the hold are one atomic step: the second click is refused.
SELECT inventory.set_on_hand('msi-LAST', 1);
SELECT inventory.reserve('msi-LAST', 1, owner => 'click 1') IS NOT NULL AS first_click;
SELECT inventory.reserve('msi-LAST', 1, owner => 'click 2') AS second_click;
\echo :LAST_ERROR_SQLSTATE
SELECT salable FROM inventory.stock_levels WHERE sku = 'msi-LAST';

-- Out-of-stock threshold: units kept out of the salable quantity.
SELECT inventory.configure_item('msi-LAMP', 'msi-source-a', safety_stock => 2);
SELECT inventory.salable_qty('msi-LAMP', 'msi-source-a');

-- Backorders: orders may exceed the quantity; the shortfall is visible.
SELECT inventory.configure_item('msi-LAMP', 'msi-source-b', backorders => true);
SELECT inventory.reserve('msi-LAMP', 5, location => 'msi-source-b') IS NOT NULL AS backordered;
SELECT location, on_hand, reserved, salable, shortfall FROM inventory.stock_levels WHERE sku = 'msi-LAMP' ORDER BY location;

-- Manage Stock = No: always salable, reservations still recorded.
SELECT inventory.configure_item('msi-EBOOK', manage_stock => false);
SELECT inventory.reserve('msi-EBOOK', 1000) IS NOT NULL AS recorded, inventory.is_salable('msi-EBOOK', 1000000);

-- Reservations are append-only in MSI; here every action is in the log instead.
SELECT event, location, quantity, reason FROM inventory.reservation_log WHERE sku = 'msi-LAMP' ORDER BY id;
