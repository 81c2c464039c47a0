//! Rows by id: the one query behind every by-id loader.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::AppResult;

/// A table whose rows have an integer id.
pub trait HasId: EntityTrait {
    fn id_column() -> Self::Column;
    fn id_of(row: &Self::Model) -> i32;
}

/// The rows with these ids; ids without a row are simply absent.
pub async fn find_by_ids<E: HasId>(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> AppResult<Vec<E::Model>> {
    Ok(E::find()
        .filter(E::id_column().is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
