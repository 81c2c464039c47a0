//! The follow mutations: a user follows or unfollows another. The follow lists themselves
//! (`User.followers`, `User.following`, `User.feed`) are fields of `User`.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject, ID};

use crate::db;
use crate::db::follows::EdgeWrite;
use crate::domain::account::Viewer;
use crate::domain::follow::FollowEdge;
use crate::error::AppResult;
use crate::events::Event;
use crate::graphql::context::{mutate, mutate_announcing, parse_id};
use crate::graphql::objects::User;

/// An edge of the follow graph: `followerId` follows `followeeId`.
#[derive(InputObject)]
pub struct FollowUserInput {
    /// The user who follows: the viewer when left out; someone else only for an admin.
    pub follower_id: Option<ID>,
    /// The user to follow; not the follower themselves.
    pub followee_id: ID,
}

/// An edge of the follow graph to remove.
#[derive(InputObject)]
pub struct UnfollowUserInput {
    /// The user who stops following: the viewer when left out; someone else only for an admin.
    pub follower_id: Option<ID>,
    /// The user to stop following.
    pub followee_id: ID,
}

/// The answer to `followUser`.
#[derive(SimpleObject)]
pub struct FollowUserPayload {
    pub follower: User,
    pub followee: User,
    /// True when this request made the edge; false when the follower already followed the
    /// followee (following twice is not an error).
    pub created: bool,
}

/// The answer to `unfollowUser`.
#[derive(SimpleObject)]
pub struct UnfollowUserPayload {
    pub follower: User,
    pub followee: User,
    /// True when this request removed the edge; false when there was none (not an error).
    pub removed: bool,
}

#[derive(Default)]
pub struct FollowMutation;

#[Object]
impl FollowMutation {
    /// Makes the viewer (or, for an admin, `followerId`) follow `followeeId`. Both users must
    /// exist; a user cannot follow themselves.
    async fn follow_user(
        &self,
        ctx: &Context<'_>,
        input: FollowUserInput,
    ) -> async_graphql::Result<FollowUserPayload> {
        let edge = parse_edge(&input.follower_id, &input.followee_id).extend()?;
        let EdgeWrite {
            follower,
            followee,
            changed,
        } = mutate_announcing(ctx, |txn, viewer| {
            Box::pin(async move {
                let written = db::follows::follow(txn, edge.of(viewer)?).await?;
                let events = if written.changed {
                    vec![Event::Followed {
                        follower_id: written.follower.id,
                        followee_id: written.followee.id,
                    }]
                } else {
                    Vec::new()
                };
                Ok((written, events))
            })
        })
        .await?;
        Ok(FollowUserPayload {
            follower: User::new(follower),
            followee: User::new(followee),
            created: changed,
        })
    }

    /// Makes the viewer (or, for an admin, `followerId`) stop following `followeeId`. Both
    /// users must exist.
    async fn unfollow_user(
        &self,
        ctx: &Context<'_>,
        input: UnfollowUserInput,
    ) -> async_graphql::Result<UnfollowUserPayload> {
        let edge = parse_edge(&input.follower_id, &input.followee_id).extend()?;
        let EdgeWrite {
            follower,
            followee,
            changed,
        } = mutate(ctx, |txn, viewer| {
            Box::pin(async move { db::follows::unfollow(txn, edge.of(viewer)?).await })
        })
        .await?;
        Ok(UnfollowUserPayload {
            follower: User::new(follower),
            followee: User::new(followee),
            removed: changed,
        })
    }
}

/// An edge as asked for: the followee, and the follower if named.
#[derive(Debug, Clone, Copy)]
struct RequestedEdge {
    follower_id: Option<i32>,
    followee_id: i32,
}

impl RequestedEdge {
    /// The edge the viewer makes: their own unless they name another follower, which only an
    /// admin may.
    fn of(self, viewer: Viewer) -> AppResult<FollowEdge> {
        let follower_id = self.follower_id.unwrap_or(viewer.user_id);
        viewer.may_act_for(follower_id)?;
        FollowEdge::new(follower_id, self.followee_id)
    }
}

fn parse_edge(follower_id: &Option<ID>, followee_id: &ID) -> AppResult<RequestedEdge> {
    Ok(RequestedEdge {
        follower_id: follower_id
            .as_ref()
            .map(|id| parse_id("followerId", id))
            .transpose()?,
        followee_id: parse_id("followeeId", followee_id)?,
    })
}
