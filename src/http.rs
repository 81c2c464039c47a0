//! HTTP routes: `POST`/`GET /graphql`, the playground at `GET /` (see `playground`), and
//! `GET /health`. The protocol details live in `graphql_over_http`.
//!
//! Every GraphQL request gets a fresh set of DataLoaders here, so no batch or cache outlives
//! its request or is shared between users.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::graphql::batching::BatchScheduler;
use crate::graphql::loaders::Loaders;
use crate::graphql::AppSchema;
use crate::graphql_over_http::{self as protocol, HttpError, ResponseType};
use crate::playground;

/// Largest request body accepted on `POST /graphql`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql_post))
            .route(web::get().to(graphql_get))
            .default_service(web::to(method_not_allowed)),
    )
    .route("/health", web::get().to(health))
    .configure(playground::routes);
}

async fn graphql_post(
    schema: web::Data<AppSchema>,
    db: web::Data<DatabaseConnection>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let response_type = match protocol::negotiate(&req) {
        Ok(response_type) => response_type,
        Err(err) => return error_response(&err, ResponseType::Json),
    };
    let request =
        protocol::check_content_type(&req).and_then(|()| protocol::request_from_body(&body));
    match request {
        Ok(request) => execute(&schema, &db, request, response_type).await,
        Err(err) => error_response(&err, response_type),
    }
}

async fn graphql_get(
    schema: web::Data<AppSchema>,
    db: web::Data<DatabaseConnection>,
    req: HttpRequest,
) -> HttpResponse {
    let response_type = match protocol::negotiate(&req) {
        Ok(response_type) => response_type,
        Err(err) => return error_response(&err, ResponseType::Json),
    };
    let request = match protocol::request_from_query_string(req.query_string()) {
        Ok(request) => request,
        Err(err) => return error_response(&err, response_type),
    };
    // GET must be safe to repeat and to cache: it may carry queries only.
    if protocol::selects_mutation(&request) {
        let err = HttpError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "METHOD_NOT_ALLOWED",
            message: "mutations must be sent with POST".into(),
        };
        let mut response = error_response(&err, response_type);
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    execute(&schema, &db, request, response_type).await
}

async fn method_not_allowed() -> HttpResponse {
    let err = HttpError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "METHOD_NOT_ALLOWED",
        message: "/graphql takes GET (queries) and POST".into(),
    };
    let mut response = error_response(&err, ResponseType::Json);
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    response
}

async fn execute(
    schema: &AppSchema,
    db: &DatabaseConnection,
    request: async_graphql::Request,
    response_type: ResponseType,
) -> HttpResponse {
    let query = request.query.clone();
    let mut response = match protocol::missing_variables(&request) {
        Some(request_error) => request_error,
        None => {
            let scheduler = BatchScheduler::new();
            let request = request.data(Loaders::new(db.clone(), &scheduler));
            scheduler.run(schema.execute(request)).await
        }
    };
    protocol::ensure_error_codes(&mut response, &query);
    let (status, body) = protocol::response_status_and_body(&response, response_type);
    HttpResponse::build(status)
        .content_type(response_type.content_type())
        .json(body)
}

fn error_response(err: &HttpError, response_type: ResponseType) -> HttpResponse {
    HttpResponse::build(err.status)
        .content_type(response_type.content_type())
        .json(err.body())
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
