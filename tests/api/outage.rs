//! The database goes away under load and comes back: every request is still answered (a coded
//! `SERVICE_UNAVAILABLE` or `TIMEOUT`, never `INTERNAL`), `/health` says so, service resumes by
//! itself, and no write that was acknowledged is lost. A TCP proxy in front of a real PostgreSQL
//! is cut and restored, so the server the other tests use is never stopped.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use entity::post;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::proxy::TcpProxy;

/// Longer than any bound of the server under test: a request not answered by then was not
/// answered within its bounds.
const CLIENT_PATIENCE: Duration = Duration::from_secs(15);

/// `host:port` of a database URL.
fn authority(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_and_path = after_scheme
        .rsplit_once('@')
        .map_or(after_scheme, |(_, rest)| rest);
    host_and_path
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// What one request got: `Ok` with the data, or the error code; `None` if no answer came.
/// Sends `query` as the user `as_user` (their token is looked up by every request, so the
/// outage reaches that lookup too).
async fn send(
    app: &TestApp,
    as_user: &str,
    query: &str,
    variables: Value,
) -> Option<Result<Value, String>> {
    let response = app
        .client()
        .post(format!("{}/graphql", app.address))
        .bearer_auth(app.token(as_user))
        .timeout(CLIENT_PATIENCE)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    Some(match body.get("errors") {
        None => Ok(body["data"].clone()),
        Some(errors) => Err(errors[0]["extensions"]["code"]
            .as_str()
            .unwrap_or("NO CODE")
            .to_string()),
    })
}

#[derive(Default)]
struct Outcomes {
    acknowledged: Vec<String>,
    /// Requests answered with data once the database was back.
    succeeded_after_outage: usize,
    codes: Vec<String>,
    unanswered: usize,
}

#[tokio::test]
async fn a_database_outage_is_answered_service_unavailable_and_heals() {
    // Arrange: blogql reaches PostgreSQL through the proxy, with short bounds.
    let Some(server) = Backend::Postgres.server_url() else {
        return;
    };
    let proxy = TcpProxy::start(authority(&server)).await;
    let port = proxy.port;
    let Some(app) = spawn_app_with(Backend::Postgres, |settings| {
        let url = settings.database.url.clone();
        settings.database.url = url.replacen(&authority(&url), &format!("127.0.0.1:{port}"), 1);
        settings.database.acquire_timeout = Duration::from_secs(1);
        settings.database.statement_timeout = Duration::from_secs(2);
        settings.limits.request_timeout = Duration::from_secs(4);
    })
    .await
    else {
        return;
    };
    let author = app.create_user("Steady", "steady@example.com").await;
    let stop = AtomicBool::new(false);
    let recovered = AtomicBool::new(false);

    // Act: a steady stream of writes and reads while the database goes away for two seconds.
    let writes = async {
        let mut outcomes = Outcomes::default();
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let title = format!("Post {n}");
            let create = "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }";
            let input = json!({ "input": { "authorId": author, "title": title, "content": "" } });
            match send(&app, &author, create, input).await {
                Some(Ok(_)) => {
                    outcomes.acknowledged.push(title);
                    if recovered.load(Ordering::SeqCst) {
                        outcomes.succeeded_after_outage += 1;
                    }
                }
                Some(Err(code)) => outcomes.codes.push(code),
                None => outcomes.unanswered += 1,
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outcomes
    };
    let reads = async {
        let mut outcomes = Outcomes::default();
        while !stop.load(Ordering::SeqCst) {
            let query = "{ users(first: 5) { totalCount nodes { posts(first: 3) { nodes { title author { name } } } } } }";
            match send(&app, &author, query, json!({})).await {
                Some(Ok(_)) => {
                    if recovered.load(Ordering::SeqCst) {
                        outcomes.succeeded_after_outage += 1;
                    }
                }
                Some(Err(code)) => outcomes.codes.push(code),
                None => outcomes.unanswered += 1,
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outcomes
    };
    let outage = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.cut();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let health_down = app.get("/health").timeout(CLIENT_PATIENCE).send().await;
        let strict = app
            .post("/graphql")
            .timeout(CLIENT_PATIENCE)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": "{ users { totalCount } }" }))
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        proxy.restore();
        // Service resumes by itself: no restart, no call from outside.
        let mut healthy = false;
        for _ in 0..40 {
            let health = app.get("/health").timeout(CLIENT_PATIENCE).send().await;
            if health.is_ok_and(|health| health.status().is_success()) {
                healthy = true;
                recovered.store(true, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::SeqCst);
        (health_down, strict, healthy)
    };
    let (writes, reads, (health_down, strict, healthy)) = tokio::join!(writes, reads, outage);

    // Assert: during the outage, /health and a query said so.
    let health_down = health_down.expect("/health answered during the outage");
    assert_eq!(
        health_down.status(),
        reqwest::StatusCode::SERVICE_UNAVAILABLE
    );
    let strict = strict.expect("a query was answered during the outage");
    assert_eq!(strict.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let strict: Value = strict.json().await.expect("JSON");
    assert_eq!(
        strict["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{strict}"
    );
    assert!(
        healthy,
        "/health did not recover after the database came back"
    );

    // Every request was answered, with a code a client can act on.
    for (name, outcomes) in [("writes", &writes), ("reads", &reads)] {
        assert_eq!(outcomes.unanswered, 0, "{name} left unanswered");
        let codes: BTreeSet<&str> = outcomes.codes.iter().map(String::as_str).collect();
        assert!(
            codes
                .iter()
                .all(|code| ["SERVICE_UNAVAILABLE", "TIMEOUT"].contains(code)),
            "{name} got {codes:?}"
        );
        assert!(
            codes.contains("SERVICE_UNAVAILABLE"),
            "{name} never saw the outage"
        );
    }

    // Service resumed, and every acknowledged write is in the database.
    assert!(writes.succeeded_after_outage > 0, "writes did not resume");
    assert!(reads.succeeded_after_outage > 0, "reads did not resume");
    let written: BTreeSet<String> = post::Entity::find()
        .filter(post::Column::Title.starts_with("Post "))
        .all(&app.db)
        .await
        .expect("read the posts directly")
        .into_iter()
        .map(|post| post.title)
        .collect();
    for title in &writes.acknowledged {
        assert!(written.contains(title), "acknowledged {title} was lost");
    }
}
