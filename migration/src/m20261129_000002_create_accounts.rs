//! Accounts: a password (an argon2id hash; absent for users created before accounts, who cannot
//! log in until one is set with `blogql set-password`) and a role for every user, and the
//! sessions that bearer tokens open. A session row holds only the SHA-256 of its token, so a
//! copy of the table lets nobody in; it goes with its user, and log-out deletes it.

use sea_orm_migration::prelude::*;

use crate::m20250101_000001_create_user_table::Users;
use crate::mysql;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let collation = mysql::exact_collation(manager).await?;
        let mut password_hash = ColumnDef::new(Accounts::PasswordHash);
        mysql::exact_varchar(&mut password_hash, 255, collation);
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(password_hash.null())
                    .to_owned(),
            )
            .await?;
        let mut role = ColumnDef::new(Accounts::Role);
        mysql::exact_varchar(&mut role, 16, collation);
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(role.not_null().default("user"))
                    .to_owned(),
            )
            .await?;

        let mut token_hash = ColumnDef::new(Sessions::TokenHash);
        mysql::exact_varchar(&mut token_hash, 64, collation);
        let mut created_at = ColumnDef::new(Sessions::CreatedAt);
        mysql::timestamp_now(&mut created_at, collation);
        let mut expires_at = ColumnDef::new(Sessions::ExpiresAt);
        mysql::timestamp_now(&mut expires_at, collation);
        let mut table = Table::create();
        mysql::utf8mb4(&mut table, collation);
        manager
            .create_table(
                table
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(token_hash.not_null().primary_key())
                    .col(ColumnDef::new(Sessions::UserId).integer().not_null())
                    .col(created_at.not_null())
                    .col(expires_at.not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user_id")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user_id")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await?;
        for column in [Accounts::Role, Accounts::PasswordHash] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Accounts {
    PasswordHash,
    Role,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
}
