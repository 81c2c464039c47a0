//! The loaders of a relation, generic over its `db::page::List` description: pages by parent
//! and counts by parent. `RelationLoaders` pairs them, so a field asking for a page and its
//! count asks for both in the same batch window.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use crate::db::reads::Reads;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use crate::db::page::{
    count_by_parent, load_pages, parents_beyond, FromColumns, List, ListFilter, Page, PageArgs, Row,
};
use crate::error::{AppError, AppResult};
use crate::loaders::lazy::{Lazy, Makings};
use crate::loaders::{cached, log_batch_error, MAX_KEYS_PER_STATEMENT};

/// One parent's page: the key carries the page arguments, so that all the parents of a list,
/// which ask for the same page, share one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub parent: i32,
    pub args: PageArgs,
}

/// By parent alone: the loader hashes a key several times, and the parents of a batch share
/// their page arguments anyway (keys that differ only in them are told apart by `Eq`).
impl Hash for PageKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parent.hash(state);
    }
}

/// Pages of the relation `L`, by parent.
pub struct PageByParentLoader<L> {
    db: Reads,
    list: PhantomData<fn() -> L>,
}

impl<L: List> Loader<PageKey> for PageByParentLoader<L>
where
    Row<L>: FromColumns + Clone + Send + Sync + 'static,
{
    /// Shared, not copied, by every resolver that waits on it.
    type Value = Arc<Page<Row<L>>>;
    type Error = AppError;

    #[tracing::instrument(name = "PageByParentLoader", level = "debug", skip_all, fields(list = L::def().name, keys = keys.len()))]
    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Self::Value>, AppError> {
        // Parents of one list share the page arguments; group by them so each group is one
        // statement.
        let mut by_args: HashMap<&PageArgs, Vec<i32>> = HashMap::new();
        for key in keys {
            by_args.entry(&key.args).or_default().push(key.parent);
        }
        let mut pages = HashMap::with_capacity(keys.len());
        for (args, parents) in by_args {
            for chunk in parents.chunks(MAX_KEYS_PER_STATEMENT) {
                let loaded = load_pages::<L>(&self.db, chunk, args)
                    .await
                    .map_err(log_batch_error)?;
                pages.extend(loaded.into_iter().map(|(parent, page)| {
                    let key = PageKey {
                        parent,
                        args: args.clone(),
                    };
                    (key, Arc::new(page))
                }));
            }
        }
        Ok(pages)
    }
}

/// One parent's count of rows, of all or of those that pass a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountKey {
    pub parent: i32,
    pub filter: Option<ListFilter>,
}

/// Row counts of the relation `L`, by parent (and filter).
pub struct CountByParentLoader<L> {
    db: Reads,
    list: PhantomData<fn() -> L>,
}

impl<L: List> Loader<CountKey> for CountByParentLoader<L> {
    type Value = u64;
    type Error = AppError;

    #[tracing::instrument(name = "CountByParentLoader", level = "debug", skip_all, fields(list = L::def().name, keys = keys.len()))]
    async fn load(&self, keys: &[CountKey]) -> Result<HashMap<CountKey, u64>, AppError> {
        let mut by_filter: HashMap<&Option<ListFilter>, Vec<i32>> = HashMap::new();
        for key in keys {
            by_filter.entry(&key.filter).or_default().push(key.parent);
        }
        let mut counts = HashMap::with_capacity(keys.len());
        for (filter, parents) in by_filter {
            for chunk in parents.chunks(MAX_KEYS_PER_STATEMENT) {
                let found = count_by_parent::<L>(&self.db, chunk, filter.as_ref())
                    .await
                    .map_err(log_batch_error)?;
                counts.extend(found.into_iter().map(|(parent, count)| {
                    let key = CountKey {
                        parent,
                        filter: filter.clone(),
                    };
                    (key, count)
                }));
            }
        }
        Ok(counts)
    }
}

/// Whether a parent has rows of the relation `L` beyond its page's cursor, on the side the page
/// does not read (its other `has...Page`), by page key.
pub struct BeyondByParentLoader<L> {
    db: Reads,
    list: PhantomData<fn() -> L>,
}

impl<L: List> Loader<PageKey> for BeyondByParentLoader<L> {
    type Value = bool;
    type Error = AppError;

    #[tracing::instrument(name = "BeyondByParentLoader", level = "debug", skip_all, fields(list = L::def().name, keys = keys.len()))]
    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, bool>, AppError> {
        let mut by_args: HashMap<&PageArgs, Vec<i32>> = HashMap::new();
        for key in keys {
            by_args.entry(&key.args).or_default().push(key.parent);
        }
        let mut beyond = HashMap::with_capacity(keys.len());
        for (args, parents) in by_args {
            for chunk in parents.chunks(MAX_KEYS_PER_STATEMENT) {
                let found = parents_beyond::<L>(&self.db, chunk, args)
                    .await
                    .map_err(log_batch_error)?;
                beyond.extend(chunk.iter().map(|parent| {
                    let key = PageKey {
                        parent: *parent,
                        args: args.clone(),
                    };
                    (key, found.contains(parent))
                }));
            }
        }
        Ok(beyond)
    }
}

/// The loaders of one relation.
pub struct RelationLoaders<L> {
    pub pages: Lazy<DataLoader<PageByParentLoader<L>, HashMapCache>>,
    pub counts: Lazy<DataLoader<CountByParentLoader<L>, HashMapCache>>,
    pub beyond: Lazy<DataLoader<BeyondByParentLoader<L>, HashMapCache>>,
}

/// What a relation field needs besides its page.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageExtras {
    /// `totalCount`.
    pub count: bool,
    /// The page's other `has...Page` (`hasPreviousPage` forwards, `hasNextPage` backwards).
    pub beyond: bool,
}

impl<L: List> RelationLoaders<L>
where
    Row<L>: FromColumns + Clone + Send + Sync + 'static,
{
    pub fn new(makings: &Arc<Makings>) -> Self {
        RelationLoaders {
            pages: Lazy::new(makings, |makings| {
                cached(
                    PageByParentLoader {
                        db: makings.db.clone(),
                        list: PhantomData,
                    },
                    &makings.scheduler,
                )
            }),
            counts: Lazy::new(makings, |makings| {
                cached(
                    CountByParentLoader {
                        db: makings.db.clone(),
                        list: PhantomData,
                    },
                    &makings.scheduler,
                )
            }),
            beyond: Lazy::new(makings, |makings| {
                cached(
                    BeyondByParentLoader {
                        db: makings.db.clone(),
                        list: PhantomData,
                    },
                    &makings.scheduler,
                )
            }),
        }
    }

    /// `parent`'s page, with what `extras` asks for: its total count, and whether rows lie
    /// beyond its cursor (set in the page returned). Asked for together, they land in the same
    /// batch window, so the statement count never depends on which answers first.
    pub async fn page(
        &self,
        parent: i32,
        args: PageArgs,
        extras: PageExtras,
    ) -> AppResult<(Page<Row<L>>, Option<u64>)> {
        let beyond_key = (extras.beyond && args.cursor.is_some()).then(|| PageKey {
            parent,
            args: args.clone(),
        });
        let key = PageKey {
            parent,
            args: args.clone(),
        };
        let (page, count, beyond) = futures_util::join!(
            self.pages.load_one(key),
            async {
                if extras.count {
                    self.count_of(parent, args.filter.clone()).await.map(Some)
                } else {
                    Ok(None)
                }
            },
            async {
                match beyond_key {
                    Some(key) => self
                        .beyond
                        .load_one(key)
                        .await
                        .map(|found| found.unwrap_or(false)),
                    None => Ok(false),
                }
            }
        );
        let page = page?.ok_or_else(|| {
            AppError::Internal(format!("no page of {} for {parent}", L::def().name))
        })?;
        // The loader's page is shared by whoever asked for it; this caller takes a copy (of
        // `Arc`s, not of rows) to complete.
        let mut page = Page::clone(&page);
        page.set_beyond(&args, beyond?);
        Ok((page, count?))
    }

    /// How many rows `parent` has in this relation.
    pub async fn count(&self, parent: i32) -> AppResult<u64> {
        self.count_of(parent, None).await
    }

    /// How many rows `parent` has in this relation that pass `filter`.
    pub async fn count_of(&self, parent: i32, filter: Option<ListFilter>) -> AppResult<u64> {
        let key = CountKey { parent, filter };
        Ok(self.counts.load_one(key).await?.unwrap_or(0))
    }

    pub fn clear(&self) {
        if let Some(pages) = self.pages.made() {
            pages.clear::<PageKey>();
        }
        if let Some(counts) = self.counts.made() {
            counts.clear::<CountKey>();
        }
        if let Some(beyond) = self.beyond.made() {
            beyond.clear::<PageKey>();
        }
    }
}
