//! Creates `posts`: the child side, whose `author_id` cascades on delete, plus the index on
//! `author_id` that no database creates for a foreign key by itself (`User.posts` needs it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement};

use crate::m20250101_000001_create_user_table::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut title = ColumnDef::new(Posts::Title);
        match exact_collation(manager).await? {
            // MySQL wants the collation right after the type.
            Some(collation) => {
                title.custom(Alias::new(format!("varchar(250) COLLATE {collation}")))
            }
            None => title.string_len(250),
        };
        title
            .not_null()
            .unique_key()
            .check(Expr::col(Posts::Title).ne(""));
        manager
            .create_table(
                Table::create()
                    .table(Posts::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Posts::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(title)
                    .col(ColumnDef::new(Posts::Content).text().not_null())
                    .col(ColumnDef::new(Posts::AuthorId).integer().not_null())
                    .col(
                        ColumnDef::new(Posts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null()
                            .default(Expr::current_timestamp()),
                    )
                    .col(
                        ColumnDef::new(Posts::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null()
                            .default(Expr::current_timestamp()),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posts_author_id")
                            .from(Posts::Table, Posts::AuthorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_author_id")
                    .table(Posts::Table)
                    .col(Posts::AuthorId)
                    .col(Posts::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Posts::Table).to_owned())
            .await
    }
}

/// MySQL and MariaDB compare strings case- and trailing-space-insensitively by default, so
/// "Hello" and "hello " would be one title there and two elsewhere. A binary, no-pad collation
/// makes "unique title" mean the same on every database. SQLite and PostgreSQL need nothing.
async fn exact_collation(manager: &SchemaManager<'_>) -> Result<Option<&'static str>, DbErr> {
    if manager.get_database_backend() != DatabaseBackend::MySql {
        return Ok(None);
    }
    let version = manager
        .get_connection()
        .query_one_raw(Statement::from_string(
            DatabaseBackend::MySql,
            "SELECT VERSION()",
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<String>(0).ok())
        .unwrap_or_default();
    Ok(Some(if version.contains("MariaDB") {
        "utf8mb4_nopad_bin"
    } else {
        "utf8mb4_0900_bin"
    }))
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
    Title,
    Content,
    AuthorId,
    CreatedAt,
    UpdatedAt,
}
