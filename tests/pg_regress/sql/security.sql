-- What an adversarial review found in 0.6.0, each as it now behaves.

-- Arithmetic cannot overflow for any stored value. Through the API a quantity is at most
-- 10^15 units (errors.sql); counters written past that some other way still read without
-- 22003, and sums over locations stop at the bigint maximum.
SELECT inventory.configure_item('sec-BO', backorders => true, safety_stock => 2);
SELECT inventory.reserve('sec-BO', 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
UPDATE inventory.stock SET held = 9223372036854775807 WHERE sku = 'sec-BO';
SELECT sku, on_hand, reserved, salable, shortfall FROM inventory.stock_levels WHERE sku = 'sec-BO';
SELECT inventory.salable_qty('sec-BO'), inventory.is_salable('sec-BO', 1);
SELECT inventory.reserve('sec-BO', 1) IS NOT NULL;
\echo :LAST_ERROR_SQLSTATE
UPDATE inventory.stock SET held = 0 WHERE sku = 'sec-BO';
INSERT INTO inventory.stock (sku, location, on_hand) VALUES ('sec-BIG', 'a', 9223372036854775807), ('sec-BIG', 'b', 9223372036854775807);
SELECT inventory.salable_qty('sec-BIG'), inventory.salable_qty('sec-BIG', 'a'), inventory.is_salable('sec-BIG', 1000000000000000);
DELETE FROM inventory.stock WHERE sku = 'sec-BIG';

-- One key, one reservation: an order under a key never replays as a different order, and a
-- key used for an order cannot be used for a single hold, or the other way round.
SELECT inventory.set_on_hand('sec-M3', 20);
SELECT inventory.reserve_many('[{"sku": "sec-M3", "quantity": 1}, {"sku": "sec-M3", "quantity": 2}]',
                              idempotency_key => 'sec-ORD-1') AS first_order \gset
SELECT inventory.reserve_many('[{"sku": "sec-M3", "quantity": 1}, {"sku": "sec-M3", "quantity": 2}]',
                              idempotency_key => 'sec-ORD-1') = :'first_order' AS same_order_replays;
SELECT inventory.reserve_many('[{"sku": "sec-M3", "quantity": 1}]', idempotency_key => 'sec-ORD-1');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "sec-M3", "quantity": 1}, {"sku": "sec-M3", "quantity": 2}, {"sku": "sec-M3", "quantity": 3}]',
                              idempotency_key => 'sec-ORD-1');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('sec-M3', 5, idempotency_key => 'sec-ORD-1');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('sec-M3', 1, idempotency_key => 'sec-ORD-1#1') = (:'first_order'::uuid[])[1] AS a_line_replays;
SELECT inventory.reserve('sec-M3', 4, idempotency_key => 'sec-ONE') AS single \gset
SELECT inventory.reserve_many('[{"sku": "sec-M3", "quantity": 4}]', idempotency_key => 'sec-ONE');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('sec-M3', 4, idempotency_key => 'sec-ONE') = :'single' AS single_replays;
-- A key of a line's form only finds a line: no single hold can pass for one later.
SELECT inventory.reserve('sec-M3', 2, idempotency_key => 'sec-ORD-1#3');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('sec-M3', 1, idempotency_key => 'sec-NEW#1');
\echo :LAST_ERROR_SQLSTATE
SELECT held FROM inventory.stock WHERE sku = 'sec-M3';

-- The log names the role that called into the API, also through a SECURITY DEFINER function
-- of that role's which another role runs: current_user at the API boundary is the function's
-- owner, so the owner is the actor, not the session's role.
CREATE ROLE inventory_test_shop;
CREATE ROLE inventory_test_clerk;
CREATE ROLE inventory_test_maintenance;
GRANT USAGE ON SCHEMA inventory TO inventory_test_shop, inventory_test_maintenance;
GRANT EXECUTE ON FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text)
  TO inventory_test_shop;
GRANT EXECUTE ON FUNCTION inventory.reconcile() TO inventory_test_maintenance;
CREATE FUNCTION public.inventory_test_place(sku text) RETURNS uuid
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT inventory.reserve(sku, 1) $$;
ALTER FUNCTION public.inventory_test_place(text) OWNER TO inventory_test_shop;
REVOKE ALL ON FUNCTION public.inventory_test_place(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.inventory_test_place(text) TO inventory_test_clerk;
SET ROLE inventory_test_clerk;
SELECT public.inventory_test_place('sec-M3') IS NOT NULL AS placed;
RESET ROLE;
SELECT event, quantity, actor FROM inventory.reservation_log WHERE sku = 'sec-M3' ORDER BY id DESC LIMIT 1;
-- A database not yet updated to 0.7.0 still declares the functions SECURITY DEFINER, so
-- PostgreSQL has switched to the owner before the function runs: the log then names the
-- session's role, as 0.6.0 did, not the owner.
ALTER FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text) SECURITY DEFINER;
SET ROLE inventory_test_shop;
SELECT inventory.reserve('sec-M3', 1) IS NOT NULL AS placed;
RESET ROLE;
ALTER FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text) SECURITY INVOKER;
SELECT event, quantity, actor FROM inventory.reservation_log WHERE sku = 'sec-M3' ORDER BY id DESC LIMIT 1;
-- reconcile logs its corrections as the role that ran it.
UPDATE inventory.stock SET held = held + 1 WHERE sku = 'sec-M3';
SET ROLE inventory_test_maintenance;
SELECT * FROM inventory.reconcile();
RESET ROLE;
SELECT event, quantity, actor FROM inventory.reservation_log WHERE sku = 'sec-M3' ORDER BY id DESC LIMIT 1;
SELECT count(*) AS problems FROM inventory.verify() WHERE sku LIKE 'sec-%';
DROP FUNCTION public.inventory_test_place(text);
DROP OWNED BY inventory_test_shop, inventory_test_clerk, inventory_test_maintenance;
DROP ROLE inventory_test_shop, inventory_test_clerk, inventory_test_maintenance;
