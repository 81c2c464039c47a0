//! HTTP: the routes `POST`/`GET /graphql`, the playground at `GET /` (`playground`),
//! `GET /health` (`health`) and `GET /metrics` (`metrics`), and a log line per request
//! (`access_log`). The GraphQL-over-HTTP protocol details live in `protocol`; running the
//! request (with loaders of its own) is `graphql::Api::execute`.

pub mod access_log;
mod health;
mod json;
pub mod metrics;
pub mod playground;
pub mod protocol;
pub mod websocket;

use actix_cors::Cors;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::config::ExposureSettings;
use crate::graphql::{Api, Auth};
use metrics::Metrics;
use protocol::{HttpError, ResponseType};

/// Largest request body accepted on `POST /graphql`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig, exposure: &ExposureSettings) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql_post))
            .route(
                web::get()
                    .guard(actix_web::guard::fn_guard(|ctx| {
                        ctx.head()
                            .headers()
                            .get(header::UPGRADE)
                            .and_then(|value| value.to_str().ok())
                            .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
                    }))
                    .to(websocket::upgrade),
            )
            .route(web::get().to(graphql_get))
            .default_service(web::to(method_not_allowed)),
    )
    .route("/health", web::get().to(health::health))
    .route("/metrics", web::get().to(metrics::metrics));
    if exposure.playground {
        cfg.configure(playground::routes);
    }
}

/// Cross-origin access for browsers: only `origins` (and the server's own origin, which needs
/// no CORS) may call the API from a page. Requests from other origins still run (CORS protects
/// browsers' users, not the server), but their responses carry no `Access-Control-Allow-*`
/// headers, so a browser withholds them from the calling page.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([header::CONTENT_TYPE, header::ACCEPT, header::AUTHORIZATION])
        .max_age(3600);
    for origin in origins.iter().map(|origin| origin.trim()) {
        if !origin.is_empty() {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}

async fn graphql_post(
    api: web::Data<Api>,
    metrics: web::Data<Metrics>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    metrics.count_request();
    let response_type = match protocol::negotiate(&req) {
        Ok(response_type) => response_type,
        Err(err) => return error_response(&err, ResponseType::Json),
    };
    if let Err(err) = protocol::check_content_type(&req) {
        return error_response(&err, response_type);
    }
    let body = match read_body(payload).await {
        Ok(body) => body,
        Err(err) => return error_response(&err, response_type),
    };
    let request = protocol::request_from_body(&body);
    match request {
        Ok(mut request) => {
            let inspection = protocol::inspect(&mut request, api.documents());
            execute(&api, &req, request, inspection, response_type).await
        }
        Err(err) => error_response(&err, response_type),
    }
}

async fn graphql_get(
    api: web::Data<Api>,
    metrics: web::Data<Metrics>,
    req: HttpRequest,
) -> HttpResponse {
    metrics.count_request();
    let response_type = match protocol::negotiate(&req) {
        Ok(response_type) => response_type,
        Err(err) => return error_response(&err, ResponseType::Json),
    };
    let mut request = match protocol::request_from_query_string(req.query_string()) {
        Ok(request) => request,
        Err(err) => return error_response(&err, response_type),
    };
    let inspection = protocol::inspect(&mut request, api.documents());
    // GET must be safe to repeat and to cache: it may carry queries only.
    if inspection.selects_mutation {
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
    execute(&api, &req, request, inspection, response_type).await
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
    api: &Api,
    req: &HttpRequest,
    request: async_graphql::Request,
    inspection: protocol::Inspection,
    response_type: ResponseType,
) -> HttpResponse {
    let auth = Auth {
        token: protocol::bearer_token(req),
        client: req.peer_addr().map(|addr| addr.ip()),
    };
    // The response is written by `graphql::json`, which takes lists written while resolving.
    let mut response = match inspection.missing_variables {
        Some(request_error) => request_error,
        None => api.execute(request, auth, inspection.document, true).await,
    };
    protocol::ensure_error_codes(&mut response, inspection.parse_failed);
    let (status, body) = protocol::response_status_and_body(&response, response_type);
    let mut builder = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    builder
        .content_type(response_type.content_type())
        // The same GET answers differently by `Accept`: caches must keep them apart.
        .insert_header((header::VARY, "Accept"))
        .body(body)
}

/// The body of a POST, up to `MAX_BODY_BYTES` (beyond: a 413 in the GraphQL error format).
async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, HttpError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|err| HttpError::bad_request(format!("reading the body: {err}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(HttpError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "PAYLOAD_TOO_LARGE",
                message: format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn error_response(err: &HttpError, response_type: ResponseType) -> HttpResponse {
    HttpResponse::build(err.status)
        .content_type(response_type.content_type())
        .insert_header((header::VARY, "Accept"))
        .json(err.body())
}
