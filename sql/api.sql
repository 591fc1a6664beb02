-- The SQL surface of inventory_reservation that is not a C function: views, verify() (SQL),
-- reconcile_items() (PL/pgSQL), comments, privileges. Each C function is declared beside
-- its body in src/api/*.rs (extension_sql!, read by build.rs for its typed arguments); this
-- file runs after all of them. No function is STRICT: a NULL argument raises 22004 instead
-- of silently returning NULL (a parameter whose default is NULL takes NULL as "not given").
--
-- Privileges: application roles need EXECUTE and no rights on the tables at all. Each C
-- function switches to its owner itself, as SECURITY DEFINER would, and pins search_path
-- (pg_catalog, pg_temp) for the call, so a caller's objects can never stand in for the ones
-- the functions use (src/fmgr.rs). Doing the switch in the function lets it note the calling
-- role first: the log records it (inventory.caller()), not the owner the functions run as.
-- verify() (SQL) is SECURITY DEFINER with the same pinned search_path; reconcile_items()
-- (PL/pgSQL) is granted to no one and runs only inside reconcile(), as the owner.

---------------------------------------------------------------------------------------
-- Views. "Exact at read time": a reserved hold past its deadline counts as expired here
-- whether or not a sweep has recorded it yet.

CREATE VIEW inventory.stock_levels AS
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

CREATE VIEW inventory.reservations AS
SELECT id, sku, location, quantity,
       CASE WHEN state = 'reserved' AND expires_at <= statement_timestamp() THEN 'expired' ELSE state END AS state,
       owner, channel, idempotency_key, expires_at, created_at, updated_at, metadata, line_ref, version
  FROM inventory.reservation;

COMMENT ON VIEW inventory.reservations IS
  'Every reservation with its state as of now: reserved, confirmed, acknowledged, committed, released or expired (a hold past expires_at shows as expired even before the sweep records it). version counts its changes: pass it as expected_version to a transition to refuse a stale decision. line_ref is the caller''s own reference of the order line.';

CREATE VIEW inventory.channels AS
SELECT name AS channel, reserve, default_ttl, updated_at FROM inventory.channel;

COMMENT ON VIEW inventory.channels IS
  'Sales channels and their reservation rules, as set with inventory.set_channel().';

CREATE VIEW inventory.reservation_log AS
SELECT id, reservation_id, sku, location, event, quantity, actor, logged_at, reason
  FROM inventory.log;

COMMENT ON VIEW inventory.reservation_log IS
  'The append-only log, one row per action, with the caller''s reason where it gave one. Reservation events: reserve, release, commit, expire, confirm, acknowledge, extend, settle (quantity = units of the hold; for commit the units shipped, part of the hold when reason says partial), update_quantity (quantity = the change), skip (a channel that does not reserve; quantity = units not held). Stock events: set_on_hand, adjust_on_hand (quantity = change of on_hand), configure_item (set_buckets included), reconcile (quantity = correction of held), split and fold (adaptation spread the item over escrow buckets, or brought it back to one row; quantity = the new bucket count, reason = why). Channel events: set_channel, with sku and location empty (they concern no item). actor is the role that called (inventory.caller()).';

---------------------------------------------------------------------------------------
-- Who acts: the role that called into the API (inventory.caller(), src/api/caller.rs).

ALTER TABLE inventory.log ALTER COLUMN actor SET DEFAULT inventory.caller();

---------------------------------------------------------------------------------------
-- Repair tools. Plain reads and short row locks: safe on a large, busy database.

CREATE FUNCTION inventory.verify()
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

---------------------------------------------------------------------------------------
-- Retention.

---------------------------------------------------------------------------------------
-- The background worker.

-- worker_status() and wake_worker() take no arguments; declared by the library (pgrx), which
-- marks such functions STRICT. Not STRICT here, like every other function.
ALTER FUNCTION inventory.worker_status() CALLED ON NULL INPUT;
ALTER FUNCTION inventory.wake_worker() CALLED ON NULL INPUT;
COMMENT ON FUNCTION inventory.worker_status() IS
  'The expiry worker of this database, from shared memory: database, state (running, parked, unknown, not preloaded), launcher_pid and pid, started_at, last_run_at, expired_last_run and expired_total, next_wake_at, last_error and last_error_at.';
COMMENT ON FUNCTION inventory.wake_worker() IS
  'Ask for an expiry pass in this database now. False when the library is not preloaded (no worker).';

CREATE VIEW inventory.worker_status AS SELECT * FROM inventory.worker_status();
COMMENT ON VIEW inventory.worker_status IS
  'What the background worker does in this database. state = ''not preloaded'' means no worker: schedule SELECT inventory.expire_stale() instead.';

-- A WARNING, not a NOTICE: PostgreSQL raises client_min_messages to WARNING while an
-- extension script runs, so a NOTICE here would never reach the user.
DO $$
BEGIN
  IF current_setting('shared_preload_libraries') !~ '(^|[\s,"])inventory_reservation($|[\s,"])' THEN
    RAISE WARNING 'inventory_reservation is not in shared_preload_libraries, so no background worker expires reservations'
      USING HINT = 'Reads stay exact without it. Run SELECT inventory.expire_stale() on a schedule (pg_cron: SELECT cron.schedule(''inventory-expiry'', ''* * * * *'', ''SELECT inventory.expire_stale()''); pg_cron 1.5 and later also take ''10 seconds''), or preload the library and restart.';
  END IF;
END $$;

---------------------------------------------------------------------------------------
-- Privileges: nothing is callable by PUBLIC; grant to application roles (see docs/operations.md).

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA inventory FROM PUBLIC;

-- Tell the worker about this database now, instead of at its next probe.
SELECT inventory.wake_worker();
