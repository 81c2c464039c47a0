//! Validation skipped for a request known to pass it: the same document, operation name and
//! variables passed it before (`documents`), and nothing else decides its outcome (the schema
//! and the depth and cost limits are fixed at start-up). Even async-graphql's fast validation
//! walks the whole document against the registry, a sixth of the server's instructions for a
//! query that reads one user and ten posts.
//!
//! Being an extension puts the fields that async-graphql resolves itself on its slower path (see
//! `limits`); the objects `resolve` walks do not take it, and they are nearly all of a
//! response's fields.

use std::sync::Arc;

use async_graphql::async_trait::async_trait;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{CacheControl, ServerError, ValidationResult};

/// Put on the schema that runs only requests known to pass validation.
pub struct KnownValid;

impl ExtensionFactory for KnownValid {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(KnownValid)
    }
}

#[async_trait]
impl Extension for KnownValid {
    async fn validation(
        &self,
        _ctx: &ExtensionContext<'_>,
        _next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        // No field of the schema sets a cache-control hint, so the default is what validation
        // would compute; depth and cost were within the limits the first time.
        Ok(ValidationResult {
            cache_control: CacheControl::default(),
            complexity: 0,
            depth: 0,
        })
    }
}
