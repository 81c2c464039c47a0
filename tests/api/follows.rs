//! The follow graph: users following users. Follow and unfollow (idempotent, never a loop),
//! edges gone with either user, followers and following newest follow first, the feed of the
//! users one follows newest post first, and cursors that belong to one list only.

use entity::follow;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp};

backend_tests!(
    following_twice_and_unfollowing_a_non_edge_are_not_errors,
    concurrent_follows_of_one_edge_make_it_once,
    users_cannot_follow_themselves_at_the_api_or_in_the_database,
    following_a_missing_user_is_not_found_and_writes_nothing,
    follows_go_with_either_user,
    followers_and_following_are_paged_newest_follow_first,
    feed_pages_the_followed_users_posts_newest_first,
    cursors_belong_to_one_list,
);

const FOLLOW: &str = "mutation($follower: ID!, $followee: ID!) { followUser(input: { followerId: $follower, followeeId: $followee }) { created follower { name followingCount } followee { name followerCount } } }";
const UNFOLLOW: &str = "mutation($follower: ID!, $followee: ID!) { unfollowUser(input: { followerId: $follower, followeeId: $followee }) { removed follower { name followingCount } followee { name followerCount } } }";

async fn follow(app: &TestApp, follower: &str, followee: &str) -> Value {
    app.data_by(
        follower,
        FOLLOW,
        json!({ "follower": follower, "followee": followee }),
    )
    .await["followUser"]
        .clone()
}

async fn unfollow(app: &TestApp, follower: &str, followee: &str) -> Value {
    app.data_by(
        follower,
        UNFOLLOW,
        json!({ "follower": follower, "followee": followee }),
    )
    .await["unfollowUser"]
        .clone()
}

async fn edge_count(app: &TestApp) -> u64 {
    follow::Entity::find()
        .count(&app.db)
        .await
        .expect("count follow edges")
}

/// The `name`s (or, for posts, `title`s) of every page of the connection at `path` in `query`'s
/// answer, walked with `first: 2` and `after`; also the pages' `hasNextPage`.
async fn walk(app: &TestApp, query: &str, variables: Value, path: &[&str]) -> (Vec<String>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut after = Value::Null;
    loop {
        let mut variables = variables.clone();
        variables["after"] = after;
        let data = app.data(query, variables).await;
        let connection = path.iter().fold(&data, |value, key| &value[*key]);
        for node in connection["nodes"].as_array().expect("nodes") {
            let label = node.get("name").or_else(|| node.get("title"));
            items.push(label.and_then(Value::as_str).expect("a label").to_string());
        }
        pages += 1;
        assert!(pages <= 20, "paging does not end");
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            return (items, pages);
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
}

async fn following_twice_and_unfollowing_a_non_edge_are_not_errors(app: TestApp) {
    // Arrange
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;

    // Act
    let first = follow(&app, &ann, &bob).await;
    let again = follow(&app, &ann, &bob).await;
    let removed = unfollow(&app, &ann, &bob).await;
    let removed_again = unfollow(&app, &ann, &bob).await;

    // Assert: the answers say whether the graph changed, and read the graph after the write.
    assert_eq!(
        first,
        json!({ "created": true, "follower": { "name": "Ann", "followingCount": 1 }, "followee": { "name": "Bob", "followerCount": 1 } })
    );
    assert_eq!(again["created"], false);
    assert_eq!(again["followee"]["followerCount"], 1);
    assert_eq!(
        removed,
        json!({ "removed": true, "follower": { "name": "Ann", "followingCount": 0 }, "followee": { "name": "Bob", "followerCount": 0 } })
    );
    assert_eq!(removed_again["removed"], false);
    assert_eq!(edge_count(&app).await, 0);
}

async fn concurrent_follows_of_one_edge_make_it_once(app: TestApp) {
    // Arrange
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;

    // Act: sixteen requests make the same edge at once.
    let bodies = futures_util::future::join_all(
        (0..16).map(|_| app.graphql_by(&ann, FOLLOW, json!({ "follower": ann, "followee": bob }))),
    )
    .await;

    // Assert: all succeed, exactly one made the edge.
    let created: Vec<bool> = bodies
        .iter()
        .map(|body| {
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["followUser"]["created"] == json!(true)
        })
        .collect();
    assert_eq!(
        created.iter().filter(|made| **made).count(),
        1,
        "{bodies:?}"
    );
    assert_eq!(edge_count(&app).await, 1);
}

async fn users_cannot_follow_themselves_at_the_api_or_in_the_database(app: TestApp) {
    // Arrange
    let ann = app.create_user("Ann", "ann@example.com").await;

    // Act
    let body = app
        .graphql_by(&ann, FOLLOW, json!({ "follower": ann, "followee": ann }))
        .await;
    let direct = app
        .db
        .execute_unprepared(&format!(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ({ann}, {ann}, CURRENT_TIMESTAMP)"
        ))
        .await;

    // Assert: the API names the field; the database's constraint refuses other writers too.
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "followeeId");
    assert!(direct.is_err(), "the database stored a self-follow");
    assert_eq!(edge_count(&app).await, 0);
}

async fn following_a_missing_user_is_not_found_and_writes_nothing(app: TestApp) {
    // Arrange
    let ann = app.create_user("Ann", "ann@example.com").await;
    // Only an admin names another follower; for them a missing one is NOT_FOUND.
    let admin = app.create_user("Root", "root@example.com").await;
    app.promote(&admin).await;

    // Act
    let follow_missing = app
        .graphql_by(&ann, FOLLOW, json!({ "follower": ann, "followee": "999" }))
        .await;
    let missing_follows = app
        .graphql_by(
            &admin,
            FOLLOW,
            json!({ "follower": "999", "followee": ann }),
        )
        .await;
    let unfollow_missing = app
        .graphql_by(
            &ann,
            UNFOLLOW,
            json!({ "follower": ann, "followee": "999" }),
        )
        .await;
    let bad_id = app
        .graphql_by(&ann, FOLLOW, json!({ "follower": "x", "followee": ann }))
        .await;

    // Assert
    assert_eq!(error_code(&follow_missing), "NOT_FOUND", "{follow_missing}");
    assert_eq!(
        error_code(&missing_follows),
        "NOT_FOUND",
        "{missing_follows}"
    );
    assert_eq!(
        error_code(&unfollow_missing),
        "NOT_FOUND",
        "{unfollow_missing}"
    );
    assert_eq!(error_code(&bad_id), "BAD_USER_INPUT", "{bad_id}");
    assert_eq!(bad_id["errors"][0]["extensions"]["field"], "followerId");
    assert_eq!(edge_count(&app).await, 0);
}

async fn follows_go_with_either_user(app: TestApp) {
    // Arrange: Ann follows Bob and Cy; Bob and Dee follow Ann; Bob follows Cy.
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    let cy = app.create_user("Cy", "cy@example.com").await;
    let dee = app.create_user("Dee", "dee@example.com").await;
    for (follower, followee) in [
        (&ann, &bob),
        (&ann, &cy),
        (&bob, &ann),
        (&dee, &ann),
        (&bob, &cy),
    ] {
        follow(&app, follower, followee).await;
    }

    // Act
    let deleted = app
        .data_by(
            &ann,
            "mutation($id: ID!) { deleteUser(id: $id) { deletedPostCount deletedFollowCount } }",
            json!({ "id": ann }),
        )
        .await;

    // Assert: the four edges from or to Ann went with her; Bob -> Cy stays.
    assert_eq!(
        deleted["deleteUser"],
        json!({ "deletedPostCount": 0, "deletedFollowCount": 4 })
    );
    assert_eq!(edge_count(&app).await, 1);
    let left = app
        .data(
            "query($bob: ID!, $cy: ID!, $dee: ID!) {
                bob: user(id: $bob) { followerCount following { totalCount nodes { name } } }
                cy: user(id: $cy) { followers { totalCount nodes { name } } }
                dee: user(id: $dee) { followingCount }
            }",
            json!({ "bob": bob, "cy": cy, "dee": dee }),
        )
        .await;
    assert_eq!(
        left,
        json!({
            "bob": { "followerCount": 0, "following": { "totalCount": 1, "nodes": [{ "name": "Cy" }] } },
            "cy": { "followers": { "totalCount": 1, "nodes": [{ "name": "Bob" }] } },
            "dee": { "followingCount": 0 },
        })
    );

    // Act: the database's cascade does the same for a delete that bypasses the API.
    let bob_number: i32 = bob.parse().expect("a numeric id");
    app.db
        .execute_unprepared(&format!("DELETE FROM users WHERE id = {bob_number}"))
        .await
        .expect("delete Bob directly");

    // Assert
    assert_eq!(edge_count(&app).await, 0);
}

async fn followers_and_following_are_paged_newest_follow_first(app: TestApp) {
    // Arrange: U1..U5 follow U0 in that order; U1 also follows U2, then U3.
    let mut users = Vec::new();
    for n in 0..6 {
        users.push(
            app.create_user(&format!("U{n}"), &format!("u{n}@example.com"))
                .await,
        );
    }
    for follower in &users[1..] {
        follow(&app, follower, &users[0]).await;
    }
    follow(&app, &users[1], &users[2]).await;
    follow(&app, &users[1], &users[3]).await;
    let followers = "query($id: ID!, $after: String) { user(id: $id) { followers(first: 2, after: $after) { totalCount nodes { name } pageInfo { hasNextPage endCursor } } } }";
    let following = "query($id: ID!, $after: String) { user(id: $id) { following(first: 2, after: $after) { totalCount nodes { name } pageInfo { hasNextPage endCursor } } } }";

    // Act
    let (of_u0, pages) = walk(
        &app,
        followers,
        json!({ "id": users[0] }),
        &["user", "followers"],
    )
    .await;
    let (by_u1, _) = walk(
        &app,
        following,
        json!({ "id": users[1] }),
        &["user", "following"],
    )
    .await;
    let (by_u0, _) = walk(
        &app,
        following,
        json!({ "id": users[0] }),
        &["user", "following"],
    )
    .await;
    let counts = app
        .data(
            "query($u0: ID!, $u1: ID!) {
                u0: user(id: $u0) { followerCount followingCount followers(first: 1) { totalCount } }
                u1: user(id: $u1) { followerCount followingCount following(first: 1) { totalCount } }
            }",
            json!({ "u0": users[0], "u1": users[1] }),
        )
        .await;

    // Assert
    assert_eq!(of_u0, ["U5", "U4", "U3", "U2", "U1"]);
    assert_eq!(pages, 3);
    assert_eq!(by_u1, ["U3", "U2", "U0"]);
    assert!(by_u0.is_empty());
    assert_eq!(
        counts,
        json!({
            "u0": { "followerCount": 5, "followingCount": 0, "followers": { "totalCount": 5 } },
            "u1": { "followerCount": 0, "followingCount": 3, "following": { "totalCount": 3 } },
        })
    );
}

async fn feed_pages_the_followed_users_posts_newest_first(app: TestApp) {
    // Arrange: Ann follows Bob and Cy, not Dee; posts are written in alternation.
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    let cy = app.create_user("Cy", "cy@example.com").await;
    let dee = app.create_user("Dee", "dee@example.com").await;
    follow(&app, &ann, &bob).await;
    follow(&app, &ann, &cy).await;
    follow(&app, &bob, &ann).await;
    for (author, title) in [
        (&bob, "b1"),
        (&cy, "c1"),
        (&dee, "d1"),
        (&ann, "a1"),
        (&bob, "b2"),
        (&cy, "c2"),
        (&bob, "b3"),
    ] {
        app.create_post(author, title).await;
    }
    let feed = "query($id: ID!, $after: String) { user(id: $id) { feed(first: 2, after: $after) { totalCount nodes { title } pageInfo { hasNextPage endCursor } } } }";

    // Act
    let (anns_feed, pages) = walk(&app, feed, json!({ "id": ann }), &["user", "feed"]).await;
    let (bobs_feed, _) = walk(&app, feed, json!({ "id": bob }), &["user", "feed"]).await;
    let (dees_feed, _) = walk(&app, feed, json!({ "id": dee }), &["user", "feed"]).await;
    let total = app
        .data(
            "query($id: ID!) { user(id: $id) { feed { totalCount } } }",
            json!({ "id": ann }),
        )
        .await;

    // Assert: newest first, only followed authors, every post once across pages.
    assert_eq!(anns_feed, ["b3", "c2", "b2", "c1", "b1"]);
    assert_eq!(pages, 3);
    assert_eq!(bobs_feed, ["a1"]);
    assert!(dees_feed.is_empty());
    assert_eq!(total["user"]["feed"]["totalCount"], 5);

    // Act: after unfollowing Cy, Cy's posts leave the feed.
    unfollow(&app, &ann, &cy).await;
    let (after_unfollow, _) = walk(&app, feed, json!({ "id": ann }), &["user", "feed"]).await;

    // Assert
    assert_eq!(after_unfollow, ["b3", "b2", "b1"]);
}

async fn cursors_belong_to_one_list(app: TestApp) {
    // Arrange: a cursor of each kind of list.
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    follow(&app, &ann, &bob).await;
    app.create_post(&bob, "b1").await;
    let cursors = app
        .data(
            "query($id: ID!) {
                users(first: 1) { pageInfo { endCursor } }
                posts(first: 1) { pageInfo { endCursor } }
                user(id: $id) {
                    following(first: 1) { pageInfo { endCursor } }
                    feed(first: 1) { pageInfo { endCursor } }
                }
            }",
            json!({ "id": ann }),
        )
        .await;
    let cursor = |path: &[&str]| {
        path.iter().fold(&cursors, |value, key| &value[*key])["pageInfo"]["endCursor"]
            .as_str()
            .expect("a cursor")
            .to_string()
    };
    let users = cursor(&["users"]);
    let posts = cursor(&["posts"]);
    let following = cursor(&["user", "following"]);
    let feed = cursor(&["user", "feed"]);

    // Act / Assert: each cursor works in its own list and is refused by every other.
    let lists = [
        ("users", "{ users(first: 1, after: $after) { totalCount } }"),
        ("posts", "{ posts(first: 1, after: $after) { totalCount } }"),
        (
            "following",
            "{ user(id: $id) { following(first: 1, after: $after) { totalCount } } }",
        ),
        (
            "followers",
            "{ user(id: $id) { followers(first: 1, after: $after) { totalCount } } }",
        ),
        (
            "feed",
            "{ user(id: $id) { feed(first: 1, after: $after) { totalCount } } }",
        ),
        (
            "posts of a user",
            "{ user(id: $id) { posts(first: 1, after: $after) { totalCount } } }",
        ),
    ];
    let own = [
        ("users", &users),
        ("posts", &posts),
        ("following", &following),
        ("feed", &feed),
    ];
    for (list, selection) in lists {
        let variables = if selection.contains("$id") {
            "$id: ID!, $after: String"
        } else {
            "$after: String"
        };
        let query = format!("query({variables}) {selection}");
        for (owner, cursor) in own {
            let body = app
                .graphql(&query, json!({ "id": ann, "after": cursor }))
                .await;
            if owner == list {
                assert!(
                    body.get("errors").is_none(),
                    "{owner}'s cursor in {list}: {body}"
                );
            } else {
                assert_eq!(
                    error_code(&body),
                    "BAD_USER_INPUT",
                    "{owner}'s cursor in {list}: {body}"
                );
                assert_eq!(
                    body["errors"][0]["extensions"]["field"], "after",
                    "{owner} in {list}"
                );
            }
        }
    }
}
