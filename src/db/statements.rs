//! Statements built once per shape. A read's SQL text depends on few things (the table, the
//! database, how many ids or parents, the order of a page) and its values on the rest; building
//! the text through SeaORM and sea-query (every column an expression, then the text) cost about
//! a fifth of serving a request that reads a user and a page of their posts. A text built once
//! is kept under its shape and served with the new values.
//!
//! A caller names the shape and the values the statement must have. A built statement is kept
//! only if its values are exactly those, in order: then nothing that differs between two
//! requests of the same shape is in its text, and a kept text with new values is the statement
//! building it afresh would give (the tests of each caller compare the two).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use sea_orm::sea_query::Values;
use sea_orm::{DbBackend, Statement};

/// Statements with more values than this are built every time (large batches: rare, and
/// dearer per statement anyway), so that kept texts stay short.
const MAX_VALUES: usize = 66;

/// At most this many texts are kept (a few per list and order a client uses); past it, new
/// shapes are built every time.
const MAX_KEPT: usize = 1024;

/// What a statement's text depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    /// The kind of statement (a type of the caller's: a table, a list).
    kind: TypeId,
    backend: u8,
    /// Everything else its text depends on, as the caller encodes it.
    detail: Vec<u32>,
}

impl Shape {
    /// `None` for a database this code does not know.
    pub fn new<K: 'static>(backend: DbBackend, detail: Vec<u32>) -> Option<Self> {
        let backend = match backend {
            DbBackend::MySql => 0,
            DbBackend::Postgres => 1,
            DbBackend::Sqlite => 2,
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        Some(Shape {
            kind: TypeId::of::<K>(),
            backend,
            detail,
        })
    }
}

static KEPT: LazyLock<Mutex<HashMap<Shape, String>>> = LazyLock::new(Mutex::default);

/// The statement `build` makes, whose values must be `values`: the text kept under `shape`
/// with `values` if there is one; else `build`'s, kept under `shape` if its values are
/// `values`.
pub fn built_once<E>(
    shape: Option<Shape>,
    backend: DbBackend,
    values: Values,
    build: impl FnOnce() -> Result<Statement, E>,
) -> Result<Statement, E> {
    let shape = shape.filter(|_| values.0.len() <= MAX_VALUES);
    if let Some(shape) = &shape {
        let kept = lock().get(shape).cloned();
        if let Some(sql) = kept {
            return Ok(Statement::from_sql_and_values(backend, sql, values));
        }
    }
    let built = build()?;
    if let Some(shape) = shape {
        if built.values.as_ref() == Some(&values) {
            let mut kept = lock();
            if kept.len() < MAX_KEPT {
                kept.insert(shape, built.sql.clone());
            }
        }
    }
    Ok(built)
}

/// Whether a text is kept under `shape`.
#[cfg(test)]
pub fn is_kept(shape: &Shape) -> bool {
    lock().contains_key(shape)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<Shape, String>> {
    // A panic while holding the lock leaves a plain map behind: still usable.
    KEPT.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::Values;
    use sea_orm::{DbBackend, Statement, Value};

    use super::{built_once, Shape};

    struct Kind;

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    }

    fn kept(shape: Option<Shape>, values: Values, build: impl FnOnce() -> Statement) -> Statement {
        let built: Result<_, ()> = built_once(shape, DbBackend::Postgres, values, || Ok(build()));
        built.expect("infallible")
    }

    #[test]
    fn a_kept_text_is_served_with_the_new_values() {
        let shape = || Shape::new::<Kind>(DbBackend::Postgres, vec![1]);
        let values = |id| Values(vec![Value::Int(Some(id))]);
        kept(shape(), values(1), || {
            statement("SELECT $1", vec![Value::Int(Some(1))])
        });

        let served = kept(shape(), values(2), || panic!("built again"));

        assert_eq!(served.sql, "SELECT $1");
        assert_eq!(served.values, Some(values(2)));
    }

    #[test]
    fn a_statement_whose_values_differ_from_the_expected_ones_is_not_kept() {
        // Its text may hold what differs from one request to the next.
        let shape = || Shape::new::<Kind>(DbBackend::Postgres, vec![2]);
        let values = || Values(vec![Value::Int(Some(1))]);
        kept(shape(), values(), || {
            statement(
                "SELECT $1, $2",
                vec![Value::Int(Some(1)), Value::Int(Some(5))],
            )
        });

        let served = kept(shape(), values(), || {
            statement("SELECT $1, 6", vec![Value::Int(Some(1))])
        });

        assert_eq!(served.sql, "SELECT $1, 6");
    }

    #[test]
    fn shapes_differ_by_kind_database_and_detail() {
        struct Other;
        let base = Shape::new::<Kind>(DbBackend::Postgres, vec![3]);
        assert_ne!(base, Shape::new::<Other>(DbBackend::Postgres, vec![3]));
        assert_ne!(base, Shape::new::<Kind>(DbBackend::Sqlite, vec![3]));
        assert_ne!(base, Shape::new::<Kind>(DbBackend::Postgres, vec![4]));
    }
}
