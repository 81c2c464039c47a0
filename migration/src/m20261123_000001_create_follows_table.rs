//! Creates `follows`: users following users. The pair (follower, followee) is the primary key,
//! both sides cascade when their user is deleted, a user cannot follow themselves, and an index
//! on the followee (newest first) serves `User.followers`, as the primary key serves
//! `User.following`.
//!
//! User ids never change, so the foreign keys have no ON UPDATE action: MariaDB refuses a CHECK
//! on a column whose foreign key has one. MySQL proper refuses it with ON DELETE CASCADE too;
//! there, triggers refuse the loop instead of the CHECK.

use sea_orm_migration::prelude::*;

use crate::m20250101_000001_create_user_table::Users;
use crate::mysql;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let collation = mysql::exact_collation(manager).await?;
        let mut created_at = ColumnDef::new(Follows::CreatedAt);
        mysql::timestamp_now(&mut created_at, collation);
        let mut table = Table::create();
        mysql::utf8mb4(&mut table, collation);
        let not_self = Expr::col(Follows::FollowerId).ne(Expr::col(Follows::FolloweeId));
        let mysql_proper = mysql::is_mysql_proper(manager).await?;
        if !mysql_proper {
            // The API refuses this too; the check keeps other writers honest.
            table.check(Check::named("ck_follows_not_self", not_self));
        }
        manager
            .create_table(
                table
                    .table(Follows::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Follows::FollowerId).integer().not_null())
                    .col(ColumnDef::new(Follows::FolloweeId).integer().not_null())
                    .col(created_at.not_null())
                    .primary_key(
                        Index::create()
                            .name("pk_follows")
                            .col(Follows::FollowerId)
                            .col(Follows::FolloweeId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_follows_follower_id")
                            .from(Follows::Table, Follows::FollowerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_follows_followee_id")
                            .from(Follows::Table, Follows::FolloweeId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        if mysql_proper {
            for event in ["INSERT", "UPDATE"] {
                manager
                    .get_connection()
                    .execute_unprepared(&format!(
                        "CREATE TRIGGER ck_follows_not_self_{} BEFORE {event} ON follows \
                         FOR EACH ROW BEGIN IF NEW.follower_id = NEW.followee_id THEN \
                         SIGNAL SQLSTATE '23000' SET MESSAGE_TEXT = 'ck_follows_not_self'; \
                         END IF; END",
                        event.to_lowercase()
                    ))
                    .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_follows_followee_id")
                    .table(Follows::Table)
                    .col(Follows::FolloweeId)
                    .col(Follows::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Follows::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Follows {
    Table,
    FollowerId,
    FolloweeId,
    CreatedAt,
}
