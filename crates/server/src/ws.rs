//! The WebSocket gateway ChatJS and the mobile SDKs connect to.
//!
//! A socket is opened with the short-lived token from CreateParticipantConnection's URL. It then
//! answers `aws/subscribe`, `aws/heartbeat` and `aws/ping`, and pushes the contact's new items as
//! `aws/chat` frames. Items are read from the store after the bus says the log grew, so every
//! socket sends every item exactly once and in sequence order.

use crate::error::ApiError;
use crate::state::{AppState, client_base};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use liaison_core::content::{EVENT_CHAT_ENDED, EVENT_PARTICIPANT_LEFT};
use liaison_core::{ChatItem, ParticipantRole, TokenKind, hash_token};
use liaison_wire::ParticipantError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

/// Where sockets are opened.
pub const PATH: &str = "/participant/websocket";
/// How long a WebSocket URL may be used to open a socket (the service documents 100 s).
pub const URL_LIFETIME_MS: i64 = 100_000;
/// Sockets one participant may hold open at once.
pub const MAX_SOCKETS_PER_PARTICIPANT: usize = 5;
/// Clients only send small control frames.
const MAX_INBOUND_MESSAGE: usize = 16 * 1024;
/// Chat traffic is a few small frames a minute, so small buffers keep idle sockets cheap.
const SOCKET_BUFFER: usize = 4 * 1024;
/// Items read from the store per catch-up query.
const CATCH_UP_BATCH: u32 = 100;

/// Open sockets per participant.
#[derive(Default)]
pub struct SocketRegistry {
    open: Mutex<HashMap<String, usize>>,
}

impl SocketRegistry {
    fn try_open(&self, participant_id: &str) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(participant_id.to_string()).or_default();
        if *count >= MAX_SOCKETS_PER_PARTICIPANT {
            return false;
        }
        *count += 1;
        true
    }

    fn close(&self, participant_id: &str) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(participant_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(participant_id);
            }
        }
    }
}

/// A WebSocket URL on the clients' base URL ([`client_base`]): ChatJS only accepts `wss://…`
/// or `ws://127.0.0.1:…`.
pub fn socket_url(public_url: Option<&str>, host: Option<&str>, token: &str) -> String {
    let base = client_base(public_url, host)
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    format!("{base}{PATH}?token={token}")
}

#[derive(Deserialize)]
pub struct SocketQuery {
    token: Option<String>,
}

struct Subscriber {
    participant_id: String,
    /// Items meant for another role only (whisper messages) are skipped.
    role: ParticipantRole,
    contact_id: String,
    initial_contact_id: String,
    /// The log position the socket starts after.
    start_after: i64,
}

fn forbidden(message: &str) -> Response {
    ApiError::from(ParticipantError::AccessDenied(message.to_string())).into_response()
}

/// `GET /participant/websocket?token=…` — upgrades to the chat stream.
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<SocketQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return ApiError::from(ParticipantError::Validation(format!(
                "This URL only accepts WebSocket connections: {rejection}"
            )))
            .into_response();
        }
    };
    let Some(token) = query.token else {
        return forbidden("The WebSocket URL has no token.");
    };
    let holder = match state.store.token_holder(&hash_token(&token)).await {
        Ok(Some(holder)) if holder.token.kind == TokenKind::WebSocket => holder,
        Ok(_) => return forbidden("The WebSocket URL is not valid."),
        Err(error) => {
            return ApiError::internal(liaison_wire::Api::Participant, &error).into_response();
        }
    };
    let (record, contact) = (holder.token, holder.contact);
    if record
        .expires_ms
        .is_some_and(|expiry| expiry <= state.clock.now_ms())
    {
        return forbidden("The WebSocket URL has expired; call CreateParticipantConnection again.");
    }
    if !contact.is_open() {
        return forbidden("The chat has ended.");
    }
    if holder.participant.has_left() {
        return forbidden("The participant has left the chat.");
    }
    let Some(slot) = SocketSlot::take(&state, &record.participant_id) else {
        return ApiError::from(ParticipantError::Throttling(format!(
            "A participant may hold at most {MAX_SOCKETS_PER_PARTICIPANT} open sockets."
        )))
        .into_response();
    };
    let subscriber = Subscriber {
        participant_id: record.participant_id,
        role: holder.participant.role,
        contact_id: contact.id,
        initial_contact_id: contact.initial_contact_id,
        // The socket carries what is written after the handshake was asked for.
        start_after: contact.last_seq,
    };
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_INBOUND_MESSAGE)
        .max_frame_size(MAX_INBOUND_MESSAGE)
        .on_upgrade(move |socket| async move {
            state.metrics.open_sockets.fetch_add(1, Ordering::Relaxed);
            run_socket(&state, socket, subscriber).await;
            state.metrics.open_sockets.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        })
}

/// One of a participant's socket places, given back when dropped: also when the handshake
/// fails and the upgrade callback never runs.
struct SocketSlot {
    state: AppState,
    participant_id: String,
}

impl SocketSlot {
    fn take(state: &AppState, participant_id: &str) -> Option<Self> {
        state.sockets.try_open(participant_id).then(|| SocketSlot {
            state: state.clone(),
            participant_id: participant_id.to_string(),
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.state.sockets.close(&self.participant_id);
    }
}

/// Whether a subscribe reply covers the chat topic.
fn subscribes_to_chat(reply: &Value) -> bool {
    reply["topic"] == "aws/subscribe"
        && reply
            .pointer("/content/topics")
            .and_then(Value::as_array)
            .is_some_and(|topics| topics.iter().any(|t| t == "aws/chat"))
}

/// The reply to a client control frame, if it warrants one (the load generator's baseline
/// relay answers with it too).
pub fn control_reply(frame: &str) -> Option<Value> {
    let frame: Value = serde_json::from_str(frame).ok()?;
    match frame.get("topic")?.as_str()? {
        "aws/subscribe" => {
            let topics = frame
                .pointer("/content/topics")
                .cloned()
                .unwrap_or_else(|| json!([]));
            Some(
                json!({"topic": "aws/subscribe", "content": {"status": "success", "topics": topics}}),
            )
        }
        "aws/heartbeat" => Some(json!({"topic": "aws/heartbeat"})),
        "aws/ping" => Some(json!({"topic": "aws/ping", "statusCode": 200, "statusContent": "OK"})),
        _ => None,
    }
}

fn chat_frame(item: &ChatItem, initial_contact_id: &str) -> Utf8Bytes {
    let content = item.to_wire(Some(initial_contact_id)).to_string();
    json!({"topic": "aws/chat", "contentType": "application/json", "content": content})
        .to_string()
        .into()
}

/// Whether the socket has nothing more to carry after this item.
fn ends_stream(item: &ChatItem, participant_id: &str) -> bool {
    let content_type = item.item.content_type.as_deref();
    content_type == Some(EVENT_CHAT_ENDED)
        || (content_type == Some(EVENT_PARTICIPANT_LEFT)
            && item.item.participant_id.as_deref() == Some(participant_id))
}

async fn run_socket(state: &AppState, mut socket: WebSocket, subscriber: Subscriber) {
    let mut log_grew = state.bus.subscribe(&subscriber.contact_id);
    // Items may have been written since the handshake: look once the client subscribes.
    log_grew.mark_changed();
    let mut sent_through = subscriber.start_after;
    // Items wait for the client's `aws/subscribe` to `aws/chat`, as the service does; what
    // was written meanwhile follows it, since the position was taken at connection.
    let mut subscribed = false;
    loop {
        tokio::select! {
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = control_reply(text.as_str()) {
                        if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                            return;
                        }
                        subscribed |= subscribes_to_chat(&reply);
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            changed = log_grew.changed(), if subscribed => {
                if changed.is_err() {
                    return;
                }
                loop {
                    let items = match state.bus.recent_after(&subscriber.contact_id, sent_through) {
                        Some(items) => Ok(items),
                        None => state.store.items_after(&subscriber.contact_id, sent_through, CATCH_UP_BATCH).await,
                    };
                    let items = match items {
                        Ok(items) => items,
                        Err(error) => {
                            tracing::error!(%error, "socket could not read the chat log; closing it so the client reconnects");
                            return;
                        }
                    };
                    let full_batch = items.len() as u32 == CATCH_UP_BATCH;
                    let mut finished = false;
                    for item in &items {
                        if !item.item.is_visible_to(subscriber.role) {
                            sent_through = item.seq;
                            continue;
                        }
                        if socket.send(Message::Text(chat_frame(item, &subscriber.initial_contact_id))).await.is_err() {
                            return;
                        }
                        sent_through = item.seq;
                        finished |= ends_stream(item, &subscriber.participant_id);
                    }
                    // Close only after the whole batch: a customer's `participant.left` is
                    // written together with the `chat.ended` ChatJS waits for.
                    if finished {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    // Stop when nothing came, or when everything this node has heard of is sent
                    // and the store had no more: memory may end before a remote node's items.
                    let heard_of = *log_grew.borrow();
                    if items.is_empty() || (sent_through >= heard_of && !full_batch) {
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_urls_satisfy_chatjs() {
        assert_eq!(
            socket_url(None, Some("localhost:8080"), "t"),
            "ws://127.0.0.1:8080/participant/websocket?token=t"
        );
        assert_eq!(
            socket_url(None, Some("127.0.0.1:9"), "t"),
            "ws://127.0.0.1:9/participant/websocket?token=t"
        );
        assert_eq!(
            socket_url(Some("https://chat.example.com/"), Some("ignored"), "t"),
            "wss://chat.example.com/participant/websocket?token=t"
        );
    }

    #[test]
    fn control_frames_get_the_replies_chatjs_waits_for() {
        assert_eq!(
            control_reply(r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#),
            Some(
                json!({"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}})
            )
        );
        assert_eq!(
            control_reply(r#"{"topic":"aws/heartbeat"}"#),
            Some(json!({"topic":"aws/heartbeat"}))
        );
        assert_eq!(
            control_reply(r#"{"topic":"aws/ping"}"#).unwrap()["statusCode"],
            200
        );
        assert_eq!(control_reply("not json"), None);
        assert_eq!(control_reply(r#"{"topic":"aws/other"}"#), None);
    }
}
