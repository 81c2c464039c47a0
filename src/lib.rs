//! blogql: a GraphQL API server for a blog's users and posts, N+1-free by construction.

pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod graphql_over_http;
pub mod http;
pub mod playground;
pub mod seed;
pub mod startup;
pub mod telemetry;
