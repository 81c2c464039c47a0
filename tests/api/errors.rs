//! Every error code, and the fields they name. Clients match on `extensions.code`, so these
//! tests pin it for each kind of mistake; they also catch a resolver that drops the code.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{error_code, TestApp};

backend_tests!(
    missing_rows_are_not_found,
    bad_input_is_rejected_with_the_field,
    duplicates_are_conflicts_naming_the_field,
    database_failures_are_internal_and_leak_nothing,
    text_no_database_can_store_is_bad_user_input_everywhere,
);

/// Runs each `(case, query, code, field)` as the user `actor` and asserts the first error's
/// code and, if given, its field.
async fn assert_errors(app: &TestApp, actor: &str, cases: &[(&str, &str, &str, Option<&str>)]) {
    for (case, query, code, field) in cases {
        let body = app.graphql_by(actor, query, json!({})).await;
        assert_eq!(error_code(&body), *code, "case {case}: {body}");
        if let Some(field) = field {
            assert_eq!(
                body["errors"][0]["extensions"]["field"],
                json!(field),
                "case {case}: {body}"
            );
        }
    }
}

async fn missing_rows_are_not_found(app: TestApp) {
    // An admin, who may write anything: what is missing is NOT_FOUND, not FORBIDDEN.
    let admin = app.create_user("Ada", "ada@example.com").await;
    app.promote(&admin).await;
    let cases = [
        ("updateUser", "mutation { updateUser(id: 999, input: { name: \"x\" }) { id } }", "NOT_FOUND", None),
        ("deleteUser", "mutation { deleteUser(id: 999) { id } }", "NOT_FOUND", None),
        ("updatePost", "mutation { updatePost(id: 999, input: { title: \"x\" }) { id } }", "NOT_FOUND", None),
        ("deletePost", "mutation { deletePost(id: 999) { id } }", "NOT_FOUND", None),
        (
            "createPost for a missing author",
            "mutation { createPost(input: { authorId: 999, title: \"t\", content: \"c\" }) { id } }",
            "NOT_FOUND",
            None,
        ),
    ];
    assert_errors(&app, &admin, &cases).await;

    let author = app.create_user("Lea", "lea@example.com").await;
    let post = app.create_post(&author, "Lea's").await;
    let body = app
        .graphql_by(
            &admin,
            "mutation($id: ID!) { updatePost(id: $id, input: { authorId: 999 }) { id } }",
            json!({ "id": post }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "NOT_FOUND",
        "moving to a missing author: {body}"
    );
}

async fn bad_input_is_rejected_with_the_field(app: TestApp) {
    let author = app.create_user("Max", "max@example.com").await;
    let long_title = "t".repeat(251);
    let too_long = format!(
        "mutation {{ createPost(input: {{ authorId: {author}, title: \"{long_title}\", content: \"c\" }}) {{ id }} }}"
    );
    let cases = [
        ("page too large", "{ users(first: 101) { totalCount } }", "BAD_USER_INPUT", Some("first")),
        ("negative page", "{ posts(first: -1) { totalCount } }", "BAD_USER_INPUT", Some("first")),
        ("garbage cursor", "{ users(after: \"nope\") { totalCount } }", "BAD_USER_INPUT", Some("after")),
        ("nested page too large", "{ users { nodes { posts(first: 1000) { totalCount } } } }", "BAD_USER_INPUT", Some("first")),
        ("id not a number", "{ user(id: \"abc\") { id } }", "BAD_USER_INPUT", Some("id")),
        ("empty name", "mutation { signUp(input: { password: \"a long passphrase\", name: \"  \", email: \"a@b.c\" }) { token } }", "BAD_USER_INPUT", Some("name")),
        ("bad email", "mutation { signUp(input: { password: \"a long passphrase\", name: \"n\", email: \"not-an-email\" }) { token } }", "BAD_USER_INPUT", Some("email")),
        (
            "empty nested title",
            "mutation { signUp(input: { password: \"a long passphrase\", name: \"n\", email: \"n@example.com\", posts: [{ title: \"ok\", content: \"\" }, { title: \"\", content: \"\" }] }) { token } }",
            "BAD_USER_INPUT",
            Some("posts[1].title"),
        ),
        (
            "repeated nested title",
            "mutation { signUp(input: { password: \"a long passphrase\", name: \"n\", email: \"n@example.com\", posts: [{ title: \"same\", content: \"\" }, { title: \"same\", content: \"\" }] }) { token } }",
            "BAD_USER_INPUT",
            Some("posts[1].title"),
        ),
        ("title too long", too_long.as_str(), "BAD_USER_INPUT", Some("title")),
        ("bad authorId", "mutation { createPost(input: { authorId: \"x\", title: \"t\", content: \"c\" }) { id } }", "BAD_USER_INPUT", Some("authorId")),
    ];
    assert_errors(&app, &author, &cases).await;

    // Nothing was written by any of them.
    let data = app
        .data("{ users { totalCount } posts { totalCount } }", json!({}))
        .await;
    assert_eq!(
        data,
        json!({ "users": { "totalCount": 1 }, "posts": { "totalCount": 0 } })
    );
}

async fn duplicates_are_conflicts_naming_the_field(app: TestApp) {
    let author = app.create_user("Ned", "ned@example.com").await;
    let other = app.create_user("Ola", "ola@example.com").await;
    app.create_post(&author, "Unique").await;
    let other_post = app.create_post(&other, "Other").await;
    let update_email = format!(
        "mutation {{ updateUser(id: {other}, input: {{ email: \"ned@example.com\" }}) {{ id }} }}"
    );
    let create_title = format!(
        "mutation {{ createPost(input: {{ authorId: {other}, title: \"Unique\", content: \"c\" }}) {{ id }} }}"
    );
    let update_title = format!(
        "mutation {{ updatePost(id: {other_post}, input: {{ title: \"Unique\" }}) {{ id }} }}"
    );
    let cases = [
        (
            "create with a taken email",
            "mutation { signUp(input: { password: \"a long passphrase\", name: \"x\", email: \"NED@example.com\" }) { token } }",
            "CONFLICT",
            Some("email"),
        ),
        (
            "update to a taken email",
            update_email.as_str(),
            "CONFLICT",
            Some("email"),
        ),
        (
            "create with a taken title",
            create_title.as_str(),
            "CONFLICT",
            Some("title"),
        ),
        (
            "update to a taken title",
            update_title.as_str(),
            "CONFLICT",
            Some("title"),
        ),
    ];
    assert_errors(&app, &other, &cases).await;
}

async fn database_failures_are_internal_and_leak_nothing(app: TestApp) {
    // Arrange: break the database under the server's feet.
    app.create_user("Uma", "uma@example.com").await;
    app.create_user("Vic", "vic@example.com").await;
    app.db
        .execute_unprepared("DROP TABLE posts")
        .await
        .expect("drop the posts table");

    // Act: a root query, and a loader batch that every user waits on.
    let body = app
        .graphql("{ posts { nodes { title } } }", json!({}))
        .await;
    let batched = app
        .graphql(
            "{ users { nodes { posts { nodes { title } } } } }",
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(error_code(&body), "INTERNAL", "{body}");
    assert_eq!(body["errors"][0]["message"], "internal error");
    let errors = batched["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "one error per waiting user: {batched}");
    for error in errors {
        assert_eq!(error["extensions"]["code"], "INTERNAL", "{batched}");
        assert_eq!(error["message"], "internal error", "{batched}");
    }
    for response in [&body, &batched] {
        let text = response.to_string().to_lowercase();
        for leak in [
            "select", "from", "sqlite", "relation", "table", "exist", "syntax",
        ] {
            assert!(
                !text.contains(leak),
                "{leak:?} leaked to the client: {response}"
            );
        }
    }
}

async fn text_no_database_can_store_is_bad_user_input_everywhere(app: TestApp) {
    // Arrange: PostgreSQL cannot store NUL in text; SQLite and MariaDB could.
    let author = app.create_user("Nul", "nul@example.com").await;
    let post = app.create_post(&author, "Clean").await;
    let nul = "a\u{0}b";
    let cases = [
        (
            "createUser name",
            "mutation($t: String!) { signUp(input: { password: \"a long passphrase\", name: $t, email: \"x@example.com\" }) { token } }",
            "name",
        ),
        (
            "createUser email",
            "mutation($t: String!) { signUp(input: { password: \"a long passphrase\", name: \"x\", email: $t }) { token } }",
            "email",
        ),
        (
            "createUser nested content",
            "mutation($t: String!) { signUp(input: { password: \"a long passphrase\", name: \"x\", email: \"x@example.com\", posts: [{ title: \"ok\", content: $t }] }) { token } }",
            "posts[0].content",
        ),
        (
            "createPost title",
            "mutation($t: String!, $a: ID!) { createPost(input: { authorId: $a, title: $t, content: \"\" }) { id } }",
            "title",
        ),
        (
            "createPost content",
            "mutation($t: String!, $a: ID!) { createPost(input: { authorId: $a, title: \"t\", content: $t }) { id } }",
            "content",
        ),
        (
            "updatePost content",
            "mutation($t: String!, $p: ID!) { updatePost(id: $p, input: { content: $t }) { id } }",
            "content",
        ),
        (
            "updateUser name",
            "mutation($t: String!, $a: ID!) { updateUser(id: $a, input: { name: $t }) { id } }",
            "name",
        ),
    ];

    for (case, query, field) in cases {
        // Act
        let mut variables = json!({ "t": nul });
        if query.contains("$a") {
            variables["a"] = json!(author);
        }
        if query.contains("$p") {
            variables["p"] = json!(post);
        }
        let body = app.graphql_by(&author, query, variables).await;

        // Assert
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "case {case}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "case {case}"
        );
    }
    let data = app
        .data(
            "{ users { totalCount nodes { name } } posts { totalCount nodes { title content } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "users": { "totalCount": 1, "nodes": [{ "name": "Nul" }] },
            "posts": { "totalCount": 1, "nodes": [{ "title": "Clean", "content": "Some content" }] },
        })
    );
}
