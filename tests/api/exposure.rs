//! Production switches: introspection and the playground can be turned off, and browsers may
//! call the API cross-origin only from the configured origins (none by default).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{error_code, spawn_app_with, Backend, TestApp};

backend_tests!(on [sqlite]:
    introspection_and_playground_are_on_by_default,
    no_origin_is_allowed_cross_origin_by_default,
);

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

/// The `Access-Control-Allow-Origin` a request from `origin` gets, if any.
async fn allowed_origin(app: &TestApp, method: Method, origin: &str) -> Option<String> {
    let mut request = app
        .client()
        .request(method.clone(), format!("{}/graphql", app.address))
        .header("Origin", origin);
    request = if method == Method::OPTIONS {
        request
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
    } else {
        request.json(&json!({ "query": "{ users { totalCount } }" }))
    };
    let response = request.send().await.expect("send");
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap_or_default().to_string())
}

async fn introspection_and_playground_are_on_by_default(app: TestApp) {
    let data = app.data(INTROSPECTION, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    let playground = app.get("/").send().await.expect("GET /");
    assert_eq!(playground.status(), StatusCode::OK);
}

async fn no_origin_is_allowed_cross_origin_by_default(app: TestApp) {
    for method in [Method::OPTIONS, Method::POST] {
        assert_eq!(
            allowed_origin(&app, method.clone(), "https://evil.example").await,
            None,
            "{method}"
        );
    }
}

#[tokio::test]
async fn introspection_and_playground_can_be_turned_off() {
    // Arrange
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.exposure.introspection = false;
        settings.exposure.playground = false;
    })
    .await
    else {
        return;
    };

    // Act
    let schema = app.graphql(INTROSPECTION, json!({})).await;
    let type_of = app
        .graphql("{ __type(name: \"User\") { name } }", json!({}))
        .await;
    let playground = app.get("/").send().await.expect("GET /");
    let asset = app
        .get("/playground/graphiql.min.js")
        .send()
        .await
        .expect("GET an asset");

    // Assert: refused as unknown fields; the API itself still answers.
    assert_eq!(error_code(&schema), "GRAPHQL_VALIDATION_FAILED", "{schema}");
    assert_eq!(
        error_code(&type_of),
        "GRAPHQL_VALIDATION_FAILED",
        "{type_of}"
    );
    assert_eq!(playground.status(), StatusCode::NOT_FOUND);
    assert_eq!(asset.status(), StatusCode::NOT_FOUND);
    let data = app.data("{ users { totalCount } }", json!({})).await;
    assert_eq!(data["users"]["totalCount"], 0);
}

#[tokio::test]
async fn only_configured_origins_are_allowed_cross_origin() {
    // Arrange
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.exposure.cors_origins = vec!["https://app.example".into()];
    })
    .await
    else {
        return;
    };

    for method in [Method::OPTIONS, Method::POST] {
        // Act
        let allowed = allowed_origin(&app, method.clone(), "https://app.example").await;
        let other = allowed_origin(&app, method.clone(), "https://evil.example").await;

        // Assert
        assert_eq!(allowed.as_deref(), Some("https://app.example"), "{method}");
        assert_eq!(other, None, "{method}");
    }
}
