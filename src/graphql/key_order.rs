//! Puts every object of a response in the order of its selection, as GraphQL asks. async-graphql
//! inserts a field when it finishes, so a field that waits for the database (a list, a loader)
//! can land after fields selected after it; `resolve` keeps the order for the objects it
//! resolves, this pass for all the others (the query root, connections). It only moves keys when
//! they are out of order, and reads no key's hash: a response's objects are walked in step with
//! their selection.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Value};

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// A fragment spread inside a fragment inside...: validation refuses cycles; this only bounds
/// the walk if one ever got through.
const MAX_SPREAD_DEPTH: usize = 32;

/// Orders the objects of `data` as `selection` (the executed operation's) selects them.
pub fn restore(data: &mut Value, selection: &SelectionSet, document: &ExecutableDocument) {
    reorder(data, &[selection], &document.fragments);
}

/// The response keys `sets` select, in order of first appearance, each with the selection sets
/// under it (a key selected twice merges them).
type Plan<'d> = Vec<(&'d str, Vec<&'d SelectionSet>)>;

fn plan<'d>(sets: &[&'d SelectionSet], fragments: &'d Fragments) -> Plan<'d> {
    fn walk<'d>(
        set: &'d SelectionSet,
        fragments: &'d Fragments,
        plan: &mut Plan<'d>,
        depth: usize,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.as_str();
                    let under = &field.node.selection_set.node;
                    match plan.iter_mut().find(|(planned, _)| *planned == key) {
                        Some((_, sets)) => sets.push(under),
                        None => plan.push((key, vec![under])),
                    }
                }
                Selection::FragmentSpread(spread) if depth < MAX_SPREAD_DEPTH => {
                    if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                        walk(
                            &fragment.node.selection_set.node,
                            fragments,
                            plan,
                            depth + 1,
                        );
                    }
                }
                Selection::FragmentSpread(_) => {}
                Selection::InlineFragment(fragment) => {
                    walk(
                        &fragment.node.selection_set.node,
                        fragments,
                        plan,
                        depth + 1,
                    );
                }
            }
        }
    }
    let mut plan = Plan::new();
    for set in sets {
        walk(set, fragments, &mut plan, 0);
    }
    plan
}

fn reorder(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    if sets.iter().all(|set| set.items.is_empty()) {
        return;
    }
    match value {
        Value::List(items) if !items.is_empty() => {
            let plan = plan(sets, fragments);
            for item in items {
                apply(item, &plan, fragments);
            }
        }
        Value::Object(_) => apply(value, &plan(sets, fragments), fragments),
        _ => {}
    }
}

fn apply(value: &mut Value, plan: &Plan<'_>, fragments: &Fragments) {
    match value {
        Value::List(items) => {
            for item in items {
                apply(item, plan, fragments);
            }
        }
        Value::Object(object) => {
            let position = |key: &Name| {
                plan.iter()
                    .position(|(planned, _)| *planned == key.as_str())
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
            // In step: the keys are now in the plan's order.
            let mut planned = plan.iter();
            for (key, value) in object.iter_mut() {
                if let Some((_, sets)) = planned.find(|(planned, _)| *planned == key.as_str()) {
                    reorder(value, sets, fragments);
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

        restore(&mut data, &operation.selection_set.node, &document);

        let text = serde_json::to_string(&data).expect("JSON");
        assert_eq!(
            text,
            r#"{"b":{"nodes":[{"posts":{"nodes":[{"title":"T","id":"7"}]},"name":"Ann","id":"1"},{"posts":{"nodes":[]},"name":"Bob","id":"2"}]},"a":{"totalCount":2}}"#
        );
    }
}
