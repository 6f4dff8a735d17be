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

/// A chat without sockets: its contact and its customer's ConnectionToken.
pub struct Contact {
    pub contact_id: String,
    pub connection_token: String,
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

    /// Starts this client's chats on a flow that only waits (a week, in timer time), made on
    /// first use: on a server that runs flows the default one would queue every chat and post
    /// reminders, load that the measurement of something else should not carry.
    pub async fn use_quiet_flow(&mut self) -> Result<(), String> {
        const NAME: &str = "loadgen quiet flow";
        let flows = self
            .connect_call(
                "GET",
                &format!("/contact-flows-summary/{}", self.instance_id),
                None,
            )
            .await?;
        let existing = flows
            .get("ContactFlowSummaryList")
            .and_then(Value::as_array)
            .and_then(|list| list.iter().find(|f| f.get("Name") == Some(&json!(NAME))))
            .and_then(|flow| flow.get("Id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(id) = existing {
            self.flow_id = id;
            return Ok(());
        }
        let on_end = json!({"NextAction": "end", "ErrorType": "NoMatchingError"});
        let content = json!({
            "Version": "2019-10-30",
            "StartAction": "hold",
            "Actions": [
                {
                    "Identifier": "hold",
                    "Type": "Wait",
                    "Parameters": {"TimeLimitSeconds": "604800"},
                    "Transitions": {
                        "Conditions": [{
                            "NextAction": "end",
                            "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]},
                        }],
                        "Errors": [on_end],
                    },
                },
                {"Identifier": "end", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
            ],
        });
        let created = self
            .connect_call(
                "PUT",
                &format!("/contact-flows/{}", self.instance_id),
                Some(
                    &json!({"Name": NAME, "Type": "CONTACT_FLOW", "Content": content.to_string()}),
                ),
            )
            .await?;
        self.flow_id = created
            .get("ContactFlowId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("CreateContactFlow returned no id: {created}"))?
            .to_string();
        Ok(())
    }

    /// The instance the calls go to (the first ListInstances returned).
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// A Connect API call signed with SigV4 as the AWS SDKs sign it.
    pub async fn connect_call(
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

    /// StartChatContact lasting `duration_minutes` (timer minutes), then the customer's
    /// ConnectionToken: the chats of `loadgen timers`, which need the contact id and no socket.
    pub async fn new_contact(&self, duration_minutes: u32) -> Result<Contact, String> {
        let started = self
            .connect_call(
                "PUT",
                "/contact/chat",
                Some(&json!({
                    "InstanceId": self.instance_id,
                    "ContactFlowId": self.flow_id,
                    "ParticipantDetails": {"DisplayName": "Load"},
                    "ChatDurationInMinutes": duration_minutes,
                })),
            )
            .await?;
        let field = |name: &str| {
            started
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("StartChatContact lacks {name}: {started}"))
        };
        let contact_id = field("ContactId")?;
        let participant_token = field("ParticipantToken")?;
        let connection = self
            .participant_call(
                "/participant/connection",
                &participant_token,
                r#"{"Type":["CONNECTION_CREDENTIALS"]}"#.to_string(),
            )
            .await?;
        let connection_token = connection
            .pointer("/ConnectionCredentials/ConnectionToken")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("CreateParticipantConnection lacks a token: {connection}"))?
            .to_string();
        Ok(Contact {
            contact_id,
            connection_token,
        })
    }

    /// UpdateParticipantRoleConfig: the customer's idle and auto-disconnect timers, in minutes.
    pub async fn set_customer_timers(
        &self,
        contact_id: &str,
        idle_minutes: u32,
        disconnect_minutes: u32,
    ) -> Result<(), String> {
        let timer = |kind: &str, minutes: u32| {
            json!({
                "ParticipantRole": "CUSTOMER",
                "TimerType": kind,
                "TimerValue": {"ParticipantTimerDurationInMinutes": minutes},
            })
        };
        let body = json!({"ChannelConfiguration": {"Chat": {"ParticipantTimerConfigList": [
            timer("IDLE", idle_minutes),
            timer("DISCONNECT_NONCUSTOMER", disconnect_minutes),
        ]}}});
        self.connect_call(
            "PUT",
            &format!(
                "/contact/participant-role-config/{}/{contact_id}",
                self.instance_id
            ),
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    /// CreateParticipant (CUSTOM_BOT), then its CreateParticipantConnection with
    /// `ConnectParticipant`: the bot joins, and the chat's timers start if it has any.
    pub async fn connect_bot(&self, contact_id: &str) -> Result<(), String> {
        let created = self
            .connect_call(
                "POST",
                "/contact/create-participant",
                Some(&json!({
                    "InstanceId": self.instance_id,
                    "ContactId": contact_id,
                    "ParticipantDetails": {"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
                })),
            )
            .await?;
        let token = created
            .pointer("/ParticipantCredentials/ParticipantToken")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("CreateParticipant returned no token: {created}"))?;
        self.participant_call(
            "/participant/connection",
            token,
            r#"{"ConnectParticipant":true}"#.to_string(),
        )
        .await
        .map(|_| ())
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
