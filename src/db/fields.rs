//! What the lists of each table can be ordered by: the API's order fields (`UserOrderField`,
//! `PostOrderField`) as SQL, shared by every list of that table (root lists and relations).

use entity::{follow, post, user};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, IntoIden, Query, SimpleExpr};

use crate::db::page::{KeyKind, SortField};

/// The fields users can be ordered by (`UserOrderField` in the API), for every list of users.
pub fn user_sort_fields() -> Vec<SortField> {
    vec![
        SortField::column("ID", (user::Entity, user::Column::Id), KeyKind::Id),
        SortField::column("NAME", (user::Entity, user::Column::Name), KeyKind::Text),
        SortField::column(
            "CREATED_AT",
            (user::Entity, user::Column::CreatedAt),
            KeyKind::Time,
        ),
        SortField::expr(
            "POST_COUNT",
            count_of_user(post::Entity, post::Column::AuthorId),
            KeyKind::Count,
        ),
        SortField::expr(
            "FOLLOWER_COUNT",
            count_of_user(follow::Entity, follow::Column::FolloweeId),
            KeyKind::Count,
        ),
    ]
}

/// `(SELECT COUNT(*) FROM <table> AS counted WHERE counted.<column> = users.id)`: how many rows
/// of `table` point at the user, for ordering by it. The alias keeps it apart from the same
/// table joined by the list itself (`follows`, for followers).
fn count_of_user(table: impl IntoIden, column: impl IntoIden) -> SimpleExpr {
    let counted = Alias::new("counted");
    let count = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from_as(table, counted.clone())
        .and_where(Expr::col((counted, column)).equals((user::Entity, user::Column::Id)))
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(count.into()))
}

/// The fields posts can be ordered by (`PostOrderField` in the API), for every list of posts.
pub fn post_sort_fields() -> Vec<SortField> {
    vec![
        SortField::column("ID", (post::Entity, post::Column::Id), KeyKind::Id),
        SortField::column("TITLE", (post::Entity, post::Column::Title), KeyKind::Text),
        SortField::column(
            "CREATED_AT",
            (post::Entity, post::Column::CreatedAt),
            KeyKind::Time,
        ),
        SortField::column(
            "UPDATED_AT",
            (post::Entity, post::Column::UpdatedAt),
            KeyKind::Time,
        ),
    ]
}
