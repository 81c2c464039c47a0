//! Subscriptions over WebSocket on `GET /graphql` (with `Upgrade: websocket`), speaking
//! `graphql-transport-ws` (the graphql-ws library's protocol) or the legacy `graphql-ws`
//! (subscriptions-transport-ws, older Apollo clients), as the client's
//! `Sec-WebSocket-Protocol` asks. async-graphql speaks the protocols; this module holds the
//! socket: who the connection is (the token in `connection_init`), and its limits.
//!
//! Close codes: 4403 for a bad token in `connection_init`; 4408 when `connection_init` does not
//! come within `--ws-init-timeout`; 1013 for a subscriber too far behind (`SLOW_CONSUMER`);
//! 1001 when the server shuts down. Past `--max-ws-connections` an upgrade is refused with 503.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use async_graphql::http::{WebSocket, WebSocketProtocols as Protocols, WsMessage};
use async_graphql::Data;
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::accounts;
use crate::config::LiveSettings;
use crate::graphql::live::LiveExecutor;
use crate::graphql::subscription::ConnectionState;
use crate::graphql::Api;
use crate::http::protocol::HttpError;
use crate::http::{error_response, ResponseType};

/// Close code for a refused `connection_init` (graphql-transport-ws: Forbidden).
const FORBIDDEN_CLOSE: u16 = 4403;
/// Close code for a `connection_init` that did not come in time (graphql-transport-ws).
const INIT_TIMEOUT_CLOSE: u16 = 4408;

/// The WebSocket connections of this instance: how many there may be, and the switch that
/// closes them all when the server shuts down.
pub struct Sockets {
    slots: Arc<Semaphore>,
    shutdown: watch::Sender<bool>,
    settings: LiveSettings,
}

impl Sockets {
    pub fn new(settings: &LiveSettings) -> Self {
        Sockets {
            slots: Arc::new(Semaphore::new(settings.max_ws_connections)),
            shutdown: watch::channel(false).0,
            settings: settings.clone(),
        }
    }

    /// Closes every connection (1001, going away): for a graceful shutdown.
    pub fn close_all(&self) {
        self.shutdown.send_replace(true);
    }
}

/// `GET /graphql` with `Upgrade: websocket`.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    api: web::Data<Api>,
    sockets: web::Data<Sockets>,
) -> HttpResponse {
    let Some(protocol) = subprotocol(&req) else {
        let err = HttpError {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            message: "a GraphQL WebSocket needs Sec-WebSocket-Protocol: graphql-transport-ws (or the legacy graphql-ws)".into(),
        };
        return error_response(&err, ResponseType::Json);
    };
    let Ok(permit) = Arc::clone(&sockets.slots).try_acquire_owned() else {
        let err = HttpError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "SERVICE_UNAVAILABLE",
            message: format!(
                "this instance holds its most WebSocket connections ({}, --max-ws-connections): try again later",
                sockets.settings.max_ws_connections
            ),
        };
        return error_response(&err, ResponseType::Json);
    };
    let (mut response, session, messages) = match actix_ws::handle(&req, body) {
        Ok(handled) => handled,
        Err(err) => return HttpResponse::from_error(err),
    };
    response.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );
    let connection = Connection {
        executor: api.live(),
        db: api.db().clone(),
        settings: sockets.settings.clone(),
        shutdown: sockets.shutdown.subscribe(),
        _permit: permit,
    };
    actix_web::rt::spawn(connection.serve(session, messages, protocol));
    response
}

/// The first subprotocol of the client's list that we speak.
fn subprotocol(req: &HttpRequest) -> Option<Protocols> {
    req.headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|name| name.trim().parse().ok())
}

/// One open socket.
struct Connection {
    executor: LiveExecutor,
    db: DatabaseConnection,
    settings: LiveSettings,
    shutdown: watch::Receiver<bool>,
    /// Held while the connection lives: its place under `--max-ws-connections`.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(mut self, mut session: Session, messages: MessageStream, protocol: Protocols) {
        let state = ConnectionState::new(self.settings.max_subscriptions);
        let mut closing = state.closing();
        let mut data = Data::default();
        data.insert(Arc::clone(&state));
        let refused = Arc::new(AtomicBool::new(false));

        let pong = session.clone();
        let incoming = messages
            .take_while(|message| {
                std::future::ready(!matches!(message, Ok(Message::Close(_)) | Err(_)))
            })
            .filter_map(move |message| {
                let mut pong = pong.clone();
                async move {
                    match message {
                        Ok(Message::Text(text)) => Some(text.to_string().into_bytes()),
                        Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                        Ok(Message::Ping(bytes)) => {
                            let _ = pong.pong(&bytes).await;
                            None
                        }
                        _ => None,
                    }
                }
            });
        let db = self.db.clone();
        let refusal = Arc::clone(&refused);
        let mut socket = WebSocket::new(self.executor.clone(), Box::pin(incoming), protocol)
            .connection_data(data)
            .on_connection_init(move |payload| async move {
                connection_init(&db, payload).await.inspect_err(|_| {
                    refusal.store(true, Ordering::SeqCst);
                })
            });

        let init_deadline = tokio::time::sleep(self.settings.ws_init_timeout);
        tokio::pin!(init_deadline);
        let mut acknowledged = false;
        let mut keepalive = tokio::time::interval(self.settings.ws_keepalive);
        keepalive.tick().await;
        let close = loop {
            tokio::select! {
                outgoing = socket.next() => match outgoing {
                    Some(WsMessage::Text(text)) => {
                        acknowledged |= text.contains("\"connection_ack\"");
                        if session.text(text).await.is_err() {
                            return;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => {
                        let code = if refused.load(Ordering::SeqCst) { FORBIDDEN_CLOSE } else { code };
                        break Some(close_with(code, reason));
                    }
                    None => break Some(CloseReason::from(CloseCode::Normal)),
                },
                () = &mut init_deadline, if !acknowledged => {
                    break Some(close_with(INIT_TIMEOUT_CLOSE, "Connection initialisation timeout".into()));
                }
                _ = keepalive.tick() => {
                    if session.ping(b"").await.is_err() {
                        return;
                    }
                }
                Ok(()) = closing.changed() => {
                    let asked = closing.borrow().clone();
                    if let Some(asked) = asked {
                        break Some(close_with(asked.code, asked.reason));
                    }
                }
                Ok(()) = self.shutdown.changed() => {
                    break Some(close_with(1001, "the server is shutting down".into()));
                }
            }
        };
        let _ = session.close(close).await;
    }
}

fn close_with(code: u16, reason: String) -> CloseReason {
    CloseReason {
        code: CloseCode::from(code),
        description: Some(reason),
    }
}

/// Who the connection is: the bearer token of `connection_init`'s payload
/// (`{"Authorization": "Bearer <token>"}`, as the headers editor writes it, or
/// `{"token": "<token>"}`), or nobody (public events only). A token that is not valid refuses
/// the connection.
async fn connection_init(db: &DatabaseConnection, payload: Value) -> async_graphql::Result<Data> {
    let mut data = Data::default();
    let Some(token) = token_of(&payload) else {
        return Ok(data);
    };
    let viewer = accounts::authenticate(db, &token)
        .await
        .map_err(|err| async_graphql::Error::new(err.to_string()))?;
    data.insert(viewer);
    Ok(data)
}

fn token_of(payload: &Value) -> Option<String> {
    let object = payload.as_object()?;
    if let Some(token) = object.get("token").and_then(Value::as_str) {
        return Some(token.to_string());
    }
    let header = object
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())?;
    Some(match header.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_string(),
        // Anything else is no token we issued: refused as malformed.
        _ => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_token_comes_from_either_payload_shape() {
        let cases = [
            (json!({ "Authorization": "Bearer abc" }), Some("abc")),
            (json!({ "authorization": "bearer abc" }), Some("abc")),
            (json!({ "token": "abc" }), Some("abc")),
            (json!({ "Authorization": "Basic abc" }), Some("")),
            (json!({}), None),
            (json!(null), None),
        ];
        for (payload, expected) in cases {
            assert_eq!(token_of(&payload).as_deref(), expected, "{payload}");
        }
    }
}
