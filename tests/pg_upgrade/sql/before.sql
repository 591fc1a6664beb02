-- On the old major: a shop with channels, items in two locations, holds in every state and
-- their log. pg_upgrade must carry all of it over (tests/pg_upgrade/run).
CREATE EXTENSION inventory_reservation;
SELECT inventory.set_channel('amazon', reserve => true, default_ttl => '2 hours');
SELECT inventory.set_on_hand('UPG-A', 10, 'berlin');
SELECT inventory.set_on_hand('UPG-A', 5, 'paris');
SELECT inventory.set_on_hand('UPG-B', 3, 'berlin');
SELECT inventory.configure_item('UPG-B', location => 'berlin', safety_stock => 1);
SELECT inventory.set_buckets('UPG-C', 4, 'berlin');
SELECT inventory.adjust_on_hand('UPG-C', 40, 'berlin');

-- Holds: active, confirmed, committed, released, and one on a bucketed item.
CREATE TABLE upgrade_holds (name text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO upgrade_holds VALUES
  ('active',    inventory.reserve('UPG-A', 2, ttl => '1 hour', location => 'berlin', channel => 'amazon', idempotency_key => 'amazon:upg-1')),
  ('confirmed', inventory.reserve('UPG-A', 1, location => 'paris')),
  ('committed', inventory.reserve('UPG-B', 1, location => 'berlin')),
  ('released',  inventory.reserve('UPG-A', 3, location => 'berlin')),
  ('bucketed',  inventory.reserve('UPG-C', 7, location => 'berlin'));
SELECT inventory.confirm(id) FROM upgrade_holds WHERE name = 'confirmed';
SELECT inventory.commit(id) FROM upgrade_holds WHERE name = 'committed';
SELECT inventory.release(id, 'changed mind') FROM upgrade_holds WHERE name = 'released';

SELECT sku, location, on_hand, reserved, salable FROM inventory.stock_levels ORDER BY sku, location;
SELECT h.name, r.state FROM upgrade_holds h JOIN inventory.reservations r USING (id) ORDER BY h.name;
SELECT count(*) AS log_rows FROM inventory.reservation_log;
SELECT * FROM inventory.verify();
