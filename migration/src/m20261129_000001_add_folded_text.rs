//! Adds the folded (lower-cased) copies of post titles and user names that case-insensitive
//! filters (`contains`, `startsWith`) compare against, and the indexes that orders and filters
//! use: posts by creation time, a user's posts by creation time, and title prefixes.
//!
//! Folding happens in the application (Rust's Unicode `to_lowercase`), not in SQL: SQLite's
//! `lower()` only knows ASCII, so `LOWER(title) LIKE ...` would answer differently on SQLite
//! than on PostgreSQL and MariaDB for `É` and `é`. The copies are written with every write of
//! the original (`db::users`, `db::posts`); existing rows are folded here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::mysql;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Folded text is at most twice as long (in characters) as its original: lower-casing `İ`
/// gives two characters; nothing gives more.
const TITLE_FOLDED_CHARS: u32 = 500;
const NAME_FOLDED_CHARS: u32 = 2000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let collation = mysql::exact_collation(manager).await?;
        for (table, column, chars) in [
            (Tables::Posts, Columns::TitleFolded, TITLE_FOLDED_CHARS),
            (Tables::Users, Columns::NameFolded, NAME_FOLDED_CHARS),
        ] {
            let mut folded = ColumnDef::new(column);
            mysql::exact_varchar(&mut folded, chars, collation);
            folded.not_null().default("");
            manager
                .alter_table(Table::alter().table(table).add_column(folded).to_owned())
                .await?;
        }
        fold_existing(manager, "posts", "title", "title_folded").await?;
        fold_existing(manager, "users", "name", "name_folded").await?;

        for (name, columns) in [
            (
                "idx_posts_created_at",
                vec![Columns::CreatedAt, Columns::Id],
            ),
            (
                "idx_posts_author_id_created_at",
                vec![Columns::AuthorId, Columns::CreatedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Tables::Posts);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // `startsWith` is `LIKE 'prefix%'` on the folded title. PostgreSQL uses a btree for
        // that only with the pattern operator class (its collation is not byte order).
        let prefix_index = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE INDEX idx_posts_title_folded ON posts (title_folded text_pattern_ops)"
            }
            _ => "CREATE INDEX idx_posts_title_folded ON posts (title_folded)",
        };
        manager
            .get_connection()
            .execute_unprepared(prefix_index)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_posts_title_folded",
            "idx_posts_author_id_created_at",
            "idx_posts_created_at",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Tables::Posts).to_owned())
                .await?;
        }
        for (table, column) in [
            (Tables::Posts, Columns::TitleFolded),
            (Tables::Users, Columns::NameFolded),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Writes `folded` of every row of `table` from its `original`, folded as the application
/// folds (`str::to_lowercase`).
async fn fold_existing(
    manager: &SchemaManager<'_>,
    table: &str,
    original: &str,
    folded: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT id, {original} FROM {table}"),
        ))
        .await?;
    for row in rows {
        let id: i32 = row.try_get_by_index(0)?;
        let text: String = row.try_get_by_index(1)?;
        let update = Query::update()
            .table(Alias::new(table))
            .value(Alias::new(folded), text.to_lowercase())
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        manager.exec_stmt(update).await?;
    }
    Ok(())
}

#[derive(DeriveIden)]
enum Tables {
    Posts,
    Users,
}

#[derive(DeriveIden)]
enum Columns {
    Id,
    AuthorId,
    CreatedAt,
    TitleFolded,
    NameFolded,
}
