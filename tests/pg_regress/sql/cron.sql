-- Without our preload there is no worker: pg_cron runs expire_stale() on a schedule instead
-- (docs/worker.md). This cluster preloads pg_cron, not us (bin/test). Debian 12 ships pg_cron
-- 1.4, whose finest schedule is a minute; pg_cron 1.5 and later also take '10 seconds'.
CREATE EXTENSION pg_cron;
SELECT inventory.set_on_hand('cron-A', 3);
SELECT set_config('test.hold', inventory.reserve('cron-A', 3, ttl => '1 second')::text, false) IS NOT NULL AS held;
SELECT cron.schedule('inventory-expiry', '* * * * *', 'SELECT inventory.expire_stale()') > 0 AS scheduled;

-- Nothing here calls expire_stale: wait (up to 90 s) for the stored state to change and for
-- pg_cron to record the run (it does so after the job's transaction commits).
DO $$
BEGIN
  FOR i IN 1..180 LOOP
    EXIT WHEN (SELECT state FROM inventory.reservation WHERE id = current_setting('test.hold')::uuid) = 'expired'
          AND EXISTS (SELECT FROM cron.job_run_details WHERE status <> 'running');
    PERFORM pg_sleep(0.5);
  END LOOP;
END $$;
SELECT state FROM inventory.reservation WHERE id = current_setting('test.hold')::uuid;
SELECT held FROM inventory.stock WHERE sku = 'cron-A';
SELECT event, actor FROM inventory.reservation_log
 WHERE reservation_id = current_setting('test.hold')::uuid ORDER BY id;
SELECT status FROM cron.job_run_details ORDER BY runid LIMIT 1;
SELECT cron.unschedule('inventory-expiry');
DROP EXTENSION pg_cron;
