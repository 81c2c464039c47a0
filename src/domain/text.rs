//! What every stored text must be, whatever the database: PostgreSQL cannot store the NUL
//! character (U+0000) in a text column, while SQLite and MariaDB can. Refusing it everywhere
//! makes the three databases answer the same, with the field named, instead of PostgreSQL
//! failing the write. (Rust strings are valid UTF-8, so no other character is out of reach of
//! any of them: MariaDB's tables are utf8mb4.)

use crate::error::{AppError, AppResult};

/// `text` as case-insensitive comparisons see it: lower-cased, Unicode-aware (`É` is `é`).
/// Folded copies of titles and names are stored for filters; the migration that added them
/// folds existing rows the same way.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// `text` unless it holds a character some supported database cannot store.
pub fn storable(field: &str, text: String) -> AppResult<String> {
    if text.contains('\0') {
        return Err(AppError::invalid(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_and_named() {
        assert_eq!(
            storable("title", "a\u{1}é😀".into()).ok().as_deref(),
            Some("a\u{1}é😀")
        );
        match storable("content", "a\0b".into()) {
            Err(AppError::InvalidInput { field, .. }) => assert_eq!(field, "content"),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }
}
