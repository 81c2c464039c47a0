//! Puts every object of a response in the order of its selection, as GraphQL asks. async-graphql
//! inserts a field when it finishes, so a field that waits for the database (a list, a loader)
//! can land after fields selected after it; `resolve` keeps the order for the objects it
//! resolves, this pass for all the others (the query root, connections). It only moves keys when
//! they are out of order, and reads no key's hash: a response's objects are walked in step with
//! the order, which is built once per request from the document.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Value};

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// How deep the order is followed (fragments included). The document's depth is bounded long
/// before (`--max-depth`); this only bounds the walk of a document that fails validation.
const MAX_DEPTH: usize = 64;

/// The response keys a selection asks for, in order of first appearance, each with the order
/// of the selection under it (a key selected twice merges its selections). Built once per
/// request from the document, before it runs: the size of the document, not of the response.
#[derive(Debug, Default)]
pub struct KeyOrder {
    keys: Vec<(Name, KeyOrder)>,
    /// Whether a key here or below is selected more than once with fields under it.
    merges: bool,
}

impl KeyOrder {
    /// The order of `selection` (an operation's) in `document`. Call it on a document whose
    /// expanded size was checked (`document::check`): fragments are spread where they are used.
    pub fn of(selection: &SelectionSet, document: &ExecutableDocument) -> Self {
        build(&[selection], &document.fragments, 0)
    }

    /// Puts the objects of `data` in this order.
    pub fn restore(&self, data: &mut Value) {
        apply(data, self);
    }

    /// Whether a response key, anywhere in the selection, is selected more than once with
    /// fields under it (`nodes { id } nodes { title }`, or once in a fragment): the executor
    /// then resolves each selection apart and merges their values, which only values of
    /// objects and lists can be (not lists written as JSON text, `resolve::JsonLists`).
    pub fn merges_selections(&self) -> bool {
        self.merges
    }
}

fn build(sets: &[&SelectionSet], fragments: &Fragments, depth: usize) -> KeyOrder {
    fn walk<'d>(
        set: &'d SelectionSet,
        fragments: &'d Fragments,
        keys: &mut Vec<(&'d Name, Vec<&'d SelectionSet>)>,
        depth: usize,
        cut: &mut bool,
    ) {
        if depth > MAX_DEPTH {
            *cut = true;
            return;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = &field.node.response_key().node;
                    let under = &field.node.selection_set.node;
                    match keys.iter_mut().find(|(known, _)| *known == key) {
                        Some((_, sets)) => sets.push(under),
                        None => keys.push((key, vec![under])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                        walk(
                            &fragment.node.selection_set.node,
                            fragments,
                            keys,
                            depth + 1,
                            cut,
                        );
                    }
                }
                Selection::InlineFragment(fragment) => {
                    walk(
                        &fragment.node.selection_set.node,
                        fragments,
                        keys,
                        depth + 1,
                        cut,
                    );
                }
            }
        }
    }
    let mut keys = Vec::new();
    // Where the walk stopped at `MAX_DEPTH`, whether keys merge is not known: say they may.
    let mut cut = false;
    for set in sets {
        walk(set, fragments, &mut keys, depth, &mut cut);
    }
    let mut merges = cut;
    let keys = keys
        .into_iter()
        .map(|(key, under)| {
            let with_fields = under.iter().filter(|set| !set.items.is_empty()).count();
            let order = if with_fields == 0 {
                KeyOrder::default()
            } else if depth < MAX_DEPTH {
                build(&under, fragments, depth + 1)
            } else {
                KeyOrder {
                    keys: Vec::new(),
                    merges: true,
                }
            };
            merges |= with_fields > 1 || order.merges;
            (key.clone(), order)
        })
        .collect();
    KeyOrder { keys, merges }
}

/// Whether two response keys are the same; the executor's are clones of the document's names,
/// so mostly the very same string.
fn same(a: &Name, b: &Name) -> bool {
    let (a, b) = (a.as_str(), b.as_str());
    std::ptr::eq(a, b) || a == b
}

fn apply(value: &mut Value, order: &KeyOrder) {
    if order.keys.is_empty() {
        return;
    }
    match value {
        Value::List(items) => {
            for item in items {
                apply(item, order);
            }
        }
        Value::Object(object) => {
            // Most objects hold exactly the keys of their order, in its order (`resolve`
            // answers them so): checked in step, with no search for each key.
            if object.len() == order.keys.len()
                && object
                    .keys()
                    .zip(&order.keys)
                    .all(|(key, (planned, _))| same(planned, key))
            {
                for ((_, value), (_, under)) in object.iter_mut().zip(&order.keys) {
                    apply(value, under);
                }
                return;
            }
            let position = |key: &Name| {
                order
                    .keys
                    .iter()
                    .position(|(planned, _)| same(planned, key))
                    .unwrap_or(usize::MAX)
            };
            let mut last = 0;
            let in_order = object.keys().all(|key| {
                let at = position(key);
                let ok = at >= last;
                last = at;
                ok
            });
            if !in_order {
                object.sort_by_cached_key(|key, _| position(key));
            }
            // In step: the keys are now in the order's order.
            let mut planned = order.keys.iter();
            for (key, value) in object.iter_mut() {
                if let Some((_, under)) = planned.find(|(planned, _)| same(planned, key)) {
                    apply(value, under);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use async_graphql::value;

    use super::*;
    use crate::graphql::document::selected_operation;

    #[test]
    fn objects_take_the_order_of_their_selection() {
        let document = parse_query(
            "{ b: users { nodes { ...Names id } } a: posts { totalCount } } \
             fragment Names on User { posts { nodes { title id } } name }",
        )
        .expect("a document");
        // As async-graphql may answer: fields in the order they finished.
        let mut data = value!({
            "a": { "totalCount": 2 },
            "b": { "nodes": [
                { "id": "1", "name": "Ann", "posts": { "nodes": [{ "id": "7", "title": "T" }] } },
                { "name": "Bob", "id": "2", "posts": { "nodes": [] } },
            ] },
        });
        let operation = selected_operation(&document, None).expect("one operation");

        KeyOrder::of(&operation.selection_set.node, &document).restore(&mut data);

        let text = serde_json::to_string(&data).expect("JSON");
        assert_eq!(
            text,
            r#"{"b":{"nodes":[{"posts":{"nodes":[{"title":"T","id":"7"}]},"name":"Ann","id":"1"},{"posts":{"nodes":[]},"name":"Bob","id":"2"}]},"a":{"totalCount":2}}"#
        );
    }

    #[test]
    fn keys_selected_twice_with_fields_under_them_are_told() {
        let merges = |text: &str| {
            let document = parse_query(text).expect("a document");
            let operation = selected_operation(&document, None).expect("one operation");
            KeyOrder::of(&operation.selection_set.node, &document).merges_selections()
        };
        assert!(!merges(
            "{ posts { nodes { id title id } edges { cursor } } }"
        ));
        assert!(!merges(
            "{ a: posts { nodes { id } } b: posts { nodes { title } } }"
        ));
        assert!(merges("{ posts { nodes { id } nodes { title } } }"));
        assert!(merges("{ posts { nodes { id } } posts { totalCount } }"));
        assert!(merges(
            "{ users { nodes { posts { nodes { id } ...More } } } } \
             fragment More on PostConnection { nodes { title } }"
        ));
        assert!(merges(
            "{ posts { nodes { id } ... on PostConnection { nodes { id } } } }"
        ));
    }

    #[test]
    fn objects_in_order_still_have_theirs_put_in_order() {
        let document = parse_query("{ users { nodes { name id } } }").expect("a document");
        // The outer objects are in order, an inner one is not.
        let mut data = value!({
            "users": { "nodes": [{ "name": "Ann", "id": "1" }, { "id": "2", "name": "Bob" }] },
        });
        let operation = selected_operation(&document, None).expect("one operation");

        KeyOrder::of(&operation.selection_set.node, &document).restore(&mut data);

        let text = serde_json::to_string(&data).expect("JSON");
        assert_eq!(
            text,
            r#"{"users":{"nodes":[{"name":"Ann","id":"1"},{"name":"Bob","id":"2"}]}}"#
        );
    }
}
