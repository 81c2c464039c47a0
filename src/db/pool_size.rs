//! How many connections the pool opens when `--max-connections` is not given.
//!
//! On PostgreSQL and MariaDB/MySQL: a third of the connections the database server allows
//! this user on this database, from `AT_LEAST` to `AT_MOST`. Why more than SQLx's 10: a
//! request waits for a connection whenever more statements are in flight than the pool
//! holds, and waiting costs more than the connection. With 32 requests at a time on two cores,
//! a pool of 10 (7 for reads) made `single` spend a third more server CPU per request than a
//! larger one, and serve a quarter fewer requests per second, and PostgreSQL spent more too
//! (each side slept and was woken for nearly every statement). Why no more than 16: with 32
//! on a machine whose two cores PostgreSQL shared, p99 latency jumped from 10-15 ms to 50-330
//! ms in a third of the runs (that many backends at once, each waiting its turn on the cores),
//! and it saved little more CPU than 16 (`bench/ROUNDS.md`). Why a third: instances of blogql
//! share the server's connections with each other and with everyone else (PostgreSQL allows
//! 100 by default, MariaDB 151), so three instances at full load still leave the server room.
//!
//! On SQLite the pool stays at 10: SQLx runs a thread per SQLite connection, and one writer
//! at a time is all the file allows.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// The most connections a pool opens by default.
pub const AT_MOST: u32 = 16;

/// The fewest: the event listener keeps one for good, and writes need one besides reads.
pub const AT_LEAST: u32 = 4;

/// The pool size on SQLite when `--max-connections` is not given.
pub const SQLITE: u32 = 10;

/// The default pool size for a server that allows `allowed` connections.
pub fn fitting(allowed: u32) -> u32 {
    (allowed / 3).clamp(AT_LEAST, AT_MOST)
}

/// The connections the server behind `db` allows this user on this database: the server's
/// own limit less those it keeps for superusers, and the database's and the role's limits
/// when they set one (PostgreSQL); the server's limit, or the user's when it is lower
/// (MariaDB/MySQL). `None` on SQLite.
pub async fn server_allows(db: &DatabaseConnection) -> Result<Option<u32>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT LEAST( \
               current_setting('max_connections')::int \
                 - current_setting('superuser_reserved_connections')::int, \
               COALESCE(NULLIF((SELECT datconnlimit FROM pg_database \
                                WHERE datname = current_database()), -1), 2147483647), \
               COALESCE(NULLIF((SELECT rolconnlimit FROM pg_roles \
                                WHERE rolname = current_user), -1), 2147483647))::bigint"
        }
        DbBackend::MySql => {
            "SELECT CAST(LEAST(@@max_connections, \
               IF(@@max_user_connections > 0, @@max_user_connections, @@max_connections)) \
             AS SIGNED)"
        }
        _ => return Ok(None),
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the server's connection limit".into()))?;
    let allowed: i64 = row.try_get_by_index(0)?;
    Ok(Some(u32::try_from(allowed.max(0)).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_third_of_what_the_server_allows_from_4_to_16() {
        // PostgreSQL's default (100, 3 kept for superusers), MariaDB's (151), a small
        // managed database, a database limited to a handful.
        assert_eq!(fitting(97), 16);
        assert_eq!(fitting(151), 16);
        assert_eq!(fitting(42), 14);
        assert_eq!(fitting(15), 5);
        assert_eq!(fitting(5), 4);
        assert_eq!(fitting(0), 4);
    }
}
