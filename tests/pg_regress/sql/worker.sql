-- The background worker: its settings, its status, and a hold it expires on its own.
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'inventory.%' ORDER BY name;

-- CREATE EXTENSION registered this database with the worker.
SELECT database = current_database() AS this_database, state IN ('running', 'parked') AS known,
       launcher_pid IS NOT NULL AS launcher_running, last_error
  FROM inventory.worker_status;

-- A one-second hold. Nothing calls expire_stale: the stored row, the counter and the log
-- catch up by themselves.
SELECT inventory.set_on_hand('wrk-A', 2);
SELECT inventory.reserve('wrk-A', 2, ttl => '1 second') AS hold \gset
SELECT pg_sleep(2.5);
SELECT state FROM inventory.reservation WHERE id = :'hold';      -- the table, not the view
SELECT held FROM inventory.stock WHERE sku = 'wrk-A';
SELECT event, quantity, actor FROM inventory.reservation_log WHERE sku = 'wrk-A' ORDER BY id;
SELECT expired_total >= 1 AS counted FROM inventory.worker_status;

-- wake_worker() asks for a pass now; true because the library is preloaded.
SELECT inventory.wake_worker();
