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
    amplifying_queries_stop_at_the_response_limit,
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

async fn amplifying_queries_stop_at_the_response_limit(app: TestApp) {
    // Arrange: a post whose content is a megabyte.
    let author = app.create_user("Big", "big@example.com").await;
    let content = "x".repeat(1_000_000);
    let data = app
        .data_by(
            &author,
            "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }",
            json!({ "input": { "title": "Huge", "content": content } }),
        )
        .await;
    let post = data["createPost"]["id"].as_str().expect("id").to_string();
    let aliases = |count: usize| {
        format!(
            "{{ {} }}",
            (0..count)
                .map(|n| format!("a{n}: post(id: {post}) {{ content }}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };

    // Act: 200 aliases (200 MB) and 30 aliases (30 MB, over the default 8 MiB).
    let two_hundred = app.graphql(&aliases(200), json!({})).await;
    let response = app
        .post("/graphql")
        .json(&json!({ "query": aliases(30) }))
        .send()
        .await
        .expect("send");
    let status = response.status();
    let text = response.text().await.expect("a body");

    // Assert: refused before running, and stopped while building, with a small answer.
    assert_refused(&two_hundred, "max-root-fields");
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(text.len() < 10_000, "the answer holds {} bytes", text.len());
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(error_code(&body), "RESPONSE_TOO_LARGE", "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("--max-response-bytes"), "{message}");
    // Seven aliases (7 MB) fit.
    let seven = app.data(&aliases(7), json!({})).await;
    assert_eq!(
        seven["a6"]["content"].as_str().map(str::len),
        Some(1_000_000)
    );
}

/// Text written straight into a list's JSON (`{ nodes { title } }`, see `resolve::JsonLists`)
/// counts against the response limit as a field resolved on its own does.
#[tokio::test]
async fn text_in_lists_counts_against_the_response_limit() {
    // Arrange: 40 posts of 250-character titles, about 10 KB of text; a limit of 5,000 bytes.
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.limits.max_response_bytes = 5_000;
    })
    .await
    else {
        return;
    };
    let titles: Vec<String> = (0..40)
        .map(|n| format!("{n:03}{}", "t".repeat(247)))
        .collect();
    app.create_user_with_posts("Ann", "ann@example.com", &titles)
        .await;

    // Act
    let all = app
        .graphql("{ posts(first: 40) { nodes { id title } } }", json!({}))
        .await;
    let ten = app
        .graphql("{ posts(first: 10) { nodes { id title } } }", json!({}))
        .await;

    // Assert: 40 titles stop at the limit, 10 fit.
    assert_eq!(error_code(&all), "RESPONSE_TOO_LARGE", "{all}");
    assert!(ten.get("errors").is_none(), "{ten}");
    let nodes = ten["data"]["posts"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 10);
    assert_eq!(nodes[9]["title"], titles[9].as_str());
}

#[tokio::test]
async fn a_response_carries_a_bounded_number_of_errors() {
    // Arrange
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.limits.max_errors = 5;
    })
    .await
    else {
        return;
    };
    let query = format!(
        "{{ {} }}",
        (0..12)
            .map(|n| format!("u{n}: user(id: \"not-an-id-{n}\") {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );

    // Act
    let body = app.graphql(&query, json!({})).await;

    // Assert: five errors, then one that says seven more were left out.
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 6, "{body}");
    assert!(errors[..5]
        .iter()
        .all(|error| error["extensions"]["code"] == "BAD_USER_INPUT"));
    assert_eq!(errors[5]["extensions"]["code"], "TOO_MANY_ERRORS");
    assert_eq!(errors[5]["extensions"]["leftOut"], 7);
}

#[tokio::test]
async fn a_request_past_its_time_limit_is_cancelled_and_answered_timeout() {
    use sea_orm::{
        EntityTrait, PaginatorTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait,
    };

    // Arrange: the test holds SQLite's write lock, so a write would wait its 5 s busy timeout.
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.limits.request_timeout = std::time::Duration::from_millis(300);
    })
    .await
    else {
        return;
    };
    let author = app.create_user("Slow", "slow@example.com").await;
    let lock = app
        .db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .expect("take the write lock");
    let create = "mutation($a: ID!) { createPost(input: { authorId: $a, title: \"Late\", content: \"\" }) { id } }";

    // Act
    let response = app
        .post("/graphql")
        .header("accept", "application/graphql-response+json")
        .bearer_auth(app.token(&author))
        .json(&json!({ "query": create, "variables": { "a": author } }))
        .send()
        .await
        .expect("send");
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    lock.rollback().await.expect("release the lock");

    // Assert: answered TIMEOUT (503: nothing could be done), and the write never landed.
    assert_eq!(error_code(&body), "TIMEOUT", "{body}");
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("--request-timeout"), "{message}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let posts = entity::post::Entity::find()
        .count(&app.db)
        .await
        .expect("count posts");
    assert_eq!(posts, 0, "the cancelled write was not applied");
    // The next request is served.
    app.create_post(&author, "On time").await;
}
