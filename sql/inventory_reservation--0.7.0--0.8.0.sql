-- inventory_reservation 0.7.0 -> 0.8.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- The SQL surface made consistent; see CHANGELOG.md. What the schema gains:
-- - reservation.version (optimistic concurrency) and reservation.line_ref, also in the view
--   inventory.reservations.
-- - New trailing parameters: reason and expected_version on every transition, expires_at on
--   extend, line_ref on reserve, reason on set_channel, configure_item and set_buckets; the
--   two commit functions become one, commit(reservation, quantity DEFAULT NULL, ...). A
--   function's parameter list cannot change in place, so each is dropped and created again;
--   the grants it had are given to the new one, and not recorded as the extension's own
--   (pg_init_privs), so that pg_dump keeps dumping them.
-- - Changed defaults: set_channel's reserve (NULL: leave as it is), extend's ttl and
--   expire_stale's batch_size (NULL: the setting inventory.expire_batch_size).
-- - prune_log is a C function; worker_status() and wake_worker() are no longer STRICT.
-- Install the 0.8.0 library, restart the server, then run this at once in each database: the
-- library writes the new columns, so until then its writes and the worker's sweeps fail with
-- 42703 (reads keep working).
-- Tested in tests/integration/tests/upgrade.rs against a fresh install of 0.8.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl).
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

ALTER TABLE inventory.reservation ADD COLUMN line_ref text, ADD COLUMN version bigint NOT NULL DEFAULT 1;
COMMENT ON COLUMN inventory.reservation.line_ref IS 'The caller''s own reference of the order line (commercetools lineItemId), as given to reserve or reserve_many.';
COMMENT ON COLUMN inventory.reservation.version IS 'Starts at 1 and grows by one with every change; a transition given expected_version refuses (IR006) unless it still matches.';

CREATE OR REPLACE VIEW inventory.reservations AS
SELECT id, sku, location, quantity,
       CASE WHEN state = 'reserved' AND expires_at <= statement_timestamp() THEN 'expired' ELSE state END AS state,
       owner, channel, idempotency_key, expires_at, created_at, updated_at, metadata, line_ref, version
  FROM inventory.reservation;

COMMENT ON VIEW inventory.reservations IS
  'Every reservation with its state as of now: reserved, confirmed, acknowledged, committed, released or expired (a hold past expires_at shows as expired even before the sweep records it). version counts its changes: pass it as expected_version to a transition to refuse a stale decision. line_ref is the caller''s own reference of the order line.';

COMMENT ON VIEW inventory.reservation_log IS
  'The append-only log, one row per action, with the caller''s reason where it gave one. Reservation events: reserve, release, commit, expire, confirm, acknowledge, extend, settle (quantity = units of the hold; for commit the units shipped, part of the hold when reason says partial), update_quantity (quantity = the change), skip (a channel that does not reserve; quantity = units not held). Stock events: set_on_hand, adjust_on_hand (quantity = change of on_hand), configure_item, reconcile (quantity = correction of held). Channel events: set_channel, with sku and location empty (they concern no item). actor is the role that called (inventory.caller()).';

COMMENT ON FUNCTION inventory.reserve_many(jsonb, interval, text, text, text, timestamptz) IS
  'Hold a whole order, all lines or none: items is [{"sku": "A", "quantity": 2, "location": "berlin", "line_ref": "li-1"}, ...] (location and line_ref optional). Returns one id per line in input order. Items are locked in (sku, location) order, so concurrent orders never deadlock. A malformed element raises 22023 naming it. A channel with reserve = false holds nothing, logs a skip per line and returns NULL.';

-- The grants of the functions about to be replaced, as GRANT statements on their successors,
-- kept for this transaction only.
DO $$
DECLARE
    grants text := '';
    pair record;
BEGIN
    FOR pair IN SELECT * FROM (VALUES
        ('inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz)', 'inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text)'),
        ('inventory.release(uuid, text)', 'inventory.release(uuid, text, bigint)'),
        ('inventory.commit(uuid)', 'inventory.commit(uuid, bigint, text, bigint)'),
        ('inventory.commit(uuid, bigint)', 'inventory.commit(uuid, bigint, text, bigint)'),
        ('inventory.confirm(uuid)', 'inventory.confirm(uuid, text, bigint)'),
        ('inventory.acknowledge(uuid)', 'inventory.acknowledge(uuid, text, bigint)'),
        ('inventory.extend(uuid, interval)', 'inventory.extend(uuid, interval, timestamptz, text, bigint)'),
        ('inventory.update_quantity(uuid, bigint)', 'inventory.update_quantity(uuid, bigint, text, bigint)'),
        ('inventory.expire_stale(integer)', 'inventory.expire_stale(integer)'),
        ('inventory.set_channel(text, boolean, interval)', 'inventory.set_channel(text, boolean, interval, text)'),
        ('inventory.configure_item(text, text, boolean, boolean, bigint)', 'inventory.configure_item(text, text, boolean, boolean, bigint, text)'),
        ('inventory.set_buckets(text, integer, text)', 'inventory.set_buckets(text, integer, text, text)'),
        ('inventory.prune_log(interval)', 'inventory.prune_log(interval)')
    ) p(old, new) LOOP
        SELECT grants || coalesce(string_agg(pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s;',
                   pair.new,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), ' '), '')
          INTO grants
          FROM pg_catalog.pg_proc f
          CROSS JOIN LATERAL pg_catalog.aclexplode(f.proacl) a
          LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
         WHERE f.oid = pair.old::regprocedure AND a.privilege_type = 'EXECUTE' AND a.grantee <> f.proowner;
    END LOOP;
    PERFORM pg_catalog.set_config('inventory_reservation.upgrade_grants', grants, true);
END $$;

DROP FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz);
DROP FUNCTION inventory.release(uuid, text);
DROP FUNCTION inventory.commit(uuid);
DROP FUNCTION inventory.commit(uuid, bigint);
DROP FUNCTION inventory.confirm(uuid);
DROP FUNCTION inventory.acknowledge(uuid);
DROP FUNCTION inventory.extend(uuid, interval);
DROP FUNCTION inventory.update_quantity(uuid, bigint);
DROP FUNCTION inventory.expire_stale(integer);
DROP FUNCTION inventory.set_channel(text, boolean, interval);
DROP FUNCTION inventory.configure_item(text, text, boolean, boolean, bigint);
DROP FUNCTION inventory.set_buckets(text, integer, text);
DROP FUNCTION inventory.prune_log(interval);

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

CREATE FUNCTION inventory.prune_log(older_than interval)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_prune_log';
COMMENT ON FUNCTION inventory.prune_log(interval) IS
  'Delete history older than older_than: log rows of stock events and of reservations that ended before the cutoff, and those reservations. Active reservations and their events are kept. Returns how many log rows went. For the owner (or a maintenance role): not granted to applications.';

ALTER FUNCTION inventory.worker_status() CALLED ON NULL INPUT;
ALTER FUNCTION inventory.wake_worker() CALLED ON NULL INPUT;
COMMENT ON FUNCTION inventory.worker_status() IS
  'The expiry worker of this database, from shared memory: database, state (running, parked, unknown, not preloaded), launcher_pid and pid, started_at, last_run_at, expired_last_run and expired_total, next_wake_at, last_error and last_error_at.';
COMMENT ON FUNCTION inventory.wake_worker() IS
  'Ask for an expiry pass in this database now. False when the library is not preloaded (no worker).';

COMMENT ON VIEW inventory.worker_status IS
  'What the background worker does in this database. state = ''not preloaded'' means no worker: schedule SELECT inventory.expire_stale() instead.';

-- As in a fresh install, nothing new is executable by PUBLIC.
REVOKE ALL ON FUNCTION
    inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text),
    inventory.release(uuid, text, bigint),
    inventory.commit(uuid, bigint, text, bigint),
    inventory.confirm(uuid, text, bigint),
    inventory.acknowledge(uuid, text, bigint),
    inventory.extend(uuid, interval, timestamptz, text, bigint),
    inventory.update_quantity(uuid, bigint, text, bigint),
    inventory.expire_stale(integer),
    inventory.set_channel(text, boolean, interval, text),
    inventory.configure_item(text, text, boolean, boolean, bigint, text),
    inventory.set_buckets(text, integer, text, text),
    inventory.prune_log(interval)
  FROM PUBLIC;

-- The grants of the replaced functions, on their successors. GRANT in an extension script
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
