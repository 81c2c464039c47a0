//! The one error type of blogql and the one place that maps it to GraphQL errors.
//!
//! Clients match on `extensions.code`, which is stable: `NOT_FOUND`, `BAD_USER_INPUT`,
//! `CONFLICT`, `INTERNAL`, `SERVICE_UNAVAILABLE`, `TIMEOUT`. Database errors are logged here and
//! never shown to clients.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("a {entity} with this {field} already exists")]
    Conflict {
        entity: &'static str,
        field: &'static str,
    },
    #[error("internal error")]
    Database(DbErr),
    /// The database cannot be reached, or did not answer in time: nothing is wrong with the
    /// request, which may be sent again.
    #[error("the database is unavailable; try again shortly")]
    Unavailable(DbErr),
    /// No valid bearer token, where one is needed (or one was sent and is not valid).
    #[error("{0}")]
    Unauthenticated(String),
    /// The viewer may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed log-ins; try again after `retry_after_secs`.
    #[error("too many failed log-ins: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The response would be larger than `--max-response-bytes`.
    #[error("the response would be larger than {0} bytes (--max-response-bytes / BLOGQL_MAX_RESPONSE_BYTES): ask for fewer rows or fields")]
    ResponseTooLarge(usize),
    /// The request ran longer than `--request-timeout`; its work was cancelled.
    #[error("the request took longer than {0} ms and was cancelled (--request-timeout / BLOGQL_REQUEST_TIMEOUT)")]
    Timeout(u128),
    /// A connection already runs `--max-subscriptions` subscriptions.
    #[error("this connection already runs {0} subscriptions (--max-subscriptions / BLOGQL_MAX_SUBSCRIPTIONS): complete one first")]
    TooManySubscriptions(usize),
    /// A subscriber fell more events behind than its buffer holds; its connection is closed.
    #[error("this subscriber fell {0} events behind its buffer (--subscription-buffer / BLOGQL_SUBSCRIPTION_BUFFER) and is disconnected: reconnect, and catch up with a query")]
    SlowConsumer(u64),
    #[error("internal error")]
    Internal(String),
    /// An internal error already logged where it happened: a failed loader batch reaches every
    /// resolver waiting on it, and should be logged once, not once per resolver.
    #[error("internal error")]
    Logged,
}

impl AppError {
    /// The stable, machine-readable code sent as `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound { .. } => "NOT_FOUND",
            AppError::InvalidInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict { .. } => "CONFLICT",
            AppError::Database(_) | AppError::Internal(_) | AppError::Logged => "INTERNAL",
            AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Timeout(_) => "TIMEOUT",
            AppError::ResponseTooLarge(_) => "RESPONSE_TOO_LARGE",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::TooManySubscriptions(_) => "TOO_MANY_SUBSCRIPTIONS",
            AppError::SlowConsumer(_) => "SLOW_CONSUMER",
        }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        AppError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        AppError::Unauthenticated(message.into())
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Places the field of an input error inside a larger input: `title` within `posts[2].`
    /// becomes `posts[2].title`. Other errors are returned as they are.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            AppError::InvalidInput { field, message } => AppError::InvalidInput {
                field: format!("{prefix}{field}"),
                message,
            },
            other => other,
        }
    }

    /// Classifies a failed write: a unique violation becomes `CONFLICT` on the column it names
    /// (the constraint names used by all three databases contain the column name), anything
    /// else stays a database error.
    pub fn from_write(err: DbErr, entity: &'static str, unique_fields: &[&'static str]) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
            // The constraint's name comes last in every database's message (MySQL puts the
            // offending value before it), so the last column named is the one. A violation
            // naming none of them (a primary key, say) is not the client's conflict.
            let field = unique_fields
                .iter()
                .filter_map(|field| message.rfind(field).map(|at| (at, *field)))
                .max()
                .map(|(_, field)| field);
            if let Some(field) = field {
                return AppError::Conflict { entity, field };
            }
        }
        AppError::from(err)
    }
}

impl From<DbErr> for AppError {
    /// A database error is ours (`INTERNAL`) unless the database was simply unavailable.
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            AppError::Unavailable(err)
        } else {
            AppError::Database(err)
        }
    }
}

/// Whether `err` says the database is away or overloaded rather than that the statement was
/// wrong: no connection could be had in time, the connection broke, the server is shutting
/// down or refusing connections, or a statement ran past its timeout.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::{sqlx, RuntimeErr};
    let sqlx_err = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(err))
        | DbErr::Exec(RuntimeErr::SqlxError(err))
        | DbErr::Query(RuntimeErr::SqlxError(err)) => err,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx_err.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(err) => {
            if let Some(mysql) = err.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // Too many connections, shutting down, gone away, lost, statement timeouts
                // (MariaDB's max_statement_time, MySQL's max_execution_time).
                return matches!(mysql.number(), 1040 | 1053 | 2006 | 2013 | 1969 | 3024);
            }
            // PostgreSQL: connection exceptions (08), shutting down or starting (57P0x), a
            // statement cancelled by statement_timeout (57014), too many connections (53300).
            err.code().is_some_and(|code| {
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code == "57014"
                    || code == "53300"
            })
        }
        _ => false,
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            AppError::Database(err) => tracing::error!(error = %err, "database error"),
            AppError::Unavailable(err) => tracing::warn!(error = %err, "database unavailable"),
            AppError::Internal(detail) => tracing::error!(%detail, "internal error"),
            _ => {}
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                AppError::InvalidInput { field, .. } => ext.set("field", field.as_str()),
                AppError::Conflict { field, .. } => ext.set("field", *field),
                AppError::RateLimited { retry_after_secs } => {
                    ext.set("retryAfter", *retry_after_secs)
                }
                _ => {}
            }
        })
    }
}

/// The result of every fallible step below the GraphQL layer.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let cases = [
            (AppError::not_found("User", 1), "NOT_FOUND"),
            (
                AppError::invalid("title", "must not be empty"),
                "BAD_USER_INPUT",
            ),
            (
                AppError::Conflict {
                    entity: "post",
                    field: "title",
                },
                "CONFLICT",
            ),
            (AppError::Database(DbErr::Custom("x".into())), "INTERNAL"),
            (AppError::Internal("x".into()), "INTERNAL"),
            (AppError::Logged, "INTERNAL"),
            (
                AppError::from(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)),
                "SERVICE_UNAVAILABLE",
            ),
            (AppError::Timeout(15_000), "TIMEOUT"),
            (AppError::ResponseTooLarge(8), "RESPONSE_TOO_LARGE"),
            (AppError::unauthenticated("x"), "UNAUTHENTICATED"),
            (AppError::Forbidden("x".into()), "FORBIDDEN"),
            (
                AppError::RateLimited {
                    retry_after_secs: 3,
                },
                "RATE_LIMITED",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "case {err:?}");
        }
    }

    #[test]
    fn input_errors_are_placed_within_a_larger_input() {
        let err = AppError::invalid("title", "must not be empty").within("posts[2].");
        assert_eq!(err.to_string(), "posts[2].title: must not be empty");
        let other = AppError::not_found("User", 1).within("posts[2].");
        assert_eq!(other.to_string(), "User 1 not found");
    }

    #[test]
    fn database_errors_do_not_leak_their_text() {
        let err = AppError::Database(DbErr::Custom("SELECT secret FROM users".into()));
        let gql = err.extend();
        assert_eq!(gql.message, "internal error");
    }
}
