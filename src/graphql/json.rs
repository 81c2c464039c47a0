//! JSON text written straight from async-graphql's values. serde_json's serializer reached
//! each value through serde's generic machinery and escaped every string byte by byte; a
//! response is mostly short strings with nothing to escape, which are copied here as they are.
//! A string that needs escaping and a number are left to serde_json, so the text is the same
//! byte for byte.
//!
//! One departure: `Value::Binary` holds JSON text already written (a list of plain objects,
//! see `resolve::JsonLists`), copied as it is. Only responses written here may hold it: HTTP
//! asks for such lists, the WebSocket transport (which serialises with serde) does not.

use async_graphql::Value;

/// The JSON text of `value`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::String(text) => write_str(out, text)?,
        Value::Enum(name) => write_str(out, name)?,
        Value::List(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (index, (name, member)) in members.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_str(out, name)?;
                out.push(b':');
                write_value(out, member)?;
            }
            out.push(b'}');
        }
        // JSON text written while resolving (`graphql::resolve::JsonLists`): no type of the
        // schema resolves to bytes.
        Value::Binary(text) => out.extend_from_slice(text),
        Value::Number(_) => serde_json::to_writer(&mut *out, value)?,
    }
    Ok(())
}

/// A JSON string: copied when nothing in it needs escaping (no quote, backslash or control
/// character), else written by serde_json.
pub fn write_str(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    if !needs_escape(text.as_bytes()) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(out, text)
    }
}

/// Whether `bytes` hold a quote, a backslash or a control character; eight bytes at a time
/// (a response is mostly strings, and a byte at a time was most of writing one).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::MAX / 255;
    const HIGHS: u64 = ONES * 0x80;
    // Whether a byte of `word` is below `n` (at most 0x80): exact, as a yes or no.
    let has_less = |word: u64, n: u64| word.wrapping_sub(ONES * n) & !word & HIGHS != 0;
    let has = |word: u64, byte: u8| has_less(word ^ (ONES * u64::from(byte)), 1);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if has_less(word, 0x20) || has(word, b'"') || has(word, b'\\') {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\')
}

#[cfg(test)]
mod tests {
    use async_graphql::{value, Name};

    use super::*;

    #[test]
    fn escapes_are_found_wherever_they_are() {
        let plain = |byte: u8| byte >= 0x20 && byte != b'"' && byte != b'\\';
        for length in 0..20 {
            for at in 0..length {
                for byte in 0..=255u8 {
                    let mut text = vec![b'a'; length];
                    text[at] = byte;
                    assert_eq!(
                        needs_escape(&text),
                        !plain(byte),
                        "{byte} at {at} of {length}"
                    );
                }
            }
        }
        // UTF-8's continuation bytes are plain (all at or above 0x80).
        assert!(!needs_escape("zoë — ünïcödé ✓".as_bytes()));
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them_and_binary_as_it_is() {
        let data = value!({
            "plain": "Post 1 by 42",
            "quote": "say \"hi\"",
            "numbers": [0, -7, 1.5, 1e300],
            "flags": [true, false, null],
        });
        let mut ours = Vec::new();
        write_value(&mut ours, &data).expect("written");
        assert_eq!(ours, serde_json::to_vec(&data).expect("serialised"));

        let mut object = async_graphql::indexmap::IndexMap::new();
        object.insert(
            Name::new("nodes"),
            Value::Binary(br#"[{"id":"1"}]"#.to_vec().into()),
        );
        let mut ours = Vec::new();
        write_value(&mut ours, &Value::Object(object)).expect("written");
        assert_eq!(ours, br#"{"nodes":[{"id":"1"}]}"#);
    }
}
