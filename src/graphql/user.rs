//! The user queries and mutations. Resolvers are thin: they parse arguments, then call a
//! loader, the connection helpers or `mutate` with a `db::users` function.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject, ID};

use crate::db;
use crate::db::users::AllUsers;
use crate::domain::user::{NewUser, UserChanges};
use crate::error::AppError;
use crate::graphql::connection::{page_complexity, root_connection, Connection, ListArgs, Node};
use crate::graphql::context::{loaders, mutate, parse_id, viewer};
use crate::graphql::filter::UserFilterInput;
use crate::graphql::objects::User;
use crate::graphql::order::UserOrder;
use crate::graphql::resolve::{Resolved, ResolvedBoxed};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// One user by id, or null if there is none.
    async fn user(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Resolved<User>>> {
        let id = parse_id("id", &id).extend()?;
        let user = loaders(ctx).extend()?.user_by_id.load_one(id).await;
        Ok(user
            .extend()?
            .map(|row| Resolved(<User as Node>::from_row(row))))
    }

    /// All users, oldest first.
    #[graphql(
        complexity = "page_complexity(first, last, child_complexity) + UserFilterInput::cost(&filter)"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size, counted from the start or from `after`: default 20, at most 100."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after (a `cursor` or `endCursor` of a previous page).")]
        after: Option<String>,
        #[graphql(
            desc = "Page size, counted back from the end or from `before`: default 20, at most 100. Page with `first`/`after` or with `last`/`before`, not both."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before (a `cursor` or `startCursor` of a later page).")]
        before: Option<String>,
        #[graphql(
            desc = "Fields to sort by, in order of precedence; ties are broken by id. Default: oldest first (`ID`, ascending)."
        )]
        order_by: Option<Vec<UserOrder>>,
        #[graphql(desc = "Only the users that pass this filter; `totalCount` counts them.")]
        filter: Option<UserFilterInput>,
    ) -> async_graphql::Result<ResolvedBoxed<Connection<User>>> {
        let list = ListArgs {
            first,
            after,
            last,
            before,
            order_by: UserOrder::spec(order_by),
            filter: UserFilterInput::parse(filter, viewer(ctx)).extend()?,
        };
        root_connection::<AllUsers, User>(ctx, list).await
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
    /// Creates a user without a password (who cannot log in until `blogql set-password`), and
    /// with `posts` their first posts, in one transaction. Admins only.
    #[graphql(
        deprecation = "Use signUp, which creates an account that can log in. createUser needs an admin's token since accounts came (a documented break); it will be removed."
    )]
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
        let user = mutate(ctx, |txn, viewer| {
            let new = new.clone();
            Box::pin(async move {
                if !viewer.is_admin() {
                    return Err(AppError::Forbidden(
                        "only an admin creates users; sign up instead".into(),
                    ));
                }
                db::users::create(txn, new, None).await
            })
        })
        .await?;
        Ok(User::new(user))
    }

    /// Changes a user's name or email: the user themselves, or an admin.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
    ) -> async_graphql::Result<User> {
        let id = parse_id("id", &id).extend()?;
        let changes = UserChanges::parse(input.name, input.email).extend()?;
        let user = mutate(ctx, |txn, viewer| {
            let changes = changes.clone();
            Box::pin(async move { db::users::update(txn, id, changes, viewer).await })
        })
        .await?;
        Ok(User::new(user))
    }

    /// Deletes a user and, by cascade, all their posts and follow edges.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeleteUserPayload> {
        let id = parse_id("id", &id).extend()?;
        let deleted = mutate(ctx, |txn, viewer| {
            Box::pin(db::users::delete(txn, id, viewer))
        })
        .await?;
        Ok(DeleteUserPayload {
            id: ID::from(id),
            deleted_post_count: deleted.deleted_post_count,
            deleted_follow_count: deleted.deleted_follow_count,
        })
    }
}
