//! `GET /metrics`: counters in the Prometheus text format, for monitoring and for the load
//! benchmark, which divides statements by requests to print statements per request.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{web, HttpResponse};

use crate::accounts::Accounts;

/// Counters of the running server.
#[derive(Debug, Default)]
pub struct Metrics {
    /// GraphQL requests answered (`/graphql`, any method, any outcome).
    pub graphql_requests: AtomicU64,
    /// SQL statements run on the server's pool (counted by the pool's metric callback).
    pub sql_statements: AtomicU64,
}

impl Metrics {
    pub fn count_request(&self) {
        self.graphql_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_statement(&self) {
        self.sql_statements.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self) -> String {
        counter(
            "blogql_graphql_requests_total",
            "GraphQL requests answered.",
            &self.graphql_requests,
        ) + &counter(
            "blogql_sql_statements_total",
            "SQL statements run.",
            &self.sql_statements,
        )
    }
}

fn counter(name: &str, help: &str, value: &AtomicU64) -> String {
    format!(
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
        value.load(Ordering::Relaxed)
    )
}

pub(super) async fn metrics(
    metrics: web::Data<Metrics>,
    accounts: web::Data<Accounts>,
) -> HttpResponse {
    let hashes = AtomicU64::new(accounts.hash_computations());
    let body = metrics.render()
        + &counter(
            "blogql_password_hashes_total",
            "Password hash computations (sign-ups and log-ins, including failed ones).",
            &hashes,
        );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
