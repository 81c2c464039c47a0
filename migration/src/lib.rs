//! Schema history for blogql. Migrations are history: this crate does not depend on `entity`,
//! and an applied migration is never edited; a change is a new migration.

pub use sea_orm_migration::prelude::*;

mod m20250101_000001_create_user_table;
mod m20250101_000002_create_post_table;
mod m20261123_000001_create_follows_table;
mod m20261129_000001_add_folded_text;
mod m20261129_000002_create_accounts;
mod mysql;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_create_user_table::Migration),
            Box::new(m20250101_000002_create_post_table::Migration),
            Box::new(m20261123_000001_create_follows_table::Migration),
            Box::new(m20261129_000001_add_folded_text::Migration),
            Box::new(m20261129_000002_create_accounts::Migration),
        ]
    }
}
