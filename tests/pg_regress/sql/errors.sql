-- Bad input: each call raises a class 22 error (or our own IR code) and changes nothing.
SELECT inventory.set_on_hand('err-A', 5);
SELECT count(*) AS reservations_before FROM inventory.reservation \gset
SELECT count(*) AS log_before FROM inventory.log \gset

SELECT inventory.reserve(NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve(repeat('x', 10240), 1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, location => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, location => '   ');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, ttl => '-1 minute');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, ttl => '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, ttl => '1 month -31 days');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, ttl => '1000000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, owner => '');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, idempotency_key => '');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, channel => repeat('c', 201));
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A''); DELETE FROM inventory.stock; --', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.release(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.release('not-a-uuid');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.commit('00000000-0000-0000-0000-000000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.set_on_hand('err-A', -5);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.set_on_hand('err-A', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.adjust_on_hand('err-A', 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.adjust_on_hand('err-A', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.salable_qty(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.is_salable('err-A', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.expire_stale(0);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.expire_stale(-10);
\echo :LAST_ERROR_SQLSTATE
SET inventory.default_ttl = 'soon';
SELECT inventory.reserve('err-A', 1);
\echo :LAST_ERROR_SQLSTATE
RESET inventory.default_ttl;

-- Nothing changed.
SELECT count(*) = :reservations_before AS reservations_unchanged,
       (SELECT count(*) FROM inventory.log) = :log_before AS log_unchanged,
       (SELECT format('%s/%s', on_hand, held) FROM inventory.stock WHERE sku = 'err-A') AS on_hand_and_held
  FROM inventory.reservation;
