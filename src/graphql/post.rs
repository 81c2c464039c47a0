//! The `Post` type, the post queries and mutations. `Post.author` is answered by the user-by-id
//! loader, never by a query per post.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::post;

use crate::db;
use crate::db::posts::AllPosts;
use crate::domain::post::{NewPost, PostChanges, Title};
use crate::error::AppError;
use crate::graphql::connection::{page_complexity, root_connection, Connection, Node};
use crate::graphql::context::{loaders, mutate, parse_id};
use crate::graphql::user::User;

/// A blog post. It always has an author.
#[derive(Clone)]
pub struct Post(pub post::Model);

impl Node for Post {
    const NAME: &'static str = "Post";
    type Row = post::Model;

    fn from_row(row: post::Model) -> Self {
        Post(row)
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
        let post = loaders(ctx).extend()?.post_by_id.load_one(id).await;
        Ok(post.extend()?.map(Post))
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
        root_connection::<AllPosts, Post>(ctx, first, after).await
    }
}

/// A new post.
#[derive(InputObject)]
pub struct CreatePostInput {
    /// The user who writes the post; must exist.
    pub author_id: ID,
    /// Unique across all posts; not empty, at most 250 characters.
    pub title: String,
    pub content: String,
}

/// Changes to a post; omitted fields stay as they are. Setting `authorId` moves the post to
/// another user.
#[derive(InputObject)]
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
        let author_id = parse_id("authorId", &input.author_id).extend()?;
        let new = NewPost::parse(input.title, input.content).extend()?;
        let post = mutate(ctx, |txn| {
            Box::pin(db::posts::create(txn, author_id, new.clone()))
        })
        .await?;
        Ok(Post(post))
    }

    /// Changes a post's title or content, or moves it to another author.
    async fn update_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePostInput,
    ) -> async_graphql::Result<Post> {
        let id = parse_id("id", &id).extend()?;
        let changes = PostChanges {
            title: input.title.map(Title::parse).transpose().extend()?,
            content: input.content,
            author_id: input
                .author_id
                .map(|author_id| parse_id("authorId", &author_id))
                .transpose()
                .extend()?,
        };
        let post = mutate(ctx, |txn| {
            Box::pin(db::posts::update(txn, id, changes.clone()))
        })
        .await?;
        Ok(Post(post))
    }

    /// Deletes a post.
    async fn delete_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeletePostPayload> {
        let id = parse_id("id", &id).extend()?;
        mutate(ctx, |txn| Box::pin(db::posts::delete(txn, id))).await?;
        Ok(DeletePostPayload { id: ID::from(id) })
    }
}
