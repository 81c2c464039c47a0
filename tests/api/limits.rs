//! Hostile documents and amplifying queries are refused with a coded error that names the limit,
//! before they cost the server: fragment bombs, directive floods, alias floods. The HTTP layer and
//! the checks do not depend on the database, so these run on SQLite.

use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app_with, Backend, TestApp};

backend_tests!(on [sqlite]:
    fragment_bombs_are_refused_before_validation,
    directive_floods_are_refused,
    alias_floods_of_root_fields_are_refused,
    the_standard_introspection_query_passes,
    cost_errors_name_the_cost_the_limit_and_the_flag,
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

async fn cost_errors_name_the_cost_the_limit_and_the_flag(app: TestApp) {
    // Arrange: 5,000 posts with their authors is over the default cost; 50 users with their
    // first 10 posts and those posts' authors is a page a frontend asks for, and passes.
    let too_much = "{ users(first: 50) { nodes { posts(first: 100) { nodes { id title author { name } } } } } }";
    let fine = "{ users(first: 50) { nodes { id name posts(first: 10) { nodes { id title author { name } } } } } }";

    // Act
    let refused = app.graphql(too_much, json!({})).await;
    let answered = app.graphql(fine, json!({})).await;

    // Assert
    assert_refused(&refused, "max-complexity");
    let extensions = &refused["errors"][0]["extensions"];
    assert_eq!(extensions["max"], 20_000);
    // 1 + 50 x (nodes 1 + posts (1 + 100 x (nodes 1 + id 1 + title 1 + author (1 + name 2))))
    assert_eq!(extensions["cost"], 30_101);
    let message = refused["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("30101") && message.contains("20000"),
        "{message}"
    );
    assert!(
        message.contains("--max-complexity / BLOGQL_MAX_COMPLEXITY"),
        "{message}"
    );
    assert!(answered.get("errors").is_none(), "{answered}");
}

#[tokio::test]
async fn total_count_and_page_info_are_not_multiplied_by_the_page_size() {
    // users(first: 100): 1 + 100 x (nodes 1 + id 1); totalCount and pageInfo add nothing.
    let query =
        "{ users(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }";
    for (max, passes) in [(201, true), (200, false)] {
        let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
            settings.limits.max_complexity = max;
        })
        .await
        else {
            return;
        };
        let body = app.graphql(query, json!({})).await;
        if passes {
            assert!(body.get("errors").is_none(), "max {max}: {body}");
        } else {
            assert_refused(&body, "max-complexity");
            assert_eq!(body["errors"][0]["extensions"]["cost"], 201);
        }
    }
}
