//! The GraphQL API: the schema's roots, how it is built, and how a request runs. The object
//! types (`User`, `Post`) are in `objects`; the queries and mutations that start from them in
//! `user`, `post` and `follow`; lists are `connection`s, and what a resolver takes from the
//! request (database, loaders, `mutate`) is in `context`.

pub mod account;
pub mod connection;
pub mod context;
pub mod document;
pub mod documents;
pub mod filter;
pub mod follow;
pub mod json;
pub mod key_order;
pub mod known_valid;
pub mod limits;
pub mod live;
pub mod objects;
pub mod order;
pub mod post;
pub mod resolve;
pub mod subscription;
pub mod user;

use async_graphql::extensions::Tracing;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{ErrorExtensions, MergedObject, Schema, SchemaBuilder, ServerError};
use sea_orm::DatabaseConnection;

use crate::db::reads::Reads;

use crate::accounts::{self, Accounts};
use crate::config::Settings;
use crate::error::AppError;
use crate::events::Bus;
use crate::loaders::batching::BatchScheduler;
use crate::loaders::Loaders;
use context::{BearerToken, ClientAddr};
use document::DocumentLimits;
use documents::{Documents, Parsed};
use key_order::KeyOrder;
use known_valid::KnownValid;
use limits::{QueryLimits, ResponseBudget, RESPONSE_TOO_LARGE, TOO_COMPLEX, TOO_DEEP};
use resolve::JsonLists;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(user::UserQuery, post::PostQuery, account::AccountQuery);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    account::AccountMutation,
    user::UserMutation,
    post::PostMutation,
    follow::FollowMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, subscription::SubscriptionRoot>;

/// The schema's types, with no data and no limits attached: what `export-schema` prints.
pub fn schema_builder() -> SchemaBuilder<QueryRoot, MutationRoot, subscription::SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
}

/// Who sent a request, as the HTTP layer read it: the bearer token of
/// `Authorization: Bearer <token>` (empty when the header holds anything else), and the
/// client's address.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub token: Option<String>,
    pub client: Option<IpAddr>,
}

/// The API as the server runs it: the schema with its limits and extensions, the database,
/// and the checks every request passes before and after the schema runs it.
pub struct Api {
    schema: AppSchema,
    /// The same schema for a request known to pass validation (see `documents`): it does not
    /// validate it again (see `known_valid`).
    known_valid: AppSchema,
    /// The same types with an extension that reads a query's depth and cost: used only to
    /// explain a refusal of `schema` with figures (see `limits`).
    diagnostic: AppSchema,
    db: DatabaseConnection,
    reads: Reads,
    documents: Documents,
    document_limits: Arc<DocumentLimits>,
    max_errors: usize,
    max_response_bytes: usize,
    request_timeout: Duration,
}

impl Api {
    pub fn new(reads: Reads, settings: &Settings, accounts: Arc<Accounts>, bus: Bus) -> Self {
        let db = reads.db().clone();
        let limits = &settings.limits;
        let query_limits = QueryLimits {
            max_depth: limits.max_depth,
            max_complexity: limits.max_complexity,
        };
        let build = |known_valid: bool| {
            let mut builder = schema_builder()
                .data(db.clone())
                .data(reads.clone())
                .data(Arc::clone(&accounts))
                .data(bus.clone())
                .limit_depth(limits.max_depth)
                .limit_complexity(limits.max_complexity);
            if known_valid {
                builder = builder.extension(KnownValid);
            }
            if settings.trace_fields {
                builder = builder.extension(Tracing).data(resolve::FieldExtensions);
            }
            if !settings.exposure.introspection {
                builder = builder.disable_introspection();
            }
            builder.finish()
        };
        Api {
            schema: build(false),
            known_valid: build(true),
            diagnostic: schema_builder().extension(query_limits).finish(),
            db,
            reads,
            documents: Documents::default(),
            document_limits: Arc::new(DocumentLimits::from_settings(settings)),
            max_errors: limits.max_errors,
            max_response_bytes: limits.max_response_bytes,
            request_timeout: limits.request_timeout,
        }
    }

    /// The executor of subscriptions over WebSocket.
    pub fn live(&self) -> live::LiveExecutor {
        live::LiveExecutor {
            schema: self.schema.clone(),
            reads: self.reads.clone(),
            document_limits: Arc::clone(&self.document_limits),
        }
    }

    /// The documents parsed so far, by their text.
    pub fn documents(&self) -> &Documents {
        &self.documents
    }

    /// The database the API runs on.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Runs one GraphQL request with loaders of its own, whose batches start when the request
    /// has nothing left to do but wait (see `loaders::batching`). A document over the limits
    /// is refused before anything else walks it; a request past `--request-timeout` is
    /// cancelled (dropped: a write's transaction rolls back). `document` is the request's
    /// parsed document, when it came from `documents`: a request that ran before with it is
    /// not validated again. `json_lists`: the response will be written by `graphql::json`, so
    /// lists of plain objects may come as JSON text (`resolve::JsonLists`).
    pub async fn execute(
        &self,
        mut request: async_graphql::Request,
        auth: Auth,
        document: Option<Arc<Parsed>>,
        json_lists: bool,
    ) -> async_graphql::Response {
        let operation_name = request.operation_name.take();
        let checked = match request.parsed_query() {
            Ok(document) => {
                document::check(document, operation_name.as_deref(), &self.document_limits)
            }
            // The executor reports a document that does not parse.
            Err(_) => Ok(()),
        };
        request.operation_name = operation_name;
        if let Err(refusal) = checked {
            return async_graphql::Response::from_errors(vec![refusal.into_server_error()]);
        }
        // To put the response's keys in the selection's order (see `key_order`).
        let selected = request.operation_name.clone();
        let key_order = match &document {
            Some(parsed) => parsed.key_order(selected.as_deref()),
            None => request.parsed_query().ok().and_then(|document| {
                document::selected_operation(document, selected.as_deref()).map(|operation| {
                    Arc::new(KeyOrder::of(&operation.selection_set.node, document))
                })
            }),
        };
        // A list written as JSON text cannot be merged with another selection of the same key.
        if json_lists
            && key_order
                .as_ref()
                .is_some_and(|order| !order.merges_selections())
        {
            request = request.data(JsonLists);
        }
        // Kept to explain a refusal of the depth or cost limit (a few hundred bytes).
        let explain = (
            request.query.clone(),
            request.variables.clone(),
            request.operation_name.clone(),
        );
        let validated = document.as_ref().is_some_and(|document| {
            document.validated(request.operation_name.as_deref(), &request.variables)
        });
        if let Some(addr) = auth.client {
            request = request.data(ClientAddr(addr));
        }
        // Who is asking is looked up inside the time limit too: the lookup is a database read.
        let run = async {
            if let Some(token) = auth.token {
                // A bearer token that does not stand for a user refuses the whole request: a
                // client sending one expects to act as someone, and must not silently not.
                match accounts::authenticate(&self.db, &token).await {
                    Ok(viewer) => request = request.data(viewer).data(BearerToken(token)),
                    Err(err) => {
                        return async_graphql::Response::from_errors(vec![err
                            .extend()
                            .into_server_error(Default::default())]);
                    }
                }
            }
            let scheduler = BatchScheduler::new();
            let request = request
                .data(Loaders::new(self.reads.clone(), &scheduler))
                .data(ResponseBudget::new(self.max_response_bytes));
            let schema = if validated {
                &self.known_valid
            } else {
                &self.schema
            };
            scheduler.run(schema.execute(request)).await
        };
        let response = match tokio::time::timeout(self.request_timeout, run).await {
            Ok(response) => response,
            Err(_) => {
                let timeout = AppError::Timeout(self.request_timeout.as_millis());
                tracing::warn!("{timeout}");
                async_graphql::Response::from_errors(vec![timeout
                    .extend()
                    .into_server_error(Default::default())])
            }
        };
        // Data means the request got past validation.
        if let Some(document) = &document {
            if !validated && response.data != async_graphql::Value::Null {
                document.set_validated(explain.2.as_deref(), &explain.1);
            }
        }
        let mut response = self.explain_limit_refusal(response, explain).await;
        if let Some(key_order) = &key_order {
            key_order.restore(&mut response.data);
        }
        self.bound_errors(response)
    }

    /// async-graphql's own depth and cost refusals say nothing of the figures: validate the
    /// request again with the schema that reads them, and answer with its error instead.
    async fn explain_limit_refusal(
        &self,
        response: async_graphql::Response,
        (query, variables, operation_name): (String, async_graphql::Variables, Option<String>),
    ) -> async_graphql::Response {
        let refused_by_limit = response.data == async_graphql::Value::Null
            && response
                .errors
                .iter()
                .any(|error| error.message == TOO_DEEP || error.message == TOO_COMPLEX);
        if !refused_by_limit {
            return response;
        }
        let mut request = async_graphql::Request::new(query).variables(variables);
        request.operation_name = operation_name;
        let explained = self.diagnostic.execute(request).await;
        let names_the_limit = explained.errors.iter().any(|error| {
            error
                .extensions
                .as_ref()
                .is_some_and(|extensions| extensions.get("limit").is_some())
        });
        // Both schemas compute the same figures, so the explanation is always there; were it
        // not, the refusal stands as it is.
        if names_the_limit {
            explained
        } else {
            response
        }
    }

    /// A response stopped at `--max-response-bytes` is that one error, with no partial data;
    /// any response carries at most `--max-errors` errors, then one saying how many more.
    fn bound_errors(&self, mut response: async_graphql::Response) -> async_graphql::Response {
        if let Some(too_large) = response
            .errors
            .iter()
            .find(|error| has_code(error, RESPONSE_TOO_LARGE))
        {
            // A field error (its path says where the budget ran out), with `data: null`.
            return async_graphql::Response::from_errors(vec![too_large.clone()]);
        }
        if response.errors.len() > self.max_errors {
            let left_out = response.errors.len() - self.max_errors;
            response.errors.truncate(self.max_errors);
            let mut error = ServerError::new(
                format!("{left_out} more errors were left out (--max-errors / BLOGQL_MAX_ERRORS)"),
                None,
            );
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", "TOO_MANY_ERRORS");
            extensions.set("leftOut", left_out as u64);
            response.errors.push(error);
        }
        response
    }
}

fn has_code(error: &ServerError, code: &str) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .is_some_and(|value| *value == async_graphql::Value::from(code))
}
