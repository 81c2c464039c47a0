//! Subscriptions over WebSocket: events reach subscribers (on PostgreSQL across instances, and
//! again after the listener's connection is lost), unsubscribing stops them, private events
//! need a token, a bad token closes the socket with 4403, and every limit holds: the
//! connection's first message in time, subscriptions per connection, connections per instance,
//! a slow consumer's buffer. Both subprotocols are spoken.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{spawn_app_with, Backend, TestApp};

backend_tests!(
    created_posts_reach_subscribers_until_they_unsubscribe,
    feed_and_follows_reach_the_viewer_only,
    payloads_cost_the_same_statements_whatever_they_hold,
    a_subscriber_catches_up_with_a_query_after_a_disconnect,
    posts_written_at_sign_up_are_announced,
);
backend_tests!(on [sqlite]:
    a_bad_token_closes_the_socket_with_4403,
    the_legacy_subprotocol_is_spoken_too,
    queries_and_mutations_go_over_http,
);
backend_tests!(on [postgres]:
    events_cross_instances_and_only_committed_writes_are_heard,
    delivery_resumes_after_the_listener_loses_its_connection,
);

/// Longest wait for a message the test expects; past it the test fails (it never passes on
/// time: an expected message that does not come is a failure).
const PATIENCE: Duration = Duration::from_secs(20);

/// A GraphQL WebSocket client, as bare as the protocol.
struct Socket(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Socket {
    /// Connects to `address` (an `http://` base URL) with `subprotocol`.
    async fn open(address: &str, subprotocol: &str) -> Self {
        Self::try_open(address, subprotocol)
            .await
            .expect("open the WebSocket")
    }

    async fn try_open(
        address: &str,
        subprotocol: &str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let url = format!("{}/graphql", address.replacen("http", "ws", 1));
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            subprotocol.parse().expect("a header value"),
        );
        let (stream, response) = tokio_tungstenite::connect_async(request).await?;
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            subprotocol,
            "the server speaks the asked subprotocol"
        );
        Ok(Socket(stream))
    }

    /// graphql-transport-ws: `connection_init` with `payload`, then its `connection_ack`.
    async fn init(address: &str, payload: Value) -> Self {
        let mut socket = Self::open(address, "graphql-transport-ws").await;
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(socket.next().await["type"], "connection_ack");
        socket
    }

    async fn send(&mut self, message: Value) {
        self.0
            .send(Message::text(message.to_string()))
            .await
            .expect("send a message");
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
    }

    /// The next GraphQL message (pings and pongs are skipped); fails on a close.
    async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .expect("a message in time")
                .expect("the socket is open")
                .expect("a frame");
            match frame {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(&text).expect("JSON");
                    if message["type"] != "ping" && message["type"] != "pong" {
                        return message;
                    }
                }
                Message::Close(close) => panic!("closed: {close:?}"),
                _ => {}
            }
        }
    }

    /// The code the server closes with (skipping what comes before).
    async fn close_code(&mut self) -> u16 {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .expect("a close in time");
            match frame {
                Some(Ok(Message::Close(Some(close)))) => return u16::from(close.code),
                Some(Ok(Message::Close(None))) | None => return u16::from(CloseCode::Status),
                Some(Ok(_)) => {}
                Some(Err(err)) => panic!("the socket failed instead of closing: {err}"),
            }
        }
    }
}

impl Socket {
    /// The next message that is neither about a warm-up post nor a subscription's end
    /// (`complete`, which the server also sends after a client's own).
    async fn next_real(&mut self) -> Value {
        loop {
            let message = self.next().await;
            if message["type"] != "complete" && !message.to_string().contains("Warm-up") {
                return message;
            }
        }
    }
}

/// An author, Ann, and an anonymous socket subscribed (as "1") with `query`, which her posts
/// answer: warmed up with one of them, so that the subscription is known to be live.
async fn author_and_subscriber(app: &TestApp, query: &str) -> (String, Socket) {
    let author = app.create_user("Ann", "ann@example.com").await;
    let mut socket = Socket::init(&app.address, json!({})).await;
    socket.subscribe("1", query).await;
    warm_up(app, &mut socket, &author, "1").await;
    (author, socket)
}

/// Subscribing is asynchronous (the protocol has no acknowledgement): posts "Warm-up N" by
/// `author` through `app` until subscription `id` hears one. Every subscription sent before
/// `id` on the socket is running by then too.
async fn warm_up(app: &TestApp, socket: &mut Socket, author: &str, id: &str) {
    for n in 0..100 {
        post(app, author, &format!("Warm-up {id} {n}")).await;
        while let Ok(message) =
            tokio::time::timeout(Duration::from_millis(200), socket.next()).await
        {
            if message["id"] == id {
                return;
            }
        }
    }
    panic!("subscription {id} heard no warm-up post");
}

/// The `data` of a `next` message for subscription `id`.
fn next_data(message: &Value, id: &str) -> Value {
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], id, "{message}");
    assert!(message["payload"].get("errors").is_none(), "{message}");
    message["payload"]["data"].clone()
}

async fn post(app: &TestApp, author: &str, title: &str) {
    app.create_post(author, title).await;
}

async fn created_posts_reach_subscribers_until_they_unsubscribe(app: TestApp) {
    // Arrange
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    let mut socket = Socket::init(&app.address, json!({})).await;
    socket
        .subscribe(
            "all",
            "subscription { postCreated { title author { name postCount } } }",
        )
        .await;
    socket
        .subscribe(
            "bob",
            &format!("subscription {{ postCreated(authorId: {bob}) {{ title }} }}"),
        )
        .await;
    warm_up(&app, &mut socket, &bob, "bob").await;

    // Act: Ann posts (only "all" hears it); "all" completes; Bob posts (only "bob" hears it).
    post(&app, &ann, "Ann's").await;
    let anns = socket.next_real().await;
    socket
        .send(json!({ "id": "all", "type": "complete" }))
        .await;
    post(&app, &bob, "Bob's").await;
    let bobs = socket.next_real().await;

    // Assert
    assert_eq!(
        next_data(&anns, "all")["postCreated"],
        json!({ "title": "Ann's", "author": { "name": "Ann", "postCount": 1 } }),
        "the payload is resolved like a query"
    );
    assert_eq!(
        next_data(&bobs, "bob")["postCreated"],
        json!({ "title": "Bob's" }),
        "the completed subscription heard nothing more"
    );
}

async fn feed_and_follows_reach_the_viewer_only(app: TestApp) {
    // Arrange: Ann follows Bob; Ann listens to her feed and her new followers.
    let ann = app.create_user("Ann", "ann@example.com").await;
    let bob = app.create_user("Bob", "bob@example.com").await;
    let cy = app.create_user("Cy", "cy@example.com").await;
    app.data_by(
        &ann,
        "mutation($b: ID!) { followUser(input: { followeeId: $b }) { created } }",
        json!({ "b": bob }),
    )
    .await;
    let bearer = format!("Bearer {}", app.token(&ann));
    let mut socket = Socket::init(&app.address, json!({ "Authorization": bearer })).await;
    socket
        .subscribe(
            "feed",
            "subscription { feedUpdated { title author { name } } }",
        )
        .await;
    socket
        .subscribe("followers", "subscription { followed { name } }")
        .await;
    warm_up(&app, &mut socket, &bob, "feed").await;
    let mut anonymous = Socket::init(&app.address, json!({})).await;
    anonymous
        .subscribe("feed", "subscription { feedUpdated { title } }")
        .await;
    let refused = anonymous.next().await;

    // Act: Cy posts (Ann does not follow Cy), then Bob; Cy follows Ann.
    post(&app, &cy, "Cy's").await;
    post(&app, &bob, "Bob's").await;
    let feed = socket.next_real().await;
    app.data_by(
        &cy,
        "mutation($a: ID!) { followUser(input: { followeeId: $a }) { created } }",
        json!({ "a": ann }),
    )
    .await;
    let follower = socket.next_real().await;

    // Assert
    assert_eq!(
        next_data(&feed, "feed")["feedUpdated"],
        json!({ "title": "Bob's", "author": { "name": "Bob" } })
    );
    assert_eq!(
        next_data(&follower, "followers")["followed"],
        json!({ "name": "Cy" })
    );
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
}

async fn a_bad_token_closes_the_socket_with_4403(app: TestApp) {
    // Act
    let mut socket = Socket::open(&app.address, "graphql-transport-ws").await;
    socket
        .send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer not-a-token" } }))
        .await;

    // Assert
    assert_eq!(socket.close_code().await, 4403);
}

async fn the_legacy_subprotocol_is_spoken_too(app: TestApp) {
    // Arrange: the subscriptions-transport-ws messages older Apollo clients send.
    let author = app.create_user("Ann", "ann@example.com").await;
    let mut socket = Socket::open(&app.address, "graphql-ws").await;
    socket
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(socket.next().await["type"], "connection_ack");
    socket
        .send(json!({ "id": "1", "type": "start", "payload": { "query": "subscription { postCreated { title } }" } }))
        .await;

    // Act: posts until the subscription, started asynchronously, hears one.
    let mut heard = None;
    for n in 0..50 {
        post(&app, &author, &format!("Legacy {n}")).await;
        if let Ok(message) = tokio::time::timeout(Duration::from_millis(200), socket.next()).await {
            heard = Some(message);
            break;
        }
    }

    // Assert
    let message = heard.expect("the legacy subscription heard a post");
    assert_eq!(message["type"], "data", "{message}");
    assert_eq!(message["id"], "1");
    assert!(message["payload"]["data"]["postCreated"]["title"]
        .as_str()
        .is_some_and(|title| title.starts_with("Legacy ")));
}

async fn queries_and_mutations_go_over_http(app: TestApp) {
    let mut socket = Socket::init(&app.address, json!({})).await;
    socket.subscribe("q", "{ users { totalCount } }").await;
    let message = socket.next().await;
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{message}"
    );
}

#[tokio::test]
async fn limits_on_time_subscriptions_connections_and_buffers_hold() {
    // Arrange
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.live.ws_init_timeout = Duration::from_millis(300);
        settings.live.max_subscriptions = 1;
        settings.live.max_ws_connections = 2;
        settings.live.subscription_buffer = 4;
    })
    .await
    else {
        return;
    };

    // No connection_init in time: 4408.
    let mut silent = Socket::open(&app.address, "graphql-transport-ws").await;
    assert_eq!(silent.close_code().await, 4408);

    // A second subscription on a connection allowed one.
    let mut socket = Socket::init(&app.address, json!({})).await;
    socket
        .subscribe("one", "subscription { postDeleted { id } }")
        .await;
    socket
        .subscribe("two", "subscription { postDeleted { id authorId } }")
        .await;
    let second = socket.next().await;
    assert_eq!(second["id"], "two", "{second}");
    assert_eq!(
        second["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{second}"
    );

    // A third connection on an instance allowed two: refused with 503.
    let _other = Socket::init(&app.address, json!({})).await;
    let third = Socket::try_open(&app.address, "graphql-transport-ws").await;
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        Err(err) => panic!("refused otherwise: {err}"),
        Ok(_) => panic!("a third connection was accepted"),
    }

    // A subscriber more than its buffer behind: SLOW_CONSUMER, then closed with 1013. The
    // events come in one burst, faster than any subscriber reads.
    let deleted = |n: i32| blogql::events::Event::PostDeleted {
        post_id: n,
        author_id: 1,
    };
    app.bus.deliver(deleted(0));
    let first = socket.next_real().await;
    assert_eq!(
        next_data(&first, "one")["postDeleted"],
        json!({ "id": "0" })
    );
    for n in 1..=20 {
        app.bus.deliver(deleted(n));
    }
    let mut messages = Vec::new();
    let code = loop {
        match tokio::time::timeout(PATIENCE, socket.0.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                messages.push(serde_json::from_str::<Value>(&text).expect("JSON"))
            }
            Ok(Some(Ok(Message::Close(Some(close))))) => break u16::from(close.code),
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(code, 1013);
    messages.retain(|message| message["type"] != "complete");
    let last = messages.last().expect("a last message");
    assert_eq!(
        last["payload"]["errors"][0]["extensions"]["code"], "SLOW_CONSUMER",
        "{last}"
    );
    assert!(
        messages.len() <= 5,
        "at most the buffer, then the error: {messages:?}"
    );
}

#[tokio::test]
async fn shutting_down_closes_sockets_with_1001() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let mut socket = Socket::init(&app.address, json!({})).await;
    app.sockets.close_all();
    assert_eq!(socket.close_code().await, 1001);
}

async fn events_cross_instances_and_only_committed_writes_are_heard(app: TestApp) {
    // Arrange: a subscriber on a second instance of the same database.
    let author = app.create_user("Ann", "ann@example.com").await;
    let other = app.another_instance().await;
    let mut socket = Socket::init(&other, json!({})).await;
    socket
        .subscribe(
            "1",
            "subscription { postCreated { title author { name } } }",
        )
        .await;
    warm_up(&app, &mut socket, &author, "1").await;

    // One LISTEN connection per instance, however many subscribe.
    let mut more = Socket::init(&other, json!({})).await;
    for id in ["a", "b", "c"] {
        more.subscribe(id, "subscription { postDeleted { id } }")
            .await;
    }
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        ))
        .await
        .expect("count the listeners")
        .expect("a row");
    let listening: i64 = row.try_get_by_index(0).expect("a count");
    assert_eq!(listening, 2, "two instances, two LISTEN connections");

    // Act: a write that fails (a taken title: its transaction rolls back), then one that
    // commits.
    post(&app, &author, "Taken").await;
    assert_eq!(
        next_data(&socket.next_real().await, "1")["postCreated"]["title"],
        "Taken"
    );
    let taken = app
        .graphql_by(
            &author,
            "mutation($t: String!) { createPost(input: { title: $t, content: \"\" }) { id } }",
            json!({ "t": "Taken" }),
        )
        .await;
    post(&app, &author, "Committed").await;
    let heard = socket.next_real().await;

    // Assert: the rolled-back write was never announced.
    assert_eq!(crate::helpers::error_code(&taken), "CONFLICT");
    assert_eq!(next_data(&heard, "1")["postCreated"]["title"], "Committed");
}

async fn delivery_resumes_after_the_listener_loses_its_connection(app: TestApp) {
    // Arrange
    let (author, mut socket) =
        author_and_subscriber(&app, "subscription { postCreated { title } }").await;

    // Act: the database ends the listener's connection (as a restart would).
    let ended = app
        .db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await
        .expect("end the listener's connection");
    assert!(ended.rows_affected() >= 1, "a listener was connected");
    // Posts written while it reconnects are missed (documented); keep posting until one is
    // heard.
    let mut heard = None;
    for n in 0..100 {
        post(&app, &author, &format!("After {n}")).await;
        if let Ok(message) =
            tokio::time::timeout(Duration::from_millis(200), socket.next_real()).await
        {
            heard = Some(message);
            break;
        }
    }

    // Assert
    let heard = heard.expect("delivery resumed after the listener reconnected");
    assert!(next_data(&heard, "1")["postCreated"]["title"]
        .as_str()
        .is_some_and(|title| title.starts_with("After ")));
}

async fn payloads_cost_the_same_statements_whatever_they_hold(app: TestApp) {
    // Arrange: an author with 2 posts and one with 12; a payload that lists the author's posts
    // with each post's author (N+1 if resolved one by one).
    let few = app
        .create_user_with_posts("Few", "few@example.com", &["F0".into(), "F1".into()])
        .await;
    let titles: Vec<String> = (0..12).map(|n| format!("M{n}")).collect();
    let many = app
        .create_user_with_posts("Many", "many@example.com", &titles)
        .await;
    let mut socket = Socket::init(&app.address, json!({})).await;
    socket
        .subscribe(
            "1",
            "subscription { postCreated { title author { name posts(first: 20) { nodes { title author { name } } } } } }",
        )
        .await;
    // Warmed up by someone else: the payloads below list their authors' posts.
    let warm = app.create_user("Warm", "warm@example.com").await;
    warm_up(&app, &mut socket, &warm, "1").await;
    let mut statements = Vec::new();

    for (author, title) in [(&few, "Few's"), (&many, "Many's")] {
        // Act: drain what the warm-up left, then count one write and its event.
        while tokio::time::timeout(Duration::from_millis(300), socket.next())
            .await
            .is_ok()
        {}
        app.reset_statements();
        post(&app, author, title).await;
        let event = socket.next_real().await;
        statements.push(app.statements());

        // Assert: the payload is whole.
        let listed = next_data(&event, "1")["postCreated"]["author"]["posts"]["nodes"]
            .as_array()
            .expect("posts")
            .len();
        assert!(listed >= 3, "{event}");
    }

    // Assert: the same statements for 3 posts as for 13.
    assert_eq!(statements[0], statements[1], "{statements:?}");
}

async fn a_subscriber_catches_up_with_a_query_after_a_disconnect(app: TestApp) {
    // Arrange: a subscriber hears a post, then goes away; two posts are written meanwhile.
    let (author, mut socket) =
        author_and_subscriber(&app, "subscription { postCreated { title createdAt } }").await;
    post(&app, &author, "Last seen").await;
    let seen = next_data(&socket.next_real().await, "1")["postCreated"].clone();
    drop(socket);
    post(&app, &author, "Missed 1").await;
    post(&app, &author, "Missed 2").await;

    // Act: the catch-up query the README shows.
    let data = app
        .data(
            "query($since: DateTime!) { posts(orderBy: [{ field: CREATED_AT, direction: ASC }], filter: { createdAt: { gt: $since } }) { nodes { title } } }",
            json!({ "since": seen["createdAt"] }),
        )
        .await;

    // Assert
    assert_eq!(seen["title"], "Last seen");
    assert_eq!(
        data["posts"]["nodes"],
        json!([{ "title": "Missed 1" }, { "title": "Missed 2" }])
    );
}

#[tokio::test]
async fn idle_connections_get_ping_frames() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |settings| {
        settings.live.ws_keepalive = Duration::from_millis(100);
    })
    .await
    else {
        return;
    };
    let mut socket = Socket::init(&app.address, json!({})).await;
    let mut pings = 0;
    while pings < 2 {
        let frame = tokio::time::timeout(PATIENCE, socket.0.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a frame");
        if matches!(frame, Message::Ping(_)) {
            pings += 1;
        }
    }
    assert_eq!(pings, 2);
}

async fn posts_written_at_sign_up_are_announced(app: TestApp) {
    // Arrange
    let (_author, mut socket) = author_and_subscriber(
        &app,
        "subscription { postCreated { title author { name } } }",
    )
    .await;

    // Act
    app.data(
        "mutation { signUp(input: { name: \"Bea\", email: \"bea@example.com\", password: \"correct horse\", posts: [{ title: \"Hello\", content: \"\" }, { title: \"Again\", content: \"\" }] }) { token } }",
        json!({}),
    )
    .await;
    let first = socket.next_real().await;
    let second = socket.next_real().await;

    // Assert
    assert_eq!(
        [
            next_data(&first, "1")["postCreated"].clone(),
            next_data(&second, "1")["postCreated"].clone(),
        ],
        [
            json!({ "title": "Hello", "author": { "name": "Bea" } }),
            json!({ "title": "Again", "author": { "name": "Bea" } }),
        ]
    );
}
