//! The least any server on this stack spends on `bench/run`'s `flat` and `single` requests: an
//! actix-web handler that reads the JSON body, runs the very statements blogql runs for them
//! (same SQL text, same parameters, prepared once per connection) on a kept SQLx connection,
//! and writes the same JSON answer. No GraphQL, no pool test, no logging, no limits.
//!
//! Not a server to use: it answers only those two queries. `bench/floor` measures it against
//! PostgreSQL's CPU per request the way `bench/run` measures blogql, which tells how much of
//! blogql's CPU per request is the stack itself (HTTP, the PostgreSQL protocol, JSON) and how
//! much is GraphQL and blogql's own work.
//!
//!   cargo run --release --example stack_floor -- DATABASE_URL BIND_ADDRESS

use std::sync::Mutex;

use actix_web::{web, App, HttpResponse, HttpServer};
use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::{self, Connection, Row};
use serde::Serialize;

/// The same allocator as blogql's.
#[global_allocator]
static ALLOCATOR: blogql::allocator::MiMalloc = blogql::allocator::MiMalloc;

/// blogql's statement for `user(id:)`, then for a page of each user's posts (`posts(first:)`).
const USER: &str = r#"SELECT "users"."id", "users"."name", "users"."name_folded", "users"."email", "users"."created_at", "users"."password_hash", "users"."role" FROM "users" WHERE "users"."id" IN ($1)"#;
const USER_POSTS: &str = r#"SELECT "page".* FROM (VALUES ($1)) AS "page_parents" JOIN LATERAL (SELECT "posts"."id", "posts"."title", '' AS "title_folded", '' AS "content", "posts"."author_id", "posts"."created_at", "posts"."updated_at", "posts"."id" AS "page_key_0", "posts"."author_id" AS "page_parent" FROM "posts" WHERE "posts"."author_id" = "page_parents"."column1" ORDER BY "posts"."id" ASC LIMIT $2) AS "page" ON TRUE ORDER BY "page_parent" ASC, "page_key_0" ASC"#;
/// blogql's statement for `posts(first:)`.
const POSTS: &str = r#"SELECT "posts"."id", "posts"."title", '' AS "title_folded", '' AS "content", "posts"."author_id", "posts"."created_at", "posts"."updated_at", "posts"."id" AS "page_key_0" FROM "posts" ORDER BY "posts"."id" ASC LIMIT $1"#;

struct Connections {
    url: String,
    idle: Mutex<Vec<PgConnection>>,
}

#[derive(serde::Deserialize)]
struct Request {
    query: String,
}

#[derive(Serialize)]
struct Post {
    id: String,
    title: String,
}

#[derive(Serialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

#[derive(Serialize)]
struct User {
    id: String,
    name: String,
    email: Option<String>,
    posts: Nodes<Post>,
}

#[derive(Serialize)]
enum Data {
    #[serde(rename = "user")]
    User(Option<User>),
    #[serde(rename = "posts")]
    Posts(Nodes<Post>),
}

#[derive(Serialize)]
struct Response {
    data: Data,
}

async fn graphql(
    request: web::Json<Request>,
    connections: web::Data<Connections>,
) -> Result<HttpResponse, actix_web::Error> {
    let taken = connections
        .idle
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop();
    let mut connection = match taken {
        Some(connection) => connection,
        None => PgConnection::connect(&connections.url)
            .await
            .map_err(actix_web::error::ErrorServiceUnavailable)?,
    };
    let data = answer(&request.query, &mut connection)
        .await
        .map_err(actix_web::error::ErrorInternalServerError)?;
    connections
        .idle
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(connection);
    let body = serde_json::to_vec(&Response { data })?;
    Ok(HttpResponse::Ok()
        .content_type("application/graphql-response+json")
        .body(body))
}

/// `single` (`user(id: "N") {...}`) or `flat` (anything else).
async fn answer(query: &str, connection: &mut PgConnection) -> Result<Data, sqlx::Error> {
    let user_id = query
        .split_once(r#"id: ""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .and_then(|(id, _)| id.parse::<i32>().ok());
    let Some(user_id) = user_id else {
        let rows = sqlx::query(POSTS)
            .bind(101_i64)
            .fetch_all(&mut *connection)
            .await?;
        return Ok(Data::Posts(Nodes {
            nodes: posts(rows.iter().take(100))?,
        }));
    };
    let Some(user) = sqlx::query(USER)
        .bind(user_id)
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Ok(Data::User(None));
    };
    let rows = sqlx::query(USER_POSTS)
        .bind(user_id)
        .bind(11_i64)
        .fetch_all(&mut *connection)
        .await?;
    Ok(Data::User(Some(User {
        id: user.try_get::<i32, _>("id")?.to_string(),
        name: user.try_get("name")?,
        // Hidden from anonymous viewers, as blogql does.
        email: None,
        posts: Nodes {
            nodes: posts(rows.iter().take(10))?,
        },
    })))
}

fn posts<'a>(
    rows: impl Iterator<Item = &'a sqlx::postgres::PgRow>,
) -> Result<Vec<Post>, sqlx::Error> {
    rows.map(|row| {
        Ok(Post {
            id: row.try_get::<i32, _>("id")?.to_string(),
            title: row.try_get("title")?,
        })
    })
    .collect()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(bind)) = (args.next(), args.next()) else {
        eprintln!("usage: stack_floor DATABASE_URL BIND_ADDRESS");
        std::process::exit(2);
    };
    let connections = web::Data::new(Connections {
        url,
        idle: Mutex::new(Vec::new()),
    });
    HttpServer::new(move || {
        App::new()
            .app_data(connections.clone())
            .route("/graphql", web::post().to(graphql))
            .route("/health", web::get().to(HttpResponse::Ok))
    })
    .bind(bind)?
    .run()
    .await
}
