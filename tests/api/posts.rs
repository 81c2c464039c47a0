//! Posts: create, read with the author, update, move between authors, delete, paginate.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{error_code, id_of, TestApp};

backend_tests!(
    post_is_created_and_read_with_its_author,
    post_is_updated,
    post_is_moved_to_another_author,
    post_is_deleted,
    posts_are_paginated_across_pages,
    user_posts_are_paginated_per_user,
    titles_are_unique_exactly,
    text_round_trips_exactly,
    a_page_read_without_contents_never_answers_for_one_with_them,
);

backend_tests!(on [postgres]: timestamps_read_back_to_the_microsecond_on_postgres);

async fn post_is_created_and_read_with_its_author(app: TestApp) {
    // Arrange
    let author = app.create_user("Gus", "gus@example.com").await;

    // Act
    let created = app
        .data_by(
            &author,
            "mutation($input: CreatePostInput!) { createPost(input: $input) { id title content createdAt updatedAt author { id name } } }",
            json!({ "input": { "title": "Hello", "content": "World" } }),
        )
        .await;
    let id = id_of(&created["createPost"]);
    let read = app
        .data(
            "query($id: ID!) { post(id: $id) { id title content author { name postCount } } }",
            json!({ "id": id }),
        )
        .await;

    // Assert
    let post = &created["createPost"];
    assert_eq!(post["title"], "Hello");
    assert_eq!(post["author"], json!({ "id": author, "name": "Gus" }));
    assert_eq!(post["createdAt"], post["updatedAt"]);
    assert_eq!(
        read["post"],
        json!({ "id": id, "title": "Hello", "content": "World", "author": { "name": "Gus", "postCount": 1 } })
    );
}

async fn post_is_updated(app: TestApp) {
    // Arrange
    let author = app.create_user("Hal", "hal@example.com").await;
    let id = app.create_post(&author, "Draft").await;

    // Act
    let data = app
        .data_by(
            &author,
            "mutation($id: ID!) { updatePost(id: $id, input: { title: \"Final\", content: \"Done\" }) { id title content createdAt updatedAt } }",
            json!({ "id": id }),
        )
        .await;

    // Assert
    let post = &data["updatePost"];
    assert_eq!(
        (post["title"].as_str(), post["content"].as_str()),
        (Some("Final"), Some("Done"))
    );
    let created_at = post["createdAt"].as_str().expect("createdAt");
    let updated_at = post["updatedAt"].as_str().expect("updatedAt");
    assert!(updated_at >= created_at, "{updated_at} < {created_at}");
}

async fn post_is_moved_to_another_author(app: TestApp) {
    // Arrange
    let from = app
        .create_user_with_posts(
            "Ida",
            "ida@example.com",
            &["Mine".into(), "Also mine".into()],
        )
        .await;
    let to = app.create_user("Jo", "jo@example.com").await;
    let post = app
        .data("{ posts(first: 1) { nodes { id } } }", json!({}))
        .await["posts"]["nodes"][0]["id"]
        .clone();

    let admin = app.create_user("Root", "root@example.com").await;
    app.promote(&admin).await;
    let move_post = "mutation($id: ID!, $to: ID!) { updatePost(id: $id, input: { authorId: $to }) { title author { name } } }";

    // Act: its author may not give it away (nor Jo take it); an admin may move it.
    let given = app
        .graphql_by(&from, move_post, json!({ "id": post, "to": to }))
        .await;
    let taken = app
        .graphql_by(&to, move_post, json!({ "id": post, "to": to }))
        .await;
    let moved = app
        .data_by(&admin, move_post, json!({ "id": post, "to": to }))
        .await;

    // Assert
    assert_eq!(error_code(&given), "FORBIDDEN", "{given}");
    assert_eq!(error_code(&taken), "FORBIDDEN", "{taken}");
    assert_eq!(
        moved["updatePost"],
        json!({ "title": "Mine", "author": { "name": "Jo" } })
    );
    let data = app
        .data(
            "query($from: ID!, $to: ID!) { from: user(id: $from) { posts { nodes { title } } } to: user(id: $to) { postCount posts { nodes { title } } } }",
            json!({ "from": from, "to": to }),
        )
        .await;
    assert_eq!(
        data["from"]["posts"]["nodes"],
        json!([{ "title": "Also mine" }])
    );
    assert_eq!(data["to"]["postCount"], 1);
    assert_eq!(data["to"]["posts"]["nodes"], json!([{ "title": "Mine" }]));
}

async fn post_is_deleted(app: TestApp) {
    // Arrange
    let author = app.create_user("Kim", "kim@example.com").await;
    let id = app.create_post(&author, "Short-lived").await;

    // Act
    let data = app
        .data_by(
            &author,
            "mutation($id: ID!) { deletePost(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;

    // Assert
    assert_eq!(data["deletePost"]["id"], id.as_str());
    let after = app
        .data(
            "query($id: ID!, $author: ID!) { post(id: $id) { id } user(id: $author) { postCount } }",
            json!({ "id": id, "author": author }),
        )
        .await;
    assert_eq!(after, json!({ "post": null, "user": { "postCount": 0 } }));
}

async fn posts_are_paginated_across_pages(app: TestApp) {
    // Arrange
    app.seed(2, 3).await;
    let query = "query($after: String) { posts(first: 4, after: $after) { totalCount nodes { title } pageInfo { hasNextPage hasPreviousPage endCursor } } }";

    // Act
    let first = app.data(query, json!({ "after": null })).await;
    let cursor = first["posts"]["pageInfo"]["endCursor"].clone();
    let second = app.data(query, json!({ "after": cursor })).await;

    // Assert
    let titles = |page: &serde_json::Value| -> Vec<String> {
        page["posts"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|node| node["title"].as_str().expect("title").to_string())
            .collect()
    };
    assert_eq!(
        titles(&first),
        [
            "Post 0 of user 0",
            "Post 1 of user 0",
            "Post 2 of user 0",
            "Post 0 of user 1"
        ]
    );
    assert_eq!(titles(&second), ["Post 1 of user 1", "Post 2 of user 1"]);
    assert_eq!(first["posts"]["totalCount"], 6);
    assert_eq!(first["posts"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(second["posts"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["posts"]["pageInfo"]["hasPreviousPage"], true);
}

async fn user_posts_are_paginated_per_user(app: TestApp) {
    // Arrange: users with 0, 2 and 5 posts.
    let ids = [
        app.create_user("None", "none@example.com").await,
        app.create_user_with_posts("Two", "two@example.com", &["a1".into(), "a2".into()])
            .await,
        app.create_user_with_posts(
            "Five",
            "five@example.com",
            &[
                "b1".into(),
                "b2".into(),
                "b3".into(),
                "b4".into(),
                "b5".into(),
            ],
        )
        .await,
    ];
    let query = "query($after: String) { users { nodes { name posts(first: 2, after: $after) { totalCount nodes { title } pageInfo { hasNextPage endCursor } } } } }";

    // Act
    let data = app.data(query, json!({ "after": null })).await;

    // Assert: each user's page is cut on its own.
    let users = &data["users"]["nodes"];
    let summary: Vec<_> = (0..3)
        .map(|i| {
            let posts = &users[i]["posts"];
            (
                posts["totalCount"].clone(),
                posts["nodes"].clone(),
                posts["pageInfo"]["hasNextPage"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(0), json!([]), json!(false)),
            (
                json!(2),
                json!([{ "title": "a1" }, { "title": "a2" }]),
                json!(false)
            ),
            (
                json!(5),
                json!([{ "title": "b1" }, { "title": "b2" }]),
                json!(true)
            ),
        ]
    );

    // Act: the next page of the third user.
    let cursor = users[2]["posts"]["pageInfo"]["endCursor"].clone();
    let next = app
        .data(
            "query($id: ID!, $after: String) { user(id: $id) { posts(first: 2, after: $after) { nodes { title } pageInfo { hasNextPage hasPreviousPage } } } }",
            json!({ "id": ids[2], "after": cursor }),
        )
        .await;

    // Assert
    assert_eq!(
        next["user"]["posts"],
        json!({ "nodes": [{ "title": "b3" }, { "title": "b4" }], "pageInfo": { "hasNextPage": true, "hasPreviousPage": true } })
    );
}

async fn titles_are_unique_exactly(app: TestApp) {
    // Arrange
    let author = app.create_user("Quinn", "quinn@example.com").await;

    // Act: titles that differ only in case or a trailing space are different titles, on every
    // database (MySQL and MariaDB would merge them under their default collation).
    for title in ["Hello", "hello", "Hello "] {
        app.create_post(&author, title).await;
    }
    let body = app
        .graphql_by(
            &author,
            "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }",
            json!({ "input": { "title": "Hello", "content": "again" } }),
        )
        .await;

    // Assert
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let data = app.data("{ posts { totalCount } }", json!({})).await;
    assert_eq!(data["posts"]["totalCount"], 3);
}

async fn text_round_trips_exactly(app: TestApp) {
    // Arrange: emoji, accents, and content far past MySQL's 64 KiB TEXT.
    let name = "Zoë 🌵 Ünïcødé";
    let content = "Lorem ipsum — ça va? 🌵\n".repeat(5_000);
    let zoe_accented = app.create_user(name, "zoë@example.com").await;
    // Differs only by an accent: a different address on every database.
    app.create_user("Zoe", "zoe@example.com").await;

    // Act
    let created = app
        .data_by(
            &zoe_accented,
            "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }",
            json!({ "input": { "title": "Ça va? 🌵", "content": content } }),
        )
        .await;
    let read = app
        .data_by(
            &zoe_accented,
            "query($id: ID!) { post(id: $id) { title content author { name email } } }",
            json!({ "id": id_of(&created["createPost"]) }),
        )
        .await;

    // Assert
    let post = &read["post"];
    assert_eq!(post["title"], "Ça va? 🌵");
    assert!(
        post["content"] == content.as_str(),
        "the content changed on the way"
    );
    assert_eq!(
        post["author"],
        json!({ "name": name, "email": "zoë@example.com" })
    );
}

async fn a_page_read_without_contents_never_answers_for_one_with_them(app: TestApp) {
    // Arrange
    app.seed(2, 2).await;

    // Act: pages of the same lists, read for titles only and for everything, in one request.
    let data = app
        .data(
            r#"{
                titles: posts(first: 2) { nodes { title } }
                whole: posts(first: 2) { edges { node { title content createdAt updatedAt } } }
                updated: posts(first: 1) { nodes { ... on Post { updatedAt } } }
                users(first: 1) {
                    nodes {
                        titles: posts(first: 1) { nodes { title } }
                        whole: posts(first: 1) { nodes { ...Whole } }
                    }
                }
            }
            fragment Whole on Post { content createdAt }"#,
            json!({}),
        )
        .await;

    // Assert: the whole rows are whole.
    assert_eq!(
        data["titles"]["nodes"],
        json!([{ "title": "Post 0 of user 0" }, { "title": "Post 1 of user 0" }])
    );
    let whole = &data["whole"]["edges"][0]["node"];
    assert_eq!(whole["content"], "About Post 0 of user 0");
    let created_at = whole["createdAt"].as_str().expect("createdAt");
    assert!(!created_at.starts_with("1970"), "{created_at}");
    assert_eq!(whole["createdAt"], whole["updatedAt"]);
    assert_eq!(data["updated"]["nodes"][0]["updatedAt"], whole["updatedAt"]);
    let user = &data["users"]["nodes"][0];
    assert_eq!(
        user["titles"]["nodes"],
        json!([{ "title": "Post 0 of user 0" }])
    );
    assert_eq!(
        user["whole"]["nodes"][0]["content"],
        "About Post 0 of user 0"
    );
    let nested_created_at = user["whole"]["nodes"][0]["createdAt"]
        .as_str()
        .expect("createdAt");
    assert!(
        !nested_created_at.starts_with("1970"),
        "{nested_created_at}"
    );
}

/// PostgreSQL's binary timestamps are read without sqlx's date arithmetic (`db::page::columns`):
/// check both sides of its epoch (2000-01-01), to the microsecond, through a page and a cursor.
async fn timestamps_read_back_to_the_microsecond_on_postgres(app: TestApp) {
    // Arrange
    let ann = app.create_user("Ann", "ann@example.com").await;
    let old = app.create_post(&ann, "Old").await;
    let new = app.create_post(&ann, "New").await;
    for (id, created, updated) in [
        (
            &old,
            "1999-12-31 23:59:59.999999+00",
            "2000-01-01 00:00:00.000001+00",
        ),
        (
            &new,
            "2026-11-30 12:34:56.789012+00",
            "1970-01-01 00:00:00+00",
        ),
    ] {
        app.db
            .execute_unprepared(&format!(
                "UPDATE posts SET created_at = '{created}', updated_at = '{updated}' WHERE id = {id}"
            ))
            .await
            .expect("set the timestamps");
    }

    // Act: ordered by creation, so that the cursors hold the timestamps too.
    let query = "query($after: String) { posts(orderBy: [{ field: CREATED_AT, direction: ASC }], first: 1, after: $after) { nodes { title createdAt updatedAt author { createdAt } } pageInfo { endCursor } } }";
    let first = app.data(query, json!({})).await;
    let second = app
        .data(
            query,
            json!({ "after": first["posts"]["pageInfo"]["endCursor"] }),
        )
        .await;

    // Assert
    let node = |page: &serde_json::Value| page["posts"]["nodes"][0].clone();
    assert_eq!(node(&first)["title"], "Old");
    assert_eq!(
        node(&first)["createdAt"],
        "1999-12-31T23:59:59.999999+00:00"
    );
    assert_eq!(
        node(&first)["updatedAt"],
        "2000-01-01T00:00:00.000001+00:00"
    );
    assert_eq!(node(&second)["title"], "New", "{second}");
    assert_eq!(
        node(&second)["createdAt"],
        "2026-11-30T12:34:56.789012+00:00"
    );
    assert_eq!(node(&second)["updatedAt"], "1970-01-01T00:00:00+00:00");
    assert!(node(&first)["author"]["createdAt"].is_string());
}
