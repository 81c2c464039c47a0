//! Creates `users`: the parent of the one-to-many relation, with a unique email.

use sea_orm_migration::prelude::*;

use crate::mysql;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let collation = mysql::exact_collation(manager).await?;
        let mut email = ColumnDef::new(Users::Email);
        mysql::exact_varchar(&mut email, 255, collation);
        let mut created_at = ColumnDef::new(Users::CreatedAt);
        mysql::timestamp_now(&mut created_at, collation);
        let mut table = Table::create();
        mysql::utf8mb4(&mut table, collation);
        manager
            .create_table(
                table
                    .table(Users::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Users::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Users::Name)
                            .string_len(1000)
                            .not_null()
                            // The API validates this too; the check keeps other writers honest.
                            .check(Expr::col(Users::Name).ne("")),
                    )
                    .col(email.not_null().unique_key())
                    .col(created_at.not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Name,
    Email,
    CreatedAt,
}
