//! The `blogql` binary as a user runs it: serve on port 0 (the log says which), answer,
//! stop cleanly on SIGTERM; `seed-demo` and `export-schema`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_blogql");

fn blogql(db_url: &str) -> Command {
    blogql_logging(db_url, "info")
}

fn blogql_logging(db_url: &str, log: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("DATABASE_URL")
        .env_remove("BLOGQL_BIND")
        .env_remove("BLOGQL_LOG")
        .args(["--database-url", db_url, "--log", log]);
    command
}

/// A running `blogql`, killed when dropped, so that a failing test leaves no server behind
/// (nor a pipe that keeps the test run waiting).
struct Served(Child);

impl std::ops::Deref for Served {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `blogql` on port 0; returns the child, its base URL, and the rest of its output.
fn serve(db_url: &str) -> (Served, String, mpsc::Receiver<String>) {
    serve_logging(db_url, "info")
}

fn serve_logging(db_url: &str, log: &str) -> (Served, String, mpsc::Receiver<String>) {
    let mut child = blogql_logging(db_url, log)
        .args(["--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start blogql");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let address = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("blogql printed no 'listening on' line");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .expect("an address")
                .to_string();
        }
    };
    (Served(child), address, lines)
}

#[tokio::test]
async fn server_serves_demo_data_and_stops_on_sigterm() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let seeded = blogql(&db_url)
        .arg("seed-demo")
        .output()
        .expect("run seed-demo");
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let printed = String::from_utf8_lossy(&seeded.stdout);
    assert!(
        printed.contains("admin-demo-password") && printed.contains("role: admin"),
        "seed-demo prints the demo accounts: {printed}"
    );
    let (mut child, address, lines) = serve(&db_url);
    let client = reqwest::Client::new();

    // Act
    let health = client
        .get(format!("{address}/health"))
        .send()
        .await
        .expect("GET /health");
    let body: Value = client
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": "{ users { nodes { name posts { nodes { title } } } } }" }))
        .send()
        .await
        .expect("POST /graphql")
        .json()
        .await
        .expect("JSON");
    let metrics = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("a body");
    // No idle keep-alive connection left for the graceful shutdown to wait on.
    drop(client);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");

    // Assert
    assert_eq!(health.status(), 200);
    assert_eq!(body["data"]["users"]["nodes"][0]["name"], "admin");
    assert_eq!(
        body["data"]["users"]["nodes"][1]["posts"]["nodes"],
        json!([{ "title": "First Post" }, { "title": "Second Post" }])
    );
    // One GraphQL request, of two statements (users, their pages of posts).
    assert!(
        metrics.contains("\nblogql_graphql_requests_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nblogql_sql_statements_total 2\n"),
        "{metrics}"
    );
    assert!(killed.success());
    let status = child.wait().expect("wait for blogql");
    assert!(
        status.success(),
        "blogql exited with {status} after SIGTERM"
    );
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(
        rest.iter()
            .any(|line| line.contains("\"POST /graphql\" 200")),
        "no request log line in {rest:#?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("stopped")),
        "{rest:#?}"
    );
}

#[tokio::test]
async fn ctrl_c_stops_gracefully_and_checkpoints_sqlite() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let db_file = dir.path().join("int.db");
    let db_url = format!("sqlite://{}?mode=rwc", db_file.display());
    let (mut child, address, lines) = serve(&db_url);
    let created = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": "mutation { createUser(input: { name: \"A\", email: \"a@example.com\" }) { id } }" }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(created.status(), 200);

    // Act
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    let status = child.wait().expect("wait for blogql");

    // Assert: a clean exit, and the pool closed (SQLite folds its WAL back in on the last close).
    assert!(interrupted.success());
    assert!(status.success(), "blogql exited with {status} after SIGINT");
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(
        rest.iter().any(|line| line.contains("shutting down")),
        "{rest:#?}"
    );
    let wal = dir.path().join("int.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|meta| meta.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL was not checkpointed");
}

#[test]
fn export_schema_prints_the_checked_in_schema() {
    let output = Command::new(BIN)
        .arg("export-schema")
        .output()
        .expect("run export-schema");
    assert!(output.status.success());
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
            .expect("read schema.graphql");
    assert!(
        String::from_utf8_lossy(&output.stdout) == checked_in,
        "schema.graphql is stale: run `UPDATE_EXPECT=1 cargo test --test schema`"
    );
}

#[test]
fn unreachable_database_is_a_clear_error() {
    let output = Command::new(BIN)
        .args([
            "--database-url",
            "postgres://nobody:secret@127.0.0.1:1/none",
        ])
        .args(["--bind", "127.0.0.1:0", "--connect-timeout", "1"])
        .output()
        .expect("run blogql");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot connect to postgres://nobody:***@127.0.0.1:1/none"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "the password leaked: {stderr}");
}

#[test]
fn start_up_errors_never_print_the_database_password() {
    let urls = [
        ("does not parse", "postgres://u:s3cret@[bad/db"),
        ("unknown scheme", "foo://u:s3cret@h/db"),
        ("bad port", "mysql://u:s3cret@h:notaport/db"),
        (
            "unreachable",
            "postgres://u:s3cret@127.0.0.1:1/db?password=s3cret",
        ),
    ];
    for (case, url) in urls {
        // Act
        let output = blogql(url)
            .args(["--bind", "127.0.0.1:0", "--connect-timeout", "1"])
            .output()
            .expect("run blogql");

        // Assert
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "case {case}: {printed}");
        assert!(printed.contains("cannot connect"), "case {case}: {printed}");
        assert!(!printed.contains("s3cret"), "case {case}: {printed}");
    }
}

/// Sends `query` with `variables` (and a bearer `token`) to a running blogql; returns `data`.
async fn graphql(address: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request
        .send()
        .await
        .expect("POST /graphql")
        .json()
        .await
        .expect("JSON")
}

fn stop(mut child: Served) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(killed.success());
    let _ = child.wait();
}

#[tokio::test]
async fn passwords_and_admins_are_set_from_the_command_line_only() {
    // Arrange: a user from before accounts, who has no password.
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("accounts.db").display()
    );
    let settings = blogql::config::DatabaseSettings {
        url: db_url.clone(),
        ..blogql::config::Settings::defaults().database
    };
    let db = blogql::db::connect(&settings).await.expect("connect");
    blogql::db::migrate(&db).await.expect("migrate");
    let new = blogql::domain::user::NewUser::parse("Old".into(), "old@example.com".into(), vec![])
        .expect("a valid user");
    blogql::db::users::create(&db, new, None)
        .await
        .expect("create the user");
    db.close().await.expect("close");

    // Act: set a password (from standard input) and make them an admin.
    let mut set_password = blogql(&db_url)
        .args(["set-password", "OLD@example.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run set-password");
    {
        use std::io::Write;
        let mut stdin = set_password.stdin.take().expect("stdin");
        stdin
            .write_all(b"a brand new passphrase\n")
            .expect("write the password");
    }
    let set = set_password.wait_with_output().expect("set-password ends");
    let granted = blogql(&db_url)
        .args(["grant-admin", "old@example.com"])
        .output()
        .expect("run grant-admin");
    let short = blogql(&db_url)
        .args(["set-password", "old@example.com"])
        .stdin(Stdio::null())
        .output()
        .expect("run set-password");

    // Assert: the password logs in; the account is an admin; a bad password is refused.
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    assert!(!short.status.success(), "an empty password is refused");
    let (child, address, _) = serve(&db_url);
    let logged_in = graphql(
        &address,
        None,
        "mutation { logIn(input: { email: \"old@example.com\", password: \"a brand new passphrase\" }) { token } }",
        json!({}),
    )
    .await;
    let token = logged_in["data"]["logIn"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{logged_in}"))
        .to_string();
    let viewer = graphql(&address, Some(&token), "{ viewer { name } }", json!({})).await;
    stop(child);
    assert_eq!(viewer["data"]["viewer"]["name"], "Old");
    let db = sea_orm::Database::connect(&db_url)
        .await
        .expect("connect again");
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT role FROM users WHERE email = 'old@example.com'",
        ),
    )
    .await
    .expect("read")
    .expect("a row");
    assert_eq!(row.try_get_by_index::<String>(0).expect("role"), "admin");
}

#[tokio::test]
async fn no_password_reaches_a_log_line() {
    // Arrange: everything logged, at every level.
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let (child, address, lines) = serve_logging(&db_url, "trace");

    // Act: passwords in variables and in the document itself, right and wrong.
    graphql(
        &address,
        None,
        "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
        json!({ "input": { "name": "Ann", "email": "ann@example.com", "password": "SecretInVariables1" } }),
    )
    .await;
    graphql(
        &address,
        None,
        "mutation { logIn(input: { email: \"ann@example.com\", password: \"SecretInTheDocument2\" }) { token } }",
        json!({}),
    )
    .await;
    graphql(
        &address,
        None,
        "mutation($p: String!) { logIn(input: { email: \"ann@example.com\", password: $p }) { token } }",
        json!({ "p": "SecretInVariables1" }),
    )
    .await;
    stop(child);

    // Assert
    // The child has exited: its output ends, and so does this.
    let logged: Vec<String> = lines.iter().collect();
    assert!(logged.len() > 5, "trace logging wrote little: {logged:#?}");
    for secret in ["SecretInVariables1", "SecretInTheDocument2"] {
        assert!(
            !logged.iter().any(|line| line.contains(secret)),
            "{secret} was logged"
        );
    }
}

#[tokio::test]
async fn sigterm_closes_websockets_cleanly_and_exits() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    // Arrange: a subscriber connected to the real binary.
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("ws.db").display());
    let (mut child, address, _) = serve(&db_url);
    let mut request = format!("{}/graphql", address.replacen("http", "ws", 1))
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header value"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("open the WebSocket");
    socket
        .send(Message::text(r#"{"type":"connection_init"}"#))
        .await
        .expect("send connection_init");
    socket
        .send(Message::text(
            r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { postCreated { title } }"}}"#,
        ))
        .await
        .expect("subscribe");

    // Act
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    let mut close_code = None;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(20), socket.next()).await {
        if let Ok(Message::Close(close)) = frame {
            close_code = close.map(|close| u16::from(close.code));
            break;
        }
    }
    let status = child.wait().expect("wait for blogql");

    // Assert: the socket was closed with 1001 (going away), and the server ended cleanly.
    assert!(killed.success());
    assert_eq!(close_code, Some(1001));
    assert!(status.success(), "blogql exited with {status}");
}
