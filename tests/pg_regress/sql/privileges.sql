-- Least privilege. Nothing is executable by PUBLIC; an application role gets EXECUTE on the
-- functions it needs and no rights on the tables; a reporting role reads views.
CREATE ROLE inventory_test_app;
CREATE ROLE inventory_test_report;
GRANT USAGE ON SCHEMA inventory TO inventory_test_app, inventory_test_report;
GRANT EXECUTE ON FUNCTION
    inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text),
    inventory.reserve_many(jsonb, interval, text, text, text, timestamptz),
    inventory.release(uuid, text, bigint), inventory.commit(uuid, bigint, text, bigint), inventory.confirm(uuid, text, bigint),
    inventory.acknowledge(uuid, text, bigint), inventory.extend(uuid, interval, timestamptz, text, bigint),
    inventory.update_quantity(uuid, bigint, text, bigint),
    inventory.salable_qty(text, text), inventory.is_salable(text, bigint, text)
  TO inventory_test_app;
GRANT SELECT ON inventory.stock_levels, inventory.reservations TO inventory_test_app;
GRANT EXECUTE ON FUNCTION inventory.salable_qty(text, text), inventory.verify(), inventory.worker_status()
  TO inventory_test_report;
GRANT SELECT ON inventory.stock_levels, inventory.reservations, inventory.reservation_log,
                inventory.channels, inventory.worker_status TO inventory_test_report;

SELECT inventory.set_on_hand('priv-A', 5);

-- A role with no grants can call nothing.
CREATE ROLE inventory_test_nobody;
SET ROLE inventory_test_nobody;
SELECT inventory.salable_qty('priv-A');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The application reserves, releases and commits through the API.
SET ROLE inventory_test_app;
SELECT inventory.reserve('priv-A', 2) AS cancelled \gset
SELECT inventory.reserve('priv-A', 1) AS shipped \gset
SELECT inventory.release(:'cancelled', 'buyer cancelled');
SELECT inventory.commit(:'shipped');
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'priv-A';

-- ...but cannot write the tables directly, nor call what it was not granted.
UPDATE inventory.stock SET on_hand = 1000 WHERE sku = 'priv-A';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO inventory.reservation (sku, location, quantity, expires_at) VALUES ('priv-A', 'default', 1, now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM inventory.log WHERE sku = 'priv-A';
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM inventory.log LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.set_on_hand('priv-A', 1000);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.prune_log('1 second');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The log names the role that acted, not the owner the functions run as.
SELECT event, quantity, actor FROM inventory.reservation_log WHERE sku = 'priv-A' ORDER BY id;

-- The reporting role reads views and verify(), and writes nothing.
SET ROLE inventory_test_report;
SELECT sku, on_hand, salable FROM inventory.stock_levels WHERE sku = 'priv-A';
SELECT count(*) FROM inventory.reservation_log WHERE sku = 'priv-A';
SELECT count(*) AS problems FROM inventory.verify() WHERE sku = 'priv-A';
SELECT count(*) AS worker_rows FROM inventory.worker_status;
SELECT inventory.reserve('priv-A', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- search_path tricks: objects of the caller's that shadow built-ins are never used by the
-- API (every call pins search_path to pg_catalog, pg_temp).
CREATE SCHEMA inventory_test_evil;
CREATE FUNCTION inventory_test_evil.uuid_v7() RETURNS uuid
    LANGUAGE sql AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
CREATE FUNCTION inventory_test_evil.bigint_minus(bigint, bigint) RETURNS bigint
    LANGUAGE sql AS $$ SELECT 1000000::bigint $$;
CREATE OPERATOR inventory_test_evil.- (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = inventory_test_evil.bigint_minus);
CREATE FUNCTION inventory_test_evil.statement_timestamp() RETURNS timestamptz
    LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz $$;
CREATE FUNCTION inventory_test_evil.zero_sum(bigint, bigint) RETURNS bigint
    LANGUAGE sql AS $$ SELECT 0::bigint $$;
CREATE AGGREGATE inventory_test_evil.sum(bigint) (SFUNC = inventory_test_evil.zero_sum, STYPE = bigint);
SET search_path = inventory_test_evil, pg_catalog, public;
SELECT inventory.reserve('priv-A', 1) <> '00000000-0000-0000-0000-000000000000' AS real_uuid;
SELECT inventory.reserve('priv-A', 100);                  -- still refused: no fake arithmetic
\echo :LAST_ERROR_SQLSTATE
SELECT expires_at > pg_catalog.now() AS real_deadline     -- not the caller's clock
  FROM inventory.reservation WHERE sku = 'priv-A' ORDER BY created_at DESC LIMIT 1;
SELECT inventory.salable_qty('priv-A');                   -- not the caller's sum
SELECT count(*) AS problems FROM inventory.verify() WHERE sku = 'priv-A';
RESET search_path;
DROP SCHEMA inventory_test_evil CASCADE;

-- How each function runs: the C functions switch to their owner and pin search_path
-- themselves (src/fmgr.rs), the SQL and PL/pgSQL ones are SECURITY DEFINER with a pinned
-- search_path; reconcile_items runs only inside reconcile.
SELECT p.proname, l.lanname, p.prosecdef, p.proconfig
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'inventory'::regnamespace
 ORDER BY 2, 1;

DROP OWNED BY inventory_test_app, inventory_test_report, inventory_test_nobody;
DROP ROLE inventory_test_app, inventory_test_report, inventory_test_nobody;
