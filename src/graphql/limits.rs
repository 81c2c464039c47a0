//! Limits checked while a request runs, kept off the per-field path: async-graphql resolves
//! every field through a slower path (a registry lookup and a boxed future per extension) as
//! soon as the schema has any extension, so the served schema has none.
//! - Depth and cost: the served schema refuses with async-graphql's own limits, whose message
//!   ("Query is too complex.") gives no figures; only then is the request validated again by a
//!   second schema whose `QueryLimits` extension reads the figures, to answer with the cost,
//!   the limit and the flag that sets it.
//! - Response size: a `ResponseBudget` in the request's data, spent by the fields that can be
//!   long (text), so an amplifying query stops at `--max-response-bytes` instead of being built
//!   whole in memory. Other fields are a few bytes each and bounded by the cost limit.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_graphql::async_trait::async_trait;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation,
};
use async_graphql::{ContextBase, Response, ServerError, ValidationResult};

use crate::error::AppError;

/// The code of the error that stops a response at `--max-response-bytes`.
pub const RESPONSE_TOO_LARGE: &str = "RESPONSE_TOO_LARGE";

/// async-graphql's messages for its own depth and complexity refusals.
pub const TOO_DEEP: &str = "Query is nested too deep.";
pub const TOO_COMPLEX: &str = "Query is too complex.";

/// `--max-depth` and `--max-complexity`, as an extension that refuses with the figures.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait]
impl Extension for QueryLimits {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.depth > self.max_depth {
            return Err(vec![over_limit(
                format!(
                    "the query is {} levels deep; at most {} are accepted (--max-depth / \
                     BLOGQL_MAX_DEPTH)",
                    result.depth, self.max_depth
                ),
                "max-depth",
                ("depth", result.depth),
                self.max_depth,
            )]);
        }
        if result.complexity > self.max_complexity {
            return Err(vec![over_limit(
                format!(
                    "the query costs {}; at most {} is accepted (--max-complexity / \
                     BLOGQL_MAX_COMPLEXITY). Each field costs 1 (long text more), times the \
                     page size of every list around it: ask for smaller pages or fewer fields",
                    result.complexity, self.max_complexity
                ),
                "max-complexity",
                ("cost", result.complexity),
                self.max_complexity,
            )]);
        }
        Ok(result)
    }

    /// This schema only explains refusals: it never runs a request, even one within the limits.
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::default()
    }
}

/// A request error: `GRAPHQL_VALIDATION_FAILED`, the flag as `limit`, the figure and `max`.
fn over_limit(
    message: String,
    limit: &str,
    (figure, value): (&str, usize),
    max: usize,
) -> ServerError {
    let mut error = ServerError::new(message, None);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", "GRAPHQL_VALIDATION_FAILED");
    extensions.set("limit", limit);
    extensions.set(figure, value as u64);
    extensions.set("max", max as u64);
    error
}

/// What one response may still hold, in bytes of text: made for each request, spent by the
/// fields that return text.
#[derive(Debug)]
pub struct ResponseBudget {
    max_bytes: usize,
    used: AtomicUsize,
    exceeded: AtomicBool,
}

impl ResponseBudget {
    pub fn new(max_bytes: usize) -> Self {
        ResponseBudget {
            max_bytes,
            used: AtomicUsize::new(0),
            exceeded: AtomicBool::new(false),
        }
    }

    /// Counts `bytes` more of response; past the budget this field and every later one fail
    /// with `RESPONSE_TOO_LARGE`, so nothing more is copied into the response.
    pub fn spend(&self, bytes: usize) -> Result<(), AppError> {
        if self.exceeded.load(Ordering::Relaxed) {
            return Err(self.too_large());
        }
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if used > self.max_bytes {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(self.too_large());
        }
        Ok(())
    }

    fn too_large(&self) -> AppError {
        AppError::ResponseTooLarge(self.max_bytes)
    }
}

/// `text`, counted against the request's response budget (when there is one: the schema's
/// types are also used without a server, e.g. by `export-schema`).
pub fn counted<'t, C>(ctx: &ContextBase<'_, C>, text: &'t str) -> Result<&'t str, AppError> {
    if let Some(budget) = ctx.data_opt::<ResponseBudget>() {
        // The text, its quotes and escapes (a rough allowance), and the field's name.
        budget.spend(text.len() + 16)?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_stops_at_its_limit_and_stays_stopped() {
        let budget = ResponseBudget::new(100);
        assert!(budget.spend(60).is_ok());
        assert!(budget.spend(40).is_ok());
        assert!(matches!(
            budget.spend(1),
            Err(AppError::ResponseTooLarge(100))
        ));
        assert!(
            budget.spend(0).is_err(),
            "once exceeded, every later field fails"
        );
    }
}
