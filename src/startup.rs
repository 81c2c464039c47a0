//! Wiring: the one place that puts settings, database, schema and HTTP server together.
//! `main` and the tests both come through here.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::accounts::Accounts;
use crate::config::Settings;
use crate::db::reads::{Reads, StatementHook};
use crate::events::{self, Bus};
use crate::graphql::Api;
use crate::http::metrics::Metrics;
use crate::http::websocket::Sockets;
use crate::{db, http};

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Application {
    port: u16,
    server: Server,
    db: DatabaseConnection,
    sockets: Arc<Sockets>,
    bus: Bus,
    /// The PostgreSQL event listener: it holds a pooled connection, so it ends before the
    /// pool is closed (closing waits for every connection to come back).
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Connects to the configured database, migrates it, and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let mut db = db::connect(&settings.database).await?;
        db::migrate(&db).await?;
        let metrics = Arc::new(Metrics::default());
        let counter = metrics.clone();
        let statements: StatementHook = Arc::new(move |_| counter.count_statement());
        // Before the connection is cloned: every clone shares the callback.
        let counted = statements.clone();
        db.set_metric_callback(move |info| counted(info));
        Self::build_with_metrics(settings, db, Some(statements), metrics)
    }

    /// Binds the listener (port 0 picks a free one) and builds the server on `db`, which the
    /// caller has set up (tests count its statements themselves: SeaORM tells `db`'s metric
    /// callback of its statements, `statements` is told of the reads run outside SeaORM, see
    /// `db::reads`).
    pub fn build_with_db(
        settings: &Settings,
        db: DatabaseConnection,
        statements: Option<StatementHook>,
    ) -> anyhow::Result<Self> {
        Self::build_with_metrics(settings, db, statements, Arc::new(Metrics::default()))
    }

    fn build_with_metrics(
        settings: &Settings,
        db: DatabaseConnection,
        statements: Option<StatementHook>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        // Built once, outside the per-worker closure: every worker shares it.
        let accounts =
            Arc::new(Accounts::new(settings.session_ttl).map_err(|err| anyhow::anyhow!("{err}"))?);
        let bus = Bus::new(db.get_database_backend(), settings.live.subscription_buffer);
        // One LISTEN connection for the whole instance, whatever the subscribers.
        let event_listener = bus.crosses_instances().then(|| {
            let pool = db.get_postgres_connection_pool().clone();
            tokio::spawn(events::listen::run(pool, bus.clone()))
        });
        let workers = settings.worker_threads();
        let reads = Reads::new(
            db.clone(),
            workers,
            settings.database.acquire_timeout,
            statements,
        );
        let api = web::Data::new(Api::new(reads, settings, accounts.clone(), bus.clone()));
        let sockets = Arc::new(Sockets::new(&settings.live));
        let accounts = web::Data::from(accounts);
        let db_for_close = db.clone();
        let sockets_for_close = sockets.clone();
        let db = web::Data::new(db);
        let metrics = web::Data::from(metrics);
        let exposure = settings.exposure.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(http::cors(&exposure.cors_origins))
                .wrap(Compress::default())
                // Path only: a GET's query string carries variables (emails, say).
                .wrap(http::access_log::AccessLog)
                .app_data(api.clone())
                .app_data(db.clone())
                .app_data(metrics.clone())
                .app_data(accounts.clone())
                .app_data(web::Data::from(sockets.clone()))
                .configure(|cfg| http::routes(cfg, &exposure))
        })
        // actix stops at once on SIGINT; Ctrl-C should be as graceful as SIGTERM, so we listen
        // ourselves (`stop_on_shutdown_signals`).
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
        .workers(workers);
        let server = server.listen(listener)?.run();
        Ok(Application {
            port,
            server,
            db: db_for_close,
            sockets: sockets_for_close,
            bus,
            listener: event_listener,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The WebSocket connections, to close them all (tests shut down as the binary does).
    pub fn sockets(&self) -> Arc<Sockets> {
        self.sockets.clone()
    }

    /// The event bus of this instance (tests deliver events straight to it).
    pub fn bus(&self) -> Bus {
        self.bus.clone()
    }

    /// A handle to stop the server from elsewhere (tests stop theirs when they end).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Stops the server gracefully on SIGTERM or SIGINT. Only the binary asks for this: a
    /// process that listens for SIGINT no longer dies of Ctrl-C, which tests should.
    pub fn stop_on_shutdown_signals(&self) {
        let handle = self.server.handle();
        let sockets = self.sockets.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: closing WebSockets, finishing in-flight requests");
            sockets.close_all();
            handle.stop(true).await;
        });
    }

    /// Serves until stopped (see `handle` and `stop_on_shutdown_signals`), lets in-flight
    /// requests finish (up to `SHUTDOWN_TIMEOUT`), then closes the database pool, so that
    /// SQLite checkpoints its WAL and server connections end cleanly.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(listener) = self.listener {
            listener.abort();
            // Cancelled: its connection goes back to the pool.
            let _ = listener.await;
        }
        if let Err(err) = self.db.close().await {
            tracing::warn!(error = %err, "closing the database pool");
        }
        served
    }
}

/// SIGTERM (how service managers stop us) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C still works");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
