//! Relay-style cursor connections, one generic type for every list: `edges { cursor node }`,
//! `nodes`, `pageInfo`, and a `totalCount` that is only counted when selected. The two ways to
//! fill one, `root_connection` and `relation_connection`, are all a list field's resolver
//! calls; pages come from the one page builder (`db::page`), directly for a root list and
//! through the relation's loaders for a relation.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{Field, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{
    ContainerType, Context, ContextSelectionSet, Enum, Name, Object, Positioned, ResultExt,
    SimpleObject, TypeName, Value,
};

use crate::db::by_id::HasId;
use crate::db::page::{
    any_beyond, count_all, load_page, Cursor, Direction, FromColumns, List, ListFilter, Omit, Page,
    PageArgs, PageRequest, Row, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use crate::error::AppError;
use crate::graphql::context::{loaders, reads};
use crate::graphql::resolve::{PlainFields, Resolved, ResolvedBoxed, ResolvedList, ResolvedVec};
use crate::loaders::{PageExtras, Primed, RelationLoaders};

/// A type that can stand in a connection: a GraphQL object wrapping one row.
pub trait Node: ContainerType + PlainFields + Clone + Send + Sync + 'static {
    /// The GraphQL name; the connection is `<NAME>Connection`.
    const NAME: &'static str;
    type Row;
    fn from_row(row: Arc<Self::Row>) -> Self;

    /// The field that leads from a node to the user it cannot exist without (a post's
    /// `author`), if any; see `owner_of`.
    const OWNER_FIELD: Option<&'static str> = None;

    /// The id of the user a row cannot exist without. A page read just before that user was
    /// deleted (taking the row with them) may still hold the row while the user is gone by the
    /// time `OWNER_FIELD` is read: such rows are left out of the page, rather than answering a
    /// non-null field with an error that nulls the whole response.
    fn owner_of(_row: &Self::Row) -> Option<i32> {
        None
    }

    /// The columns a page of these nodes may leave out, given what the connection's selection
    /// reads of its nodes (`nodes { ... }`, `edges { node { ... } }`).
    fn omit(_reads: &dyn Fn(&str) -> bool) -> Omit {
        Omit::NOTHING
    }
}

/// The direction of one field of an order.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    /// Smallest, oldest or first in the alphabet first.
    Asc,
    /// Largest, newest or last in the alphabet first.
    Desc,
}

impl From<OrderDirection> for Direction {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => Direction::Asc,
            OrderDirection::Desc => Direction::Desc,
        }
    }
}

/// The arguments every list field takes: Relay's `first`/`after` (forwards) or
/// `last`/`before` (backwards), and an order (API field names with directions).
#[derive(Debug, Default)]
pub struct ListArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub order_by: Vec<(&'static str, Direction)>,
    pub filter: Option<ListFilter>,
}

/// What a connection's page needs to read: the list arguments, only the columns its nodes'
/// selection reads, and what it selects besides the page (`PageExtras`).
fn page_args<L: List, N: Node>(
    ctx: &Context<'_>,
    list: &ListArgs,
) -> crate::error::AppResult<(PageArgs, PageExtras)> {
    let mut args = PageArgs::parse::<L>(PageRequest {
        first: list.first,
        after: list.after.as_deref(),
        last: list.last,
        before: list.before.as_deref(),
        order_by: &list.order_by,
        filter: list.filter.as_ref(),
    })?;
    let selected = Selected::of(ctx);
    args.omit = N::omit(&|field| selected.node_fields.contains(&field));
    args.cursors = selected.cursors;
    // `totalCount`, and the `pageInfo` flag the page's own statement cannot tell
    // (`hasPreviousPage` forwards, `hasNextPage` backwards), which needs a cursor to be
    // anything but false.
    let beyond = if args.backward {
        selected.has_next_page
    } else {
        selected.has_previous_page
    };
    let extras = PageExtras {
        count: selected.total_count,
        beyond: args.cursor.is_some() && beyond,
    };
    Ok((args, extras))
}

/// What the connection being resolved selects, found in one walk of its selection: fragments
/// spread, type conditions and directives not looked at, as async-graphql's look-ahead does
/// (which took an allocation for every name looked up, a dozen for each connection).
#[derive(Default)]
struct Selected<'a> {
    /// The fields of `nodes { ... }` and `edges { node { ... } }`.
    node_fields: Vec<&'a str>,
    /// `edges { cursor }`, `pageInfo { startCursor }` or `pageInfo { endCursor }`.
    cursors: bool,
    total_count: bool,
    has_previous_page: bool,
    has_next_page: bool,
}

impl<'a> Selected<'a> {
    fn of(ctx: &Context<'a>) -> Self {
        let fragments = &ctx.query_env.fragments;
        let mut selected = Selected::default();
        each_field(
            fragments,
            &ctx.item.node,
            &mut |field| match field.name.node.as_str() {
                "nodes" => selected.add_node_fields(fragments, field),
                "edges" => each_field(
                    fragments,
                    field,
                    &mut |edge| match edge.name.node.as_str() {
                        "node" => selected.add_node_fields(fragments, edge),
                        "cursor" => selected.cursors = true,
                        _ => {}
                    },
                ),
                "pageInfo" => each_field(
                    fragments,
                    field,
                    &mut |info| match info.name.node.as_str() {
                        "startCursor" | "endCursor" => selected.cursors = true,
                        "hasPreviousPage" => selected.has_previous_page = true,
                        "hasNextPage" => selected.has_next_page = true,
                        _ => {}
                    },
                ),
                "totalCount" => selected.total_count = true,
                _ => {}
            },
        );
        selected
    }

    fn add_node_fields(&mut self, fragments: &'a Fragments, node: &'a Field) {
        each_field(fragments, node, &mut |field| {
            self.node_fields.push(field.name.node.as_str())
        });
    }
}

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Calls `visit` with each field `parent` selects, fragments spread.
fn each_field<'a>(fragments: &'a Fragments, parent: &'a Field, visit: &mut dyn FnMut(&'a Field)) {
    spread(fragments, &parent.selection_set.node, visit);
}

fn spread<'a>(fragments: &'a Fragments, set: &'a SelectionSet, visit: &mut dyn FnMut(&'a Field)) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => visit(&field.node),
            Selection::InlineFragment(fragment) => {
                spread(fragments, &fragment.node.selection_set.node, visit)
            }
            Selection::FragmentSpread(fragment) => {
                if let Some(fragment) = fragments.get(&fragment.node.fragment_name.node) {
                    spread(fragments, &fragment.node.selection_set.node, visit)
                }
            }
        }
    }
}

/// What a list field costs for `--max-complexity` on top of its nodes, like any field. Its
/// statements are batched across parents, so a nested list costs little more than its nodes.
pub const LIST_COST: usize = 1;

/// The cost of a page for `--max-complexity`: `LIST_COST`, plus the fields under `nodes` and
/// `edges` once per node the page may hold, so `users(first: 100) { posts(first: 100) { ... } }`
/// costs what it may return, not its text length. `totalCount` and `pageInfo` cost nothing
/// inside (`LIST_COST` stands for their statement): they are not multiplied by the page size.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let nodes = first.or(last).map_or(DEFAULT_PAGE_SIZE, |size| {
        size.clamp(0, MAX_PAGE_SIZE as i32) as u64
    });
    LIST_COST.saturating_add((nodes as usize).saturating_mul(child_complexity))
}

/// A page of the root list `L`, with its count when `totalCount` is selected, and whether rows
/// lie beyond its cursor when `pageInfo` asks. Its rows prime their by-id cache.
pub async fn root_connection<L, N>(
    ctx: &Context<'_>,
    list: ListArgs,
) -> async_graphql::Result<ResolvedBoxed<Connection<N>>>
where
    L: List,
    L::Entity: HasId + Primed,
    Row<L>: FromColumns + Clone + Send + Sync + 'static,
    N: Node<Row = Row<L>>,
{
    let (args, extras) = page_args::<L, N>(ctx, &list).extend()?;
    let db = reads(ctx).extend()?;
    let (page, total_count, beyond) = futures_util::join!(
        load_page::<L>(db, &args),
        async {
            if extras.count {
                count_all::<L>(db, args.filter.as_ref()).await.map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            if extras.beyond {
                any_beyond::<L>(db, &args).await
            } else {
                Ok(false)
            }
        }
    );
    let mut page = page.extend()?;
    page.set_beyond(&args, beyond.extend()?);
    prime::<L::Entity>(ctx, &page.rows).await;
    let page = without_vanished_owners::<N>(ctx, page, None)
        .await
        .extend()?;
    Ok(ResolvedBoxed(Connection::new(page, total_count.extend()?)))
}

/// `parent`'s page of the relation whose loaders are `relation`, with its count when
/// `totalCount` is selected; batched with every other parent's. Its rows prime their by-id
/// cache.
pub async fn relation_connection<L, N>(
    ctx: &Context<'_>,
    relation: &RelationLoaders<L>,
    parent: i32,
    list: ListArgs,
) -> async_graphql::Result<ResolvedBoxed<Connection<N>>>
where
    L: List,
    L::Entity: HasId + Primed,
    Row<L>: FromColumns + Clone + Send + Sync + 'static,
    N: Node<Row = Row<L>>,
{
    // Boxed: every field of an object is resolved in a future as large as the object's largest
    // resolver (see `resolve`), and this one would make each of a user's fields several KiB.
    Box::pin(async move {
        let (args, extras) = page_args::<L, N>(ctx, &list).extend()?;
        let (page, total_count) = relation.page(parent, args, extras).await.extend()?;
        prime::<L::Entity>(ctx, &page.rows).await;
        let page = without_vanished_owners::<N>(ctx, page, Some(parent))
            .await
            .extend()?;
        Ok(ResolvedBoxed(Connection::new(page, total_count)))
    })
    .await
}

/// `page` without the rows whose owner (`Node::owner_of`) is gone, when the selection reads the
/// owner: the owners are loaded here, batched like the field would load them (and cached for
/// it), so the check costs no statement of its own. Rows owned by the `parent` they were read
/// for need no check: every relation hangs off a user, and that user is in hand.
async fn without_vanished_owners<N: Node>(
    ctx: &Context<'_>,
    mut page: Page<N::Row>,
    parent: Option<i32>,
) -> crate::error::AppResult<Page<N::Row>> {
    let Some(field) = N::OWNER_FIELD else {
        return Ok(page);
    };
    if parent.is_some() && page.rows.iter().all(|row| N::owner_of(row) == parent) {
        return Ok(page);
    }
    let look_ahead = ctx.look_ahead();
    let reads_owner = look_ahead.field("nodes").field(field).exists()
        || look_ahead
            .field("edges")
            .field("node")
            .field(field)
            .exists();
    if !reads_owner {
        return Ok(page);
    }
    let owners: Vec<i32> = page
        .rows
        .iter()
        .filter_map(|row| N::owner_of(row))
        .collect();
    let found = loaders(ctx)?.user_by_id.load_many(owners).await?;
    let present =
        |row: &Arc<N::Row>| N::owner_of(row).is_none_or(|owner| found.contains_key(&owner));
    if page.rows.iter().all(present) {
        return Ok(page);
    }
    (page.rows, page.cursors) = page
        .rows
        .into_iter()
        .zip(page.cursors)
        .filter(|(row, _)| present(row))
        .unzip();
    Ok(page)
}

/// Puts rows in hand into their by-id cache, for tables worth it (`Primed`).
async fn prime<E: HasId + Primed>(ctx: &Context<'_>, rows: &[Arc<E::Model>])
where
    E::Model: FromColumns + Clone + Send + Sync + 'static,
{
    let Ok(loaders) = loaders(ctx) else {
        return;
    };
    if let Some(by_id) = E::by_id(loaders) {
        by_id
            .feed_many(rows.iter().map(|row| (E::id_of(row), Arc::clone(row))))
            .await;
    }
}

pub struct Connection<N> {
    nodes: Vec<N>,
    cursors: Vec<Cursor>,
    has_next_page: bool,
    has_previous_page: bool,
    /// Counted when the request selects `totalCount` (see `wants_total_count`).
    total_count: Option<u64>,
}

impl<N: Node> Connection<N> {
    /// Changes each node, e.g. to hand it what the caller knows of it.
    pub fn for_each_node(&mut self, change: impl FnMut(&mut N)) {
        self.nodes.iter_mut().for_each(change);
    }

    fn new(page: Page<N::Row>, total_count: Option<u64>) -> Self {
        Connection {
            nodes: page.rows.into_iter().map(N::from_row).collect(),
            cursors: page.cursors,
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            total_count,
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
    async fn edges(&self) -> ResolvedVec<Edge<'_, N>> {
        ResolvedVec(
            self.nodes
                .iter()
                .zip(&self.cursors)
                .map(|(node, cursor)| Edge { node, cursor })
                .collect(),
        )
    }

    /// The page's nodes, for clients that need no cursors.
    async fn nodes(&self) -> ResolvedList<'_, N> {
        ResolvedList(&self.nodes)
    }

    /// Where this page stands in the whole list.
    #[graphql(complexity = 0)]
    async fn page_info(&self) -> Resolved<PageInfo> {
        Resolved(PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.cursors.first().map(Cursor::encode),
            end_cursor: self.cursors.last().map(Cursor::encode),
        })
    }

    /// How many items the whole list holds, across all pages.
    #[graphql(complexity = 0)]
    async fn total_count(&self) -> async_graphql::Result<u64> {
        // Always counted when selected: look-ahead sees through aliases and fragments.
        self.total_count
            .ok_or_else(|| AppError::Internal("totalCount was not counted".into()))
            .extend()
    }
}

impl<N: Node> PlainFields for Connection<N> {
    const PLAIN: &'static [&'static str] = &["totalCount"];

    fn plain_field(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        name: &str,
    ) -> Option<async_graphql::Result<Value>> {
        match name {
            "totalCount" => Some(
                self.total_count
                    .map(Value::from)
                    .ok_or_else(|| AppError::Internal("totalCount was not counted".into()))
                    .extend(),
            ),
            _ => None,
        }
    }
}

pub struct Edge<'a, N> {
    node: &'a N,
    cursor: &'a Cursor,
}

impl<N: Node> TypeName for Edge<'_, N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::NAME).into()
    }
}

#[Object(name_type)]
impl<N: Node> Edge<'_, N> {
    /// Opaque position of this node: pass it as `after` for the nodes that follow it, or as
    /// `before` for those that precede it. It belongs to this list and this order.
    async fn cursor(&self) -> String {
        self.cursor.encode()
    }

    async fn node(&self) -> Resolved<&N> {
        Resolved(self.node)
    }
}

impl<N: Node> PlainFields for Edge<'_, N> {
    const PLAIN: &'static [&'static str] = &["cursor"];

    fn plain_field(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        name: &str,
    ) -> Option<async_graphql::Result<Value>> {
        match name {
            "cursor" => Some(Ok(Value::String(self.cursor.encode()))),
            _ => None,
        }
    }
}

/// Relay's page information.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether more nodes follow this page (asked for with `last`/`before`, it costs one
    /// more statement).
    has_next_page: bool,
    /// Whether nodes precede this page (asked for with `first`/`after`, it costs one more
    /// statement).
    has_previous_page: bool,
    /// Cursor of the first node of the page, if any; pass it as `before` for the previous page.
    start_cursor: Option<String>,
    /// Cursor of the last node of the page; pass it as `after` for the next page.
    end_cursor: Option<String>,
}

impl PlainFields for PageInfo {
    const PLAIN: &'static [&'static str] =
        &["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"];

    fn plain_field(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        name: &str,
    ) -> Option<async_graphql::Result<Value>> {
        let cursor = |cursor: &Option<String>| cursor.clone().map_or(Value::Null, Value::String);
        Some(Ok(match name {
            "hasNextPage" => Value::Boolean(self.has_next_page),
            "hasPreviousPage" => Value::Boolean(self.has_previous_page),
            "startCursor" => cursor(&self.start_cursor),
            "endCursor" => cursor(&self.end_cursor),
            _ => return None,
        }))
    }
}
