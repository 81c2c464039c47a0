//! The GraphQL API: the schema's roots, and how it is built. Each domain module (`user`, `post`)
//! owns its types, resolvers and the queries they run; relation fields go through `loaders`.

pub mod batching;
pub mod loaders;
pub mod pagination;
pub mod post;
pub mod user;

use async_graphql::extensions::Tracing;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema, SchemaBuilder, ID};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use loaders::Loaders;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(user::UserQuery, post::PostQuery);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(user::UserMutation, post::PostMutation);

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
/// Loaders are not here: they are per request (see `http.rs`).
pub fn build_schema(db: DatabaseConnection, settings: &Settings) -> AppSchema {
    schema_builder()
        .data(db)
        .limit_depth(settings.max_depth)
        .limit_complexity(settings.max_complexity)
        .extension(Tracing)
        .finish()
}

pub(crate) fn database<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|err| AppError::Internal(err.message))
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|err| AppError::Internal(err.message))
}

/// Called after every write: the request's loaders forget what they loaded before it.
pub(crate) fn forget_loaded(ctx: &Context<'_>) {
    if let Ok(loaders) = loaders(ctx) {
        loaders.clear();
    }
}

/// Parses a GraphQL `ID` argument into a row id; `field` names the argument in the error.
pub(crate) fn parse_id(field: &str, id: &ID) -> AppResult<i32> {
    id.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid(field, format!("{:?} is not a valid id", id.as_str())))
}
