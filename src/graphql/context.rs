//! What resolvers take from the request's context: the database, the request's loaders, who is
//! asking (the viewer, their token, their address), and `mutate`, the one way a mutation
//! writes.

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::{Context, ContextBase, ErrorExtensions, ID};
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::accounts::Accounts;
use crate::db;
use crate::db::reads::Reads;
use crate::domain::account::Viewer;
use crate::error::{AppError, AppResult};
use crate::events::{Bus, Event};
use crate::loaders::Loaders;

/// The bearer token a request was sent with (once authenticated): what `logOut` revokes.
#[derive(Debug, Clone)]
pub struct BearerToken(pub String);

/// The address of the client that sent the request: what failed log-ins are counted against.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The user behind the request's bearer token, if it came with one.
pub(crate) fn viewer<C>(ctx: &ContextBase<'_, C>) -> Option<Viewer> {
    ctx.data_opt::<Viewer>().copied()
}

pub(crate) fn bearer_token<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    ctx.data_opt::<BearerToken>().map(|token| token.0.as_str())
}

pub(crate) fn client_addr(ctx: &Context<'_>) -> Option<IpAddr> {
    ctx.data_opt::<ClientAddr>().map(|addr| addr.0)
}

pub(crate) fn accounts<'a>(ctx: &Context<'a>) -> AppResult<&'a Accounts> {
    ctx.data::<Arc<Accounts>>()
        .map(Arc::as_ref)
        .map_err(|err| AppError::Internal(err.message))
}

/// After a write outside `mutate`: the request's loaders forget what they loaded.
pub(crate) fn forget_loaded(ctx: &Context<'_>) {
    if let Ok(loaders) = loaders(ctx) {
        loaders.clear();
    }
}

pub(crate) fn database<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|err| AppError::Internal(err.message))
}

/// What the API reads through (see `db::reads`).
pub(crate) fn reads<'a>(ctx: &Context<'a>) -> AppResult<&'a Reads> {
    ctx.data::<Reads>()
        .map_err(|err| AppError::Internal(err.message))
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|err| AppError::Internal(err.message))
}

/// Runs a mutation's write for the viewer: only with a bearer token (`UNAUTHENTICATED`
/// without), in a transaction, retried when transient (`db::write`), and then the request's
/// loaders forget what they loaded, since mutation fields run one after another and each must
/// see the writes before it. Every mutation but signing up and logging in comes through here,
/// so what every write needs (who may make it, what it announces) is added here once; the
/// write gets the viewer, to check what is theirs inside the transaction.
pub(crate) async fn mutate<T, F>(ctx: &Context<'_>, write: F) -> async_graphql::Result<T>
where
    T: Send + 'static,
    F: for<'t> Fn(&'t DatabaseTransaction, Viewer) -> BoxFuture<'t, AppResult<T>> + Send + Sync,
{
    mutate_announcing(ctx, |txn, viewer| {
        let written = write(txn, viewer);
        Box::pin(async move { Ok((written.await?, Vec::new())) })
    })
    .await
}

/// `mutate` for a write that announces events: they are published with the transaction (on
/// PostgreSQL inside it, so that only a commit is heard; elsewhere right after the commit).
pub(crate) async fn mutate_announcing<T, F>(ctx: &Context<'_>, write: F) -> async_graphql::Result<T>
where
    T: Send + 'static,
    F: for<'t> Fn(&'t DatabaseTransaction, Viewer) -> BoxFuture<'t, AppResult<(T, Vec<Event>)>>
        + Send
        + Sync,
{
    let viewer = viewer(ctx)
        .ok_or_else(|| {
            AppError::unauthenticated(
                "writing needs an account: send Authorization: Bearer <token> (from signUp or logIn)",
            )
        })
        .map_err(|err| err.extend())?;
    let db = database(ctx).map_err(|err| err.extend())?;
    let bus = ctx.data_opt::<Bus>().cloned();
    let written = db::write::transaction(db, |txn| {
        let written = write(txn, viewer);
        let bus = bus.clone();
        Box::pin(async move {
            let (value, events) = written.await?;
            if let Some(bus) = bus {
                bus.announce_in(txn, &events).await?;
            }
            Ok((value, events))
        })
    })
    .await;
    if let Ok(loaders) = loaders(ctx) {
        loaders.clear();
    }
    let (value, events) = written.map_err(|err| err.extend())?;
    if let Some(bus) = &bus {
        bus.committed(&events);
    }
    Ok(value)
}

/// Parses a GraphQL `ID` argument into a row id; `field` names the argument in the error.
pub(crate) fn parse_id(field: &str, id: &ID) -> AppResult<i32> {
    id.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid(field, format!("{:?} is not a valid id", id.as_str())))
}
