-- The SQL surface of inventory_reservation: views, functions, comments, privileges.
-- Functions are C functions in the extension library (src/api/*.rs), verify() SQL and
-- reconcile_items() PL/pgSQL. None is STRICT: a NULL argument raises 22004 instead of
-- silently returning NULL (a parameter whose default is NULL takes NULL as "not given").
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

COMMENT ON VIEW inventory.stock_levels IS
  'Stock per (sku, location): on_hand, units reserved by active holds, safety_stock, salable = on_hand - reserved - safety_stock (never negative), shortfall = units reserved beyond on_hand (backorders), the item settings, buckets (hot-item escrow buckets, see set_buckets) and escrowed (units granted to them and not yet reserved, part of salable). Exact at the moment of the query.';

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
  'The append-only log, one row per action, with the caller''s reason where it gave one. Reservation events: reserve, release, commit, expire, confirm, acknowledge, extend, settle (quantity = units of the hold; for commit the units shipped, part of the hold when reason says partial), update_quantity (quantity = the change), skip (a channel that does not reserve; quantity = units not held). Stock events: set_on_hand, adjust_on_hand (quantity = change of on_hand), configure_item, reconcile (quantity = correction of held). Channel events: set_channel, with sku and location empty (they concern no item). actor is the role that called (inventory.caller()).';

---------------------------------------------------------------------------------------
-- Who acts: the role that called into the API, for the log.

CREATE FUNCTION inventory.caller() RETURNS text
LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'inventory_caller';
COMMENT ON FUNCTION inventory.caller() IS
  'The role on whose behalf the API runs: current_user as the caller had it when it called the outermost inventory function under way (the caller''s own SECURITY DEFINER wrapper included), or current_user outside one. Default of inventory.log.actor.';
ALTER TABLE inventory.log ALTER COLUMN actor SET DEFAULT inventory.caller();

---------------------------------------------------------------------------------------
-- Stock.

CREATE FUNCTION inventory.set_on_hand(sku text, quantity bigint, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_on_hand';
COMMENT ON FUNCTION inventory.set_on_hand(text, bigint, text, text) IS
  'Set the absolute on-hand quantity of (sku, location), as an ERP sync sends it; creates the item if new. Returns the new salable quantity. Logged as set_on_hand with the change.';

CREATE FUNCTION inventory.adjust_on_hand(sku text, delta bigint, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_adjust_on_hand';
COMMENT ON FUNCTION inventory.adjust_on_hand(text, bigint, text, text) IS
  'Add delta to on_hand (receipts, returns; negative for shrinkage); on_hand never goes below zero. Creates the item if new. Returns the new salable quantity.';

CREATE FUNCTION inventory.salable_qty(sku text, location text DEFAULT NULL)
RETURNS bigint LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_salable_qty';
COMMENT ON FUNCTION inventory.salable_qty(text, text) IS
  'Units that can still be sold: on_hand - reserved - safety_stock, never negative; summed over locations when location is NULL; 0 for an unknown sku. Exact at read time.';

CREATE FUNCTION inventory.is_salable(sku text, quantity bigint DEFAULT 1, location text DEFAULT NULL)
RETURNS boolean LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_is_salable';
COMMENT ON FUNCTION inventory.is_salable(text, bigint, text) IS
  'True when salable_qty(sku, location) >= quantity. A hint for shop pages: only reserve() holds stock.';

---------------------------------------------------------------------------------------
-- Reservations.

CREATE FUNCTION inventory.reserve(
    sku text,
    quantity bigint,
    ttl interval DEFAULT NULL,
    owner text DEFAULT NULL,
    location text DEFAULT 'default',
    idempotency_key text DEFAULT NULL,
    channel text DEFAULT NULL,
    metadata jsonb DEFAULT NULL,
    expires_at timestamptz DEFAULT NULL,
    line_ref text DEFAULT NULL)
RETURNS uuid LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_reserve';
COMMENT ON FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text) IS
  'Hold quantity units of (sku, location) until commit, release or expiry, atomically: never oversells. Returns the reservation id, or raises IR001 (insufficient stock) / IR002 (unknown item) / 55P03 (the units are in lapsed holds another transaction has locked; retry). location is ''default'' unless named (location => ''berlin''): the third argument is ttl. Deadline: ttl from now, or expires_at (not both), else the channel''s default_ttl, else inventory.default_ttl. A channel with reserve = false holds nothing, logs a skip and returns NULL. The same idempotency_key returns the same reservation and holds nothing more. line_ref: the caller''s own reference of the line, stored with the hold.';

CREATE FUNCTION inventory.reserve_many(
    items jsonb,
    ttl interval DEFAULT NULL,
    owner text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    channel text DEFAULT NULL,
    expires_at timestamptz DEFAULT NULL)
RETURNS uuid[] LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_reserve_many';
COMMENT ON FUNCTION inventory.reserve_many(jsonb, interval, text, text, text, timestamptz) IS
  'Hold a whole order, all lines or none: items is [{"sku": "A", "quantity": 2, "location": "berlin", "line_ref": "li-1"}, ...] (location and line_ref optional). Returns one id per line in input order. Items are locked in (sku, location) order, so concurrent orders never deadlock. A malformed element raises 22023 naming it. A channel with reserve = false holds nothing, logs a skip per line and returns NULL.';

-- Every transition takes a reason for the log and an expected_version: given, the call
-- changes nothing and raises IR006 unless the reservation is still at that version.

CREATE FUNCTION inventory.release(reservation uuid, reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_release';
COMMENT ON FUNCTION inventory.release(uuid, text, bigint) IS
  'Cancel a reservation and give its units back. True if released now; false if it was already released or expired (a duplicate cancel is harmless). IR004 after commit; IR006 when expected_version is given and stale.';

CREATE FUNCTION inventory.commit(reservation uuid, quantity bigint DEFAULT NULL, reason text DEFAULT NULL,
                                 expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_commit';
COMMENT ON FUNCTION inventory.commit(uuid, bigint, text, bigint) IS
  'The order shipped or went to fulfilment. Without quantity (or with all of it): on_hand drops by the hold''s quantity and the hold ends; true once, false on a repeat. With fewer units: they leave on_hand and the hold, the rest stays held in the same state with the same deadline, logged as a commit of the units shipped; not idempotent without expected_version (a retried call ships again). 22023 for more units than it holds; IR004 for a released or expired reservation; IR006 when expected_version is given and stale.';

CREATE FUNCTION inventory.confirm(reservation uuid, reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_confirm';
COMMENT ON FUNCTION inventory.confirm(uuid, text, bigint) IS
  'Payment approved (VTEX "Confirmed reservation"): the hold no longer expires. True once, false on a repeat or after acknowledge; IR004 for an ended or lapsed reservation; IR006 when expected_version is given and stale.';

CREATE FUNCTION inventory.acknowledge(reservation uuid, reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_acknowledge';
COMMENT ON FUNCTION inventory.acknowledge(uuid, text, bigint) IS
  'Handling started (VTEX "Acknowledged reservation"): the hold stays until commit, or until the next set_on_hand of its item settles it (the ERP count already excludes its units). True once, false on a repeat; IR006 when expected_version is given and stale.';

CREATE FUNCTION inventory.extend(reservation uuid, ttl interval DEFAULT NULL, expires_at timestamptz DEFAULT NULL,
                                 reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS timestamptz LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_extend';
COMMENT ON FUNCTION inventory.extend(uuid, interval, timestamptz, text, bigint) IS
  'A new deadline for a reserved hold (for example when payment starts): ttl from now, or expires_at (one of the two); returns it. IR004 for holds without a deadline (confirmed, acknowledged) or ended ones; IR006 when expected_version is given and stale.';

CREATE FUNCTION inventory.update_quantity(reservation uuid, quantity bigint, reason text DEFAULT NULL,
                                          expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_update_quantity';
COMMENT ON FUNCTION inventory.update_quantity(uuid, bigint, text, bigint) IS
  'Hold a new quantity (commercetools "Updated"): more is checked against salable stock (IR001), fewer gives units back; on_hand is unchanged. True if it changed, false if it already was that quantity; IR006 when expected_version is given and stale.';

CREATE FUNCTION inventory.expire_stale(batch_size integer DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_expire_stale';
COMMENT ON FUNCTION inventory.expire_stale(integer) IS
  'Record up to batch_size (default: the setting inventory.expire_batch_size) lapsed holds as expired, earliest deadline first, returning their units to the counters in one short transaction. Returns how many. The background worker calls this; reads are exact without it.';

---------------------------------------------------------------------------------------
-- Channels, item settings, policies.

CREATE FUNCTION inventory.set_channel(channel text, reserve boolean DEFAULT NULL, default_ttl interval DEFAULT NULL,
                                      reason text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_channel';
COMMENT ON FUNCTION inventory.set_channel(text, boolean, interval, text) IS
  'Create a channel or change its rules; NULL leaves a rule as it is (a new channel reserves, with inventory.default_ttl). reserve = false makes reserve() hold nothing for it and log a skip (Amazon FBA, "Do Not Reserve Quantity"); default_ttl is used when a reservation gives no ttl (M2E Pro: 1 to 14 days), and interval ''0'' removes it again. Logged as set_channel when something changed.';

CREATE FUNCTION inventory.configure_item(sku text, location text DEFAULT 'default', manage_stock boolean DEFAULT NULL,
                                         backorders boolean DEFAULT NULL, safety_stock bigint DEFAULT NULL,
                                         reason text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_configure_item';
COMMENT ON FUNCTION inventory.configure_item(text, text, boolean, boolean, bigint, text) IS
  'Item settings; NULL leaves a setting as it is; creates the item if new. manage_stock = false: reservations are recorded but never limited. backorders = true: reservations may exceed on_hand (shortfall in stock_levels). safety_stock: units kept out of salable. Logged as configure_item with what changed (and the reason, if given).';

CREATE FUNCTION inventory.set_buckets(sku text, buckets integer, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_buckets';
COMMENT ON FUNCTION inventory.set_buckets(text, integer, text, text) IS
  'Hot items (flash sales): spread reserve over 1 to 64 escrow buckets, so concurrent buyers of the item lock different rows; 0 turns it off. Units move from the item to a bucket in chunks and back when the item needs them, so no unit is sold twice and none is refused while salable. Creates the item if new; logged as configure_item.';

CREATE FUNCTION inventory.payment_hold_until(payment_due timestamptz, incomplete boolean DEFAULT false)
RETURNS timestamptz LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_payment_hold_until';
COMMENT ON FUNCTION inventory.payment_hold_until(timestamptz, boolean) IS
  'VTEX''s reservation deadline for an order paid by due date: payment_due plus 4 calendar days when it falls on Sunday to Tuesday, 5 on Wednesday to Friday, 6 on Saturday, 11 for incomplete orders. The weekday is taken in the session''s TimeZone. Use as reserve(..., expires_at => inventory.payment_hold_until(due)).';

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
$$;
COMMENT ON FUNCTION inventory.verify() IS
  'One row per inconsistency: held_mismatch (a held counter differs from its active reservations plus its buckets'' free units), orphan_bucket (free units in a bucket of an item without buckets), orphan_reservation, missing_log (a reservation without its reserve or ending event), negative. No rows when all is well. Reads only.';

CREATE FUNCTION inventory.reconcile()
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

---------------------------------------------------------------------------------------
-- Retention.

CREATE FUNCTION inventory.prune_log(older_than interval)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_prune_log';
COMMENT ON FUNCTION inventory.prune_log(interval) IS
  'Delete history older than older_than: log rows of stock events and of reservations that ended before the cutoff, and those reservations. Active reservations and their events are kept. Returns how many log rows went. For the owner (or a maintenance role): not granted to applications.';

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
      USING HINT = 'Reads stay exact without it. Run SELECT inventory.expire_stale() on a schedule (pg_cron: SELECT cron.schedule(''inventory-expiry'', ''10 seconds'', ''SELECT inventory.expire_stale()'')), or preload the library and restart.';
  END IF;
END $$;

---------------------------------------------------------------------------------------
-- Privileges: nothing is callable by PUBLIC; grant to application roles (see docs/operations.md).

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA inventory FROM PUBLIC;

-- Tell the worker about this database now, instead of at its next probe.
SELECT inventory.wake_worker();
