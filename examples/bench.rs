//! A load benchmark that prints figures: requests per second, latency percentiles, and SQL
//! statements per request, for the canonical nested query on a seeded SQLite database.
//!
//! `cargo run --release --example bench -- [USERS] [POSTS_PER_USER] [REQUESTS] [CONCURRENCY]`
//! (defaults 100 10 2000 16); `BLOGQL_LOG` sets the log filter as for the server. It starts
//! blogql in-process on a temporary database and port 0,
//! sends a bounded number of requests over loopback, and stops by itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use blogql::config::Settings;
use blogql::startup::Application;
use blogql::telemetry::{get_subscriber, init_subscriber};
use serde_json::json;

const QUERY: &str = "{ users(first: 50) { nodes { name posts(first: 5) { totalCount nodes { title author { name } } } } } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse().context("arguments are numbers"))
        .collect::<anyhow::Result<_>>()?;
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (users, posts_each, requests, concurrency) =
        (arg(0, 100), arg(1, 10), arg(2, 2000), arg(3, 16));

    let dir = tempfile::tempdir()?;
    let mut settings = Settings::defaults();
    // Logging as in production (`--log`/`BLOGQL_LOG`), written nowhere: its cost is counted,
    // the terminal stays readable.
    init_subscriber(get_subscriber(&settings.log, std::io::sink));
    settings.bind = "127.0.0.1:0".into();
    settings.database.url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let mut db = blogql::db::connect(&settings.database).await?;
    blogql::db::migrate(&db).await?;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let app = Application::build_with_db(&settings, db)?;
    let url = format!("http://127.0.0.1:{}/graphql", app.port());
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    // Seed through the API, as clients would.
    for u in 0..users {
        let posts: Vec<_> = (0..posts_each)
            .map(|p| json!({ "title": format!("Post {p} by {u}"), "content": "Lorem ipsum" }))
            .collect();
        let input = json!({ "name": format!("User {u}"), "email": format!("u{u}@example.com"), "posts": posts });
        client
            .post(&url)
            .json(&json!({ "query": "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }", "variables": { "i": input } }))
            .send()
            .await?
            .error_for_status()?;
    }

    statements.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .json(&json!({ "query": QUERY }))
                    .send()
                    .await?;
                response.error_for_status()?.bytes().await?;
                latencies.push(sent.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];

    println!("query: {QUERY}");
    println!(
        "data: {users} users x {posts_each} posts; {requests} requests, {concurrency} concurrent"
    );
    println!(
        "requests/s: {:.0}",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms",
        percentile(0.50).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3
    );
    println!(
        "SQL statements per request: {:.2}",
        statements.load(Ordering::Relaxed) as f64 / latencies.len() as f64
    );
    if let Some(rss) = resident_memory_kib() {
        println!("resident memory: {} MiB", rss / 1024);
    }
    server.stop(true).await;
    Ok(())
}

/// VmRSS of this process (server and client together), on Linux.
fn resident_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
