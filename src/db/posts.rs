//! Every query on `posts`, and the lists of posts: all posts, and a user's posts.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use entity::post;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};

use sea_orm::sea_query::{Expr, SimpleExpr};

use crate::db::by_id::HasId;
use crate::db::fields;
use crate::db::page::{
    Columns, Direction, FromColumns, List, ListDef, Omit, Omittable, Orders, Parent,
};
use crate::domain::account::Viewer;
use crate::domain::post::{NewPost, PostChanges};
use crate::domain::text::fold;
use crate::error::{AppError, AppResult};

/// A page of posts read without their content leaves it out (it is the long part of a
/// post), and the folded title, which only filters read; also the timestamps nobody selected
/// (decoding them was a tenth of the cost of a page of titles).
/// In `post::Column`'s order (a test pins it).
impl FromColumns for post::Model {
    fn from_columns(columns: &mut Columns<'_>) -> Result<Self, DbErr> {
        Ok(post::Model {
            id: columns.read()?,
            title: columns.read()?,
            title_folded: columns.read_omittable(TITLE_FOLDED, String::new())?,
            content: columns.read_omittable(CONTENT, String::new())?,
            author_id: columns.read()?,
            created_at: columns.read_omittable_time(CREATED_AT)?,
            updated_at: columns.read_omittable_time(UPDATED_AT)?,
        })
    }
}

impl Omittable for post::Entity {
    fn omittable() -> Vec<(post::Column, SimpleExpr)> {
        // Literals, not bound parameters: MariaDB reads a parameter selected in a derived
        // table as NULL.
        OMITTABLE
            .iter()
            .map(|column| (*column, Expr::cust("''")))
            .collect()
    }
}

/// The columns of a post a page may leave out, in `Omit`'s order (their placeholder is `''`,
/// never decoded).
const OMITTABLE: [post::Column; 4] = [
    post::Column::Content,
    post::Column::TitleFolded,
    post::Column::CreatedAt,
    post::Column::UpdatedAt,
];
/// Their places in `OMITTABLE`.
const CONTENT: usize = 0;
const TITLE_FOLDED: usize = 1;
const CREATED_AT: usize = 2;
const UPDATED_AT: usize = 3;

/// What a page of posts may leave out, given which columns will be read.
pub fn omit_unread(reads: impl Fn(post::Column) -> bool) -> Omit {
    OMITTABLE
        .iter()
        .enumerate()
        .filter(|(_, column)| !reads(**column))
        .fold(Omit::NOTHING, |omit, (index, _)| omit.and(index))
}

impl HasId for post::Entity {
    fn id_column() -> post::Column {
        post::Column::Id
    }

    fn id_of(post: &post::Model) -> i32 {
        post.id
    }
}

/// Posts' orders, with `default` when none is asked for.
pub fn orders(default: Vec<(&'static str, Direction)>) -> Orders {
    Orders {
        fields: fields::post_sort_fields(),
        tie: "ID",
        default,
    }
}

/// `Query.posts`: every post, oldest first unless asked otherwise.
pub struct AllPosts;

impl List for AllPosts {
    type Entity = post::Entity;

    fn def() -> &'static ListDef {
        static DEF: LazyLock<ListDef> = LazyLock::new(|| ListDef {
            name: "posts",
            parent: None,
            orders: orders(vec![("ID", Direction::Asc)]),
        });
        &DEF
    }
}

/// `User.posts`: a user's posts, oldest first unless asked otherwise; the parent is the
/// author.
pub struct PostsByAuthor;

impl List for PostsByAuthor {
    type Entity = post::Entity;

    fn def() -> &'static ListDef {
        static DEF: LazyLock<ListDef> = LazyLock::new(|| ListDef {
            name: "User.posts",
            parent: Some(Parent::column((post::Entity, post::Column::AuthorId))),
            orders: orders(vec![("ID", Direction::Asc)]),
        });
        &DEF
    }
}

/// Inserts `posts` for `author_id`, all created at `now`.
pub async fn insert_many(
    db: &impl ConnectionTrait,
    author_id: i32,
    posts: Vec<NewPost>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let rows = posts.into_iter().map(|post| post::ActiveModel {
        title_folded: Set(fold(post.title.as_str())),
        title: Set(post.title.into_inner()),
        content: Set(post.content),
        author_id: Set(author_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    post::Entity::insert_many(rows)
        .exec(db)
        .await
        .map_err(|err| write_error(err, author_id))?;
    Ok(())
}

/// The ids of `author_id`'s posts, oldest first.
pub async fn ids_by_author(db: &impl ConnectionTrait, author_id: i32) -> AppResult<Vec<i32>> {
    Ok(post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(post::Column::AuthorId.eq(author_id))
        .order_by_asc(post::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Writes a new post for `author_id` (who must exist).
pub async fn create(
    db: &impl ConnectionTrait,
    author_id: i32,
    new: NewPost,
) -> AppResult<post::Model> {
    let now = crate::db::now();
    post::ActiveModel {
        title_folded: Set(fold(new.title.as_str())),
        title: Set(new.title.into_inner()),
        content: Set(new.content),
        author_id: Set(author_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|err| write_error(err, author_id))
}

/// Changes a post; in a transaction, the row stays locked until the commit, so that the read,
/// the change and (on MySQL) the read back are one.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i32,
    changes: PostChanges,
    viewer: Viewer,
) -> AppResult<post::Model> {
    let existing = post::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("Post", id))?;
    // The post must be the viewer's, and so must it stay: only an admin gives a post to
    // someone else.
    viewer.may_act_for(existing.author_id)?;
    if let Some(new_author) = changes.author_id {
        viewer.may_act_for(new_author)?;
    }
    let mut author_id = existing.author_id;
    let mut post: post::ActiveModel = existing.into();
    if let Some(title) = changes.title {
        post.title_folded = Set(fold(title.as_str()));
        post.title = Set(title.into_inner());
    }
    if let Some(content) = changes.content {
        post.content = Set(content);
    }
    if let Some(new_author) = changes.author_id {
        author_id = new_author;
        post.author_id = Set(new_author);
    }
    post.updated_at = Set(crate::db::now());
    post.update(db).await.map_err(|err| match err {
        // Deleted between our read and our write (SQLite has no row locks).
        DbErr::RecordNotUpdated => AppError::not_found("Post", id),
        err => write_error(err, author_id),
    })
}

/// Deletes a post (its author's or an admin's to delete); returns who its author was.
pub async fn delete(db: &impl ConnectionTrait, id: i32, viewer: Viewer) -> AppResult<i32> {
    let author_id: Option<i32> = post::Entity::find_by_id(id)
        .select_only()
        .column(post::Column::AuthorId)
        .lock_exclusive()
        .into_tuple()
        .one(db)
        .await?;
    let author_id = author_id.ok_or_else(|| AppError::not_found("Post", id))?;
    viewer.may_act_for(author_id)?;
    let deleted = post::Entity::delete_by_id(id).exec(db).await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::not_found("Post", id));
    }
    Ok(author_id)
}

/// Deletes every post of `author_id`; returns how many there were.
pub async fn delete_by_author(db: &impl ConnectionTrait, author_id: i32) -> AppResult<u64> {
    Ok(post::Entity::delete_many()
        .filter(post::Column::AuthorId.eq(author_id))
        .exec(db)
        .await?
        .rows_affected)
}

/// A post's only foreign key is its author: a violation means that user does not exist.
fn write_error(err: DbErr, author_id: i32) -> AppError {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => AppError::not_found("User", author_id),
        _ => AppError::from_write(err, "post", &["title"]),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::IdenStatic;

    use super::*;

    /// `FromColumns` gives a left-out column its placeholder's value by these places.
    #[test]
    fn the_omittable_places_name_their_columns() {
        assert_eq!(OMITTABLE[CONTENT].as_str(), "content");
        assert_eq!(OMITTABLE[TITLE_FOLDED].as_str(), "title_folded");
        assert_eq!(OMITTABLE[CREATED_AT].as_str(), "created_at");
        assert_eq!(OMITTABLE[UPDATED_AT].as_str(), "updated_at");
    }
}
