//! `cargo run -p migration -- up|down|status|fresh`: SeaORM's own migration CLI.
//! It reads `DATABASE_URL` (or `-u URL`), like the server.

use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
