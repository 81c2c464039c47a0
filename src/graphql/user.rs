//! The `User` type, the user queries and mutations. Resolvers are thin: they parse arguments,
//! then call a loader, the connection helpers or `mutate` with a `db::users` function.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::user;

use crate::db;
use crate::db::users::AllUsers;
use crate::domain::user::{NewUser, UserChanges};
use crate::graphql::connection::{
    page_complexity, relation_connection, root_connection, Connection, Node,
};
use crate::graphql::context::{loaders, mutate, parse_id};
use crate::graphql::post::Post;

/// A person who writes posts and follows other people.
#[derive(Clone)]
pub struct User(pub user::Model);

impl Node for User {
    const NAME: &'static str = "User";
    type Row = user::Model;

    fn from_row(row: user::Model) -> Self {
        User(row)
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID::from(self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Unique across users; stored in lower case.
    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// This user's posts, oldest first. Batched: one statement for all the users of a page.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(
            desc = "Cursor to start after (a `cursor` or `endCursor` from a previous page)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Post>> {
        let relation = &loaders(ctx).extend()?.posts_by_author;
        relation_connection(ctx, relation, self.0.id, first, after).await
    }

    /// How many posts this user has written. Batched like `posts`.
    async fn post_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let relation = &loaders(ctx).extend()?.posts_by_author;
        relation.count(self.0.id).await.extend()
    }

    /// The users who follow this user, newest follow first. Batched like `posts`.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn followers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(
            desc = "Cursor to start after (a `cursor` or `endCursor` from a previous page)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<User>> {
        let relation = &loaders(ctx).extend()?.followers;
        relation_connection(ctx, relation, self.0.id, first, after).await
    }

    /// How many users follow this user. Batched like `posts`.
    async fn follower_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let relation = &loaders(ctx).extend()?.followers;
        relation.count(self.0.id).await.extend()
    }

    /// The users this user follows, newest follow first. Batched like `posts`.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn following(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(
            desc = "Cursor to start after (a `cursor` or `endCursor` from a previous page)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<User>> {
        let relation = &loaders(ctx).extend()?.following;
        relation_connection(ctx, relation, self.0.id, first, after).await
    }

    /// How many users this user follows. Batched like `posts`.
    async fn following_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let relation = &loaders(ctx).extend()?.following;
        relation.count(self.0.id).await.extend()
    }

    /// The posts of the users this user follows, newest first. One statement for the feeds of
    /// all the users of a page.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn feed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(
            desc = "Cursor to start after (a `cursor` or `endCursor` from a previous page)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Post>> {
        let relation = &loaders(ctx).extend()?.feed;
        relation_connection(ctx, relation, self.0.id, first, after).await
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// One user by id, or null if there is none.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        let id = parse_id("id", &id).extend()?;
        let user = loaders(ctx).extend()?.user_by_id.load_one(id).await;
        Ok(user.extend()?.map(User))
    }

    /// All users, oldest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(
            desc = "Cursor to start after (a `cursor` or `endCursor` from a previous page)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<User>> {
        root_connection::<AllUsers, User>(ctx, first, after).await
    }
}

/// A new user, optionally with posts: all of it is written, or none.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Not empty, at most 1000 characters.
    pub name: String,
    /// Unique; at most 255 characters. Stored in lower case.
    pub email: String,
    /// Posts written by the new user, created in the same transaction.
    #[graphql(default)]
    pub posts: Vec<CreateUserPostInput>,
}

/// A post created together with its author.
#[derive(InputObject)]
pub struct CreateUserPostInput {
    /// Unique across all posts; not empty, at most 250 characters.
    pub title: String,
    pub content: String,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// What `deleteUser` removed.
#[derive(SimpleObject)]
pub struct DeleteUserPayload {
    /// The deleted user's id.
    pub id: ID,
    /// How many posts were deleted with the user (a post never outlives its author).
    pub deleted_post_count: u64,
    /// How many follow edges went with the user: those to the users they followed, and those
    /// from their followers.
    pub deleted_follow_count: u64,
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a user, and with `posts` their first posts, in one transaction.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<User> {
        let posts = input
            .posts
            .into_iter()
            .map(|post| (post.title, post.content))
            .collect();
        let new = NewUser::parse(input.name, input.email, posts).extend()?;
        let user = mutate(ctx, |txn| Box::pin(db::users::create(txn, new.clone()))).await?;
        Ok(User(user))
    }

    /// Changes a user's name or email.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
    ) -> async_graphql::Result<User> {
        let id = parse_id("id", &id).extend()?;
        let changes = UserChanges::parse(input.name, input.email).extend()?;
        let user = mutate(ctx, |txn| {
            Box::pin(db::users::update(txn, id, changes.clone()))
        })
        .await?;
        Ok(User(user))
    }

    /// Deletes a user and, by cascade, all their posts and follow edges.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeleteUserPayload> {
        let id = parse_id("id", &id).extend()?;
        let deleted = mutate(ctx, |txn| Box::pin(db::users::delete(txn, id))).await?;
        Ok(DeleteUserPayload {
            id: ID::from(id),
            deleted_post_count: deleted.deleted_post_count,
            deleted_follow_count: deleted.deleted_follow_count,
        })
    }
}
