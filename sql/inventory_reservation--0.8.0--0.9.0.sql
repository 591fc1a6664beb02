-- inventory_reservation 0.8.0 -> 0.9.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- Fast by default; see CHANGELOG.md. What the schema gains:
-- - stock.buckets_pinned: adaptation splits contended items into escrow buckets and folds them
--   back when calm, except items pinned with set_buckets. Items that have buckets now had them
--   set by hand, so they are pinned; every other item adapts. Also in the view stock_levels.
-- - stock_split_idx: the items adaptation split, for the worker.
-- - set_buckets(..., pin DEFAULT NULL: pinned); dropped and created again (a parameter list cannot
--   change in place), its grants given to the new one as 0.8.0 did.
-- - salable_qty_many(skus text[], location): the batch read.
-- - No CHECK constraints on stock, stock_bucket and reservation: PostgreSQL parsed them again
--   for every write. verify() reports the rules they held (negative, invalid).
-- Install the 0.9.0 library, restart the server, then run this in each database. Until then
-- set_buckets fails with 42703 and nothing adapts; reserves, reads and sweeps keep working.
-- Tested in tests/integration/tests/upgrade.rs against a fresh install of 0.9.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl).
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

-- The CHECK constraints of the hot tables, whatever name each release gave them.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tab, conname FROM pg_catalog.pg_constraint
              WHERE contype = 'c'
                AND conrelid IN ('inventory.stock'::regclass, 'inventory.stock_bucket'::regclass, 'inventory.reservation'::regclass)
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', c.tab, c.conname);
    END LOOP;
END $$;

ALTER TABLE inventory.stock ADD COLUMN buckets_pinned boolean NOT NULL DEFAULT false;
UPDATE inventory.stock SET buckets_pinned = true WHERE buckets > 0;
COMMENT ON COLUMN inventory.stock.buckets IS 'Hot items: how many escrow buckets reserve spreads over (0: none). Set by adaptation when reserves of the item contend (inventory.adaptive_buckets), or pinned with inventory.set_buckets().';
COMMENT ON COLUMN inventory.stock.buckets_pinned IS 'true: buckets was set with inventory.set_buckets() and adaptation leaves it alone (set_buckets(sku, 0) pins one row).';

-- Items split by adaptation, which the expiry worker looks at to fold them back when calm.
-- Splits and folds are rare, so the index costs the counter updates nothing: they stay HOT.
CREATE INDEX stock_split_idx ON inventory.stock (sku, location) WHERE buckets > 0 AND NOT buckets_pinned;

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
       escrow.free                                                                    AS escrowed,
       s.buckets_pinned
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

COMMENT ON VIEW inventory.stock_levels IS
  'Stock per (sku, location): on_hand, units reserved by active holds, safety_stock, salable = on_hand - reserved - safety_stock (never negative), shortfall = units reserved beyond on_hand (backorders), the item settings, buckets (hot-item escrow buckets: split by adaptation when reserves contend, or pinned with set_buckets), escrowed (units granted to them and not yet reserved, part of salable) and buckets_pinned (set_buckets fixed the count; adaptation leaves it). Exact at the moment of the query.';

COMMENT ON VIEW inventory.reservation_log IS
  'The append-only log, one row per action, with the caller''s reason where it gave one. Reservation events: reserve, release, commit, expire, confirm, acknowledge, extend, settle (quantity = units of the hold; for commit the units shipped, part of the hold when reason says partial), update_quantity (quantity = the change), skip (a channel that does not reserve; quantity = units not held). Stock events: set_on_hand, adjust_on_hand (quantity = change of on_hand), configure_item (set_buckets included), reconcile (quantity = correction of held), split and fold (adaptation spread the item over escrow buckets, or brought it back to one row; quantity = the new bucket count, reason = why). Channel events: set_channel, with sku and location empty (they concern no item). actor is the role that called (inventory.caller()).';

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
    UNION ALL
    SELECT 'negative', b.sku, b.location, NULL::uuid, format('bucket %s holds %s free', b.bucket, b.free)
      FROM inventory.stock_bucket b
     WHERE b.free < 0 OR b.bucket < 0
    UNION ALL
    SELECT 'invalid', r.sku, r.location, r.id,
           CASE WHEN r.state = 'reserved' THEN 'reserved without a deadline' ELSE format('unknown state %s', r.state) END
      FROM inventory.reservation r
     WHERE r.state NOT IN ('reserved', 'confirmed', 'acknowledged', 'committed', 'released', 'expired')
        OR (r.state = 'reserved' AND r.expires_at IS NULL)
    UNION ALL
    SELECT 'invalid', s.sku, s.location, NULL::uuid, format('buckets %s, not 0 to 64', s.buckets)
      FROM inventory.stock s
     WHERE s.buckets NOT BETWEEN 0 AND 64
$$;
COMMENT ON FUNCTION inventory.verify() IS
  'One row per inconsistency: held_mismatch (a held counter differs from its active reservations plus its buckets'' free units), orphan_bucket (free units in a bucket of an item without buckets), orphan_reservation, missing_log (a reservation without its reserve or ending event), negative (a count or quantity below zero), invalid (an unknown state, a reserved hold without a deadline, a bucket count out of range). The tables hold these rules without CHECK constraints, which would cost every write (see sql/schema.sql). No rows when all is well. Reads only.';

COMMENT ON FUNCTION inventory.is_salable(text, bigint, text) IS
  'True when salable_qty(sku, location) >= quantity, or when a location does not limit reservations (manage_stock off or backorders on). A hint for shop pages: only reserve() holds stock.';

-- The grants of set_buckets, as GRANT statements on its successor, for this transaction only.
DO $$
DECLARE
    grants text;
BEGIN
    SELECT coalesce(string_agg(pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s;',
               'inventory.set_buckets(text, integer, text, text, boolean)',
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END,
               CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), ' '), '')
      INTO grants
      FROM pg_catalog.pg_proc f
      CROSS JOIN LATERAL pg_catalog.aclexplode(f.proacl) a
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
     WHERE f.oid = 'inventory.set_buckets(text, integer, text, text)'::regprocedure
       AND a.privilege_type = 'EXECUTE' AND a.grantee <> f.proowner;
    PERFORM pg_catalog.set_config('inventory_reservation.upgrade_grants', grants, true);
END $$;

DROP FUNCTION inventory.set_buckets(text, integer, text, text);

CREATE FUNCTION inventory.set_buckets(sku text, buckets integer, location text DEFAULT 'default', reason text DEFAULT NULL, pin boolean DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_buckets';
COMMENT ON FUNCTION inventory.set_buckets(text, integer, text, text, boolean) IS
  'Hot items: spread reserve over 1 to 64 escrow buckets, so concurrent buyers of the item lock different rows; 0: one row. Contended items split by themselves (inventory.adaptive_buckets); this pins a count instead, and adaptation leaves a pinned item alone: set_buckets(sku, 0) keeps it to one row for good. pin => false sets the count and hands the item back to adaptation (pin NULL, the default, pins). Units move from the item to a bucket in chunks and back when the item needs them, so no unit is sold twice and none is refused while salable. Creates the item if new; logged as configure_item.';

CREATE FUNCTION inventory.salable_qty_many(skus text[], location text DEFAULT NULL)
RETURNS TABLE (sku text, salable bigint) LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_salable_qty_many';
COMMENT ON FUNCTION inventory.salable_qty_many(text[], text) IS
  'salable_qty of many skus in one call, for listing pages and channel syncs: one row per element of skus, in their order (0 for an unknown sku), all read at the same moment. location as in salable_qty.';

-- As in a fresh install, nothing new is executable by PUBLIC.
REVOKE ALL ON FUNCTION
    inventory.set_buckets(text, integer, text, text, boolean),
    inventory.salable_qty_many(text[], text)
  FROM PUBLIC;

-- The grants of the replaced function, on its successor. GRANT in an extension script
-- records the new ACL as the extension's initial privileges (pg_init_privs), which pg_dump
-- leaves out; put back what a fresh install records, so that pg_dump still dumps them.
DO $$
DECLARE
    grants text := pg_catalog.current_setting('inventory_reservation.upgrade_grants');
    initial pg_catalog.pg_init_privs[];
BEGIN
    IF grants = '' THEN
        RETURN;
    END IF;
    SELECT pg_catalog.array_agg(i) INTO initial
      FROM pg_catalog.pg_init_privs i JOIN pg_catalog.pg_proc p ON p.oid = i.objoid
     WHERE i.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.pronamespace = 'inventory'::pg_catalog.regnamespace;
    EXECUTE grants;
    UPDATE pg_catalog.pg_init_privs i SET initprivs = s.initprivs
      FROM pg_catalog.unnest(initial) s
     WHERE i.objoid = s.objoid AND i.classoid = s.classoid AND i.objsubid = s.objsubid;
END $$;
