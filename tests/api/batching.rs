//! N+1 freedom, proven by counting SQL statements: a query's count depends on its depth, never
//! on how many rows it returns. `statement_counts.txt` pins the count of canonical operations,
//! so a regression to N+1 fails here (regenerate with `UPDATE_EXPECT=1 cargo test --test api`
//! only for a change you mean).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use blogql::db::page::PageArgs;
use blogql::db::posts::PostsByAuthor;
use blogql::loaders::batching::BatchScheduler;
use blogql::loaders::{Loaders, PageKey, MAX_KEYS_PER_STATEMENT};
use serde_json::json;

use crate::helpers::TestApp;
use crate::statement_counts::assert_statement_counts;

backend_tests!(
    nested_pages_cost_the_same_for_5_and_50_users,
    canonical_operations_keep_their_statement_counts,
    long_key_lists_are_split_into_batches,
);

const USERS_WITH_POSTS_AND_AUTHORS: &str = "query($n: Int!) { users(first: $n) { nodes { posts(first: 5) { totalCount nodes { title author { name } } } } } }";

/// Statements run by one request of `query`.
async fn count_statements(app: &TestApp, query: &str, variables: serde_json::Value) -> usize {
    app.reset_statements();
    app.data(query, variables).await;
    app.statements()
}

async fn nested_pages_cost_the_same_for_5_and_50_users(app: TestApp) {
    // Arrange: 50 users with 6 posts each, so every page of 5 has a next page.
    app.seed(50, 6).await;

    // Act
    let five = count_statements(&app, USERS_WITH_POSTS_AND_AUTHORS, json!({ "n": 5 })).await;
    let fifty = count_statements(&app, USERS_WITH_POSTS_AND_AUTHORS, json!({ "n": 50 })).await;

    // Assert: users, their post pages, their post counts; the authors are already in hand.
    assert_eq!(five, fifty, "the statement count grew with the rows");
    assert!(fifty <= 3, "{fifty} statements");
    let data = app
        .data(USERS_WITH_POSTS_AND_AUTHORS, json!({ "n": 50 }))
        .await;
    let users = data["users"]["nodes"].as_array().expect("nodes");
    assert_eq!(users.len(), 50);
    for (i, user) in users.iter().enumerate() {
        assert_eq!(user["posts"]["totalCount"], 6, "user {i}");
        let posts = user["posts"]["nodes"].as_array().expect("posts");
        assert_eq!(posts.len(), 5, "user {i}");
        assert_eq!(posts[0]["title"], format!("Post 0 of user {i}"));
        assert_eq!(posts[0]["author"]["name"], format!("User {i}"));
    }
}

/// Operations whose statement counts are pinned, with what each should cost and why.
const CANONICAL_OPERATIONS: &[(&str, &str)] = &[
    (
        "users with post pages, counts and authors",
        "{ users(first: 50) { nodes { posts(first: 5) { totalCount nodes { title author { name } } } } } }",
    ),
    ("users with totalCount", "{ users { totalCount nodes { id name } } }"),
    ("users with postCount", "{ users(first: 50) { nodes { postCount } } }"),
    (
        "posts with authors and their post counts",
        "{ posts(first: 100) { nodes { title author { name postCount } } } }",
    ),
    (
        "posts, authors, and the authors' posts",
        "{ posts(first: 100) { nodes { author { posts(first: 3) { nodes { title } } } } } }",
    ),
    (
        "one user, posts, back to the author, and their posts again",
        "{ user(id: 1) { posts { nodes { author { name posts { nodes { title } } } } } } }",
    ),
    ("one post with its author", "{ post(id: 1) { title author { email } } }"),
    (
        "the README's example",
        "{ users(first: 10) { totalCount pageInfo { hasNextPage endCursor } nodes { id name postCount posts(first: 5) { totalCount nodes { title author { name } } } } } }",
    ),
];

async fn canonical_operations_keep_their_statement_counts(app: TestApp) {
    // Arrange
    app.seed(20, 4).await;

    // Act
    let mut counts = Vec::new();
    for (name, query) in CANONICAL_OPERATIONS {
        counts.push((*name, count_statements(&app, query, json!({})).await));
    }

    // Assert
    assert_statement_counts(app.backend, &counts);
}

async fn long_key_lists_are_split_into_batches(app: TestApp) {
    // Arrange: more keys than one statement takes, on a connection of our own that counts.
    let keys = MAX_KEYS_PER_STATEMENT * 2 + 1;
    let mut db = app.db.clone();
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let scheduler = BatchScheduler::new();
    let loaders = Loaders::new(db, &scheduler);
    let ids = 1..=keys as i32;
    let args = PageArgs::parse::<PostsByAuthor>(Some(5), None).expect("page arguments");

    // Act: every loader, asked for all keys at once.
    let (users, pages, counts) = scheduler
        .run(async {
            futures_util::join!(
                loaders.user_by_id.load_many(ids.clone()),
                loaders
                    .posts_by_author
                    .pages
                    .load_many(ids.clone().map(|parent| PageKey {
                        parent,
                        args: args.clone()
                    })),
                loaders.posts_by_author.counts.load_many(ids.clone()),
            )
        })
        .await;

    // Assert: three statements per loader, and an answer for every key.
    assert!(users.expect("users").is_empty());
    assert_eq!(pages.expect("pages").len(), keys);
    assert_eq!(
        counts
            .expect("counts")
            .values()
            .filter(|count| **count == 0)
            .count(),
        keys
    );
    assert_eq!(statements.load(Ordering::SeqCst), 9);
}
