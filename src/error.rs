//! The one error type of blogql and the one place that maps it to GraphQL errors.
//!
//! Clients match on `extensions.code`, which is stable: `NOT_FOUND`, `BAD_USER_INPUT`,
//! `CONFLICT`, `INTERNAL`. Database errors are logged here and never shown to clients.

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
    Database(#[from] DbErr),
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
        }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        AppError::NotFound {
            entity,
            id: id.to_string(),
        }
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
        AppError::Database(err)
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            AppError::Database(err) => tracing::error!(error = %err, "database error"),
            AppError::Internal(detail) => tracing::error!(%detail, "internal error"),
            _ => {}
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                AppError::InvalidInput { field, .. } => ext.set("field", field.as_str()),
                AppError::Conflict { field, .. } => ext.set("field", *field),
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
