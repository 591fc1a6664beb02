-- inventory_reservation 0.6.0 -> 0.7.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- Security fixes; see CHANGELOG.md. What the schema gains:
-- - The C functions switch to their owner themselves (src/fmgr.rs), so they are SECURITY
--   INVOKER now, without a SET clause; they still run as the owner with search_path pinned.
--   The log's actor is the role that called, also through a role's own SECURITY DEFINER code.
-- - reconcile() is a C function that runs the PL/pgSQL body, now reconcile_items(), as the
--   owner; its grants are kept.
-- - stock_levels computes salable in an order that cannot overflow: same columns and values.
-- Install the 0.7.0 library and restart first (the functions below are in it), then update.
-- Tested in tests/integration/tests/upgrade.rs against a fresh install of 0.7.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl): a sweep or a client can then
-- never meet this update in a lock cycle.
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'inventory'::regnamespace AND p.prosecdef
                AND p.prolang = (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c')
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SECURITY INVOKER RESET ALL', f);
    END LOOP;
END $$;

COMMENT ON FUNCTION inventory.caller() IS
  'The role on whose behalf the API runs: current_user as the caller had it when it called the outermost inventory function under way (the caller''s own SECURITY DEFINER wrapper included), or current_user outside one. Default of inventory.log.actor.';

CREATE OR REPLACE VIEW inventory.stock_levels AS
SELECT s.sku,
       s.location,
       s.on_hand,
       s.held - lapsed.quantity - escrow.free                                        AS reserved,
       s.safety_stock,
       -- In this order no step can leave the bigint range, whatever the counters hold.
       GREATEST(GREATEST(s.on_hand - (s.held - lapsed.quantity - escrow.free), 0) - s.safety_stock, 0) AS salable,
       GREATEST(s.held - lapsed.quantity - escrow.free - s.on_hand, 0)                    AS shortfall,
       s.manage_stock,
       s.backorders,
       s.updated_at,
       s.buckets,
       escrow.free                                                                    AS escrowed
  FROM inventory.stock s
 -- Lapsed holds not yet swept, from the item's own index (sku, location, expires_at): the
 -- scan ends at the item's first future deadline. The sweeper's global deadline index is out
 -- of reach here: its predicate also asks for "quantity > 0", which this does not say.
 CROSS JOIN LATERAL (
       SELECT COALESCE(sum(r.quantity), 0)::bigint AS quantity
         FROM inventory.reservation r
        WHERE r.sku = s.sku AND r.location = s.location
          AND r.state = 'reserved' AND r.expires_at <= statement_timestamp()) lapsed
 -- Units granted to buckets and not yet reserved are salable. Only items with buckets can
 -- have any (set_buckets drains them when it turns buckets off), so others skip the lookup.
 CROSS JOIN LATERAL (
       SELECT CASE WHEN s.buckets = 0 THEN 0::bigint
                   ELSE (SELECT COALESCE(sum(b.free), 0)::bigint FROM inventory.stock_bucket b
                          WHERE b.sku = s.sku AND b.location = s.location) END AS free) escrow;

CREATE OR REPLACE FUNCTION inventory.reconcile()
RETURNS TABLE (sku text, location text, held_before bigint, held_after bigint)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_reconcile';
COMMENT ON FUNCTION inventory.reconcile() IS
  'Recompute held counters from the reservation rows, log each correction (event reconcile, actor the calling role) and return it. Locks only the items it corrects, one at a time.';

-- The body of reconcile(), which runs it as the owner; not granted to anyone.
CREATE FUNCTION inventory.reconcile_items()
RETURNS TABLE (sku text, location text, held_before bigint, held_after bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item record;
    actual bigint;
    escrowed bigint;
BEGIN
    -- Lock and fix one mismatched item at a time; items that are fine are never locked.
    FOR item IN SELECT v.sku, v.location FROM inventory.verify() v WHERE v.problem = 'held_mismatch' LOOP
        SELECT s.held INTO held_before FROM inventory.stock s
         WHERE s.sku = item.sku AND s.location = item.location FOR UPDATE;
        -- Then the item's buckets, in order, as everywhere.
        SELECT COALESCE(sum(b.free), 0)::bigint INTO escrowed
          FROM (SELECT b.free FROM inventory.stock_bucket b
                 WHERE b.sku = item.sku AND b.location = item.location
                 ORDER BY b.bucket FOR UPDATE) b;
        SELECT COALESCE(sum(r.quantity), 0)::bigint INTO actual FROM inventory.reservation r
         WHERE r.sku = item.sku AND r.location = item.location
           AND r.state IN ('reserved', 'confirmed', 'acknowledged');
        CONTINUE WHEN actual + escrowed = held_before;
        -- Bucket units were granted against the wrong counter: take them back too, so none
        -- that does not exist stays on sale.
        UPDATE inventory.stock_bucket b SET free = 0
         WHERE b.sku = item.sku AND b.location = item.location AND b.free > 0;
        UPDATE inventory.stock s SET held = actual, updated_at = statement_timestamp()
         WHERE s.sku = item.sku AND s.location = item.location;
        INSERT INTO inventory.log (sku, location, event, quantity, reason)
        VALUES (item.sku, item.location, 'reconcile', actual - held_before,
                format('held %s -> %s, the sum of active reservations', held_before, actual)
                || CASE WHEN escrowed > 0 THEN format('; %s free bucket units taken back', escrowed) ELSE '' END);
        sku := item.sku; location := item.location; held_after := actual;
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION inventory.reconcile_items() IS
  'The work of inventory.reconcile(), which calls it as the owner so that the log names the calling role. Call reconcile() instead.';

REVOKE ALL ON FUNCTION inventory.reconcile_items() FROM PUBLIC;
