//! Wiring: the one place that puts settings, database, schema and HTTP server together.
//! `main` and the tests both come through here.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Compress, Logger};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::graphql::build_schema;
use crate::{db, http};

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects to the configured database, migrates it, and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = db::connect(&settings.database).await?;
        db::migrate(&db).await?;
        Self::build_with_db(settings, db)
    }

    /// Binds the listener (port 0 picks a free one) and builds the server on `db`.
    pub fn build_with_db(settings: &Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        // Built once, outside the per-worker closure: every worker shares it.
        let schema = web::Data::new(build_schema(db.clone(), settings));
        let db = web::Data::new(db);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(Compress::default())
                .wrap(Logger::new(r#"%a "%r" %s %b %Dms"#))
                .app_data(schema.clone())
                .app_data(db.clone())
                .configure(http::routes)
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs());
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server from elsewhere (tests stop theirs when they end).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
