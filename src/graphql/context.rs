//! What resolvers take from the request's context: the database, the request's loaders, and
//! `mutate`, the one way a mutation writes.

use async_graphql::{Context, ErrorExtensions, ID};
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::db;
use crate::error::{AppError, AppResult};
use crate::loaders::Loaders;

pub(crate) fn database<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|err| AppError::Internal(err.message))
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|err| AppError::Internal(err.message))
}

/// Runs a mutation's write: in a transaction, retried when transient (`db::write`), and then
/// the request's loaders forget what they loaded, since mutation fields run one after another
/// and each must see the writes before it. Every mutation comes through here, so what every
/// write needs (who may make it, what it announces) is added here once.
pub(crate) async fn mutate<T, F>(ctx: &Context<'_>, write: F) -> async_graphql::Result<T>
where
    T: Send,
    F: for<'t> Fn(&'t DatabaseTransaction) -> BoxFuture<'t, AppResult<T>> + Send + Sync,
{
    let db = database(ctx).map_err(|err| err.extend())?;
    let written = db::write::transaction(db, write).await;
    if let Ok(loaders) = loaders(ctx) {
        loaders.clear();
    }
    written.map_err(|err| err.extend())
}

/// Parses a GraphQL `ID` argument into a row id; `field` names the argument in the error.
pub(crate) fn parse_id(field: &str, id: &ID) -> AppResult<i32> {
    id.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid(field, format!("{:?} is not a valid id", id.as_str())))
}
