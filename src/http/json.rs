//! A response's JSON text: its data written straight from async-graphql's values
//! (`graphql::json`), its errors and extensions by serde_json, so the text is serde_json's
//! byte for byte.

use std::collections::BTreeMap;

use async_graphql::{ServerError, Value};

use crate::graphql::json::write_value;

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
