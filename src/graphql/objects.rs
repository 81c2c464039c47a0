//! The object types of the API, `User` and `Post`, and the fields that lead from one to the
//! other. They form one graph (a user's posts, a post's author, a user's followers), so they
//! live together; the roots that start from them and the writes are in `user`, `post` and
//! `follow`. Every relation field is thin: it names the relation's loaders and lets
//! `connection` build the page, batched with every other parent's.

use std::sync::Arc;

use async_graphql::{
    Context, ContextBase, ContextSelectionSet, Object, ResultExt, ScalarType, Value, ID,
};
use chrono::{DateTime, Utc};
use entity::{post, user};

use crate::db::page::Omit;
use crate::db::{posts, users};
use crate::error::AppError;
use crate::graphql::connection::{
    page_complexity, relation_connection, Connection, ListArgs, Node,
};
use crate::graphql::context::{loaders, viewer};
use crate::graphql::filter::{PostFilterInput, UserFilterInput};
use crate::graphql::json;
use crate::graphql::limits::counted;
use crate::graphql::order::{PostOrder, UserOrder};
use crate::graphql::resolve::{write_answer, PlainFields, Resolved, ResolvedBoxed};

/// Text fields cost by what they can return (other fields cost 1): a name holds up to 1000
/// characters, a post's content has no bound but the request size.
const TEXT_COST_NAME: usize = 2;
const TEXT_COST_CONTENT: usize = 20;

/// A person who writes posts and follows other people.
#[derive(Clone)]
pub struct User(pub Arc<user::Model>, Audience);

/// Whom a user's private fields (the email) are shown to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// To the viewer if they are this user or an admin.
    Viewer,
    /// To whoever asks: the user just proved who they are in this request (signing up or
    /// logging in), before a token stood for them.
    Themselves,
}

impl User {
    pub fn new(row: user::Model) -> Self {
        User(Arc::new(row), Audience::Viewer)
    }

    /// The user who just signed up or logged in, shown as to themselves.
    pub fn as_themselves(row: user::Model) -> Self {
        User(Arc::new(row), Audience::Themselves)
    }
}

impl Node for User {
    const NAME: &'static str = "User";
    type Row = user::Model;

    fn from_row(row: Arc<user::Model>) -> Self {
        User(row, Audience::Viewer)
    }

    fn omit(_reads: &dyn Fn(&str) -> bool) -> Omit {
        users::OMIT_FOLDED_NAME
    }
}

impl User {
    /// Whether the viewer may read this user's email.
    fn email_shown<C>(&self, ctx: &ContextBase<'_, C>) -> bool {
        self.1 == Audience::Themselves
            || viewer(ctx).is_some_and(|viewer| viewer.may_see_email_of(self.0.id))
    }
}

/// The fields of `User` below that only read the row, answered the same way.
impl PlainFields for User {
    const PLAIN: &'static [&'static str] = &["id", "name", "email", "createdAt"];

    fn plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
    ) -> Option<async_graphql::Result<Value>> {
        Some(match name {
            "id" => Ok(id_value(self.0.id)),
            "name" => text_value(ctx, &self.0.name),
            "email" if self.email_shown(ctx) => text_value(ctx, &self.0.email),
            "email" => Ok(Value::Null),
            "createdAt" => Ok(self.0.created_at.to_value()),
            _ => return None,
        })
    }

    fn write_plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
        out: &mut Vec<u8>,
    ) -> Option<async_graphql::Result<()>> {
        Some(match name {
            "id" => {
                write_id(out, self.0.id);
                Ok(())
            }
            "name" => write_text(ctx, &self.0.name, out),
            "email" if self.email_shown(ctx) => write_text(ctx, &self.0.email, out),
            _ => write_answer(self.plain_field(ctx, name)?, out),
        })
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID::from(self.0.id)
    }

    /// Not empty, at most 1000 characters.
    #[graphql(complexity = "TEXT_COST_NAME")]
    async fn name(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        counted(ctx, &self.0.name).extend()
    }

    /// Unique across users; stored in lower case. Private: null unless the viewer is this
    /// user or an admin.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        if self.email_shown(ctx) {
            counted(ctx, &self.0.email).map(Some).extend()
        } else {
            Ok(None)
        }
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// This user's posts, oldest first. Batched: one statement for all the users of a page.
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
        let relation = &loaders(ctx).extend()?.posts_by_author;
        let mut posts: ResolvedBoxed<Connection<Post>> =
            relation_connection(ctx, relation, self.0.id, list).await?;
        // Their author is this user, in hand: `author` needs no lookup.
        posts
            .0
            .for_each_node(|post| post.author = Some(Arc::clone(&self.0)));
        Ok(posts)
    }

    /// How many posts this user has written. Batched like `posts`.
    async fn post_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let relation = &loaders(ctx).extend()?.posts_by_author;
        relation.count(self.0.id).await.extend()
    }

    /// The users who follow this user, newest follow first. Batched like `posts`.
    #[graphql(
        complexity = "page_complexity(first, last, child_complexity) + UserFilterInput::cost(&filter)"
    )]
    async fn followers(
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
            desc = "Fields to sort by, in order of precedence; ties are broken by id. Default: newest follow first (`FOLLOWED_AT`, descending)."
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
        let relation = &loaders(ctx).extend()?.followers;
        relation_connection(ctx, relation, self.0.id, list).await
    }

    /// How many users follow this user. Batched like `posts`.
    async fn follower_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let relation = &loaders(ctx).extend()?.followers;
        relation.count(self.0.id).await.extend()
    }

    /// The users this user follows, newest follow first. Batched like `posts`.
    #[graphql(
        complexity = "page_complexity(first, last, child_complexity) + UserFilterInput::cost(&filter)"
    )]
    async fn following(
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
            desc = "Fields to sort by, in order of precedence; ties are broken by id. Default: newest follow first (`FOLLOWED_AT`, descending)."
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
        let relation = &loaders(ctx).extend()?.following;
        relation_connection(ctx, relation, self.0.id, list).await
    }

    /// How many users this user follows. Batched like `posts`.
    async fn following_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let relation = &loaders(ctx).extend()?.following;
        relation.count(self.0.id).await.extend()
    }

    /// The posts of the users this user follows, newest first. One statement for the feeds of
    /// all the users of a page.
    #[graphql(
        complexity = "page_complexity(first, last, child_complexity) + PostFilterInput::cost(&filter)"
    )]
    async fn feed(
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
            desc = "Fields to sort by, in order of precedence; ties are broken by id. Default: newest first (`CREATED_AT`, descending)."
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
        let relation = &loaders(ctx).extend()?.feed;
        relation_connection(ctx, relation, self.0.id, list).await
    }
}

/// A blog post. It always has an author.
#[derive(Clone)]
pub struct Post {
    row: Arc<post::Model>,
    /// The author, when whoever made this node had them in hand (a user's own posts).
    author: Option<Arc<user::Model>>,
}

impl Post {
    pub fn new(row: post::Model) -> Self {
        Post::from_row(Arc::new(row))
    }
}

impl Node for Post {
    const NAME: &'static str = "Post";
    type Row = post::Model;

    fn from_row(row: Arc<post::Model>) -> Self {
        Post { row, author: None }
    }

    const OWNER_FIELD: Option<&'static str> = Some("author");

    fn owner_of(post: &post::Model) -> Option<i32> {
        Some(post.author_id)
    }

    fn omit(reads: &dyn Fn(&str) -> bool) -> Omit {
        posts::omit_unread(|column| match column {
            post::Column::Content => reads("content"),
            post::Column::CreatedAt => reads("createdAt"),
            post::Column::UpdatedAt => reads("updatedAt"),
            // Only filters read it.
            post::Column::TitleFolded => false,
            _ => true,
        })
    }
}

/// The fields of `Post` below that only read the row, answered the same way.
impl PlainFields for Post {
    const PLAIN: &'static [&'static str] = &["id", "title", "content", "createdAt", "updatedAt"];

    fn plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
    ) -> Option<async_graphql::Result<Value>> {
        Some(match name {
            "id" => Ok(id_value(self.row.id)),
            "title" => text_value(ctx, &self.row.title),
            "content" => text_value(ctx, &self.row.content),
            "createdAt" => Ok(self.row.created_at.to_value()),
            "updatedAt" => Ok(self.row.updated_at.to_value()),
            _ => return None,
        })
    }

    fn write_plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
        out: &mut Vec<u8>,
    ) -> Option<async_graphql::Result<()>> {
        Some(match name {
            "id" => {
                write_id(out, self.row.id);
                Ok(())
            }
            "title" => write_text(ctx, &self.row.title, out),
            "content" => write_text(ctx, &self.row.content, out),
            _ => write_answer(self.plain_field(ctx, name)?, out),
        })
    }
}

/// An `ID` field's value, as `ID`'s resolver gives it.
fn id_value(id: i32) -> Value {
    Value::String(id.to_string())
}

/// Writes an `ID` field as `id_value` gives it: the number, as a JSON string.
fn write_id(out: &mut Vec<u8>, id: i32) {
    out.push(b'"');
    out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    out.push(b'"');
}

/// Writes a text field as `text_value` gives it, counted against the response budget.
fn write_text<C>(
    ctx: &ContextBase<'_, C>,
    text: &str,
    out: &mut Vec<u8>,
) -> async_graphql::Result<()> {
    let text = counted(ctx, text).extend()?;
    Ok(json::write_str(out, text)?)
}

/// A text field's value, counted against the response budget as `counted` does.
fn text_value<C>(ctx: &ContextBase<'_, C>, text: &str) -> async_graphql::Result<Value> {
    counted(ctx, text)
        .map(|text| Value::String(text.to_owned()))
        .extend()
}

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ID::from(self.row.id)
    }

    /// Unique across all posts.
    async fn title(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        counted(ctx, &self.row.title).extend()
    }

    /// The post's text; it may be long.
    #[graphql(complexity = "TEXT_COST_CONTENT")]
    async fn content(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        counted(ctx, &self.row.content).extend()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }

    /// Who wrote the post. Batched: one statement for all the posts of a response, none when
    /// the author was already loaded.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Resolved<User>> {
        if let Some(author) = &self.author {
            return Ok(Resolved(User(Arc::clone(author), Audience::Viewer)));
        }
        let author_id = self.row.author_id;
        let author = loaders(ctx)
            .extend()?
            .user_by_id
            .load_one(author_id)
            .await
            .extend()?
            // The foreign key makes this impossible; if it happens, it is our bug, not the
            // client's.
            .ok_or_else(|| {
                AppError::Internal(format!("post {} has no author {author_id}", self.row.id))
            })
            .extend()?;
        Ok(Resolved(User(author, Audience::Viewer)))
    }
}
