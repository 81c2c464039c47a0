//! Every query on `sessions`: open bearer tokens, kept as their SHA-256 (`accounts::token`).

use chrono::{DateTime, Utc};
use entity::{session, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::error::AppResult;

/// Opens a session for `user_id` until `expires_at`.
pub async fn create(
    db: &impl ConnectionTrait,
    user_id: i32,
    token_hash: String,
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    session::ActiveModel {
        token_hash: Set(token_hash),
        user_id: Set(user_id),
        created_at: Set(crate::db::now()),
        expires_at: Set(expires_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The session of a token, with its user, in one statement; `None` for a token nobody holds
/// (never issued, logged out, or its user deleted).
pub async fn find(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> AppResult<Option<(session::Model, user::Model)>> {
    let found = session::Entity::find_by_id(token_hash.to_string())
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(session, user)| user.map(|user| (session, user))))
}

/// Closes the session of a token; whether there was one.
pub async fn delete(db: &impl ConnectionTrait, token_hash: &str) -> AppResult<bool> {
    let deleted = session::Entity::delete_many()
        .filter(session::Column::TokenHash.eq(token_hash))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}
