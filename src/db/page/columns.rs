//! Reading a page statement's rows by position, or a page's elements of its column arrays (see
//! `columnar`). A page statement's columns are always laid out
//! the same way: the entity's columns in their declared order (some as placeholders, see
//! `Omittable`), then the sort keys, then the parent. Reading them by name cost a hash of the
//! name and, on PostgreSQL, a type check per value: about 600 instructions a value, more than
//! all the rest of a row. By position it is an index, and on PostgreSQL the value is decoded
//! without the check (the statement's columns are ours, and a mismatch is a decoding error, not
//! a wrong value).

use chrono::{DateTime, Utc};
use sea_orm::sqlx::postgres::{PgRow, PgValueFormat, Postgres};
use sea_orm::sqlx::{Decode, Row as _, ValueRef as _};
use sea_orm::{DbErr, QueryResult, TryGetable};

use super::columnar::{FromElement, Values};
use super::Omit;

/// A row's columns, read from the left.
pub struct Columns<'r> {
    source: Source<'r>,
    next: usize,
    /// The omittable columns the statement selected as placeholders (see `Omittable`).
    omit: Omit,
}

enum Source<'r> {
    Row {
        row: &'r QueryResult,
        postgres: Option<&'r PgRow>,
    },
    /// The `index`th element of each of a page's column arrays (`None`: selected as `NULL`).
    Element {
        columns: &'r [Option<Values<'r>>],
        index: usize,
    },
}

impl<'r> Columns<'r> {
    pub fn new(row: &'r QueryResult) -> Self {
        Columns::omitting(row, Omit::NOTHING)
    }

    /// The columns of a row whose statement left out `omit`.
    pub fn omitting(row: &'r QueryResult, omit: Omit) -> Self {
        Columns {
            source: Source::Row {
                row,
                postgres: row.try_as_pg_row(),
            },
            next: 0,
            omit,
        }
    }

    /// The `index`th row of a page read as columns, whose statement left out `omit`.
    pub(super) fn element(columns: &'r [Option<Values<'r>>], index: usize, omit: Omit) -> Self {
        Columns {
            source: Source::Element { columns, index },
            next: 0,
            omit,
        }
    }

    /// The next column's value, which is the `index`th omittable one: `placeholder` (the
    /// value its placeholder decodes to) without decoding it when the statement left it out
    /// (two of a post's seven columns, on most pages).
    pub fn read_omittable<T: ColumnValue>(
        &mut self,
        index: usize,
        placeholder: T,
    ) -> Result<T, DbErr> {
        if self.omit.omits(index) {
            self.next += 1;
            return Ok(placeholder);
        }
        self.read()
    }

    /// The next column's value.
    pub fn read<T: ColumnValue>(&mut self) -> Result<T, DbErr> {
        let index = self.next;
        self.next += 1;
        match self.source {
            Source::Row {
                postgres: Some(row),
                ..
            } => row
                .try_get_unchecked::<T, usize>(index)
                .map_err(|err| DbErr::Type(format!("column {index}: {err}"))),
            Source::Row { row, .. } => row.try_get_by_index(index),
            Source::Element { columns, index: at } => T::from_element(element(columns, index, at)?)
                .map_err(|err| DbErr::Type(format!("column {index}: {err}"))),
        }
    }

    /// The next column's value, a timestamp, which is the `index`th omittable one: the Unix
    /// epoch, without decoding it, when the statement left it out.
    pub fn read_omittable_time(&mut self, index: usize) -> Result<DateTime<Utc>, DbErr> {
        if self.omit.omits(index) {
            self.next += 1;
            return Ok(DateTime::<Utc>::UNIX_EPOCH);
        }
        self.read_time()
    }

    /// Passes over the next `count` columns.
    pub fn skip(&mut self, count: usize) {
        self.next += count;
    }

    /// The next column's value, a timestamp. On PostgreSQL its binary form is read directly:
    /// microseconds since 2000-01-01, which sqlx adds to a date at three times the cost (two
    /// timestamps were half the cost of a post's row).
    pub fn read_time(&mut self) -> Result<DateTime<Utc>, DbErr> {
        let index = self.next;
        let postgres = match self.source {
            Source::Row { postgres, .. } => postgres,
            Source::Element { .. } => None,
        };
        let binary = postgres.and_then(|row| {
            let value = row.try_get_raw(index).ok()?;
            if value.is_null() || value.format() != PgValueFormat::Binary {
                return None;
            }
            value
                .as_bytes()
                .ok()?
                .try_into()
                .ok()
                .map(i64::from_be_bytes)
        });
        let Some(micros) = binary else {
            return self.read();
        };
        self.next += 1;
        from_postgres_micros(micros)
            .ok_or_else(|| DbErr::Type(format!("column {index}: timestamp out of range")))
    }
}

/// The element at `index` of column `column`'s array.
fn element<'r>(
    columns: &[Option<Values<'r>>],
    column: usize,
    index: usize,
) -> Result<Option<&'r [u8]>, DbErr> {
    columns
        .get(column)
        .and_then(|values| values.as_ref()?.get(index).copied())
        .ok_or_else(|| DbErr::Type(format!("column {column}: no array element {index}")))
}

/// A PostgreSQL timestamp (microseconds since its epoch) as a time.
fn from_postgres_micros(micros: i64) -> Option<DateTime<Utc>> {
    micros
        .checked_add(POSTGRES_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
}

impl FromElement for DateTime<Utc> {
    fn from_element(value: Option<&[u8]>) -> Result<Self, String> {
        from_postgres_micros(i64::from_element(value)?)
            .ok_or_else(|| "timestamp out of range".to_string())
    }
}

/// 2000-01-01T00:00:00Z, PostgreSQL's epoch, in microseconds since the Unix epoch.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A value a column can be read as, on every database, and from a page read as columns.
pub trait ColumnValue: TryGetable + for<'r> Decode<'r, Postgres> + FromElement {}

impl<T: TryGetable + for<'r> Decode<'r, Postgres> + FromElement> ColumnValue for T {}

/// A row type read from a page statement's columns, in its entity's column order.
pub trait FromColumns: Sized {
    fn from_columns(columns: &mut Columns<'_>) -> Result<Self, DbErr>;
}

#[cfg(test)]
mod tests {
    use entity::{post, user};
    use sea_orm::{IdenStatic, Iterable};

    /// A page selects an entity's columns in `Column::iter()`'s order, and `FromColumns` (in
    /// `db::posts`, `db::users`) reads them in this order: a new column goes into both.
    #[test]
    fn models_are_read_in_their_columns_order() {
        let names = |columns: Vec<&'static str>| columns;
        assert_eq!(
            names(post::Column::iter().map(|column| column.as_str()).collect()),
            [
                "id",
                "title",
                "title_folded",
                "content",
                "author_id",
                "created_at",
                "updated_at"
            ]
        );
        assert_eq!(
            names(user::Column::iter().map(|column| column.as_str()).collect()),
            [
                "id",
                "name",
                "name_folded",
                "email",
                "created_at",
                "password_hash",
                "role"
            ]
        );
    }
}
