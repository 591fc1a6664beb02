-- Benchmark objects, loaded by bench/run into a fresh database that has the extension.
--
--   naive.*       the baseline as one would first write it in PL/pgSQL:
--                 SELECT ... FOR UPDATE, check, UPDATE, INSERT, INSERT
--   floor.*       the least work the counter model can do: one statement per action
--   lean.*        tables as a developer writes them by hand: bigint identity ids, only the
--                 indexes the code needs. Two implementations use them: lean_naive.* (the
--                 PL/pgSQL of naive) and lean_floor.* (the statements of floor)
--   bench.*       thin wrappers that give all implementations the same calling shape
--                 for pgbench, plus helpers to load and check data
--
-- Ours in its default configuration is "ext". "ext_pinned" is the same extension on SKUs of
-- its own (named 'p' || sku, see bench.sku_of) that get escrow buckets by hand: a reference.
--
-- All write the same rows: the stock counter, a reservation row and a log row per
-- reserve or release. naive's and floor's tables are copied from the extension's with LIKE
-- (columns, defaults, CHECKs, indexes) and get its storage options (fillfactor), so a
-- change to sql/schema.sql reaches them without touching this file. Statements
-- that look for lapsed holds across all items say "quantity > 0", as the extension's sweeper
-- does: that is what opens the copied deadline index to them (see sql/schema.sql).

CREATE SCHEMA bench;
CREATE SCHEMA naive;
CREATE SCHEMA floor;
CREATE SCHEMA lean;
CREATE SCHEMA lean_naive;
CREATE SCHEMA lean_floor;

DO $$
DECLARE
  s text;
  t text;
  opts text[];
BEGIN
  FOREACH s IN ARRAY ARRAY['naive', 'floor'] LOOP
    FOREACH t IN ARRAY ARRAY['stock', 'reservation', 'log'] LOOP
      EXECUTE format('CREATE TABLE %I.%I (LIKE inventory.%I INCLUDING ALL)', s, t, t);
      SELECT reloptions INTO opts FROM pg_class WHERE oid = format('inventory.%I', t)::regclass;
      IF opts IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %I.%I SET (%s)', s, t, array_to_string(opts, ', '));
      END IF;
    END LOOP;
    -- The extension's log may default actor to one of its own functions; the baselines
    -- must not call into the extension, so they record current_user, which is the same here.
    EXECUTE format('ALTER TABLE %I.log ALTER COLUMN actor SET DEFAULT current_user', s);
  END LOOP;
END $$;

---------------------------------------------------------------------------------------
-- lean: the tables a developer writes by hand. No fillfactor, no CHECKs, no deadline index
-- per item: the primary keys, and one partial index for expiry.

CREATE TABLE lean.stock (
    sku          text   NOT NULL,
    location     text   NOT NULL,
    on_hand      bigint NOT NULL DEFAULT 0,
    held         bigint NOT NULL DEFAULT 0,
    safety_stock bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, location)
);

CREATE TABLE lean.reservation (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku        text        NOT NULL,
    location   text        NOT NULL,
    quantity   bigint      NOT NULL,
    state      text        NOT NULL DEFAULT 'reserved',
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Expiry finds lapsed holds by deadline. Reads that subtract lapsed holds use it too.
CREATE INDEX reservation_expires_at_idx ON lean.reservation (expires_at) WHERE state = 'reserved';

CREATE TABLE lean.log (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reservation_id bigint,
    sku            text        NOT NULL,
    location       text        NOT NULL,
    event          text        NOT NULL,
    quantity       bigint      NOT NULL,
    logged_at      timestamptz NOT NULL DEFAULT now()
);

-- The schema holding an implementation's tables. lean_naive, lean_floor and plain (the
-- plain SELECT of the read scenarios) share lean's; ext and ext_pinned share the extension's.
CREATE FUNCTION bench.schema_of(impl text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN impl IN ('ext', 'ext_pinned') THEN 'inventory'
              WHEN impl IN ('lean_naive', 'lean_floor', 'plain') THEN 'lean'
              ELSE impl END
$$;

-- The SKU an implementation stores for a SKU of the scenarios: ext_pinned's are its own,
-- 'p' || sku, so that its escrow buckets never touch ours.
CREATE FUNCTION bench.sku_of(impl text, sku text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE impl WHEN 'ext_pinned' THEN 'p' || sku ELSE sku END $$;

-- Which of the extension's SKUs belong to an implementation (any SKU for the others).
CREATE FUNCTION bench.owns(impl text, sku text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE impl WHEN 'ext' THEN sku !~ '^p' WHEN 'ext_pinned' THEN sku ~ '^p' ELSE true END
$$;

---------------------------------------------------------------------------------------
-- naive: PL/pgSQL, lock, check, write. Same contract as inventory.reserve/release for
-- what the benchmark exercises (refusal raises IR001, a repeated release returns false).

CREATE FUNCTION naive.reserve(p_sku text, p_quantity bigint, p_ttl interval,
                              p_location text DEFAULT 'default')
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_on_hand bigint;
  v_held    bigint;
  v_safety  bigint;
  v_id      uuid;
BEGIN
  SELECT on_hand, held, safety_stock INTO v_on_hand, v_held, v_safety
    FROM naive.stock WHERE sku = p_sku AND location = p_location FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown item % at %', p_sku, p_location USING ERRCODE = 'IR002';
  END IF;
  IF v_on_hand - v_held - v_safety < p_quantity THEN
    RAISE EXCEPTION 'insufficient stock for %', p_sku USING ERRCODE = 'IR001';
  END IF;
  UPDATE naive.stock SET held = held + p_quantity, updated_at = statement_timestamp()
   WHERE sku = p_sku AND location = p_location;
  INSERT INTO naive.reservation (sku, location, quantity, expires_at)
  VALUES (p_sku, p_location, p_quantity, statement_timestamp() + p_ttl)
  RETURNING id INTO v_id;
  INSERT INTO naive.log (sku, reservation_id, location, event, quantity)
  VALUES (p_sku, v_id, p_location, 'reserve', p_quantity);
  RETURN v_id;
END $$;

CREATE FUNCTION naive.release(p_id uuid, p_reason text DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT sku, location, quantity, state INTO r
    FROM naive.reservation WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown reservation %', p_id USING ERRCODE = 'IR003';
  END IF;
  IF r.state IN ('released', 'expired') THEN
    RETURN false;
  END IF;
  IF r.state = 'committed' THEN
    RAISE EXCEPTION 'reservation % is committed', p_id USING ERRCODE = 'IR004';
  END IF;
  UPDATE naive.reservation SET state = 'released', updated_at = statement_timestamp() WHERE id = p_id;
  UPDATE naive.stock SET held = held - r.quantity, updated_at = statement_timestamp()
   WHERE sku = r.sku AND location = r.location;
  INSERT INTO naive.log (sku, reservation_id, location, event, quantity, reason)
  VALUES (r.sku, p_id, r.location, 'release', r.quantity, p_reason);
  RETURN true;
END $$;

-- Exact at read time like inventory.salable_qty: lapsed holds not yet swept do not count.
CREATE FUNCTION naive.salable_qty(p_sku text)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  v bigint;
BEGIN
  SELECT COALESCE(sum(GREATEST(s.on_hand - (s.held - l.quantity) - s.safety_stock, 0)), 0)::bigint INTO v
    FROM naive.stock s
   CROSS JOIN LATERAL (
         SELECT COALESCE(sum(r.quantity), 0)::bigint AS quantity FROM naive.reservation r
          WHERE r.sku = s.sku AND r.location = s.location
            AND r.state = 'reserved' AND r.expires_at <= statement_timestamp()) l
   WHERE s.sku = p_sku;
  RETURN v;
END $$;

-- Expiry as first written: every lapsed hold, row by row, in one transaction.
CREATE FUNCTION naive.expire_all()
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n bigint := 0;
BEGIN
  FOR r IN SELECT id, sku, location, quantity FROM naive.reservation
            WHERE state = 'reserved' AND quantity > 0 AND expires_at <= statement_timestamp() FOR UPDATE LOOP
    UPDATE naive.reservation SET state = 'expired', updated_at = statement_timestamp() WHERE id = r.id;
    UPDATE naive.stock SET held = held - r.quantity, updated_at = statement_timestamp()
     WHERE sku = r.sku AND location = r.location;
    INSERT INTO naive.log (sku, reservation_id, location, event, quantity)
    VALUES (r.sku, r.id, r.location, 'expire', r.quantity);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

---------------------------------------------------------------------------------------
-- lean_naive: naive's PL/pgSQL on the lean tables, as a developer writes it by hand.

CREATE FUNCTION lean_naive.reserve(p_sku text, p_quantity bigint, p_ttl interval,
                                   p_location text DEFAULT 'default')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_on_hand bigint;
  v_held    bigint;
  v_safety  bigint;
  v_id      bigint;
BEGIN
  SELECT on_hand, held, safety_stock INTO v_on_hand, v_held, v_safety
    FROM lean.stock WHERE sku = p_sku AND location = p_location FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown item % at %', p_sku, p_location USING ERRCODE = 'IR002';
  END IF;
  IF v_on_hand - v_held - v_safety < p_quantity THEN
    RAISE EXCEPTION 'insufficient stock for %', p_sku USING ERRCODE = 'IR001';
  END IF;
  UPDATE lean.stock SET held = held + p_quantity WHERE sku = p_sku AND location = p_location;
  INSERT INTO lean.reservation (sku, location, quantity, expires_at)
  VALUES (p_sku, p_location, p_quantity, now() + p_ttl)
  RETURNING id INTO v_id;
  INSERT INTO lean.log (reservation_id, sku, location, event, quantity)
  VALUES (v_id, p_sku, p_location, 'reserve', p_quantity);
  RETURN v_id;
END $$;

CREATE FUNCTION lean_naive.release(p_id bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT sku, location, quantity, state INTO r FROM lean.reservation WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown reservation %', p_id USING ERRCODE = 'IR003';
  END IF;
  IF r.state <> 'reserved' THEN
    RETURN false;
  END IF;
  UPDATE lean.reservation SET state = 'released' WHERE id = p_id;
  UPDATE lean.stock SET held = held - r.quantity WHERE sku = r.sku AND location = r.location;
  INSERT INTO lean.log (reservation_id, sku, location, event, quantity)
  VALUES (p_id, r.sku, r.location, 'release', r.quantity);
  RETURN true;
END $$;

-- Exact at read time: lapsed holds not yet expired are counted in held, so add them back.
-- They are found through the expiry index, the only one on deadlines.
CREATE FUNCTION lean_naive.salable_qty(p_sku text, p_location text DEFAULT 'default')
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_free   bigint;
  v_lapsed bigint;
BEGIN
  SELECT on_hand - held - safety_stock INTO v_free
    FROM lean.stock WHERE sku = p_sku AND location = p_location;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  SELECT COALESCE(sum(quantity), 0) INTO v_lapsed
    FROM lean.reservation
   WHERE sku = p_sku AND location = p_location AND state = 'reserved' AND expires_at <= now();
  RETURN GREATEST(v_free + v_lapsed, 0);
END $$;

-- Expiry as first written: every lapsed hold, row by row, in one transaction.
CREATE FUNCTION lean_naive.expire_all()
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n bigint := 0;
BEGIN
  FOR r IN SELECT id, sku, location, quantity FROM lean.reservation
            WHERE state = 'reserved' AND expires_at <= now() FOR UPDATE LOOP
    UPDATE lean.reservation SET state = 'expired' WHERE id = r.id;
    UPDATE lean.stock SET held = held - r.quantity WHERE sku = r.sku AND location = r.location;
    INSERT INTO lean.log (reservation_id, sku, location, event, quantity)
    VALUES (r.id, r.sku, r.location, 'expire', r.quantity);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

---------------------------------------------------------------------------------------
-- floor: one statement per action, no checks beyond the conditional UPDATE.

-- Expiry in one statement: every lapsed hold, one counter update per item.
CREATE FUNCTION floor.expire_all()
RETURNS bigint LANGUAGE sql AS $$
  WITH lapsed AS (
      UPDATE floor.reservation SET state = 'expired', updated_at = statement_timestamp()
       WHERE state = 'reserved' AND quantity > 0 AND expires_at <= statement_timestamp()
      RETURNING id, sku, location, quantity),
  logged AS (
      INSERT INTO floor.log (sku, reservation_id, location, event, quantity)
      SELECT sku, id, location, 'expire', quantity FROM lapsed),
  freed AS (
      SELECT sku, location, sum(quantity)::bigint AS quantity, count(*) AS holds
        FROM lapsed GROUP BY sku, location),
  items AS (
      UPDATE floor.stock s SET held = s.held - f.quantity, updated_at = statement_timestamp()
        FROM freed f WHERE s.sku = f.sku AND s.location = f.location)
  SELECT COALESCE(sum(holds), 0)::bigint FROM freed
$$;

---------------------------------------------------------------------------------------
-- lean_floor: floor's statements on the lean tables. Reserve and release are in their
-- wrappers below, the read in bench/pgbench/salable.lean_floor.pgb.

CREATE FUNCTION lean_floor.expire_all()
RETURNS bigint LANGUAGE sql AS $$
  WITH lapsed AS (
      UPDATE lean.reservation SET state = 'expired'
       WHERE state = 'reserved' AND expires_at <= now()
      RETURNING id, sku, location, quantity),
  logged AS (
      INSERT INTO lean.log (reservation_id, sku, location, event, quantity)
      SELECT id, sku, location, 'expire', quantity FROM lapsed),
  freed AS (
      SELECT sku, location, sum(quantity)::bigint AS quantity, count(*) AS holds
        FROM lapsed GROUP BY sku, location),
  items AS (
      UPDATE lean.stock s SET held = s.held - f.quantity
        FROM freed f WHERE s.sku = f.sku AND s.location = f.location)
  SELECT COALESCE(sum(holds), 0)::bigint FROM freed
$$;

---------------------------------------------------------------------------------------
-- The wrappers pgbench calls. Every reserve goes through a PL/pgSQL block with an
-- EXCEPTION clause, so a refusal (IR001) is counted instead of aborting the pgbench client.
-- Entering such a block starts a subtransaction; every wrapper has one, so all pay it.
-- Ours and the naive ones raise on refusal (and pay the error's unwinding); the floors
-- return no row instead, which is part of why they are floors. Ids come back as pgbench
-- sees them anyway, as text: uuid for ours, naive and floor, bigint for lean.
-- Holds last a day: a hold that lapsed during the run would set our background worker
-- expiring it while a later scenario is measured, a cost the baselines never pay. The
-- expiry scenario measures that work on its own.

CREATE FUNCTION bench.try_reserve_ext(p_sku text, p_quantity bigint)
RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
  RETURN inventory.reserve(p_sku, p_quantity, interval '1 day');
EXCEPTION WHEN SQLSTATE 'IR001' THEN
  RETURN NULL;
END $$;

-- Ours on its own SKUs, which have escrow buckets set by hand (bench.make_hot).
CREATE FUNCTION bench.try_reserve_ext_pinned(p_sku text, p_quantity bigint)
RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
  RETURN inventory.reserve('p' || p_sku, p_quantity, interval '1 day');
EXCEPTION WHEN SQLSTATE 'IR001' THEN
  RETURN NULL;
END $$;

CREATE FUNCTION bench.try_reserve_naive(p_sku text, p_quantity bigint)
RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
  RETURN naive.reserve(p_sku, p_quantity, interval '1 day');
EXCEPTION WHEN SQLSTATE 'IR001' THEN
  RETURN NULL;
END $$;

CREATE FUNCTION bench.try_reserve_floor(p_sku text, p_quantity bigint)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_id uuid;
BEGIN
  WITH item AS (
      UPDATE floor.stock SET held = held + p_quantity, updated_at = statement_timestamp()
       WHERE sku = p_sku AND location = 'default'
         AND on_hand - held - safety_stock >= p_quantity
      RETURNING sku, location),
  hold AS (
      INSERT INTO floor.reservation (sku, location, quantity, expires_at)
      SELECT sku, location, p_quantity, statement_timestamp() + interval '1 day' FROM item
      RETURNING id, sku, location, quantity),
  logged AS (
      INSERT INTO floor.log (sku, reservation_id, location, event, quantity)
      SELECT sku, id, location, 'reserve', quantity FROM hold)
  SELECT id INTO v_id FROM hold;
  RETURN v_id;                      -- NULL: the item could not take the quantity
EXCEPTION WHEN SQLSTATE 'IR001' THEN  -- never raised here: the block is for equal cost
  RETURN NULL;
END $$;

CREATE FUNCTION bench.try_reserve_lean_naive(p_sku text, p_quantity bigint)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN lean_naive.reserve(p_sku, p_quantity, interval '1 day');
EXCEPTION WHEN SQLSTATE 'IR001' THEN
  RETURN NULL;
END $$;

CREATE FUNCTION bench.try_reserve_lean_floor(p_sku text, p_quantity bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
BEGIN
  WITH item AS (
      UPDATE lean.stock SET held = held + p_quantity
       WHERE sku = p_sku AND location = 'default'
         AND on_hand - held - safety_stock >= p_quantity
      RETURNING sku, location),
  hold AS (
      INSERT INTO lean.reservation (sku, location, quantity, expires_at)
      SELECT sku, location, p_quantity, now() + interval '1 day' FROM item
      RETURNING id, sku, location, quantity),
  logged AS (
      INSERT INTO lean.log (reservation_id, sku, location, event, quantity)
      SELECT id, sku, location, 'reserve', quantity FROM hold)
  SELECT id INTO v_id FROM hold;
  RETURN v_id;                      -- NULL: the item could not take the quantity
EXCEPTION WHEN SQLSTATE 'IR001' THEN  -- never raised here: the block is for equal cost
  RETURN NULL;
END $$;

-- pgbench turns a NULL from \gset into '', so a refused reserve arrives here as ''.
CREATE FUNCTION bench.release_ext(p_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF p_id IS NULL OR p_id = '' THEN RETURN NULL; END IF;
  RETURN inventory.release(p_id::uuid);
END $$;

CREATE FUNCTION bench.release_ext_pinned(p_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF p_id IS NULL OR p_id = '' THEN RETURN NULL; END IF;
  RETURN inventory.release(p_id::uuid);
END $$;

CREATE FUNCTION bench.release_naive(p_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF p_id IS NULL OR p_id = '' THEN RETURN NULL; END IF;
  RETURN naive.release(p_id::uuid);
END $$;

CREATE FUNCTION bench.release_floor(p_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_done boolean;
BEGIN
  IF p_id IS NULL OR p_id = '' THEN RETURN NULL; END IF;
  WITH ended AS (
      UPDATE floor.reservation SET state = 'released', updated_at = statement_timestamp()
       WHERE id = p_id::uuid AND state IN ('reserved', 'confirmed', 'acknowledged')
      RETURNING id, sku, location, quantity),
  item AS (
      UPDATE floor.stock s SET held = s.held - e.quantity, updated_at = statement_timestamp()
        FROM ended e WHERE s.sku = e.sku AND s.location = e.location),
  logged AS (
      INSERT INTO floor.log (sku, reservation_id, location, event, quantity)
      SELECT sku, id, location, 'release', quantity FROM ended)
  SELECT EXISTS (SELECT 1 FROM ended) INTO v_done;
  RETURN v_done;
END $$;

CREATE FUNCTION bench.release_lean_naive(p_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF p_id IS NULL OR p_id = '' THEN RETURN NULL; END IF;
  RETURN lean_naive.release(p_id::bigint);
END $$;

CREATE FUNCTION bench.release_lean_floor(p_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_done boolean;
BEGIN
  IF p_id IS NULL OR p_id = '' THEN RETURN NULL; END IF;
  WITH ended AS (
      UPDATE lean.reservation SET state = 'released'
       WHERE id = p_id::bigint AND state = 'reserved'
      RETURNING id, sku, location, quantity),
  item AS (
      UPDATE lean.stock s SET held = s.held - e.quantity
        FROM ended e WHERE s.sku = e.sku AND s.location = e.location),
  logged AS (
      INSERT INTO lean.log (reservation_id, sku, location, event, quantity)
      SELECT id, sku, location, 'release', quantity FROM ended)
  SELECT EXISTS (SELECT 1 FROM ended) INTO v_done;
  RETURN v_done;
END $$;

---------------------------------------------------------------------------------------
-- Loading and checking. The helpers take an implementation's name; those that share
-- tables (lean_naive, lean_floor, plain) load and check the same rows.

-- A new item with p_on_hand units: through the API for ours, by INSERT for the baselines
-- (with the same log row set_on_hand writes).
CREATE FUNCTION bench.create_item(p_impl text, p_sku text, p_on_hand bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_impl IN ('ext', 'ext_pinned') THEN
    PERFORM inventory.set_on_hand(bench.sku_of(p_impl, p_sku), p_on_hand);
  ELSE
    EXECUTE format('INSERT INTO %I.stock (sku, location, on_hand) VALUES ($1, ''default'', $2)',
                   bench.schema_of(p_impl))
      USING p_sku, p_on_hand;
    EXECUTE format('INSERT INTO %I.log (sku, location, event, quantity) VALUES ($1, ''default'', ''set_on_hand'', $2)',
                   bench.schema_of(p_impl))
      USING p_sku, p_on_hand;
  END IF;
END $$;

-- p_count holds of one unit each, spread round-robin over SKUs 1..p_skus, with deadline
-- now + p_offset (negative: already lapsed), their log rows, and the held counters raised
-- to match: the state the API would leave, written in bulk. lean's reservations have no
-- owner column.
CREATE FUNCTION bench.load_holds(p_impl text, p_count bigint, p_skus int, p_offset interval, p_owner text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  s text := bench.schema_of(p_impl);
  owner_col text := CASE WHEN s = 'lean' THEN '' ELSE ', owner' END;
  owner_val text := CASE WHEN s = 'lean' THEN '' ELSE ', $4' END;
  n bigint;
BEGIN
  EXECUTE format($q$
    WITH hold AS (
        INSERT INTO %1$I.reservation (sku, location, quantity, expires_at%2$s)
        SELECT (1 + i %% $2)::text, 'default', 1, statement_timestamp() + $3%3$s
          FROM generate_series(0, $1 - 1) i
        RETURNING id, sku, location, quantity),
    logged AS (
        INSERT INTO %1$I.log (sku, reservation_id, location, event, quantity)
        SELECT sku, id, location, 'reserve', quantity FROM hold),
    per_item AS (
        SELECT sku, location, sum(quantity)::bigint AS quantity FROM hold GROUP BY sku, location),
    items AS (
        UPDATE %1$I.stock st SET held = st.held + p.quantity
          FROM per_item p WHERE st.sku = p.sku AND st.location = p.location)
    SELECT count(*) FROM hold$q$, s, owner_col, owner_val)
  INTO n USING p_count, p_skus, p_offset, p_owner;
  RETURN n;
END $$;

-- Expire every lapsed hold of a baseline, the way it would: one PL/pgSQL loop for the
-- naive ones, one statement for the floors. (Ours has its background worker.)
CREATE FUNCTION bench.expire_all(p_impl text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT %I.expire_all()', p_impl) INTO n;
  RETURN n;
END $$;

-- A hot SKU, made so by hand: ext_pinned spreads it over p_buckets escrow buckets
-- (inventory.set_buckets), as a shop would for a flash-sale item. Ours in its default
-- configuration and the baselines stay as they are.
CREATE FUNCTION bench.make_hot(p_impl text, p_sku text, p_buckets int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF p_impl = 'ext_pinned' THEN
    PERFORM inventory.set_buckets(bench.sku_of(p_impl, p_sku), p_buckets);
  END IF;
END $$;

-- Every reservation row in an implementation's tables (successes are a difference of two,
-- taken while no other implementation runs).
CREATE FUNCTION bench.reservations(p_impl text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %I.reservation', bench.schema_of(p_impl)) INTO n;
  RETURN n;
END $$;

-- Active holds (reserved and not lapsed, confirmed, acknowledged) on SKUs 1..p_skus.
CREATE FUNCTION bench.active_holds(p_impl text, p_skus int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format($q$SELECT count(*) FROM %I.reservation
                     WHERE sku IN (SELECT bench.sku_of($2, i::text) FROM generate_series(1, $1) i)
                       AND (state IN ('confirmed', 'acknowledged')
                            OR (state = 'reserved' AND expires_at > statement_timestamp()))$q$,
                 bench.schema_of(p_impl))
  INTO n USING p_skus, p_impl;
  RETURN n;
END $$;

-- Is any lapsed hold still recorded as reserved? (the expiry drain is done when not)
CREATE FUNCTION bench.lapsed_left(p_impl text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE b boolean;
BEGIN
  EXECUTE format($q$SELECT EXISTS (SELECT 1 FROM %I.reservation
                                    WHERE state = 'reserved' AND quantity > 0
                                      AND expires_at <= statement_timestamp())$q$,
                 bench.schema_of(p_impl))
  INTO b;
  RETURN b;
END $$;

-- One item after a flash sale: its counters, its active holds, and what is salable.
CREATE FUNCTION bench.check_item(p_impl text, p_sku text,
                                 OUT on_hand bigint, OUT held bigint, OUT holds bigint,
                                 OUT held_units bigint, OUT salable bigint)
LANGUAGE plpgsql AS $$
DECLARE
  s text := bench.schema_of(p_impl);
  k text := bench.sku_of(p_impl, p_sku);
BEGIN
  IF s = 'inventory' THEN
    -- held without the free units of escrow buckets: what active holds hold.
    SELECT l.on_hand, l.reserved INTO on_hand, held FROM inventory.stock_levels l
     WHERE l.sku = k AND l.location = 'default';
  ELSE
    EXECUTE format('SELECT on_hand, held FROM %I.stock WHERE sku = $1 AND location = ''default''', s)
      INTO on_hand, held USING k;
  END IF;
  EXECUTE format($q$SELECT count(*), COALESCE(sum(quantity), 0)::bigint FROM %I.reservation
                     WHERE sku = $1 AND state IN ('reserved', 'confirmed', 'acknowledged')$q$, s)
    INTO holds, held_units USING k;
  IF s = 'inventory' THEN
    salable := inventory.salable_qty(k);
  ELSE
    EXECUTE format('SELECT GREATEST(on_hand - held - safety_stock, 0) FROM %I.stock WHERE sku = $1 AND location = ''default''', s)
      INTO salable USING k;
  END IF;
END $$;

-- Items whose held counter differs from the units of their active holds (must be 0). Ours
-- also counts the free units of escrow buckets in held. ext and ext_pinned each check
-- their own SKUs.
CREATE FUNCTION bench.counter_mismatches(p_impl text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format($q$
    SELECT count(*) FROM %1$I.stock s
      LEFT JOIN (SELECT sku, location, sum(quantity) AS units FROM %1$I.reservation
                  WHERE state IN ('reserved', 'confirmed', 'acknowledged')
                  GROUP BY sku, location) a USING (sku, location)
      LEFT JOIN (SELECT sku, location, sum(free) AS units FROM inventory.stock_bucket
                  WHERE %1$L = 'inventory' GROUP BY sku, location) e USING (sku, location)
     WHERE bench.owns(%2$L, s.sku)
       AND s.held <> COALESCE(a.units, 0) + COALESCE(e.units, 0)$q$, bench.schema_of(p_impl), p_impl)
  INTO n;
  RETURN n;
END $$;
