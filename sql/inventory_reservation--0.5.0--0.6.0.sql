-- inventory_reservation 0.5.0 -> 0.6.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- Partial shipments: inventory.commit(reservation, quantity) ships some of a hold's units and
-- keeps the rest held; the log view's comment says so. reserve's comment names 55P03, which
-- the 0.6.0 library raises when the units are in lapsed holds another transaction has locked.
-- Nothing else changes: no table, index or view definition. Install the 0.6.0 library first
-- (the new function is in it), then update.
-- Tested in tests/integration/tests/upgrade.rs against a fresh install of 0.6.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl): a sweep or a client can then
-- never meet this update in a lock cycle.
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

CREATE FUNCTION inventory.commit(reservation uuid, quantity bigint)
RETURNS boolean LANGUAGE c VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'inventory_commit_part';
COMMENT ON FUNCTION inventory.commit(uuid, bigint) IS
  'Part of the order shipped: quantity units leave on_hand and the hold; the rest stays held, in the same state and with the same deadline. All of it is the same as commit(reservation). Logged as commit with the units shipped. True when units shipped, false if the hold was already committed; 22023 for more units than it holds, IR004 for a released, expired or lapsed reservation. Not idempotent: a retried call ships again.';

-- As every API function: not callable by PUBLIC until granted (see README, Privileges).
REVOKE ALL ON FUNCTION inventory.commit(uuid, bigint) FROM PUBLIC;

COMMENT ON FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz) IS
  'Hold quantity units of (sku, location) until commit, release or expiry, atomically: never oversells. Returns the reservation id, or raises IR001 (insufficient stock) / IR002 (unknown item) / 55P03 (the units are in lapsed holds another transaction has locked; retry). Deadline: ttl from now, or expires_at (not both), else the channel''s default_ttl, else inventory.default_ttl. A channel with reserve = false holds nothing and returns NULL. The same idempotency_key returns the same reservation and holds nothing more.';

-- The log's commit rows may now be part of a hold.
COMMENT ON VIEW inventory.reservation_log IS
  'The append-only log, one row per action. Reservation events: reserve, release, commit, expire, confirm, acknowledge, extend, settle (quantity = units of the hold; for commit the units shipped, part of the hold when reason says partial), update_quantity (quantity = the change), skip (a channel that does not reserve; quantity = units not held). Stock events: set_on_hand, adjust_on_hand (quantity = change of on_hand), configure_item, reconcile (quantity = correction of held). actor is current_user.';
