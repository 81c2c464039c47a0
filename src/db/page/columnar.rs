//! Pages read as columns, on PostgreSQL: a page's statement returns one row, whose columns are
//! arrays holding the page's values in the page's order (`array_agg`), instead of a row per
//! node; a relation's pages return one such row per parent.
//!
//! Why: SQLx hands every row through an async stream of its own (a message decoded, a row
//! built, a task woken and a value moved through a slot, under a tracing span), about 750
//! instructions a row before anything reads it. A page of a hundred posts cost that a hundred
//! times; as arrays it is one row, and its values are read straight from the message's bytes.
//! PostgreSQL sends the same values in fewer messages.
//!
//! Order: `array_agg` over a subquery takes the rows in the order the subquery yields them when
//! nothing at the aggregate's level can reorder them: no join, no grouping, which is how the
//! statements here are built (PostgreSQL's documentation of aggregate functions: "supplying
//! the input values from a sorted subquery"). All the arrays of a page are filled from the same
//! rows, so a row's values stay at the same index in each. The tests that check every order of
//! every list run on PostgreSQL too.
//!
//! Columns nobody reads (the placeholders of `Omit`, and the sort keys when no cursor is
//! wanted) are selected as one `NULL` rather than as an array of placeholders.

use sea_orm::sea_query::{Alias, Expr, Func, SelectStatement};
use sea_orm::sqlx::postgres::PgValueFormat;
use sea_orm::sqlx::{Row as _, ValueRef as _};
use sea_orm::{DbErr, QueryResult};

/// The name of a page's rows inside its aggregate.
const ROWS_ALIAS: &str = "page_rows";

/// `SELECT array_agg(<column>) AS <column>, ... FROM (<rows>) AS page_rows`, for each of
/// `columns` (a name of `rows`' columns, and whether anyone reads it: `NULL` when not).
pub(super) fn aggregated(rows: SelectStatement, columns: &[(&str, bool)]) -> SelectStatement {
    let mut select = SelectStatement::new();
    for &(name, read) in columns {
        let value = if read {
            Func::cust("array_agg")
                .arg(Expr::col((Alias::new(ROWS_ALIAS), Alias::new(name))))
                .into()
        } else {
            Expr::cust("NULL")
        };
        select.expr_as(value, Alias::new(name));
    }
    select.from_subquery(rows, Alias::new(ROWS_ALIAS));
    select
}

/// The values of one column of a page: each row's, in binary form (`None` for `NULL`).
pub type Values<'r> = Vec<Option<&'r [u8]>>;

/// The columns of a page statement's row from column `from` on: `None` for a column selected
/// as `NULL` (unread, or a page without rows), and how many rows the page holds.
pub(super) fn page_columns(
    row: &QueryResult,
    from: usize,
) -> Result<(Vec<Option<Values<'_>>>, usize), DbErr> {
    let row = row
        .try_as_pg_row()
        .ok_or_else(|| DbErr::Type("a page read as columns needs a PostgreSQL row".into()))?;
    let mut columns = Vec::with_capacity(row.len().saturating_sub(from));
    let mut rows = 0;
    for index in from..row.len() {
        let error = |message: String| DbErr::Type(format!("column {index}: {message}"));
        let value = row
            .try_get_raw(index)
            .map_err(|err| error(err.to_string()))?;
        if value.is_null() {
            columns.push(None);
            continue;
        }
        if value.format() != PgValueFormat::Binary {
            return Err(error("an array in text form".into()));
        }
        let bytes = value.as_bytes().map_err(|err| error(err.to_string()))?;
        let values = array_values(bytes).map_err(error)?;
        rows = values.len();
        columns.push(Some(values));
    }
    Ok((columns, rows))
}

/// The elements of a one-dimensional array in PostgreSQL's binary form: the number of
/// dimensions, a flag, the element type, each dimension's length and lower bound, then each
/// element's length (-1 for `NULL`) and bytes.
fn array_values(bytes: &[u8]) -> Result<Values<'_>, String> {
    let mut reader = Reader(bytes);
    let dimensions = reader.i32()?;
    let _has_nulls = reader.i32()?;
    let _element_type = reader.i32()?;
    match dimensions {
        0 => return Ok(Vec::new()),
        1 => {}
        _ => return Err(format!("an array of {dimensions} dimensions")),
    }
    let length = usize::try_from(reader.i32()?).map_err(|_| "a negative length".to_string())?;
    let _lower_bound = reader.i32()?;
    // Each element takes four bytes at least: a length read from a broken array cannot make
    // this allocate more than the array's size.
    let mut values = Vec::with_capacity(length.min(reader.0.len() / 4));
    for _ in 0..length {
        let size = reader.i32()?;
        values.push(match usize::try_from(size) {
            Ok(size) => Some(reader.take(size)?),
            Err(_) => None,
        });
    }
    Ok(values)
}

struct Reader<'r>(&'r [u8]);

impl<'r> Reader<'r> {
    fn take(&mut self, size: usize) -> Result<&'r [u8], String> {
        if self.0.len() < size {
            return Err("an array cut short".into());
        }
        let (taken, rest) = self.0.split_at(size);
        self.0 = rest;
        Ok(taken)
    }

    fn i32(&mut self) -> Result<i32, String> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}

/// A value read from the binary form of an array's element (`None` for `NULL`).
pub trait FromElement: Sized {
    fn from_element(value: Option<&[u8]>) -> Result<Self, String>;
}

fn not_null(value: Option<&[u8]>) -> Result<&[u8], String> {
    value.ok_or_else(|| "an unexpected NULL".to_string())
}

impl FromElement for i32 {
    fn from_element(value: Option<&[u8]>) -> Result<Self, String> {
        let bytes = not_null(value)?;
        let bytes = bytes
            .try_into()
            .map_err(|_| format!("{} bytes for an int4", bytes.len()))?;
        Ok(i32::from_be_bytes(bytes))
    }
}

impl FromElement for i64 {
    fn from_element(value: Option<&[u8]>) -> Result<Self, String> {
        let bytes = not_null(value)?;
        let bytes = bytes
            .try_into()
            .map_err(|_| format!("{} bytes for an int8", bytes.len()))?;
        Ok(i64::from_be_bytes(bytes))
    }
}

impl FromElement for String {
    fn from_element(value: Option<&[u8]>) -> Result<Self, String> {
        std::str::from_utf8(not_null(value)?)
            .map(str::to_owned)
            .map_err(|err| err.to_string())
    }
}

impl<T: FromElement> FromElement for Option<T> {
    fn from_element(value: Option<&[u8]>) -> Result<Self, String> {
        value.map(|bytes| T::from_element(Some(bytes))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An array in binary form: `elements` of type 23 (int4) or 25 (text).
    fn array(element_type: i32, elements: &[Option<&[u8]>]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for header in [1, 0, element_type, elements.len() as i32, 1] {
            bytes.extend_from_slice(&header.to_be_bytes());
        }
        for element in elements {
            match element {
                Some(value) => {
                    bytes.extend_from_slice(&(value.len() as i32).to_be_bytes());
                    bytes.extend_from_slice(value);
                }
                None => bytes.extend_from_slice(&(-1_i32).to_be_bytes()),
            }
        }
        bytes
    }

    #[test]
    fn an_arrays_elements_are_read_in_order_with_their_nulls() {
        let bytes = array(25, &[Some(b"first"), None, Some(b""), Some(b"last")]);
        let values = array_values(&bytes).expect("an array");
        let read: Vec<Option<String>> = values
            .iter()
            .map(|value| Option::<String>::from_element(*value).expect("text"))
            .collect();
        assert_eq!(
            read,
            [
                Some("first".into()),
                None,
                Some(String::new()),
                Some("last".into())
            ]
        );
    }

    #[test]
    fn integers_are_read_big_endian_and_a_wrong_size_is_an_error() {
        let bytes = array(23, &[Some(&7_i32.to_be_bytes()), Some(&[0, 1])]);
        let values = array_values(&bytes).expect("an array");
        assert_eq!(i32::from_element(values[0]), Ok(7));
        assert!(i32::from_element(values[1]).is_err());
        assert!(i32::from_element(None).is_err(), "NULL is not an int4");
        assert_eq!(
            i64::from_element(Some(&(-3_i64).to_be_bytes())),
            Ok(-3),
            "int8"
        );
    }

    #[test]
    fn an_empty_array_has_no_elements_and_a_cut_one_is_an_error() {
        let empty = [0_i32, 0, 23]
            .iter()
            .flat_map(|header| header.to_be_bytes())
            .collect::<Vec<u8>>();
        assert_eq!(array_values(&empty), Ok(Vec::new()));
        let bytes = array(25, &[Some(b"text")]);
        assert!(array_values(&bytes[..bytes.len() - 1]).is_err());
        assert!(array_values(&bytes[..10]).is_err());
    }
}
