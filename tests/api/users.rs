//! Users: sign up (with posts, atomically), read, update, delete with cascade, paginate.

use serde_json::json;

use crate::helpers::{error_code, id_of, TestApp};

backend_tests!(
    user_is_created_and_read_back,
    user_is_created_with_posts_in_one_transaction,
    nested_create_is_rolled_back_when_a_title_is_taken,
    user_is_updated,
    deleting_a_user_deletes_their_posts,
    users_are_paginated_with_cursors,
    unknown_user_is_null,
    demo_data_is_seeded_once,
    each_mutation_field_sees_the_writes_before_it,
    delete_counts_exactly_while_posts_are_being_added,
    reads_never_lose_their_data_to_a_concurrent_delete,
);

async fn user_is_created_and_read_back(app: TestApp) {
    // Act
    let created = app
        .data(
            "mutation { signUp(input: { name: \"Ann\", email: \"Ann@Example.com\", password: \"correct horse\" }) { token user { id name email createdAt postCount } } }",
            json!({}),
        )
        .await;
    let token = created["signUp"]["token"].as_str().expect("a token");
    let created = json!({ "createUser": created["signUp"]["user"] });
    let id = id_of(&created["createUser"]);
    let (_, read) = app
        .graphql_as(
            Some(token),
            "query($id: ID!) { user(id: $id) { id name email createdAt posts { totalCount nodes { id } } } }",
            json!({ "id": id }),
        )
        .await;
    let read = &read["data"];

    // Assert
    assert_eq!(created["createUser"]["email"], "ann@example.com");
    let user = &read["user"];
    assert_eq!(user["name"], "Ann");
    assert_eq!(
        user["email"], "ann@example.com",
        "emails are stored in lower case"
    );
    assert_eq!(user["createdAt"], created["createUser"]["createdAt"]);
    let created_at = user["createdAt"].as_str().expect("createdAt");
    assert!(
        created_at.contains('.'),
        "timestamps keep fractions of a second: {created_at}"
    );
    assert_eq!(created["createUser"]["postCount"], 0);
    assert_eq!(user["posts"]["totalCount"], 0);
    assert_eq!(user["posts"]["nodes"], json!([]));
}

async fn user_is_created_with_posts_in_one_transaction(app: TestApp) {
    // Act
    let data = app
        .data(
            r#"mutation { signUp(input: {
                name: "Bea", email: "bea@example.com", password: "correct horse",
                posts: [{ title: "One", content: "1" }, { title: "Two", content: "2" }]
            }) { user { id postCount posts { nodes { title content author { name } } } } } }"#,
            json!({}),
        )
        .await;

    // Assert
    let user = &data["signUp"]["user"];
    assert_eq!(user["postCount"], 2);
    assert_eq!(
        user["posts"]["nodes"],
        json!([
            { "title": "One", "content": "1", "author": { "name": "Bea" } },
            { "title": "Two", "content": "2", "author": { "name": "Bea" } },
        ])
    );
}

async fn nested_create_is_rolled_back_when_a_title_is_taken(app: TestApp) {
    // Arrange
    let first = app.create_user("First", "first@example.com").await;
    app.create_post(&first, "Taken").await;

    // Act
    let body = app
        .graphql(
            r#"mutation { signUp(input: {
                name: "Cy", email: "cy@example.com", password: "correct horse",
                posts: [{ title: "Fresh", content: "x" }, { title: "Taken", content: "y" }]
            }) { token } }"#,
            json!({}),
        )
        .await;

    // Assert: a conflict on the title, and nothing of the new user was written.
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "title");
    let data = app
        .data(
            "{ users { totalCount } posts { totalCount nodes { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["users"]["totalCount"], 1);
    assert_eq!(data["posts"]["totalCount"], 1);
    assert_eq!(data["posts"]["nodes"], json!([{ "title": "Taken" }]));
    // The email is free again, and so is the other title.
    app.create_user_with_posts("Cy", "cy@example.com", &["Fresh".to_string()])
        .await;
}

async fn user_is_updated(app: TestApp) {
    // Arrange
    let id = app.create_user("Dan", "dan@example.com").await;

    // Act
    let data = app
        .data_by(
            &id,
            "mutation($id: ID!) { updateUser(id: $id, input: { name: \"Daniel\" }) { id name email } }",
            json!({ "id": id }),
        )
        .await;
    let renamed_and_moved = app
        .data_by(
            &id,
            "mutation($id: ID!) { updateUser(id: $id, input: { email: \"daniel@example.com\" }) { name email } }",
            json!({ "id": id }),
        )
        .await;

    // Assert
    assert_eq!(data["updateUser"]["name"], "Daniel");
    assert_eq!(data["updateUser"]["email"], "dan@example.com");
    assert_eq!(
        renamed_and_moved["updateUser"],
        json!({ "name": "Daniel", "email": "daniel@example.com" })
    );
}

async fn deleting_a_user_deletes_their_posts(app: TestApp) {
    // Arrange
    let gone = app
        .create_user_with_posts("Eve", "eve@example.com", &["E1".into(), "E2".into()])
        .await;
    let kept = app
        .create_user_with_posts("Fay", "fay@example.com", &["F1".into()])
        .await;

    // Act
    let data = app
        .data_by(
            &gone,
            "mutation($id: ID!) { deleteUser(id: $id) { id deletedPostCount } }",
            json!({ "id": gone }),
        )
        .await;

    // Assert
    assert_eq!(
        data["deleteUser"],
        json!({ "id": gone, "deletedPostCount": 2 })
    );
    let after = app
        .data(
            "query($gone: ID!, $kept: ID!) { gone: user(id: $gone) { id } kept: user(id: $kept) { postCount } posts { nodes { title } } }",
            json!({ "gone": gone, "kept": kept }),
        )
        .await;
    assert_eq!(after["gone"], json!(null));
    assert_eq!(after["kept"]["postCount"], 1);
    assert_eq!(after["posts"]["nodes"], json!([{ "title": "F1" }]));
}

async fn users_are_paginated_with_cursors(app: TestApp) {
    // Arrange
    for n in 0..5 {
        app.create_user(&format!("U{n}"), &format!("u{n}@example.com"))
            .await;
    }
    let query = r#"query($after: String) { users(first: 2, after: $after) {
        totalCount
        edges { cursor node { name } }
        nodes { name }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    } }"#;

    // Act: walk the pages.
    let mut names = Vec::new();
    let mut after = json!(null);
    let mut pages = Vec::new();
    loop {
        let data = app.data(query, json!({ "after": after })).await;
        let page = data["users"].clone();
        for node in page["nodes"].as_array().expect("nodes") {
            names.push(node["name"].as_str().expect("name").to_string());
        }
        let has_next = page["pageInfo"]["hasNextPage"] == json!(true);
        after = page["pageInfo"]["endCursor"].clone();
        pages.push(page);
        if !has_next {
            break;
        }
        assert!(pages.len() < 10, "pagination does not end");
    }

    // Assert
    assert_eq!(names, ["U0", "U1", "U2", "U3", "U4"]);
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0]["totalCount"], 5);
    assert_eq!(pages[0]["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(pages[1]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(pages[2]["pageInfo"]["hasNextPage"], false);
    let first_page = &pages[0];
    assert_eq!(
        first_page["edges"][0]["cursor"],
        first_page["pageInfo"]["startCursor"]
    );
    assert_eq!(
        first_page["edges"][1]["cursor"],
        first_page["pageInfo"]["endCursor"]
    );
    assert_eq!(first_page["edges"][1]["node"]["name"], "U1");
}

async fn unknown_user_is_null(app: TestApp) {
    let data = app
        .data("{ user(id: 999) { id } post(id: 999) { id } }", json!({}))
        .await;
    assert_eq!(data, json!({ "user": null, "post": null }));
}

async fn demo_data_is_seeded_once(app: TestApp) {
    // Act
    let accounts =
        blogql::accounts::Accounts::new(std::time::Duration::from_secs(60)).expect("accounts");
    let first = blogql::seed::seed_demo(&app.db, &accounts)
        .await
        .expect("seed");
    let second = blogql::seed::seed_demo(&app.db, &accounts)
        .await
        .expect("seed again");

    // Assert
    assert_eq!((first, second), (2, 0));
    let data = app
        .data(
            "{ users { nodes { name posts { nodes { title } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["users"]["nodes"],
        json!([
            { "name": "admin", "posts": { "nodes": [{ "title": "The Life of Cactus" }] } },
            { "name": "John", "posts": { "nodes": [{ "title": "First Post" }, { "title": "Second Post" }] } },
        ])
    );
}

async fn each_mutation_field_sees_the_writes_before_it(app: TestApp) {
    // Arrange
    let author = app.create_user("Rae", "rae@example.com").await;

    // Act: one request, three writes; each answer reads after its own write.
    let data = app
        .data_by(
            &author,
            r#"mutation($author: ID!) {
                a: createPost(input: { authorId: $author, title: "A", content: "" }) { author { postCount name } }
                b: createPost(input: { authorId: $author, title: "B", content: "" }) { author { postCount name } }
                r: updateUser(id: $author, input: { name: "Renamed" }) { name }
                c: createPost(input: { authorId: $author, title: "C", content: "" }) { author { postCount name posts { totalCount } } }
            }"#,
            json!({ "author": author }),
        )
        .await;

    // Assert
    assert_eq!(
        data["a"]["author"],
        json!({ "postCount": 1, "name": "Rae" })
    );
    assert_eq!(
        data["b"]["author"],
        json!({ "postCount": 2, "name": "Rae" })
    );
    assert_eq!(
        data["c"]["author"],
        json!({ "postCount": 3, "name": "Renamed", "posts": { "totalCount": 3 } })
    );
}

async fn delete_counts_exactly_while_posts_are_being_added(app: TestApp) {
    // Arrange
    let author = app
        .create_user_with_posts(
            "Sam",
            "sam@example.com",
            &["S1".into(), "S2".into(), "S3".into()],
        )
        .await;

    // Act: a delete races ten new posts for the same user.
    let create = |n: usize| {
        app.graphql_by(
            &author,
            "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }",
            json!({ "input": { "title": format!("Racing {n}"), "content": "" } }),
        )
    };
    let delete = app.graphql_by(
        &author,
        "mutation($id: ID!) { deleteUser(id: $id) { deletedPostCount } }",
        json!({ "id": author }),
    );
    let (deleted, created) =
        tokio::join!(delete, futures_util::future::join_all((0..10).map(create)));

    // Assert: every post that was written was counted; every other write was told NOT_FOUND
    // (its author went while it was written) or UNAUTHENTICATED (the token went with them).
    assert!(deleted.get("errors").is_none(), "{deleted}");
    let mut written = 0;
    for body in &created {
        match body.get("errors") {
            None => written += 1,
            Some(_) => assert!(
                ["NOT_FOUND", "UNAUTHENTICATED"].contains(&error_code(body)),
                "{body}"
            ),
        }
    }
    assert_eq!(
        deleted["data"]["deleteUser"]["deletedPostCount"],
        3 + written
    );
    let left = app.data("{ posts { totalCount } }", json!({})).await;
    assert_eq!(left["posts"]["totalCount"], 0);
}

async fn reads_never_lose_their_data_to_a_concurrent_delete(app: TestApp) {
    // Arrange: 30 users with 3 posts each, each following the next 3.
    let users = app.seed(30, 3).await;
    app.follow_ring(&users, 3).await;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let queries = [
        "{ posts(first: 100) { nodes { title author { name } } } }",
        "{ posts(first: 100) { edges { node { title author { name } } } } }",
        "{ users(first: 50) { nodes { feed(first: 5) { nodes { title author { name } } } } } }",
    ];

    // Act: readers read posts with their authors while the users are deleted one by one (a
    // post read before its author's delete, whose author is read after it, must not turn the
    // whole answer into `data: null`).
    let readers = futures_util::future::join_all(queries.iter().map(|query| async {
        let mut answers = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            answers.push(app.graphql(query, json!({})).await);
        }
        answers
    }));
    let deletes = async {
        for user in &users {
            app.data_by(
                user,
                "mutation($id: ID!) { deleteUser(id: $id) { id } }",
                json!({ "id": user }),
            )
            .await;
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (answers, ()) = tokio::join!(readers, deletes);

    // Assert
    let answers: Vec<_> = answers.into_iter().flatten().collect();
    assert!(answers.len() > 30, "only {} reads", answers.len());
    for body in &answers {
        assert!(body.get("errors").is_none(), "{body}");
        assert!(!body["data"].is_null(), "{body}");
    }
}
