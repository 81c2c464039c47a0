//! The HTTP surface, following the GraphQL-over-HTTP specification: media types, status codes,
//! GET for queries only, malformed requests; plus the playground and health. The HTTP layer does
//! not touch the database's dialect, so these run on SQLite only.

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};

backend_tests!(on [sqlite]:
    response_type_follows_accept,
    request_errors_are_400_only_under_graphql_response_json,
    field_errors_are_200_with_data,
    unacceptable_accept_is_406,
    queries_work_over_get,
    mutations_over_get_are_refused,
    other_methods_are_refused,
    wrong_content_type_is_415,
    malformed_requests_are_400,
    oversized_bodies_are_413,
    responses_vary_by_accept,
    playground_is_served_from_this_origin,
    health_checks_the_database,
    health_reports_an_unreachable_database,
    loaders_do_not_outlive_their_request,
    responses_keep_the_order_of_the_selection,
    fields_that_wait_on_a_loader_keep_their_place,
    plain_fields_answer_as_their_resolvers_do,
    a_key_selected_twice_is_one_merged_field,
    a_document_sent_again_runs_with_its_own_variables_and_operation,
    a_request_sent_again_is_still_refused_with_other_variables,
);

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// POSTs `body` as JSON with `accept` (if any); returns status, content type and body.
async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (StatusCode, String, Value) {
    let mut request = app.post("/graphql").json(&body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    read(request.send().await.expect("POST /graphql")).await
}

async fn read(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.json().await.expect("a JSON body");
    (status, content_type, body)
}

async fn response_type_follows_accept(app: TestApp) {
    let json = "application/json; charset=utf-8";
    let graphql_json = "application/graphql-response+json; charset=utf-8";
    let cases = [
        (None, json),
        (Some("*/*"), json),
        (Some("application/json"), json),
        (Some(GRAPHQL_RESPONSE_JSON), graphql_json),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            graphql_json,
        ),
    ];
    for (accept, expected) in cases {
        let (status, content_type, body) =
            post(&app, accept, json!({ "query": "{ users { totalCount } }" })).await;
        assert_eq!(status, StatusCode::OK, "case {accept:?}");
        assert_eq!(content_type, expected, "case {accept:?}");
        assert_eq!(body["data"]["users"]["totalCount"], 0, "case {accept:?}");
    }
}

async fn request_errors_are_400_only_under_graphql_response_json(app: TestApp) {
    // Deeper than the default --max-depth (16), with pages of one so that only depth counts.
    let too_deep = format!(
        "{{ users(first: 1) {{ nodes {} {{ name }} {} }} }}",
        "{ posts(first: 1) { nodes { author ".repeat(6),
        "} } }".repeat(6)
    );
    let cases = [
        (
            "parse error",
            json!({ "query": "{ users {" }),
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "unknown field",
            json!({ "query": "{ nope }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "missing variable",
            json!({ "query": "query($id: ID!) { user(id: $id) { id } }" }),
            "BAD_USER_INPUT",
        ),
        (
            "wrong variable type",
            json!({ "query": "query($n: Int) { users(first: $n) { totalCount } }", "variables": { "n": "ten" } }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "too deep",
            json!({ "query": too_deep }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "too complex",
            json!({ "query": "{ users(first: 100) { nodes { posts(first: 100) { nodes { author { posts(first: 100) { nodes { title } } } } } } } }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (case, request, code) in cases {
        // Act
        let (strict_status, _, strict) =
            post(&app, Some(GRAPHQL_RESPONSE_JSON), request.clone()).await;
        let (legacy_status, _, legacy) = post(&app, Some("application/json"), request).await;

        // Assert
        assert_eq!(
            strict_status,
            StatusCode::BAD_REQUEST,
            "case {case}: {strict}"
        );
        assert_eq!(legacy_status, StatusCode::OK, "case {case}: {legacy}");
        for body in [&strict, &legacy] {
            assert!(
                body.get("data").is_none(),
                "case {case}: a request error has no data: {body}"
            );
            assert_eq!(
                body["errors"][0]["extensions"]["code"], code,
                "case {case}: {body}"
            );
        }
        let message = strict["errors"][0]["message"].as_str().unwrap_or_default();
        match case {
            "too deep" => {
                assert!(message.contains("--max-depth"), "{message}");
                assert_eq!(strict["errors"][0]["extensions"]["max"], 16);
            }
            "too complex" => {
                assert!(message.contains("--max-complexity"), "{message}");
                assert_eq!(strict["errors"][0]["extensions"]["max"], 20_000);
                assert!(strict["errors"][0]["extensions"]["cost"].as_u64() > Some(20_000));
            }
            "parse error" => assert_eq!(message, "syntax error at 1:10: expected selection"),
            _ => {}
        }
    }
}

async fn field_errors_are_200_with_data(app: TestApp) {
    let user = app.create_user("Fay", "fay@example.com").await;
    let (status, body) = app
        .graphql_as(
            Some(&app.token(&user)),
            "mutation { deletePost(id: 999) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert!(
        body.get("data").is_some(),
        "execution happened, so data is there: {body}"
    );
}

async fn unacceptable_accept_is_406(app: TestApp) {
    let (status, _, body) = post(
        &app,
        Some("text/html"),
        json!({ "query": "{ users { totalCount } }" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");
}

async fn queries_work_over_get(app: TestApp) {
    app.create_user("Pia", "pia@example.com").await;
    let response = app
        .get("/graphql")
        .query(&[
            (
                "query",
                "query($n: Int) { users(first: $n) { nodes { name } } }",
            ),
            ("variables", "{\"n\": 5}"),
        ])
        .header("accept", GRAPHQL_RESPONSE_JSON)
        .send()
        .await
        .expect("GET /graphql");
    let (status, content_type, body) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with(GRAPHQL_RESPONSE_JSON),
        "{content_type}"
    );
    assert_eq!(body["data"]["users"]["nodes"], json!([{ "name": "Pia" }]));
}

async fn mutations_over_get_are_refused(app: TestApp) {
    let cases = [
        (
            "single mutation",
            vec![("query", "mutation { deleteUser(id: 1) { id } }")],
        ),
        (
            "mutation picked by name",
            vec![
                (
                    "query",
                    "query Q { users { totalCount } } mutation M { deleteUser(id: 1) { id } }",
                ),
                ("operationName", "M"),
            ],
        ),
    ];
    for (case, params) in cases {
        let response = app
            .get("/graphql")
            .query(&params)
            .send()
            .await
            .expect("GET /graphql");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "case {case}"
        );
        assert_eq!(response.headers()["allow"], "POST", "case {case}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "METHOD_NOT_ALLOWED",
            "case {case}"
        );
    }
}

async fn other_methods_are_refused(app: TestApp) {
    let response = reqwest::Client::new()
        .put(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ users { totalCount } }" }))
        .send()
        .await
        .expect("PUT /graphql");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, POST");
}

async fn wrong_content_type_is_415(app: TestApp) {
    let body = r#"{"query":"{ users { totalCount } }"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
        None,
    ] {
        let mut request = app.post("/graphql").body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, _, body) = read(request.send().await.expect("POST")).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "case {content_type:?}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNSUPPORTED_MEDIA_TYPE",
            "case {content_type:?}"
        );
    }
}

async fn malformed_requests_are_400(app: TestApp) {
    let cases = [
        ("not JSON", "{"),
        ("not an object", "[1, 2]"),
        ("no query", r#"{"variables": {}}"#),
        ("query not a string", r#"{"query": {"a": 1}}"#),
        (
            "variables not an object",
            r#"{"query": "{ users { totalCount } }", "variables": [1]}"#,
        ),
        (
            "variables as a string",
            r#"{"query": "{ users { totalCount } }", "variables": "{}"}"#,
        ),
    ];
    for accept in ["application/json", GRAPHQL_RESPONSE_JSON] {
        for (case, body) in cases {
            let response = app
                .post("/graphql")
                .header("content-type", "application/json")
                .header("accept", accept)
                .body(body)
                .send()
                .await
                .expect("POST /graphql");
            let (status, _, body) = read(response).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "case {case} ({accept})");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
                "case {case} ({accept})"
            );
        }
    }
}

async fn oversized_bodies_are_413(app: TestApp) {
    let query = format!(
        "{{ users {{ totalCount }} }} # {}",
        "x".repeat(blogql::http::MAX_BODY_BYTES)
    );
    let response = app
        .post("/graphql")
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("POST /graphql");
    let (status, _, body) = read(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
}

async fn responses_vary_by_accept(app: TestApp) {
    let ok = app
        .get("/graphql")
        .query(&[("query", "{ users { totalCount } }")])
        .send()
        .await
        .expect("GET /graphql");
    let refused = app
        .get("/graphql")
        .query(&[("query", "{ users {")])
        .header("accept", GRAPHQL_RESPONSE_JSON)
        .send()
        .await
        .expect("GET /graphql");
    for response in [ok, refused] {
        // CORS adds `Origin` and the preflight headers to the list.
        let vary = response.headers()["vary"].to_str().expect("ASCII");
        assert!(
            vary.split(',').any(|name| name.trim() == "Accept"),
            "{}: {vary}",
            response.status()
        );
    }
}

async fn playground_is_served_from_this_origin(app: TestApp) {
    // Act
    let response = app.get("/").send().await.expect("GET /");

    // Assert: the page, its security policy, and every asset it names, all from here.
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("CSP")
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = response.text().await.expect("text");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "{html}"
    );
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|part| part.starts_with("/playground/"))
        .collect();
    assert_eq!(assets.len(), 6, "{assets:?}");
    for asset in assets {
        let response = app.get(asset).send().await.expect("GET asset");
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .expect("type")
            .to_string();
        let expected = if asset.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            content_type.starts_with(expected),
            "{asset}: {content_type}"
        );
        assert!(!response.bytes().await.expect("body").is_empty(), "{asset}");
    }
    assert_eq!(
        app.get("/playground/nope.js")
            .send()
            .await
            .expect("GET")
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn health_checks_the_database(app: TestApp) {
    let response = app.get("/health").send().await.expect("GET /health");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["database"], "ok");
}

async fn health_reports_an_unreachable_database(app: TestApp) {
    // Arrange
    app.server_db
        .close_by_ref()
        .await
        .expect("close the server's pool");

    // Act
    let response = app.get("/health").send().await.expect("GET /health");

    // Assert
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["database"], "unreachable");
}

async fn loaders_do_not_outlive_their_request(app: TestApp) {
    // Arrange: one request loads the user (and would cache it, were the cache shared).
    let id = app.create_user("Old name", "rename@example.com").await;
    let read = "query($id: ID!) { user(id: $id) { name } }";
    assert_eq!(
        app.data(read, json!({ "id": id })).await["user"]["name"],
        "Old name"
    );

    // Act: change the row behind the API's back, so that no write of ours clears anything.
    let id_number: i32 = id.parse().expect("a numeric id");
    app.db
        .execute_unprepared(&format!(
            "UPDATE users SET name = 'New name' WHERE id = {id_number}"
        ))
        .await
        .expect("rename the user directly");

    // Assert: the next request loads afresh.
    assert_eq!(
        app.data(read, json!({ "id": id })).await["user"]["name"],
        "New name"
    );
}

/// The body of the response to `query`, as sent: the order of its keys is what is tested.
async fn response_text(app: &TestApp, query: &str) -> String {
    app.post("/graphql")
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("a body")
}

async fn responses_keep_the_order_of_the_selection(app: TestApp) {
    // Arrange
    app.create_user("Zoe", "zoe@example.com").await;

    // Act: fields in anything but alphabetical order, aliases included.
    let text = response_text(
        &app,
        "{ users { totalCount nodes { name id zeta: email createdAt alpha: name } } }",
    )
    .await;

    // Assert: the keys come in the order they were asked for.
    let expected = r#"{"data":{"users":{"totalCount":1,"nodes":[{"name":"Zoe","id":"#;
    assert!(text.starts_with(expected), "{text}");
    let keys = [
        "\"name\"",
        "\"id\"",
        "\"zeta\"",
        "\"createdAt\"",
        "\"alpha\"",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| text.find(key).unwrap_or_else(|| panic!("{key} in {text}")))
        .collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
}

async fn a_key_selected_twice_is_one_merged_field(app: TestApp) {
    // Arrange
    let zoe = app.create_user("Zoe", "zoe@example.com").await;
    app.create_post(&zoe, "First").await;

    // Act: keys selected twice in a list's objects, in a single object, and in a fragment.
    let text = response_text(
        &app,
        "{ posts { nodes { title author { name } title author { id } ...More } } } \
         fragment More on Post { title: title author { name } }",
    )
    .await;

    // Assert: each key once, where it was first selected, its selections merged.
    assert_eq!(
        text,
        format!(
            r#"{{"data":{{"posts":{{"nodes":[{{"title":"First","author":{{"name":"Zoe","id":"{zoe}"}}}}]}}}}}}"#
        )
    );
}

async fn fields_that_wait_on_a_loader_keep_their_place(app: TestApp) {
    // Arrange
    let zoe = app.create_user("Zoe", "zoe@example.com").await;
    app.create_post(&zoe, "First").await;

    // Act: `posts` waits for its batch, while `name` and `id` are ready at once; at the root and
    // in the connection, which field's statement answers first varies from run to run.
    let text = response_text(&app, "{ count: posts { totalCount } users { nodes { posts { nodes { title } } name } edges { node { postCount id } } } }").await;

    // Assert: the waiting fields come first in each object, as asked, not after the fields
    // that finished before them.
    assert!(
        text.starts_with(
            r#"{"data":{"count":{"totalCount":1},"users":{"nodes":[{"posts":{"nodes":[{"title":"First"}]},"name":"Zoe"}],"edges":[{"node":{"postCount":1,"id":"#
        ),
        "{text}"
    );
}

/// Fields read straight off an object (`resolve::PlainFields`) are answered without calling
/// their `#[Object]` resolvers, and a list of objects that select nothing else is written as
/// JSON text as it is resolved (`resolve::JsonLists`). All must answer alike, field for field,
/// in the selection's order. (`@include(if: true)` does not change the path: async-graphql
/// drops the directive before it runs; `lists_written_as_text_read_as_async_graphql_resolves_them`
/// compares with async-graphql's own resolution.)
async fn plain_fields_answer_as_their_resolvers_do(app: TestApp) {
    // Arrange: Ann sees her own email, not Bob's.
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    let one = app.create_post(&ann, "One").await;
    app.create_post(&bob, "Two").await;
    let selection = |directive: &str| {
        format!(
            "nodes {{ id{directive} __typename name again: name email createdAt \
             posts(first: 5) {{ totalCount{directive} \
             pageInfo {{ hasNextPage{directive} hasPreviousPage startCursor endCursor }} \
             edges {{ cursor{directive} node {{ id title }} }} \
             nodes {{ id{directive} title content createdAt updatedAt author {{ name }} }} }} }}"
        )
    };
    // And the roots that return one object.
    let roots = |directive: &str| {
        format!(
            "viewer {{ id{directive} name email }} \
             user(id: \"{bob}\") {{ id{directive} name email createdAt }} \
             post(id: \"{one}\") {{ id{directive} title content createdAt updatedAt }}"
        )
    };
    // And lists of objects with plain fields only, every one of each type.
    let lists = |directive: &str| {
        format!(
            "posts(first: 5) {{ totalCount edges {{ cursor{directive} }} \
             nodes {{ __typename id{directive} title again: title content createdAt updatedAt }} }} \
             users(first: 5) {{ nodes {{ createdAt email name id{directive} __typename }} }}"
        )
    };
    let query = format!(
        "{{ plain: users(first: 5) {{ {} }} resolved: users(first: 5) {{ {} }} {} }}",
        selection(""),
        selection(" @include(if: true)"),
        roots(""),
    );
    let lists_query = format!("{{ {} }}", lists(""));
    let resolved_lists = format!("{{ {} }}", lists(" @include(if: true)"));
    let resolved_roots = format!("{{ {} }}", roots(" @include(if: true)"));

    // Act
    let data = app.data_by(&ann, &query, json!({})).await;
    let resolved = app.data_by(&ann, &resolved_roots, json!({})).await;
    let written = app.data_by(&ann, &lists_query, json!({})).await;
    let written_resolved = app.data_by(&ann, &resolved_lists, json!({})).await;
    // Sent again, a request is not validated again (`known_valid`): the same answer.
    let again = app.data_by(&ann, &query, json!({})).await;

    // Assert
    assert_eq!(data["plain"], data["resolved"]);
    assert_eq!(data, again);
    for root in ["viewer", "user", "post"] {
        assert_eq!(data[root], resolved[root], "{root}");
    }
    assert_eq!(data["viewer"]["email"], "ann@example.com");
    assert_eq!(data["user"]["email"], Value::Null);
    assert_eq!(data["post"]["title"], "One");
    let users = &data["plain"]["nodes"];
    assert_eq!(users[0]["email"], "ann@example.com");
    assert_eq!(users[1]["email"], Value::Null);
    assert_eq!(users[0]["again"], "Ann");
    assert_eq!(users[0]["__typename"], "User");
    assert_eq!(users[1]["posts"]["nodes"][0]["title"], "Two");
    let posts = &users[0]["posts"];
    assert_eq!(posts["totalCount"], 1);
    assert_eq!(posts["pageInfo"]["hasNextPage"], false);
    assert_eq!(posts["edges"][0]["cursor"], posts["pageInfo"]["endCursor"]);
    assert!(posts["edges"][0]["cursor"].is_string(), "{posts}");
    assert_eq!(posts["edges"][0]["node"]["title"], "One");
    assert!(users[0]["createdAt"].is_string(), "{users}");
    // In the selection's order, whichever way they were answered.
    let keys = |object: &Value| {
        object
            .as_object()
            .map(|object| object.keys().cloned().collect::<Vec<_>>())
    };
    assert_eq!(keys(&users[0]), keys(&data["resolved"]["nodes"][0]));
    assert_eq!(written, written_resolved);
    // Byte for byte, keys in the selection's order (`serde_json::Value` sorts them).
    let text = response_text(&app, &lists_query).await;
    assert_eq!(text, response_text(&app, &resolved_lists).await);
    assert!(text.contains(r#"{"__typename":"Post","id":""#), "{text}");
    assert_eq!(written["posts"]["nodes"][1]["again"], "Two");
    assert_eq!(written["posts"]["nodes"][0]["__typename"], "Post");
    assert_eq!(written["users"]["nodes"][0]["email"], "ann@example.com");
    assert_eq!(written["users"]["nodes"][1]["email"], Value::Null);
    assert!(written["posts"]["edges"][1]["cursor"].is_string());
}

/// The response texts of `queries` from a server that resolves objects its own way and from
/// one with `--trace-fields` (async-graphql's container resolver, field by field, calling the
/// tracing extension around each), on the same rows; `None` when no server starts.
async fn texts_with_and_without_field_tracing(queries: &[&str]) -> Option<[Vec<String>; 2]> {
    let mut answers = Vec::new();
    for trace_fields in [false, true] {
        let app = spawn_app_with(Backend::Sqlite, |settings| {
            settings.trace_fields = trace_fields;
        })
        .await?;
        let titles = |titles: &[&str]| {
            titles
                .iter()
                .map(|title| title.to_string())
                .collect::<Vec<_>>()
        };
        app.create_user_with_posts("Ann", "ann@example.com", &titles(&["One", "Two"]))
            .await;
        app.create_user_with_posts("Bob", "bob@example.com", &titles(&["Three"]))
            .await;
        let mut texts = Vec::new();
        for query in queries {
            texts.push(response_text(&app, query).await);
        }
        answers.push(texts);
    }
    answers.try_into().ok()
}

/// Lists and objects written as JSON text while they resolve (`resolve::JsonLists`) read, byte
/// for byte, as async-graphql's own resolution writes them, also where a list's key is selected
/// twice and the selections merge.
#[tokio::test]
async fn lists_written_as_text_read_as_async_graphql_resolves_them() {
    let queries = [
        "{ posts(first: 5) { totalCount edges { cursor } nodes { __typename id title again: title content createdAt updatedAt } } }",
        "{ users { nodes { email name id createdAt __typename } } }",
        "{ posts { nodes { id } nodes { title } } }",
        "{ posts { nodes { id } ...More } } fragment More on PostConnection { nodes { title } edges { cursor } }",
        "{ posts { nodes { id title } } posts { nodes { content } } }",
        "{ users { nodes { posts { nodes { id title } } posts { nodes { id } edges { cursor } } } } }",
        "{ a: posts(first: 1) { nodes { id } } b: posts(last: 1) { nodes { title id } } }",
        "{ posts { nodes { id title id ...on Post { title } } } }",
        "{ posts(first: 3) { nodes { id author { name id } title } } }",
        "{ users { nodes { name posts { totalCount nodes { title author { name } } } } } }",
        "{ user(id: \"1\") { id name email posts(first: 2) { nodes { id title } } } }",
        "{ user(id: \"1\") { posts { nodes { author { email } } } } }",
    ];

    // Act
    let Some([ours, theirs]) = texts_with_and_without_field_tracing(&queries).await else {
        return;
    };

    // Assert: the same text, but for the times the rows were written at.
    let times = |text: &str| {
        let mut kept = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("At\":\"") {
            let value = at + 5;
            kept.push_str(&rest[..value]);
            let end = rest[value..]
                .find('"')
                .map_or(rest.len(), |end| value + end);
            rest = &rest[end..];
        }
        kept + rest
    };
    for ((query, ours), theirs) in queries.iter().zip(&ours).zip(&theirs) {
        assert!(!ours.contains("errors"), "{query}: {ours}");
        assert_eq!(times(ours), times(theirs), "{query}");
    }
    assert!(
        ours[2].contains(r#"{"id":"1","title":"One"}"#),
        "{}",
        ours[2]
    );
}

#[tokio::test]
async fn field_tracing_answers_the_same() {
    let query = "{ users { nodes { id name ...on User { postCount } posts { edges { cursor node { title author { __typename name } } } } } } }";

    // Act
    let Some(texts) = texts_with_and_without_field_tracing(&[query]).await else {
        return;
    };
    let answers = texts.map(|texts| {
        let body: Value = serde_json::from_str(&texts[0]).expect("JSON");
        body["data"].clone()
    });

    // Assert
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0]["users"]["nodes"][0]["posts"]["edges"][1]["node"],
        json!({ "title": "Two", "author": { "__typename": "User", "name": "Ann" } })
    );
    assert_eq!(answers[0]["users"]["nodes"][1]["postCount"], 1);
}

/// Documents are parsed once and kept by their text: the same text sent again still runs with
/// that request's variables and operation, and GET still refuses the mutation in it.
async fn a_document_sent_again_runs_with_its_own_variables_and_operation(app: TestApp) {
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    let document = "query One($id: ID!) { user(id: $id) { name } } \
                    query Count { users { totalCount } } \
                    mutation Drop($id: ID!) { deleteUser(id: $id) { id } }";
    for _ in 0..3 {
        for (id, name) in [(&ann, "Ann"), (&bob, "Bob")] {
            let body =
                json!({ "query": document, "operationName": "One", "variables": { "id": id } });
            let (status, _, body) = post(&app, None, body).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, json!({ "data": { "user": { "name": name } } }));
        }
        let body = json!({ "query": document, "operationName": "Count" });
        let (_, _, body) = post(&app, None, body).await;
        assert_eq!(body, json!({ "data": { "users": { "totalCount": 2 } } }));

        let response = app
            .get("/graphql")
            .query(&[("query", document), ("operationName", "Drop")])
            .send()
            .await
            .expect("GET /graphql");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    let body = json!({ "query": document, "operationName": "One" });
    let (_, _, body) = post(&app, Some(GRAPHQL_RESPONSE_JSON), body).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "a required variable left out is still a request error: {body}"
    );
}

/// A request that ran is not validated again when sent again, but the same document with other
/// variables is: values of the wrong type are refused the same way before and after.
async fn a_request_sent_again_is_still_refused_with_other_variables(app: TestApp) {
    app.create_user("Ann", "ann@example.com").await;
    let document = "query Names($n: Int) { users(first: $n) { nodes { name } } }";
    let valid = json!({ "query": document, "variables": { "n": 5 } });
    let invalid = json!({ "query": document, "variables": { "n": "five" } });

    let (status, _, refused) = post(&app, Some(GRAPHQL_RESPONSE_JSON), invalid.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    for _ in 0..3 {
        let (status, _, body) = post(&app, Some(GRAPHQL_RESPONSE_JSON), valid.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({ "data": { "users": { "nodes": [{ "name": "Ann" }] } } })
        );
    }
    let (status, _, again) = post(&app, Some(GRAPHQL_RESPONSE_JSON), invalid).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert_eq!(again, refused);
}
