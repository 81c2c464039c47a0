//! The integration suite: the real server on port 0, real HTTP, a fresh database per test.
//! Every test runs on SQLite, PostgreSQL and MariaDB (see `helpers::backend_tests!`).

#[macro_use]
mod helpers;

mod accounts;
mod batching;
mod database;
mod errors;
mod exposure;
mod filters;
mod follows;
mod fuzz;
mod http;
mod limits;
mod live;
mod ordering;
mod outage;
mod ownership;
mod posts;
mod proxy;
mod reads;
mod statement_counts;
mod users;
