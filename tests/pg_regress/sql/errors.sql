-- Bad input: each call raises a class 22 error (or our own IR code) and changes nothing.
SELECT inventory.set_on_hand('err-A', 5);
SELECT inventory.reserve('err-A', 1) AS done \gset
SELECT inventory.commit(:'done');
SELECT inventory.reserve('err-A', 1) AS held \gset
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
-- Positive as a whole, but from 1 February it would end on 31 January.
SELECT inventory.reserve('err-A', 1, ttl => '1 mon -29 days');
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
SELECT inventory.reserve('err-A', 1, ttl => '1 hour', expires_at => now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, expires_at => now() - interval '1 minute');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, expires_at => 'infinity');
\echo :LAST_ERROR_SQLSTATE
-- Whole orders: every malformed shape names what is wrong.
SELECT inventory.reserve_many(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('{"sku": "err-A", "quantity": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "err-A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "err-A", "quantity": "2"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "err-A", "quantity": 1}, {"sku": "err-A", "quantity": -1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "err-A", "quantity": 1.5}]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "err-A", "quantity": 1, "price": 9}]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": null, "quantity": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many((repeat('[', 500) || repeat(']', 500))::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many((SELECT jsonb_agg(jsonb_build_object('sku', 'err-A', 'quantity', 1)) FROM generate_series(1, 1001)));
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "err-A", "quantity": 9223372036854775807}, {"sku": "err-A", "quantity": 1}]');
\echo :LAST_ERROR_SQLSTATE
-- The lifecycle: NULLs, and transitions that make no sense for a committed reservation.
SELECT inventory.confirm(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.confirm(:'done');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.acknowledge(:'done');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.release(:'done');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.extend(:'done', '1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.extend(:'done', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.update_quantity(:'done', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.update_quantity(:'done', -2);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.update_quantity(NULL, 2);
\echo :LAST_ERROR_SQLSTATE
-- Channels, item settings, policies, retention.
SELECT inventory.set_channel('');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.set_channel('err-channel', true, '-3 days');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.configure_item(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.configure_item('err-A', safety_stock => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.payment_hold_until(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.payment_hold_until('infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.prune_log(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.prune_log('-1 day');
\echo :LAST_ERROR_SQLSTATE
-- A bad default_ttl is refused when it is set, not at the next reserve.
SET inventory.default_ttl = 'soon';
\echo :LAST_ERROR_SQLSTATE
SET inventory.default_ttl = '999999999999999999999 years';
\echo :LAST_ERROR_SQLSTATE
SET inventory.default_ttl = '-1 day';
\echo :LAST_ERROR_SQLSTATE
SHOW inventory.default_ttl;
-- Quantities are capped at 10^15 units, so no counter or sum of counters can overflow.
SELECT inventory.reserve('err-A', 1000000000000001);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.set_on_hand('err-A', 1000000000000001);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.adjust_on_hand('err-A', -9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.configure_item('err-A', safety_stock => 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve_many('[{"sku": "err-A", "quantity": 600000000000000}, {"sku": "err-A", "quantity": 600000000000000}]');
\echo :LAST_ERROR_SQLSTATE
-- Identifiers cannot hide characters: control characters, zero-width and bidirectional marks.
SELECT inventory.reserve(E'err-A\u200B', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.set_on_hand(E'err\tA', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('err-A', 1, idempotency_key => E'key\u202E1');
\echo :LAST_ERROR_SQLSTATE
-- Metadata is capped at 64 kB.
SELECT inventory.reserve('err-A', 1, metadata => jsonb_build_object('note', repeat('x', 70000)));
\echo :LAST_ERROR_SQLSTATE

-- A read-only transaction cannot write through the library either (25006), as with SQL.
BEGIN READ ONLY;
SELECT inventory.reserve('err-A', 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN READ ONLY;
SELECT inventory.release(:'held');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Nothing changed.
SELECT count(*) = :reservations_before AS reservations_unchanged,
       (SELECT count(*) FROM inventory.log) = :log_before AS log_unchanged,
       (SELECT format('%s/%s', on_hand, held) FROM inventory.stock WHERE sku = 'err-A') AS on_hand_and_held,
       (SELECT count(*) FROM inventory.channel WHERE name = 'err-channel') AS channels_created
  FROM inventory.reservation;
