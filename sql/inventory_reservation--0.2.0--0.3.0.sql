-- inventory_reservation 0.2.0 -> 0.3.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- Reservation ids become time-ordered (UUID version 7), so new holds append to the id
-- indexes instead of touching a random page each. Existing ids stay as they are: they are
-- only compared for equality. Install the new library first. Tested in
-- tests/integration/tests/upgrade.rs against a fresh install of 0.3.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit

-- Before any DDL, every table a sweep uses, in the order it locks them, without ever waiting
-- while holding one of them (src/locks.rs, take_tables_for_ddl): a sweep or a client can then
-- never meet this update in a lock cycle.
CREATE FUNCTION inventory.take_tables_for_ddl() RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'inventory_take_tables_for_ddl';
SELECT inventory.take_tables_for_ddl();
DROP FUNCTION inventory.take_tables_for_ddl();

CREATE FUNCTION inventory.uuid_v7()
RETURNS uuid LANGUAGE c VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'inventory_uuid_v7';
COMMENT ON FUNCTION inventory.uuid_v7() IS
  'A new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, 12 bits of sub-millisecond time, 62 random bits. The default of reservation.id; ids sort by the time they were made.';
REVOKE ALL ON FUNCTION inventory.uuid_v7() FROM PUBLIC;

ALTER TABLE inventory.reservation ALTER COLUMN id SET DEFAULT inventory.uuid_v7();
