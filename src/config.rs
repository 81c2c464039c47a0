//! Settings: every flag has an environment fallback, and the defaults work with nothing
//! installed (an SQLite file next to the binary, 127.0.0.1:8000). `blogql --help` is the
//! configuration reference.

use clap::{Args, Parser, Subcommand};

/// A GraphQL API server for a blog's users and posts, N+1-free by construction.
#[derive(Debug, Clone, Parser)]
#[command(name = "blogql", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run migrations and serve the API (the default).
    Serve,
    /// Run migrations and load a small demo dataset (idempotent).
    SeedDemo,
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    ExportSchema,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Address to listen on; port 0 picks a free port (the log line says which).
    #[arg(
        long,
        env = "BLOGQL_BIND",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub bind: String,

    /// Log filter, in `tracing` EnvFilter syntax (e.g. `info`, or `info,sqlx=debug` for every SQL statement).
    /// The default leaves out async-graphql's per-field spans (`async_graphql::graphql=info`
    /// turns them on): a span per field costs throughput on nested queries.
    #[arg(
        long,
        env = "BLOGQL_LOG",
        default_value = "info,async_graphql::graphql=warn",
        global = true
    )]
    pub log: String,

    /// HTTP worker threads (0 = one per core).
    #[arg(long, env = "BLOGQL_WORKERS", default_value_t = 0, global = true)]
    pub workers: usize,

    /// Deepest query accepted; deeper queries are rejected before they run. Tools' standard
    /// introspection query needs 15.
    #[arg(long, env = "BLOGQL_MAX_DEPTH", default_value_t = 16, global = true)]
    pub max_depth: usize,

    /// Most complex query accepted: each field counts 1, times the page size of each list
    /// around it (`users(first: 50) { nodes { name } }` costs 100).
    #[arg(
        long,
        env = "BLOGQL_MAX_COMPLEXITY",
        default_value_t = 20_000,
        global = true
    )]
    pub max_complexity: usize,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// `sqlite://FILE?mode=rwc`, `postgres://USER@HOST/DB` or `mysql://USER@HOST/DB`.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "sqlite://blogql.db?mode=rwc",
        global = true
    )]
    pub url: String,

    /// Most connections in the pool.
    #[arg(
        long,
        env = "BLOGQL_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub max_connections: u32,

    /// Seconds to wait for the database at start-up (and for a pooled connection) before failing.
    #[arg(
        long,
        env = "BLOGQL_CONNECT_TIMEOUT",
        default_value_t = 10,
        global = true
    )]
    pub connect_timeout: u64,
}

impl Settings {
    /// Settings as `blogql` would use them with no flags and no environment: the base for tests.
    pub fn defaults() -> Self {
        Cli::parse_from(["blogql"]).settings
    }
}
