//! Every query on `follows`, and the lists of the follow graph: a user's followers, the users
//! they follow, and their feed (the posts of the users they follow).

use std::sync::LazyLock;

use entity::{follow, post, user};
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set,
};

use crate::db::page::{Direction, KeyKind, List, ListDef, Orders, Parent, SortField};
use crate::db::{fields, posts};
use crate::domain::follow::FollowEdge;
use crate::error::{AppError, AppResult};

/// Users linked to the parent through `follows`: the parent is on the `parent` side of the
/// edge, the users on the `other` side. They can be ordered as any users, and by when the
/// follow was made (`FOLLOWED_AT`, the default: newest first).
fn users_linked(name: &'static str, parent: follow::Column, other: follow::Column) -> ListDef {
    let mut fields = fields::user_sort_fields();
    fields.push(SortField::column(
        "FOLLOWED_AT",
        (follow::Entity, follow::Column::CreatedAt),
        KeyKind::Time,
    ));
    ListDef {
        name,
        parent: Some(Parent::through(
            follow::Entity,
            (follow::Entity, parent),
            (follow::Entity, other),
            (user::Entity, user::Column::Id),
        )),
        orders: Orders {
            fields,
            tie: "ID",
            default: vec![("FOLLOWED_AT", Direction::Desc)],
        },
    }
}

/// `User.followers`: the users who follow the parent, newest follow first.
pub struct FollowersOf;

impl List for FollowersOf {
    type Entity = user::Entity;

    fn def() -> &'static ListDef {
        static DEF: LazyLock<ListDef> = LazyLock::new(|| {
            users_linked(
                "User.followers",
                follow::Column::FolloweeId,
                follow::Column::FollowerId,
            )
        });
        &DEF
    }
}

/// `User.following`: the users the parent follows, newest follow first.
pub struct FollowingOf;

impl List for FollowingOf {
    type Entity = user::Entity;

    fn def() -> &'static ListDef {
        static DEF: LazyLock<ListDef> = LazyLock::new(|| {
            users_linked(
                "User.following",
                follow::Column::FollowerId,
                follow::Column::FolloweeId,
            )
        });
        &DEF
    }
}

/// `User.feed`: the posts of the users the parent follows, newest first unless asked
/// otherwise.
pub struct FeedOf;

impl List for FeedOf {
    type Entity = post::Entity;

    fn def() -> &'static ListDef {
        static DEF: LazyLock<ListDef> = LazyLock::new(|| ListDef {
            name: "User.feed",
            parent: Some(Parent::through(
                follow::Entity,
                (follow::Entity, follow::Column::FollowerId),
                (follow::Entity, follow::Column::FolloweeId),
                (post::Entity, post::Column::AuthorId),
            )),
            orders: posts::orders(vec![("CREATED_AT", Direction::Desc)]),
        });
        &DEF
    }
}

/// The two users of an edge, and whether the write changed the graph.
#[derive(Debug, Clone)]
pub struct EdgeWrite {
    pub follower: user::Model,
    pub followee: user::Model,
    /// `follow`: a new edge was made; `unfollow`: an edge was removed.
    pub changed: bool,
}

/// Makes `edge`, unless it exists. Run it in a transaction: both users are locked (shared) until
/// the commit, so neither can be deleted in between and the insert cannot fail on a foreign key.
pub async fn follow(db: &impl ConnectionTrait, edge: FollowEdge) -> AppResult<EdgeWrite> {
    let (follower, followee) = edge_users(db, edge, true).await?;
    let mut insert = follow::Entity::insert(follow::ActiveModel {
        follower_id: Set(edge.follower_id),
        followee_id: Set(edge.followee_id),
        created_at: Set(crate::db::now()),
    })
    .into_query();
    // An existing edge is not an error: the statement inserts nothing, atomically, also when
    // two requests make the same edge at once.
    let backend = db.get_database_backend();
    if backend != DbBackend::MySql {
        insert.on_conflict(
            OnConflict::columns([follow::Column::FollowerId, follow::Column::FolloweeId])
                .do_nothing()
                .to_owned(),
        );
    }
    let mut statement = backend.build(&insert);
    if backend == DbBackend::MySql {
        // MySQL has no ON CONFLICT; INSERT IGNORE is its form of it. IGNORE would also turn a
        // foreign key or check violation into a warning, but neither can happen here: both
        // users are locked and the edge is not a loop (`FollowEdge`).
        statement.sql = statement.sql.replacen("INSERT ", "INSERT IGNORE ", 1);
    }
    let inserted = db.execute_raw(statement).await?.rows_affected();
    Ok(EdgeWrite {
        follower,
        followee,
        changed: inserted > 0,
    })
}

/// Removes `edge`, if it exists.
pub async fn unfollow(db: &impl ConnectionTrait, edge: FollowEdge) -> AppResult<EdgeWrite> {
    let (follower, followee) = edge_users(db, edge, false).await?;
    let removed = follow::Entity::delete_by_id((edge.follower_id, edge.followee_id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(EdgeWrite {
        follower,
        followee,
        changed: removed > 0,
    })
}

/// Deletes every edge from or to `user_id`; returns how many there were.
pub async fn delete_all_of(db: &impl ConnectionTrait, user_id: i32) -> AppResult<u64> {
    Ok(follow::Entity::delete_many()
        .filter(
            follow::Column::FollowerId
                .eq(user_id)
                .or(follow::Column::FolloweeId.eq(user_id)),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// The follower and the followee of `edge`, read in one statement (locked for share when
/// `lock`); a missing one is `NOT_FOUND`.
async fn edge_users(
    db: &impl ConnectionTrait,
    edge: FollowEdge,
    lock: bool,
) -> AppResult<(user::Model, user::Model)> {
    let mut find =
        user::Entity::find().filter(user::Column::Id.is_in([edge.follower_id, edge.followee_id]));
    if lock {
        find = find.lock_shared();
    }
    let users = find.all(db).await?;
    let user = |id: i32| {
        users
            .iter()
            .find(|user| user.id == id)
            .cloned()
            .ok_or_else(|| AppError::not_found("User", id))
    };
    Ok((user(edge.follower_id)?, user(edge.followee_id)?))
}
