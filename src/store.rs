//! The plan cache. Every statement is prepared once per backend and kept (`SPI_keepplan`), so
//! no call re-parses or re-plans. Statements live beside the rules that run them
//! (`src/domain/`), each declared with `statement!`: a struct of named, typed parameters and
//! SQL that names them (`$sku`). A caller fills the parameters by name, and the compiler
//! checks their types. All names in the SQL are schema-qualified: statements do not depend
//! on the caller's search_path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use inventory_reservation_core::sql::number_placeholders;
use pgrx::datum::{DatumWithOid, IntoDatum};
use pgrx::pg_sys::{self, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};

/// A statement's SQL and the names and types of its parameters, in declaration order.
pub(crate) struct Statement {
    pub sql: &'static str,
    pub describe: fn(&mut Vec<&'static str>, &mut Vec<pg_sys::Oid>),
}

impl Statement {
    /// The SQL as PostgreSQL takes it (`$1`, `$2`, ...) and the parameter types.
    /// Panics on a mistake in the declaration: `core::sql` names it, and every statement
    /// runs in the tests.
    pub(crate) fn positional(&self) -> (String, Vec<pg_sys::Oid>) {
        let (mut names, mut oids) = (Vec::new(), Vec::new());
        (self.describe)(&mut names, &mut oids);
        let sql = number_placeholders(self.sql, &names)
            .unwrap_or_else(|e| panic!("statement {:?}: {e}", &self.sql[..self.sql.len().min(60)]));
        (sql, oids)
    }
}

/// One field of a statement's parameter struct: a value (one SQL parameter named after the
/// field), or a group of parameters declared with `parameters!` (one SQL parameter per field
/// of the group, named after the group's fields).
pub(crate) trait Param {
    fn describe(field: &'static str, names: &mut Vec<&'static str>, oids: &mut Vec<pg_sys::Oid>);
    fn bind<'p>(self, out: &mut Vec<DatumWithOid<'p>>)
    where
        Self: 'p;
}

impl<T: IntoDatum> Param for T {
    fn describe(field: &'static str, names: &mut Vec<&'static str>, oids: &mut Vec<pg_sys::Oid>) {
        names.push(field);
        oids.push(T::type_oid());
    }
    fn bind<'p>(self, out: &mut Vec<DatumWithOid<'p>>)
    where
        Self: 'p,
    {
        out.push(self.into());
    }
}

/// A statement's parameter struct, filled in: which statement, and its values in order.
pub(crate) trait Bound {
    fn statement() -> &'static Statement;
    fn bind<'p>(self, out: &mut Vec<DatumWithOid<'p>>)
    where
        Self: 'p;
}

/// Declare a group of parameters that several statements share: a struct whose fields each
/// fill the SQL parameter of their name.
macro_rules! parameters {
    ($(#[$doc:meta])* $vis:vis struct $name:ident $(<$lt:lifetime>)? { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        $vis struct $name $(<$lt>)? { $(pub $field: $ty),* }

        impl $(<$lt>)? $crate::store::Param for $name $(<$lt>)? {
            fn describe(
                _field: &'static str,
                names: &mut Vec<&'static str>,
                oids: &mut Vec<pgrx::pg_sys::Oid>,
            ) {
                $(<$ty as $crate::store::Param>::describe(stringify!($field), names, oids);)*
            }
            fn bind<'p>(self, out: &mut Vec<pgrx::datum::DatumWithOid<'p>>)
            where
                Self: 'p,
            {
                $($crate::store::Param::bind(self.$field, out);)*
            }
        }
    };
}

/// Declare a statement: a struct of its parameters, by name and type, and its SQL, which
/// names them as `$field`. `store::exec(client, TheStatement { sku, quantity }, ...)` runs it.
macro_rules! statement {
    ($(#[$doc:meta])* $vis:vis struct $name:ident $(<$lt:lifetime>)? { $($field:ident : $ty:ty),* $(,)? }
     = $sql:expr;) => {
        $(#[$doc])*
        $vis struct $name $(<$lt>)? { $(pub $field: $ty),* }

        impl $(<$lt>)? $crate::store::Bound for $name $(<$lt>)? {
            fn statement() -> &'static $crate::store::Statement {
                // An item of its own, with its own lifetime: it cannot borrow the impl's.
                #[allow(unused_variables, clippy::extra_unused_lifetimes, clippy::ptr_arg)]
                fn describe $(<$lt>)? (names: &mut Vec<&'static str>, oids: &mut Vec<pgrx::pg_sys::Oid>) {
                    $(<$ty as $crate::store::Param>::describe(stringify!($field), names, oids);)*
                }
                static STATEMENT: $crate::store::Statement = $crate::store::Statement { sql: $sql, describe };
                &STATEMENT
            }
            #[allow(unused_variables)]
            fn bind<'p>(self, out: &mut Vec<pgrx::datum::DatumWithOid<'p>>)
            where
                Self: 'p,
            {
                $($crate::store::Param::bind(self.$field, out);)*
            }
        }
    };
}

pub(crate) use {parameters, statement};

thread_local! {
    static PLANS: RefCell<HashMap<usize, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

/// The kept plan of `stmt`, preparing it on first use in this backend.
fn plan(client: &SpiClient<'_>, stmt: &'static Statement) -> SpiResult<Rc<OwnedPreparedStatement>> {
    let key = stmt as *const Statement as usize;
    if let Some(p) = PLANS.with_borrow(|m| m.get(&key).cloned()) {
        return Ok(p);
    }
    let (sql, oids) = stmt.positional();
    let oids: Vec<PgOid> = oids.into_iter().map(PgOid::from_untagged).collect();
    let kept = Rc::new(client.prepare_mut(sql.as_str(), &oids)?.keep());
    PLANS.with_borrow_mut(|m| m.insert(key, kept.clone()));
    Ok(kept)
}

/// Execute a statement with its parameters and hand the rows to `read`.
/// The plan is cloned out of the cache first, so a nested call into our API cannot
/// find the cache borrowed.
///
/// It runs through `select`, not `update`: pgrx's `update` takes a transaction id before the
/// statement runs, which would make every read (salable_qty, is_salable) take XidGenLock,
/// write a commit record, end under an exclusive ProcArrayLock, and fail on a hot standby.
/// PostgreSQL takes an id itself when a statement writes or locks a row. The plans are
/// prepared as mutating, so each statement still runs in read-write mode with a fresh snapshot.
pub(crate) fn exec<S: Bound, R>(
    client: &mut SpiClient<'_>,
    params: S,
    read: impl FnOnce(SpiTupleTable<'_>) -> SpiResult<R>,
) -> SpiResult<R> {
    let p = plan(client, S::statement())?;
    let mut args = Vec::new();
    params.bind(&mut args);
    let rows = client.select(&*p, None, &args)?;
    read(rows)
}

/// Execute a statement for its effect.
pub(crate) fn run<S: Bound>(client: &mut SpiClient<'_>, params: S) -> SpiResult<()> {
    exec(client, params, |_| Ok(()))
}

/// First column of the first row, if any.
pub(crate) fn exec_one<T: pgrx::datum::FromDatum + IntoDatum, S: Bound>(
    client: &mut SpiClient<'_>,
    params: S,
) -> SpiResult<Option<T>> {
    exec(client, params, |rows| {
        if rows.is_empty() {
            Ok(None)
        } else {
            rows.first().get_one::<T>()
        }
    })
}

/// A jsonb value received from the caller, passed to SQL as it came (never decoded).
pub(crate) struct Jsonb(pub Option<pg_sys::Datum>);

impl IntoDatum for Jsonb {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        self.0
    }
    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}
