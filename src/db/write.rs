//! The one way blogql writes: `transaction` runs a write in a transaction, commits it, and runs
//! it again when the database refused it only because of other writers. Every mutation and
//! `seed-demo` come through here; what writes need later (ownership checks, events published
//! with the commit) belongs here or in the API's one caller of it.

use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use crate::error::{AppError, AppResult};

/// Attempts a write may get when it is refused for a transient reason (see `is_transient`).
const WRITE_ATTEMPTS: u32 = 3;

/// On SQLite, a write transaction takes the database's write lock when it begins (`BEGIN
/// IMMEDIATE`), waiting up to the busy timeout for it. A deferred one that reads first and then
/// writes fails at once, without waiting, when another writer got in between: under a few
/// concurrent writers that exhausts the retries. The other databases ignore the mode.
const WRITE_TRANSACTION: TransactionOptions = TransactionOptions {
    isolation_level: None,
    access_mode: None,
    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
};

/// Runs `write` in a transaction and commits it. A write refused for a transient reason (a
/// deadlock victim, SQLite still busy) did nothing, and runs again in a new transaction, up to
/// `WRITE_ATTEMPTS` times, as a client would retry it; so `write` may run more than once, and
/// takes what it needs by clone. Any error rolls the transaction back.
pub async fn transaction<T, F>(db: &DatabaseConnection, write: F) -> AppResult<T>
where
    F: for<'t> Fn(&'t DatabaseTransaction) -> BoxFuture<'t, AppResult<T>>,
{
    let mut attempt = 1;
    loop {
        let result = async {
            let txn = db.begin_with_options(WRITE_TRANSACTION).await?;
            // Dropped without a commit on error: the transaction rolls back.
            let value = write(&txn).await?;
            txn.commit().await?;
            Ok(value)
        }
        .await;
        match result {
            Err(AppError::Database(err)) if attempt < WRITE_ATTEMPTS && is_transient(&err) => {
                tracing::debug!(error = %err, attempt, "transient write failure; retrying");
                tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Whether the database refused a write only because of other writers: a deadlock victim or a
/// serialization failure (PostgreSQL 40001/40P01, MySQL 1213), or SQLite still busy after its
/// timeout. Such a write did nothing and may simply run again.
pub fn is_transient(err: &DbErr) -> bool {
    use sea_orm::sqlx;
    let (DbErr::Exec(RuntimeErr::SqlxError(err)) | DbErr::Query(RuntimeErr::SqlxError(err))) = err
    else {
        return false;
    };
    let sqlx::Error::Database(err) = err.as_ref() else {
        return false;
    };
    if let Some(mysql) = err.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return mysql.number() == 1213;
    }
    matches!(
        err.code().as_deref(),
        // PostgreSQL serialization failure and deadlock; SQLite BUSY, LOCKED and BUSY_SNAPSHOT.
        Some("40001" | "40P01" | "5" | "6" | "517")
    )
}
