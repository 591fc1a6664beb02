//! Every SQL statement the API runs, each prepared once per backend and kept
//! (`SPI_keepplan`), so no call re-parses or re-plans. All names are schema-qualified:
//! the statements do not depend on the caller's search_path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{self, PgBuiltInOids, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};

/// A statement: its SQL text and the types of its parameters.
pub(crate) struct Statement {
    pub sql: &'static str,
    pub args: &'static [PgBuiltInOids],
}

thread_local! {
    static PLANS: RefCell<HashMap<usize, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

/// The kept plan of `stmt`, preparing it on first use in this backend.
fn plan(client: &SpiClient<'_>, stmt: &'static Statement) -> SpiResult<Rc<OwnedPreparedStatement>> {
    let key = stmt as *const Statement as usize;
    if let Some(p) = PLANS.with_borrow(|m| m.get(&key).cloned()) {
        return Ok(p);
    }
    let oids: Vec<PgOid> = stmt.args.iter().map(|o| PgOid::BuiltIn(*o)).collect();
    let kept = Rc::new(client.prepare_mut(stmt.sql, &oids)?.keep());
    PLANS.with_borrow_mut(|m| m.insert(key, kept.clone()));
    Ok(kept)
}

/// Execute `stmt` with `args` and hand the rows to `read`.
/// The plan is cloned out of the cache first, so a nested call into our API cannot
/// find the cache borrowed.
///
/// It runs through `select`, not `update`: pgrx's `update` takes a transaction id before the
/// statement runs, which would make every read (salable_qty, is_salable) take XidGenLock,
/// write a commit record, end under an exclusive ProcArrayLock, and fail on a hot standby.
/// PostgreSQL takes an id itself when a statement writes or locks a row. The plans are
/// prepared as mutating, so each statement still runs in read-write mode with a fresh snapshot.
pub(crate) fn exec<R>(
    client: &mut SpiClient<'_>,
    stmt: &'static Statement,
    args: &[DatumWithOid<'_>],
    read: impl FnOnce(SpiTupleTable<'_>) -> SpiResult<R>,
) -> SpiResult<R> {
    let p = plan(client, stmt)?;
    let rows = client.select(&*p, None, args)?;
    read(rows)
}

/// First column of the first row, if any.
pub(crate) fn exec_one<T: pgrx::datum::FromDatum + pgrx::datum::IntoDatum>(
    client: &mut SpiClient<'_>,
    stmt: &'static Statement,
    args: &[DatumWithOid<'_>],
) -> SpiResult<Option<T>> {
    exec(client, stmt, args, |rows| {
        if rows.is_empty() {
            Ok(None)
        } else {
            rows.first().get_one::<T>()
        }
    })
}

/// Pass a Datum received from the caller straight to SQL, typed as `oid`.
pub(crate) fn passthrough<'a>(datum: Option<pg_sys::Datum>, oid: PgBuiltInOids) -> DatumWithOid<'a> {
    match datum {
        // SAFETY: the datum is a live argument of the current call, of type `oid`.
        Some(d) => unsafe { DatumWithOid::new(d, pg_sys::Oid::from(oid)) },
        None => DatumWithOid::null_oid(pg_sys::Oid::from(oid)),
    }
}

use pg_sys::BuiltinOid;
use pg_sys::BuiltinOid::{
    BOOLOID, INT4OID, INT8OID, INTERVALOID, JSONBOID, TEXTARRAYOID, TEXTOID, TIMESTAMPTZOID, UUIDOID,
};

// ---------------------------------------------------------------------------------------
// Reading stock. The view inventory.stock_levels is the one definition of "salable".

pub(crate) static SALABLE_OF_ITEM: Statement = Statement {
    sql: "SELECT salable FROM inventory.stock_levels WHERE sku = $1 AND location = $2",
    args: &[TEXTOID, TEXTOID],
};

pub(crate) static SALABLE_OF_SKU: Statement = Statement {
    sql: "SELECT LEAST(COALESCE(sum(salable), 0), 9223372036854775807)::bigint
            FROM inventory.stock_levels WHERE sku = $1",
    args: &[TEXTOID],
};

/// is_salable: an unmanaged or backorderable item can always take the quantity. $2 NULL
/// means every location of the sku.
pub(crate) static IS_SALABLE: Statement = Statement {
    sql: "SELECT COALESCE(bool_or(NOT manage_stock OR backorders), false) OR COALESCE(sum(salable), 0) >= $3
            FROM inventory.stock_levels WHERE sku = $1 AND ($2::text IS NULL OR location = $2)",
    args: &[TEXTOID, TEXTOID, INT8OID],
};

// ---------------------------------------------------------------------------------------
// Writing stock.

/// Lock the item's row and read on_hand; no row when the item is new.
pub(crate) static LOCK_ITEM: Statement = Statement {
    sql: "SELECT on_hand FROM inventory.stock WHERE sku = $1 AND location = $2 FOR UPDATE",
    args: &[TEXTOID, TEXTOID],
};

pub(crate) static CREATE_ITEM: Statement = Statement {
    sql: "INSERT INTO inventory.stock (sku, location) VALUES ($1, $2) ON CONFLICT (sku, location) DO NOTHING",
    args: &[TEXTOID, TEXTOID],
};

/// Set on_hand to $3 and log the change $5 as event $4.
pub(crate) static SET_ON_HAND: Statement = Statement {
    sql: "WITH item AS (
              UPDATE inventory.stock SET on_hand = $3, updated_at = statement_timestamp()
               WHERE sku = $1 AND location = $2
              RETURNING sku, location)
          INSERT INTO inventory.log (sku, location, event, quantity, reason)
          SELECT sku, location, $4, $5, $6 FROM item WHERE $5 <> 0",
    args: &[TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID, TEXTOID],
};

// ---------------------------------------------------------------------------------------
// Reserving. The hot path is one statement: a conditional counter update (which never
// oversells under READ COMMITTED: a blocked updater re-checks the condition on the newest
// row), the reservation row and its log row.

/// The tail shared by HOLD and INSERT_HOLD: for the item the `item` CTE yields, insert the
/// reservation and its log row and return `(id, expires_at)`. Parameters $3.. are the
/// quantity, owner, channel, idempotency key, ttl, metadata and absolute deadline.
macro_rules! hold_for_item {
    () => {
        "hold AS (
              INSERT INTO inventory.reservation
                     (sku, location, quantity, owner, channel, idempotency_key, expires_at, metadata)
              SELECT sku, location, $3, $4, $5, $6, COALESCE($9, statement_timestamp() + $7), $8 FROM item
              RETURNING id, sku, location, quantity, expires_at),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
              SELECT sku, id, location, 'reserve', quantity FROM hold)
          SELECT id, expires_at FROM hold"
    };
}

/// The parameter types of statements that end in `hold_for_item!`, then any of their own.
macro_rules! hold_args {
    ($($extra:ident),*) => {
        &[TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, INTERVALOID, JSONBOID, TIMESTAMPTZOID, $($extra),*]
    };
}

const HOLD_ARGS: &[BuiltinOid] = hold_args!();

/// Hold units on the item row itself: a conditional counter update, then the reservation.
/// `$cond` narrows which items may be taken this way.
macro_rules! hold_on_item {
    ($cond:literal) => {
        concat!(
            "WITH item AS (
              UPDATE inventory.stock
                 SET held = held + $3, updated_at = statement_timestamp()
               WHERE sku = $1 AND location = $2 ",
            $cond,
            "
                 AND (NOT manage_stock OR backorders OR GREATEST(on_hand - held, 0) - safety_stock >= $3)
              RETURNING sku, location), ",
            hold_for_item!()
        )
    };
}

/// reserve on an item without escrow buckets (and on any item whose stock is not limited).
/// No row for an item with buckets: reserve takes those through BUCKET_HOLD.
pub(crate) static HOLD: Statement = Statement {
    sql: hold_on_item!("AND (buckets = 0 OR NOT manage_stock OR backorders)"),
    args: HOLD_ARGS,
};

/// reserve's last try, after the item's buckets were drained: on the item row, buckets or not.
pub(crate) static HOLD_ON_ITEM: Statement = Statement {
    sql: hold_on_item!(""),
    args: HOLD_ARGS,
};

// Hot items. An item with escrow buckets hands out units from a bucket row, starting with
// the caller's own bucket (its backend id modulo the bucket count), so concurrent buyers lock
// different rows. Lock order: the item row, then its buckets by number. Only a drain waits for a
// bucket; reserve skips locked ones.

const BUCKET_ARGS: &[BuiltinOid] = hold_args!(INT4OID);

/// The first bucket of item ($1, $2) from bucket `$start` on, wrapping around, that matches
/// `$cond` and that no other transaction has locked; locks it (NULL when there is none). Two
/// searches walk the primary key in order, the second only when the first finds nothing: an
/// ORDER BY the index cannot serve would make the planner scan every bucket row of every hot
/// item, dead versions included, on each call.
macro_rules! first_unlocked_bucket {
    ($start:literal, $cond:literal) => {
        concat!(
            "COALESCE(
                 (SELECT m.bucket FROM inventory.stock_bucket m
                   WHERE m.sku = $1 AND m.location = $2 AND m.bucket >= ",
            $start,
            " AND ",
            $cond,
            "
                   ORDER BY m.bucket LIMIT 1
                     FOR UPDATE SKIP LOCKED),
                 (SELECT m.bucket FROM inventory.stock_bucket m
                   WHERE m.sku = $1 AND m.location = $2 AND m.bucket < ",
            $start,
            " AND ",
            $cond,
            "
                   ORDER BY m.bucket LIMIT 1
                     FOR UPDATE SKIP LOCKED))"
        )
    };
}

/// Take units from the first unlocked bucket that has them, starting at bucket $10 (the
/// caller's slot modulo the bucket count). Neither reads nor checks the item row: a bucket has
/// free units only while its item has buckets and limited stock, because every change of
/// those settings drains the buckets under lock first.
pub(crate) static BUCKET_HOLD: Statement = Statement {
    sql: concat!(
        "WITH item AS (
              UPDATE inventory.stock_bucket b SET free = b.free - $3
               WHERE b.sku = $1 AND b.location = $2 AND b.free >= $3
                 AND b.bucket = ",
        first_unlocked_bucket!("$10", "m.free >= $3"),
        "
              RETURNING b.sku, b.location), ",
        hold_for_item!()
    ),
    args: BUCKET_ARGS,
};

/// Refilling a bucket, step 1: lock the item and read its free units and bucket count; no
/// row (and no lock taken) when it has no buckets or cannot give $3 units.
pub(crate) static LOCK_ITEM_FREE: Statement = Statement {
    sql: "SELECT GREATEST(on_hand - held, 0) - safety_stock, buckets::int FROM inventory.stock
           WHERE sku = $1 AND location = $2 AND buckets > 0 AND manage_stock AND NOT backorders
             AND GREATEST(on_hand - held, 0) - safety_stock >= $3
             FOR UPDATE",
    args: &[TEXTOID, TEXTOID, INT8OID],
};

/// Refilling a bucket, step 2 (the item is locked): lock the first of its $4 buckets from
/// bucket $3 (the caller's slot modulo $4) that no one else holds. Never waits, so a
/// transaction that holds a bucket and waits for the item cannot meet us in a cycle.
pub(crate) static LOCK_FREE_BUCKET: Statement = Statement {
    sql: concat!("SELECT ", first_unlocked_bucket!("$3", "m.bucket < $4"), "::int"),
    args: &[TEXTOID, TEXTOID, INT4OID, INT4OID],
};

/// Both locked: move $11 units from the item to bucket $10 and hold $3 of them.
pub(crate) static GRANT_HOLD: Statement = Statement {
    sql: concat!(
        "WITH granted AS (
              UPDATE inventory.stock SET held = held + $11, updated_at = statement_timestamp()
               WHERE sku = $1 AND location = $2
              RETURNING sku, location),
          item AS (
              UPDATE inventory.stock_bucket b SET free = b.free + $11 - $3
                FROM granted g
               WHERE b.sku = g.sku AND b.location = g.location AND b.bucket = $10
              RETURNING b.sku, b.location), ",
        hold_for_item!()
    ),
    args: hold_args!(INT4OID, INT8OID),
};

/// Bring every bucket's free units back to the item, which the caller has locked: lock all
/// its buckets in order (waiting for any reserve in flight, so none is missed). Returns the
/// units.
pub(crate) static DRAIN_BUCKETS: Statement = Statement {
    sql: "WITH locked AS MATERIALIZED (
              SELECT bucket, free FROM inventory.stock_bucket
               WHERE sku = $1 AND location = $2
               ORDER BY bucket
                 FOR UPDATE),
          total AS (SELECT COALESCE(sum(free), 0)::bigint AS units FROM locked),
          emptied AS (
              UPDATE inventory.stock_bucket b SET free = 0
                FROM locked l
               WHERE b.sku = $1 AND b.location = $2 AND b.bucket = l.bucket AND l.free > 0),
          item AS (
              UPDATE inventory.stock s SET held = s.held - t.units, updated_at = statement_timestamp()
                FROM total t
               WHERE t.units > 0 AND s.sku = $1 AND s.location = $2)
          SELECT units FROM total",
    args: &[TEXTOID, TEXTOID],
};

/// The item's bucket count: under the item's lock for set_buckets; as a hint for reserve.
pub(crate) static ITEM_BUCKETS: Statement = Statement {
    sql: "SELECT buckets::int FROM inventory.stock WHERE sku = $1 AND location = $2",
    args: &[TEXTOID, TEXTOID],
};

/// Set the item's bucket count to $3 and make sure buckets 0..$3-1 exist. Rows beyond stay,
/// drained and unused (no slot maps to them any more).
pub(crate) static SET_BUCKETS: Statement = Statement {
    sql: "WITH item AS (
              UPDATE inventory.stock SET buckets = $3, updated_at = statement_timestamp()
               WHERE sku = $1 AND location = $2
              RETURNING sku, location)
          INSERT INTO inventory.stock_bucket (sku, location, bucket)
          SELECT i.sku, i.location, n FROM item i, generate_series(0, $3 - 1) n
          ON CONFLICT (sku, location, bucket) DO NOTHING",
    args: &[TEXTOID, TEXTOID, INT4OID],
};

/// reserve_many, step 1 per item (in lock order): add `$3` to the item's held counter if it
/// can take it.
pub(crate) static HOLD_COUNTER: Statement = Statement {
    sql: "UPDATE inventory.stock
             SET held = held + $3, updated_at = statement_timestamp()
           WHERE sku = $1 AND location = $2
             AND (NOT manage_stock OR backorders OR GREATEST(on_hand - held, 0) - safety_stock >= $3)
          RETURNING 1",
    args: &[TEXTOID, TEXTOID, INT8OID],
};

/// reserve_many, step 2 per line: the reservation row and its log row (the counter is done).
pub(crate) static INSERT_HOLD: Statement = Statement {
    sql: concat!(
        "WITH item AS (SELECT $1::text AS sku, $2::text AS location), ",
        hold_for_item!()
    ),
    args: HOLD_ARGS,
};

/// The quantity reservation `r` was made with, which a replay of its request compares against:
/// the reserve row of the log, since a partial commit or update_quantity changes the stored
/// quantity; the stored one if the log has been pruned.
macro_rules! reserved_quantity {
    () => {
        "COALESCE((SELECT l.quantity FROM inventory.log l
                    WHERE l.reservation_id = r.id AND l.event = 'reserve'
                    ORDER BY l.id LIMIT 1), r.quantity)"
    };
}

/// The reservations stored under any of the idempotency keys $1, each with the (1-based)
/// position of its key in $1, in key order.
pub(crate) static FIND_BY_IDEMPOTENCY_KEYS: Statement = Statement {
    sql: concat!(
        "SELECT k.n::int, r.id, r.sku, r.location, ",
        reserved_quantity!(),
        "
            FROM unnest($1::text[]) WITH ORDINALITY k(key, n)
            JOIN inventory.reservation r ON r.idempotency_key = k.key
           ORDER BY k.n"
    ),
    args: &[TEXTARRAYOID],
};

/// A channel's rules.
pub(crate) static FIND_CHANNEL: Statement = Statement {
    sql: "SELECT reserve, default_ttl FROM inventory.channel WHERE name = $1",
    args: &[TEXTOID],
};

pub(crate) static SET_CHANNEL: Statement = Statement {
    sql: "INSERT INTO inventory.channel AS c (name, reserve, default_ttl) VALUES ($1, $2, $3)
          ON CONFLICT (name) DO UPDATE
             SET reserve = EXCLUDED.reserve, default_ttl = EXCLUDED.default_ttl, updated_at = statement_timestamp()",
    args: &[TEXTOID, BOOLOID, INTERVALOID],
};

/// A channel that does not reserve: log what was not held.
pub(crate) static LOG_SKIP: Statement = Statement {
    sql: "INSERT INTO inventory.log (sku, location, event, quantity, reason) VALUES ($1, $2, 'skip', $3, $4)",
    args: &[TEXTOID, TEXTOID, INT8OID, TEXTOID],
};

/// The tail shared by statements that end holds of one item ($1, $2): give the units of the
/// rows the CTE `$ended` returned back to the item's counter and return how many there were.
macro_rules! return_units_of_item {
    ($ended:ident) => {
        concat!(
            "freed AS (SELECT sum(quantity)::bigint AS quantity FROM ",
            stringify!($ended),
            "),
          item AS (
              UPDATE inventory.stock s SET held = s.held - freed.quantity, updated_at = statement_timestamp()
                FROM freed
               WHERE freed.quantity IS NOT NULL AND s.sku = $1 AND s.location = $2)
          SELECT COALESCE(quantity, 0) FROM freed"
        )
    };
}

/// Expire the lapsed holds of one item and return the units to its counter. Rows another
/// transaction has locked are skipped: that transaction is ending them itself. Like the view
/// stock_levels it does not say "quantity > 0", so it cannot use the
/// sweeper's deadline index: its generic plan reads the item's own index and not every lapsed
/// hold of a backlog.
pub(crate) static EXPIRE_LAPSED_OF_ITEM: Statement = Statement {
    sql: concat!(
        "WITH lapsed AS (
              UPDATE inventory.reservation r
                 SET state = 'expired', updated_at = statement_timestamp()
               WHERE r.id IN (SELECT id FROM inventory.reservation
                               WHERE sku = $1 AND location = $2 AND state = 'reserved'
                                 AND expires_at <= statement_timestamp()
                               FOR UPDATE SKIP LOCKED)
              RETURNING r.id, r.sku, r.location, r.quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
              SELECT sku, id, location, 'expire', quantity FROM lapsed),
          ",
        return_units_of_item!(lapsed)
    ),
    args: &[TEXTOID, TEXTOID],
};

// ---------------------------------------------------------------------------------------
// Ending holds.

/// Lock a reservation and read what a transition needs.
pub(crate) static LOCK_RESERVATION: Statement = Statement {
    sql: "SELECT sku, location, quantity, state, COALESCE(expires_at <= statement_timestamp(), false) AS lapsed
            FROM inventory.reservation WHERE id = $1 FOR UPDATE",
    args: &[UUIDOID],
};

/// Move an active hold to another active state ($2: confirmed, acknowledged), which has no
/// deadline, and log event $3.
pub(crate) static ADVANCE_HOLD: Statement = Statement {
    sql: "WITH moved AS (
              UPDATE inventory.reservation SET state = $2, expires_at = NULL, updated_at = statement_timestamp()
               WHERE id = $1
              RETURNING id, sku, location, quantity)
          INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
          SELECT sku, id, location, $3, quantity FROM moved",
    args: &[UUIDOID, TEXTOID, TEXTOID],
};

/// A new deadline, `$2` from now; returns it.
pub(crate) static EXTEND_HOLD: Statement = Statement {
    sql: "WITH moved AS (
              UPDATE inventory.reservation
                 SET expires_at = statement_timestamp() + $2, updated_at = statement_timestamp()
               WHERE id = $1
              RETURNING id, sku, location, quantity, expires_at),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, 'extend', quantity, 'until ' || expires_at FROM moved)
          SELECT expires_at FROM moved",
    args: &[UUIDOID, INTERVALOID],
};

/// Change a hold's quantity by `$4` (which may be negative), checking salable stock when it
/// grows. No row when the item cannot take the increase.
pub(crate) static RESIZE_HOLD: Statement = Statement {
    sql: "WITH item AS (
              UPDATE inventory.stock
                 SET held = held + $4, updated_at = statement_timestamp()
               WHERE sku = $2 AND location = $3
                 AND ($4 <= 0 OR NOT manage_stock OR backorders OR GREATEST(on_hand - held, 0) - safety_stock >= $4)
              RETURNING 1),
          resized AS (
              UPDATE inventory.reservation SET quantity = quantity + $4, updated_at = statement_timestamp()
               WHERE id = $1 AND EXISTS (SELECT 1 FROM item)
              RETURNING id, sku, location, quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, 'update_quantity', $4, 'now ' || quantity FROM resized)
          SELECT quantity FROM resized",
    args: &[UUIDOID, TEXTOID, TEXTOID, INT8OID],
};

/// Part of a hold ships ($2 units, fewer than it holds): they leave the hold, held and on_hand
/// (never below zero, as a whole commit); the rest stays held as it was. Logged as a commit of
/// the units shipped.
pub(crate) static COMMIT_PART: Statement = Statement {
    sql: "WITH shipped AS (
              UPDATE inventory.reservation SET quantity = quantity - $2, updated_at = statement_timestamp()
               WHERE id = $1
              RETURNING id, sku, location, quantity),
          item AS (
              UPDATE inventory.stock s
                 SET held = s.held - $2, on_hand = GREATEST(s.on_hand - $2, 0), updated_at = statement_timestamp()
                FROM shipped p
               WHERE s.sku = p.sku AND s.location = p.location)
          INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
          SELECT sku, id, location, 'commit', $2, 'partial; ' || quantity || ' still held' FROM shipped",
    args: &[UUIDOID, INT8OID],
};

/// set_on_hand ends the item's acknowledged holds without taking their units off again: the
/// new count from the ERP already excludes them (VTEX). Returns how many units were settled.
pub(crate) static SETTLE_ACKNOWLEDGED: Statement = Statement {
    sql: concat!(
        "WITH settled AS (
              UPDATE inventory.reservation SET state = 'committed', updated_at = statement_timestamp()
               WHERE sku = $1 AND location = $2 AND state = 'acknowledged'
              RETURNING id, sku, location, quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, 'settle', quantity,
                     'set_on_hand: the new count already excludes these units' FROM settled),
          ",
        return_units_of_item!(settled)
    ),
    args: &[TEXTOID, TEXTOID],
};

/// configure_item: NULL leaves a setting as it is. Returns what changed, as text for the
/// log, or NULL when nothing did.
pub(crate) static CONFIGURE_ITEM: Statement = Statement {
    sql: "WITH before AS (
              SELECT manage_stock, backorders, safety_stock FROM inventory.stock
               WHERE sku = $1 AND location = $2 FOR UPDATE),
          after AS (
              UPDATE inventory.stock
                 SET manage_stock = COALESCE($3, manage_stock),
                     backorders = COALESCE($4, backorders),
                     safety_stock = COALESCE($5, safety_stock),
                     updated_at = statement_timestamp()
               WHERE sku = $1 AND location = $2
              RETURNING manage_stock, backorders, safety_stock)
          SELECT NULLIF(concat_ws(', ',
                   CASE WHEN b.manage_stock <> a.manage_stock
                        THEN format('manage_stock %s -> %s', b.manage_stock, a.manage_stock) END,
                   CASE WHEN b.backorders <> a.backorders
                        THEN format('backorders %s -> %s', b.backorders, a.backorders) END,
                   CASE WHEN b.safety_stock <> a.safety_stock
                        THEN format('safety_stock %s -> %s', b.safety_stock, a.safety_stock) END), '')
            FROM before b, after a",
    args: &[TEXTOID, TEXTOID, BOOLOID, BOOLOID, INT8OID],
};

pub(crate) static LOG_ITEM_EVENT: Statement = Statement {
    sql: "INSERT INTO inventory.log (sku, location, event, quantity, reason) VALUES ($1, $2, $3, $4, $5)",
    args: &[TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID],
};

/// inventory.notify: tell listeners on channel inventory_salable the item's salable
/// quantity. NOTIFY is delivered when the transaction commits, and never if it aborts.
pub(crate) static NOTIFY_SALABLE: Statement = Statement {
    sql: "SELECT pg_catalog.pg_notify('inventory_salable',
                 json_build_object('sku', sku, 'location', location, 'salable', salable)::text)
            FROM inventory.stock_levels WHERE sku = $1 AND location = $2",
    args: &[TEXTOID, TEXTOID],
};

/// The calendar weekday (ISO, 1 = Monday) of a time in the session's TimeZone.
pub(crate) static ISO_WEEKDAY: Statement = Statement {
    sql: "SELECT extract(isodow FROM $1)::int",
    args: &[TIMESTAMPTZOID],
};

/// `$1` plus `$2` calendar days in the session's TimeZone.
pub(crate) static PLUS_DAYS: Statement = Statement {
    sql: "SELECT $1 + make_interval(days => $2)",
    args: &[TIMESTAMPTZOID, INT4OID],
};

/// The tail of statements that end the hold the CTE `ended` returns: give its units back
/// to the item (and take them off on_hand too when $3, i.e. on commit), log event $4 with
/// reason $5, and return the item.
macro_rules! end_hold {
    ($cond:literal) => {
        concat!(
            "WITH ended AS (
              UPDATE inventory.reservation SET state = $2, updated_at = statement_timestamp()
               WHERE id = $1 ",
            $cond,
            "
              RETURNING id, sku, location, quantity),
          item AS (
              UPDATE inventory.stock s
                 SET held = s.held - e.quantity,
                     on_hand = CASE WHEN $3 THEN GREATEST(s.on_hand - e.quantity, 0) ELSE s.on_hand END,
                     updated_at = statement_timestamp()
                FROM ended e
               WHERE s.sku = e.sku AND s.location = e.location),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, $4, quantity, $5 FROM ended)
          SELECT sku, location FROM ended"
        )
    };
}

/// End a hold the caller has locked and decided on: set state $2.
pub(crate) static END_HOLD: Statement = Statement {
    sql: end_hold!(""),
    args: &[UUIDOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID],
};

/// release and commit in one statement: end the hold if it is stored in one of the states
/// $6 (core `ends_hold`) and, when reserved, its deadline has not passed. No row otherwise;
/// the caller then locks the reservation and decides.
pub(crate) static END_ACTIVE_HOLD: Statement = Statement {
    sql: end_hold!("AND state = ANY ($6) AND (state <> 'reserved' OR expires_at > statement_timestamp())"),
    args: &[UUIDOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTARRAYOID],
};

/// One batch of the sweep: expire at most $1 lapsed holds (oldest deadline first) with their
/// log rows and give their units back to their items; returns what it freed per item. It never
/// waits for a lock: walking the lapsed holds by deadline, it locks their items, skipping
/// items another transaction has locked (a reserve in flight, a session idle in a transaction)
/// so that they do not count against $1, and expires only holds of the items it got. So a
/// sweep never holds one item's lapsed holds while it waits for another item, which would leave
/// the first item's units unreachable for as long as the wait lasts, and a locked item never
/// keeps the others from being swept. Holds of a skipped item stay for a later batch; reads
/// subtract them meanwhile. "quantity > 0" (always true) is what lets it use the deadline
/// index: see sql/schema.sql.
pub(crate) static EXPIRE_BATCH: Statement = Statement {
    sql: "WITH items AS MATERIALIZED (
              SELECT DISTINCT sku, location FROM (
                  SELECT s.sku, s.location
                    FROM inventory.reservation r
                    JOIN inventory.stock s ON s.sku = r.sku AND s.location = r.location
                   WHERE r.state = 'reserved' AND r.quantity > 0 AND r.expires_at <= statement_timestamp()
                   ORDER BY r.expires_at
                   LIMIT $1
                     FOR UPDATE OF s SKIP LOCKED) due),
          picked AS MATERIALIZED (
              SELECT r.id FROM items i
                JOIN inventory.reservation r ON r.sku = i.sku AND r.location = i.location
               WHERE r.state = 'reserved' AND r.expires_at <= statement_timestamp()
               ORDER BY r.expires_at
               LIMIT $1
                 FOR UPDATE OF r SKIP LOCKED),
          lapsed AS (
              UPDATE inventory.reservation r
                 SET state = 'expired', updated_at = statement_timestamp()
                FROM picked WHERE r.id = picked.id
              RETURNING r.id, r.sku, r.location, r.quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
              SELECT sku, id, location, 'expire', quantity FROM lapsed),
          freed AS (
              SELECT sku, location, sum(quantity)::bigint AS units, count(*) AS holds
                FROM lapsed GROUP BY sku, location),
          returned AS (
              UPDATE inventory.stock s SET held = s.held - f.units, updated_at = statement_timestamp()
                FROM freed f
               WHERE s.sku = f.sku AND s.location = f.location)
          SELECT sku, location, holds FROM freed",
    args: &[INT4OID],
};

/// The earliest deadline of a hold still recorded as reserved: when the worker's next pass is
/// due. Run by the worker through plain SPI (it has no kept plans); "quantity > 0" (always
/// true) opens the deadline index, as in EXPIRE_BATCH.
pub(crate) static NEXT_DEADLINE: Statement = Statement {
    sql: "SELECT min(expires_at) FROM inventory.reservation WHERE state = 'reserved' AND quantity > 0",
    args: &[],
};
