//! The GraphiQL playground at `GET /`, served entirely by blogql: its scripts and styles are
//! embedded in the binary at build time, so it works with no internet access (behind a firewall,
//! on a plane). `scripts/vendor-graphiql` refreshes the vendored files at pinned versions.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// Everything the page loads: only this server's own origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/playground/",
                $path
            )),
        }
    };
}

static ASSETS: &[Asset] = &[
    asset!(
        "graphiql.min.js",
        "vendor/graphiql.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "graphiql.min.css",
        "vendor/graphiql.min.css",
        "text/css; charset=utf-8"
    ),
    asset!(
        "react.production.min.js",
        "vendor/react.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "react-dom.production.min.js",
        "vendor/react-dom.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "playground.js",
        "playground.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "playground.css",
        "playground.css",
        "text/css; charset=utf-8"
    ),
];

const INDEX: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/playground/index.html"
));

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/playground/{name}", web::get().to(asset));
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|asset| asset.name == name.as_str()) {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            // Vendored files change only with a new blogql build; an hour keeps reloads fast.
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(asset.body),
        None => HttpResponse::NotFound().finish(),
    }
}
