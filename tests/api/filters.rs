//! Filters on every list: each operator, case-insensitive text that answers the same on every
//! database (non-ASCII included), wildcards that match literally, `and`/`or`/`not`, relation
//! filters both ways, per-parent counts, and the limits on a filter's size and cost.

use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app_with, Backend, TestApp};

backend_tests!(
    posts_are_filtered_by_every_operator,
    users_are_filtered_by_names_emails_counts_and_posts,
    relation_lists_are_filtered_per_parent_in_fixed_statements,
    filters_too_deep_too_wide_or_malformed_are_refused,
);

const POSTS: &str = "query($filter: PostFilter) { posts(first: 100, filter: $filter) { totalCount nodes { title } } }";
const USERS: &str = "query($filter: UserFilter) { users(first: 100, filter: $filter) { totalCount nodes { name } } }";

/// The labels of the list `list` answered for `filter` to the user `viewer`, after checking
/// `totalCount` agrees.
async fn labels(
    app: &TestApp,
    viewer: &str,
    query: &str,
    list: &str,
    filter: Value,
) -> Vec<String> {
    let data = app
        .data_by(viewer, query, json!({ "filter": filter }))
        .await;
    let connection = &data[list];
    let nodes: Vec<String> = connection["nodes"]
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
        .collect();
    assert_eq!(
        connection["totalCount"],
        nodes.len(),
        "totalCount for {filter}"
    );
    nodes
}

async fn posts_are_filtered_by_every_operator(app: TestApp) {
    // Arrange
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    let mut created_at = Vec::new();
    for (author, title) in [
        (&ann, "Rust in Action"),
        (&ann, "rust tips"),
        (&bob, "Élan vital"),
        (&bob, "élan"),
        (&ann, "100% Pure"),
        (&bob, "under_score"),
        (&bob, "Plain"),
    ] {
        let data = app
            .data_by(
                author,
                "mutation($input: CreatePostInput!) { createPost(input: $input) { createdAt } }",
                json!({ "input": { "title": title, "content": "" } }),
            )
            .await;
        created_at.push(data["createPost"]["createdAt"].clone());
    }
    let ann_id: i64 = ann.parse().expect("an id");
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "eq",
            json!({ "title": { "eq": "rust tips" } }),
            vec!["rust tips"],
        ),
        (
            "eq is exact",
            json!({ "title": { "eq": "RUST TIPS" } }),
            vec![],
        ),
        (
            "contains ignores case",
            json!({ "title": { "contains": "RUST" } }),
            vec!["Rust in Action", "rust tips"],
        ),
        (
            "contains beyond ASCII",
            json!({ "title": { "contains": "ÉLAN" } }),
            vec!["Élan vital", "élan"],
        ),
        (
            "% is no wildcard",
            json!({ "title": { "contains": "%" } }),
            vec!["100% Pure"],
        ),
        (
            "_ is no wildcard",
            json!({ "title": { "contains": "_" } }),
            vec!["under_score"],
        ),
        (
            "! is itself",
            json!({ "title": { "contains": "!" } }),
            vec![],
        ),
        (
            "startsWith",
            json!({ "title": { "startsWith": "élan" } }),
            vec!["Élan vital", "élan"],
        ),
        (
            "startsWith is a prefix",
            json!({ "title": { "startsWith": "tips" } }),
            vec![],
        ),
        (
            "in",
            json!({ "title": { "in": ["Plain", "élan", "nope"] } }),
            vec!["élan", "Plain"],
        ),
        (
            "authorId eq",
            json!({ "authorId": { "eq": ann } }),
            vec!["Rust in Action", "rust tips", "100% Pure"],
        ),
        (
            "authorId in",
            json!({ "authorId": { "in": [ann_id + 1000, bob] } }),
            vec!["Élan vital", "élan", "under_score", "Plain"],
        ),
        (
            "createdAt gt",
            json!({ "createdAt": { "gt": created_at[4] } }),
            vec!["under_score", "Plain"],
        ),
        (
            "createdAt gte",
            json!({ "createdAt": { "gte": created_at[4] } }),
            vec!["100% Pure", "under_score", "Plain"],
        ),
        (
            "createdAt lt",
            json!({ "createdAt": { "lt": created_at[1] } }),
            vec!["Rust in Action"],
        ),
        (
            "createdAt lte",
            json!({ "createdAt": { "lte": created_at[1] } }),
            vec!["Rust in Action", "rust tips"],
        ),
        (
            "fields together",
            json!({ "title": { "contains": "r" }, "authorId": { "eq": bob } }),
            vec!["under_score"],
        ),
        (
            "and",
            json!({ "and": [{ "title": { "contains": "a" } }, { "title": { "contains": "l" } }] }),
            vec!["Élan vital", "élan", "Plain"],
        ),
        (
            "or",
            json!({ "or": [{ "title": { "eq": "Plain" } }, { "title": { "startsWith": "100" } }] }),
            vec!["100% Pure", "Plain"],
        ),
        (
            "not",
            json!({ "not": { "authorId": { "eq": bob } } }),
            vec!["Rust in Action", "rust tips", "100% Pure"],
        ),
        (
            "author",
            json!({ "author": { "name": { "contains": "BO" } }, "title": { "contains": "É" } }),
            vec!["Élan vital", "élan"],
        ),
    ];

    for (case, filter, expected) in cases {
        // Act
        let got = labels(&app, &bob, POSTS, "posts", filter).await;

        // Assert
        assert_eq!(got, expected, "case {case}");
    }
}

async fn users_are_filtered_by_names_emails_counts_and_posts(app: TestApp) {
    // Arrange: Zoë with 3 posts and 2 followers, Bob with 1 post and 1 follower, Ann with none.
    let zoe = app
        .create_user_with_posts(
            "Zoë Ünal",
            "Zoe@Example.com",
            &["Zen".into(), "Zero".into(), "Zinc".into()],
        )
        .await;
    let bob = app
        .create_user_with_posts("Bob", "bob@example.org", &["Bits".into()])
        .await;
    let ann = app.create_user("Ann", "ann@example.com").await;
    let follow = "mutation($a: ID!, $b: ID!) { followUser(input: { followerId: $a, followeeId: $b }) { created } }";
    for (follower, followee) in [(&bob, &zoe), (&ann, &zoe), (&ann, &bob)] {
        app.data_by(follower, follow, json!({ "a": follower, "b": followee }))
            .await;
    }
    // Emails are private: only an admin filters by them.
    app.promote(&ann).await;
    let body = app
        .graphql_by(
            &bob,
            USERS,
            json!({ "filter": { "email": { "contains": "example" } } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("name eq", json!({ "name": { "eq": "Bob" } }), vec!["Bob"]),
        (
            "name contains beyond ASCII",
            json!({ "name": { "contains": "ZOË ü" } }),
            vec!["Zoë Ünal"],
        ),
        (
            "email eq in any case",
            json!({ "email": { "eq": "ZOE@example.COM" } }),
            vec!["Zoë Ünal"],
        ),
        (
            "email contains",
            json!({ "email": { "contains": "EXAMPLE.COM" } }),
            vec!["Zoë Ünal", "Ann"],
        ),
        (
            "postCount gt",
            json!({ "postCount": { "gt": 1 } }),
            vec!["Zoë Ünal"],
        ),
        (
            "postCount gte",
            json!({ "postCount": { "gte": 1 } }),
            vec!["Zoë Ünal", "Bob"],
        ),
        (
            "postCount lt",
            json!({ "postCount": { "lt": 1 } }),
            vec!["Ann"],
        ),
        (
            "postCount lte",
            json!({ "postCount": { "lte": 1 } }),
            vec!["Bob", "Ann"],
        ),
        (
            "followerCount",
            json!({ "followerCount": { "gte": 1, "lt": 2 } }),
            vec!["Bob"],
        ),
        (
            "posts some",
            json!({ "posts": { "some": { "title": { "startsWith": "ze" } } } }),
            vec!["Zoë Ünal"],
        ),
        (
            "posts none",
            json!({ "posts": { "none": { "title": { "startsWith": "ze" } } } }),
            vec!["Bob", "Ann"],
        ),
        (
            "posts every (a user without posts passes)",
            json!({ "posts": { "every": { "title": { "startsWith": "z" } } } }),
            vec!["Zoë Ünal", "Ann"],
        ),
        (
            "posts with their author",
            json!({ "posts": { "some": { "author": { "followerCount": { "gt": 1 } } } } }),
            vec!["Zoë Ünal"],
        ),
        (
            "or and not",
            json!({ "or": [{ "name": { "eq": "Ann" } }, { "not": { "postCount": { "lt": 2 } } }] }),
            vec!["Zoë Ünal", "Ann"],
        ),
    ];

    for (case, filter, expected) in cases {
        // Act
        let got = labels(&app, &ann, USERS, "users", filter).await;

        // Assert
        assert_eq!(got, expected, "case {case}");
    }
}

async fn relation_lists_are_filtered_per_parent_in_fixed_statements(app: TestApp) {
    // Arrange: 50 users with 4 posts each; the posts of even users mention "even".
    for u in 0..50 {
        let titles: Vec<String> = (0..4)
            .map(|p| {
                let parity = if u % 2 == 0 { "even" } else { "odd" };
                format!("Post {p} of {parity} user {u}")
            })
            .collect();
        app.create_user_with_posts(&format!("User {u}"), &format!("u{u}@example.com"), &titles)
            .await;
    }
    let query = r#"query($n: Int!) { users(first: $n) { nodes {
        name
        evenOnes: posts(first: 2, filter: { title: { contains: "EVEN" } }) { totalCount nodes { title } }
        firstTwo: posts(filter: { title: { startsWith: "post 0" } }) { totalCount }
        postCount
    } } }"#;

    // Act
    app.reset_statements();
    let five = app.data(query, json!({ "n": 5 })).await;
    let five_statements = app.statements();
    app.reset_statements();
    let fifty = app.data(query, json!({ "n": 50 })).await;
    let fifty_statements = app.statements();

    // Assert: users; one page and one count per filter; the unfiltered count.
    assert_eq!((five_statements, fifty_statements), (6, 6));
    for (data, n) in [(&five, 5), (&fifty, 50)] {
        let users = data["users"]["nodes"].as_array().expect("users");
        assert_eq!(users.len(), n);
        for (u, user) in users.iter().enumerate() {
            let even = u % 2 == 0;
            assert_eq!(
                user["evenOnes"]["totalCount"],
                if even { 4 } else { 0 },
                "user {u}"
            );
            let titles = user["evenOnes"]["nodes"].as_array().expect("posts");
            assert_eq!(titles.len(), if even { 2 } else { 0 }, "user {u}");
            assert_eq!(user["firstTwo"]["totalCount"], 1, "user {u}");
            assert_eq!(user["postCount"], 4, "user {u}");
        }
    }
}

async fn filters_too_deep_too_wide_or_malformed_are_refused(app: TestApp) {
    let deep = (0..6).fold(
        json!({ "title": { "eq": "x" } }),
        |inner, _| json!({ "not": inner }),
    );
    let wide = json!({ "or": (0..40).map(|n| json!({ "title": { "eq": format!("t{n}") } })).collect::<Vec<_>>() });
    let long_in =
        json!({ "title": { "in": (0..101).map(|n| format!("t{n}")).collect::<Vec<_>>() } });
    let cases = [
        ("too deep", deep),
        ("too wide", wide),
        ("too long an in list", long_in),
        ("NUL", json!({ "title": { "contains": "a\u{0}b" } })),
        ("a bad id", json!({ "authorId": { "eq": "x" } })),
    ];
    for (case, filter) in cases {
        let body = app.graphql(POSTS, json!({ "filter": filter })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "case {case}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "filter",
            "case {case}: {body}"
        );
    }
}

#[tokio::test]
async fn filters_count_toward_the_cost_of_a_query() {
    // posts(first: 1) { nodes { id } } costs 1 + 1 x (1 + 1) = 3; each title test costs 5.
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.limits.max_complexity = 10;
    })
    .await
    else {
        return;
    };
    let query = "query($filter: PostFilter) { posts(first: 1, filter: $filter) { nodes { id } } }";
    let one = app
        .graphql(query, json!({ "filter": { "title": { "eq": "a" } } }))
        .await;
    let two = app
        .graphql(
            query,
            json!({ "filter": { "title": { "eq": "a", "contains": "b" } } }),
        )
        .await;
    assert!(one.get("errors").is_none(), "{one}");
    assert_eq!(error_code(&two), "GRAPHQL_VALIDATION_FAILED", "{two}");
    assert_eq!(two["errors"][0]["extensions"]["cost"], 13);
}
