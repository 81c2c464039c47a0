//! Logging through `tracing`: one subscriber, installed once, filtered by `--log`.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{layer::SubscriberExt, EnvFilter};

/// A subscriber that writes human-readable lines to `sink`, filtered by `filter`
/// (EnvFilter syntax; an invalid filter falls back to `info`).
pub fn get_subscriber<Sink>(filter: &str, sink: Sink) -> impl Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry().with(filter).with(
        tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(sink),
    )
}

/// Installs the subscriber for the whole process, once; `log` records (sqlx's) are routed into
/// it too. A second call keeps the first subscriber, which is what tests want.
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync + 'static) {
    if subscriber.try_init().is_err() {
        tracing::debug!("a tracing subscriber was already installed; keeping it");
    }
}
