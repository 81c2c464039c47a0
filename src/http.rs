//! HTTP routes: `POST`/`GET /graphql`, the GraphiQL playground at `GET /`, and `GET /health`.
//!
//! Every GraphQL request gets a fresh set of DataLoaders here, so no batch or cache outlives
//! its request or is shared between users.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::graphql::batching::BatchScheduler;
use crate::graphql::loaders::Loaders;
use crate::graphql::AppSchema;

/// Largest request body accepted on `POST /graphql`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql_post))
            .route(web::get().to(graphql_get)),
    )
    .route("/", web::get().to(graphiql))
    .route("/health", web::get().to(health));
}

async fn graphql_post(
    schema: web::Data<AppSchema>,
    db: web::Data<DatabaseConnection>,
    body: web::Bytes,
) -> HttpResponse {
    match parse_body(&body) {
        Ok(request) => execute(&schema, &db, request).await,
        Err(message) => bad_request(&message),
    }
}

async fn graphql_get(
    schema: web::Data<AppSchema>,
    db: web::Data<DatabaseConnection>,
    req: HttpRequest,
) -> HttpResponse {
    let request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(request) => request,
        Err(err) => return bad_request(&format!("invalid GraphQL query string: {err}")),
    };
    // GET must be safe to repeat and to cache: it may carry queries only.
    if selects_mutation(&request) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .json(error_body(
                "mutations must be sent with POST",
                "METHOD_NOT_ALLOWED",
            ));
    }
    execute(&schema, &db, request).await
}

async fn execute(
    schema: &AppSchema,
    db: &DatabaseConnection,
    request: async_graphql::Request,
) -> HttpResponse {
    let scheduler = BatchScheduler::new();
    let request = request.data(Loaders::new(db.clone(), &scheduler));
    let response = scheduler.run(schema.execute(request)).await;
    HttpResponse::Ok().json(response)
}

/// A POST body: a JSON object with a string `query`, and `variables` an object if present.
fn parse_body(body: &[u8]) -> Result<async_graphql::Request, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| format!("the body is not valid JSON: {err}"))?;
    let Some(fields) = value.as_object() else {
        return Err("the body must be a JSON object".into());
    };
    if !fields
        .get("query")
        .is_some_and(serde_json::Value::is_string)
    {
        return Err("the body must have a string \"query\"".into());
    }
    if !fields
        .get("variables")
        .is_none_or(|variables| variables.is_object() || variables.is_null())
    {
        return Err("\"variables\" must be an object".into());
    }
    serde_json::from_value(value).map_err(|err| format!("invalid GraphQL request: {err}"))
}

/// Whether the operation that would run is a mutation (or a subscription). A document that
/// does not parse is left to the executor, which reports it as a GraphQL error.
fn selects_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let is_write = |ty: OperationType| ty != OperationType::Query;
    match &document.operations {
        DocumentOperations::Single(operation) => is_write(operation.node.ty),
        DocumentOperations::Multiple(operations) => match &request.operation_name {
            Some(name) => operations
                .get(name.as_str())
                .is_some_and(|operation| is_write(operation.node.ty)),
            None => operations
                .values()
                .any(|operation| is_write(operation.node.ty)),
        },
    }
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(error_body(message, "BAD_REQUEST"))
}

fn error_body(message: &str, code: &str) -> serde_json::Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GraphiQLSource::build().endpoint("/graphql").finish())
}

/// 200 when the database answers, 503 when it does not.
async fn health(db: web::Data<DatabaseConnection>) -> HttpResponse {
    match db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
