//! Posts: the `Post` type, its queries and mutations, and the SQL they run.
//! `Post.author` is answered by the user-by-id loader, never by a query per post.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::post;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, SqlErr, TransactionTrait,
};

use crate::error::{retry_transient, AppError, AppResult};
use crate::graphql::pagination::{
    page_complexity, split_page, Connection, Node, PageArgs, TotalCount,
};
use crate::graphql::user::User;
use crate::graphql::{database, forget_loaded, loaders, parse_id};

const TITLE_MAX_CHARS: usize = 250;

/// A blog post. It always has an author.
#[derive(Clone)]
pub struct Post(pub post::Model);

impl Node for Post {
    const NAME: &'static str = "Post";
    fn id(&self) -> i32 {
        self.0.id
    }
}

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ID::from(self.0.id)
    }

    /// Unique across all posts.
    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn content(&self) -> &str {
        &self.0.content
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Who wrote the post. Batched: one statement for all the posts of a response, none when
    /// the author was already loaded.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let author_id = self.0.author_id;
        let author = loaders(ctx)
            .extend()?
            .user_by_id
            .load_one(author_id)
            .await
            .extend()?
            // The foreign key makes this impossible; if it happens, it is our bug, not the
            // client's.
            .ok_or_else(|| {
                AppError::Internal(format!("post {} has no author {author_id}", self.0.id))
            })
            .extend()?;
        Ok(User(author))
    }
}

#[derive(Default)]
pub struct PostQuery;

#[Object]
impl PostQuery {
    /// One post by id, or null if there is none.
    async fn post(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Post>> {
        let id = parse_id("id", &id).extend()?;
        let post = post::Entity::find_by_id(id)
            .one(database(ctx).extend()?)
            .await
            .map_err(AppError::from)
            .extend()?;
        Ok(post.map(Post))
    }

    /// All posts, oldest first.
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
        let rows = post::Entity::find()
            .apply_if(page.after, |query, after| {
                query.filter(post::Column::Id.gt(after))
            })
            .order_by_asc(post::Column::Id)
            .limit(page.limit + 1)
            .all(database(ctx).extend()?)
            .await
            .map_err(AppError::from)
            .extend()?;
        let (rows, has_next_page) = split_page(rows, page.limit);
        Ok(Connection::new(
            rows.into_iter().map(Post).collect(),
            has_next_page,
            &page,
            TotalCount::AllPosts,
        ))
    }
}

pub(crate) async fn count_posts(ctx: &Context<'_>) -> AppResult<u64> {
    Ok(post::Entity::find().count(database(ctx)?).await?)
}

pub(crate) async fn count_posts_by_author(ctx: &Context<'_>, author_id: i32) -> AppResult<u64> {
    let count = loaders(ctx)?
        .post_count_by_author_id
        .load_one(author_id)
        .await?;
    Ok(count.unwrap_or(0))
}

/// A new post.
#[derive(InputObject, Clone)]
pub struct CreatePostInput {
    /// The user who writes the post; must exist.
    pub author_id: ID,
    /// Unique across all posts; not empty, at most 250 characters.
    pub title: String,
    pub content: String,
}

/// Changes to a post; omitted fields stay as they are. Setting `authorId` moves the post to
/// another user.
#[derive(InputObject, Clone)]
pub struct UpdatePostInput {
    pub title: Option<String>,
    pub content: Option<String>,
    pub author_id: Option<ID>,
}

/// What `deletePost` removed.
#[derive(SimpleObject)]
pub struct DeletePostPayload {
    /// The deleted post's id.
    pub id: ID,
}

#[derive(Default)]
pub struct PostMutation;

#[Object]
impl PostMutation {
    /// Creates a post for an existing user.
    async fn create_post(
        &self,
        ctx: &Context<'_>,
        input: CreatePostInput,
    ) -> async_graphql::Result<Post> {
        let post = retry_transient(|| create_post(ctx, input.clone()))
            .await
            .extend()?;
        forget_loaded(ctx);
        Ok(Post(post))
    }

    /// Changes a post's title or content, or moves it to another author.
    async fn update_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePostInput,
    ) -> async_graphql::Result<Post> {
        let post = retry_transient(|| update_post(ctx, &id, input.clone()))
            .await
            .extend()?;
        forget_loaded(ctx);
        Ok(Post(post))
    }

    /// Deletes a post.
    async fn delete_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeletePostPayload> {
        let deleted = retry_transient(|| delete_post(ctx, &id)).await.extend()?;
        forget_loaded(ctx);
        Ok(deleted)
    }
}

/// A validated title and content, ready to insert.
pub(crate) struct NewPost {
    title: String,
    content: String,
}

impl NewPost {
    /// `field_prefix` places errors inside a larger input, e.g. `posts[2].`.
    pub(crate) fn validate(title: String, content: String, field_prefix: &str) -> AppResult<Self> {
        Ok(NewPost {
            title: validate_title(title, field_prefix)?,
            content,
        })
    }

    /// Two posts of one input with the same title can never both be written: say which.
    pub(crate) fn reject_repeated_titles(posts: &[NewPost], field: &str) -> AppResult<()> {
        for (index, post) in posts.iter().enumerate() {
            if posts[..index]
                .iter()
                .any(|earlier| earlier.title == post.title)
            {
                return Err(AppError::invalid(
                    format!("{field}[{index}].title"),
                    "repeats the title of an earlier post in this input",
                ));
            }
        }
        Ok(())
    }
}

pub(crate) async fn insert_posts(
    db: &impl ConnectionTrait,
    author_id: i32,
    posts: Vec<NewPost>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if posts.is_empty() {
        return Ok(());
    }
    let rows = posts.into_iter().map(|post| post::ActiveModel {
        title: Set(post.title),
        content: Set(post.content),
        author_id: Set(author_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    post::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

async fn create_post(ctx: &Context<'_>, input: CreatePostInput) -> AppResult<post::Model> {
    let author_id = parse_id("authorId", &input.author_id)?;
    let new = NewPost::validate(input.title, input.content, "")?;
    let now = crate::db::now();
    // A transaction even for one row: MySQL reads the new row back in a second statement, and
    // a concurrent deleteUser must not remove it in between.
    let txn = database(ctx)?.begin().await?;
    let post = post::ActiveModel {
        title: Set(new.title),
        content: Set(new.content),
        author_id: Set(author_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| write_error(err, author_id))?;
    txn.commit().await?;
    Ok(post)
}

async fn update_post(ctx: &Context<'_>, id: &ID, input: UpdatePostInput) -> AppResult<post::Model> {
    let id = parse_id("id", id)?;
    // Read, change and (on MySQL) read back as one: the row is locked until the commit.
    let txn = database(ctx)?.begin().await?;
    let existing = post::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("Post", id))?;
    let mut author_id = existing.author_id;
    let mut post: post::ActiveModel = existing.into();
    if let Some(title) = input.title {
        post.title = Set(validate_title(title, "")?);
    }
    if let Some(content) = input.content {
        post.content = Set(content);
    }
    if let Some(new_author) = input.author_id {
        author_id = parse_id("authorId", &new_author)?;
        post.author_id = Set(author_id);
    }
    post.updated_at = Set(crate::db::now());
    let post = post.update(&txn).await.map_err(|err| match err {
        // Deleted between our read and our write (SQLite has no row locks).
        DbErr::RecordNotUpdated => AppError::not_found("Post", id),
        err => write_error(err, author_id),
    })?;
    txn.commit().await?;
    Ok(post)
}

async fn delete_post(ctx: &Context<'_>, id: &ID) -> AppResult<DeletePostPayload> {
    let id = parse_id("id", id)?;
    let deleted = post::Entity::delete_by_id(id).exec(database(ctx)?).await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::not_found("Post", id));
    }
    Ok(DeletePostPayload { id: ID::from(id) })
}

/// A post's only foreign key is its author: a violation means that user does not exist.
fn write_error(err: DbErr, author_id: i32) -> AppError {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => AppError::not_found("User", author_id),
        _ => AppError::from_write(err, "post", &["title"]),
    }
}

fn validate_title(title: String, field_prefix: &str) -> AppResult<String> {
    if title.trim().is_empty() {
        return Err(AppError::invalid(
            format!("{field_prefix}title"),
            "must not be empty",
        ));
    }
    if title.chars().count() > TITLE_MAX_CHARS {
        return Err(AppError::invalid(
            format!("{field_prefix}title"),
            format!("must be at most {TITLE_MAX_CHARS} characters"),
        ));
    }
    Ok(title)
}
