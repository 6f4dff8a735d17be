//! The client side of the load: Connect API calls signed with SigV4, participant calls with
//! `X-Amz-Bearer`, and WebSocket subscribers that count `aws/chat` frames and time the ones
//! the latency phase is waiting for.

use futures_util::{SinkExt, StreamExt};
use liaison_server::sigv4::{self, SigningKey};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Every HTTP call gives up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Opening a socket and getting its subscription acknowledged gives up after this long.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(20);
/// WebSocket URLs live 100 s on Liaison; ask for a new one when ours is older than this.
pub const URL_REUSE_LIMIT: Duration = Duration::from_secs(80);
const SUBSCRIBE: &str = r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#;

/// The admin keys the servers are started with and the client signs with.
pub const ACCESS_KEY_ID: &str = "AKIALOADGEN000000001";
pub const SECRET_ACCESS_KEY: &str = "loadgen/secret/access/key/0000000000000";

/// A chat the load drives: its customer's tokens and the latest socket URL.
pub struct Chat {
    pub participant_token: String,
    pub connection_token: String,
    pub ws_url: String,
    pub url_issued: Instant,
}

/// One server's API as the load uses it.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    host: String,
    instance_id: String,
    flow_id: String,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Api {
    /// Finds the server's instance and chat flow (the first of each).
    pub async fn discover(addr: SocketAddr) -> Result<Api, String> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        let mut api = Api {
            http,
            base: format!("http://{addr}"),
            host: addr.to_string(),
            instance_id: String::new(),
            flow_id: String::new(),
        };
        let instances = api.connect_call("GET", "/instance", None).await?;
        api.instance_id = instances
            .pointer("/InstanceSummaryList/0/Id")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("ListInstances returned no instance: {instances}"))?
            .to_string();
        let flows = api
            .connect_call(
                "GET",
                &format!("/contact-flows-summary/{}", api.instance_id),
                None,
            )
            .await?;
        api.flow_id = flows
            .pointer("/ContactFlowSummaryList/0/Id")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("ListContactFlows returned no flow: {flows}"))?
            .to_string();
        Ok(api)
    }

    /// A Connect API call signed with SigV4 as the AWS SDKs sign it.
    async fn connect_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut headers = HeaderMap::new();
        let host = HeaderValue::from_str(&self.host).map_err(|e| e.to_string())?;
        headers.insert("host", host);
        if !body.is_empty() {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        let key = SigningKey {
            access_key_id: ACCESS_KEY_ID,
            secret_access_key: SECRET_ACCESS_KEY,
            region: "us-east-1",
            service: "connect",
        };
        sigv4::sign(
            method,
            path,
            None,
            &mut headers,
            body.as_bytes(),
            &key,
            unix_now(),
        )
        .map_err(|e| format!("signing failed: {}", e.message()))?;
        // reqwest writes the same Host itself.
        headers.remove("host");
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        read_json(path, response).await
    }

    async fn participant_call(
        &self,
        path: &str,
        token: &str,
        body: String,
    ) -> Result<Value, String> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-amz-bearer", token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        read_json(path, response).await
    }

    /// StartChatContact, then CreateParticipantConnection for the customer.
    pub async fn new_chat(&self) -> Result<Chat, String> {
        let started = self
            .connect_call(
                "PUT",
                "/contact/chat",
                Some(&json!({
                    "InstanceId": self.instance_id,
                    "ContactFlowId": self.flow_id,
                    "ParticipantDetails": {"DisplayName": "Load"},
                })),
            )
            .await?;
        let participant_token = started
            .get("ParticipantToken")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("StartChatContact returned no token: {started}"))?
            .to_string();
        let mut chat = Chat {
            participant_token,
            connection_token: String::new(),
            ws_url: String::new(),
            url_issued: Instant::now(),
        };
        self.reconnect(&mut chat).await?;
        Ok(chat)
    }

    /// CreateParticipantConnection: a fresh socket URL and ConnectionToken for the chat.
    pub async fn reconnect(&self, chat: &mut Chat) -> Result<(), String> {
        let issued = Instant::now();
        let connection = self
            .participant_call(
                "/participant/connection",
                &chat.participant_token,
                r#"{"Type":["WEBSOCKET","CONNECTION_CREDENTIALS"]}"#.to_string(),
            )
            .await?;
        let field = |pointer: &str| {
            connection
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("CreateParticipantConnection lacks {pointer}: {connection}"))
        };
        chat.ws_url = field("/Websocket/Url")?;
        chat.connection_token = field("/ConnectionCredentials/ConnectionToken")?;
        chat.url_issued = issued;
        Ok(())
    }

    /// SendMessage; returns the HTTP status once the whole response has been read.
    pub async fn send_message(&self, connection_token: &str, content: &str) -> Result<u16, String> {
        let body = json!({
            "ContentType": "text/plain",
            "Content": content,
            "ClientToken": uuid::Uuid::new_v4().to_string(),
        })
        .to_string();
        let response = self
            .http
            .post(format!("{}/participant/message", self.base))
            .header("x-amz-bearer", connection_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        response.bytes().await.map_err(|e| e.to_string())?;
        Ok(status)
    }
}

async fn read_json(what: &str, response: reqwest::Response) -> Result<Value, String> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("{what}: reading the body: {e}"))?;
    if !status.is_success() {
        return Err(format!("{what}: HTTP {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{what}: not JSON ({e}): {text}"))
}

/// Send and arrival times of the latency phase's messages, indexed by their marker.
pub struct LatencyBook {
    pub base: Instant,
    /// Nanoseconds after `base` + 1 (0 = not yet); one slot per scheduled message.
    pub sent: Vec<AtomicU64>,
    pub acked: Vec<AtomicU64>,
    pub arrived: Vec<AtomicU64>,
}

impl LatencyBook {
    pub fn new(count: usize) -> Self {
        let slots = || (0..count).map(|_| AtomicU64::new(0)).collect();
        LatencyBook {
            base: Instant::now(),
            sent: slots(),
            acked: slots(),
            arrived: slots(),
        }
    }

    pub fn stamp(&self, slots: &[AtomicU64], index: usize) {
        if let Some(slot) = slots.get(index) {
            let ns = self.base.elapsed().as_nanos() as u64 + 1;
            let _ = slot.compare_exchange(0, ns, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// What every subscriber reports to.
#[derive(Default)]
pub struct Sink {
    /// `aws/chat` frames received on all sockets.
    pub chat_frames: AtomicU64,
    /// Sockets the server closed while the load still wanted them.
    pub closed_by_server: AtomicU64,
    book: RwLock<Option<Arc<LatencyBook>>>,
}

/// Latency markers are message contents `L<index>`.
pub fn latency_marker(index: usize) -> String {
    format!("L{index}")
}

fn marker_of(frame: &str) -> Option<usize> {
    let frame: Value = serde_json::from_str(frame).ok()?;
    let item: Value = serde_json::from_str(frame.get("content")?.as_str()?).ok()?;
    item.get("Content")?
        .as_str()?
        .strip_prefix('L')?
        .parse()
        .ok()
}

impl Sink {
    pub fn set_book(&self, book: Option<Arc<LatencyBook>>) {
        *self.book.write().unwrap_or_else(|p| p.into_inner()) = book;
    }

    fn on_text(&self, text: &str) {
        if !text.contains("\"aws/chat\"") {
            return;
        }
        self.chat_frames.fetch_add(1, Ordering::Relaxed);
        let book = self.book.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(book) = book
            && let Some(index) = marker_of(text)
        {
            book.stamp(&book.arrived, index);
        }
    }
}

/// A group of open sockets that close together.
pub struct Sockets {
    close: watch::Sender<bool>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl Sockets {
    pub fn new() -> Self {
        Sockets {
            close: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }

    /// What a socket of this group watches to know when to close.
    pub fn closer(&self) -> watch::Receiver<bool> {
        self.close.subscribe()
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Closes every socket (close frame, then waits for the server's side) within `limit`.
    pub async fn close_all(self, limit: Duration) {
        let _ = self.close.send(true);
        let all = futures_util::future::join_all(self.tasks);
        let _ = tokio::time::timeout(limit, all).await;
    }
}

/// Opens a socket on `url`, subscribes to `aws/chat` and waits for the acknowledgement, then
/// leaves a task reading it until `close` says so.
pub async fn open_socket(
    url: &str,
    sink: Arc<Sink>,
    mut close: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, String> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let opening = async {
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| format!("opening the socket: {e}"))?;
        socket
            .send(Message::text(SUBSCRIBE))
            .await
            .map_err(|e| format!("subscribing: {e}"))?;
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    if text.contains("\"aws/subscribe\"") {
                        if text.contains("\"success\"") {
                            return Ok(socket);
                        }
                        return Err(format!("subscription refused: {text}"));
                    }
                    sink.on_text(text.as_str());
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!("server closed the socket: {frame:?}"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("reading the subscription ack: {e}")),
                None => return Err("socket ended before the subscription ack".into()),
            }
        }
    };
    let mut socket = tokio::time::timeout(SOCKET_TIMEOUT, opening)
        .await
        .map_err(|_| "timed out opening and subscribing".to_string())??;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = close.changed() => {
                    let _ = socket.close(None).await;
                    let drain = async { while let Some(Ok(_)) = socket.next().await {} };
                    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
                    return;
                }
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => sink.on_text(text.as_str()),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        sink.closed_by_server.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                },
            }
        }
    }))
}
