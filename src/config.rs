//! Settings: every flag has an environment fallback, and the defaults work with nothing
//! installed (an SQLite file next to the binary, 127.0.0.1:8000). `blogql --help` is the
//! configuration reference.

use std::time::Duration;

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
    /// Make the user with this email an admin (who may change anything). Never possible
    /// through the API.
    GrantAdmin { email: String },
    /// Set the password of the user with this email, read from standard input (one line).
    /// Users created before accounts have none, and cannot log in until one is set.
    SetPassword { email: String },
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

    /// A tracing span for every GraphQL field (async-graphql's `Tracing` extension), for
    /// those who send traces somewhere. Off by default: it costs CPU on every field of every
    /// request, even when the log filter drops the spans. One log line per request stays.
    #[arg(
        long,
        env = "BLOGQL_TRACE_FIELDS",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub trace_fields: bool,

    /// Log filter, in `tracing` EnvFilter syntax (e.g. `info,sqlx=debug` for every SQL
    /// statement). The default leaves out async-graphql's own spans and events (a span for every
    /// DataLoader call, a line for every field error, which blogql logs itself where it
    /// matters): they cost CPU on every request.
    #[arg(
        long,
        env = "BLOGQL_LOG",
        default_value = "info,async_graphql=warn",
        global = true
    )]
    pub log: String,

    /// HTTP worker threads (0 = one per core, at most 512).
    #[arg(long, env = "BLOGQL_WORKERS", default_value_t = 0, value_parser = parse_workers, global = true)]
    pub workers: usize,

    #[command(flatten)]
    pub limits: LimitSettings,

    #[command(flatten)]
    pub exposure: ExposureSettings,

    /// How long a log-in (a bearer token) stays valid.
    #[arg(long, env = "BLOGQL_SESSION_TTL", default_value = "30d", value_parser = parse_duration, global = true)]
    pub session_ttl: Duration,

    #[command(flatten)]
    pub live: LiveSettings,
}

/// Subscriptions over WebSocket: how many, how far behind, how long to wait.
#[derive(Debug, Clone, Args)]
pub struct LiveSettings {
    /// Most WebSocket connections this instance holds at once; past it an upgrade is refused
    /// with HTTP 503.
    #[arg(
        long,
        env = "BLOGQL_MAX_WS_CONNECTIONS",
        default_value_t = 1_000,
        global = true
    )]
    pub max_ws_connections: usize,

    /// Most subscriptions one connection runs at once; another is TOO_MANY_SUBSCRIPTIONS.
    #[arg(
        long,
        env = "BLOGQL_MAX_SUBSCRIPTIONS",
        default_value_t = 20,
        global = true
    )]
    pub max_subscriptions: usize,

    /// Events a subscriber may fall behind (unread by its client) before it is disconnected
    /// (close code 1013), rather than buffered without bound.
    #[arg(
        long,
        env = "BLOGQL_SUBSCRIPTION_BUFFER",
        default_value_t = 256,
        global = true
    )]
    pub subscription_buffer: usize,

    /// How long a new connection has to send `connection_init` (then close code 4408).
    #[arg(long, env = "BLOGQL_WS_INIT_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub ws_init_timeout: Duration,

    /// How often a WebSocket ping frame goes to every connection, to keep it (and the proxies
    /// on its way) alive and to find dead peers; one unanswered for two periods closes it.
    #[arg(long, env = "BLOGQL_WS_KEEPALIVE", default_value = "30s", value_parser = parse_duration, global = true)]
    pub ws_keepalive: Duration,
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

    /// Largest response, in bytes of its fields' names and values, counted while it is built:
    /// past it the request stops and answers `RESPONSE_TOO_LARGE` (8 MiB by default).
    #[arg(
        long,
        env = "BLOGQL_MAX_RESPONSE_BYTES",
        default_value_t = 8 * 1024 * 1024,
        global = true
    )]
    pub max_response_bytes: usize,

    /// Most errors in one response; one more error then says how many were left out.
    #[arg(long, env = "BLOGQL_MAX_ERRORS", default_value_t = 100, global = true)]
    pub max_errors: usize,

    /// Longest a request may run: past it, its work is cancelled (a write rolls back) and it is
    /// answered `TIMEOUT`.
    #[arg(long, env = "BLOGQL_REQUEST_TIMEOUT", default_value = "15s", value_parser = parse_duration, global = true)]
    pub request_timeout: Duration,
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

    /// Most connections in the pool. Unset: on PostgreSQL and MariaDB/MySQL, a third of the
    /// connections the database server allows this user on this database, from 4 to 16; on
    /// SQLite, 10 (see `db::pool_size`).
    #[arg(
        long,
        env = "BLOGQL_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub max_connections: Option<u32>,

    /// How long to wait for the database at start-up, or to open a new connection (`10s`,
    /// `500ms`; a bare number is seconds).
    #[arg(long, env = "BLOGQL_CONNECT_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub connect_timeout: Duration,

    /// How long a request waits for a connection from the pool before it is answered
    /// `SERVICE_UNAVAILABLE` (the database is away, or every connection is busy).
    #[arg(long, env = "BLOGQL_ACQUIRE_TIMEOUT", default_value = "3s", value_parser = parse_duration, global = true)]
    pub acquire_timeout: Duration,

    /// Longest one SQL statement may run, enforced by the database (PostgreSQL's
    /// `statement_timeout`, MariaDB's `max_statement_time`, MySQL's `max_execution_time`);
    /// on SQLite `--request-timeout` bounds it.
    #[arg(long, env = "BLOGQL_STATEMENT_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub statement_timeout: Duration,
}

/// `15s`, `500ms`, `2m`, `12h`, `30d`, or a bare number of seconds.
/// The most worker threads actix-web runs (it panics on more).
pub const MAX_WORKERS: usize = 512;

/// A number of worker threads: 0 (one per core) to `MAX_WORKERS`.
fn parse_workers(text: &str) -> Result<usize, String> {
    match text.trim().parse() {
        Ok(workers) if workers <= MAX_WORKERS => Ok(workers),
        _ => Err(format!(
            "{text:?} is not a number of worker threads from 0 (one per core) to {MAX_WORKERS}"
        )),
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write e.g. 15s, 500ms or 2m"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        "d" => Duration::from_secs(number.saturating_mul(86_400)),
        _ => {
            return Err(format!(
                "{text:?} is not a duration: write e.g. 15s, 500ms or 2m"
            ))
        }
    };
    if duration.is_zero() {
        return Err("a timeout of 0 would refuse everything".into());
    }
    Ok(duration)
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

    /// The HTTP worker threads the server runs: `workers`, or one per core (as actix-web
    /// counts them) when it is 0.
    pub fn worker_threads(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism()
                .map_or(2, usize::from)
                .min(MAX_WORKERS),
            workers => workers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_or_mean_seconds() {
        let cases = [
            ("15", Some(Duration::from_secs(15))),
            ("15s", Some(Duration::from_secs(15))),
            ("500ms", Some(Duration::from_millis(500))),
            ("2m", Some(Duration::from_secs(120))),
            ("0", None),
            ("1h", Some(Duration::from_secs(3600))),
            ("30d", Some(Duration::from_secs(30 * 86_400))),
            ("1w", None),
            ("fast", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text).ok(), expected, "case {text:?}");
        }
    }

    #[test]
    fn worker_threads_are_at_most_what_actix_runs() {
        assert_eq!(parse_workers("0"), Ok(0));
        assert_eq!(parse_workers("512"), Ok(512));
        assert!(parse_workers("513").is_err());
        assert!(parse_workers("-1").is_err());
        assert!(Cli::try_parse_from(["blogql", "--workers", "100000"]).is_err());
        let mut settings = Settings::defaults();
        settings.workers = 3;
        assert_eq!(settings.worker_threads(), 3);
        settings.workers = 0;
        assert!((1..=MAX_WORKERS).contains(&settings.worker_threads()));
    }

    #[test]
    fn a_pool_holds_at_least_one_connection_and_is_sized_to_the_server_unless_given() {
        assert_eq!(Settings::defaults().database.max_connections, None);
        let given = Cli::parse_from(["blogql", "--max-connections", "12"]);
        assert_eq!(given.settings.database.max_connections, Some(12));
        assert!(Cli::try_parse_from(["blogql", "--max-connections", "0"]).is_err());
    }

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
