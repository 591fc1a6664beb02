-- A narrated walk through the life of a few orders. Run by bin/demo.
\pset footer off
\set QUIET on

\echo
\echo '--- The shop after the ERP sync -------------------------------------------'
SELECT sku, location, on_hand, reserved, salable FROM inventory.stock_levels ORDER BY sku, location;

\echo '--- 1. An Amazon order for 2 black T-shirts (M) is imported -----------------'
\echo '    (M2E Pro: "QTY 12, 2 bought, 10 available on Amazon")'
SELECT inventory.reserve('TSHIRT-BLK-M', 2, location => 'berlin', channel => 'amazon',
                         idempotency_key => 'amazon:302-1111111-1111111',
                         owner => 'order 302-1111111-1111111') AS amazon_hold \gset
SELECT inventory.salable_qty('TSHIRT-BLK-M', 'berlin') AS "salable in berlin";

\echo '--- 2. The connector imports the same order again (a retry): nothing more is held'
SELECT inventory.reserve('TSHIRT-BLK-M', 2, location => 'berlin', channel => 'amazon',
                         idempotency_key => 'amazon:302-1111111-1111111') = :'amazon_hold' AS "same reservation";
SELECT inventory.salable_qty('TSHIRT-BLK-M', 'berlin') AS "salable in berlin";

\echo '--- 3. The buyer cancels: the 2 units are salable again ----------------------'
SELECT inventory.release(:'amazon_hold', 'cancelled by buyer') AS released;
SELECT inventory.release(:'amazon_hold', 'duplicate cancel event') AS "released again (harmless)";
SELECT inventory.salable_qty('TSHIRT-BLK-M', 'berlin') AS "salable in berlin";

\echo '--- 4. A web-shop order for 3 hoodies ships from berlin ---------------------'
SELECT inventory.reserve('HOODIE-GRY-L', 3, location => 'berlin', channel => 'web', ttl => '30 minutes') AS web_hold \gset
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'HOODIE-GRY-L' AND location = 'berlin';
SELECT inventory.commit(:'web_hold') AS committed;
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'HOODIE-GRY-L' AND location = 'berlin';

\echo '--- 5. A fourth hoodie in berlin? The shop says no, with SQLSTATE IR001 -----'
\set ON_ERROR_STOP off
SELECT inventory.reserve('HOODIE-GRY-L', 1, location => 'berlin');
\set ON_ERROR_STOP on
\echo '    SQLSTATE' :LAST_ERROR_SQLSTATE '- the client offers hamburg instead:'
SELECT inventory.salable_qty('HOODIE-GRY-L', 'hamburg') AS "salable in hamburg";

\echo '--- 6. A cart holds a cap for 2 seconds and is abandoned --------------------'
SELECT inventory.reserve('CAP-RED', 1, location => 'hamburg', ttl => '2 seconds', owner => 'cart 77') AS cart_hold \gset
SELECT inventory.salable_qty('CAP-RED') AS "salable caps";
SELECT pg_sleep(3) \gset
SELECT inventory.salable_qty('CAP-RED') AS "salable caps 3 s later";
SELECT state FROM inventory.reservations WHERE id = :'cart_hold';

\echo '--- The log explains every unit ---------------------------------------------'
SELECT logged_at::time(0) AS at, event, sku, location, quantity, reason
  FROM inventory.reservation_log WHERE event <> 'set_on_hand' ORDER BY id;
