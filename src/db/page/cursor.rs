//! Cursors: a position in a list, as the sort keys of one row, with the names of the list and
//! of the order they belong to, so that a cursor of one list or order is refused by every
//! other instead of being read as a position in it. Opaque to clients: base64 of a small JSON
//! array, `["User.posts", "ID_ASC", [42]]`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::{DbErr, Value};
use serde_json::json;
use std::sync::Arc;

use super::columns::Columns;
use super::order::KeyKind;
use crate::error::{AppError, AppResult};

/// One sort key's value at a position of a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum KeyValue {
    Id(i32),
    /// Microseconds since the Unix epoch.
    Time(i64),
    Text(String),
    Count(i64),
}

impl KeyValue {
    pub(super) fn to_sql(&self) -> AppResult<Value> {
        Ok(match self {
            KeyValue::Id(id) => (*id).into(),
            KeyValue::Time(micros) => DateTime::<Utc>::from_timestamp_micros(*micros)
                .ok_or_else(|| AppError::invalid("after", "not a valid cursor"))?
                .into(),
            KeyValue::Text(text) => text.clone().into(),
            KeyValue::Count(count) => (*count).into(),
        })
    }

    /// The next column of `columns`, as a key of `kind`.
    pub(super) fn read(columns: &mut Columns<'_>, kind: KeyKind) -> Result<Self, DbErr> {
        Ok(match kind {
            KeyKind::Id => KeyValue::Id(columns.read()?),
            KeyKind::Time => KeyValue::Time(columns.read_time()?.timestamp_micros()),
            KeyKind::Text => KeyValue::Text(columns.read()?),
            KeyKind::Count => KeyValue::Count(columns.read()?),
        })
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            KeyValue::Id(id) => json!(id),
            KeyValue::Time(micros) | KeyValue::Count(micros) => json!(micros),
            KeyValue::Text(text) => json!(text),
        }
    }

    fn from_json(value: &serde_json::Value, kind: KeyKind) -> Option<Self> {
        match kind {
            KeyKind::Id => Some(KeyValue::Id(i32::try_from(value.as_i64()?).ok()?)),
            KeyKind::Time => Some(KeyValue::Time(value.as_i64()?)),
            KeyKind::Text => Some(KeyValue::Text(value.as_str()?.to_string())),
            KeyKind::Count => Some(KeyValue::Count(value.as_i64()?)),
        }
    }
}

/// A position in a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub(super) list: &'static str,
    /// Shared by the cursors of a page: every row of it has one.
    pub(super) order: Arc<str>,
    pub(super) key: Vec<KeyValue>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let key: Vec<_> = self.key.iter().map(KeyValue::to_json).collect();
        URL_SAFE_NO_PAD.encode(json!([self.list, self.order, key]).to_string())
    }

    /// The cursor `text` as a position in the list `list` under the order named `order`,
    /// whose keys are of `kinds`; `field` names the argument in errors.
    pub(super) fn decode(
        list: &'static str,
        order: String,
        kinds: &[KeyKind],
        field: &str,
        text: &str,
    ) -> AppResult<Self> {
        let invalid = || AppError::invalid(field, "not a valid cursor");
        let payload: serde_json::Value = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(invalid)?;
        let [their_list, their_order, key] =
            payload.as_array().map(Vec::as_slice).unwrap_or_default()
        else {
            return Err(invalid());
        };
        let (Some(their_list), Some(their_order), Some(key)) =
            (their_list.as_str(), their_order.as_str(), key.as_array())
        else {
            return Err(invalid());
        };
        if their_list != list {
            return Err(AppError::invalid(
                field,
                format!("this cursor belongs to another list ({their_list}), not to {list}"),
            ));
        }
        if their_order != order {
            return Err(AppError::invalid(
                field,
                format!(
                    "this cursor belongs to another order ({their_order}) of {list}, not to \
                     {order}"
                ),
            ));
        }
        if key.len() != kinds.len() {
            return Err(invalid());
        }
        let key = key
            .iter()
            .zip(kinds)
            .map(|(value, kind)| KeyValue::from_json(value, *kind))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(invalid)?;
        Ok(Cursor {
            list,
            order: order.into(),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [KeyKind; 3] = [KeyKind::Time, KeyKind::Text, KeyKind::Id];

    fn cursor(list: &'static str, order: &str, key: Vec<KeyValue>) -> Cursor {
        Cursor {
            list,
            order: order.into(),
            key,
        }
    }

    fn key() -> Vec<KeyValue> {
        vec![
            KeyValue::Time(1_700_000_000_123_456),
            KeyValue::Text("Zoë".into()),
            KeyValue::Id(42),
        ]
    }

    #[test]
    fn cursors_round_trip() {
        let position = cursor("things", "NEWEST", key());
        assert_eq!(
            Cursor::decode(
                "things",
                "NEWEST".into(),
                &KINDS,
                "after",
                &position.encode()
            )
            .ok(),
            Some(position)
        );
    }

    #[test]
    fn cursors_of_another_list_or_order_or_garbage_are_refused() {
        let cases = [
            (
                "another list",
                cursor("others", "NEWEST", key()).encode(),
                "another list",
            ),
            (
                "another order",
                cursor("things", "OLDEST", key()).encode(),
                "another order",
            ),
            (
                "a key too short",
                cursor("things", "NEWEST", vec![KeyValue::Time(1)]).encode(),
                "not a valid cursor",
            ),
            (
                "a key of the wrong kind",
                URL_SAFE_NO_PAD.encode(r#"["things","NEWEST",["x","y",1]]"#),
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
            match Cursor::decode("things", "NEWEST".into(), &KINDS, "before", &text) {
                Err(AppError::InvalidInput {
                    field,
                    message: got,
                }) => {
                    assert_eq!(field, "before", "case {case}");
                    assert!(got.contains(message), "case {case}: {got}");
                }
                other => panic!("case {case}: expected BAD_USER_INPUT, got {other:?}"),
            }
        }
    }
}
