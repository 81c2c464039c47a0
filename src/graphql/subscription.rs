//! Live updates as GraphQL subscriptions. Each subscription hears the process's event bus
//! (`events`), keeps the events it asked for, and resolves each one's payload like a query:
//! through the subscription's own loaders, emptied before every event, so a payload is batched
//! (N+1-free) and never answers with rows from before its event.
//!
//! A subscription that falls more than its buffer behind (`--subscription-buffer`) is told so
//! (`SLOW_CONSUMER`) and its connection is closed: events are never buffered without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions, ResultExt, SimpleObject, Subscription, ID};
use futures_util::Stream;
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::domain::account::Viewer;
use crate::error::{AppError, AppResult};
use crate::events::{Bus, Event};
use crate::graphql::connection::Node;
use crate::graphql::context::{database, loaders, parse_id, viewer};
use crate::graphql::objects::{Post, User};
use crate::loaders::Loaders;

/// Why the server closes a WebSocket connection, with the close code it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseWith {
    pub code: u16,
    pub reason: String,
}

/// WebSocket close code for a subscriber that fell too far behind (RFC 6455 "try again
/// later": the client may reconnect and catch up).
pub const SLOW_CONSUMER_CLOSE: u16 = 1013;

/// What the subscriptions of one WebSocket connection share: how many are running, and a way
/// to ask the connection to close.
#[derive(Debug)]
pub struct ConnectionState {
    running: AtomicUsize,
    max_subscriptions: usize,
    close: watch::Sender<Option<CloseWith>>,
}

impl ConnectionState {
    pub fn new(max_subscriptions: usize) -> Arc<Self> {
        Arc::new(ConnectionState {
            running: AtomicUsize::new(0),
            max_subscriptions,
            close: watch::channel(None).0,
        })
    }

    /// Resolves when a subscription asked the connection to close, with why.
    pub fn closing(&self) -> watch::Receiver<Option<CloseWith>> {
        self.close.subscribe()
    }

    fn ask_to_close(&self, close: CloseWith) {
        self.close.send_replace(Some(close));
    }

    /// A place for one more subscription, or `TOO_MANY_SUBSCRIPTIONS`.
    fn take_slot(self: &Arc<Self>) -> AppResult<Slot> {
        let taken = self.running.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(Arc::clone(self));
        if taken >= self.max_subscriptions {
            return Err(AppError::TooManySubscriptions(self.max_subscriptions));
        }
        Ok(slot)
    }
}

/// One running subscription's place; given back when the subscription ends.
struct Slot(Arc<ConnectionState>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A post that was deleted: only ids remain.
#[derive(SimpleObject, Clone)]
pub struct DeletedPost {
    pub id: ID,
    pub author_id: ID,
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Every post created from now on; with `authorId`, only that user's.
    async fn post_created<'ctx>(
        &self,
        ctx: &Context<'ctx>,
        author_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Post>> + 'ctx> {
        let author = optional_id("authorId", author_id).extend()?;
        let live = Live::start(ctx).extend()?;
        Ok(live.posts(move |event, _| match event {
            Event::PostCreated { post_id, author_id } if author.is_none_or(|a| a == author_id) => {
                Some(post_id)
            }
            _ => None,
        }))
    }

    /// Every change to a post from now on; with `id`, only that post's.
    async fn post_updated<'ctx>(
        &self,
        ctx: &Context<'ctx>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Post>> + 'ctx> {
        let id = optional_id("id", id).extend()?;
        let live = Live::start(ctx).extend()?;
        Ok(live.posts(move |event, _| match event {
            Event::PostUpdated { post_id, .. } if id.is_none_or(|id| id == post_id) => {
                Some(post_id)
            }
            _ => None,
        }))
    }

    /// Every post deleted from now on (by `deletePost`); with `authorId`, only that user's.
    /// Posts deleted with their author (`deleteUser`) are not announced one by one.
    async fn post_deleted<'ctx>(
        &self,
        ctx: &Context<'ctx>,
        author_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<DeletedPost>> + 'ctx> {
        let author = optional_id("authorId", author_id).extend()?;
        let live = Live::start(ctx).extend()?;
        Ok(live.stream(move |event, _| async move {
            match event {
                Event::PostDeleted { post_id, author_id }
                    if author.is_none_or(|a| a == author_id) =>
                {
                    Ok(Some(DeletedPost {
                        id: ID::from(post_id),
                        author_id: ID::from(author_id),
                    }))
                }
                _ => Ok(None),
            }
        }))
    }

    /// New posts by the users the viewer follows. Needs a token in `connection_init`.
    async fn feed_updated<'ctx>(
        &self,
        ctx: &Context<'ctx>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Post>> + 'ctx> {
        let live = Live::start(ctx).extend()?;
        let me = live.viewer_needed("feedUpdated").extend()?;
        let db = live.db;
        Ok(live.stream(move |event, loaders| async move {
            let Event::PostCreated { post_id, author_id } = event else {
                return Ok(None);
            };
            if author_id == me.user_id || !follows(db, me.user_id, author_id).await? {
                return Ok(None);
            }
            Ok(loaders
                .post_by_id
                .load_one(post_id)
                .await?
                .map(Post::from_row))
        }))
    }

    /// Users who start following the viewer (the new follower). Needs a token in
    /// `connection_init`.
    async fn followed<'ctx>(
        &self,
        ctx: &Context<'ctx>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<User>> + 'ctx> {
        let live = Live::start(ctx).extend()?;
        let me = live.viewer_needed("followed").extend()?;
        Ok(live.stream(move |event, loaders| async move {
            match event {
                Event::Followed {
                    follower_id,
                    followee_id,
                } if followee_id == me.user_id => Ok(loaders
                    .user_by_id
                    .load_one(follower_id)
                    .await?
                    .map(<User as Node>::from_row)),
                _ => Ok(None),
            }
        }))
    }
}

/// What one subscription holds from its context.
struct Live<'ctx> {
    bus: &'ctx Bus,
    db: &'ctx DatabaseConnection,
    loaders: &'ctx Loaders,
    viewer: Option<Viewer>,
    connection: Option<&'ctx Arc<ConnectionState>>,
}

impl<'ctx> Live<'ctx> {
    fn start(ctx: &Context<'ctx>) -> AppResult<Self> {
        let bus = ctx
            .data::<Bus>()
            .map_err(|err| AppError::Internal(err.message))?;
        Ok(Live {
            bus,
            db: database(ctx)?,
            loaders: loaders(ctx)?,
            viewer: viewer(ctx),
            connection: ctx.data_opt::<Arc<ConnectionState>>(),
        })
    }

    fn viewer_needed(&self, field: &str) -> AppResult<Viewer> {
        self.viewer.ok_or_else(|| {
            AppError::unauthenticated(format!(
                "{field} is the viewer's own: send a token in connection_init ({{\"Authorization\": \"Bearer <token>\"}})"
            ))
        })
    }

    /// The posts whose ids `pick` takes from the events, loaded.
    fn posts(
        self,
        pick: impl Fn(Event, &Loaders) -> Option<i32> + Send + Sync + 'ctx,
    ) -> impl Stream<Item = async_graphql::Result<Post>> + 'ctx {
        let pick = Arc::new(pick);
        self.stream(move |event, loaders| {
            let pick = Arc::clone(&pick);
            async move {
                let Some(id) = pick(event, loaders) else {
                    return Ok(None);
                };
                // Deleted since: nothing to show.
                Ok(loaders.post_by_id.load_one(id).await?.map(Post::from_row))
            }
        })
    }

    /// The payloads `payload` makes of the events (`None`: not this subscription's), each
    /// resolved with the loaders emptied first.
    fn stream<T, F, Fut>(self, payload: F) -> impl Stream<Item = async_graphql::Result<T>> + 'ctx
    where
        T: Send + 'ctx,
        F: Fn(Event, &'ctx Loaders) -> Fut + Send + Sync + 'ctx,
        Fut: std::future::Future<Output = AppResult<Option<T>>> + Send + 'ctx,
    {
        let slot = self.connection.map(ConnectionState::take_slot).transpose();
        let mut events = self.bus.subscribe();
        let loaders = self.loaders;
        let connection = self.connection;
        async_stream::stream! {
            let _slot = match slot {
                Ok(slot) => slot,
                Err(err) => {
                    yield Err(err.extend());
                    return;
                }
            };
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Closed) => return,
                    Err(RecvError::Lagged(missed)) => {
                        let err = AppError::SlowConsumer(missed);
                        if let Some(connection) = connection {
                            connection.ask_to_close(CloseWith {
                                code: SLOW_CONSUMER_CLOSE,
                                reason: "slow consumer: too many events behind".into(),
                            });
                        }
                        yield Err(err.extend());
                        return;
                    }
                };
                loaders.clear();
                match payload(event, loaders).await {
                    Ok(Some(item)) => yield Ok(item),
                    Ok(None) => {}
                    Err(err) => yield Err(err.extend()),
                }
            }
        }
    }
}

fn optional_id(field: &str, id: Option<ID>) -> AppResult<Option<i32>> {
    id.map(|id| parse_id(field, &id)).transpose()
}

async fn follows(db: &DatabaseConnection, follower: i32, followee: i32) -> AppResult<bool> {
    Ok(entity::follow::Entity::find_by_id((follower, followee))
        .one(db)
        .await?
        .is_some())
}
