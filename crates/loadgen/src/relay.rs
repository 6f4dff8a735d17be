//! The baseline: a bare in-memory chat relay with the routes and shapes the load uses.
//!
//! StartChatContact and CreateParticipantConnection hand out ids and a WebSocket URL,
//! SendMessage builds the same `aws/chat` item Liaison sends and pushes it to the chat's open
//! sockets through in-memory channels, then answers 200. Nothing is stored and nothing is
//! authenticated (signatures and bearer tokens are ignored; a token is simply the contact id).
//! Sockets use the same 4 KiB buffers as Liaison's gateway so the memory comparison is about
//! the rest of the server.

use axum::Router;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

const SOCKET_BUFFER: usize = 4 * 1024;
const MAX_INBOUND_MESSAGE: usize = 16 * 1024;
const INSTANCE_ID: &str = "00000000-0000-4000-8000-000000000001";
const FLOW_ID: &str = "00000000-0000-4000-8000-000000000002";

struct Chat {
    participant_id: String,
    sockets: Mutex<Vec<(u64, mpsc::UnboundedSender<Utf8Bytes>)>>,
}

#[derive(Default)]
struct Relay {
    chats: RwLock<HashMap<String, Arc<Chat>>>,
    next_socket: AtomicU64,
}

type Shared = Arc<Relay>;

/// Runs the relay on `listen` until the process is killed; prints `Relay listening on http://ADDR`.
pub fn run(listen: &str) -> std::io::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!("Relay listening on http://{}", listener.local_addr()?);
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/health", get(|| async { "ok" }))
            .route("/instance", get(list_instances))
            .route("/contact-flows-summary/{instance}", get(list_flows))
            .route("/contact/chat", put(start_chat))
            .route("/participant/connection", post(create_connection))
            .route("/participant/message", post(send_message))
            .route("/participant/websocket", get(upgrade))
            .with_state(state);
        axum::serve(listener, app).await
    })
}

fn iso_now() -> String {
    iso_in(time::Duration::ZERO)
}

fn iso_in(offset: time::Duration) -> String {
    let now = OffsetDateTime::now_utc() + offset;
    let now = now
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now);
    now.format(&Rfc3339).unwrap_or_default()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"__type": code, "Message": message, "message": message})),
    )
        .into_response()
}

async fn list_instances() -> Response {
    axum::Json(json!({"InstanceSummaryList": [{"Id": INSTANCE_ID, "InstanceAlias": "relay"}]}))
        .into_response()
}

async fn list_flows(Path(_instance): Path<String>) -> Response {
    axum::Json(json!({"ContactFlowSummaryList": [{"Id": FLOW_ID, "Name": "relay"}]}))
        .into_response()
}

async fn start_chat(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    if serde_json::from_slice::<Value>(&body).is_err() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "body is not JSON",
        );
    }
    let contact_id = uuid::Uuid::new_v4().to_string();
    let participant_id = uuid::Uuid::new_v4().to_string();
    state
        .chats
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            contact_id.clone(),
            Arc::new(Chat {
                participant_id: participant_id.clone(),
                sockets: Mutex::new(Vec::new()),
            }),
        );
    axum::Json(json!({
        "ContactId": contact_id,
        "ParticipantId": participant_id,
        "ParticipantToken": contact_id,
    }))
    .into_response()
}

fn chat_of(state: &Relay, token: Option<&str>) -> Option<(String, Arc<Chat>)> {
    let token = token?;
    let chats = state.chats.read().unwrap_or_else(|p| p.into_inner());
    chats
        .get(token)
        .map(|chat| (token.to_string(), chat.clone()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-amz-bearer").and_then(|v| v.to_str().ok())
}

async fn create_connection(
    State(state): State<Shared>,
    headers: HeaderMap,
    _body: axum::body::Bytes,
) -> Response {
    let Some((contact_id, _)) = chat_of(&state, bearer(&headers)) else {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "unknown chat",
        );
    };
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let expiry = iso_in(time::Duration::days(1));
    axum::Json(json!({
        "Websocket": {
            "Url": format!("ws://{host}/participant/websocket?token={contact_id}"),
            "ConnectionExpiry": expiry,
        },
        "ConnectionCredentials": {"ConnectionToken": contact_id, "Expiry": expiry},
    }))
    .into_response()
}

async fn send_message(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some((contact_id, chat)) = chat_of(&state, bearer(&headers)) else {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "unknown chat",
        );
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "body is not JSON",
        );
    };
    let id = uuid::Uuid::new_v4().to_string();
    let absolute_time = iso_now();
    let item = json!({
        "AbsoluteTime": absolute_time,
        "Content": request.get("Content").cloned().unwrap_or(Value::Null),
        "ContentType": request.get("ContentType").cloned().unwrap_or(Value::Null),
        "Id": id,
        "Type": "MESSAGE",
        "ParticipantId": chat.participant_id,
        "DisplayName": "Customer",
        "ParticipantRole": "CUSTOMER",
        "InitialContactId": contact_id,
        "ContactId": contact_id,
    });
    let frame: Utf8Bytes = json!({
        "topic": "aws/chat",
        "contentType": "application/json",
        "content": item.to_string(),
    })
    .to_string()
    .into();
    for (_, socket) in chat
        .sockets
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let _ = socket.send(frame.clone());
    }
    axum::Json(json!({"Id": id, "AbsoluteTime": absolute_time})).into_response()
}

async fn upgrade(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some((_, chat)) = chat_of(&state, query.get("token").map(String::as_str)) else {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "unknown chat",
        );
    };
    let (sender, receiver) = mpsc::unbounded_channel();
    let socket_id = state.next_socket.fetch_add(1, Ordering::Relaxed);
    chat.sockets
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((socket_id, sender));
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_INBOUND_MESSAGE)
        .max_frame_size(MAX_INBOUND_MESSAGE)
        .on_upgrade(move |socket| async move {
            run_socket(socket, receiver).await;
            chat.sockets
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|(id, _)| *id != socket_id);
        })
}

async fn run_socket(mut socket: WebSocket, mut frames: mpsc::UnboundedReceiver<Utf8Bytes>) {
    loop {
        tokio::select! {
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = liaison_server::ws::control_reply(text.as_str())
                        && socket.send(Message::Text(reply.to_string().into())).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            item = frames.recv() => match item {
                Some(frame) => {
                    if socket.send(Message::Text(frame)).await.is_err() {
                        return;
                    }
                }
                None => return,
            }
        }
    }
}
