//! The DataLoaders behind every relation field and every lookup by id. A fresh `Loaders` is made
//! for each GraphQL request (see `graphql::Api::execute`), so batches and caches are never shared
//! between requests or users.
//!
//! Each loader turns all the keys gathered while a request runs one level into one statement
//! (or one per `MAX_KEYS_PER_STATEMENT` keys), so a query's statement count follows its depth,
//! not its row count. They are generic: `ByIdLoader<E>` over a table, and
//! `PageByParentLoader<L>` / `CountByParentLoader<L>` over a relation's `db::page::List`
//! description. A new relation is its description plus one `RelationLoaders` field here.

pub mod batching;
mod by_id;
mod lazy;
mod relation;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use entity::{post, user};
use sea_orm::EntityTrait;

use crate::db::follows::{FeedOf, FollowersOf, FollowingOf};
use crate::db::posts::PostsByAuthor;
use crate::db::reads::Reads;
use crate::error::AppError;
use batching::BatchScheduler;
pub use by_id::ByIdLoader;
pub use lazy::Lazy;
use lazy::Makings;
pub use relation::{
    BeyondByParentLoader, CountByParentLoader, CountKey, PageByParentLoader, PageExtras, PageKey,
    RelationLoaders,
};

/// Keys per statement: far below the bind-parameter limits of SQLite (32766), PostgreSQL and
/// MySQL (65535), while one GraphQL page (at most 100 parents) still fits in one statement.
pub const MAX_KEYS_PER_STATEMENT: usize = 1000;

/// A loader of rows by id.
pub type ById<E> = DataLoader<ByIdLoader<E>, HashMapCache>;

/// The loaders of one request, each made when first used.
pub struct Loaders {
    pub user_by_id: Lazy<ById<user::Entity>>,
    pub post_by_id: Lazy<ById<post::Entity>>,
    /// `User.posts`, `User.postCount`.
    pub posts_by_author: RelationLoaders<PostsByAuthor>,
    /// `User.followers`, `User.followerCount`.
    pub followers: RelationLoaders<FollowersOf>,
    /// `User.following`, `User.followingCount`.
    pub following: RelationLoaders<FollowingOf>,
    /// `User.feed`.
    pub feed: RelationLoaders<FeedOf>,
}

impl Loaders {
    /// Loaders whose batches `scheduler` starts; the request must run under
    /// `scheduler.run(..)`.
    pub fn new(db: Reads, scheduler: &BatchScheduler) -> Self {
        let makings = Arc::new(Makings {
            db,
            scheduler: scheduler.clone(),
        });
        Loaders {
            user_by_id: Lazy::new(&makings, by_id),
            post_by_id: Lazy::new(&makings, by_id),
            posts_by_author: RelationLoaders::new(&makings),
            followers: RelationLoaders::new(&makings),
            following: RelationLoaders::new(&makings),
            feed: RelationLoaders::new(&makings),
        }
    }

    /// Forgets everything loaded so far. Mutation fields run one after another in one request,
    /// so after a write the next field must not see rows from before it.
    pub fn clear(&self) {
        if let Some(loader) = self.user_by_id.made() {
            loader.clear::<i32>();
        }
        if let Some(loader) = self.post_by_id.made() {
            loader.clear::<i32>();
        }
        self.posts_by_author.clear();
        self.followers.clear();
        self.following.clear();
        self.feed.clear();
    }
}

/// Tables whose rows, once loaded in a page, are worth putting in their by-id cache.
pub trait Primed: EntityTrait {
    /// The by-id loader to prime with pages of this table's rows, if any.
    fn by_id(loaders: &Loaders) -> Option<&ById<Self>>;
}

impl Primed for user::Entity {
    /// Users in hand answer `post.author` and `user(id:)` for free: `users { posts { author } }`
    /// costs no statement for the authors.
    fn by_id(loaders: &Loaders) -> Option<&ById<Self>> {
        Some(&loaders.user_by_id)
    }
}

impl Primed for post::Entity {
    /// Nothing finds a post by id after a page of it but `post(id:)`; copying every post of a
    /// page (content included) into the cache would cost more than it saves.
    fn by_id(_: &Loaders) -> Option<&ById<Self>> {
        None
    }
}

fn by_id<E>(makings: &Makings) -> ById<E>
where
    ByIdLoader<E>: Send + Sync + 'static,
{
    cached(ByIdLoader::new(makings.db.clone()), &makings.scheduler)
}

fn cached<T>(loader: T, scheduler: &BatchScheduler) -> DataLoader<T, HashMapCache>
where
    T: Send + Sync + 'static,
{
    DataLoader::with_cache(loader, scheduler.spawner(), HashMapCache::default())
        // The scheduler already waits until every key of a level is in: no extra delay.
        .delay(Duration::ZERO)
        .max_batch_size(MAX_KEYS_PER_STATEMENT)
}

/// Logs a failed batch once; every resolver waiting on it gets `AppError::Logged`.
fn log_batch_error(err: AppError) -> AppError {
    match err {
        AppError::Database(err) => {
            tracing::error!(error = %err, "database error in a loader batch");
            AppError::Logged
        }
        other => other,
    }
}
