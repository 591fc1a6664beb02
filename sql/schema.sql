-- Tables of inventory_reservation. Every hot table leads with sku so the schema can
-- later be distributed by sku (Citus). States and events are text, so a psql user reads them
-- as they are; the Rust core (core/src/state.rs) owns the names.
--
-- The hot tables (stock, stock_bucket, reservation) carry no CHECK constraints: PostgreSQL parses every
-- CHECK of a table again for each statement that writes it through SPI, which cost a reserve
-- more than all its index updates. The library validates every value before it writes (the
-- rules are in core/src/validate.rs and core/src/state.rs), and inventory.verify() reports
-- any row that breaks them (negative, invalid).

CREATE TABLE inventory.stock (
    sku          text        NOT NULL,
    location     text        NOT NULL,
    on_hand      bigint      NOT NULL DEFAULT 0,
    held         bigint      NOT NULL DEFAULT 0,
    safety_stock bigint      NOT NULL DEFAULT 0,
    manage_stock boolean     NOT NULL DEFAULT true,
    backorders   boolean     NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT statement_timestamp(),
    buckets      smallint    NOT NULL DEFAULT 0,
    buckets_pinned boolean   NOT NULL DEFAULT false,
    PRIMARY KEY (sku, location)
) WITH (fillfactor = 70);  -- room for HOT updates of the counters on hot items

-- Items split by adaptation, which the expiry worker looks at to fold them back when calm.
-- Splits and folds are rare, so the index costs the counter updates nothing: they stay HOT.
CREATE INDEX stock_split_idx ON inventory.stock (sku, location) WHERE buckets > 0 AND NOT buckets_pinned;

COMMENT ON TABLE inventory.stock IS
  'Stock per (sku, location). held is the sum of active reservations plus the free units of the item''s escrow buckets, kept in the same transaction as the reservation rows. Write it through the inventory functions only.';
COMMENT ON COLUMN inventory.stock.on_hand IS 'Physical units on hand, as the ERP counts them (set_on_hand, adjust_on_hand, lowered by commit).';
COMMENT ON COLUMN inventory.stock.held IS 'Units held by active reservations, including lapsed ones not yet swept, plus free units granted to escrow buckets; the views subtract both.';
COMMENT ON COLUMN inventory.stock.safety_stock IS 'Units kept out of the salable quantity.';
COMMENT ON COLUMN inventory.stock.manage_stock IS 'false: reservations are recorded but never limited (Magento "Manage Stock = No").';
COMMENT ON COLUMN inventory.stock.backorders IS 'true: reservations may exceed on_hand; the shortfall shows in inventory.stock_levels.';
COMMENT ON COLUMN inventory.stock.buckets IS 'Hot items: how many escrow buckets reserve spreads over (0: none). Set by adaptation when reserves of the item contend (inventory.adaptive_buckets), or pinned with inventory.set_buckets().';
COMMENT ON COLUMN inventory.stock.buckets_pinned IS 'true: buckets was set with inventory.set_buckets() and adaptation leaves it alone (set_buckets(sku, 0) pins one row).';

-- Escrow for hot items (see docs/performance.md, "Hot items"). Units granted to a bucket are taken out of
-- the item's salable units (they count in stock.held) and handed out by reserve one bucket
-- row at a time, so concurrent buyers of one SKU lock different rows. Invariant:
-- stock.held = units of active reservations + sum(stock_bucket.free).
CREATE TABLE inventory.stock_bucket (
    sku      text     NOT NULL,
    location text     NOT NULL,
    bucket   smallint NOT NULL,
    free     bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, location, bucket)
) WITH (fillfactor = 50);  -- every reserve updates one of these rows: keep the updates HOT

COMMENT ON TABLE inventory.stock_bucket IS
  'Escrow buckets of hot items: free units set aside from stock.held for reserve to hand out without locking the item row. Written by the inventory functions only.';
COMMENT ON COLUMN inventory.stock_bucket.free IS 'Units granted to this bucket and not yet reserved; salable, and counted in stock.held.';

-- Reservation ids are time-ordered, so a new hold lands on the right-hand page of the id
-- indexes instead of a random one (see core/src/id.rs).
CREATE FUNCTION inventory.uuid_v7()
RETURNS uuid LANGUAGE c VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'inventory_uuid_v7';
COMMENT ON FUNCTION inventory.uuid_v7() IS
  'A new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, 12 bits of sub-millisecond time, 62 random bits. The default of reservation.id; ids sort by the time they were made.';

CREATE TABLE inventory.reservation (
    id              uuid        NOT NULL DEFAULT inventory.uuid_v7() PRIMARY KEY,
    sku             text        NOT NULL,
    location        text        NOT NULL,
    quantity        bigint      NOT NULL,
    state           text        NOT NULL DEFAULT 'reserved',
    owner           text,
    channel         text,
    idempotency_key text,
    expires_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT statement_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT statement_timestamp(),
    metadata        jsonb,
    line_ref        text,
    version         bigint      NOT NULL DEFAULT 1
);

-- Lapsed-but-unswept holds of one item, subtracted at read time: sku-led, and tiny
-- when the worker keeps up (only rows still in state reserved are in it).
CREATE INDEX reservation_item_deadline_idx
    ON inventory.reservation (sku, location, expires_at) WHERE state = 'reserved';
-- The sweeper's queue: earliest deadline first. "quantity > 0" holds for every row (the
-- library never writes another; verify() would report one), so the index has the same rows as "state = 'reserved'" alone; it is there so that
-- only statements that say it, the sweeper's, can use this index. A read of one item says
-- only "expires_at <= now", and a generic plan estimating one lapsed hold either way could
-- otherwise take this index and filter it by item: every lapsed hold of a backlog per read.
-- The cost: an UPDATE of quantity (a resize) is no longer HOT; changes of state never were.
CREATE INDEX reservation_deadline_idx
    ON inventory.reservation (expires_at) WHERE state = 'reserved' AND quantity > 0;
-- Holds without a deadline (confirmed, acknowledged) of one item: set_on_hand settles the
-- acknowledged ones, verify() and reconcile() sum them.
CREATE INDEX reservation_item_undated_idx
    ON inventory.reservation (sku, location) WHERE state IN ('confirmed', 'acknowledged');
-- One reservation per idempotency key, for ever: a re-imported order finds its hold.
CREATE UNIQUE INDEX reservation_idempotency_key_idx
    ON inventory.reservation (idempotency_key) WHERE idempotency_key IS NOT NULL;

COMMENT ON TABLE inventory.reservation IS
  'One row per reservation. state is as stored: a reserved row past expires_at is already expired for every reader (see the view inventory.reservations).';
COMMENT ON COLUMN inventory.reservation.line_ref IS 'The caller''s own reference of the order line (commercetools lineItemId), as given to reserve or reserve_many.';
COMMENT ON COLUMN inventory.reservation.version IS 'Starts at 1 and grows by one with every change; a transition given expected_version refuses (IR006) unless it still matches.';

CREATE TABLE inventory.log (
    sku            text        NOT NULL,
    id             bigint      GENERATED ALWAYS AS IDENTITY,
    reservation_id uuid,
    location       text        NOT NULL,
    event          text        NOT NULL,
    quantity       bigint      NOT NULL,
    actor          text        NOT NULL DEFAULT current_user,
    logged_at      timestamptz NOT NULL DEFAULT statement_timestamp(),
    reason         text,
    PRIMARY KEY (sku, id)
);
CREATE INDEX log_reservation_idx ON inventory.log (reservation_id) WHERE reservation_id IS NOT NULL;
-- For pruning by age: the log is append-only, so rows are in time order and a BRIN index
-- stays tiny and costs next to nothing per insert.
CREATE INDEX log_logged_at_brin ON inventory.log USING brin (logged_at);

COMMENT ON TABLE inventory.log IS
  'Append-only log: one row per reservation action and per stock change. quantity is the units held or freed for reservation events, the change of on_hand for stock events.';

CREATE TABLE inventory.channel (
    name        text        PRIMARY KEY,
    reserve     boolean     NOT NULL DEFAULT true,
    default_ttl interval    CHECK (default_ttl > interval '0'),
    updated_at  timestamptz NOT NULL DEFAULT statement_timestamp()
);
COMMENT ON TABLE inventory.channel IS
  'Sales channels with their own reservation rules: reserve = false holds nothing (Amazon FBA "Do Not Reserve Quantity"); default_ttl replaces inventory.default_ttl for their reservations. Write it with inventory.set_channel().';

-- pg_dump keeps the rows of extension tables only when they are registered.
SELECT pg_catalog.pg_extension_config_dump('inventory.stock', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.reservation', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.log', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.channel', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.stock_bucket', '');
SELECT pg_catalog.pg_extension_config_dump('inventory.log_id_seq', '');
