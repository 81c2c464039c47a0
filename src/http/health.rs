//! `GET /health`: whether blogql can reach its database, for load balancers and monitors.

use actix_web::{web, HttpResponse};
use sea_orm::DatabaseConnection;
use serde_json::json;

/// 200 when the database answers, 503 when it does not.
pub(super) async fn health(db: web::Data<DatabaseConnection>) -> HttpResponse {
    match db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
