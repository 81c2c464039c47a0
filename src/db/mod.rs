//! Data access. This module connects (with a pool `pool_size` fits to the server) and
//! migrates; SQLite gets enforced foreign keys (so cascade works), a WAL journal and a busy
//! timeout (so concurrent writers wait instead of failing).
//!
//! Below it: `write` (the one way writes run: a transaction, retried when transient), `page`
//! (the one page builder: keyset pages, windowed per parent, counts, typed cursors), `by_id`,
//! and one module per table (`users`, `posts`, `follows`) holding every query on it and the
//! descriptions of the lists it takes part in. Functions here take `&impl ConnectionTrait`, so
//! the API, `seed-demo`, a background task or a test can all call them. The API reads through
//! `reads` (PostgreSQL connections kept between statements).

pub mod by_id;
pub mod fields;
pub mod filters;
pub mod follows;
pub mod page;
pub mod pool_size;
pub mod posts;
pub mod reads;
pub mod sessions;
pub mod statements;
pub mod users;
pub mod write;

use std::time::{Duration, Instant};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::DatabaseSettings;

/// How long an SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a pooled connection may sit idle before it is pinged when checked out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

/// How often start-up tries to reach a database that is not answering yet.
const CONNECT_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// Connects to `settings.url` with a pool of `--max-connections`, or when that is not given,
/// of the size `pool_size` chooses for the server.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    if let Some(size) = settings.max_connections {
        return connect_with_pool_of(settings, size).await;
    }
    if settings.url.starts_with("sqlite:") {
        tracing::info!(
            size = pool_size::SQLITE,
            "database pool size (--max-connections unset)"
        );
        return connect_with_pool_of(settings, pool_size::SQLITE).await;
    }
    // Connected at the largest default size first: a pool opens its connections as they are
    // needed, so one of a smaller size replaces it only on a server that allows fewer.
    let db = connect_with_pool_of(settings, pool_size::AT_MOST).await?;
    let size = match pool_size::server_allows(&db).await {
        Ok(Some(allowed)) => pool_size::fitting(allowed),
        Ok(None) => return Ok(db),
        Err(err) => {
            tracing::warn!(error = %err, size = pool_size::AT_MOST, "cannot read the database server's connection limit; the pool keeps its default size");
            return Ok(db);
        }
    };
    tracing::info!(size, "database pool size (--max-connections unset)");
    if size == pool_size::AT_MOST {
        return Ok(db);
    }
    db.close().await?;
    connect_with_pool_of(settings, size).await
}

async fn connect_with_pool_of(
    settings: &DatabaseSettings,
    size: u32,
) -> anyhow::Result<DatabaseConnection> {
    let statement_timeout = settings.statement_timeout;
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(size)
        .acquire_timeout(settings.acquire_timeout)
        // SQLx pings a pooled connection on every checkout by default: a round trip to the
        // database before each statement. Only connections idle for a while (which a server,
        // proxy or firewall may have dropped) are pinged; a broken busy one fails its
        // statement, which is answered SERVICE_UNAVAILABLE, and is closed.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        // One line per statement at debug level, so `--log info,sqlx=debug` shows the SQL.
        .sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Debug)
        .map_sqlx_sqlite_opts(|opts| {
            opts.foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
        })
        .map_sqlx_postgres_opts(move |opts| {
            opts.options([(
                "statement_timeout",
                statement_timeout.as_millis().to_string(),
            )])
        })
        // A read that made the pool open a connection learns it: the connection then goes to
        // reads on the same thread (see `reads`). SeaORM sets a hook of its own here only for a
        // schema search path, which blogql does not use.
        .map_sqlx_postgres_pool_opts(|pool| {
            pool.after_connect(|_, _| {
                Box::pin(async {
                    reads::note_new_connection();
                    Ok(())
                })
            })
        })
        .map_sqlx_mysql_pool_opts(move |pool| {
            pool.after_connect(move |conn, _| {
                Box::pin(async move { limit_mysql_statements(conn, statement_timeout).await })
            })
        });
    // At start-up the database may still be starting (a container started alongside): try
    // again until --connect-timeout. A URL that cannot work fails at once.
    let deadline = Instant::now() + settings.connect_timeout;
    loop {
        match Database::connect(options.clone()).await {
            Ok(db) => return Ok(db),
            Err(err) if crate::error::is_unavailable(&err) && Instant::now() < deadline => {
                tracing::warn!(error = %scrub(&err.to_string(), &settings.url), "database not reachable yet; retrying");
                tokio::time::sleep(CONNECT_RETRY_INTERVAL).await;
            }
            // SeaORM's errors quote the URL as given, password included, when it cannot parse
            // it or knows no driver for it: only a scrubbed copy of the message leaves here.
            Err(err) => {
                return Err(anyhow::anyhow!(
                    "cannot connect to {}: {}",
                    redact(&settings.url),
                    scrub(&err.to_string(), &settings.url)
                ))
            }
        }
    }
}

/// Bounds every statement of a new MariaDB or MySQL connection: MariaDB's `max_statement_time`
/// (seconds, every statement), or where the server does not know it, MySQL's
/// `max_execution_time` (milliseconds, reads only).
async fn limit_mysql_statements(
    conn: &mut sea_orm::sqlx::MySqlConnection,
    timeout: Duration,
) -> Result<(), sea_orm::sqlx::Error> {
    use sea_orm::sqlx::{AssertSqlSafe, Executor};
    let mariadb = format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64());
    if conn.execute(AssertSqlSafe(mariadb)).await.is_err() {
        let mysql = format!("SET SESSION max_execution_time = {}", timeout.as_millis());
        conn.execute(AssertSqlSafe(mysql)).await?;
    }
    Ok(())
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("running database migrations")
}

/// The current time as every supported database stores it: to the microsecond. Values we
/// write are then exactly the values we read back.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// The URL with its password replaced (in the user info or a `password=` parameter), fit for
/// logs and error messages.
pub fn redact(url: &str) -> String {
    let url = redact_userinfo(url);
    match url.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => param.to_string(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => url,
    }
}

/// `text` with the URL and every password in it replaced by their redacted forms.
fn scrub(text: &str, url: &str) -> String {
    let mut text = text.replace(url, &redact(url));
    for password in passwords(url) {
        text = text.replace(&password, "***");
    }
    text
}

/// The passwords a URL carries: in its user info, or as a `password=` parameter.
fn passwords(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) {
        if let Some((_, password)) = url
            .get(scheme_end + 3..at)
            .and_then(|userinfo| userinfo.split_once(':'))
        {
            found.push(password.to_string());
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        found.extend(query.split('&').filter_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.eq_ignore_ascii_case("password")
                .then(|| value.to_string())
        }));
    }
    found.retain(|password| !password.is_empty());
    found
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
                }
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{redact, scrub};

    #[test]
    fn redact_hides_passwords_only() {
        let cases = [
            ("postgres://u:secret@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("sqlite://blogql.db?mode=rwc", "sqlite://blogql.db?mode=rwc"),
            (
                "postgres://h/db?user=u&password=secret&x=1",
                "postgres://h/db?user=u&password=***&x=1",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(redact(url), expected, "case {url}");
        }
    }

    #[test]
    fn scrub_removes_the_url_and_its_passwords_from_messages() {
        let url = "postgres://u:s3cret@[bad/db?password=other";
        let message = format!("The connection string '{url}' cannot be parsed (s3cret, other).");
        let scrubbed = scrub(&message, url);
        assert!(!scrubbed.contains("s3cret"), "{scrubbed}");
        assert!(!scrubbed.contains("other"), "{scrubbed}");
        assert!(scrubbed.contains("postgres://u:***@[bad/db"), "{scrubbed}");
    }
}
