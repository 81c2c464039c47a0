//! The GraphQL API: the schema's roots, how it is built, and how a request runs. The object
//! types (`User`, `Post`) are in `objects`; the queries and mutations that start from them in
//! `user`, `post` and `follow`; lists are `connection`s, and what a resolver takes from the
//! request (database, loaders, `mutate`) is in `context`.

pub mod connection;
pub mod context;
pub mod document;
pub mod follow;
pub mod limits;
pub mod objects;
pub mod post;
pub mod user;

use async_graphql::extensions::Tracing;
use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::loaders::batching::BatchScheduler;
use crate::loaders::Loaders;
use document::DocumentLimits;
use limits::QueryLimits;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(user::UserQuery, post::PostQuery);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    user::UserMutation,
    post::PostMutation,
    follow::FollowMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The schema's types, with no data and no limits attached: what `export-schema` prints.
pub fn schema_builder() -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
}

/// The API as the server runs it: the schema with its limits and extensions, the database,
/// and the checks every request passes before the schema sees it.
pub struct Api {
    schema: AppSchema,
    db: DatabaseConnection,
    document_limits: DocumentLimits,
}

impl Api {
    pub fn new(db: DatabaseConnection, settings: &Settings) -> Self {
        let mut builder = schema_builder()
            .data(db.clone())
            .extension(QueryLimits {
                max_depth: settings.limits.max_depth,
                max_complexity: settings.limits.max_complexity,
            })
            .extension(Tracing);
        if !settings.exposure.introspection {
            builder = builder.disable_introspection();
        }
        Api {
            schema: builder.finish(),
            db,
            document_limits: DocumentLimits::from_settings(settings),
        }
    }

    /// Runs one GraphQL request with loaders of its own, whose batches start when the request
    /// has nothing left to do but wait (see `loaders::batching`). A document over the limits
    /// is refused before anything else walks it.
    pub async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
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
        let scheduler = BatchScheduler::new();
        let request = request.data(Loaders::new(self.db.clone(), &scheduler));
        scheduler.run(self.schema.execute(request)).await
    }
}
