//! Random and adversarial requests at the request path, for a bounded time: raw bytes, random
//! JSON, documents assembled from the schema's own words (deep, wide, with fragments,
//! directives, variables and odd values), and valid queries with random edits, by POST and GET.
//! Every answer must be well-formed: JSON, a status the protocol allows, data or errors that
//! each carry a code, and never `INTERNAL` (a client's input must not be able to reach a bug).
//! Afterwards a normal query must still be answered.
//!
//! `BLOGQL_FUZZ_SECONDS` sets the time (10 by default; CI runs a minute), `BLOGQL_FUZZ_SEED`
//! replays a run: the seed is printed when a case fails.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};

/// SplitMix64: small, fast, and reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const FIELDS: &[&str] = &[
    "users",
    "posts",
    "user",
    "post",
    "nodes",
    "edges",
    "node",
    "cursor",
    "author",
    "followers",
    "following",
    "feed",
    "totalCount",
    "postCount",
    "followerCount",
    "followingCount",
    "pageInfo",
    "hasNextPage",
    "hasPreviousPage",
    "endCursor",
    "startCursor",
    "id",
    "name",
    "email",
    "title",
    "content",
    "createdAt",
    "updatedAt",
    "__typename",
    "__schema",
    "__type",
    "types",
    "fields",
    "createUser",
    "createPost",
    "updatePost",
    "deletePost",
    "deleteUser",
    "followUser",
    "unfollowUser",
    "created",
    "removed",
    "deletedPostCount",
    "nope",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "100",
    "101",
    "2147483647",
    "2147483648",
    "-2147483649",
    "1e400",
    "0.5",
    "true",
    "null",
    "\"\"",
    "\"x\"",
    "\"1\"",
    "\"\\u0000\"",
    "\"é😀\"",
    "\"%_\\\\\"",
    "[]",
    "[1, 2]",
    "{}",
    "$v",
    "$first",
    "FIRST",
    "\"eyJ4IjoxfQ\"",
    "\"WyJ1c2VycyIsIklEX0FTQyIsWzFdXQ\"",
    "{ name: \"n\", email: \"n@example.com\" }",
    "{ title: \"t\", content: \"c\", authorId: 1 }",
    "{ followerId: 1, followeeId: 1 }",
];

const ARGUMENTS: &[&str] = &["first", "after", "id", "input", "if", "name", "x"];

const DIRECTIVES: &[&str] = &[
    "@include(if: true)",
    "@skip(if: false)",
    "@skip(if: $v)",
    "@deprecated",
    "@nope",
    "@include",
];

/// A selection set of the schema's words: deep or wide, with arguments, aliases, directives,
/// inline fragments and spreads.
fn selection(rng: &mut Rng, depth: usize) -> String {
    let mut text = String::from("{ ");
    for _ in 0..=rng.below(3) {
        match rng.below(10) {
            0 => text.push_str(&format!("...F{} ", rng.below(3))),
            1 if depth < 12 => {
                text.push_str(&format!(
                    "... on {} ",
                    rng.pick(&["User", "Post", "Query", "X"])
                ));
                text.push_str(&selection(rng, depth + 1));
            }
            _ => {
                if rng.chance(15) {
                    text.push_str(&format!("a{}: ", rng.below(5)));
                }
                text.push_str(rng.pick(FIELDS));
                if rng.chance(40) {
                    let arguments: Vec<String> = (0..=rng.below(2))
                        .map(|_| format!("{}: {}", rng.pick(ARGUMENTS), rng.pick(VALUES)))
                        .collect();
                    text.push_str(&format!("({})", arguments.join(", ")));
                }
                if rng.chance(10) {
                    text.push_str(&format!(" {}", rng.pick(DIRECTIVES)));
                }
                text.push(' ');
                // Deep sometimes, but not exponentially wide: nesting gets rarer with depth.
                if depth < 12 && rng.chance(70usize.saturating_sub(depth * 6)) {
                    text.push_str(&selection(rng, depth + 1));
                }
            }
        }
    }
    text.push_str("} ");
    text
}

fn document(rng: &mut Rng) -> String {
    let operation = rng.pick(&[
        "",
        "query ",
        "query Q($v: Boolean, $first: Int) ",
        "mutation ",
        "subscription ",
        "query($v: Int!) ",
    ]);
    let mut text = format!("{operation}{}", selection(rng, 0));
    for n in 0..rng.below(4) {
        let on = rng.pick(&["Query", "User", "Post", "Mutation", "Nope"]);
        text.push_str(&format!("fragment F{n} on {on} {}", selection(rng, 1)));
    }
    text
}

/// A valid query with a few random edits: characters dropped, doubled or replaced.
fn edited(rng: &mut Rng) -> String {
    let valid = rng.pick(&[
        "{ users(first: 5) { totalCount nodes { id name posts(first: 2) { nodes { title author { name } } } } } }",
        "query($id: ID!) { user(id: $id) { followers { nodes { name } } feed(first: 3) { edges { cursor node { title } } } } }",
        "mutation { createUser(input: { name: \"A\", email: \"a@example.com\", posts: [{ title: \"T\", content: \"C\" }] }) { id } }",
        "{ posts(first: 2, after: \"WyJwb3N0cyIsIklEX0FTQyIsWzFdXQ\") { pageInfo { endCursor } } }",
    ]);
    let mut chars: Vec<char> = valid.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(chars.len());
        match rng.below(3) {
            0 => {
                chars.remove(at);
            }
            1 => chars.insert(at, chars[at]),
            _ => {
                chars[at] = rng.pick(&[
                    '{', '}', '(', ')', '"', '$', '@', '.', '\\', '\u{0}', 'é', ' ',
                ])
            }
        }
    }
    chars.into_iter().collect()
}

fn random_json(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 4 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from_bits(rng.next()).to_string()),
        4 => json!(document(rng)),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut object = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                let key = rng.pick(&[
                    "query",
                    "variables",
                    "operationName",
                    "extensions",
                    "v",
                    "id",
                    "first",
                ]);
                object.insert(key.to_string(), random_json(rng, depth + 1));
            }
            Value::Object(object)
        }
    }
}

/// One request: its description (for the failure message) and the answer.
async fn send_one(app: &TestApp, rng: &mut Rng) -> (String, reqwest::Result<reqwest::Response>) {
    let client = app.client();
    let url = format!("{}/graphql", app.address);
    let accept = rng.pick(&[
        "application/json",
        "application/graphql-response+json",
        "*/*",
    ]);
    match rng.below(6) {
        0 => {
            let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            let description = format!("POST bytes {bytes:?}");
            let response = client
                .post(&url)
                .header("content-type", "application/json")
                .header("accept", accept)
                .body(bytes)
                .send()
                .await;
            (description, response)
        }
        1 => {
            let body = random_json(rng, 0);
            let description = format!("POST {body}");
            (
                description,
                client
                    .post(&url)
                    .header("accept", accept)
                    .json(&body)
                    .send()
                    .await,
            )
        }
        2 => {
            // A GET carries a short document: URLs have length limits of their own.
            let query: String = document(rng).chars().take(2_000).collect();
            let variables = json!({ "v": rng.pick(VALUES), "first": rng.below(300) as i64 - 50, "id": rng.pick(VALUES) });
            let description = format!("GET query={query} variables={variables}");
            let response = client
                .get(&url)
                .header("accept", accept)
                .query(&[
                    ("query", query.as_str()),
                    ("variables", &variables.to_string()),
                ])
                .send()
                .await;
            (description, response)
        }
        3 => {
            let body =
                json!({ "query": edited(rng), "variables": { "id": rng.below(5).to_string() } });
            let description = format!("POST {body}");
            (
                description,
                client
                    .post(&url)
                    .header("accept", accept)
                    .json(&body)
                    .send()
                    .await,
            )
        }
        _ => {
            let body = json!({ "query": document(rng), "variables": { "v": true, "first": rng.below(120) } });
            let description = format!("POST {body}");
            (
                description,
                client
                    .post(&url)
                    .header("accept", accept)
                    .json(&body)
                    .send()
                    .await,
            )
        }
    }
}

/// Why an answer is not well-formed, if it is not.
async fn check_answer(response: reqwest::Response) -> Result<(), String> {
    let status = response.status();
    let allowed = [
        StatusCode::OK,
        StatusCode::BAD_REQUEST,
        StatusCode::METHOD_NOT_ALLOWED,
        StatusCode::NOT_ACCEPTABLE,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::SERVICE_UNAVAILABLE,
    ];
    if !allowed.contains(&status) {
        return Err(format!("status {status}"));
    }
    let text = response
        .text()
        .await
        .map_err(|err| format!("no body: {err}"))?;
    let body: Value = serde_json::from_str(&text).map_err(|_| format!("not JSON: {text}"))?;
    let errors = body.get("errors").and_then(Value::as_array);
    if errors.is_none() && body.get("data").is_none() {
        return Err(format!("neither data nor errors: {text}"));
    }
    for error in errors.into_iter().flatten() {
        match error["extensions"]["code"].as_str() {
            None => return Err(format!("an error without a code: {text}")),
            Some("INTERNAL") => return Err(format!("INTERNAL: {text}")),
            Some(_) => {}
        }
    }
    Ok(())
}

#[tokio::test]
async fn random_and_adversarial_requests_get_well_formed_answers() {
    // Arrange
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else {
        return;
    };
    app.seed(3, 2).await;
    let seconds: u64 = std::env::var("BLOGQL_FUZZ_SECONDS")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("BLOGQL_FUZZ_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |elapsed| elapsed.as_nanos() as u64)
        });
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);

    // Act / Assert: each answer as it comes.
    let mut requests = 0;
    while Instant::now() < deadline {
        let (description, response) = send_one(&app, &mut rng).await;
        let verdict = match response {
            Ok(response) => check_answer(response).await,
            Err(err) => Err(format!("no answer: {err}")),
        };
        if let Err(why) = verdict {
            let description: String = description.chars().take(2_000).collect();
            let why: String = why.chars().take(2_000).collect();
            panic!("BLOGQL_FUZZ_SEED={seed}, request {requests}: {why}\nrequest: {description}");
        }
        requests += 1;
    }

    // The server still answers a normal query.
    assert!(requests > 50, "only {requests} requests in {seconds} s");
    let data = app
        .data("{ users(first: 1) { nodes { name } } }", json!({}))
        .await;
    assert!(data["users"]["nodes"].is_array(), "{data}");
    eprintln!("fuzz: {requests} requests in {seconds} s, seed {seed}");
}
