//! Parsed documents, kept by their text. A client sends the same few documents again and again
//! (a frontend's queries are fixed strings; what changes is their variables), and parsing one
//! cost more than running it: a third of the server's instructions for a query that reads one
//! user and ten posts. A document seen before is cloned from here instead, about a tenth of
//! the cost of parsing it.
//!
//! The cache is bounded by its number of documents and by the length of their texts, so a
//! client sending ever new documents only churns it: an entry is evicted at random to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::parser::{self, parse_query};

/// At most this many documents are kept...
const MAX_DOCUMENTS: usize = 512;
/// ...their texts adding up to at most this many bytes (a parsed document takes a few times
/// its text's size).
const MAX_TEXT_BYTES: usize = 512 * 1024;
/// A longer text is parsed every time: it is not the kind a client repeats.
const MAX_CACHED_TEXT: usize = 16 * 1024;

/// The parsed documents, shared by all requests.
#[derive(Default)]
pub struct Documents {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_text: HashMap<Arc<str>, Arc<ExecutableDocument>>,
    text_bytes: usize,
}

impl Documents {
    /// The document `text` parses to: the one kept if `text` was seen before, else parsed now
    /// (and kept, room allowing).
    pub fn parse(&self, text: &str) -> Result<Arc<ExecutableDocument>, parser::Error> {
        if let Some(document) = self.entries().by_text.get(text) {
            return Ok(Arc::clone(document));
        }
        let document = Arc::new(parse_query(text)?);
        if text.len() <= MAX_CACHED_TEXT {
            self.entries().insert(text, Arc::clone(&document));
        }
        Ok(document)
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.entries().by_text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves the map as it was between two whole
        // operations: still usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entries {
    fn insert(&mut self, text: &str, document: Arc<ExecutableDocument>) {
        if self.by_text.contains_key(text) {
            return;
        }
        while !self.by_text.is_empty()
            && (self.by_text.len() >= MAX_DOCUMENTS
                || self.text_bytes + text.len() > MAX_TEXT_BYTES)
        {
            // The first key of a hash map is as good as a random one.
            let Some(victim) = self.by_text.keys().next().cloned() else {
                break;
            };
            self.by_text.remove(&victim);
            self.text_bytes -= victim.len();
        }
        self.text_bytes += text.len();
        self.by_text.insert(text.into(), document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_seen_before_gives_the_same_document() {
        let documents = Documents::default();
        let first = documents
            .parse("{ users { nodes { id } } }")
            .expect("parses");
        let again = documents
            .parse("{ users { nodes { id } } }")
            .expect("parses");
        let other = documents
            .parse("{ posts { nodes { id } } }")
            .expect("parses");

        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(documents.len(), 2);
    }

    #[test]
    fn a_text_that_does_not_parse_is_an_error_and_is_not_kept() {
        let documents = Documents::default();
        assert!(documents.parse("{ users { ").is_err());
        assert!(documents.is_empty());
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let documents = Documents::default();
        for n in 0..MAX_DOCUMENTS * 2 {
            documents
                .parse(&format!("{{ user(id: \"{n}\") {{ id }} }}"))
                .expect("parses");
        }
        assert_eq!(documents.len(), MAX_DOCUMENTS);

        // Long texts: the byte bound comes first.
        let long = |n: usize| format!("{{ user(id: \"{n}\") {{ id }} }} #{}", "x".repeat(8000));
        for n in 0..200 {
            documents.parse(&long(n)).expect("parses");
        }
        let entries = documents.entries();
        assert!(
            entries.text_bytes <= MAX_TEXT_BYTES,
            "{}",
            entries.text_bytes
        );
        assert_eq!(
            entries.text_bytes,
            entries.by_text.keys().map(|text| text.len()).sum::<usize>()
        );
        drop(entries);

        // Too long to keep, but parsed all the same.
        let huge = format!(
            "{{ users {{ nodes {{ id }} }} }} #{}",
            "x".repeat(MAX_CACHED_TEXT)
        );
        let before = documents.len();
        documents.parse(&huge).expect("parses");
        assert_eq!(documents.len(), before);
        assert!(!documents.entries().by_text.contains_key(huge.as_str()));
    }
}
