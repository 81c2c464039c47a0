//! Parsed documents, kept by their text. A client sends the same few documents again and again
//! (a frontend's queries are fixed strings; what changes is their variables), and parsing one
//! cost more than running it: a third of the server's instructions for a query that reads one
//! user and ten posts. A document seen before is cloned from here instead, about a tenth of
//! the cost of parsing it.
//!
//! A document also remembers the few operation names and variables it ran with: validation
//! depends on nothing else, so the same request again is known to pass it and is not validated
//! again (`known_valid`).
//!
//! The cache is bounded by its number of documents and by the length of their texts, so a
//! client sending ever new documents only churns it: an entry is evicted at random to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::parser::{self, parse_query};
use async_graphql::{Value, Variables};

use crate::graphql::document::selected_operation;
use crate::graphql::key_order::KeyOrder;

/// At most this many documents are kept...
const MAX_DOCUMENTS: usize = 512;
/// ...their texts adding up to at most this many bytes (a parsed document takes several times
/// its text's size).
const MAX_TEXT_BYTES: usize = 256 * 1024;
/// A longer text is parsed every time: it is not the kind a client repeats.
const MAX_CACHED_TEXT: usize = 16 * 1024;
/// How many (operation name, variables) a document remembers as validated...
const MAX_VALIDATED: usize = 8;
/// ...each with variables of about this many bytes at most (larger ones are validated every
/// time), so that what is remembered stays small whatever clients send.
const MAX_VALIDATED_VARIABLES_BYTES: usize = 512;

/// The parsed documents, shared by all requests.
#[derive(Default)]
pub struct Documents {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_text: HashMap<Arc<str>, Arc<Parsed>>,
    text_bytes: usize,
}

/// A parsed document, the requests with it known to pass validation, and the key order of each
/// of its operations that ran.
pub struct Parsed {
    pub document: ExecutableDocument,
    validated: Mutex<Vec<(Option<String>, Variables)>>,
    /// By the name of the operation in a document of several, `None` for a document of one.
    key_orders: Mutex<Vec<(Option<String>, Arc<KeyOrder>)>>,
}

impl Parsed {
    /// Whether the request with this operation name and these variables passed validation
    /// before.
    pub fn validated(&self, operation_name: Option<&str>, variables: &Variables) -> bool {
        knows(&lock(&self.validated), operation_name, variables)
    }

    /// Remembers that the request with this operation name and these variables passed
    /// validation: the first few such requests only (a document is mostly sent with few), and
    /// only with small variables.
    pub fn set_validated(&self, operation_name: Option<&str>, variables: &Variables) {
        let mut validated = lock(&self.validated);
        if validated.len() < MAX_VALIDATED
            && !knows(&validated, operation_name, variables)
            && size_within(variables, MAX_VALIDATED_VARIABLES_BYTES)
        {
            validated.push((operation_name.map(str::to_owned), variables.clone()));
        }
    }
}

impl Parsed {
    /// The key order of the operation `operation_name` selects (see `key_order`), built the
    /// first time it is asked for; `None` when no operation is selected.
    pub fn key_order(&self, operation_name: Option<&str>) -> Option<Arc<KeyOrder>> {
        let operation = selected_operation(&self.document, operation_name)?;
        // Only the names of the document's own operations: an anonymous operation runs
        // whatever name comes with it.
        let name = match &self.document.operations {
            DocumentOperations::Single(_) => None,
            DocumentOperations::Multiple(_) => operation_name,
        };
        let mut orders = lock(&self.key_orders);
        if let Some((_, order)) = orders.iter().find(|(known, _)| known.as_deref() == name) {
            return Some(Arc::clone(order));
        }
        let order = Arc::new(KeyOrder::of(&operation.selection_set.node, &self.document));
        orders.push((name.map(str::to_owned), Arc::clone(&order)));
        Some(order)
    }
}

fn knows(
    validated: &[(Option<String>, Variables)],
    operation_name: Option<&str>,
    variables: &Variables,
) -> bool {
    validated
        .iter()
        .any(|(name, known)| name.as_deref() == operation_name && known == variables)
}

/// Whether `variables` take about `budget` bytes or fewer (names and strings by their length,
/// anything else by 8), found without walking past the budget.
fn size_within(variables: &Variables, budget: usize) -> bool {
    fn take(left: &mut usize, cost: usize) -> bool {
        match left.checked_sub(cost) {
            Some(rest) => {
                *left = rest;
                true
            }
            None => false,
        }
    }
    fn spend(value: &Value, left: &mut usize) -> bool {
        match value {
            Value::String(text) => take(left, text.len()),
            Value::Enum(name) => take(left, name.len()),
            Value::Binary(bytes) => take(left, bytes.len()),
            Value::List(items) => take(left, 8) && items.iter().all(|item| spend(item, left)),
            Value::Object(members) => {
                take(left, 8)
                    && members
                        .iter()
                        .all(|(name, member)| take(left, name.len()) && spend(member, left))
            }
            Value::Null | Value::Number(_) | Value::Boolean(_) => take(left, 8),
        }
    }
    let mut left = budget;
    variables
        .iter()
        .all(|(name, value)| take(&mut left, name.len()) && spend(value, &mut left))
}

/// A lock whose holder panicked is as good as any: every change under these locks is whole
/// before the next statement can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Documents {
    /// The document `text` parses to: the one kept if `text` was seen before, else parsed now
    /// (and kept, room allowing).
    pub fn parse(&self, text: &str) -> Result<Arc<Parsed>, parser::Error> {
        if let Some(parsed) = self.entries().by_text.get(text) {
            return Ok(Arc::clone(parsed));
        }
        let parsed = Arc::new(Parsed {
            document: parse_query(text)?,
            validated: Mutex::default(),
            key_orders: Mutex::default(),
        });
        if text.len() <= MAX_CACHED_TEXT {
            self.entries().insert(text, Arc::clone(&parsed));
        }
        Ok(parsed)
    }

    /// How many documents are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().by_text.len()
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        lock(&self.entries)
    }
}

impl Entries {
    fn insert(&mut self, text: &str, parsed: Arc<Parsed>) {
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
        self.by_text.insert(text.into(), parsed);
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
    fn a_document_remembers_the_requests_that_passed_validation() {
        let documents = Documents::default();
        let parsed = documents
            .parse("query A($n: Int) { users(first: $n) { totalCount } } query B { posts { totalCount } }")
            .expect("parses");
        let five = Variables::from_json(serde_json::json!({ "n": 5 }));
        let six = Variables::from_json(serde_json::json!({ "n": 6 }));

        parsed.set_validated(Some("A"), &five);

        assert!(parsed.validated(Some("A"), &five));
        assert!(!parsed.validated(Some("A"), &six));
        assert!(!parsed.validated(Some("B"), &five));
        assert!(!parsed.validated(None, &five));
        for n in 0..MAX_VALIDATED * 2 {
            let variables = Variables::from_json(serde_json::json!({ "n": n }));
            parsed.set_validated(Some("A"), &variables);
        }
        assert_eq!(lock(&parsed.validated).len(), MAX_VALIDATED);
    }

    #[test]
    fn a_key_order_is_built_once_per_operation() {
        let documents = Documents::default();
        let one = documents.parse("{ users { totalCount } }").expect("parses");
        let two = documents
            .parse("query A { users { totalCount } } query B { posts { totalCount } }")
            .expect("parses");

        let first = one.key_order(Some("A")).expect("an order");
        // A document of one anonymous operation runs it under any name: one order.
        let renamed = one.key_order(Some("Z")).expect("an order");
        let a = two.key_order(Some("A")).expect("an order");
        let b = two.key_order(Some("B")).expect("an order");

        assert!(Arc::ptr_eq(&first, &renamed));
        assert!(Arc::ptr_eq(&first, &one.key_order(None).expect("an order")));
        assert_eq!(lock(&one.key_orders).len(), 1);
        assert!(Arc::ptr_eq(
            &a,
            &two.key_order(Some("A")).expect("an order")
        ));
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(two.key_order(None).is_none());
        assert!(two.key_order(Some("Z")).is_none());
        assert_eq!(lock(&two.key_orders).len(), 2);
    }

    #[test]
    fn large_variables_are_not_remembered() {
        let documents = Documents::default();
        let parsed = documents
            .parse("query ($filter: PostFilterInput) { posts(filter: $filter) { totalCount } }")
            .expect("parses");
        let small =
            Variables::from_json(serde_json::json!({ "filter": { "title": { "eq": "A" } } }));
        let large = Variables::from_json(
            serde_json::json!({ "filter": { "title": { "eq": "x".repeat(MAX_VALIDATED_VARIABLES_BYTES) } } }),
        );
        let many = Variables::from_json(
            serde_json::json!({ "ids": vec![1; MAX_VALIDATED_VARIABLES_BYTES] }),
        );

        parsed.set_validated(None, &small);
        parsed.set_validated(None, &large);
        parsed.set_validated(None, &many);

        assert!(parsed.validated(None, &small));
        assert!(!parsed.validated(None, &large));
        assert!(!parsed.validated(None, &many));
    }

    #[test]
    fn a_text_that_does_not_parse_is_an_error_and_is_not_kept() {
        let documents = Documents::default();
        assert!(documents.parse("{ users { ").is_err());
        assert_eq!(documents.len(), 0);
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
