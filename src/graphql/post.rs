//! The post queries and mutations. Resolvers are thin: they parse arguments, then call a
//! loader, the connection helpers or `mutate` with a `db::posts` function.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject, ID};

use crate::db;
use crate::db::posts::AllPosts;
use crate::domain::post::{NewPost, PostChanges};
use crate::events::Event;
use crate::graphql::connection::{page_complexity, root_connection, Connection, ListArgs, Node};
use crate::graphql::context::{loaders, mutate_announcing, parse_id, viewer};
use crate::graphql::filter::PostFilterInput;
use crate::graphql::objects::Post;
use crate::graphql::order::PostOrder;
use crate::graphql::resolve::{Resolved, ResolvedBoxed};

#[derive(Default)]
pub struct PostQuery;

#[Object]
impl PostQuery {
    /// One post by id, or null if there is none.
    async fn post(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Resolved<Post>>> {
        let id = parse_id("id", &id).extend()?;
        let loaders = loaders(ctx).extend()?;
        let Some(post) = loaders.post_by_id.load_one(id).await.extend()? else {
            return Ok(None);
        };
        // Read just before its author was deleted (and the post with them): the post is gone.
        if ctx.look_ahead().field("author").exists()
            && loaders
                .user_by_id
                .load_one(post.author_id)
                .await
                .extend()?
                .is_none()
        {
            return Ok(None);
        }
        Ok(Some(Resolved(Post::from_row(post))))
    }

    /// All posts, oldest first.
    #[graphql(
        complexity = "page_complexity(first, last, child_complexity) + PostFilterInput::cost(&filter)"
    )]
    async fn posts(
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
        order_by: Option<Vec<PostOrder>>,
        #[graphql(desc = "Only the posts that pass this filter; `totalCount` counts them.")]
        filter: Option<PostFilterInput>,
    ) -> async_graphql::Result<ResolvedBoxed<Connection<Post>>> {
        let list = ListArgs {
            first,
            after,
            last,
            before,
            order_by: PostOrder::spec(order_by),
            filter: PostFilterInput::parse(filter, viewer(ctx)).extend()?,
        };
        root_connection::<AllPosts, Post>(ctx, list).await
    }
}

/// A new post.
#[derive(InputObject)]
pub struct CreatePostInput {
    /// The user who writes the post: the viewer when left out; someone else only for an admin.
    pub author_id: Option<ID>,
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
        let author_id = input
            .author_id
            .map(|author_id| parse_id("authorId", &author_id))
            .transpose()
            .extend()?;
        let new = NewPost::parse(input.title, input.content).extend()?;
        let post = mutate_announcing(ctx, |txn, viewer| {
            let new = new.clone();
            Box::pin(async move {
                let author_id = author_id.unwrap_or(viewer.user_id);
                viewer.may_act_for(author_id)?;
                let post = db::posts::create(txn, author_id, new).await?;
                let created = Event::PostCreated {
                    post_id: post.id,
                    author_id: post.author_id,
                };
                Ok((post, vec![created]))
            })
        })
        .await?;
        Ok(Post::new(post))
    }

    /// Changes a post's title or content, or moves it to another author.
    async fn update_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePostInput,
    ) -> async_graphql::Result<Post> {
        let id = parse_id("id", &id).extend()?;
        let author_id = input
            .author_id
            .map(|author_id| parse_id("authorId", &author_id))
            .transpose()
            .extend()?;
        let changes = PostChanges::parse(input.title, input.content, author_id).extend()?;
        let post = mutate_announcing(ctx, |txn, viewer| {
            let changes = changes.clone();
            Box::pin(async move {
                let post = db::posts::update(txn, id, changes, viewer).await?;
                let updated = Event::PostUpdated {
                    post_id: post.id,
                    author_id: post.author_id,
                };
                Ok((post, vec![updated]))
            })
        })
        .await?;
        Ok(Post::new(post))
    }

    /// Deletes a post.
    async fn delete_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeletePostPayload> {
        let id = parse_id("id", &id).extend()?;
        mutate_announcing(ctx, |txn, viewer| {
            Box::pin(async move {
                let author_id = db::posts::delete(txn, id, viewer).await?;
                Ok((
                    (),
                    vec![Event::PostDeleted {
                        post_id: id,
                        author_id,
                    }],
                ))
            })
        })
        .await?;
        Ok(DeletePostPayload { id: ID::from(id) })
    }
}
