//! A response's JSON text, written straight from async-graphql's values. serde_json's
//! serializer reached each value through serde's generic machinery and escaped every string
//! byte by byte; a response is mostly short strings with nothing to escape, which are copied
//! here as they are. Anything else (a string that needs escaping, a number, binary data, the
//! errors) is left to serde_json, so the text is the same byte for byte.

use std::collections::BTreeMap;

use async_graphql::{ServerError, Value};

/// `{"data":…,"errors":[…],"extensions":{…}}`, each member only when present (data) or not
/// empty (errors, extensions), as `serde_json` writes the derived `Serialize` of that shape.
pub fn write_response(
    data: Option<&Value>,
    errors: &[ServerError],
    extensions: &BTreeMap<String, Value>,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    out.push(b'{');
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, name: &[u8]| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        out.extend_from_slice(name);
    };
    if let Some(data) = data {
        member(&mut out, b"\"data\":");
        write_value(&mut out, data)?;
    }
    if !errors.is_empty() {
        member(&mut out, b"\"errors\":");
        serde_json::to_writer(&mut out, errors)?;
    }
    if !extensions.is_empty() {
        member(&mut out, b"\"extensions\":");
        serde_json::to_writer(&mut out, extensions)?;
    }
    out.push(b'}');
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
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
        Value::Number(_) | Value::Binary(_) => serde_json::to_writer(&mut *out, value)?,
    }
    Ok(())
}

/// A JSON string: copied when nothing in it needs escaping (no quote, backslash or control
/// character), else written by serde_json.
fn write_str(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
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
    use async_graphql::{value, Name, Pos};

    use super::*;

    /// What serde_json writes for the same response.
    #[derive(serde::Serialize)]
    struct Body<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a Value>,
        #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
        errors: &'a [ServerError],
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        extensions: &'a BTreeMap<String, Value>,
    }

    fn both(data: Option<&Value>, errors: &[ServerError], extensions: &BTreeMap<String, Value>) {
        let ours = write_response(data, errors, extensions).expect("written");
        let theirs = serde_json::to_vec(&Body {
            data,
            errors,
            extensions,
        })
        .expect("serialised");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

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
    fn the_text_is_serde_jsons_byte_for_byte() {
        let mut data = value!({
            "plain": "Post 1 by 42",
            "empty": "",
            "quote": "say \"hi\"",
            "backslash": "C:\\path",
            "controls": "tab\tnew\nline\u{1}\u{1f}",
            "unicode": "héllo ✓ 🎉 \u{7f} </script>",
            "numbers": [0, -7, 42, 1.5, -0.25, 1e300, 9007199254740993u64],
            "flags": [true, false, null],
            "nested": { "list": [[], {}, [{ "a": { "b": [] } }]] },
            "k\"ey\n": 1,
        });
        if let Value::Object(members) = &mut data {
            members.insert(Name::new("kind"), Value::Enum(Name::new("CREATED_AT")));
            members.insert(Name::new("bytes"), Value::Binary(vec![0u8, 1, 255].into()));
        }
        let mut extensions = BTreeMap::new();
        extensions.insert("cost".to_string(), value!({ "total": 3 }));
        let mut error = ServerError::new("Bad \"input\"\n", Some(Pos { line: 1, column: 2 }));
        error.path = vec![async_graphql::PathSegment::Field("user".into())];

        both(Some(&data), &[], &BTreeMap::new());
        both(Some(&data), std::slice::from_ref(&error), &extensions);
        both(None, std::slice::from_ref(&error), &BTreeMap::new());
        both(
            Some(&Value::Null),
            std::slice::from_ref(&error),
            &BTreeMap::new(),
        );
        both(None, &[], &BTreeMap::new());
        both(None, &[], &extensions);
    }
}
