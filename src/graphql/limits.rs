//! Limits checked while a request runs, as async-graphql extensions:
//! - `QueryLimits`: a query's depth and cost, from the figures async-graphql's validation
//!   computes (its own refusal, "Query is too complex.", gives none), refused with both figures
//!   and the flag that sets the limit;
//! - `ResponseBudget`: the size of the response, counted field by field while it is built, so
//!   that an amplifying query stops at the limit instead of being built whole in memory.
//!
//! What happens after execution (the error cap, the time limit) is `Api::execute`'s.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_graphql::async_trait::async_trait;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, NextValidation, ResolveInfo,
};
use async_graphql::{ServerError, ServerResult, ValidationResult, Value};

/// The code of the error that stops a response at `--max-response-bytes`.
pub const RESPONSE_TOO_LARGE: &str = "RESPONSE_TOO_LARGE";

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

/// `--max-response-bytes`: a fresh budget for each request (async-graphql creates extensions
/// per request).
#[derive(Debug, Clone, Copy)]
pub struct ResponseBudget {
    pub max_bytes: usize,
}

impl ExtensionFactory for ResponseBudget {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ResponseMeter {
            max_bytes: self.max_bytes,
            used: AtomicUsize::new(0),
            exceeded: AtomicBool::new(false),
        })
    }
}

struct ResponseMeter {
    max_bytes: usize,
    used: AtomicUsize,
    exceeded: AtomicBool,
}

impl ResponseMeter {
    fn too_large(&self) -> ServerError {
        let mut error = ServerError::new(
            format!(
                "the response would be larger than {} bytes (--max-response-bytes / \
                 BLOGQL_MAX_RESPONSE_BYTES): ask for fewer rows or fields",
                self.max_bytes
            ),
            None,
        );
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", RESPONSE_TOO_LARGE);
        error
    }
}

#[async_trait]
impl Extension for ResponseMeter {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Past the budget nothing more is resolved: the fields still to come fail at once.
        if self.exceeded.load(Ordering::Relaxed) {
            return Err(self.too_large());
        }
        let name = info.alias.unwrap_or(info.name);
        let value = next.run(ctx, info).await?;
        // An object's or a list's own fields were counted as they resolved: count only what
        // this field adds to the JSON itself.
        let bytes = name.len() + 4 + value.as_ref().map_or(4, own_size);
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if used > self.max_bytes {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(self.too_large());
        }
        Ok(value)
    }
}

/// The bytes a value adds to the JSON text, leaving out the fields inside it (counted on their
/// own): a string's text and quotes, a number's digits, a list's or object's brackets.
fn own_size(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len() + 2,
        Value::Enum(name) => name.len() + 2,
        Value::Number(_) => 20,
        Value::Boolean(_) | Value::Null => 5,
        Value::Binary(bytes) => bytes.len() * 2,
        Value::List(items) => 2 + items.len(),
        Value::Object(fields) => 2 + fields.len(),
    }
}
