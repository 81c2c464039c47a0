//! N+1 freedom, proven by counting SQL statements: a query's count depends on its depth, never
//! on how many rows it returns. `statement_counts.txt` pins the count of canonical operations,
//! so a regression to N+1 fails here (regenerate with `UPDATE_EXPECT=1 cargo test --test api`
//! only for a change you mean).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use blogql::db::page::{PageArgs, PageRequest};
use blogql::db::posts::PostsByAuthor;
use blogql::db::reads::{Reads, StatementHook};
use blogql::loaders::batching::BatchScheduler;
use blogql::loaders::{CountKey, Loaders, PageKey, MAX_KEYS_PER_STATEMENT};
use serde_json::json;

use crate::helpers::TestApp;
use crate::statement_counts::assert_statement_counts;

backend_tests!(
    nested_pages_cost_the_same_for_5_and_50_users,
    follow_graph_pages_cost_the_same_for_5_and_50_users,
    feeds_of_a_page_of_users_are_one_statement,
    follow_pages_prime_the_user_cache,
    canonical_operations_keep_their_statement_counts,
    long_key_lists_are_split_into_batches,
);

backend_tests!(on [postgres]:
    relation_pages_read_only_the_page_on_postgres,
    relation_pages_come_back_as_a_row_per_parent_on_postgres,
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

const FOLLOW_GRAPH: &str = "query($n: Int!) { users(first: $n) { nodes { followers(first: 5) { totalCount nodes { name following(first: 5) { nodes { name posts(first: 2) { nodes { title } } } } } } } } }";

async fn follow_graph_pages_cost_the_same_for_5_and_50_users(app: TestApp) {
    // Arrange: 50 users with 3 posts each; each follows the next 6, so each has 6 followers.
    let users = app.seed(50, 3).await;
    app.follow_ring(&users, 6).await;

    // Act
    let five = count_statements(&app, FOLLOW_GRAPH, json!({ "n": 5 })).await;
    let fifty = count_statements(&app, FOLLOW_GRAPH, json!({ "n": 50 })).await;

    // Assert: users, follower pages, follower counts, following pages, post pages.
    assert_eq!(five, fifty, "the statement count grew with the rows");
    assert_eq!(fifty, 5);
    let data = app.data(FOLLOW_GRAPH, json!({ "n": 50 })).await;
    let first = &data["users"]["nodes"][0]["followers"];
    assert_eq!(first["totalCount"], 6);
    // User 0 is followed by users 44..49, newest follow first: user 49 followed last.
    let names: Vec<&str> = first["nodes"]
        .as_array()
        .expect("followers")
        .iter()
        .map(|node| node["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["User 49", "User 48", "User 47", "User 46", "User 45"]
    );
    let following = &first["nodes"][0]["following"]["nodes"];
    assert_eq!(
        following[0]["name"], "User 5",
        "user 49 followed user 5 last"
    );
    assert_eq!(
        following[0]["posts"]["nodes"],
        json!([{ "title": "Post 0 of user 5" }, { "title": "Post 1 of user 5" }])
    );
}

const FEEDS: &str =
    "query($n: Int!) { users(first: $n) { nodes { feed(first: 3) { nodes { title } } } } }";

async fn feeds_of_a_page_of_users_are_one_statement(app: TestApp) {
    // Arrange: 50 users with 3 posts each, each following the next 2.
    let users = app.seed(50, 3).await;
    app.follow_ring(&users, 2).await;

    // Act
    let five = count_statements(&app, FEEDS, json!({ "n": 5 })).await;
    let fifty = count_statements(&app, FEEDS, json!({ "n": 50 })).await;

    // Assert: one statement for the users, one for all their feeds.
    assert_eq!((five, fifty), (2, 2));
    let data = app.data(FEEDS, json!({ "n": 50 })).await;
    // User 0 follows users 1 and 2, whose posts were written in that order: newest first.
    assert_eq!(
        data["users"]["nodes"][0]["feed"]["nodes"],
        json!([
            { "title": "Post 2 of user 2" },
            { "title": "Post 1 of user 2" },
            { "title": "Post 0 of user 2" },
        ])
    );
    assert_eq!(
        data["users"]["nodes"][49]["feed"]["nodes"],
        json!([
            { "title": "Post 2 of user 1" },
            { "title": "Post 1 of user 1" },
            { "title": "Post 0 of user 1" },
        ]),
        "user 49 follows users 0 and 1"
    );
}

async fn follow_pages_prime_the_user_cache(app: TestApp) {
    // Arrange
    let users = app.seed(20, 2).await;
    app.follow_ring(&users, 3).await;
    let query = "{ users(first: 20) { nodes { followers(first: 3) { nodes { posts(first: 2) { nodes { author { name } } } } } } } }";

    // Act
    let statements = count_statements(&app, query, json!({})).await;

    // Assert: users, follower pages, their post pages; the authors are the followers in hand.
    assert_eq!(statements, 3);
    let data = app.data(query, json!({})).await;
    let follower = &data["users"]["nodes"][0]["followers"]["nodes"][0];
    assert_eq!(follower["posts"]["nodes"][0]["author"]["name"], "User 19");
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
    (
        "users, followers, whom they follow, and their posts",
        "{ users(first: 20) { nodes { followers(first: 5) { totalCount nodes { name following(first: 5) { nodes { name posts(first: 2) { nodes { title } } } } } } } } }",
    ),
    (
        "users with follower and following counts",
        "{ users(first: 20) { nodes { followerCount followingCount } } }",
    ),
    (
        "users' feeds with the posts' authors",
        "{ users(first: 20) { nodes { feed(first: 3) { totalCount nodes { title author { name } } } } } }",
    ),
    (
        "users' posts in two orders, and the last by title",
        "{ users(first: 20) { nodes { a: posts(first: 2) { nodes { title } } b: posts(first: 2, orderBy: [{ field: CREATED_AT, direction: DESC }]) { nodes { title } } c: posts(last: 1, orderBy: [{ field: TITLE }]) { nodes { title } } } } }",
    ),
    (
        "users who wrote about a word, with their matching posts counted",
        r#"{ users(first: 20, filter: { posts: { some: { title: { contains: "POST 1" } } } }) { totalCount nodes { posts(first: 2, filter: { title: { contains: "post 1" } }) { totalCount nodes { title author { name } } } } } }"#,
    ),
    (
        "users after a cursor, with hasPreviousPage, and their posts after theirs",
        r#"{ users(first: 5, after: "WyJ1c2VycyIsIklEX0FTQyIsWzVdXQ") { pageInfo { hasPreviousPage } nodes { posts(first: 2, after: "WyJVc2VyLnBvc3RzIiwiSURfQVNDIixbMV1d") { pageInfo { hasPreviousPage } nodes { title } } } } }"#,
    ),
];

async fn canonical_operations_keep_their_statement_counts(app: TestApp) {
    // Arrange: each user follows the next 3.
    let users = app.seed(20, 4).await;
    app.follow_ring(&users, 3).await;

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
    let count: StatementHook = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let counted = count.clone();
    db.set_metric_callback(move |info| counted(info));
    let scheduler = BatchScheduler::new();
    let loaders = Loaders::new(
        Reads::new(db, 1, Duration::from_secs(5), Some(count)),
        &scheduler,
    );
    let ids = 1..=keys as i32;
    let args = PageArgs::parse::<PostsByAuthor>(PageRequest {
        first: Some(5),
        ..Default::default()
    })
    .expect("page arguments");

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
                loaders
                    .posts_by_author
                    .counts
                    .load_many(ids.clone().map(|parent| CountKey {
                        parent,
                        filter: None
                    })),
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

/// The nodes of an `EXPLAIN (FORMAT JSON)` plan, depth first.
fn plan_nodes(plan: &serde_json::Value, nodes: &mut Vec<serde_json::Value>) {
    nodes.push(plan.clone());
    for child in plan["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, nodes);
    }
}

async fn relation_pages_read_only_the_page_on_postgres(app: TestApp) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    // Arrange: 3 authors with 3,000 posts each, written in SQL, one author's after the other's
    // (as a blog's posts are: a pass over ids meets one author's for a long stretch).
    app.db
        .execute_unprepared(
            "INSERT INTO users (name, email, created_at) SELECT 'Author ' || a, 'a' || a || '@example.com', now() FROM generate_series(1, 3) a;
             INSERT INTO posts (title, content, author_id, created_at, updated_at)
               SELECT 'Post ' || p || ' of ' || u.id, '', u.id, now(), now()
               FROM users u, generate_series(1, 3000) p ORDER BY u.id, p;
             ANALYZE users; ANALYZE posts;",
        )
        .await
        .expect("write the posts");
    let authors: Vec<i32> = vec![1, 2, 3];
    let args = PageArgs::parse::<PostsByAuthor>(PageRequest {
        first: Some(5),
        ..Default::default()
    })
    .expect("page arguments");
    let pages =
        blogql::db::page::pages_statement::<PostsByAuthor>(DbBackend::Postgres, &authors, &args)
            .expect("the page statement");

    // Act
    let explain = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", pages.sql),
        pages.values.map(|values| values.0).unwrap_or_default(),
    );
    let row = app
        .db
        .query_one_raw(explain)
        .await
        .expect("EXPLAIN")
        .expect("a plan");
    let plan: serde_json::Value = row.try_get_by_index(0).expect("a JSON plan");
    let mut nodes = Vec::new();
    plan_nodes(&plan[0]["Plan"], &mut nodes);

    // Assert: each author's page is an index scan on (author_id, id) that stops after the page.
    let on_posts: Vec<&serde_json::Value> = nodes
        .iter()
        .filter(|node| node["Relation Name"] == "posts")
        .collect();
    assert_eq!(on_posts.len(), 1, "{plan:#}");
    let scan = on_posts[0];
    assert_eq!(scan["Index Name"], "idx_posts_author_id", "{plan:#}");
    assert_eq!(scan["Actual Loops"], 3, "one scan per author: {plan:#}");
    assert!(
        scan["Actual Rows"].as_f64().is_some_and(|rows| rows <= 6.0),
        "reads at most a page and one row per author, not 3,000: {plan:#}"
    );
    assert!(
        scan["Rows Removed by Filter"].as_f64().unwrap_or(0.0) == 0.0,
        "reads no other author's rows: {plan:#}"
    );
}

/// On PostgreSQL a page is one row of arrays, a column each (`db::page::columnar`): a relation's
/// pages for three authors are three rows, whatever the page size, and `load_pages` reads them
/// back in the page's order, backwards too.
async fn relation_pages_come_back_as_a_row_per_parent_on_postgres(app: TestApp) {
    use blogql::db::page::{load_pages, Direction};
    use sea_orm::{ConnectionTrait, DbBackend};

    // Arrange: authors 1 and 2 with 30 posts each, author 3 with none.
    app.db
        .execute_unprepared(
            "INSERT INTO users (name, email, created_at) SELECT 'Author ' || a, 'a' || a || '@example.com', now() FROM generate_series(1, 3) a;
             INSERT INTO posts (title, content, author_id, created_at, updated_at)
               SELECT 'Post ' || lpad(p::text, 2, '0') || ' of ' || u.id, '', u.id, now(), now()
               FROM users u, generate_series(1, 30) p WHERE u.id < 3 ORDER BY p, u.id;",
        )
        .await
        .expect("write the posts");
    let authors: Vec<i32> = vec![1, 2, 3];
    let by_title = [("TITLE", Direction::Desc)];
    let requests = [
        (
            PageRequest {
                first: Some(25),
                ..Default::default()
            },
            25,
            false,
        ),
        (
            PageRequest {
                last: Some(4),
                ..Default::default()
            },
            4,
            true,
        ),
        (
            PageRequest {
                first: Some(7),
                order_by: &by_title,
                ..Default::default()
            },
            7,
            false,
        ),
    ];
    for (request, size, backward) in requests {
        let args = PageArgs::parse::<PostsByAuthor>(request).expect("page arguments");
        let statement = blogql::db::page::pages_statement::<PostsByAuthor>(
            DbBackend::Postgres,
            &authors,
            &args,
        )
        .expect("the page statement");

        // Act
        let rows = app.db.query_all_raw(statement).await.expect("the pages");
        let pages = load_pages::<PostsByAuthor>(&app.db, &authors, &args)
            .await
            .expect("the pages");

        // Assert: a row per parent; each page holds its author's posts in the page's order.
        assert_eq!(rows.len(), 3, "{request:?}");
        assert!(pages[&3].rows.is_empty());
        for author in [1, 2] {
            let page = &pages[&author];
            let titles: Vec<&str> = page.rows.iter().map(|post| post.title.as_str()).collect();
            let mut expected: Vec<String> = (1..=30)
                .map(|p| format!("Post {p:02} of {author}"))
                .collect();
            if request.order_by.is_empty() {
                if backward {
                    expected.drain(..30 - size);
                } else {
                    expected.truncate(size);
                }
            } else {
                expected.reverse();
                expected.truncate(size);
            }
            assert_eq!(titles, expected, "{request:?}");
            assert!(page.rows.iter().all(|post| post.author_id == author));
            assert_eq!(page.has_next_page, !backward, "{request:?}");
            assert_eq!(page.has_previous_page, backward, "{request:?}");
        }
    }
}
