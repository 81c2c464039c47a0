//! Orders and backward paging on every list: each order field in both directions, pages
//! walked forwards (`first`/`after`) and backwards (`last`/`before`) meet the same rows with
//! `hasPreviousPage`/`hasNextPage` computed both ways; cursors belong to their order; paging
//! never skips or repeats a row while rows come and go; relation lists with different
//! arguments are grouped correctly, in statements that do not grow with the parents.

use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp};

backend_tests!(
    posts_are_ordered_by_every_field_both_ways,
    users_are_ordered_by_names_and_counts,
    cursors_belong_to_their_order_and_direction,
    paging_never_skips_or_repeats_while_rows_come_and_go,
    relation_lists_with_different_arguments_are_grouped,
);

const POSTS: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $orderBy: [PostOrder!]) {
    posts(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
        nodes { title }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
}"#;

const USERS: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $orderBy: [UserOrder!]) {
    users(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
        nodes { name }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
}"#;

/// The labels (`title` or `name`) of a whole list, walked in pages of `size`: forwards from
/// the start, and backwards from the end. Checks each page's `hasNextPage` and
/// `hasPreviousPage` on the way.
async fn walk_both_ways(
    app: &TestApp,
    query: &str,
    list: &str,
    order_by: Value,
    size: i64,
) -> (Vec<String>, Vec<String>) {
    let labels = |connection: &Value| -> Vec<String> {
        connection["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|node| {
                node.get("title")
                    .or_else(|| node.get("name"))
                    .and_then(Value::as_str)
                    .expect("a label")
                    .to_string()
            })
            .collect()
    };

    let mut forward = Vec::new();
    let mut after = Value::Null;
    for page in 0.. {
        assert!(page < 50, "paging forwards does not end");
        let variables = json!({ "first": size, "after": after, "orderBy": order_by });
        let data = app.data(query, variables).await;
        let connection = &data[list];
        forward.extend(labels(connection));
        let info = &connection["pageInfo"];
        assert_eq!(
            info["hasPreviousPage"],
            page > 0,
            "forward page {page}: {info}"
        );
        if info["hasNextPage"] != json!(true) {
            break;
        }
        after = info["endCursor"].clone();
    }

    let mut backward: Vec<String> = Vec::new();
    let mut before = Value::Null;
    for page in 0.. {
        assert!(page < 50, "paging backwards does not end");
        let variables = json!({ "last": size, "before": before, "orderBy": order_by });
        let data = app.data(query, variables).await;
        let connection = &data[list];
        let mut rows = labels(connection);
        rows.extend(backward);
        backward = rows;
        let info = &connection["pageInfo"];
        assert_eq!(
            info["hasNextPage"],
            page > 0,
            "backward page {page}: {info}"
        );
        if info["hasPreviousPage"] != json!(true) {
            break;
        }
        before = info["startCursor"].clone();
    }
    (forward, backward)
}

fn order(field: &str, direction: &str) -> Value {
    json!([{ "field": field, "direction": direction }])
}

fn reversed(items: &[&str]) -> Vec<String> {
    items.iter().rev().map(|item| item.to_string()).collect()
}

async fn posts_are_ordered_by_every_field_both_ways(app: TestApp) {
    // Arrange: posts written in one order, titled in another (lower case, so every
    // database's collation sorts them alike), two of them edited afterwards.
    let author = app.create_user("Ann", "ann@example.com").await;
    let written = [
        "delta", "alpha", "golf", "charlie", "echo", "bravo", "foxtrot",
    ];
    let mut ids = Vec::new();
    for title in written {
        ids.push(app.create_post(&author, title).await);
    }
    for (id, content) in [(&ids[1], "edited first"), (&ids[4], "edited last")] {
        app.data_by(
            &author,
            "mutation($id: ID!, $content: String!) { updatePost(id: $id, input: { content: $content }) { id } }",
            json!({ "id": id, "content": content }),
        )
        .await;
    }
    let mut alphabetical = written;
    alphabetical.sort();
    let updated = [
        "delta", "golf", "charlie", "bravo", "foxtrot", "alpha", "echo",
    ];
    let cases: [(&str, &[&str]); 4] = [
        ("ID", &written),
        ("CREATED_AT", &written),
        ("TITLE", &alphabetical),
        ("UPDATED_AT", &updated),
    ];

    for (field, ascending) in cases {
        for (direction, expected) in [
            ("ASC", ascending.iter().map(|t| t.to_string()).collect()),
            ("DESC", reversed(ascending)),
        ] {
            // Act
            let (forward, backward) =
                walk_both_ways(&app, POSTS, "posts", order(field, direction), 3).await;

            // Assert
            assert_eq!(forward, expected, "{field} {direction} forwards");
            assert_eq!(backward, expected, "{field} {direction} backwards");
        }
    }
}

async fn users_are_ordered_by_names_and_counts(app: TestApp) {
    // Arrange: post counts alice 3, dave 2, bob 1, carol 0; followers bob 2, alice 1.
    let carol = app.create_user("carol", "carol@example.com").await;
    let alice = app
        .create_user_with_posts(
            "alice",
            "alice@example.com",
            &["a1".into(), "a2".into(), "a3".into()],
        )
        .await;
    let bob = app
        .create_user_with_posts("bob", "bob@example.com", &["b1".into()])
        .await;
    let dave = app
        .create_user_with_posts("dave", "dave@example.com", &["d1".into(), "d2".into()])
        .await;
    let follow = "mutation($a: ID!, $b: ID!) { followUser(input: { followerId: $a, followeeId: $b }) { created } }";
    for (follower, followee) in [(&carol, &bob), (&dave, &bob), (&carol, &alice)] {
        app.data_by(follower, follow, json!({ "a": follower, "b": followee }))
            .await;
    }
    let cases: [(&str, &[&str]); 5] = [
        ("ID", &["carol", "alice", "bob", "dave"]),
        ("CREATED_AT", &["carol", "alice", "bob", "dave"]),
        ("NAME", &["alice", "bob", "carol", "dave"]),
        // Equal counts are ordered by id, in the same direction.
        ("POST_COUNT", &["carol", "bob", "dave", "alice"]),
        ("FOLLOWER_COUNT", &["carol", "dave", "alice", "bob"]),
    ];

    for (field, ascending) in cases {
        for (direction, expected) in [
            ("ASC", ascending.iter().map(|t| t.to_string()).collect()),
            ("DESC", reversed(ascending)),
        ] {
            // Act: pages of one, so every cursor carries the order's keys.
            let (forward, backward) =
                walk_both_ways(&app, USERS, "users", order(field, direction), 1).await;

            // Assert
            assert_eq!(forward, expected, "{field} {direction} forwards");
            assert_eq!(backward, expected, "{field} {direction} backwards");
        }
    }
}

async fn cursors_belong_to_their_order_and_direction(app: TestApp) {
    // Arrange
    let author = app.create_user("Ann", "ann@example.com").await;
    for title in ["a", "b", "c"] {
        app.create_post(&author, title).await;
    }
    let data = app
        .data(
            POSTS,
            json!({ "first": 1, "orderBy": order("TITLE", "DESC") }),
        )
        .await;
    let cursor = data["posts"]["pageInfo"]["endCursor"].clone();

    // Act / Assert: under another order (or the default), the cursor is refused.
    let cases = [
        (
            "the default order",
            json!({ "first": 1, "after": cursor }),
            "after",
        ),
        (
            "another direction",
            json!({ "first": 1, "after": cursor, "orderBy": order("TITLE", "ASC") }),
            "after",
        ),
        (
            "another field",
            json!({ "last": 1, "before": cursor, "orderBy": order("ID", "DESC") }),
            "before",
        ),
        (
            "both ways at once",
            json!({ "first": 1, "last": 1 }),
            "last",
        ),
        (
            "after with last",
            json!({ "last": 1, "after": cursor, "orderBy": order("TITLE", "DESC") }),
            "last",
        ),
        (
            "a field named twice",
            json!({ "first": 1, "orderBy": [{ "field": "ID" }, { "field": "ID" }] }),
            "orderBy",
        ),
    ];
    for (case, variables, field) in cases {
        let body = app.graphql(POSTS, variables).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "case {case}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "case {case}: {body}"
        );
    }
    let followed_at = app
        .graphql(USERS, json!({ "orderBy": order("FOLLOWED_AT", "DESC") }))
        .await;
    assert_eq!(error_code(&followed_at), "BAD_USER_INPUT", "{followed_at}");
    // The same cursor under its own order still works, both ways.
    let next = app
        .data(
            POSTS,
            json!({ "first": 5, "after": cursor, "orderBy": order("TITLE", "DESC") }),
        )
        .await;
    assert_eq!(
        next["posts"]["nodes"],
        json!([{ "title": "b" }, { "title": "a" }])
    );
    let previous = app
        .data(
            POSTS,
            json!({ "last": 5, "before": cursor, "orderBy": order("TITLE", "DESC") }),
        )
        .await;
    assert_eq!(previous["posts"]["nodes"], json!([]));
    assert_eq!(previous["posts"]["pageInfo"]["hasNextPage"], true);
}

async fn paging_never_skips_or_repeats_while_rows_come_and_go(app: TestApp) {
    // Arrange: ten posts, ordered by title.
    let author = app.create_user("Ann", "ann@example.com").await;
    let mut ids = std::collections::HashMap::new();
    for n in 0..10 {
        let title = format!("m{n}");
        ids.insert(title.clone(), app.create_post(&author, &title).await);
    }
    let by_title = order("TITLE", "ASC");
    let page = |after: Value| {
        app.data(
            POSTS,
            json!({ "first": 3, "after": after, "orderBy": by_title.clone() }),
        )
    };
    let titles = |data: &Value| -> Vec<String> {
        data["posts"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|node| node["title"].as_str().expect("title").to_string())
            .collect()
    };

    // Act: read a page; then posts are written before and after the cursor, one already seen
    // and one not yet seen are deleted, and paging goes on.
    let first = page(Value::Null).await;
    let mut seen = titles(&first);
    let mut after = first["posts"]["pageInfo"]["endCursor"].clone();
    for title in ["a-before", "m1-between", "z-after"] {
        app.create_post(&author, title).await;
    }
    for title in ["m0", "m5"] {
        app.data_by(
            &author,
            "mutation($id: ID!) { deletePost(id: $id) { id } }",
            json!({ "id": ids[title] }),
        )
        .await;
    }
    loop {
        let data = page(after).await;
        seen.extend(titles(&data));
        if data["posts"]["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = data["posts"]["pageInfo"]["endCursor"].clone();
    }

    // Assert: every post that was there and stayed, once; new ones only after the cursor.
    assert_eq!(
        seen,
        ["m0", "m1", "m2", "m3", "m4", "m6", "m7", "m8", "m9", "z-after"],
        "m1-between sorts before the cursor (m2) and a-before before the start"
    );
}

async fn relation_lists_with_different_arguments_are_grouped(app: TestApp) {
    // Arrange: 50 users with 4 posts each.
    app.seed(50, 4).await;
    let query = r#"query($n: Int!) { users(first: $n) { nodes {
        oldest: posts(first: 2) { nodes { title } }
        newest: posts(first: 2, orderBy: [{ field: CREATED_AT, direction: DESC }]) { nodes { title } }
        byTitle: posts(last: 1, orderBy: [{ field: TITLE }]) { nodes { title } pageInfo { hasNextPage hasPreviousPage } }
    } } }"#;

    // Act
    app.reset_statements();
    let five = app.data(query, json!({ "n": 5 })).await;
    let five_statements = app.statements();
    app.reset_statements();
    let fifty = app.data(query, json!({ "n": 50 })).await;
    let fifty_statements = app.statements();

    // Assert: users, then one statement per distinct set of arguments.
    assert_eq!((five_statements, fifty_statements), (4, 4));
    for (data, n) in [(&five, 5), (&fifty, 50)] {
        let users = data["users"]["nodes"].as_array().expect("users");
        assert_eq!(users.len(), n);
        for (u, user) in users.iter().enumerate() {
            let post = |p: usize| json!({ "title": format!("Post {p} of user {u}") });
            assert_eq!(
                user["oldest"]["nodes"],
                json!([post(0), post(1)]),
                "user {u}"
            );
            assert_eq!(
                user["newest"]["nodes"],
                json!([post(3), post(2)]),
                "user {u}"
            );
            assert_eq!(user["byTitle"]["nodes"], json!([post(3)]), "user {u}");
            assert_eq!(
                user["byTitle"]["pageInfo"],
                json!({ "hasNextPage": false, "hasPreviousPage": true }),
                "user {u}"
            );
        }
    }
}
