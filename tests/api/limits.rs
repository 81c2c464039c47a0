//! Hostile documents and amplifying queries are refused with a coded error that names the limit,
//! before they cost the server: fragment bombs, directive floods, alias floods. The HTTP layer and
//! the checks do not depend on the database, so these run on SQLite.

use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp};

backend_tests!(on [sqlite]:
    fragment_bombs_are_refused_before_validation,
    directive_floods_are_refused,
    alias_floods_of_root_fields_are_refused,
    the_standard_introspection_query_passes,
);

/// `query { ...F<levels> }` where each `F<n>` spreads `F<n-1>` ten times.
fn fragment_bomb(levels: usize) -> String {
    let mut text = format!("query {{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
    for level in 1..=levels {
        let spreads = vec![format!("...F{}", level - 1); 10].join(" ");
        text.push_str(&format!(" fragment F{level} on Query {{ {spreads} }}"));
    }
    text
}

fn assert_refused(body: &Value, limit: &str) {
    assert_eq!(error_code(body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], limit, "{body}");
    assert!(
        body.get("data").is_none() || body["data"].is_null(),
        "{body}"
    );
}

async fn fragment_bombs_are_refused_before_validation(app: TestApp) {
    // F6 expands to a million fields, F9 to a billion: either would hold a worker for seconds to
    // hours if validation walked it.
    for levels in [6, 9] {
        let body = app.graphql(&fragment_bomb(levels), json!({})).await;
        assert_refused(&body, "max-fields");
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("--max-fields"), "{message}");
    }
    // The server still answers.
    let data = app.data("{ users { totalCount } }", json!({})).await;
    assert_eq!(data["users"]["totalCount"], 0);
}

async fn directive_floods_are_refused(app: TestApp) {
    let query = format!("{{ __typename {} }}", "@include(if: true) ".repeat(1000));
    let body = app.graphql(&query, json!({})).await;
    assert_refused(&body, "max-directives");
}

async fn alias_floods_of_root_fields_are_refused(app: TestApp) {
    let query = format!(
        "{{ {} }}",
        (0..500)
            .map(|n| format!("a{n}: posts(first: 0) {{ totalCount }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = app.graphql(&query, json!({})).await;
    assert_refused(&body, "max-root-fields");
}

async fn the_standard_introspection_query_passes(app: TestApp) {
    let query = include_str!("../fixtures/introspection.graphql");
    let data = app.data(query, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
}
