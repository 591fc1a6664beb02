-- inventory_reservation 0.1.0 -> 0.2.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- Hot items: escrow buckets (stock.buckets, table stock_bucket, set_buckets), which
-- stock_levels, verify() and reconcile() now count. Install the new library first; the
-- API needs this update before its next call. Tested in tests/integration/tests/upgrade.rs
-- against a fresh install of 0.2.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl): a sweep or a client can then
-- never meet this update in a lock cycle.
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

ALTER TABLE inventory.stock
    ADD COLUMN buckets smallint NOT NULL DEFAULT 0 CHECK (buckets BETWEEN 0 AND 64);
COMMENT ON TABLE inventory.stock IS
  'Stock per (sku, location). held is the sum of active reservations plus the free units of the item''s escrow buckets, kept in the same transaction as the reservation rows. Write it through the inventory functions only.';
COMMENT ON COLUMN inventory.stock.held IS 'Units held by active reservations, including lapsed ones not yet swept, plus free units granted to escrow buckets; the views subtract both.';
COMMENT ON COLUMN inventory.stock.buckets IS 'Hot items: how many escrow buckets reserve spreads over (0: none). Set with inventory.set_buckets().';

-- Escrow for hot items (see README, "Hot items"). Units granted to a bucket are taken out of
-- the item's salable units (they count in stock.held) and handed out by reserve one bucket
-- row at a time, so concurrent buyers of one SKU lock different rows. Invariant:
-- stock.held = units of active reservations + sum(stock_bucket.free).
CREATE TABLE inventory.stock_bucket (
    sku      text     NOT NULL,
    location text     NOT NULL,
    bucket   smallint NOT NULL CHECK (bucket >= 0),
    free     bigint   NOT NULL DEFAULT 0 CHECK (free >= 0),
    PRIMARY KEY (sku, location, bucket)
) WITH (fillfactor = 50);  -- every reserve updates one of these rows: keep the updates HOT

COMMENT ON TABLE inventory.stock_bucket IS
  'Escrow buckets of hot items: free units set aside from stock.held for reserve to hand out without locking the item row. Written by the inventory functions only.';
COMMENT ON COLUMN inventory.stock_bucket.free IS 'Units granted to this bucket and not yet reserved; salable, and counted in stock.held.';

SELECT pg_catalog.pg_extension_config_dump('inventory.stock_bucket', '');

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
        WHERE r.sku = s.sku AND r.location = s.location
          AND r.state = 'reserved' AND r.expires_at <= statement_timestamp()) lapsed
 -- Units granted to buckets and not yet reserved are salable. Only items with buckets can
 -- have any (set_buckets drains them when it turns buckets off), so others skip the lookup.
 CROSS JOIN LATERAL (
       SELECT CASE WHEN s.buckets = 0 THEN 0::bigint
                   ELSE (SELECT COALESCE(sum(b.free), 0)::bigint FROM inventory.stock_bucket b
                          WHERE b.sku = s.sku AND b.location = s.location) END AS free) escrow;

COMMENT ON VIEW inventory.stock_levels IS
  'Stock per (sku, location): on_hand, units reserved by active holds, safety_stock, salable = on_hand - reserved - safety_stock (never negative), shortfall = units reserved beyond on_hand (backorders), the item settings, buckets (hot-item escrow buckets, see set_buckets) and escrowed (units granted to them and not yet reserved, part of salable). Exact at the moment of the query.';

CREATE FUNCTION inventory.set_buckets(sku text, buckets integer, location text DEFAULT 'default')
RETURNS void LANGUAGE c VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'inventory_set_buckets';
COMMENT ON FUNCTION inventory.set_buckets(text, integer, text) IS
  'Hot items (flash sales): spread reserve over 1 to 64 escrow buckets, so concurrent buyers of the item lock different rows; 0 turns it off. Units move from the item to a bucket in chunks and back when the item needs them, so no unit is sold twice and none is refused while salable. Creates the item if new; logged as configure_item.';

REVOKE ALL ON FUNCTION inventory.set_buckets(text, integer, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION inventory.verify()
RETURNS TABLE (problem text, sku text, location text, reservation uuid, detail text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'held_mismatch', s.sku, s.location, NULL::uuid,
           format('held %s, active reservations hold %s', s.held, COALESCE(a.quantity, 0))
           || CASE WHEN e.free > 0 THEN format(', buckets hold %s free', e.free) ELSE '' END
      FROM inventory.stock s
      LEFT JOIN (SELECT r.sku, r.location, sum(r.quantity)::bigint AS quantity
                   FROM inventory.reservation r
                  WHERE r.state IN ('reserved', 'confirmed', 'acknowledged')
                  GROUP BY r.sku, r.location) a
             ON a.sku = s.sku AND a.location = s.location
      LEFT JOIN (SELECT b.sku, b.location, sum(b.free)::bigint AS free
                   FROM inventory.stock_bucket b
                  GROUP BY b.sku, b.location) e
             ON e.sku = s.sku AND e.location = s.location
     WHERE s.held <> COALESCE(a.quantity, 0) + COALESCE(e.free, 0)
    UNION ALL
    SELECT 'orphan_bucket', b.sku, b.location, NULL::uuid, format('bucket %s holds %s free', b.bucket, b.free)
      FROM inventory.stock_bucket b
     WHERE b.free > 0
       AND NOT EXISTS (SELECT 1 FROM inventory.stock s
                        WHERE s.sku = b.sku AND s.location = b.location AND s.buckets > 0)
    UNION ALL
    SELECT 'orphan_reservation', r.sku, r.location, r.id, 'no stock record for its item'
      FROM inventory.reservation r
     WHERE NOT EXISTS (SELECT 1 FROM inventory.stock s WHERE s.sku = r.sku AND s.location = r.location)
    UNION ALL
    SELECT 'missing_log', r.sku, r.location, r.id, 'no reserve event in the log'
      FROM inventory.reservation r
     WHERE NOT EXISTS (SELECT 1 FROM inventory.log l WHERE l.reservation_id = r.id AND l.event = 'reserve')
    UNION ALL
    SELECT 'missing_log', r.sku, r.location, r.id, format('%s, but no event in the log ended it', r.state)
      FROM inventory.reservation r
     WHERE r.state IN ('committed', 'released', 'expired')
       AND NOT EXISTS (SELECT 1 FROM inventory.log l
                        WHERE l.reservation_id = r.id AND l.event IN ('commit', 'release', 'expire', 'settle'))
    UNION ALL
    SELECT 'negative', s.sku, s.location, NULL::uuid,
           format('on_hand %s, held %s, safety_stock %s', s.on_hand, s.held, s.safety_stock)
      FROM inventory.stock s
     WHERE s.on_hand < 0 OR s.held < 0 OR s.safety_stock < 0
    UNION ALL
    SELECT 'negative', r.sku, r.location, r.id, format('quantity %s', r.quantity)
      FROM inventory.reservation r
     WHERE r.quantity <= 0
$$;
COMMENT ON FUNCTION inventory.verify() IS
  'One row per inconsistency: held_mismatch (a held counter differs from its active reservations plus its buckets'' free units), orphan_bucket (free units in a bucket of an item without buckets), orphan_reservation, missing_log (a reservation without its reserve or ending event), negative. No rows when all is well. Reads only.';

CREATE OR REPLACE FUNCTION inventory.reconcile()
RETURNS TABLE (sku text, location text, held_before bigint, held_after bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
COMMENT ON FUNCTION inventory.reconcile() IS
  'Recompute held counters from the reservation rows, log each correction (event reconcile) and return it. Locks only the items it corrects, one at a time.';
