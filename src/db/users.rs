//! Every query on `users`, and the root list of users.

use std::sync::LazyLock;

use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};

use sea_orm::sea_query::{Expr, SimpleExpr};

use crate::db::by_id::HasId;
use crate::db::fields;
use crate::db::page::{Columns, Direction, FromColumns, List, ListDef, Omit, Omittable, Orders};
use crate::db::{follows, posts};
use crate::domain::account::{Role, Viewer};
use crate::domain::text::fold;
use crate::domain::user::{Email, NewUser, UserChanges};
use crate::error::{AppError, AppResult};

/// Pages of users fill the by-id cache, so they read every column the API reads; the folded
/// name (only filters read it) and the password hash (only log-in reads it) are left out.
/// In `user::Column`'s order (a test pins it).
impl FromColumns for user::Model {
    fn from_columns(columns: &mut Columns<'_>) -> Result<Self, DbErr> {
        Ok(user::Model {
            id: columns.read()?,
            name: columns.read()?,
            name_folded: columns.read_omittable(NAME_FOLDED, String::new())?,
            email: columns.read()?,
            created_at: columns.read_time()?,
            password_hash: columns.read_omittable(PASSWORD_HASH, None)?,
            role: columns.read()?,
        })
    }
}

impl Omittable for user::Entity {
    fn omittable() -> Vec<(user::Column, SimpleExpr)> {
        // At `NAME_FOLDED` and `PASSWORD_HASH`.
        vec![
            (user::Column::NameFolded, Expr::cust("''")),
            (user::Column::PasswordHash, Expr::cust("NULL")),
        ]
    }
}

/// The places of the omittable columns in `omittable()`.
const NAME_FOLDED: usize = 0;
const PASSWORD_HASH: usize = 1;

/// What a page of users leaves out: the folded name and the password hash, always.
pub const OMIT_FOLDED_NAME: Omit = Omit::NOTHING.and(0).and(1);

impl HasId for user::Entity {
    fn id_column() -> user::Column {
        user::Column::Id
    }

    fn id_of(user: &user::Model) -> i32 {
        user.id
    }
}

/// `Query.users`: every user, oldest first unless asked otherwise.
pub struct AllUsers;

impl List for AllUsers {
    type Entity = user::Entity;

    fn def() -> &'static ListDef {
        static DEF: LazyLock<ListDef> = LazyLock::new(|| ListDef {
            name: "users",
            parent: None,
            orders: Orders {
                fields: fields::user_sort_fields(),
                tie: "ID",
                default: vec![("ID", Direction::Asc)],
            },
        });
        &DEF
    }
}

/// The user with this email, if any.
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

/// Writes a new user and their posts, with a password hash for an account (`None`: no
/// password, so no log-in until one is set); run it in a transaction, so that all of it is
/// written or none.
pub async fn create(
    db: &impl ConnectionTrait,
    new: NewUser,
    password_hash: Option<String>,
) -> AppResult<user::Model> {
    let now = crate::db::now();
    let user = user::ActiveModel {
        name_folded: Set(fold(new.name.as_str())),
        name: Set(new.name.into_inner()),
        email: Set(new.email.into_inner()),
        created_at: Set(now),
        password_hash: Set(password_hash),
        role: Set(Role::User.as_str().to_string()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|err| AppError::from_write(err, "user", &["email"]))?;
    posts::insert_many(db, user.id, new.posts, now).await?;
    Ok(user)
}

/// Changes a user (for themselves or an admin); in a transaction, the row stays locked until the commit, so that the read,
/// the change and (on MySQL) the read back are one.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i32,
    changes: UserChanges,
    viewer: Viewer,
) -> AppResult<user::Model> {
    let existing = user::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("User", id))?;
    viewer.may_act_for(existing.id)?;
    let mut user: user::ActiveModel = existing.into();
    if let Some(name) = changes.name {
        user.name_folded = Set(fold(name.as_str()));
        user.name = Set(name.into_inner());
    }
    if let Some(email) = changes.email {
        user.email = Set(email.into_inner());
    }
    user.update(db).await.map_err(|err| match err {
        // Deleted between our read and our write (SQLite has no row locks).
        DbErr::RecordNotUpdated => AppError::not_found("User", id),
        err => AppError::from_write(err, "user", &["email"]),
    })
}

/// Sets the password hash of the user with `email`.
pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    email: &Email,
    password_hash: String,
) -> AppResult<user::Model> {
    let user = find_by_email(db, email)
        .await?
        .ok_or_else(|| AppError::not_found("User", email.as_str()))?;
    let mut user: user::ActiveModel = user.into();
    user.password_hash = Set(Some(password_hash));
    Ok(user.update(db).await?)
}

/// Gives the user with `email` a role.
pub async fn set_role(
    db: &impl ConnectionTrait,
    email: &Email,
    role: Role,
) -> AppResult<user::Model> {
    let user = find_by_email(db, email)
        .await?
        .ok_or_else(|| AppError::not_found("User", email.as_str()))?;
    let mut user: user::ActiveModel = user.into();
    user.role = Set(role.as_str().to_string());
    Ok(user.update(db).await?)
}

/// What went with a deleted user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedUser {
    pub deleted_post_count: u64,
    pub deleted_follow_count: u64,
}

/// Deletes a user (for themselves or an admin), their posts and their follow edges (both
/// ways); run it in a `db::write` transaction, so that the counts are exact and nothing is
/// half-deleted.
pub async fn delete(db: &impl ConnectionTrait, id: i32, viewer: Viewer) -> AppResult<DeletedUser> {
    // Lock the user first, so that no post or follow edge can be added to them between the
    // deletes (a new row's foreign key check waits on this lock) and the counts are exact.
    // SQLite has no row locks and needs none: a `db::write` transaction holds its write lock.
    let locked: Option<i32> = user::Entity::find_by_id(id)
        .select_only()
        .column(user::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .one(db)
        .await?;
    if locked.is_none() {
        return Err(AppError::not_found("User", id));
    }
    viewer.may_act_for(id)?;
    // Posts and edges would go with the user by ON DELETE CASCADE anyway; deleting them first
    // is how we learn how many there were.
    let deleted_follow_count = follows::delete_all_of(db, id).await?;
    let deleted_post_count = posts::delete_by_author(db, id).await?;
    let deleted = user::Entity::delete_by_id(id).exec(db).await?;
    if deleted.rows_affected == 0 {
        // The caller's transaction rolls the other deletes back.
        return Err(AppError::not_found("User", id));
    }
    Ok(DeletedUser {
        deleted_post_count,
        deleted_follow_count,
    })
}

#[cfg(test)]
mod tests {
    use sea_orm::IdenStatic;

    use super::*;

    /// `FromColumns` gives a left-out column its placeholder's value by these places.
    #[test]
    fn the_omittable_places_name_their_columns() {
        let omittable = user::Entity::omittable();
        assert_eq!(omittable[NAME_FOLDED].0.as_str(), "name_folded");
        assert_eq!(omittable[PASSWORD_HASH].0.as_str(), "password_hash");
    }
}
