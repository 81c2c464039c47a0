//! Live updates: what a write announces (an `Event`: ids, never rows) and how it reaches the
//! subscribers of every instance.
//!
//! On PostgreSQL a write announces with `NOTIFY` inside its own transaction, so only committed
//! writes are heard (PostgreSQL delivers notifications on commit and drops them on rollback),
//! and each instance hears every instance's writes through one `LISTEN` connection (`listen`).
//! On SQLite and MariaDB there is no such channel: the announcement goes to this process's
//! subscribers after the commit, so there events reach one instance only.
//!
//! Inside a process, events fan out through a `tokio::sync::broadcast` channel whose capacity
//! is each subscriber's buffer: a subscriber that falls further behind is told it lagged, and
//! is disconnected rather than buffered without bound.

pub mod listen;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::error::AppResult;

/// The PostgreSQL channel events travel on.
pub const CHANNEL: &str = "blogql_events";

/// Something a committed write changed, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Event {
    PostCreated { post_id: i32, author_id: i32 },
    PostUpdated { post_id: i32, author_id: i32 },
    PostDeleted { post_id: i32, author_id: i32 },
    Followed { follower_id: i32, followee_id: i32 },
}

/// How events leave the writing transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FanOut {
    /// `NOTIFY` in the transaction; every instance's listener delivers it.
    Notify,
    /// To this process's subscribers, after the commit.
    InProcess,
}

/// This process's event bus.
#[derive(Debug, Clone)]
pub struct Bus {
    sender: broadcast::Sender<Event>,
    fan_out: FanOut,
}

impl Bus {
    /// A bus for a server on `backend`; `buffer` is how many events a subscriber may fall
    /// behind before it is cut off.
    pub fn new(backend: DbBackend, buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer.max(1));
        let fan_out = if backend == DbBackend::Postgres {
            FanOut::Notify
        } else {
            FanOut::InProcess
        };
        Bus { sender, fan_out }
    }

    /// Whether events travel through PostgreSQL (and so reach every instance).
    pub fn crosses_instances(&self) -> bool {
        self.fan_out == FanOut::Notify
    }

    /// A new subscriber's receiver: the events delivered from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    /// Announces `events` inside the writing transaction `txn`: on PostgreSQL, one `NOTIFY`
    /// each, heard only if the transaction commits; elsewhere nothing yet (see `committed`).
    pub async fn announce_in(&self, txn: &impl ConnectionTrait, events: &[Event]) -> AppResult<()> {
        if self.fan_out != FanOut::Notify {
            return Ok(());
        }
        for event in events {
            let payload = serde_json::to_string(event)
                .map_err(|err| crate::error::AppError::Internal(err.to_string()))?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// After the commit: delivers `events` to this process's subscribers (SQLite, MariaDB; on
    /// PostgreSQL the listener does).
    pub fn committed(&self, events: &[Event]) {
        if self.fan_out == FanOut::InProcess {
            for event in events {
                self.deliver(*event);
            }
        }
    }

    /// Hands `event` to every subscriber of this process.
    pub fn deliver(&self, event: Event) {
        // No subscriber is not an error: nobody is listening.
        let _ = self.sender.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_as_ids_in_camel_case() {
        let event = Event::PostCreated {
            post_id: 7,
            author_id: 3,
        };
        let text = serde_json::to_string(&event).expect("serialise");
        assert_eq!(text, r#"{"event":"postCreated","postId":7,"authorId":3}"#);
        assert_eq!(
            serde_json::from_str::<Event>(&text).expect("deserialise"),
            event
        );
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_its_buffer_is_told_it_lagged() {
        let bus = Bus::new(DbBackend::Sqlite, 2);
        let mut slow = bus.subscribe();
        let events: Vec<Event> = (1..=3)
            .map(|id| Event::PostDeleted {
                post_id: id,
                author_id: 1,
            })
            .collect();
        bus.committed(&events);
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(1))
        ));
    }
}
