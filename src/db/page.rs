//! The one page builder. Every list of the API, the root lists (`users`, `posts`) and every
//! relation (a user's posts, followers, following, feed), is a `ListDef`: the rows it holds,
//! how a relation reaches them from its parent, and its order. From that description alone this
//! module builds the SQL for
//! - one page of a root list: `WHERE <after the cursor> ORDER BY <keys> LIMIT n + 1`;
//! - the pages of many parents at once, one statement: the same keyset condition, each parent's
//!   page cut by `ROW_NUMBER() OVER (PARTITION BY <parent> ORDER BY <keys>)` (window functions:
//!   SQLite >= 3.25, PostgreSQL, MariaDB >= 10.2, MySQL 8);
//! - the count of a root list, or the counts of many parents (`GROUP BY <parent>`);
//!
//! and it encodes and checks cursors, which name their list and order, so a cursor of one list
//! is never silently read as a position in another. It knows nothing of users or posts: the
//! descriptions live with their tables' queries (`db::users`, `db::posts`, `db::follows`).

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, ColumnRef, Condition, DynIden, Expr, ExprTrait, Func, IntoColumnRef, IntoIden,
    JoinType, Order, Query, SelectStatement, SimpleExpr, WindowStatement,
};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryResult, QuerySelect, QueryTrait, Statement, Value,
};
use serde_json::json;

use crate::error::{AppError, AppResult};

/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest `first` accepted; more is a `BAD_USER_INPUT` error, not a silent clamp.
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
    pub fn and(self, index: usize) -> Omit {
        Omit(self.0 | 1 << index)
    }

    fn omits(self, index: usize) -> bool {
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
    pub order: ListOrder,
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

/// A list's order. It must be total, its last key unique among one parent's rows (an id), so
/// that a cursor names exactly one position and paging never skips or repeats a row.
#[derive(Debug)]
pub struct ListOrder {
    /// Names the order in cursors: a cursor taken under one order is refused by another.
    pub name: &'static str,
    pub keys: Vec<SortKey>,
}

#[derive(Debug)]
pub struct SortKey {
    column: ColumnRef,
    descending: bool,
    kind: KeyKind,
}

impl SortKey {
    pub fn ascending(column: impl IntoColumnRef, kind: KeyKind) -> Self {
        SortKey {
            column: column.into_column_ref(),
            descending: false,
            kind,
        }
    }

    pub fn descending(column: impl IntoColumnRef, kind: KeyKind) -> Self {
        SortKey {
            column: column.into_column_ref(),
            descending: true,
            kind,
        }
    }

    fn order(&self) -> Order {
        if self.descending {
            Order::Desc
        } else {
            Order::Asc
        }
    }
}

/// What a sort key holds, so that cursors can carry it and be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An integer id.
    Id,
    /// A timestamp (stored to the microsecond on every database).
    Time,
}

/// One sort key's value at a position of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KeyValue {
    Id(i32),
    /// Microseconds since the Unix epoch.
    Time(i64),
}

impl KeyValue {
    fn kind(self) -> KeyKind {
        match self {
            KeyValue::Id(_) => KeyKind::Id,
            KeyValue::Time(_) => KeyKind::Time,
        }
    }

    fn to_sql(self) -> AppResult<Value> {
        Ok(match self {
            KeyValue::Id(id) => id.into(),
            KeyValue::Time(micros) => DateTime::<Utc>::from_timestamp_micros(micros)
                .ok_or_else(|| AppError::invalid("after", "not a valid cursor"))?
                .into(),
        })
    }

    fn read(row: &QueryResult, column: &str, kind: KeyKind) -> Result<Self, DbErr> {
        Ok(match kind {
            KeyKind::Id => KeyValue::Id(row.try_get("", column)?),
            KeyKind::Time => {
                KeyValue::Time(row.try_get::<DateTime<Utc>>("", column)?.timestamp_micros())
            }
        })
    }

    fn to_json(self) -> serde_json::Value {
        match self {
            KeyValue::Id(id) => json!(id),
            KeyValue::Time(micros) => json!(micros),
        }
    }

    fn from_json(value: &serde_json::Value, kind: KeyKind) -> Option<Self> {
        match kind {
            KeyKind::Id => Some(KeyValue::Id(i32::try_from(value.as_i64()?).ok()?)),
            KeyKind::Time => Some(KeyValue::Time(value.as_i64()?)),
        }
    }
}

/// A position in a list: the sort keys of one row, with the names of the list and the order
/// they belong to. Opaque to clients (base64 of a small JSON array).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    list: &'static str,
    order: &'static str,
    key: Vec<KeyValue>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let key: Vec<_> = self.key.iter().map(|value| value.to_json()).collect();
        URL_SAFE_NO_PAD.encode(json!([self.list, self.order, key]).to_string())
    }

    /// The cursor `text` as a position in `def`'s list; `field` names the argument in errors.
    fn decode(def: &ListDef, field: &str, text: &str) -> AppResult<Self> {
        let invalid = || AppError::invalid(field, "not a valid cursor");
        let payload: serde_json::Value = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(invalid)?;
        let [list, order, key] = payload.as_array().map(Vec::as_slice).unwrap_or_default() else {
            return Err(invalid());
        };
        let (Some(list), Some(order), Some(key)) = (list.as_str(), order.as_str(), key.as_array())
        else {
            return Err(invalid());
        };
        if list != def.name {
            return Err(AppError::invalid(
                field,
                format!(
                    "this cursor belongs to another list ({list}), not to {}",
                    def.name
                ),
            ));
        }
        if order != def.order.name {
            return Err(AppError::invalid(
                field,
                format!(
                    "this cursor belongs to another order ({order}) of {}",
                    def.name
                ),
            ));
        }
        if key.len() != def.order.keys.len() {
            return Err(invalid());
        }
        let key = key
            .iter()
            .zip(&def.order.keys)
            .map(|(value, sort_key)| KeyValue::from_json(value, sort_key.kind))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(invalid)?;
        Ok(Cursor {
            list: def.name,
            order: def.order.name,
            key,
        })
    }
}

/// A validated `first`/`after` pair of one list: the same for root lists and relations; and
/// which columns nobody will read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageArgs {
    /// How many rows the page holds at most.
    pub limit: u64,
    /// Only rows after this position.
    pub after: Option<Cursor>,
    /// Columns read as placeholders (see `Omittable`).
    pub omit: Omit,
}

impl PageArgs {
    /// Checks `first` and `after` for the list `L`.
    pub fn parse<L: List>(first: Option<i32>, after: Option<&str>) -> AppResult<Self> {
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
        let after = after
            .map(|text| Cursor::decode(L::def(), "after", text))
            .transpose()?;
        Ok(PageArgs {
            limit,
            after,
            omit: Omit::NOTHING,
        })
    }
}

/// One page of a list, with each row's cursor. Rows are shared, not copied, by whoever holds
/// the page (a loader's cache, the connections and nodes built from it).
#[derive(Debug, Clone)]
pub struct Page<M> {
    pub rows: Vec<Arc<M>>,
    pub cursors: Vec<Cursor>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<M> Page<M> {
    fn empty(args: &PageArgs) -> Self {
        Page {
            rows: Vec::new(),
            cursors: Vec::new(),
            has_next_page: false,
            // Forward paging only: something precedes the page iff it starts after a cursor.
            has_previous_page: args.after.is_some(),
        }
    }

    /// Adds a row read with one extra (to learn whether a next page exists); rows past the
    /// limit only set `has_next_page`.
    fn push(&mut self, row: M, cursor: Cursor, limit: u64) {
        if self.rows.len() as u64 >= limit {
            self.has_next_page = true;
        } else {
            self.rows.push(Arc::new(row));
            self.cursors.push(cursor);
        }
    }
}

const PARENT_ALIAS: &str = "page_parent";
const ROW_NUMBER_ALIAS: &str = "page_row";
const COUNT_ALIAS: &str = "page_count";

/// The names under which a page statement returns its sort keys: static, as they are read for
/// every row of every page. An order has at most this many keys.
const KEY_ALIASES: [&str; 8] = [
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
    Row<L>: FromQueryResult,
{
    let def = L::def();
    let mut select = select_rows::<L>(def, args)?;
    for key in &def.order.keys {
        select.order_by(key.column.clone(), key.order());
    }
    select.limit(args.limit + 1);
    let mut page = Page::empty(args);
    for row in db.query_all(&select).await? {
        let (_, model, cursor) = read_row::<L>(def, &row, false)?;
        page.push(model, cursor, args.limit);
    }
    Ok(page)
}

/// The pages of the relation `L` for each of `parents`, in one statement. Every parent gets a
/// page, empty when it has no rows.
pub async fn load_pages<L: List>(
    db: &impl ConnectionTrait,
    parents: &[i32],
    args: &PageArgs,
) -> AppResult<HashMap<i32, Page<Row<L>>>>
where
    Row<L>: FromQueryResult,
{
    let def = L::def();
    let pages = pages_statement::<L>(db.get_database_backend(), parents, args)?;
    let mut by_parent: HashMap<i32, Page<Row<L>>> = parents
        .iter()
        .map(|parent| (*parent, Page::empty(args)))
        .collect();
    for row in db.query_all_raw(pages).await? {
        let (parent, model, cursor) = read_row::<L>(def, &row, true)?;
        if let Some(page) = parent.and_then(|parent| by_parent.get_mut(&parent)) {
            page.push(model, cursor, args.limit);
        }
    }
    Ok(by_parent)
}

/// The statement behind `load_pages`: each row with its parent (`page_parent`) and its sort
/// keys, grouped by parent, in the list's order, at most one row more than the page per
/// parent (to learn whether a next page exists). Public for the tests that `EXPLAIN` it.
///
/// On PostgreSQL each parent's page is its own `LIMIT`ed subquery (`JOIN LATERAL`), which an
/// index on (parent, keys) answers by reading the page and no more, however many rows a parent
/// has. MariaDB has no `LATERAL` and SQLite neither: there `ROW_NUMBER() OVER (PARTITION BY
/// parent)` numbers every row of the parents and keeps the first of each (window functions:
/// SQLite >= 3.25, MariaDB >= 10.2, MySQL 8).
pub fn pages_statement<L: List>(
    backend: DbBackend,
    parents: &[i32],
    args: &PageArgs,
) -> AppResult<Statement> {
    let def = L::def();
    let parent = relation_parent(def)?;
    let mut rows = select_rows::<L>(def, args)?;
    rows.expr_as(Expr::col(parent.clone()), Alias::new(PARENT_ALIAS));
    let mut pages = Query::select();
    if backend == DbBackend::Postgres && !parents.is_empty() {
        let parents_table = Alias::new("page_parents");
        // A VALUES list's column is `column1`.
        rows.and_where(
            Expr::col(parent.clone()).equals((parents_table.clone(), Alias::new("column1"))),
        );
        for key in &def.order.keys {
            rows.order_by(key.column.clone(), key.order());
        }
        rows.limit(args.limit + 1);
        pages
            .column((Alias::new("page"), Asterisk))
            .from_values(parents.iter().copied(), parents_table)
            .join_lateral(JoinType::Join, rows, Alias::new("page"), Expr::cust("TRUE"))
            .order_by(Alias::new(PARENT_ALIAS), Order::Asc);
        for (index, key) in def.order.keys.iter().enumerate() {
            pages.order_by(Alias::new(key_alias(index)), key.order());
        }
    } else {
        rows.and_where(Expr::col(parent.clone()).is_in(parents.iter().copied()));
        let mut window = WindowStatement::partition_by(parent.clone());
        for key in &def.order.keys {
            window.order_by(key.column.clone(), key.order());
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

/// How many rows the root list `L` holds.
pub async fn count_all<L: List>(db: &impl ConnectionTrait) -> AppResult<u64> {
    let mut select = select_joined::<L>(L::def(), None);
    select.expr_as(Expr::col(Asterisk).count(), Alias::new(COUNT_ALIAS));
    let count = match db.query_one(&select).await? {
        Some(row) => row.try_get::<i64>("", COUNT_ALIAS)?,
        None => 0,
    };
    Ok(u64::try_from(count).unwrap_or(0))
}

/// How many rows the relation `L` holds for each of `parents`, in one statement.
pub async fn count_by_parent<L: List>(
    db: &impl ConnectionTrait,
    parents: &[i32],
) -> AppResult<HashMap<i32, u64>> {
    let def = L::def();
    let parent = relation_parent(def)?;
    let mut select = select_joined::<L>(def, None);
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

/// The rows of `L` after `args`' cursor, with their sort keys, unordered and unlimited.
fn select_rows<L: List>(def: &ListDef, args: &PageArgs) -> AppResult<SelectStatement> {
    if def.order.keys.len() > KEY_ALIASES.len() {
        return Err(AppError::Internal(format!(
            "{} is ordered by more than {} keys",
            def.name,
            KEY_ALIASES.len()
        )));
    }
    let mut select = select_joined::<L>(def, Some(args.omit));
    for (index, key) in def.order.keys.iter().enumerate() {
        select.expr_as(Expr::col(key.column.clone()), Alias::new(key_alias(index)));
    }
    if let Some(after) = &args.after {
        select.cond_where(after_condition(&def.order.keys, &after.key)?);
    }
    Ok(select)
}

/// Rows strictly after `key` in the order of `keys`: for keys k1, k2 ascending,
/// `k1 > v1 OR (k1 = v1 AND k2 > v2)` (`<` for descending keys). Spelled out rather than as a
/// row-value comparison, which cannot mix directions.
fn after_condition(keys: &[SortKey], key: &[KeyValue]) -> AppResult<Condition> {
    let mut after = Condition::any();
    for (index, sort_key) in keys.iter().enumerate() {
        let mut branch = Condition::all();
        for (earlier, value) in keys[..index].iter().zip(key) {
            branch = branch.add(Expr::col(earlier.column.clone()).eq(value.to_sql()?));
        }
        let value = Expr::val(key[index].to_sql()?);
        let column = Expr::col(sort_key.column.clone());
        branch = branch.add(if sort_key.descending {
            column.lt(value)
        } else {
            column.gt(value)
        });
        after = after.add(branch);
    }
    Ok(after)
}

/// A row of a page statement: its parent (for relations), the model, and its cursor.
fn read_row<L: List>(
    def: &ListDef,
    row: &QueryResult,
    with_parent: bool,
) -> Result<(Option<i32>, Row<L>, Cursor), DbErr>
where
    Row<L>: FromQueryResult,
{
    let parent = if with_parent {
        Some(row.try_get::<i32>("", PARENT_ALIAS)?)
    } else {
        None
    };
    let model = Row::<L>::from_query_result(row, "")?;
    let key = def
        .order
        .keys
        .iter()
        .enumerate()
        .map(|(index, sort_key)| KeyValue::read(row, key_alias(index), sort_key.kind))
        .collect::<Result<Vec<_>, _>>()?;
    debug_assert!(key
        .iter()
        .zip(&def.order.keys)
        .all(|(value, sort_key)| value.kind() == sort_key.kind));
    Ok((
        parent,
        model,
        Cursor {
            list: def.name,
            order: def.order.name,
            key,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Things;

    #[derive(Debug, Clone, Copy, sea_orm::DeriveIden)]
    enum Thing {
        Table,
        Id,
        CreatedAt,
    }

    fn def(name: &'static str, order: &'static str) -> ListDef {
        ListDef {
            name,
            parent: None,
            order: ListOrder {
                name: order,
                keys: vec![
                    SortKey::descending((Thing::Table, Thing::CreatedAt), KeyKind::Time),
                    SortKey::descending((Thing::Table, Thing::Id), KeyKind::Id),
                ],
            },
        }
    }

    fn cursor(def: &ListDef, key: Vec<KeyValue>) -> Cursor {
        Cursor {
            list: def.name,
            order: def.order.name,
            key,
        }
    }

    #[test]
    fn cursors_round_trip() {
        let things = def("things", "newest");
        let position = cursor(
            &things,
            vec![KeyValue::Time(1_700_000_000_123_456), KeyValue::Id(42)],
        );
        assert_eq!(
            Cursor::decode(&things, "after", &position.encode()).ok(),
            Some(position)
        );
    }

    #[test]
    fn cursors_of_another_list_or_order_or_garbage_are_refused() {
        let things = def("things", "newest");
        let key = vec![KeyValue::Time(1), KeyValue::Id(1)];
        let cases = [
            (
                "another list",
                cursor(&def("others", "newest"), key.clone()).encode(),
                "another list",
            ),
            (
                "another order",
                cursor(&def("things", "oldest"), key.clone()).encode(),
                "another order",
            ),
            (
                "a key too short",
                cursor(&things, vec![KeyValue::Time(1)]).encode(),
                "not a valid cursor",
            ),
            (
                "a key of the wrong kind",
                URL_SAFE_NO_PAD.encode(r#"["things","newest",["x",1]]"#),
                "not a valid cursor",
            ),
            (
                "the old format",
                URL_SAFE_NO_PAD.encode("c1:42"),
                "not a valid cursor",
            ),
            ("not base64", "!!!".to_string(), "not a valid cursor"),
            ("empty", String::new(), "not a valid cursor"),
        ];
        for (case, text, message) in cases {
            match Cursor::decode(&things, "after", &text) {
                Err(AppError::InvalidInput {
                    field,
                    message: got,
                }) => {
                    assert_eq!(field, "after", "case {case}");
                    assert!(got.contains(message), "case {case}: {got}");
                }
                other => panic!("case {case}: expected BAD_USER_INPUT, got {other:?}"),
            }
        }
    }

    impl List for Things {
        type Entity = entity::user::Entity;
        fn def() -> &'static ListDef {
            static DEF: std::sync::LazyLock<ListDef> =
                std::sync::LazyLock::new(|| def("things", "newest"));
            &DEF
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
            let got = PageArgs::parse::<Things>(first, None)
                .ok()
                .map(|args| args.limit);
            assert_eq!(got, expected, "case first={first:?}");
        }
    }

    #[test]
    fn after_a_cursor_means_after_it_in_every_key() {
        let things = def("things", "newest");
        let condition = after_condition(&things.order.keys, &[KeyValue::Time(0), KeyValue::Id(7)])
            .expect("a condition");
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
    }
}
