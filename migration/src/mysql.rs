//! What MySQL and MariaDB need so that the schema means the same as on SQLite and PostgreSQL.
//! Their defaults compare strings case-, accent- and trailing-space-insensitively (so "Hello"
//! and "hello " would be one unique title there and two elsewhere), may store tables in a
//! character set without emoji, cap `TEXT` at 64 KiB, and keep timestamps to the second.
//! `collation` below is `Some` exactly on MySQL and MariaDB.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement};

/// The version string of a MySQL or MariaDB server (`None` on other databases).
async fn version(manager: &SchemaManager<'_>) -> Result<Option<String>, DbErr> {
    if manager.get_database_backend() != DatabaseBackend::MySql {
        return Ok(None);
    }
    Ok(Some(
        manager
            .get_connection()
            .query_one_raw(Statement::from_string(
                DatabaseBackend::MySql,
                "SELECT VERSION()",
            ))
            .await?
            .and_then(|row| row.try_get_by_index::<String>(0).ok())
            .unwrap_or_default(),
    ))
}

/// Whether this is MySQL proper (not MariaDB), which refuses a CHECK constraint on a column
/// that a foreign key with a referential action (ON DELETE CASCADE) uses; MariaDB refuses it
/// only with ON UPDATE actions.
pub async fn is_mysql_proper(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    Ok(version(manager)
        .await?
        .is_some_and(|version| !version.contains("MariaDB")))
}

/// How strings are stored on this database: `None` for SQLite and PostgreSQL, which need
/// nothing; for MySQL and MariaDB the binary, no-pad collation that compares exactly.
pub async fn exact_collation(manager: &SchemaManager<'_>) -> Result<Option<&'static str>, DbErr> {
    Ok(version(manager).await?.map(|version| {
        if version.contains("MariaDB") {
            "utf8mb4_nopad_bin"
        } else {
            "utf8mb4_0900_bin"
        }
    }))
}

/// A `varchar(len)` column that compares exactly on every database.
pub fn exact_varchar(column: &mut ColumnDef, len: u32, collation: Option<&str>) {
    match collation {
        // MySQL wants the collation right after the type.
        Some(collation) => column.custom(Alias::new(format!("varchar({len}) COLLATE {collation}"))),
        None => column.string_len(len),
    };
}

/// A text column as long as PostgreSQL's and SQLite's (MySQL's `TEXT` stops at 64 KiB).
pub fn long_text(column: &mut ColumnDef, collation: Option<&str>) {
    match collation {
        Some(_) => column.custom(Alias::new("longtext")),
        None => column.text(),
    };
}

/// A timestamp with microseconds on every database (MySQL's `timestamp` keeps whole seconds),
/// defaulting to now.
pub fn timestamp_now(column: &mut ColumnDef, collation: Option<&str>) {
    match collation {
        Some(_) => column
            .custom(Alias::new("timestamp(6)"))
            .default(Expr::cust("CURRENT_TIMESTAMP(6)")),
        None => column
            .timestamp_with_time_zone()
            .default(Expr::current_timestamp()),
    };
}

/// Tables in `utf8mb4` on MySQL and MariaDB, whatever the server's default.
pub fn utf8mb4(table: &mut TableCreateStatement, collation: Option<&str>) {
    if let Some(collation) = collation {
        table.character_set("utf8mb4").collate(collation);
    }
}
