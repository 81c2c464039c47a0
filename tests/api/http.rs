//! The HTTP surface around GraphQL: GET queries, the playground, health, malformed requests.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;

backend_tests!(
    queries_work_over_get,
    mutations_over_get_are_refused,
    malformed_bodies_are_bad_requests,
    playground_is_served,
    health_checks_the_database,
    health_reports_an_unreachable_database,
    loaders_do_not_outlive_their_request,
);

async fn queries_work_over_get(app: TestApp) {
    app.create_user("Pia", "pia@example.com").await;
    let response = app
        .get("/graphql")
        .query(&[("query", "{ users { nodes { name } } }")])
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"]["users"]["nodes"], json!([{ "name": "Pia" }]));
}

async fn mutations_over_get_are_refused(app: TestApp) {
    let response = app
        .get("/graphql")
        .query(&[("query", "mutation { deleteUser(id: 1) { id } }")])
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
}

async fn malformed_bodies_are_bad_requests(app: TestApp) {
    for (case, body) in [("not JSON", "{"), ("no query", "{\"variables\": {}}")] {
        let response = app
            .post("/graphql")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST /graphql");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "case {case}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
            "case {case}"
        );
    }
}

async fn playground_is_served(app: TestApp) {
    let response = app.get("/").send().await.expect("GET /");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("text");
    assert!(html.contains("graphiql"), "no GraphiQL in {html:.200}");
    assert!(
        html.contains("/graphql"),
        "playground does not point at /graphql"
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
    // Arrange
    let id = app.create_user("Old name", "rename@example.com").await;
    let read = "query($id: ID!) { user(id: $id) { name } }";
    assert_eq!(
        app.data(read, json!({ "id": id })).await["user"]["name"],
        "Old name"
    );

    // Act
    app.data(
        "mutation($id: ID!) { updateUser(id: $id, input: { name: \"New name\" }) { id } }",
        json!({ "id": id }),
    )
    .await;

    // Assert: the next request loads afresh.
    assert_eq!(
        app.data(read, json!({ "id": id })).await["user"]["name"],
        "New name"
    );
}
