//! blogql: a GraphQL API server for a blog's users and posts, N+1-free by construction.
//!
//! The layers, each using only those after it: `http` (routes, the GraphQL-over-HTTP protocol,
//! the playground) -> `graphql` (the schema and thin resolvers) -> `loaders` (per-request
//! batching) -> `db` (every query and write) -> the `entity` crate. `domain` (validated values,
//! rules) and `error` are used by all of them and use none.

pub mod accounts;
pub mod allocator;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod loaders;
pub mod log_lines;
pub mod seed;
pub mod startup;
pub mod telemetry;
