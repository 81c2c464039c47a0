//! The GraphQL API: the schema's roots, how it is built, and how a request runs. The object
//! types (`User`, `Post`) are in `objects`; the queries and mutations that start from them in
//! `user`, `post` and `follow`; lists are `connection`s, and what a resolver takes from the
//! request (database, loaders, `mutate`) is in `context`.

pub mod connection;
pub mod context;
pub mod follow;
pub mod objects;
pub mod post;
pub mod user;

use async_graphql::extensions::Tracing;
use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::loaders::batching::BatchScheduler;
use crate::loaders::Loaders;

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

/// The schema the server runs: the connection as data, the configured limits, tracing.
/// Loaders are not here: they are per request (see `execute`).
pub fn build_schema(db: DatabaseConnection, settings: &Settings) -> AppSchema {
    schema_builder()
        .data(db)
        .limit_depth(settings.max_depth)
        .limit_complexity(settings.max_complexity)
        .extension(Tracing)
        .finish()
}

/// Runs one GraphQL request with loaders of its own, whose batches start when the request has
/// nothing left to do but wait (see `loaders::batching`).
pub async fn execute(
    schema: &AppSchema,
    db: &DatabaseConnection,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let scheduler = BatchScheduler::new();
    let request = request.data(Loaders::new(db.clone(), &scheduler));
    scheduler.run(schema.execute(request)).await
}
