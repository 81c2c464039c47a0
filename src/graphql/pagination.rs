//! Relay-style cursor connections shared by every list: `edges { cursor node }`, `nodes`,
//! `pageInfo`, and a `totalCount` that is only computed when selected.
//!
//! Lists are ordered by id, so a cursor is an id, base64-encoded to keep it opaque: clients must
//! not build cursors, and we stay free to change what is inside.

use std::borrow::Cow;

use async_graphql::{Context, Object, OutputType, ResultExt, SimpleObject, TypeName};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{AppError, AppResult};
use crate::graphql::{post, user};

/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest `first` accepted; more is a `BAD_USER_INPUT` error, not a silent clamp.
pub const MAX_PAGE_SIZE: u64 = 100;

const CURSOR_PREFIX: &str = "c1:";

/// A validated `first`/`after` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageArgs {
    /// How many rows the page holds at most.
    pub limit: u64,
    /// Only rows with an id greater than this one.
    pub after: Option<i32>,
}

impl PageArgs {
    pub fn parse(first: Option<i32>, after: Option<&str>) -> AppResult<Self> {
        let limit = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(first) if first < 0 => {
                return Err(AppError::invalid("first", "must not be negative"));
            }
            Some(first) if first as u64 > MAX_PAGE_SIZE => {
                return Err(AppError::invalid(
                    "first",
                    format!("must be at most {MAX_PAGE_SIZE}"),
                ));
            }
            Some(first) => first as u64,
        };
        let after = after.map(decode_cursor).transpose()?;
        Ok(PageArgs { limit, after })
    }
}

pub fn encode_cursor(id: i32) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

pub fn decode_cursor(cursor: &str) -> AppResult<i32> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(CURSOR_PREFIX)?.parse().ok())
        .ok_or_else(|| AppError::invalid("after", "not a valid cursor"))
}

/// The cost of a page for `--max-complexity`: its fields count once per node it may hold, so
/// `users(first: 100) { posts(first: 100) { ... } }` costs what it returns, not its text length.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let nodes = first.map_or(DEFAULT_PAGE_SIZE, |first| {
        first.clamp(1, MAX_PAGE_SIZE as i32) as u64
    });
    (nodes as usize).saturating_mul(child_complexity.max(1))
}

/// Rows of one page, fetched with one extra row to learn whether there is a next page.
pub fn split_page<T>(mut rows: Vec<T>, limit: u64) -> (Vec<T>, bool) {
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    (rows, has_next_page)
}

/// A type that can stand in a connection: it has an id (the cursor) and a GraphQL name.
pub trait Node: OutputType + Clone {
    const NAME: &'static str;
    fn id(&self) -> i32;
}

/// Where a connection's `totalCount` comes from, resolved only when the field is selected.
#[derive(Debug, Clone, Copy)]
pub enum TotalCount {
    AllUsers,
    AllPosts,
    PostsByAuthor(i32),
}

pub struct Connection<N> {
    nodes: Vec<N>,
    has_next_page: bool,
    has_previous_page: bool,
    total: TotalCount,
}

impl<N: Node> Connection<N> {
    pub fn new(nodes: Vec<N>, has_next_page: bool, args: &PageArgs, total: TotalCount) -> Self {
        Connection {
            nodes,
            has_next_page,
            // Forward pagination only: there is something before the page iff we started
            // after a cursor.
            has_previous_page: args.after.is_some(),
            total,
        }
    }
}

impl<N: Node> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::NAME).into()
    }
}

#[Object(name_type)]
impl<N: Node> Connection<N> {
    /// The page, with each node's cursor.
    async fn edges(&self) -> Vec<Edge<N>> {
        self.nodes
            .iter()
            .map(|node| Edge { node: node.clone() })
            .collect()
    }

    /// The page's nodes, for clients that need no cursors.
    async fn nodes(&self) -> &[N] {
        &self.nodes
    }

    /// Where this page stands in the whole list.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.nodes.first().map(|node| encode_cursor(node.id())),
            end_cursor: self.nodes.last().map(|node| encode_cursor(node.id())),
        }
    }

    /// How many items the whole list holds, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        match self.total {
            TotalCount::AllUsers => user::count_users(ctx).await,
            TotalCount::AllPosts => post::count_posts(ctx).await,
            TotalCount::PostsByAuthor(author_id) => {
                post::count_posts_by_author(ctx, author_id).await
            }
        }
        .extend()
    }
}

pub struct Edge<N> {
    node: N,
}

impl<N: Node> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::NAME).into()
    }
}

#[Object(name_type)]
impl<N: Node> Edge<N> {
    /// Opaque position of this node; pass it as `after` to get the nodes that follow.
    async fn cursor(&self) -> String {
        encode_cursor(self.node.id())
    }

    async fn node(&self) -> &N {
        &self.node
    }
}

/// Relay's page information.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether more nodes follow this page.
    has_next_page: bool,
    /// Whether nodes precede this page (true when the page started after a cursor).
    has_previous_page: bool,
    /// Cursor of the first node of the page, if any.
    start_cursor: Option<String>,
    /// Cursor of the last node of the page; pass it as `after` for the next page.
    end_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).ok(), Some(42));
        for bad in ["", "42", "!!!", &URL_SAFE_NO_PAD.encode("c1:x")] {
            assert!(decode_cursor(bad).is_err(), "case {bad:?}");
        }
    }

    #[test]
    fn page_size_is_defaulted_and_bounded() {
        let cases = [
            (None, Some(DEFAULT_PAGE_SIZE)),
            (Some(0), Some(0)),
            (Some(100), Some(100)),
            (Some(101), None),
            (Some(-1), None),
        ];
        for (first, expected) in cases {
            let got = PageArgs::parse(first, None).ok().map(|args| args.limit);
            assert_eq!(got, expected, "case first={first:?}");
        }
    }

    #[test]
    fn split_page_reports_the_extra_row() {
        assert_eq!(split_page(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(split_page(vec![1, 2], 2), (vec![1, 2], false));
    }
}
