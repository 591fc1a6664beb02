-- inventory_reservation 0.4.0 -> 0.5.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- Reads end their index scan at the item's first future deadline again. 0.4.0 kept reads off
-- the sweeper's global deadline index by writing their deadline test as a row comparison,
-- which PostgreSQL 15's btree cannot end a scan on, so a read passed over all of the item's
-- open holds. Now the deadline index's predicate also says "quantity > 0" (true of every row,
-- by CHECK), which only the sweeper's statements state, and the reads go back to the plain
-- "expires_at <= now". Same columns, same results.
-- The update holds the tables from its start (see the lock below), so reads and writes of
-- inventory wait while the new index is built (0.73 s for 1M holds). Restart the server
-- with the new library first (the 0.4.0 worker's next-deadline query does not say
-- "quantity > 0"), and update every database soon after.
-- Tested in tests/integration/tests/upgrade.rs against a fresh install of 0.5.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl): a sweep or a client can then
-- never meet this update in a lock cycle.
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

CREATE INDEX reservation_deadline_idx_0_5_0
    ON inventory.reservation (expires_at) WHERE state = 'reserved' AND quantity > 0;
DROP INDEX inventory.reservation_deadline_idx;
ALTER INDEX inventory.reservation_deadline_idx_0_5_0 RENAME TO reservation_deadline_idx;

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
