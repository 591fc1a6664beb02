-- On the new major, after pg_upgrade: the same stock, states, log and channels; verify()
-- finds nothing; the API works; the worker expires a hold by itself.
SELECT extversion FROM pg_extension WHERE extname = 'inventory_reservation';
SELECT sku, location, on_hand, reserved, salable FROM inventory.stock_levels ORDER BY sku, location;
SELECT h.name, r.state FROM upgrade_holds h JOIN inventory.reservations r USING (id) ORDER BY h.name;
SELECT count(*) AS log_rows FROM inventory.reservation_log;
SELECT channel, reserve, default_ttl FROM inventory.channels ORDER BY channel;
SELECT * FROM inventory.verify();

-- An idempotent replay of an order imported before the upgrade returns the same hold.
SELECT inventory.reserve('UPG-A', 2, ttl => '1 hour', location => 'berlin', channel => 'amazon',
                         idempotency_key => 'amazon:upg-1') = id AS same_hold
  FROM upgrade_holds WHERE name = 'active';
SELECT inventory.commit(id) FROM upgrade_holds WHERE name = 'confirmed';
SELECT inventory.release(id) FROM upgrade_holds WHERE name = 'bucketed';

-- A one-second hold, and nothing calls expire_stale: the worker runs on the new major.
SELECT set_config('upgrade.hold', inventory.reserve('UPG-B', 1, ttl => '1 second', location => 'berlin')::text, false) IS NOT NULL AS held;
DO $$
BEGIN   -- up to 60 s for the stored state to change
  FOR i IN 1..120 LOOP
    EXIT WHEN (SELECT state FROM inventory.reservation WHERE id = current_setting('upgrade.hold')::uuid) = 'expired';
    PERFORM pg_sleep(0.5);
  END LOOP;
END $$;
SELECT state FROM inventory.reservation WHERE id = current_setting('upgrade.hold')::uuid;
SELECT sku, location, on_hand, reserved, salable FROM inventory.stock_levels ORDER BY sku, location;
SELECT * FROM inventory.verify();
