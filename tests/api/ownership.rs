//! Who may write what: every write needs a token; people change only themselves and their own
//! posts and follow edges (anything else is `FORBIDDEN`, and nothing changes); an admin may do
//! anything; a user's email is shown to them and to admins only.

use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp};

backend_tests!(
    writes_without_a_token_are_unauthenticated_and_change_nothing,
    someone_elses_rows_are_forbidden_and_unchanged,
    admins_may_write_anything,
    posts_and_follows_are_made_for_the_viewer,
    emails_are_shown_to_their_owner_and_admins_only,
);

/// Everything a write could change, read by an admin (who sees every email).
const EVERYTHING: &str = "{ users(first: 10) { nodes { id name email following(first: 10) { nodes { id } } posts(first: 10) { nodes { id title content author { id } } } } } }";

/// The ways to write, each aimed at Ann (`$ann`, `$post`: hers) by whoever sends it.
const WRITES_AT_ANN: [(&str, &str); 8] = [
    (
        "updateUser",
        "mutation($ann: ID!) { updateUser(id: $ann, input: { name: \"Mallory\" }) { id } }",
    ),
    (
        "deleteUser",
        "mutation($ann: ID!) { deleteUser(id: $ann) { id } }",
    ),
    (
        "updatePost",
        "mutation($post: ID!) { updatePost(id: $post, input: { content: \"defaced\" }) { id } }",
    ),
    (
        "deletePost",
        "mutation($post: ID!) { deletePost(id: $post) { id } }",
    ),
    (
        "createPost in her name",
        "mutation($ann: ID!) { createPost(input: { authorId: $ann, title: \"Not hers\", content: \"\" }) { id } }",
    ),
    (
        "followUser in her name",
        "mutation($ann: ID!, $bob: ID!) { followUser(input: { followerId: $ann, followeeId: $bob }) { created } }",
    ),
    (
        "unfollowUser in her name",
        "mutation($ann: ID!, $cy: ID!) { unfollowUser(input: { followerId: $ann, followeeId: $cy }) { removed } }",
    ),
    (
        "createUser",
        "mutation { createUser(input: { name: \"Sneaky\", email: \"sneaky@example.com\" }) { id } }",
    ),
];

/// Ann (with a post, following Cy), Bob, Cy, and an admin; returns their ids and Ann's post.
struct World {
    ann: String,
    bob: String,
    cy: String,
    admin: String,
    post: String,
}

impl World {
    async fn make(app: &TestApp) -> Self {
        let ann = app.create_user("Ann", "ann@example.com").await;
        let bob = app.create_user("Bob", "bob@example.com").await;
        let cy = app.create_user("Cy", "cy@example.com").await;
        let admin = app.create_user("Root", "root@example.com").await;
        app.promote(&admin).await;
        let post = app.create_post(&ann, "Ann's").await;
        app.data_by(
            &ann,
            "mutation($cy: ID!) { followUser(input: { followeeId: $cy }) { created } }",
            json!({ "cy": cy }),
        )
        .await;
        World {
            ann,
            bob,
            cy,
            admin,
            post,
        }
    }

    fn variables(&self, query: &str) -> Value {
        let mut variables = json!({});
        for (name, value) in [
            ("ann", &self.ann),
            ("bob", &self.bob),
            ("cy", &self.cy),
            ("post", &self.post),
        ] {
            if query.contains(&format!("${name}")) {
                variables[name] = json!(value);
            }
        }
        variables
    }

    async fn everything(&self, app: &TestApp) -> Value {
        app.data_by(&self.admin, EVERYTHING, json!({})).await
    }
}

async fn writes_without_a_token_are_unauthenticated_and_change_nothing(app: TestApp) {
    // Arrange
    let world = World::make(&app).await;
    let before = world.everything(&app).await;

    for (case, write) in WRITES_AT_ANN {
        // Act
        let body = app.graphql(write, world.variables(write)).await;

        // Assert
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "case {case}: {body}");
    }
    assert_eq!(world.everything(&app).await, before);
}

async fn someone_elses_rows_are_forbidden_and_unchanged(app: TestApp) {
    // Arrange
    let world = World::make(&app).await;
    let before = world.everything(&app).await;

    for (case, write) in WRITES_AT_ANN {
        // Act: Bob tries.
        let body = app
            .graphql_by(&world.bob, write, world.variables(write))
            .await;

        // Assert
        assert_eq!(error_code(&body), "FORBIDDEN", "case {case}: {body}");
    }
    assert_eq!(world.everything(&app).await, before);
}

async fn admins_may_write_anything(app: TestApp) {
    // Arrange
    let world = World::make(&app).await;

    for (case, write) in WRITES_AT_ANN {
        // Act: the admin does each; deleting Ann (and with her, her post) comes last.
        if case == "deleteUser" {
            continue;
        }
        let body = app
            .graphql_by(&world.admin, write, world.variables(write))
            .await;

        // Assert
        assert!(body.get("errors").is_none(), "case {case}: {body}");
    }
    let deleted = app
        .data_by(
            &world.admin,
            "mutation($ann: ID!) { deleteUser(id: $ann) { deletedPostCount } }",
            json!({ "ann": world.ann }),
        )
        .await;
    // Ann's post was deleted by the admin already; the one made in her name went with her.
    assert_eq!(deleted["deleteUser"]["deletedPostCount"], 1);
    let names: Vec<Value> = world.everything(&app).await["users"]["nodes"]
        .as_array()
        .expect("users")
        .iter()
        .map(|user| user["name"].clone())
        .collect();
    assert_eq!(names, ["Bob", "Cy", "Root", "Sneaky"]);
}

async fn posts_and_follows_are_made_for_the_viewer(app: TestApp) {
    // Arrange
    let world = World::make(&app).await;

    // Act: Bob writes a post and follows Ann without naming himself.
    let data = app
        .data_by(
            &world.bob,
            r#"mutation($ann: ID!) {
                createPost(input: { title: "Bob's", content: "" }) { author { id } }
                followUser(input: { followeeId: $ann }) { follower { id } followee { id } }
                unfollowUser(input: { followeeId: $ann }) { removed }
                again: followUser(input: { followeeId: $ann }) { created }
            }"#,
            json!({ "ann": world.ann }),
        )
        .await;

    // Assert
    assert_eq!(data["createPost"]["author"]["id"], world.bob.as_str());
    assert_eq!(
        data["followUser"],
        json!({ "follower": { "id": world.bob }, "followee": { "id": world.ann } })
    );
    assert_eq!(data["unfollowUser"]["removed"], true);
    assert_eq!(data["again"]["created"], true);
}

async fn emails_are_shown_to_their_owner_and_admins_only(app: TestApp) {
    // Arrange
    let world = World::make(&app).await;
    let query = "query($ann: ID!) { viewer { email } user(id: $ann) { email posts { nodes { author { email } } } } users(first: 10) { nodes { email } } }";
    let variables = json!({ "ann": world.ann });
    let emails = |body: &Value| -> Vec<Value> {
        let data = &body["data"];
        let mut emails = vec![
            data["user"]["email"].clone(),
            data["user"]["posts"]["nodes"][0]["author"]["email"].clone(),
        ];
        emails.extend(
            data["users"]["nodes"]
                .as_array()
                .expect("users")
                .iter()
                .map(|user| user["email"].clone()),
        );
        emails
    };

    // Act
    let anonymous = app.graphql(query, variables.clone()).await;
    let bob = app.graphql_by(&world.bob, query, variables.clone()).await;
    let ann = app.graphql_by(&world.ann, query, variables.clone()).await;
    let admin = app.graphql_by(&world.admin, query, variables).await;

    // Assert: Ann's email to Ann and the admin; everyone's to the admin; nobody else's to
    // anyone.
    let null = Value::Null;
    let ann_email = json!("ann@example.com");
    assert_eq!(anonymous["data"]["viewer"], null);
    assert_eq!(emails(&anonymous), vec![null.clone(); 6]);
    assert_eq!(bob["data"]["viewer"]["email"], "bob@example.com");
    assert_eq!(
        emails(&bob),
        [
            null.clone(),
            null.clone(),
            null.clone(),
            json!("bob@example.com"),
            null.clone(),
            null.clone(),
        ]
    );
    assert_eq!(
        emails(&ann),
        [
            ann_email.clone(),
            ann_email.clone(),
            ann_email.clone(),
            null.clone(),
            null.clone(),
            null,
        ]
    );
    assert_eq!(
        emails(&admin),
        [
            ann_email.clone(),
            ann_email.clone(),
            ann_email,
            json!("bob@example.com"),
            json!("cy@example.com"),
            json!("root@example.com"),
        ]
    );
    for body in [&anonymous, &bob, &ann, &admin] {
        assert!(body.get("errors").is_none(), "{body}");
    }
}
