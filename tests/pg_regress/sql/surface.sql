-- The SQL surface as a psql user meets it (0.8.0): each behaviour as it is decided.

-- set_channel changes only what it is given and logs what changed.
SELECT inventory.set_channel('sf-amz', default_ttl => '1 day');
SELECT channel, reserve, default_ttl FROM inventory.channels WHERE channel = 'sf-amz';
SELECT inventory.set_channel('sf-amz', reserve => false, reason => 'FBA: Amazon holds the stock');
SELECT inventory.set_channel('sf-amz', default_ttl => '2 days');
SELECT channel, reserve, default_ttl FROM inventory.channels WHERE channel = 'sf-amz';
SELECT inventory.set_channel('sf-amz', default_ttl => '0');     -- zero removes the channel's own ttl
SELECT inventory.set_channel('sf-amz', reserve => false);      -- no change: nothing logged
SELECT channel, reserve, default_ttl FROM inventory.channels WHERE channel = 'sf-amz';
SELECT sku, location, event, quantity, reason FROM inventory.reservation_log
 WHERE event = 'set_channel' AND reason LIKE 'channel sf-amz:%' ORDER BY id;
SELECT inventory.set_channel('sf-amz', default_ttl => '-1 hour');
\echo :LAST_ERROR_SQLSTATE

-- A skip has no hold to name, so reserve returns NULL and reserve_many NULL (not an array);
-- the log says what was not held.
SELECT inventory.set_on_hand('sf-MUG', 5);
SELECT inventory.reserve('sf-MUG', 1, channel => 'sf-amz') IS NULL AS skipped;
SELECT inventory.reserve_many('[{"sku": "sf-MUG", "quantity": 2}]', channel => 'sf-amz') IS NULL AS skipped;
SELECT event, quantity, reason FROM inventory.reservation_log WHERE sku = 'sf-MUG' ORDER BY id;

-- Every transition takes a reason for the log.
SELECT inventory.reserve('sf-MUG', 2, line_ref => 'li-1') AS r \gset
SELECT inventory.confirm(:'r', reason => 'paid by card');
SELECT inventory.update_quantity(:'r', 3, reason => 'customer added one');
SELECT inventory.commit(:'r', '1', reason => 'parcel 1 of 2');   -- one commit: quantity, then reason
SELECT inventory.commit(:'r', reason => 'parcel 2 of 2');
SELECT event, quantity, reason FROM inventory.reservation_log WHERE reservation_id = :'r' ORDER BY id;
SELECT inventory.configure_item('sf-MUG', safety_stock => 1, reason => 'display unit');
SELECT inventory.set_buckets('sf-MUG', 2, reason => 'flash sale at noon');
SELECT event, reason FROM inventory.reservation_log WHERE sku = 'sf-MUG' AND event = 'configure_item' ORDER BY id;

-- A line reference and a version on every reservation.
SELECT line_ref, state, version FROM inventory.reservations WHERE id = :'r';
SELECT inventory.set_on_hand('sf-MUG', 10);
SELECT array_length(inventory.reserve_many(
    '[{"sku": "sf-MUG", "quantity": 1, "line_ref": "li-7"}, {"sku": "sf-MUG", "quantity": 1}]'), 1) AS lines;
SELECT line_ref FROM inventory.reservations WHERE sku = 'sf-MUG' AND state = 'reserved' ORDER BY created_at, line_ref NULLS LAST;

-- expected_version refuses a decision taken on a stale read (commercetools' version), and
-- changes nothing.
SELECT inventory.reserve('sf-MUG', 1) AS v \gset
SELECT version FROM inventory.reservations WHERE id = :'v';
SELECT inventory.extend(:'v', '1 hour', expected_version => 1) IS NOT NULL AS extended;
SELECT inventory.release(:'v', expected_version => 1);                -- decided on version 1
\echo :LAST_ERROR_SQLSTATE
SELECT state, version FROM inventory.reservations WHERE id = :'v';
SELECT inventory.release(:'v', 'cart abandoned', expected_version => 2);
SELECT state, version FROM inventory.reservations WHERE id = :'v';

-- extend takes an absolute deadline too, and needs one of the two.
SELECT inventory.reserve('sf-MUG', 1) AS e \gset
SELECT inventory.extend(:'e', expires_at => statement_timestamp() + interval '3 hours')
     = statement_timestamp() + interval '3 hours' AS at_that_time;
SELECT inventory.extend(:'e');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.extend(:'e', '1 hour', statement_timestamp() + interval '1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.release(:'e');

-- Location. Writes default to location 'default' and reads to every location of the sku, so
-- a refusal says when the units are elsewhere. The third argument of reserve is ttl: name
-- the location.
SELECT inventory.set_on_hand('sf-LAMP', 12, 'berlin');
SELECT inventory.is_salable('sf-LAMP', 8);
SELECT inventory.reserve('sf-LAMP', 8);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.set_on_hand('sf-LAMP', 2);
SELECT inventory.reserve('sf-LAMP', 8);
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('sf-LAMP', 8, 'berlin');
\echo :LAST_ERROR_SQLSTATE
SELECT inventory.reserve('sf-LAMP', 8, location => 'berlin') IS NOT NULL AS held_in_berlin;

-- expire_stale's batch defaults to the setting inventory.expire_batch_size.
SELECT inventory.expire_stale() >= 0 AS swept;

-- IR004 names what the state still allows.
SELECT inventory.reserve('sf-LAMP', 1, location => 'berlin') AS c \gset
SELECT inventory.confirm(:'c');
SELECT inventory.extend(:'c', '1 hour');
SELECT inventory.release(:'c');

SELECT * FROM inventory.verify();
