//! Rows by id, for any table with an integer id: `user(id:)`, `post(id:)`, `Post.author`.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::EntityTrait;

use crate::db::by_id::{find_by_ids, HasId};
use crate::db::page::FromColumns;
use crate::db::reads::Reads;
use crate::error::AppError;
use crate::loaders::{log_batch_error, MAX_KEYS_PER_STATEMENT};

pub struct ByIdLoader<E> {
    db: Reads,
    table: PhantomData<fn() -> E>,
}

impl<E> ByIdLoader<E> {
    pub fn new(db: Reads) -> Self {
        ByIdLoader {
            db,
            table: PhantomData,
        }
    }
}

impl<E> Loader<i32> for ByIdLoader<E>
where
    E: HasId,
    E::Model: FromColumns + Clone + Send + Sync + 'static,
{
    /// Shared, not copied, by every resolver that asks for the row.
    type Value = Arc<<E as EntityTrait>::Model>;
    type Error = AppError;

    #[tracing::instrument(name = "ByIdLoader", level = "debug", skip_all, fields(table = E::default().table_name(), keys = keys.len()))]
    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, AppError> {
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
            let rows = find_by_ids::<E>(&self.db, chunk)
                .await
                .map_err(log_batch_error)?;
            found.extend(rows.into_iter().map(|row| (E::id_of(&row), Arc::new(row))));
        }
        Ok(found)
    }
}
