//! Creates `posts`: the child side, whose `author_id` cascades on delete, plus the index on
//! `author_id` that no database creates for a foreign key by itself (`User.posts` needs it).

use sea_orm_migration::prelude::*;

use crate::m20250101_000001_create_user_table::Users;
use crate::mysql;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let collation = mysql::exact_collation(manager).await?;
        let mut title = ColumnDef::new(Posts::Title);
        mysql::exact_varchar(&mut title, 250, collation);
        title
            .not_null()
            .unique_key()
            .check(Expr::col(Posts::Title).ne(""));
        let mut content = ColumnDef::new(Posts::Content);
        mysql::long_text(&mut content, collation);
        let mut created_at = ColumnDef::new(Posts::CreatedAt);
        mysql::timestamp_now(&mut created_at, collation);
        let mut updated_at = ColumnDef::new(Posts::UpdatedAt);
        mysql::timestamp_now(&mut updated_at, collation);
        let mut table = Table::create();
        mysql::utf8mb4(&mut table, collation);
        manager
            .create_table(
                table
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
                    .col(content.not_null())
                    .col(ColumnDef::new(Posts::AuthorId).integer().not_null())
                    .col(created_at.not_null())
                    .col(updated_at.not_null())
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
