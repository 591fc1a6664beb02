-- Expiry is exact at read time: a hold stops counting the instant its deadline passes,
-- before anything sweeps it. (This cluster runs the background worker too, so the
-- stored state may already be swept; only what readers see is shown.)
SELECT inventory.set_on_hand('exp-A', 5);
SELECT inventory.reserve('exp-A', 5, ttl => '1 second') AS short \gset
SELECT inventory.reserve('exp-A', 1);                    -- sold out for now
\echo :LAST_ERROR_SQLSTATE
SELECT pg_sleep(1.5);
SELECT inventory.salable_qty('exp-A');                   -- 5 again, swept or not
SELECT state FROM inventory.reservations WHERE id = :'short';
SELECT on_hand, reserved, salable FROM inventory.stock_levels WHERE sku = 'exp-A';

-- A lapsed hold cannot be shipped, and cancelling it is a harmless no-op.
SELECT inventory.commit(:'short');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.release(:'short');

-- The stock is salable again in full.
SELECT inventory.reserve('exp-A', 5) IS NOT NULL AS reserved_again;

-- expire_stale records lapsed holds in batches and returns how many it did.
SELECT inventory.set_on_hand('exp-B', 10);
SELECT count(inventory.reserve('exp-B', 1, ttl => '1 second')) FROM generate_series(1, 3);
SELECT pg_sleep(1.5);
SELECT inventory.expire_stale() >= 0 AS swept;           -- the worker may have been first
SELECT state, count(*) FROM inventory.reservation WHERE sku = 'exp-B' GROUP BY state;
SELECT held FROM inventory.stock WHERE sku = 'exp-B';
SELECT count(*) FROM inventory.reservation_log WHERE sku = 'exp-B' AND event = 'expire';
