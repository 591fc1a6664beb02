-- inventory_reservation 0.3.0 -> 0.4.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- Reads stay fast during a backlog of lapsed holds. stock_levels tests a hold's deadline as
-- one row comparison with the item's key, which only the item's own index can serve; with
-- the plain "expires_at <= now" a generic plan could pick the sweeper's global deadline
-- index and read every lapsed hold of every item on each read. Same columns, same results.
-- Install the new library first. Tested in tests/integration/tests/upgrade.rs against a
-- fresh install of 0.4.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl): a sweep or a client can then
-- never meet this update in a lock cycle.
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

CREATE OR REPLACE VIEW inventory.stock_levels AS
SELECT s.sku,
       s.location,
       s.on_hand,
       s.held - lapsed.quantity - escrow.free                                        AS reserved,
       s.safety_stock,
       GREATEST(s.on_hand - (s.held - lapsed.quantity - escrow.free) - s.safety_stock, 0) AS salable,
       GREATEST(s.held - lapsed.quantity - escrow.free - s.on_hand, 0)                    AS shortfall,
       s.manage_stock,
       s.backorders,
       s.updated_at,
       s.buckets,
       escrow.free                                                                    AS escrowed
  FROM inventory.stock s
 CROSS JOIN LATERAL (
       SELECT COALESCE(sum(r.quantity), 0)::bigint AS quantity
         FROM inventory.reservation r
        WHERE r.sku = s.sku AND r.location = s.location AND r.state = 'reserved'
          AND (r.sku, r.location, r.expires_at) <= (s.sku, s.location, statement_timestamp())) lapsed
 CROSS JOIN LATERAL (
       SELECT CASE WHEN s.buckets = 0 THEN 0::bigint
                   ELSE (SELECT COALESCE(sum(b.free), 0)::bigint FROM inventory.stock_bucket b
                          WHERE b.sku = s.sku AND b.location = s.location) END AS free) escrow;
