//! Accounts: sign-up, log-in, log-out, the viewer, every way a token fails, the same answer
//! after the same work for an unknown email and a wrong password, and the rate limit on failed
//! log-ins.

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp};

backend_tests!(
    sign_up_log_in_and_log_out,
    every_kind_of_bad_token_is_unauthenticated,
    sign_up_checks_its_input,
    unknown_emails_and_wrong_passwords_are_answered_alike,
    failed_log_ins_are_rate_limited,
    users_without_a_password_cannot_log_in,
);

const VIEWER: &str = "{ viewer { id name } }";
const LOG_IN: &str = "mutation($email: String!, $password: String!) { logIn(input: { email: $email, password: $password }) { token expiresAt user { name } } }";
const LOG_OUT: &str = "mutation { logOut { loggedOut } }";

async fn hash_computations(app: &TestApp) -> u64 {
    let metrics = app
        .get("/metrics")
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("a body");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("blogql_password_hashes_total "))
        .and_then(|count| count.parse().ok())
        .expect("a password hash counter")
}

async fn sign_up_log_in_and_log_out(app: TestApp) {
    // Arrange / Act: sign up, then log in a second time.
    let data = app
        .data(
            "mutation($input: SignUpInput!) { signUp(input: $input) { token expiresAt user { id name postCount } } }",
            json!({ "input": { "name": "Ann", "email": "Ann@Example.com", "password": "correct horse", "posts": [{ "title": "Hi", "content": "" }] } }),
        )
        .await;
    let first = data["signUp"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let logged_in = app
        .data(
            LOG_IN,
            json!({ "email": "ann@example.com", "password": "correct horse" }),
        )
        .await;
    let second = logged_in["logIn"]["token"]
        .as_str()
        .expect("a token")
        .to_string();

    // Assert: both tokens stand for Ann; without one, there is no viewer.
    assert_eq!(data["signUp"]["user"]["postCount"], 1);
    assert!(data["signUp"]["expiresAt"].as_str().is_some());
    assert_ne!(first, second);
    for token in [&first, &second] {
        let (status, body) = app.graphql_as(Some(token), VIEWER, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["viewer"]["name"], "Ann");
    }
    let (_, anonymous) = app.graphql_as(None, VIEWER, json!({})).await;
    assert_eq!(anonymous["data"]["viewer"], Value::Null);

    // Act: log out with the first token.
    let (_, logged_out) = app.graphql_as(Some(&first), LOG_OUT, json!({})).await;
    let (status, revoked) = app.graphql_as(Some(&first), VIEWER, json!({})).await;
    let (_, still) = app.graphql_as(Some(&second), VIEWER, json!({})).await;

    // Assert: the first is revoked (401, nothing runs), the second still works.
    assert_eq!(
        logged_out["data"]["logOut"]["loggedOut"], true,
        "{logged_out}"
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&revoked), "UNAUTHENTICATED", "{revoked}");
    assert!(revoked.get("data").is_none(), "{revoked}");
    assert_eq!(still["data"]["viewer"]["name"], "Ann");
    let (_, twice) = app.graphql_as(None, LOG_OUT, json!({})).await;
    assert_eq!(error_code(&twice), "UNAUTHENTICATED", "{twice}");
}

async fn every_kind_of_bad_token_is_unauthenticated(app: TestApp) {
    // Arrange: tokens of users who then log out, expire, or are deleted.
    let (_, good) = app.sign_up("Ann", "ann@example.com", "correct horse").await;
    let (_, revoked) = app.sign_up("Bob", "bob@example.com", "correct horse").await;
    app.graphql_as(Some(&revoked), LOG_OUT, json!({})).await;
    let (_, expired) = app.sign_up("Cy", "cy@example.com", "correct horse").await;
    let (deleted_id, deleted) = app.sign_up("Dee", "dee@example.com", "correct horse").await;
    let fingerprint = blogql::accounts::token::fingerprint(&expired);
    app.db
        .execute_unprepared(&format!(
            "UPDATE sessions SET expires_at = created_at WHERE token_hash = '{fingerprint}'"
        ))
        .await
        .expect("expire the session");
    app.db
        .execute_unprepared(&format!("DELETE FROM users WHERE id = {deleted_id}"))
        .await
        .expect("delete the user");
    let mut tampered = good.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");

    let cases = [
        ("revoked", Some(revoked.as_str()), "not valid"),
        ("expired", Some(expired.as_str()), "expired"),
        ("its user deleted", Some(deleted.as_str()), "not valid"),
        ("tampered", Some(tampered.as_str()), "not valid"),
        ("malformed", Some("not-a-token"), "malformed"),
        ("empty", Some(""), "malformed"),
    ];
    for (case, token, message) in cases {
        // Act
        let (status, body) = app.graphql_as(token, VIEWER, json!({})).await;

        // Assert
        assert_eq!(status, StatusCode::UNAUTHORIZED, "case {case}: {body}");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "case {case}: {body}");
        let got = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(got.contains(message), "case {case}: {got}");
    }
    // Another scheme than Bearer is malformed too; the good token still works.
    let basic = app
        .post("/graphql")
        .header("authorization", "Basic YW5uOnBhc3N3b3Jk")
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .expect("send");
    let body: Value = basic.json().await.expect("JSON");
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let (_, fine) = app.graphql_as(Some(&good), VIEWER, json!({})).await;
    assert_eq!(fine["data"]["viewer"]["name"], "Ann");
}

async fn sign_up_checks_its_input(app: TestApp) {
    app.sign_up("Ann", "ann@example.com", "correct horse").await;
    let sign_up = "mutation($input: SignUpInput!) { signUp(input: $input) { token } }";
    let cases = [
        (
            "short password",
            json!({ "name": "B", "email": "b@example.com", "password": "1234567" }),
            "BAD_USER_INPUT",
            "password",
        ),
        (
            "NUL in the password",
            json!({ "name": "B", "email": "b@example.com", "password": "12345678\u{0}" }),
            "BAD_USER_INPUT",
            "password",
        ),
        (
            "taken email",
            json!({ "name": "B", "email": "ANN@example.com", "password": "12345678" }),
            "CONFLICT",
            "email",
        ),
    ];
    for (case, input, code, field) in cases {
        let body = app.graphql(sign_up, json!({ "input": input })).await;
        assert_eq!(error_code(&body), code, "case {case}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "case {case}"
        );
    }
    // An 8-character password, and a long passphrase, are fine.
    app.sign_up("Cy", "cy@example.com", "12345678").await;
    app.sign_up("Dee", "dee@example.com", &"a long passphrase ".repeat(50))
        .await;
}

async fn unknown_emails_and_wrong_passwords_are_answered_alike(app: TestApp) {
    // Arrange
    app.sign_up("Ann", "ann@example.com", "correct horse").await;
    let attempts = [
        ("an unknown email", "nobody@example.com"),
        ("a wrong password", "ann@example.com"),
        ("not an email at all", "nobody"),
    ];
    let mut answers = Vec::new();
    for (case, email) in attempts {
        // Act
        let before = hash_computations(&app).await;
        let body = app
            .graphql(
                LOG_IN,
                json!({ "email": email, "password": "battery staple" }),
            )
            .await;
        let after = hash_computations(&app).await;

        // Assert: one hash computed either way, and the same answer.
        assert_eq!(after - before, 1, "case {case}");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "case {case}: {body}");
        answers.push(body["errors"][0]["message"].clone());
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
}

async fn failed_log_ins_are_rate_limited(app: TestApp) {
    // Arrange
    app.sign_up("Ann", "ann@example.com", "correct horse").await;

    // Act: failures until the limiter steps in.
    let mut codes = Vec::new();
    for _ in 0..8 {
        let body = app
            .graphql(
                LOG_IN,
                json!({ "email": "ann@example.com", "password": "wrong guess" }),
            )
            .await;
        codes.push(error_code(&body).to_string());
    }
    let right_while_limited = app
        .graphql(
            LOG_IN,
            json!({ "email": "ann@example.com", "password": "correct horse" }),
        )
        .await;
    let other_account = app
        .graphql(
            LOG_IN,
            json!({ "email": "bob@example.com", "password": "wrong guess" }),
        )
        .await;

    // Assert
    assert_eq!(&codes[..5], ["UNAUTHENTICATED"; 5], "{codes:?}");
    assert_eq!(
        codes.last().map(String::as_str),
        Some("RATE_LIMITED"),
        "{codes:?}"
    );
    assert_eq!(
        error_code(&right_while_limited),
        "RATE_LIMITED",
        "{right_while_limited}"
    );
    let retry_after = right_while_limited["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .expect("retryAfter");
    assert!((1..=13).contains(&retry_after), "{retry_after}");
    assert_eq!(
        error_code(&other_account),
        "UNAUTHENTICATED",
        "{other_account}"
    );
}

async fn users_without_a_password_cannot_log_in(app: TestApp) {
    // Arrange: a user from before accounts (no password).
    let id = app.create_user("Old", "old@example.com").await;

    // Act
    let body = app
        .graphql(
            LOG_IN,
            json!({ "email": "old@example.com", "password": "anything at all" }),
        )
        .await;

    // Assert
    assert!(!id.is_empty());
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
}
