//! The DataLoaders behind every relation field. A fresh `Loaders` is made for each HTTP request
//! (see `http.rs`), so batches and caches are never shared between requests or users.
//!
//! Each loader turns all the keys gathered during one tick of query execution into one
//! statement (or one per `MAX_KEYS_PER_STATEMENT` keys), so a query's statement count follows
//! its depth, not its row count.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{post, user};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, WindowStatement};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::error::AppError;
use crate::graphql::batching::BatchScheduler;
use crate::graphql::pagination::PageArgs;

/// Keys per statement: far below the bind-parameter limits of SQLite (32766), PostgreSQL and
/// MySQL (65535), while one GraphQL page (at most 100 parents) still fits in one statement.
pub const MAX_KEYS_PER_STATEMENT: usize = 1000;

/// The loaders of one request.
pub struct Loaders {
    pub user_by_id: DataLoader<UserByIdLoader, HashMapCache>,
    pub posts_by_author_id: DataLoader<PostsByAuthorIdLoader, HashMapCache>,
    pub post_count_by_author_id: DataLoader<PostCountByAuthorIdLoader, HashMapCache>,
}

impl Loaders {
    /// Loaders whose batches `scheduler` starts; the request must run under
    /// `scheduler.run(..)`.
    pub fn new(db: DatabaseConnection, scheduler: &BatchScheduler) -> Self {
        Loaders {
            user_by_id: cached(UserByIdLoader(db.clone()), scheduler),
            posts_by_author_id: cached(PostsByAuthorIdLoader(db.clone()), scheduler),
            post_count_by_author_id: cached(PostCountByAuthorIdLoader(db), scheduler),
        }
    }
}

impl Loaders {
    /// Forgets everything loaded so far. Mutation fields run one after another in one request,
    /// so after a write the next field must not see rows from before it.
    pub fn clear(&self) {
        self.user_by_id.clear::<i32>();
        self.posts_by_author_id.clear::<PostsPageKey>();
        self.post_count_by_author_id.clear::<i32>();
    }
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
fn log_batch_error(err: impl Into<AppError>) -> AppError {
    match err.into() {
        AppError::Database(err) => {
            tracing::error!(error = %err, "database error in a loader batch");
            AppError::Logged
        }
        other => other,
    }
}

/// Users by id: `Post.author`, `user(id:)`.
pub struct UserByIdLoader(DatabaseConnection);

impl Loader<i32> for UserByIdLoader {
    type Value = user::Model;
    type Error = AppError;

    #[tracing::instrument(name = "UserByIdLoader", skip_all, fields(keys = keys.len()))]
    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, user::Model>, AppError> {
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
            let users = user::Entity::find()
                .filter(user::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.0)
                .await
                .map_err(log_batch_error)?;
            found.extend(users.into_iter().map(|user| (user.id, user)));
        }
        Ok(found)
    }
}

/// One author's page of posts: the loader key carries the page arguments, so that all the
/// parents of a list, which ask for the same page, share one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PostsPageKey {
    pub author_id: i32,
    pub page: PageArgs,
}

#[derive(Debug, Clone, Default)]
pub struct PostsPage {
    /// The page, ordered by id, with one extra row when there is a next page.
    pub rows: Vec<post::Model>,
}

/// Pages of posts by author: `User.posts`.
pub struct PostsByAuthorIdLoader(DatabaseConnection);

impl Loader<PostsPageKey> for PostsByAuthorIdLoader {
    type Value = PostsPage;
    type Error = AppError;

    #[tracing::instrument(name = "PostsByAuthorIdLoader", skip_all, fields(keys = keys.len()))]
    async fn load(
        &self,
        keys: &[PostsPageKey],
    ) -> Result<HashMap<PostsPageKey, PostsPage>, AppError> {
        // Parents of one list share the page arguments; group by them so each group is one
        // statement.
        let mut by_page: HashMap<PageArgs, Vec<i32>> = HashMap::new();
        for key in keys {
            by_page.entry(key.page).or_default().push(key.author_id);
        }
        let mut pages: HashMap<PostsPageKey, PostsPage> = keys
            .iter()
            .map(|key| (*key, PostsPage::default()))
            .collect();
        for (page, author_ids) in by_page {
            for chunk in author_ids.chunks(MAX_KEYS_PER_STATEMENT) {
                for post in self
                    .load_pages(chunk, page)
                    .await
                    .map_err(log_batch_error)?
                {
                    let key = PostsPageKey {
                        author_id: post.author_id,
                        page,
                    };
                    pages.entry(key).or_default().rows.push(post);
                }
            }
        }
        Ok(pages)
    }
}

impl PostsByAuthorIdLoader {
    /// One statement for the pages of many authors: `ROW_NUMBER()` partitioned by author cuts
    /// each author's page (plus one row, to tell whether a next page exists). Window functions
    /// work on SQLite >= 3.25, PostgreSQL and MariaDB >= 10.2 / MySQL 8.
    async fn load_pages(
        &self,
        author_ids: &[i32],
        page: PageArgs,
    ) -> Result<Vec<post::Model>, AppError> {
        let row_number = Alias::new("row_number_in_author");
        let mut ranked = post::Entity::find()
            .filter(post::Column::AuthorId.is_in(author_ids.iter().copied()))
            .apply_if(page.after, |query, after| {
                query.filter(post::Column::Id.gt(after))
            })
            .into_query();
        ranked.expr_window_as(
            Func::cust("ROW_NUMBER"),
            WindowStatement::partition_by(post::Column::AuthorId)
                .order_by(post::Column::Id, Order::Asc)
                .to_owned(),
            row_number.clone(),
        );
        let ranked_alias = Alias::new("ranked");
        let pages = Query::select()
            .column(Asterisk)
            .from_subquery(ranked, ranked_alias)
            .and_where(Expr::col(row_number).lte(page.limit + 1))
            .order_by(post::Column::AuthorId, Order::Asc)
            .order_by(post::Column::Id, Order::Asc)
            .to_owned();
        let statement = self.0.get_database_backend().build(&pages);
        post::Entity::find()
            .from_raw_sql(statement)
            .all(&self.0)
            .await
            .map_err(log_batch_error)
    }
}

/// Post counts by author: `User.postCount` and `User.posts.totalCount`.
pub struct PostCountByAuthorIdLoader(DatabaseConnection);

impl Loader<i32> for PostCountByAuthorIdLoader {
    type Value = u64;
    type Error = AppError;

    #[tracing::instrument(name = "PostCountByAuthorIdLoader", skip_all, fields(keys = keys.len()))]
    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, u64>, AppError> {
        // Authors without posts are absent from GROUP BY: they count 0.
        let mut counts: HashMap<i32, u64> = keys.iter().map(|id| (*id, 0)).collect();
        for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
            let rows: Vec<(i32, i64)> = post::Entity::find()
                .select_only()
                .column(post::Column::AuthorId)
                .column_as(post::Column::Id.count(), "post_count")
                .filter(post::Column::AuthorId.is_in(chunk.iter().copied()))
                .group_by(post::Column::AuthorId)
                .into_tuple()
                .all(&self.0)
                .await
                .map_err(log_batch_error)?;
            for (author_id, count) in rows {
                counts.insert(author_id, u64::try_from(count).unwrap_or(0));
            }
        }
        Ok(counts)
    }
}
