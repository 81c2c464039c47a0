//! Test harness: `spawn_app(backend)` starts blogql on port 0 against a fresh database, with a
//! statement counter on the connection, and drops that database when the test ends.
//!
//! PostgreSQL and MariaDB are found at `BLOGQL_TEST_POSTGRES_URL` and `BLOGQL_TEST_MYSQL_URL`
//! (defaults: the local servers). An unreachable server fails its tests, so that a missing
//! database never passes for a green run. Outside CI, `BLOGQL_TEST_SKIP=postgres,mariadb` (either
//! or both) skips a backend's tests on purpose; `scripts/test` repeats that in its summary.
//! Under CI (`CI` set) nothing may be skipped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use blogql::config::Settings;
use blogql::db::reads::StatementHook;
use blogql::startup::Application;
use blogql::telemetry::{get_subscriber, init_subscriber};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};

static TRACING: LazyLock<()> = LazyLock::new(|| {
    let filter = if std::env::var_os("TEST_LOG").is_some() {
        "info"
    } else {
        "off"
    };
    init_subscriber(get_subscriber(filter, std::io::stdout));
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
}

impl Backend {
    /// The name used in test names and in `BLOGQL_TEST_SKIP`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MariaDb => "mariadb",
        }
    }

    pub fn server_url(self) -> Option<String> {
        let (var, default) = match self {
            Backend::Sqlite => return None,
            Backend::Postgres => (
                "BLOGQL_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Backend::MariaDb => ("BLOGQL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        };
        Some(std::env::var(var).unwrap_or_else(|_| default.to_string()))
    }

    /// Whether `BLOGQL_TEST_SKIP` names this backend. Under CI it may not: a skipped backend
    /// there would be a green run that tested nothing.
    fn skip_requested(self) -> bool {
        let Ok(skip) = std::env::var("BLOGQL_TEST_SKIP") else {
            return false;
        };
        let named = skip
            .split(',')
            .map(str::trim)
            .any(|name| name.eq_ignore_ascii_case(self.name()));
        assert!(
            !(named && std::env::var_os("CI").is_some()),
            "BLOGQL_TEST_SKIP={skip} is not honoured under CI: every backend must be tested"
        );
        named
    }
}

/// Generates, for each named `async fn name(app: TestApp)`, a module `name` with one test per
/// backend: `name::sqlite`, `name::postgres`, `name::mariadb`. `on [postgres]:` (any of
/// `sqlite`, `postgres`, `mariadb`) limits them to some backends, e.g. for tests of the HTTP
/// layer, which does not depend on the database, or of a feature one database lacks.
macro_rules! backend_tests {
    (on $backends:tt: $($name:ident),* $(,)?) => {
        $( test_module!($name: $backends); )*
    };
    ($($name:ident),* $(,)?) => {
        backend_tests!(on [sqlite, postgres, mariadb]: $($name),*);
    };
}

macro_rules! test_module {
    ($name:ident: [$($backend:ident),+ $(,)?]) => {
        mod $name {
            use crate::helpers::run;

            $(
                #[tokio::test]
                async fn $backend() {
                    run(backend!($backend), super::$name).await;
                }
            )+
        }
    };
}

/// The `Backend` a test name stands for; any other name does not compile.
macro_rules! backend {
    (sqlite) => {
        crate::helpers::Backend::Sqlite
    };
    (postgres) => {
        crate::helpers::Backend::Postgres
    };
    (mariadb) => {
        crate::helpers::Backend::MariaDb
    };
}

/// Runs `test` against a fresh app on `backend`, unless `BLOGQL_TEST_SKIP` names it.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(app) = spawn_app(backend).await {
        test(app).await;
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    /// A connection of its own to the test database, for arranging and checking rows.
    pub db: DatabaseConnection,
    /// The pool the server uses (closing it makes the server's database unreachable).
    pub server_db: DatabaseConnection,
    statements: Arc<AtomicUsize>,
    /// The settings the server was built with (a second instance uses them too).
    pub settings: Settings,
    /// The server's event bus and WebSocket connections.
    pub bus: blogql::events::Bus,
    pub sockets: Arc<blogql::http::websocket::Sockets>,
    /// Bearer tokens of the users the helpers made, by user id.
    tokens: Mutex<HashMap<String, String>>,
    client: reqwest::Client,
    _database: TestDatabase,
    server: ServerHandle,
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// `spawn_app` with settings changed by `configure` (production switches, limits...).
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    LazyLock::force(&TRACING);
    let database = TestDatabase::create(backend).await?;

    let mut settings = Settings::defaults();
    settings.bind = "127.0.0.1:0".into();
    settings.workers = 1;
    settings.database.url = database.url.clone();
    settings.database.max_connections = Some(5);
    configure(&mut settings);

    let mut db = blogql::db::connect(&settings.database)
        .await
        .expect("connect to the test database");
    blogql::db::migrate(&db).await.expect("migrate");
    // Set before the connection is cloned into the app, so every clone counts.
    // Both hear of statements: SeaORM's callback of those it runs, the API's of the reads it
    // runs on connections it keeps (`db::reads`).
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    let count: StatementHook = Arc::new(move |_info| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let counted = count.clone();
    db.set_metric_callback(move |info| counted(info));

    let server_db = db.clone();
    let app =
        Application::build_with_db(&settings, db, Some(count)).expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let server = app.handle();
    let bus = app.bus();
    let sockets = app.sockets();
    tokio::spawn(app.run_until_stopped());

    let db = Database::connect(&database.url)
        .await
        .expect("second connection to the test database");
    Some(TestApp {
        backend,
        address,
        db,
        server_db,
        statements,
        settings,
        bus,
        sockets,
        tokens: Mutex::default(),
        client: reqwest::Client::new(),
        _database: database,
        server,
    })
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sending the stop command is immediate; waiting for it is not needed.
        drop(self.server.stop(false));
    }
}

impl TestApp {
    /// Another blogql instance on the same database (as behind a load balancer); returns its
    /// address. It stops when the test's runtime ends.
    pub async fn another_instance(&self) -> String {
        let app = Application::build(&self.settings)
            .await
            .expect("build a second instance");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    /// `POST /graphql` with `query` and `variables`, anonymously; returns the response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.send(None, query, variables).await
    }

    /// `graphql` as the user `user_id` made by a helper (with their bearer token).
    pub async fn graphql_by(&self, user_id: &str, query: &str, variables: Value) -> Value {
        let token = self.token(user_id);
        self.send(Some(&token), query, variables).await
    }

    async fn send(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("send the GraphQL request");
        assert!(
            response.status().is_success(),
            "POST /graphql answered {}",
            response.status()
        );
        response.json().await.expect("a JSON response body")
    }

    /// `POST /graphql` with `Authorization: Bearer <token>` (`None`: no header) under
    /// `application/graphql-response+json`; returns the status and the body.
    pub async fn graphql_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("send the GraphQL request");
        let status = response.status();
        (status, response.json().await.expect("a JSON response body"))
    }

    /// Signs up a user with `password`; returns its id and token.
    pub async fn sign_up(&self, name: &str, email: &str, password: &str) -> (String, String) {
        let data = self
            .data(
                "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } } }",
                json!({ "input": { "name": name, "email": email, "password": password } }),
            )
            .await;
        let token = data["signUp"]["token"]
            .as_str()
            .expect("a token")
            .to_string();
        (id_of(&data["signUp"]["user"]), token)
    }

    /// Like `graphql`, but fails the test on any GraphQL error and returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// `data` as the user `user_id` made by a helper.
    pub async fn data_by(&self, user_id: &str, query: &str, variables: Value) -> Value {
        let body = self.graphql_by(user_id, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The bearer token of the user `user_id`, made by a helper.
    pub fn token(&self, user_id: &str) -> String {
        self.tokens
            .lock()
            .expect("the token map")
            .get(user_id)
            .unwrap_or_else(|| panic!("no token for user {user_id}: make them with a helper"))
            .clone()
    }

    /// Makes the user `user_id` an admin (as `blogql grant-admin` does).
    pub async fn promote(&self, user_id: &str) {
        use sea_orm::{ActiveModelTrait, Set};
        entity::user::ActiveModel {
            id: Set(user_id.parse().expect("a numeric id")),
            role: Set("admin".into()),
            ..Default::default()
        }
        .update(&self.db)
        .await
        .expect("make the user an admin");
    }

    /// The HTTP client the helpers use, for requests they do not cover.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{}", self.address, path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{}", self.address, path))
    }

    /// SQL statements the app has run since the last reset.
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    pub fn reset_statements(&self) {
        self.statements.store(0, Ordering::SeqCst);
    }

    /// Creates a user and opens a session for them (`token`, `graphql_by`); returns its id.
    /// Written through the data layer the API uses, without a password: hashing one costs
    /// tens of milliseconds, and signing up has tests of its own.
    pub async fn create_user(&self, name: &str, email: &str) -> String {
        self.create_user_with_posts(name, email, &[]).await
    }

    /// Creates a user with `posts` titles, as `create_user`; returns the user's id.
    pub async fn create_user_with_posts(
        &self,
        name: &str,
        email: &str,
        titles: &[String],
    ) -> String {
        let posts = titles
            .iter()
            .map(|title| (title.clone(), format!("About {title}")))
            .collect();
        let new = blogql::domain::user::NewUser::parse(name.into(), email.into(), posts)
            .expect("a valid user");
        let user = blogql::db::users::create(&self.db, new, None)
            .await
            .expect("create the user");
        let session = blogql::accounts::open_session(&self.db, user.id, Duration::from_secs(3600))
            .await
            .expect("open a session");
        let id = user.id.to_string();
        self.tokens
            .lock()
            .expect("the token map")
            .insert(id.clone(), session.token);
        id
    }

    /// Creates a post by `author_id` through the API, with their token; returns its id.
    pub async fn create_post(&self, author_id: &str, title: &str) -> String {
        let data = self
            .data_by(
                author_id,
                "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }",
                json!({ "input": { "title": title, "content": "Some content" } }),
            )
            .await;
        id_of(&data["createPost"])
    }

    /// Seeds `users` users with `posts_each` posts each; returns the user ids in order.
    pub async fn seed(&self, users: usize, posts_each: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(users);
        for u in 0..users {
            let titles: Vec<String> = (0..posts_each)
                .map(|p| format!("Post {p} of user {u}"))
                .collect();
            ids.push(
                self.create_user_with_posts(
                    &format!("User {u}"),
                    &format!("user{u}@example.com"),
                    &titles,
                )
                .await,
            );
        }
        ids
    }
}

impl TestApp {
    /// Makes each of `users` follow the `each` users after it (wrapping around), written
    /// directly through the test's own connection, one follow a millisecond apart, in order:
    /// `users[i]` follows `users[i + 1]` first. Returns how many edges were written.
    pub async fn follow_ring(&self, users: &[String], each: usize) -> usize {
        use sea_orm::{EntityTrait, Set};
        let start = blogql::db::now() - chrono::Duration::hours(1);
        let ids: Vec<i32> = users
            .iter()
            .map(|id| id.parse().expect("a numeric id"))
            .collect();
        let mut edges = Vec::new();
        for (i, follower) in ids.iter().enumerate() {
            for step in 1..=each {
                let followee = ids[(i + step) % ids.len()];
                let at = start + chrono::Duration::milliseconds(edges.len() as i64);
                edges.push(entity::follow::ActiveModel {
                    follower_id: Set(*follower),
                    followee_id: Set(followee),
                    created_at: Set(at),
                });
            }
        }
        let written = edges.len();
        entity::follow::Entity::insert_many(edges)
            .exec(&self.db)
            .await
            .expect("write the follow edges");
        written
    }
}

pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

/// The code of the first error of a response.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// A database made for one test and dropped when the test ends (also when it fails).
struct TestDatabase {
    url: String,
    /// For PostgreSQL and MariaDB: the server URL and the database name to drop.
    server: Option<(String, String)>,
    _sqlite_dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    async fn create(backend: Backend) -> Option<Self> {
        let Some(server_url) = backend.server_url() else {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            return Some(TestDatabase {
                url,
                server: None,
                _sqlite_dir: Some(dir),
            });
        };
        if backend.skip_requested() {
            eprintln!("SKIPPED: {backend:?} tests (BLOGQL_TEST_SKIP)");
            return None;
        }
        let admin = match connect_with_timeout(&server_url).await {
            Ok(admin) => admin,
            Err(err) => panic!(
                "{backend:?} at {server_url} is unreachable: {err}\n\
                 Start it, point BLOGQL_TEST_POSTGRES_URL / BLOGQL_TEST_MYSQL_URL at one, or \
                 (outside CI) skip its tests with BLOGQL_TEST_SKIP={}",
                backend.name()
            ),
        };
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let base = server_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .expect("a server URL with a database path");
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            server: Some((server_url, name)),
            _sqlite_dir: None,
        })
    }
}

async fn connect_with_timeout(url: &str) -> Result<DatabaseConnection, String> {
    let mut options = sea_orm::ConnectOptions::new(url.to_string());
    options
        .connect_timeout(Duration::from_secs(3))
        .max_connections(1)
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .map_err(|err| err.to_string())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server_url, name)) = self.server.take() else {
            return;
        };
        // `Drop` cannot await: a thread with a runtime of its own drops the database.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = connect_with_timeout(&server_url).await.ok()?;
                let force = if server_url.starts_with("postgres") {
                    " WITH (FORCE)"
                } else {
                    ""
                };
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}{force}"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop a test database; drop test_* databases by hand");
        }
    }
}
