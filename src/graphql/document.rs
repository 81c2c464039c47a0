//! Checks of a parsed document that run before anything else walks it. async-graphql's
//! validation visits a fragment again at every spread of it, so a document of a few hundred
//! bytes whose fragments each spread the previous one ten times makes it visit millions of
//! fields. Here each fragment's expanded size is computed once (memoised, iteratively, so a long
//! chain of fragments cannot exhaust the stack), and a document is refused when its expansion
//! exceeds `--max-fields`, a field carries more than `--max-directives` directives, or the
//! operation asks for more than `--max-root-fields` root fields or `--max-aliases` aliases.
//! With introspection turned off, `__schema` and `__type` are refused here too, with a message
//! (async-graphql would answer them with a silent `null`).

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Positioned, ServerError};

use crate::config::Settings;

/// What a document may hold; see the module documentation.
#[derive(Debug, Clone)]
pub struct DocumentLimits {
    pub max_fields: usize,
    pub max_directives: usize,
    pub max_root_fields: usize,
    pub max_aliases: usize,
    pub introspection: bool,
}

impl DocumentLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        let limits = &settings.limits;
        DocumentLimits {
            max_fields: limits.max_fields,
            max_directives: limits.max_directives,
            max_root_fields: limits.max_root_fields,
            max_aliases: limits.max_aliases,
            introspection: settings.exposure.introspection,
        }
    }
}

/// A document refused before validation: the message names the figure, the limit and the flag
/// that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// The flag of the limit, e.g. `max-fields`; `None` for a refusal that is no limit.
    pub limit: Option<&'static str>,
}

impl Refusal {
    fn over(what: &str, count: u64, limit: &'static str, max: usize) -> Self {
        let count = if count == u64::MAX {
            "more than 18 quintillion".to_string()
        } else {
            count.to_string()
        };
        let env = format!("BLOGQL_{}", limit.to_uppercase().replace('-', "_"));
        Refusal {
            message: format!(
                "the document has {count} {what}; at most {max} are accepted (--{limit} / {env})"
            ),
            limit: Some(limit),
        }
    }

    fn plain(message: String) -> Self {
        Refusal {
            message,
            limit: None,
        }
    }

    /// As a GraphQL request error: `GRAPHQL_VALIDATION_FAILED`, with `limit` naming the flag.
    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.message, None);
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", "GRAPHQL_VALIDATION_FAILED");
        if let Some(limit) = self.limit {
            extensions.set("limit", limit);
        }
        error
    }
}

/// Sizes of a selection set once its fragments are expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Size {
    /// Every field, at every depth.
    fields: u64,
    /// Fields at the top of the selection set (for an operation: its root fields).
    top: u64,
    /// Fields with an alias, at every depth.
    aliases: u64,
    /// Whether `__schema` or `__type` is selected anywhere.
    introspects: bool,
}

impl Size {
    fn add(&mut self, other: Size, at_top: bool) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        if at_top {
            self.top = self.top.saturating_add(other.top);
        }
        self.introspects |= other.introspects;
    }
}

/// A selection set's own fields, and the fragments it spreads (with whether at its top).
#[derive(Default)]
struct Summary<'a> {
    own: Size,
    spreads: Vec<(&'a str, bool)>,
}

/// Checks `document` against `limits`; `operation_name` selects the operation that would run.
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    limits: &DocumentLimits,
) -> Result<(), Refusal> {
    let mut summaries = HashMap::with_capacity(document.fragments.len());
    for (name, fragment) in &document.fragments {
        check_directives(fragment.node.directives.len(), limits)?;
        summaries.insert(
            name.as_str(),
            summarize(&fragment.node.selection_set, limits)?,
        );
    }
    let mut expanded = Expansion {
        summaries: &summaries,
        sizes: HashMap::with_capacity(summaries.len()),
    };

    let operations: Vec<(Option<&str>, &Positioned<OperationDefinition>)> =
        match &document.operations {
            DocumentOperations::Single(operation) => vec![(None, operation)],
            DocumentOperations::Multiple(operations) => operations
                .iter()
                .map(|(name, operation)| (Some(name.as_str()), operation))
                .collect(),
        };
    // What validation will walk: every operation and every fragment definition, expanded.
    let mut total = 0u64;
    let mut selected = None;
    for (name, operation) in &operations {
        check_directives(operation.node.directives.len(), limits)?;
        let summary = summarize(&operation.node.selection_set, limits)?;
        let size = expanded.size_of(&summary)?;
        total = total.saturating_add(size.fields);
        let is_selected = match (operation_name, name) {
            (Some(wanted), Some(name)) => wanted == *name,
            (None, _) => operations.len() == 1,
            (Some(_), None) => false,
        };
        if is_selected {
            selected = Some(size);
        }
    }
    for name in summaries.keys() {
        total = total.saturating_add(expanded.size_of_fragment(name)?.fields);
    }
    if total > limits.max_fields as u64 {
        return Err(Refusal::over(
            "fields once its fragments are expanded",
            total,
            "max-fields",
            limits.max_fields,
        ));
    }
    // An operation that is not there is for validation to report.
    let Some(selected) = selected else {
        return Ok(());
    };
    if selected.top > limits.max_root_fields as u64 {
        return Err(Refusal::over(
            "root fields in the operation",
            selected.top,
            "max-root-fields",
            limits.max_root_fields,
        ));
    }
    if selected.aliases > limits.max_aliases as u64 {
        return Err(Refusal::over(
            "aliased fields in the operation",
            selected.aliases,
            "max-aliases",
            limits.max_aliases,
        ));
    }
    if selected.introspects && !limits.introspection {
        return Err(Refusal::plain(
            "introspection (__schema, __type) is turned off on this server (--introspection)"
                .into(),
        ));
    }
    Ok(())
}

fn check_directives(count: usize, limits: &DocumentLimits) -> Result<(), Refusal> {
    if count > limits.max_directives {
        return Err(Refusal::over(
            "directives on one field, fragment or operation",
            count as u64,
            "max-directives",
            limits.max_directives,
        ));
    }
    Ok(())
}

/// The own fields and the spreads of a selection set. Recursive: the parser refuses selection
/// sets nested deeper than 64, so the stack is safe; spreads are followed by `Expansion`.
fn summarize<'a>(
    selection_set: &'a Positioned<SelectionSet>,
    limits: &DocumentLimits,
) -> Result<Summary<'a>, Refusal> {
    let mut summary = Summary::default();
    visit(selection_set, true, &mut summary, limits)?;
    Ok(summary)
}

fn visit<'a>(
    selection_set: &'a Positioned<SelectionSet>,
    at_top: bool,
    summary: &mut Summary<'a>,
    limits: &DocumentLimits,
) -> Result<(), Refusal> {
    for selection in &selection_set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                check_directives(field.directives.len(), limits)?;
                let own = &mut summary.own;
                own.fields = own.fields.saturating_add(1);
                if at_top {
                    own.top = own.top.saturating_add(1);
                }
                if field.alias.is_some() {
                    own.aliases = own.aliases.saturating_add(1);
                }
                if matches!(field.name.node.as_str(), "__schema" | "__type") {
                    own.introspects = true;
                }
                visit(&field.selection_set, false, summary, limits)?;
            }
            Selection::FragmentSpread(spread) => {
                check_directives(spread.node.directives.len(), limits)?;
                summary
                    .spreads
                    .push((spread.node.fragment_name.node.as_str(), at_top));
            }
            Selection::InlineFragment(inline) => {
                check_directives(inline.node.directives.len(), limits)?;
                visit(&inline.node.selection_set, at_top, summary, limits)?;
            }
        }
    }
    Ok(())
}

/// Fragments' expanded sizes, each computed once.
struct Expansion<'s, 'a> {
    summaries: &'s HashMap<&'a str, Summary<'a>>,
    sizes: HashMap<&'a str, Mark>,
}

#[derive(Clone, Copy)]
enum Mark {
    /// On the current path of the walk: meeting it again is a cycle.
    Visiting,
    Done(Size),
}

impl<'a> Expansion<'_, 'a> {
    /// The size of a selection set with its spreads expanded.
    fn size_of(&mut self, summary: &Summary<'a>) -> Result<Size, Refusal> {
        let mut size = summary.own;
        for (name, at_top) in &summary.spreads {
            size.add(self.size_of_fragment(name)?, *at_top);
        }
        Ok(size)
    }

    /// The expanded size of the fragment `name`: a depth-first walk with an explicit stack,
    /// post-order, so each fragment is summed once from its spreads' sums. Unknown fragments
    /// count nothing (validation reports them); a cycle is refused.
    fn size_of_fragment(&mut self, name: &'a str) -> Result<Size, Refusal> {
        let mut stack = vec![(name, false)];
        while let Some((current, children_done)) = stack.pop() {
            if matches!(self.sizes.get(current), Some(Mark::Done(_))) {
                continue;
            }
            let Some(summary) = self.summaries.get(current) else {
                self.sizes.insert(current, Mark::Done(Size::default()));
                continue;
            };
            if children_done {
                let size = self.size_of(summary)?;
                self.sizes.insert(current, Mark::Done(size));
                continue;
            }
            self.sizes.insert(current, Mark::Visiting);
            stack.push((current, true));
            for (spread, _) in &summary.spreads {
                match self.sizes.get(spread) {
                    Some(Mark::Visiting) => {
                        return Err(Refusal::plain(format!(
                            "fragment \"{spread}\" spreads itself (through \"{current}\")"
                        )));
                    }
                    Some(Mark::Done(_)) => {}
                    None => stack.push((spread, false)),
                }
            }
        }
        match self.sizes.get(name) {
            Some(Mark::Done(size)) => Ok(*size),
            // Unreachable: the walk finishes `name` last.
            _ => Ok(Size::default()),
        }
    }
}

/// The operation a request selects: the named one, or the only one.
pub fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits {
            max_fields: 2_000,
            max_directives: 5,
            max_root_fields: 10,
            max_aliases: 20,
            introspection: true,
        }
    }

    fn check_text(text: &str, limits: &DocumentLimits) -> Result<(), Refusal> {
        let document = parse_query(text).expect("a document that parses");
        check(&document, None, limits)
    }

    /// `F1`..`Fn`: each spreads the previous one `width` times; the query spreads `Fn` once.
    fn fragment_bomb(levels: usize, width: usize) -> String {
        let mut text = format!("query {{ ...F{levels} }}\nfragment F0 on Query {{ __typename }}\n");
        for level in 1..=levels {
            let spreads = vec![format!("...F{}", level - 1); width].join(" ");
            text.push_str(&format!("fragment F{level} on Query {{ {spreads} }}\n"));
        }
        text
    }

    #[test]
    fn fragment_expansion_is_counted_without_walking_it() {
        // 10^9 fields once expanded; counted in microseconds.
        let refusal = check_text(&fragment_bomb(9, 10), &limits()).expect_err("refused");
        assert_eq!(refusal.limit, Some("max-fields"));
        assert!(
            refusal.message.contains("--max-fields / BLOGQL_MAX_FIELDS"),
            "{}",
            refusal.message
        );
        // Far past u64: saturates instead of overflowing.
        let refusal = check_text(&fragment_bomb(30, 10), &limits()).expect_err("refused");
        assert!(refusal.message.contains("more than"), "{}", refusal.message);
        // Small expansions pass: 1 + 10 + 100 + 100 fields across the definitions and the
        // query (whose 100 root fields need a roomier root-field limit).
        let mut roomy = limits();
        roomy.max_root_fields = 100;
        assert_eq!(check_text(&fragment_bomb(2, 10), &roomy), Ok(()));
    }

    #[test]
    fn a_long_chain_of_fragments_does_not_exhaust_the_stack() {
        let text = fragment_bomb(20_000, 1);
        assert_eq!(
            check_text(&text, &limits()).expect_err("refused").limit,
            Some("max-fields")
        );
    }

    #[test]
    fn fragment_cycles_are_refused() {
        let text = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        let refusal = check_text(text, &limits()).expect_err("refused");
        assert!(
            refusal.message.contains("spreads itself"),
            "{}",
            refusal.message
        );
        let self_loop = "{ ...A } fragment A on Query { __typename ...A }";
        assert!(check_text(self_loop, &limits()).is_err());
    }

    #[test]
    fn directives_root_fields_and_aliases_are_bounded() {
        let directives = format!("{{ __typename {} }}", "@include(if: true) ".repeat(6));
        let roots = format!(
            "{{ {} }}",
            (0..11)
                .map(|i| format!("a{i}: __typename"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let roots_through_fragments = format!(
            "{{ ...R ...R }} fragment R on Query {{ {} }}",
            (0..6)
                .map(|i| format!("r{i}: __typename"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let aliases = format!(
            "{{ users {{ nodes {{ {} }} }} }}",
            (0..21)
                .map(|i| format!("n{i}: name"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let cases = [
            ("directives", directives, "max-directives"),
            ("root fields", roots, "max-root-fields"),
            (
                "root fields through fragments",
                roots_through_fragments,
                "max-root-fields",
            ),
            ("aliases", aliases, "max-aliases"),
        ];
        for (case, text, limit) in cases {
            let refusal = check_text(&text, &limits()).expect_err(case);
            assert_eq!(
                refusal.limit,
                Some(limit),
                "case {case}: {}",
                refusal.message
            );
        }
    }

    #[test]
    fn only_the_selected_operation_counts_for_root_fields() {
        let text =
            "query Small { __typename } query Big { a: __typename b: __typename c: __typename }";
        let document = parse_query(text).expect("parses");
        let mut limits = limits();
        limits.max_root_fields = 2;
        assert_eq!(check(&document, Some("Small"), &limits), Ok(()));
        assert!(check(&document, Some("Big"), &limits).is_err());
    }

    #[test]
    fn introspection_can_be_refused() {
        let mut limits = limits();
        limits.introspection = false;
        for text in [
            "{ __schema { queryType { name } } }",
            "{ ...I } fragment I on Query { __type(name: \"User\") { name } }",
        ] {
            assert!(check_text(text, &limits).is_err(), "{text}");
        }
        assert_eq!(check_text("{ __typename }", &limits), Ok(()));
    }

    #[test]
    fn the_standard_introspection_query_passes_the_defaults() {
        let defaults = DocumentLimits::from_settings(&Settings::defaults());
        let text = include_str!("../../tests/fixtures/introspection.graphql");
        assert_eq!(check_text(text, &defaults), Ok(()));
        // It expands to 471 fields: the default leaves room for schemas much larger than ours.
        let mut tight = defaults.clone();
        tight.max_fields = 471;
        assert_eq!(check_text(text, &tight), Ok(()));
        tight.max_fields = 470;
        assert!(check_text(text, &tight).is_err());
    }
}
