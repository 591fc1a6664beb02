-- The SQL surface of inventory_reservation: views, functions, comments, privileges.
-- Functions are C functions in the extension library (src/api/*.rs). None is STRICT:
-- a NULL argument raises 22004 instead of silently returning NULL.

---------------------------------------------------------------------------------------
-- Views. "Exact at read time": a reserved hold past its deadline counts as expired here
-- whether or not a sweep has recorded it yet.

CREATE VIEW inventory.stock_levels AS
SELECT s.sku,
       s.location,
       s.on_hand,
       s.held - lapsed.quantity                                        AS reserved,
       s.safety_stock,
       GREATEST(s.on_hand - (s.held - lapsed.quantity) - s.safety_stock, 0) AS salable,
       s.updated_at
  FROM inventory.stock s
 CROSS JOIN LATERAL (
       SELECT COALESCE(sum(r.quantity), 0)::bigint AS quantity
         FROM inventory.reservation r
        WHERE r.sku = s.sku AND r.location = s.location
          AND r.state = 'reserved' AND r.expires_at <= statement_timestamp()) lapsed;

COMMENT ON VIEW inventory.stock_levels IS
  'Stock per (sku, location): on_hand, units reserved by active holds, safety_stock, and salable = on_hand - reserved - safety_stock (never negative). Exact at the moment of the query.';

CREATE VIEW inventory.reservations AS
SELECT id, sku, location, quantity,
       CASE WHEN state = 'reserved' AND expires_at <= statement_timestamp() THEN 'expired' ELSE state END AS state,
       owner, channel, idempotency_key, expires_at, created_at, updated_at, metadata
  FROM inventory.reservation;

COMMENT ON VIEW inventory.reservations IS
  'Every reservation with its state as of now: reserved, committed, released or expired (a hold past expires_at shows as expired even before the sweep records it).';

CREATE VIEW inventory.reservation_log AS
SELECT id, reservation_id, sku, location, event, quantity, actor, logged_at, reason
  FROM inventory.log;

COMMENT ON VIEW inventory.reservation_log IS
  'The append-only log, one row per action: reserve, release, commit, expire (quantity = units held or freed) and set_on_hand, adjust_on_hand (quantity = change of on_hand). actor is current_user.';

---------------------------------------------------------------------------------------
-- Stock.

CREATE FUNCTION inventory.set_on_hand(sku text, quantity bigint, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'inventory_set_on_hand';
COMMENT ON FUNCTION inventory.set_on_hand(text, bigint, text, text) IS
  'Set the absolute on-hand quantity of (sku, location), as an ERP sync sends it; creates the item if new. Returns the new salable quantity. Logged as set_on_hand with the change.';

CREATE FUNCTION inventory.adjust_on_hand(sku text, delta bigint, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'inventory_adjust_on_hand';
COMMENT ON FUNCTION inventory.adjust_on_hand(text, bigint, text, text) IS
  'Add delta to on_hand (receipts, returns; negative for shrinkage); on_hand never goes below zero. Creates the item if new. Returns the new salable quantity.';

CREATE FUNCTION inventory.salable_qty(sku text, location text DEFAULT NULL)
RETURNS bigint LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'inventory_salable_qty';
COMMENT ON FUNCTION inventory.salable_qty(text, text) IS
  'Units that can still be sold: on_hand - reserved - safety_stock, never negative; summed over locations when location is NULL; 0 for an unknown sku. Exact at read time.';

CREATE FUNCTION inventory.is_salable(sku text, quantity bigint DEFAULT 1, location text DEFAULT NULL)
RETURNS boolean LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'inventory_is_salable';
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
    metadata jsonb DEFAULT NULL)
RETURNS uuid LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'inventory_reserve';
COMMENT ON FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb) IS
  'Hold quantity units of (sku, location) until commit, release or expiry, atomically: never oversells. Returns the reservation id, or raises IR001 (insufficient stock) / IR002 (unknown item). NULL ttl means inventory.default_ttl. The same idempotency_key returns the same reservation and holds nothing more.';

CREATE FUNCTION inventory.release(reservation uuid, reason text DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'inventory_release';
COMMENT ON FUNCTION inventory.release(uuid, text) IS
  'Cancel a reservation and give its units back. True if released now; false if it was already released or expired (a duplicate cancel is harmless). IR004 after commit.';

CREATE FUNCTION inventory.commit(reservation uuid)
RETURNS boolean LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'inventory_commit';
COMMENT ON FUNCTION inventory.commit(uuid) IS
  'The order shipped or went to fulfilment: on_hand drops by the quantity and the hold ends. True once, false on a repeat; IR004 for a released or expired reservation.';

CREATE FUNCTION inventory.expire_stale(batch_size integer DEFAULT 10000)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'inventory_expire_stale';
COMMENT ON FUNCTION inventory.expire_stale(integer) IS
  'Record up to batch_size lapsed holds as expired, earliest deadline first, returning their units to the counters in one short transaction. Returns how many. The background worker calls this; reads are exact without it.';

---------------------------------------------------------------------------------------
-- The background worker.

COMMENT ON FUNCTION inventory.worker_status() IS
  'The expiry worker of this database, from shared memory: state (running, parked, unknown, not preloaded), launcher and worker pids, when it started and last ran, how many holds it expired, when it runs next, its last error.';
COMMENT ON FUNCTION inventory.wake_worker() IS
  'Ask for an expiry pass in this database now. False when the library is not preloaded (no worker).';

CREATE VIEW inventory.worker_status AS SELECT * FROM inventory.worker_status();
COMMENT ON VIEW inventory.worker_status IS
  'What the background worker does in this database. preloaded = false means no worker: schedule SELECT inventory.expire_stale() instead.';

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
-- Privileges: nothing is callable by PUBLIC; grant to application roles (see README).

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA inventory FROM PUBLIC;

-- Tell the worker about this database now, instead of at its next probe.
SELECT inventory.wake_worker();
