//! Orders of a list: the fields a list can be sorted by, each with a direction, always ending
//! with a field unique among one parent's rows (an id), so that the order is total, a cursor
//! names exactly one position, and paging never skips or repeats a row.

use sea_orm::sea_query::{Expr, IntoColumnRef, Order, SimpleExpr};

use crate::error::{AppError, AppResult};

/// What a sort key holds, so that cursors can carry it and be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An integer id.
    Id,
    /// A timestamp (stored to the microsecond on every database).
    Time,
    /// A text (a title, a name), compared as the column's collation compares it.
    Text,
    /// A count.
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        }
    }

    fn reversed(self) -> Self {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }
}

/// A field a list can be ordered by: its name in the API (`CREATED_AT`, also written in
/// cursors) and the SQL that computes it (a column, or an expression such as a count).
#[derive(Debug)]
pub struct SortField {
    pub name: &'static str,
    pub(super) expr: SimpleExpr,
    pub(super) kind: KeyKind,
}

impl SortField {
    pub fn column(name: &'static str, column: impl IntoColumnRef, kind: KeyKind) -> Self {
        SortField {
            name,
            expr: Expr::col(column.into_column_ref()),
            kind,
        }
    }

    pub fn expr(name: &'static str, expr: SimpleExpr, kind: KeyKind) -> Self {
        SortField { name, expr, kind }
    }
}

/// The orders a list offers: its sort fields, the one that breaks ties (unique among one
/// parent's rows), and the order used when none is asked for.
#[derive(Debug)]
pub struct Orders {
    pub fields: Vec<SortField>,
    pub tie: &'static str,
    pub default: Vec<(&'static str, Direction)>,
}

/// One order of a list: indexes into `Orders::fields` with directions, normalised to name
/// each field at most once and to end with the tie-breaking field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderSpec(Vec<(usize, Direction)>);

impl OrderSpec {
    /// The spec as numbers (each field's index and direction), for a statement's `Shape`.
    pub(super) fn shape(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().map(|(index, direction)| {
            (*index as u32) << 1
                | match direction {
                    Direction::Asc => 0,
                    Direction::Desc => 1,
                }
        })
    }
}

/// A resolved sort key of a statement: the field and the direction the SQL sorts it in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Key<'a> {
    pub(super) field: &'a SortField,
    pub(super) direction: Direction,
}

impl Key<'_> {
    pub(super) fn sql_order(&self) -> Order {
        match self.direction {
            Direction::Asc => Order::Asc,
            Direction::Desc => Order::Desc,
        }
    }
}

/// Most keys an order may have (the page statements name each).
pub const MAX_KEYS: usize = 8;

impl Orders {
    fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| field.name == name)
    }

    /// The order `requested` asks for (`[]` for the default), checked against the fields this
    /// list offers: an unknown field is `BAD_USER_INPUT` on `orderBy`. Ties are broken by the
    /// tie field, in the direction of the last field asked for.
    pub fn spec(&self, requested: &[(&str, Direction)]) -> AppResult<OrderSpec> {
        let requested: Vec<(&str, Direction)> = if requested.is_empty() {
            self.default.clone()
        } else {
            requested.to_vec()
        };
        let mut keys: Vec<(usize, Direction)> = Vec::with_capacity(requested.len() + 1);
        for (name, direction) in requested {
            let index = self.index(name).ok_or_else(|| {
                AppError::invalid("orderBy", format!("this list cannot be ordered by {name}"))
            })?;
            if keys.iter().any(|(earlier, _)| *earlier == index) {
                return Err(AppError::invalid(
                    "orderBy",
                    format!("{name} is named more than once"),
                ));
            }
            keys.push((index, direction));
        }
        let tie = self
            .index(self.tie)
            .ok_or_else(|| AppError::Internal(format!("no tie field {}", self.tie)))?;
        if !keys.iter().any(|(index, _)| *index == tie) {
            let direction = keys
                .last()
                .map_or(Direction::Asc, |(_, direction)| *direction);
            keys.push((tie, direction));
        }
        // Fields after the tie-breaker can never decide anything.
        if let Some(at) = keys.iter().position(|(index, _)| *index == tie) {
            keys.truncate(at + 1);
        }
        if keys.len() > MAX_KEYS {
            return Err(AppError::invalid(
                "orderBy",
                format!("at most {} fields", MAX_KEYS - 1),
            ));
        }
        Ok(OrderSpec(keys))
    }

    /// The name of an order in cursors: `CREATED_AT_DESC,ID_DESC`.
    pub fn name(&self, spec: &OrderSpec) -> String {
        spec.0
            .iter()
            .map(|(index, direction)| format!("{}_{}", self.fields[*index].name, direction.name()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The keys of `spec` as a statement sorts them: reversed when paging backwards.
    pub(super) fn keys(&self, spec: &OrderSpec, backward: bool) -> Vec<Key<'_>> {
        spec.0
            .iter()
            .map(|(index, direction)| Key {
                field: &self.fields[*index],
                direction: if backward {
                    direction.reversed()
                } else {
                    *direction
                },
            })
            .collect()
    }

    /// The kinds of the keys of `spec`, in order: what a cursor of it holds.
    pub(super) fn kinds(&self, spec: &OrderSpec) -> Vec<KeyKind> {
        spec.0
            .iter()
            .map(|(index, _)| self.fields[*index].kind)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, sea_orm::DeriveIden)]
    enum Thing {
        Table,
        Id,
        Name,
        CreatedAt,
    }

    fn orders() -> Orders {
        Orders {
            fields: vec![
                SortField::column("ID", (Thing::Table, Thing::Id), KeyKind::Id),
                SortField::column("NAME", (Thing::Table, Thing::Name), KeyKind::Text),
                SortField::column(
                    "CREATED_AT",
                    (Thing::Table, Thing::CreatedAt),
                    KeyKind::Time,
                ),
            ],
            tie: "ID",
            default: vec![("ID", Direction::Asc)],
        }
    }

    #[test]
    fn orders_end_with_the_tie_breaker_in_the_last_direction() {
        let orders = orders();
        type Requested<'a> = &'a [(&'a str, Direction)];
        let cases: [(Requested, Option<&str>); 6] = [
            (&[], Some("ID_ASC")),
            (&[("NAME", Direction::Desc)], Some("NAME_DESC,ID_DESC")),
            (
                &[("CREATED_AT", Direction::Asc), ("NAME", Direction::Desc)],
                Some("CREATED_AT_ASC,NAME_DESC,ID_DESC"),
            ),
            (
                &[("ID", Direction::Desc), ("NAME", Direction::Asc)],
                Some("ID_DESC"),
            ),
            (&[("NAME", Direction::Asc), ("NAME", Direction::Desc)], None),
            (&[("POPULARITY", Direction::Asc)], None),
        ];
        for (requested, expected) in cases {
            let got = orders.spec(requested).ok().map(|spec| orders.name(&spec));
            assert_eq!(got.as_deref(), expected, "case {requested:?}");
        }
    }
}
