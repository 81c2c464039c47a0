//! The `orderBy` arguments of lists: which fields posts and users can be sorted by, in which
//! direction. Ties are always broken by id, so every order is total and paging under it never
//! skips or repeats a row. A cursor belongs to the order it was read under.

use async_graphql::{Enum, InputObject};

use crate::db::page::Direction;
use crate::graphql::connection::OrderDirection;

/// What posts can be ordered by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOrderField {
    CreatedAt,
    UpdatedAt,
    Title,
    Id,
}

/// One field of an order of posts.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct PostOrder {
    pub field: PostOrderField,
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

impl PostOrder {
    /// The order as the page builder names it.
    pub fn spec(order_by: Option<Vec<PostOrder>>) -> Vec<(&'static str, Direction)> {
        order_by
            .unwrap_or_default()
            .into_iter()
            .map(|order| {
                let field = match order.field {
                    PostOrderField::CreatedAt => "CREATED_AT",
                    PostOrderField::UpdatedAt => "UPDATED_AT",
                    PostOrderField::Title => "TITLE",
                    PostOrderField::Id => "ID",
                };
                (field, order.direction.into())
            })
            .collect()
    }
}

/// What users can be ordered by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrderField {
    Name,
    CreatedAt,
    Id,
    /// How many posts the user has written.
    PostCount,
    /// How many users follow the user.
    FollowerCount,
    /// When the follow was made: only for `followers` and `following`.
    FollowedAt,
}

/// One field of an order of users.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct UserOrder {
    pub field: UserOrderField,
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

impl UserOrder {
    /// The order as the page builder names it.
    pub fn spec(order_by: Option<Vec<UserOrder>>) -> Vec<(&'static str, Direction)> {
        order_by
            .unwrap_or_default()
            .into_iter()
            .map(|order| {
                let field = match order.field {
                    UserOrderField::Name => "NAME",
                    UserOrderField::CreatedAt => "CREATED_AT",
                    UserOrderField::Id => "ID",
                    UserOrderField::PostCount => "POST_COUNT",
                    UserOrderField::FollowerCount => "FOLLOWER_COUNT",
                    UserOrderField::FollowedAt => "FOLLOWED_AT",
                };
                (field, order.direction.into())
            })
            .collect()
    }
}
