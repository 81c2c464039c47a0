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

    #[command(flatten)]
    pub limits: LimitSettings,

    #[command(flatten)]
    pub exposure: ExposureSettings,
}

/// What one request may ask for; beyond a limit a request is refused with a coded error before
/// it runs.
#[derive(Debug, Clone, Args)]
pub struct LimitSettings {
    /// Deepest query accepted; deeper queries are rejected before they run. Tools' standard
    /// introspection query needs 15.
    #[arg(long, env = "BLOGQL_MAX_DEPTH", default_value_t = 16, global = true)]
    pub max_depth: usize,

    /// Most expensive query accepted: each field costs 1, times the page size of each list
    /// around it (`users(first: 50) { nodes { name } }` costs 100).
    #[arg(
        long,
        env = "BLOGQL_MAX_COMPLEXITY",
        default_value_t = 20_000,
        global = true
    )]
    pub max_complexity: usize,

    /// Most fields a document may hold once its fragments are expanded (every operation and
    /// fragment, as validation walks them). Refuses fragment "bombs" before they cost CPU; the
    /// standard introspection query has 471.
    #[arg(
        long,
        env = "BLOGQL_MAX_FIELDS",
        default_value_t = 2_000,
        global = true
    )]
    pub max_fields: usize,

    /// Most directives on one field, fragment spread or operation.
    #[arg(
        long,
        env = "BLOGQL_MAX_DIRECTIVES",
        default_value_t = 8,
        global = true
    )]
    pub max_directives: usize,

    /// Most root fields in one operation (aliases included): each may run its own statements.
    #[arg(
        long,
        env = "BLOGQL_MAX_ROOT_FIELDS",
        default_value_t = 32,
        global = true
    )]
    pub max_root_fields: usize,

    /// Most aliased fields in one operation.
    #[arg(long, env = "BLOGQL_MAX_ALIASES", default_value_t = 64, global = true)]
    pub max_aliases: usize,
}

/// What blogql shows of itself: switches for production.
#[derive(Debug, Clone, Args)]
pub struct ExposureSettings {
    /// Answer introspection queries (`__schema`, `__type`), which tools and the playground use
    /// to learn the schema. Turn off where the schema should not be discoverable.
    #[arg(
        long,
        env = "BLOGQL_INTROSPECTION",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub introspection: bool,

    /// Serve the GraphiQL playground at `/`.
    #[arg(
        long,
        env = "BLOGQL_PLAYGROUND",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub playground: bool,

    /// Browser origins allowed to call the API from other sites (CORS), comma-separated, e.g.
    /// `https://app.example.com`. None by default: browsers then allow only same-origin calls
    /// (the playground's).
    #[arg(
        long,
        env = "BLOGQL_CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_origin,
        global = true
    )]
    pub cors_origins: Vec<String>,
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

/// An origin as browsers send it: `http(s)://host[:port]`, with no path (not even `/`).
fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim();
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("{origin:?} is not an origin: it must start with http:// or https://")
        })?;
    let well_formed = !rest.is_empty()
        && !rest.contains(['/', '?', '#', '*', ' ', '@'])
        && origin.parse::<actix_web::http::Uri>().is_ok();
    if !well_formed {
        return Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port], e.g. https://app.example.com"
        ));
    }
    Ok(origin.to_string())
}

impl Settings {
    /// Settings as `blogql` would use them with no flags and no environment: the base for tests.
    pub fn defaults() -> Self {
        Cli::parse_from(["blogql"]).settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_must_be_origins() {
        let cases = [
            ("https://app.example.com", true),
            ("http://localhost:3000", true),
            ("https://app.example.com/", false),
            ("https://app.example.com/path", false),
            ("app.example.com", false),
            ("*", false),
            ("https://*.example.com", false),
            ("https://", false),
        ];
        for (origin, ok) in cases {
            assert_eq!(parse_origin(origin).is_ok(), ok, "case {origin}");
        }
    }

    #[test]
    fn production_switches_are_flags_with_defaults() {
        let defaults = Settings::defaults();
        assert!(defaults.exposure.introspection && defaults.exposure.playground);
        assert!(defaults.exposure.cors_origins.is_empty());
        let cli = Cli::parse_from([
            "blogql",
            "--introspection",
            "false",
            "--playground",
            "false",
            "--cors-origins",
            "https://a.example,http://localhost:3000",
        ]);
        assert!(!cli.settings.exposure.introspection && !cli.settings.exposure.playground);
        assert_eq!(
            cli.settings.exposure.cors_origins,
            ["https://a.example", "http://localhost:3000"]
        );
    }
}
