//! Limits checked while a request runs, as async-graphql extensions: a query's depth and cost,
//! from the figures async-graphql's validation computes (its own refusal, "Query is too
//! complex.", gives none), refused with both figures and the flag that sets the limit.

use std::sync::Arc;

use async_graphql::async_trait::async_trait;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};

/// `--max-depth` and `--max-complexity`.
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
