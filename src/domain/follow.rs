//! Who may follow whom: anyone may follow anyone else, never themselves.

use crate::error::{AppError, AppResult};

/// An edge of the follow graph: `follower_id` follows `followee_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowEdge {
    pub follower_id: i32,
    pub followee_id: i32,
}

impl FollowEdge {
    /// The edge, unless it would be a loop: a user following themselves is refused (the
    /// database's check constraint would refuse it too, with a less helpful message).
    pub fn new(follower_id: i32, followee_id: i32) -> AppResult<Self> {
        if follower_id == followee_id {
            return Err(AppError::invalid(
                "followeeId",
                "a user cannot follow themselves",
            ));
        }
        Ok(FollowEdge {
            follower_id,
            followee_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_cannot_follow_themselves() {
        assert!(FollowEdge::new(1, 2).is_ok());
        match FollowEdge::new(3, 3) {
            Err(AppError::InvalidInput { field, .. }) => assert_eq!(field, "followeeId"),
            other => panic!("expected BAD_USER_INPUT on followeeId, got {other:?}"),
        }
    }
}
