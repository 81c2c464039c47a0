//! Users: the `User` type, its queries and mutations, and the SQL they run.
//! `User.posts` and `User.postCount` are answered by loaders, never by a query per user.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{post, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, TransactionTrait,
};

use crate::error::{retry_transient, AppError, AppResult};
use crate::graphql::loaders::PostsPageKey;
use crate::graphql::pagination::{
    page_complexity, split_page, Connection, Node, PageArgs, TotalCount,
};
use crate::graphql::post::{insert_posts, NewPost, Post};
use crate::graphql::{database, forget_loaded, loaders, parse_id};

const NAME_MAX_CHARS: usize = 1000;
const EMAIL_MAX_CHARS: usize = 255;
/// Posts accepted in one `createUser`; they are written in one transaction.
const MAX_POSTS_PER_CREATE: usize = 100;

/// A person who writes posts.
#[derive(Clone)]
pub struct User(pub user::Model);

impl Node for User {
    const NAME: &'static str = "User";
    fn id(&self) -> i32 {
        self.0.id
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
        let page = PageArgs::parse(first, after.as_deref()).extend()?;
        let loaders = loaders(ctx).extend()?;
        // The author of these posts is this user: whoever asks for `post.author` needs no query.
        loaders.user_by_id.feed_one(self.0.id, self.0.clone()).await;
        let key = PostsPageKey {
            author_id: self.0.id,
            page,
        };
        // Asked for with the page, the count lands in the same batch window as the page, so
        // the statement count never depends on which of the two answers first.
        let wants_count = ctx.look_ahead().field("totalCount").exists();
        let (page_rows, _) = futures_util::join!(loaders.posts_by_author_id.load_one(key), async {
            if wants_count {
                // The result is cached for `totalCount`; an error shows up there.
                let _ = loaders.post_count_by_author_id.load_one(self.0.id).await;
            }
        });
        let rows = page_rows.extend()?.unwrap_or_default().rows;
        let (rows, has_next_page) = split_page(rows, page.limit);
        Ok(Connection::new(
            rows.into_iter().map(Post).collect(),
            has_next_page,
            &page,
            TotalCount::PostsByAuthor(self.0.id),
        ))
    }

    /// How many posts this user has written. Batched like `posts`.
    async fn post_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        crate::graphql::post::count_posts_by_author(ctx, self.0.id)
            .await
            .extend()
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// One user by id, or null if there is none.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        let id = parse_id("id", &id).extend()?;
        let user = loaders(ctx)
            .extend()?
            .user_by_id
            .load_one(id)
            .await
            .extend()?;
        Ok(user.map(User))
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
        let page = PageArgs::parse(first, after.as_deref()).extend()?;
        let rows = user::Entity::find()
            .apply_if(page.after, |query, after| {
                query.filter(user::Column::Id.gt(after))
            })
            .order_by_asc(user::Column::Id)
            .limit(page.limit + 1)
            .all(database(ctx).extend()?)
            .await
            .map_err(AppError::from)
            .extend()?;
        let (rows, has_next_page) = split_page(rows, page.limit);
        // Rows in hand prime the by-id cache: `users { posts { author } }` costs nothing more.
        loaders(ctx)
            .extend()?
            .user_by_id
            .feed_many(rows.iter().map(|user| (user.id, user.clone())))
            .await;
        Ok(Connection::new(
            rows.into_iter().map(User).collect(),
            has_next_page,
            &page,
            TotalCount::AllUsers,
        ))
    }
}

pub(crate) async fn count_users(ctx: &Context<'_>) -> AppResult<u64> {
    Ok(user::Entity::find().count(database(ctx)?).await?)
}

/// A new user, optionally with posts: all of it is written, or none.
#[derive(InputObject, Clone)]
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
#[derive(InputObject, Clone)]
pub struct CreateUserPostInput {
    /// Unique across all posts; not empty, at most 250 characters.
    pub title: String,
    pub content: String,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(InputObject, Clone)]
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
        let user = retry_transient(|| create_user(ctx, input.clone()))
            .await
            .extend()?;
        forget_loaded(ctx);
        Ok(User(user))
    }

    /// Changes a user's name or email.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
    ) -> async_graphql::Result<User> {
        let user = retry_transient(|| update_user(ctx, &id, input.clone()))
            .await
            .extend()?;
        forget_loaded(ctx);
        Ok(User(user))
    }

    /// Deletes a user and, by cascade, all their posts.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeleteUserPayload> {
        let deleted = retry_transient(|| delete_user(ctx, &id)).await.extend()?;
        forget_loaded(ctx);
        Ok(deleted)
    }
}

async fn create_user(ctx: &Context<'_>, input: CreateUserInput) -> AppResult<user::Model> {
    let name = validate_name(input.name)?;
    let email = validate_email(input.email)?;
    if input.posts.len() > MAX_POSTS_PER_CREATE {
        return Err(AppError::invalid(
            "posts",
            format!("at most {MAX_POSTS_PER_CREATE} posts per createUser"),
        ));
    }
    let posts = input
        .posts
        .into_iter()
        .enumerate()
        .map(|(index, post)| {
            NewPost::validate(post.title, post.content, &format!("posts[{index}]."))
        })
        .collect::<AppResult<Vec<_>>>()?;
    NewPost::reject_repeated_titles(&posts, "posts")?;

    let txn = database(ctx)?.begin().await?;
    let now = crate::db::now();
    let user = user::ActiveModel {
        name: Set(name),
        email: Set(email),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| AppError::from_write(err, "user", &["email"]))?;
    insert_posts(&txn, user.id, posts, now)
        .await
        .map_err(|err| AppError::from_write(err, "post", &["title"]))?;
    txn.commit().await?;
    Ok(user)
}

async fn update_user(ctx: &Context<'_>, id: &ID, input: UpdateUserInput) -> AppResult<user::Model> {
    let id = parse_id("id", id)?;
    // Read, change and (on MySQL) read back as one: the row is locked until the commit.
    let txn = database(ctx)?.begin().await?;
    let mut user: user::ActiveModel = user::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("User", id))?
        .into();
    if let Some(name) = input.name {
        user.name = Set(validate_name(name)?);
    }
    if let Some(email) = input.email {
        user.email = Set(validate_email(email)?);
    }
    let user = user.update(&txn).await.map_err(|err| match err {
        // Deleted between our read and our write (SQLite has no row locks).
        DbErr::RecordNotUpdated => AppError::not_found("User", id),
        err => AppError::from_write(err, "user", &["email"]),
    })?;
    txn.commit().await?;
    Ok(user)
}

async fn delete_user(ctx: &Context<'_>, id: &ID) -> AppResult<DeleteUserPayload> {
    let id = parse_id("id", id)?;
    let txn = database(ctx)?.begin().await?;
    // PostgreSQL and MySQL: lock the user first, so that no post can be added to them between
    // the two deletes (a new post's foreign key check waits on this lock), and the count is
    // exact. SQLite has no row locks and needs none: its first write takes the database's write
    // lock, while a read first would make this deferred transaction fail, not wait, if another
    // writer committed in between.
    if txn.get_database_backend() != DbBackend::Sqlite {
        let locked: Option<i32> = user::Entity::find_by_id(id)
            .select_only()
            .column(user::Column::Id)
            .lock_exclusive()
            .into_tuple()
            .one(&txn)
            .await?;
        if locked.is_none() {
            return Err(AppError::not_found("User", id));
        }
    }
    // The posts would go with their author by ON DELETE CASCADE anyway; deleting them first
    // is how we learn how many there were.
    let deleted_post_count = post::Entity::delete_many()
        .filter(post::Column::AuthorId.eq(id))
        .exec(&txn)
        .await?
        .rows_affected;
    let deleted = user::Entity::delete_by_id(id).exec(&txn).await?;
    if deleted.rows_affected == 0 {
        // Dropping the transaction rolls the post deletes back.
        return Err(AppError::not_found("User", id));
    }
    txn.commit().await?;
    Ok(DeleteUserPayload {
        id: ID::from(id),
        deleted_post_count,
    })
}

fn validate_name(name: String) -> AppResult<String> {
    if name.trim().is_empty() {
        return Err(AppError::invalid("name", "must not be empty"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("must be at most {NAME_MAX_CHARS} characters"),
        ));
    }
    Ok(name)
}

/// A deliberately small check (one `@`, something on each side, no spaces): the only way to
/// know an address works is to send it mail. Emails are compared and stored in lower case, so
/// uniqueness means the same on every database whatever its collation.
fn validate_email(email: String) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(AppError::invalid(
            "email",
            format!("must be at most {EMAIL_MAX_CHARS} characters"),
        ));
    }
    let well_formed = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !well_formed {
        return Err(AppError::invalid("email", "is not an email address"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lowercased() {
        let cases = [
            ("Ann@Example.com", Some("ann@example.com")),
            (" ann@example.com ", Some("ann@example.com")),
            ("ann", None),
            ("@example.com", None),
            ("ann@", None),
            ("a b@example.com", None),
            ("a@b@example.com", None),
        ];
        for (input, expected) in cases {
            let got = validate_email(input.to_string()).ok();
            assert_eq!(got.as_deref(), expected, "case {input:?}");
        }
    }

    #[test]
    fn names_must_not_be_blank_or_too_long() {
        assert!(validate_name("Ann".into()).is_ok());
        assert!(validate_name("  ".into()).is_err());
        assert!(validate_name("x".repeat(NAME_MAX_CHARS + 1)).is_err());
        assert!(validate_name("é".repeat(NAME_MAX_CHARS)).is_ok());
    }
}
