//! What the database layer promises: SQLite's settings, and concurrent writers that all land.

use blogql::config::DatabaseSettings;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

use crate::helpers::{Backend, TestApp};

backend_tests!(
    concurrent_writers_all_succeed,
    concurrent_updates_of_one_row_all_succeed,
    a_pool_of_the_default_size_fits_the_server,
);

backend_tests!(on [postgres]: a_pool_of_the_default_size_fits_a_database_limited_to_fewer);

/// How many connections `db`'s pool opens at most.
fn pool_size(db: &DatabaseConnection) -> u32 {
    match db.get_database_backend() {
        DbBackend::Postgres => db
            .get_postgres_connection_pool()
            .options()
            .get_max_connections(),
        DbBackend::MySql => db
            .get_mysql_connection_pool()
            .options()
            .get_max_connections(),
        _ => db
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
    }
}

/// A first-column integer, as the server computes it.
async fn integer(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("run the query")
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("an integer")
}

async fn a_pool_of_the_default_size_fits_the_server(app: TestApp) {
    // Arrange: what the server allows, read here from its settings.
    let expected = match app.backend {
        Backend::Sqlite => 10,
        Backend::Postgres => {
            let allowed = integer(&app.db, "SELECT current_setting('max_connections')::bigint - current_setting('superuser_reserved_connections')::bigint").await;
            (allowed / 3).clamp(4, 16)
        }
        Backend::MariaDb => {
            let allowed = integer(&app.db, "SELECT CAST(@@max_connections AS SIGNED)").await;
            (allowed / 3).clamp(4, 16)
        }
    };
    let unset = DatabaseSettings {
        max_connections: None,
        ..app.settings.database.clone()
    };
    let given = DatabaseSettings {
        max_connections: Some(7),
        ..app.settings.database.clone()
    };

    // Act
    let by_default = blogql::db::connect(&unset).await.expect("connect");
    let as_given = blogql::db::connect(&given).await.expect("connect");

    // Assert
    assert_eq!(i64::from(pool_size(&by_default)), expected);
    assert_eq!(pool_size(&as_given), 7);
}

async fn a_pool_of_the_default_size_fits_a_database_limited_to_fewer(app: TestApp) {
    // Arrange: this test's database takes at most 15 connections.
    app.db
        .execute_unprepared("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 15', current_database()); END $$")
        .await
        .expect("limit the database's connections");
    let unset = DatabaseSettings {
        max_connections: None,
        ..app.settings.database.clone()
    };

    // Act
    let db = blogql::db::connect(&unset).await.expect("connect");

    // Assert: a third of them, and the pool answers.
    assert_eq!(pool_size(&db), 5);
    assert_eq!(integer(&db, "SELECT 1::bigint").await, 1);
}

async fn concurrent_writers_all_succeed(app: TestApp) {
    // Arrange
    let author = app.create_user("Busy", "busy@example.com").await;

    // Act: 20 writes at once (SQLite has one writer at a time; the others must wait, not fail).
    let writes = (0..20).map(|n| {
        app.graphql_by(
            &author,
            "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }",
            json!({ "input": { "authorId": author, "title": format!("Concurrent {n}"), "content": "c" } }),
        )
    });
    let bodies = futures_util::future::join_all(writes).await;

    // Assert
    for body in &bodies {
        assert!(body.get("errors").is_none(), "{body}");
    }
    let data = app.data("{ posts { totalCount } }", json!({})).await;
    assert_eq!(data["posts"]["totalCount"], 20);
}

async fn concurrent_updates_of_one_row_all_succeed(app: TestApp) {
    // Arrange: updates read the row, then write it; on SQLite a transaction that read first
    // could not wait for the write lock and failed.
    let author = app.create_user("Busy", "busy@example.com").await;
    let post = app.create_post(&author, "Contended").await;

    // Act: 16 post updates and 16 user updates at once.
    let post_updates = (0..16).map(|n| {
        app.graphql_by(
            &author,
            "mutation($id: ID!, $content: String!) { updatePost(id: $id, input: { content: $content }) { content } }",
            json!({ "id": post, "content": format!("version {n}") }),
        )
    });
    let user_updates = (0..16).map(|n| {
        app.graphql_by(
            &author,
            "mutation($id: ID!, $name: String!) { updateUser(id: $id, input: { name: $name }) { name } }",
            json!({ "id": author, "name": format!("Busy {n}") }),
        )
    });
    let (posts, users) = tokio::join!(
        futures_util::future::join_all(post_updates),
        futures_util::future::join_all(user_updates)
    );

    // Assert: every update landed; the row holds one of them.
    for body in posts.iter().chain(&users) {
        assert!(body.get("errors").is_none(), "{body}");
    }
    let data = app
        .data(
            "query($id: ID!) { post(id: $id) { content author { name } } }",
            json!({ "id": post }),
        )
        .await;
    let content = data["post"]["content"].as_str().expect("content");
    assert!(content.starts_with("version "), "{content}");
    let name = data["post"]["author"]["name"].as_str().expect("name");
    assert!(name.starts_with("Busy "), "{name}");
}

#[tokio::test]
async fn sqlite_enforces_foreign_keys_with_wal_and_a_busy_timeout() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = DatabaseSettings {
        url: format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display()),
        max_connections: Some(1),
        ..blogql::config::Settings::defaults().database
    };
    let db = blogql::db::connect(&settings).await.expect("connect");

    // Act
    let mut pragmas = Vec::new();
    for pragma in ["foreign_keys", "journal_mode", "busy_timeout"] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("PRAGMA {pragma}"),
            ))
            .await
            .expect("run the pragma")
            .expect("a row");
        let value: String = row
            .try_get_by_index::<i64>(0)
            .map(|n| n.to_string())
            .or_else(|_| row.try_get_by_index::<String>(0))
            .expect("a value");
        pragmas.push((pragma, value));
    }

    // Assert
    assert_eq!(
        pragmas,
        [
            ("foreign_keys", "1".to_string()),
            ("journal_mode", "wal".to_string()),
            ("busy_timeout", "5000".to_string())
        ]
    );
}

#[tokio::test]
async fn rows_written_before_folding_are_folded_by_the_migration() {
    use migration::{Migrator, MigratorTrait};

    // Arrange: a database at the migration before folded text, with rows in it.
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = DatabaseSettings {
        url: format!("sqlite://{}?mode=rwc", dir.path().join("f.db").display()),
        max_connections: Some(1),
        ..blogql::config::Settings::defaults().database
    };
    let db = blogql::db::connect(&settings).await.expect("connect");
    Migrator::up(&db, Some(3))
        .await
        .expect("migrate to follows");
    db.execute_unprepared(
        "INSERT INTO users (id, name, email, created_at) VALUES (1, 'ÉMILE Zola', 'e@example.com', '2026-01-01T00:00:00Z');
         INSERT INTO posts (title, content, author_id, created_at, updated_at)
           VALUES ('Ça Ira, ÇA IRA', '', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
    )
    .await
    .expect("write rows");

    // Act
    Migrator::up(&db, None).await.expect("migrate to the end");

    // Assert
    let folded = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT users.name_folded, posts.title_folded FROM users JOIN posts ON posts.author_id = users.id",
        ))
        .await
        .expect("read")
        .expect("a row");
    let name: String = folded.try_get_by_index(0).expect("name_folded");
    let title: String = folded.try_get_by_index(1).expect("title_folded");
    assert_eq!(
        (name.as_str(), title.as_str()),
        ("émile zola", "ça ira, ça ira")
    );
}
