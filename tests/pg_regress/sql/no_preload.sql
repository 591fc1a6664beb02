-- Without shared_preload_libraries there is no background worker. CREATE EXTENSION still
-- works and warns, with a hint on how to expire reservations on a schedule instead.
CREATE EXTENSION inventory_reservation;
SELECT state, launcher_pid, pid FROM inventory.worker_status;
SELECT inventory.wake_worker();                  -- false: there is no worker to wake

-- Reads are exact without it, and expire_stale() does what the worker would.
SELECT inventory.set_on_hand('np-A', 4);
SELECT inventory.reserve('np-A', 4, ttl => '1 second') AS hold \gset
SELECT pg_sleep(1.5);
SELECT inventory.salable_qty('np-A');            -- 4: the lapsed hold no longer counts
SELECT state FROM inventory.reservation WHERE id = :'hold';   -- stored state: not swept yet
SELECT inventory.expire_stale();
SELECT state FROM inventory.reservation WHERE id = :'hold';
SELECT held FROM inventory.stock WHERE sku = 'np-A';
