//! The one page builder. Every list of the API, the root lists (`users`, `posts`) and every
//! relation (a user's posts, followers, following, feed), is a `ListDef`: the rows it holds,
//! how a relation reaches them from its parent, and the orders it offers. From that description
//! alone this module builds the SQL for
//! - one page of a root list: `WHERE <beyond the cursor> ORDER BY <keys> LIMIT n + 1`, forwards
//!   (`first`/`after`) or backwards (`last`/`before`: the order reversed, the rows turned back);
//! - the pages of many parents at once, one statement: on PostgreSQL one `LIMIT`ed `JOIN
//!   LATERAL` subquery per parent, elsewhere `ROW_NUMBER() OVER (PARTITION BY <parent>)`;
//!   on PostgreSQL a page comes back as one row of arrays, a column each (`columnar`);
//! - the count of a root list, or the counts of many parents (`GROUP BY <parent>`);
//! - whether rows lie on the far side of a cursor (the page's other `has...Page`);
//!
//! and it encodes and checks cursors (`cursor`), which name their list and order (`order`). It
//! knows nothing of users or posts: the descriptions live with their tables' queries
//! (`db::users`, `db::posts`, `db::follows`).

mod columnar;
mod columns;
mod cursor;
mod order;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::sea_query::{
    Alias, Asterisk, ColumnRef, Condition, DynIden, Expr, ExprTrait, Func, IntoColumnRef, IntoIden,
    JoinType, Order, Query, SelectStatement, SimpleExpr, Values, WindowStatement,
};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, Iterable, QueryResult, QuerySelect,
    QueryTrait, Statement, Value,
};

pub use columns::{Columns, FromColumns};
pub use cursor::Cursor;
use cursor::KeyValue;
use order::Key;
pub use order::{Direction, KeyKind, OrderSpec, Orders, SortField, MAX_KEYS};

use crate::db::statements::{built_once, Shape};
use crate::error::{AppError, AppResult};

/// Page size when `first` (or `last`) is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest `first` (or `last`) accepted; more is a `BAD_USER_INPUT` error, not a silent clamp.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A list of `Entity` rows as the API offers it: one type per list, so that loaders can be
/// generic over it.
pub trait List: Send + Sync + 'static {
    type Entity: Omittable;

    /// The description; built once (a `LazyLock`), it is read on every page.
    fn def() -> &'static ListDef;
}

/// The rows of a list's entity.
pub type Row<L> = <<L as List>::Entity as EntityTrait>::Model;

/// A table whose rows a page may read without some columns, when nobody reads them: each left
/// out column is read as a placeholder of its type instead (`''`), so the row still decodes.
/// Long text is where this pays: a page of posts for titles need not carry their contents.
pub trait Omittable: EntityTrait {
    /// The columns that may be left out, each with its placeholder; `Omit` numbers them in
    /// this order.
    fn omittable() -> Vec<(Self::Column, SimpleExpr)>;
}

/// Which of a table's `Omittable::omittable` columns a page leaves out: bit `i` for the `i`th.
/// Part of the page's arguments, so a page read without a column is never served to a field
/// that reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Omit(u32);

impl Omit {
    pub const NOTHING: Omit = Omit(0);

    /// These columns too: the `index`th of `omittable()`.
    pub const fn and(self, index: usize) -> Omit {
        Omit(self.0 | 1 << index)
    }

    pub(super) fn omits(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }
}

/// What the page builder needs to know of a list.
#[derive(Debug)]
pub struct ListDef {
    /// Names the list in its cursors: a cursor of one list is refused by every other.
    pub name: &'static str,
    /// How a relation reaches its rows from a parent's id; `None` for a root list.
    pub parent: Option<Parent>,
    pub orders: Orders,
}

/// How a relation's rows are found from their parent's id.
#[derive(Debug)]
pub struct Parent {
    /// The column that holds the parent's id: `posts.author_id`, or a link table's column.
    column: ColumnRef,
    /// The link table joined to reach the rows, if any.
    link: Option<Link>,
}

/// `JOIN table ON column = node`.
#[derive(Debug)]
struct Link {
    table: DynIden,
    column: ColumnRef,
    node: ColumnRef,
}

impl Parent {
    /// The rows hold their parent's id in `column`: `posts.author_id`.
    pub fn column(column: impl IntoColumnRef) -> Self {
        Parent {
            column: column.into_column_ref(),
            link: None,
        }
    }

    /// A link table joins parents to rows: `table.parent` holds the parent's id, and
    /// `table.link` equals the rows' `node` column (`follows.follower_id = users.id`).
    pub fn through(
        table: impl IntoIden,
        parent: impl IntoColumnRef,
        link: impl IntoColumnRef,
        node: impl IntoColumnRef,
    ) -> Self {
        Parent {
            column: parent.into_column_ref(),
            link: Some(Link {
                table: table.into_iden(),
                column: link.into_column_ref(),
                node: node.into_column_ref(),
            }),
        }
    }
}

/// A list's filter as the page builder applies it: the condition its rows must meet, and a
/// key naming it (equal filters have equal keys) for loader caches and batches. Built by
/// `db::filters`.
#[derive(Debug, Clone)]
pub struct ListFilter {
    key: Arc<str>,
    condition: Arc<Condition>,
}

impl ListFilter {
    pub fn new(key: String, condition: Condition) -> Self {
        ListFilter {
            key: key.into(),
            condition: Arc::new(condition),
        }
    }

    fn condition(&self) -> Condition {
        Condition::clone(&self.condition)
    }
}

impl PartialEq for ListFilter {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for ListFilter {}

impl std::hash::Hash for ListFilter {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

/// What a client asks of one list: Relay's `first`/`after` or `last`/`before`, an order
/// (field names and directions; empty for the list's default), and a filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest<'a> {
    pub first: Option<i32>,
    pub after: Option<&'a str>,
    pub last: Option<i32>,
    pub before: Option<&'a str>,
    pub order_by: &'a [(&'a str, Direction)],
    pub filter: Option<&'a ListFilter>,
}

/// A validated page request of one list, the same for root lists and relations; and which
/// columns nobody will read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageArgs {
    /// How many rows the page holds at most.
    pub limit: u64,
    /// The page starts after this position (forwards), or ends before it (backwards).
    pub cursor: Option<Cursor>,
    /// `last`/`before`: the page is the end of the list, or what precedes the cursor.
    pub backward: bool,
    pub order: OrderSpec,
    /// Only rows that pass it.
    pub filter: Option<ListFilter>,
    /// Columns read as placeholders (see `Omittable`).
    pub omit: Omit,
    /// Whether the rows' cursors are wanted. Without, each row's sort keys are left unread
    /// and its cursor holds none: most pages are read for their nodes only, and the keys were
    /// a fifth of the cost of reading a row.
    pub cursors: bool,
}

fn page_size(field: &str, size: Option<i32>) -> AppResult<u64> {
    match size {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(size) if size < 0 => Err(AppError::invalid(field, "must not be negative")),
        Some(size) if size as u64 > MAX_PAGE_SIZE => Err(AppError::invalid(
            field,
            format!("must be at most {MAX_PAGE_SIZE}"),
        )),
        Some(size) => Ok(size as u64),
    }
}

impl PageArgs {
    /// Checks a request for the list `L`: a page goes forwards (`first`, `after`) or
    /// backwards (`last`, `before`), never both ways at once; the order exists; the cursor
    /// belongs to this list and this order.
    pub fn parse<L: List>(request: PageRequest<'_>) -> AppResult<Self> {
        let def = L::def();
        let backward = request.last.is_some() || request.before.is_some();
        if backward && (request.first.is_some() || request.after.is_some()) {
            let field = if request.last.is_some() {
                "last"
            } else {
                "before"
            };
            return Err(AppError::invalid(
                field,
                "page forwards (first, after) or backwards (last, before), not both",
            ));
        }
        let (limit, cursor, field) = if backward {
            (page_size("last", request.last)?, request.before, "before")
        } else {
            (page_size("first", request.first)?, request.after, "after")
        };
        let order = def.orders.spec(request.order_by)?;
        let cursor = cursor
            .map(|text| {
                Cursor::decode(
                    def.name,
                    def.orders.name(&order),
                    &def.orders.kinds(&order),
                    field,
                    text,
                )
            })
            .transpose()?;
        Ok(PageArgs {
            limit,
            cursor,
            backward,
            order,
            filter: request.filter.cloned(),
            omit: Omit::NOTHING,
            cursors: true,
        })
    }
}

/// One page of a list, with each row's cursor. Rows are shared, not copied, by whoever holds
/// the page (a loader's cache, the connections and nodes built from it).
#[derive(Debug, Clone)]
pub struct Page<M> {
    pub rows: Vec<Arc<M>>,
    pub cursors: Vec<Cursor>,
    /// Whether rows follow the page. Known from the statement when paging forwards (it reads
    /// one row more); when paging backwards, only if the caller asked (`any_beyond`).
    pub has_next_page: bool,
    /// Whether rows precede the page; the mirror of `has_next_page`.
    pub has_previous_page: bool,
}

impl<M> Page<M> {
    fn empty() -> Self {
        Page {
            rows: Vec::new(),
            cursors: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
        }
    }

    /// Adds a row read with one extra (to learn whether more rows lie ahead in the direction
    /// of paging); rows past the limit only set that flag.
    fn push(&mut self, row: M, cursor: Cursor, args: &PageArgs) {
        if self.rows.len() as u64 >= args.limit {
            if args.backward {
                self.has_previous_page = true;
            } else {
                self.has_next_page = true;
            }
        } else {
            self.rows.push(Arc::new(row));
            self.cursors.push(cursor);
        }
    }

    /// A backward page was read from its end: turn it back into the list's order.
    fn finish(mut self, args: &PageArgs) -> Self {
        if args.backward {
            self.rows.reverse();
            self.cursors.reverse();
        }
        self
    }

    /// Records whether rows lie beyond the page's cursor (see `any_beyond`).
    pub fn set_beyond(&mut self, args: &PageArgs, beyond: bool) {
        if args.backward {
            self.has_next_page = beyond;
        } else {
            self.has_previous_page = beyond;
        }
    }
}

const PARENT_ALIAS: &str = "page_parent";
const ROW_NUMBER_ALIAS: &str = "page_row";
const COUNT_ALIAS: &str = "page_count";

/// The names under which a page statement returns its sort keys: static, as they are read for
/// every row of every page.
const KEY_ALIASES: [&str; MAX_KEYS] = [
    "page_key_0",
    "page_key_1",
    "page_key_2",
    "page_key_3",
    "page_key_4",
    "page_key_5",
    "page_key_6",
    "page_key_7",
];

fn key_alias(index: usize) -> &'static str {
    KEY_ALIASES[index.min(KEY_ALIASES.len() - 1)]
}

/// One page of the root list `L`.
pub async fn load_page<L: List>(
    db: &impl ConnectionTrait,
    args: &PageArgs,
) -> AppResult<Page<Row<L>>>
where
    Row<L>: FromColumns,
{
    let def = L::def();
    let keys = def.orders.keys(&args.order, args.backward);
    let statement = page_statement::<L>(db.get_database_backend(), args)?;
    let columnar = statement.db_backend == DbBackend::Postgres;
    let mut page = Page::empty();
    let order = def.orders.name(&args.order).into();
    for row in db.query_all_raw(statement).await? {
        if columnar {
            read_columns::<L>(&row, 0, (&order, &keys, args), &mut page)?;
        } else {
            let columns = Columns::omitting(&row, args.omit);
            let (_, model, cursor) =
                read_row::<L>(def, &order, &keys, columns, (false, args.cursors))?;
            page.push(model, cursor, args);
        }
    }
    Ok(page.finish(args))
}

/// The statement behind `load_page`. Without a cursor or a filter, its text is built once per
/// list, database, order, direction and columns left out; its value is the limit.
fn page_statement<L: List>(backend: DbBackend, args: &PageArgs) -> AppResult<Statement> {
    let shape = page_shape::<L>(backend, None, args);
    let limit = Values(vec![Value::BigUnsigned(Some(args.limit + 1))]);
    built_once(shape, backend, limit, || {
        build_page_statement::<L>(backend, args)
    })
}

fn build_page_statement<L: List>(backend: DbBackend, args: &PageArgs) -> AppResult<Statement> {
    let def = L::def();
    let keys = def.orders.keys(&args.order, args.backward);
    let mut select = select_rows::<L>(def, args, &keys)?;
    for key in &keys {
        select.order_by_expr(key.field.expr.clone(), key.sql_order());
    }
    select.limit(args.limit + 1);
    if backend == DbBackend::Postgres {
        select = columnar::aggregated(select, &page_columns::<L>(args, keys.len()));
    }
    Ok(backend.build(&select))
}

/// The columns of a page's rows (see `read_row`), and whether anyone reads each: the
/// entity's, of which `args.omit`'s are placeholders, then the sort keys, read for cursors.
fn page_columns<L: List>(args: &PageArgs, keys: usize) -> Vec<(&'static str, bool)> {
    let omittable = L::Entity::omittable();
    let mut columns: Vec<(&'static str, bool)> = <L::Entity as EntityTrait>::Column::iter()
        .map(|column| {
            let omitted = omittable.iter().enumerate().any(|(index, (omittable, _))| {
                args.omit.omits(index) && omittable.as_str() == column.as_str()
            });
            (column.as_str(), !omitted)
        })
        .collect();
    columns.extend(KEY_ALIASES[..keys].iter().map(|key| (*key, args.cursors)));
    columns
}

/// The pages of the relation `L` for each of `parents`, in one statement. Every parent gets a
/// page, empty when it has no rows.
pub async fn load_pages<L: List>(
    db: &impl ConnectionTrait,
    parents: &[i32],
    args: &PageArgs,
) -> AppResult<HashMap<i32, Page<Row<L>>>>
where
    Row<L>: FromColumns,
{
    let def = L::def();
    let keys = def.orders.keys(&args.order, args.backward);
    let pages = pages_statement::<L>(db.get_database_backend(), parents, args)?;
    let mut by_parent: HashMap<i32, Page<Row<L>>> = parents
        .iter()
        .map(|parent| (*parent, Page::empty()))
        .collect();
    let columnar = pages.db_backend == DbBackend::Postgres && !parents.is_empty();
    let order = def.orders.name(&args.order).into();
    for row in db.query_all_raw(pages).await? {
        if columnar {
            // The parent, then its page's columns.
            let parent = Columns::new(&row).read::<i32>()?;
            if let Some(page) = by_parent.get_mut(&parent) {
                read_columns::<L>(&row, 1, (&order, &keys, args), page)?;
            }
        } else {
            let columns = Columns::omitting(&row, args.omit);
            let (parent, model, cursor) =
                read_row::<L>(def, &order, &keys, columns, (true, args.cursors))?;
            if let Some(page) = parent.and_then(|parent| by_parent.get_mut(&parent)) {
                page.push(model, cursor, args);
            }
        }
    }
    Ok(by_parent
        .into_iter()
        .map(|(parent, page)| (parent, page.finish(args)))
        .collect())
}

/// The statement behind `load_pages`: each row with its parent (`page_parent`) and its sort
/// keys, grouped by parent, in the page's order, at most one row more than the page per
/// parent (to learn whether more follow). Public for the tests that `EXPLAIN` it.
///
/// On PostgreSQL each parent's page is its own `LIMIT`ed subquery (`JOIN LATERAL`), which an
/// index on (parent, keys) answers by reading the page and no more, however many rows a parent
/// has; it comes back as one row per parent, the parent then the page's columns as arrays
/// (`columnar`). MariaDB has no `LATERAL` and SQLite neither: there `ROW_NUMBER() OVER (PARTITION BY
/// parent)` numbers every row of the parents and keeps the first of each (window functions:
/// SQLite >= 3.25, MariaDB >= 10.2, MySQL 8).
///
/// The text of a page without a cursor or a filter is built once per list, database, number of
/// parents, order, direction and columns left out (`statements`); its values are the parents
/// and the limit.
pub fn pages_statement<L: List>(
    backend: DbBackend,
    parents: &[i32],
    args: &PageArgs,
) -> AppResult<Statement> {
    let shape = page_shape::<L>(backend, Some(parents), args);
    let values = parents
        .iter()
        .map(|&parent| Value::Int(Some(parent)))
        .chain([Value::BigUnsigned(Some(args.limit + 1))])
        .collect();
    built_once(shape, backend, Values(values), || {
        build_pages_statement::<L>(backend, parents, args)
    })
}

/// What the text of a page statement depends on, when it has no cursor or filter: of a root
/// list (no `parents`) or of a relation.
fn page_shape<L: List>(
    backend: DbBackend,
    parents: Option<&[i32]>,
    args: &PageArgs,
) -> Option<Shape> {
    if args.cursor.is_some() || args.filter.is_some() {
        return None;
    }
    let parents = parents.map_or(u32::MAX, |parents| parents.len() as u32);
    let mut detail = vec![
        parents,
        args.backward as u32,
        args.omit.0,
        args.cursors as u32,
    ];
    detail.extend(args.order.shape());
    Shape::new::<L>(backend, detail)
}

fn build_pages_statement<L: List>(
    backend: DbBackend,
    parents: &[i32],
    args: &PageArgs,
) -> AppResult<Statement> {
    let def = L::def();
    let parent = relation_parent(def)?;
    let keys = def.orders.keys(&args.order, args.backward);
    let mut rows = select_rows::<L>(def, args, &keys)?;
    rows.expr_as(Expr::col(parent.clone()), Alias::new(PARENT_ALIAS));
    let mut pages = Query::select();
    if backend == DbBackend::Postgres && !parents.is_empty() {
        let parents_table = Alias::new("page_parents");
        // A VALUES list's column is `column1`.
        rows.and_where(
            Expr::col(parent.clone()).equals((parents_table.clone(), Alias::new("column1"))),
        );
        for key in &keys {
            rows.order_by_expr(key.field.expr.clone(), key.sql_order());
        }
        rows.limit(args.limit + 1);
        let page = columnar::aggregated(rows, &page_columns::<L>(args, keys.len()));
        pages
            .expr_as(
                Expr::col((parents_table.clone(), Alias::new("column1"))),
                Alias::new(PARENT_ALIAS),
            )
            .column((Alias::new("page"), Asterisk))
            .from_values(parents.iter().copied(), parents_table)
            .join_lateral(JoinType::Join, page, Alias::new("page"), Expr::cust("TRUE"));
    } else {
        rows.and_where(Expr::col(parent.clone()).is_in(parents.iter().copied()));
        let mut window = WindowStatement::partition_by(parent.clone());
        for key in &keys {
            window.order_by_expr(key.field.expr.clone(), key.sql_order());
        }
        rows.expr_window_as(
            Func::cust("ROW_NUMBER"),
            window,
            Alias::new(ROW_NUMBER_ALIAS),
        );
        pages
            .column(Asterisk)
            .from_subquery(rows, Alias::new("ranked"))
            .and_where(Expr::col(Alias::new(ROW_NUMBER_ALIAS)).lte(args.limit + 1))
            .order_by(Alias::new(PARENT_ALIAS), Order::Asc)
            .order_by(Alias::new(ROW_NUMBER_ALIAS), Order::Asc);
    }
    Ok(backend.build(&pages))
}

/// How many rows the root list `L` holds (that pass `filter`).
pub async fn count_all<L: List>(
    db: &impl ConnectionTrait,
    filter: Option<&ListFilter>,
) -> AppResult<u64> {
    let mut select = select_joined::<L>(L::def(), None);
    select.expr_as(Expr::col(Asterisk).count(), Alias::new(COUNT_ALIAS));
    if let Some(filter) = filter {
        select.cond_where(filter.condition());
    }
    let count = match db.query_one(&select).await? {
        Some(row) => row.try_get::<i64>("", COUNT_ALIAS)?,
        None => 0,
    };
    Ok(u64::try_from(count).unwrap_or(0))
}

/// How many rows the relation `L` holds for each of `parents` (that pass `filter`), in one
/// statement.
pub async fn count_by_parent<L: List>(
    db: &impl ConnectionTrait,
    parents: &[i32],
    filter: Option<&ListFilter>,
) -> AppResult<HashMap<i32, u64>> {
    let def = L::def();
    let parent = relation_parent(def)?;
    let mut select = select_joined::<L>(def, None);
    if let Some(filter) = filter {
        select.cond_where(filter.condition());
    }
    select
        .expr_as(Expr::col(parent.clone()), Alias::new(PARENT_ALIAS))
        .expr_as(Expr::col(Asterisk).count(), Alias::new(COUNT_ALIAS))
        .and_where(Expr::col(parent.clone()).is_in(parents.iter().copied()))
        .group_by_col(parent.clone());
    // Parents without rows are absent from GROUP BY: they count 0.
    let mut counts: HashMap<i32, u64> = parents.iter().map(|parent| (*parent, 0)).collect();
    for row in db.query_all(&select).await? {
        let parent: i32 = row.try_get("", PARENT_ALIAS)?;
        let count: i64 = row.try_get("", COUNT_ALIAS)?;
        counts.insert(parent, u64::try_from(count).unwrap_or(0));
    }
    Ok(counts)
}

/// Whether the root list `L` has rows beyond the cursor of `args` on the side the page does
/// not read: at or before it when paging forwards (`hasPreviousPage`), at or after it when
/// paging backwards (`hasNextPage`). Without a cursor the page starts at an end: none.
pub async fn any_beyond<L: List>(db: &impl ConnectionTrait, args: &PageArgs) -> AppResult<bool> {
    let Some(cursor) = &args.cursor else {
        return Ok(false);
    };
    let def = L::def();
    let keys = def.orders.keys(&args.order, args.backward);
    let mut select = select_joined::<L>(def, None);
    select
        .expr_as(Expr::val(1), Alias::new(COUNT_ALIAS))
        .cond_where(after_condition(&keys, &cursor.key)?.not())
        .limit(1);
    if let Some(filter) = &args.filter {
        select.cond_where(filter.condition());
    }
    Ok(db.query_one(&select).await?.is_some())
}

/// Which of `parents` have rows of the relation `L` beyond the cursor of `args` (see
/// `any_beyond`), in one statement.
pub async fn parents_beyond<L: List>(
    db: &impl ConnectionTrait,
    parents: &[i32],
    args: &PageArgs,
) -> AppResult<HashSet<i32>> {
    let Some(cursor) = &args.cursor else {
        return Ok(HashSet::new());
    };
    let def = L::def();
    let parent = relation_parent(def)?;
    let keys = def.orders.keys(&args.order, args.backward);
    let mut select = select_joined::<L>(def, None);
    select
        .distinct()
        .expr_as(Expr::col(parent.clone()), Alias::new(PARENT_ALIAS))
        .and_where(Expr::col(parent.clone()).is_in(parents.iter().copied()))
        .cond_where(after_condition(&keys, &cursor.key)?.not());
    if let Some(filter) = &args.filter {
        select.cond_where(filter.condition());
    }
    let mut found = HashSet::new();
    for row in db.query_all(&select).await? {
        found.insert(row.try_get::<i32>("", PARENT_ALIAS)?);
    }
    Ok(found)
}

fn relation_parent(def: &ListDef) -> AppResult<&ColumnRef> {
    def.parent
        .as_ref()
        .map(|parent| &parent.column)
        .ok_or_else(|| AppError::Internal(format!("{} is not a relation", def.name)))
}

/// `SELECT <the entity's columns, some as placeholders> FROM <rows> [JOIN <link table>]`, or
/// with no `columns`, selecting nothing yet.
fn select_joined<L: List>(def: &ListDef, columns: Option<Omit>) -> SelectStatement {
    let find = L::Entity::find();
    // SeaORM qualifies each column with its table, so a joined link table's `created_at`
    // cannot be mistaken for the rows' own.
    let mut select = match columns {
        None => find.select_only().into_query(),
        Some(Omit::NOTHING) => find.into_query(),
        Some(omit) => {
            let mut find = find.select_only();
            let omittable = L::Entity::omittable();
            for column in <L::Entity as EntityTrait>::Column::iter() {
                let placeholder = omittable
                    .iter()
                    .enumerate()
                    .find(|(index, (omittable, _))| {
                        omit.omits(*index) && omittable.as_str() == column.as_str()
                    })
                    .map(|(_, (_, placeholder))| placeholder.clone());
                find = match placeholder {
                    Some(placeholder) => find.column_as(placeholder, column.as_str()),
                    None => find.column(column),
                };
            }
            find.into_query()
        }
    };
    if let Some(link) = def.parent.as_ref().and_then(|parent| parent.link.as_ref()) {
        select.inner_join(
            link.table.clone(),
            Expr::col(link.column.clone()).equals(link.node.clone()),
        );
    }
    select
}

/// The rows of `L` beyond `args`' cursor in the order of `keys`, with their sort keys,
/// unordered and unlimited.
fn select_rows<L: List>(
    def: &ListDef,
    args: &PageArgs,
    keys: &[Key<'_>],
) -> AppResult<SelectStatement> {
    let mut select = select_joined::<L>(def, Some(args.omit));
    for (index, key) in keys.iter().enumerate() {
        select.expr_as(key.field.expr.clone(), Alias::new(key_alias(index)));
    }
    if let Some(cursor) = &args.cursor {
        select.cond_where(after_condition(keys, &cursor.key)?);
    }
    if let Some(filter) = &args.filter {
        select.cond_where(filter.condition());
    }
    Ok(select)
}

/// Rows strictly after `key` in the order of `keys`: for keys k1, k2 ascending,
/// `k1 > v1 OR (k1 = v1 AND k2 > v2)` (`<` for descending keys). Spelled out rather than as a
/// row-value comparison, which cannot mix directions. No key is ever NULL, so its negation is
/// exactly the rows at or before `key`.
fn after_condition(keys: &[Key<'_>], key: &[KeyValue]) -> AppResult<Condition> {
    let mut after = Condition::any();
    for (index, sort_key) in keys.iter().enumerate() {
        let mut branch = Condition::all();
        for (earlier, value) in keys[..index].iter().zip(key) {
            branch = branch.add(Expr::expr(earlier.field.expr.clone()).eq(value.to_sql()?));
        }
        let value = Expr::val(key[index].to_sql()?);
        let expr = Expr::expr(sort_key.field.expr.clone());
        branch = branch.add(match sort_key.direction {
            Direction::Desc => expr.lt(value),
            Direction::Asc => expr.gt(value),
        });
        after = after.add(branch);
    }
    Ok(after)
}

/// Adds to `page` the rows of a page read as columns (see `columnar`), whose arrays are `row`'s
/// columns from `from` on, read under `order`.
fn read_columns<L: List>(
    row: &QueryResult,
    from: usize,
    (order, keys, args): (&Arc<str>, &[Key<'_>], &PageArgs),
    page: &mut Page<Row<L>>,
) -> Result<(), DbErr>
where
    Row<L>: FromColumns,
{
    let (columns, rows) = columnar::page_columns(row, from)?;
    for index in 0..rows {
        let columns = Columns::element(&columns, index, args.omit);
        let (_, model, cursor) =
            read_row::<L>(L::def(), order, keys, columns, (false, args.cursors))?;
        page.push(model, cursor, args);
    }
    Ok(())
}

/// A row of a page statement: its parent (when `with_parent`), the model, and its cursor (under
/// `order`, the name of the page's order; without sort keys unless `with_keys`). Read by
/// position (see `columns`): the model's columns, the sort keys, then the parent.
fn read_row<L: List>(
    def: &ListDef,
    order: &Arc<str>,
    keys: &[Key<'_>],
    mut columns: Columns<'_>,
    (with_parent, with_keys): (bool, bool),
) -> Result<(Option<i32>, Row<L>, Cursor), DbErr>
where
    Row<L>: FromColumns,
{
    let model = Row::<L>::from_columns(&mut columns)?;
    let key = if with_keys {
        keys.iter()
            .map(|sort_key| KeyValue::read(&mut columns, sort_key.field.kind))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        columns.skip(keys.len());
        Vec::new()
    };
    let parent = if with_parent {
        Some(columns.read::<i32>()?)
    } else {
        None
    };
    Ok((
        parent,
        model,
        Cursor {
            list: def.name,
            order: Arc::clone(order),
            key,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::statements;

    struct Things;

    #[derive(Debug, Clone, Copy, sea_orm::DeriveIden)]
    enum Thing {
        Table,
        Id,
        CreatedAt,
    }

    fn def() -> ListDef {
        ListDef {
            name: "things",
            parent: None,
            orders: Orders {
                fields: vec![
                    SortField::column("ID", (Thing::Table, Thing::Id), KeyKind::Id),
                    SortField::column(
                        "CREATED_AT",
                        (Thing::Table, Thing::CreatedAt),
                        KeyKind::Time,
                    ),
                ],
                tie: "ID",
                default: vec![("CREATED_AT", Direction::Desc)],
            },
        }
    }

    impl List for Things {
        type Entity = entity::user::Entity;
        fn def() -> &'static ListDef {
            static DEF: std::sync::LazyLock<ListDef> = std::sync::LazyLock::new(def);
            &DEF
        }
    }

    #[test]
    fn page_size_is_defaulted_and_bounded_both_ways() {
        let cases = [
            (None, Some(DEFAULT_PAGE_SIZE)),
            (Some(0), Some(0)),
            (Some(100), Some(100)),
            (Some(101), None),
            (Some(-1), None),
        ];
        for (size, expected) in cases {
            let forward = PageArgs::parse::<Things>(PageRequest {
                first: size,
                ..Default::default()
            });
            let backward = PageArgs::parse::<Things>(PageRequest {
                last: size.or(Some(20)),
                ..Default::default()
            });
            assert_eq!(
                forward.ok().map(|args| args.limit),
                expected,
                "first={size:?}"
            );
            assert_eq!(
                backward.ok().map(|args| args.limit),
                expected.or((size.is_none()).then_some(20)),
                "last={size:?}"
            );
        }
    }

    /// A page statement served from a kept text is the one built afresh, on every database,
    /// for pages of other parents, sizes, orders and directions.
    #[test]
    fn a_kept_page_statement_is_the_one_built_afresh() {
        use crate::db::posts::PostsByAuthor;
        let requests = [
            PageRequest {
                first: Some(5),
                ..Default::default()
            },
            PageRequest {
                last: Some(3),
                ..Default::default()
            },
            PageRequest {
                first: Some(2),
                order_by: &[("CREATED_AT", Direction::Desc)],
                ..Default::default()
            },
        ];
        for backend in [DbBackend::Postgres, DbBackend::MySql, DbBackend::Sqlite] {
            for request in &requests {
                let args = PageArgs::parse::<PostsByAuthor>(*request).expect("args");
                for parents in [vec![1], vec![4, 2, 9]] {
                    // The first builds the text; the second, of other parents and size, is served
                    // from it.
                    pages_statement::<PostsByAuthor>(backend, &parents, &args).expect("built");
                    let shape = page_shape::<PostsByAuthor>(backend, Some(&parents), &args);
                    assert!(shape.is_some_and(|shape| statements::is_kept(&shape)));
                    let others: Vec<i32> = parents.iter().map(|parent| parent + 10).collect();
                    let mut other_args = args.clone();
                    other_args.limit += 7;
                    let kept = pages_statement::<PostsByAuthor>(backend, &others, &other_args)
                        .expect("kept");
                    let fresh =
                        build_pages_statement::<PostsByAuthor>(backend, &others, &other_args)
                            .expect("fresh");
                    assert_eq!(kept.sql, fresh.sql);
                    assert_eq!(kept.values, fresh.values);
                }
            }
        }
    }

    /// The same for a root list's page.
    #[test]
    fn a_kept_root_page_statement_is_the_one_built_afresh() {
        use crate::db::posts::AllPosts;
        for backend in [DbBackend::Postgres, DbBackend::MySql, DbBackend::Sqlite] {
            for (first, order_by) in [(5, &[][..]), (2, &[("CREATED_AT", Direction::Desc)][..])] {
                let request = PageRequest {
                    first: Some(first),
                    order_by,
                    ..Default::default()
                };
                let mut args = PageArgs::parse::<AllPosts>(request).expect("args");
                page_statement::<AllPosts>(backend, &args).expect("built");
                let shape = page_shape::<AllPosts>(backend, None, &args);
                assert!(shape.is_some_and(|shape| statements::is_kept(&shape)));
                args.limit += 7;
                let kept = page_statement::<AllPosts>(backend, &args).expect("kept");
                let fresh = build_page_statement::<AllPosts>(backend, &args).expect("fresh");
                assert_eq!(kept.sql, fresh.sql);
                assert_eq!(kept.values, fresh.values);
            }
        }
    }

    #[test]
    fn a_page_goes_one_way() {
        let both = PageArgs::parse::<Things>(PageRequest {
            first: Some(1),
            last: Some(1),
            ..Default::default()
        });
        assert!(matches!(both, Err(AppError::InvalidInput { field, .. }) if field == "last"));
    }

    #[test]
    fn after_a_cursor_means_after_it_in_every_key() {
        let def = def();
        let spec = def.orders.spec(&[]).expect("the default order");
        let keys = def.orders.keys(&spec, false);
        let condition =
            after_condition(&keys, &[KeyValue::Time(0), KeyValue::Id(7)]).expect("a condition");
        let sql = Query::select()
            .column(Asterisk)
            .from(Thing::Table)
            .cond_where(condition)
            .to_string(sea_orm::sea_query::PostgresQueryBuilder);
        assert!(
            sql.ends_with(
                r#"WHERE "thing"."created_at" < '1970-01-01 00:00:00.000000 +00:00' OR ("thing"."created_at" = '1970-01-01 00:00:00.000000 +00:00' AND "thing"."id" < 7)"#
            ),
            "{sql}"
        );
        // Backwards, the same cursor means the rows before it: every comparison turns round.
        let backward = def.orders.keys(&spec, true);
        let sql = Query::select()
            .column(Asterisk)
            .from(Thing::Table)
            .cond_where(
                after_condition(&backward, &[KeyValue::Time(0), KeyValue::Id(7)])
                    .expect("a condition"),
            )
            .to_string(sea_orm::sea_query::PostgresQueryBuilder);
        assert!(sql.contains(r#""thing"."id" > 7"#), "{sql}");
    }
}
