//! The `LISTEN` side on PostgreSQL: one connection per instance, whatever the number of
//! subscribers, that hands every notification on `CHANNEL` to the bus. sqlx's `PgListener`
//! reconnects by itself when the connection is lost (a database restart, say) and listens again;
//! a failure to reconnect is logged and retried after a pause, never given up.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::sqlx::PgPool;

use super::{Bus, Event, CHANNEL};

/// Pause before trying again after the listener failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Listens on `CHANNEL` through a connection of `pool` until the process ends.
pub async fn run(pool: PgPool, bus: Bus) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(err) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %err, "cannot LISTEN for events; retrying");
                } else {
                    tracing::info!(channel = CHANNEL, "listening for events");
                    hear(&mut listener, &bus).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot connect the event listener; retrying"),
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

/// Delivers what `listener` hears until it fails for good.
async fn hear(listener: &mut PgListener, bus: &Bus) {
    loop {
        match listener.recv().await {
            Ok(notification) => match serde_json::from_str::<Event>(notification.payload()) {
                Ok(event) => bus.deliver(event),
                Err(err) => tracing::warn!(error = %err, "an event that does not parse; ignored"),
            },
            Err(err) => {
                // `recv` reconnects on its next call after a lost connection; an error here is
                // one reconnection that failed (the database still down): pause, then go on.
                tracing::warn!(error = %err, "the event listener lost its connection; reconnecting");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}
