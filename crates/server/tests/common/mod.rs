//! An in-process Liaison on port 0 with a fresh SQLite store, and a client that speaks the
//! real wire: SigV4-signed Connect calls, bearer-token participant calls, WebSocket frames.

#![allow(dead_code)]

pub mod workspace;

use futures_util::{SinkExt, StreamExt};
use liaison_core::SystemClock;
use liaison_server::sigv4::{self, SigningKey};
use liaison_server::state::ServerConfig;
use liaison_store::{PostgresStore, SqliteStore, Store};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const QUIET_FLOW_NAME: &str = "Quiet test flow";

/// A flow that says nothing and waits a week before it disconnects.
pub fn quiet_flow() -> String {
    json!({
        "Version": "2019-10-30",
        "StartAction": "wait",
        "Actions": [
            {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "604800"},
             "Transitions": {"Conditions": [{"NextAction": "end", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}],
                             "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "end", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]
    })
    .to_string()
}

pub const ACCESS_KEY: &str = "AKIDLIAISONTEST";
pub const SECRET_KEY: &str = "test-secret-key";

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    /// The running server's state, for what only the process itself can observe.
    pub state: liaison_server::state::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on `data_dir` with one "minute" of chat timers lasting `minute_ms`.
    pub async fn start(data_dir: &Path, minute_ms: i64) -> TestServer {
        let store = SqliteStore::open(data_dir).await.expect("open store");
        TestServer::start_on(Arc::new(store), minute_ms).await
    }

    /// Starts a server on the given store (several servers may share one PostgreSQL store).
    pub async fn start_on(store: Arc<dyn Store>, minute_ms: i64) -> TestServer {
        let mut config = TestServer::config();
        config.timer_minute_ms = minute_ms;
        TestServer::start_configured(store, config).await
    }

    /// The configuration tests start from: the test keys, one region.
    pub fn config() -> ServerConfig {
        ServerConfig::new(vec![(ACCESS_KEY.into(), SECRET_KEY.into())])
    }

    /// Starts a server on a fresh SQLite store, with the test configuration as `configure`
    /// changes it; the store's directory lives as long as the returned guard.
    pub async fn start_on_sqlite_with(
        configure: impl FnOnce(&mut ServerConfig),
    ) -> (tempfile::TempDir, TestServer) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.expect("open store");
        let mut config = TestServer::config();
        configure(&mut config);
        (
            dir,
            TestServer::start_configured(Arc::new(store), config).await,
        )
    }

    /// Starts a server with a configuration of the test's own.
    pub async fn start_configured(store: Arc<dyn Store>, config: ServerConfig) -> TestServer {
        let state = liaison_server::start(store, Arc::new(SystemClock), config)
            .await
            .expect("start");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (sender, receiver) = oneshot::channel::<()>();
        let served = state.clone();
        let task = tokio::spawn(async move {
            liaison_server::serve(listener, served, async {
                let _ = receiver.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
            state,
            shutdown: Some(sender),
            task: Some(task),
        }
    }

    /// Stops accepting requests and waits for the server task to finish.
    pub async fn stop(mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// A Connect API call signed with the admin keys (or `secret` when given).
    pub async fn connect_as(
        &self,
        secret: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let (raw_path, raw_query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let body_bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_str(self.host()).unwrap());
        if !body_bytes.is_empty() {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        let key = SigningKey {
            access_key_id: ACCESS_KEY,
            secret_access_key: secret,
            region: "us-east-1",
            service: "connect",
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        sigv4::sign(
            method,
            raw_path,
            raw_query,
            &mut headers,
            &body_bytes,
            &key,
            now,
        )
        .expect("sign");
        headers.remove("host");
        let request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .headers(headers)
            .body(body_bytes);
        read(request.send().await.expect("request")).await
    }

    pub async fn connect(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        self.connect_as(SECRET_KEY, method, path, body).await
    }

    /// The transcript items GetTranscript gives the participant of `token` for `request`.
    pub async fn transcript(&self, token: &str, request: Value) -> Vec<Value> {
        let (status, _, transcript) = self
            .participant("/participant/transcript", token, request)
            .await;
        assert_eq!(status, 200, "{transcript}");
        transcript["Transcript"].as_array().unwrap().clone()
    }

    /// Adds a custom bot named "Bot" to the chat and connects it: `(participant id, connection
    /// token)`.
    pub async fn join_custom_bot(&self, chat: &Chat) -> (String, String) {
        let (status, _, bot) = self
            .connect(
                "POST",
                "/contact/create-participant",
                Some(json!({"InstanceId": chat.instance_id, "ContactId": chat.contact_id,
                            "ParticipantDetails": {"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"}})),
            )
            .await;
        assert_eq!(status, 200, "{bot}");
        let (status, _, connection) = self
            .participant(
                "/participant/connection",
                bot["ParticipantCredentials"]["ParticipantToken"]
                    .as_str()
                    .unwrap(),
                json!({"Type": ["CONNECTION_CREDENTIALS"], "ConnectParticipant": true}),
            )
            .await;
        assert_eq!(status, 200, "{connection}");
        (
            bot["ParticipantId"].as_str().unwrap().to_string(),
            connection["ConnectionCredentials"]["ConnectionToken"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    }

    /// The connection token CreateParticipantConnection gives the participant of
    /// `participant_token`.
    pub async fn connection_token(&self, participant_token: &str) -> String {
        let (status, _, connection) = self
            .participant(
                "/participant/connection",
                participant_token,
                json!({"Type": ["CONNECTION_CREDENTIALS"]}),
            )
            .await;
        assert_eq!(status, 200, "{connection}");
        connection["ConnectionCredentials"]["ConnectionToken"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A participant API call with `X-Amz-Bearer: token`.
    pub async fn participant(
        &self,
        path: &str,
        token: &str,
        body: Value,
    ) -> (u16, HeaderMap, Value) {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-amz-bearer", token)
            .header("content-type", "application/json")
            .body(body.to_string());
        read(request.send().await.expect("request")).await
    }

    /// A request exactly as given, for malformed input.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, HeaderMap, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("request")).await
    }

    /// The id of the instance every fresh server has (the first in `ListInstances`).
    pub async fn default_instance(&self) -> String {
        let (_, _, instances) = self.connect("GET", "/instance", None).await;
        instances["InstanceSummaryList"][0]["Id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The default instance and a flow that keeps chats open quietly (it waits a week), so
    /// tests see only their own traffic; the flow is created on first use.
    pub async fn instance_and_flow(&self) -> (String, String) {
        let instance = self.default_instance().await;
        let (_, _, flows) = self
            .connect("GET", &format!("/contact-flows-summary/{instance}"), None)
            .await;
        if let Some(quiet) = flows["ContactFlowSummaryList"]
            .as_array()
            .and_then(|flows| flows.iter().find(|f| f["Name"] == QUIET_FLOW_NAME))
        {
            return (instance, quiet["Id"].as_str().unwrap().to_string());
        }
        let (status, _, created) = self
            .connect(
                "PUT",
                &format!("/contact-flows/{instance}"),
                Some(json!({"Name": QUIET_FLOW_NAME, "Type": "CONTACT_FLOW", "Content": quiet_flow()})),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        (
            instance,
            created["ContactFlowId"].as_str().unwrap().to_string(),
        )
    }

    /// The summary named `name` in a Connect List operation's answer (`GET path`, the summaries
    /// under `list`), such as a queue in `ListQueues`.
    pub async fn summary_named(&self, path: &str, list: &str, name: &str) -> Value {
        let (status, _, listed) = self.connect("GET", path, None).await;
        assert_eq!(status, 200, "{listed}");
        listed[list]
            .as_array()
            .and_then(|summaries| summaries.iter().find(|s| s["Name"] == name))
            .unwrap_or_else(|| panic!("no {name} in {path}: {listed}"))
            .clone()
    }

    /// Creates a flow of `flow_type` from `content` (its JSON text, sent as it is);
    /// CreateContactFlow's answer.
    pub async fn create_flow(
        &self,
        instance: &str,
        name: &str,
        flow_type: &str,
        content: &str,
    ) -> Value {
        let body = json!({"Name": name, "Type": flow_type, "Content": content});
        let (status, _, created) = self
            .connect("PUT", &format!("/contact-flows/{instance}"), Some(body))
            .await;
        assert_eq!(status, 200, "{created}");
        created
    }

    /// Starts a chat with `extra` members merged into the request.
    pub async fn start_chat(&self, extra: Value) -> Chat {
        let (instance, flow) = self.instance_and_flow().await;
        let mut body = json!({"InstanceId": instance, "ContactFlowId": flow, "ParticipantDetails": {"DisplayName": "Customer"}});
        if let (Some(target), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                target.insert(k.clone(), v.clone());
            }
        }
        let (status, _, started) = self.connect("PUT", "/contact/chat", Some(body)).await;
        assert_eq!(status, 200, "{started}");
        let (status, _, connection) = self
            .participant(
                "/participant/connection",
                started["ParticipantToken"].as_str().unwrap(),
                json!({"Type": ["WEBSOCKET", "CONNECTION_CREDENTIALS"]}),
            )
            .await;
        assert_eq!(status, 200, "{connection}");
        Chat {
            instance_id: instance,
            contact_id: started["ContactId"].as_str().unwrap().into(),
            participant_id: started["ParticipantId"].as_str().unwrap().into(),
            participant_token: started["ParticipantToken"].as_str().unwrap().into(),
            connection_token: connection["ConnectionCredentials"]["ConnectionToken"]
                .as_str()
                .unwrap()
                .into(),
            websocket_url: connection["Websocket"]["Url"].as_str().unwrap().into(),
        }
    }

    /// The transcript's system messages (what the flow said), oldest first, once `count` arrived.
    pub async fn system_messages(&self, chat: &Chat, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let (_, _, transcript) = self
                .participant(
                    "/participant/transcript",
                    &chat.connection_token,
                    json!({"MaxResults": 100, "ScanDirection": "FORWARD", "SortOrder": "ASCENDING"}),
                )
                .await;
            let said: Vec<String> = transcript["Transcript"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|i| i["ParticipantRole"] == "SYSTEM" && i["Type"] == "MESSAGE")
                        .map(|i| i["Content"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if said.len() >= count {
                return said;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the flow did not say {count} things");
    }
}

async fn read(response: reqwest::Response) -> (u16, HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

pub struct Chat {
    pub instance_id: String,
    pub contact_id: String,
    pub participant_id: String,
    pub participant_token: String,
    pub connection_token: String,
    pub websocket_url: String,
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the chat's WebSocket and subscribes as ChatJS does, checking the reply.
pub async fn open_socket(url: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");
    socket
        .send(Message::text(
            r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#,
        ))
        .await
        .expect("subscribe");
    let reply = next_frame(&mut socket).await.expect("subscribe reply");
    assert_eq!(
        reply,
        json!({"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}})
    );
    socket
}

/// The next JSON text frame, or `None` when the socket closes or nothing comes within 5 s.
pub async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// The next `aws/chat` item, decoded from its string `content`.
pub async fn next_item(socket: &mut Socket) -> Option<Value> {
    let frame = next_frame(socket).await?;
    assert_eq!(frame["topic"], "aws/chat", "{frame}");
    assert_eq!(frame["contentType"], "application/json");
    serde_json::from_str(frame["content"].as_str()?).ok()
}

/// Stores of `count` cluster nodes on one fresh PostgreSQL schema, or `None` without a test
/// database (`LIAISON_TEST_DATABASE_URL`).
pub async fn shared_stores(count: usize) -> Option<Vec<Arc<dyn Store>>> {
    let Ok(url) = std::env::var("LIAISON_TEST_DATABASE_URL") else {
        eprintln!("LIAISON_TEST_DATABASE_URL is not set; skipping the cluster test");
        return None;
    };
    let schema = format!("cluster_{}", uuid::Uuid::new_v4().simple());
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..count {
        stores.push(Arc::new(
            PostgresStore::connect(&url, Some(&schema))
                .await
                .expect("connect"),
        ));
    }
    Some(stores)
}
