//! The agent workspace API from a test's side: a server's instance with its security profile
//! and statuses, users signed in as agents, queues, routing profiles, and chats a flow queues.

use super::{Chat, TestServer};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "Agent-Password-1";

pub struct Setup {
    pub server: TestServer,
    pub instance: String,
    pub security_profile: String,
    pub available: String,
    pub offline: String,
}

pub async fn setup(dir: &std::path::Path, minute_ms: i64) -> Setup {
    setup_on(TestServer::start(dir, minute_ms).await).await
}

impl Setup {
    /// Stops the server and starts a new one on the same data directory (the organisation
    /// found at first stays the same).
    pub async fn restart(self, dir: &std::path::Path, minute_ms: i64) -> Setup {
        let Setup {
            server,
            instance,
            security_profile,
            available,
            offline,
        } = self;
        server.stop().await;
        Setup {
            server: TestServer::start(dir, minute_ms).await,
            instance,
            security_profile,
            available,
            offline,
        }
    }
}

pub async fn setup_on(server: TestServer) -> Setup {
    let (instance, _) = server.instance_and_flow().await;
    let id_of = |path: String, list: &'static str, name: &'static str| {
        let server = &server;
        async move {
            server.summary_named(&path, list, name).await["Id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let security_profile = id_of(
        format!("/security-profiles-summary/{instance}"),
        "SecurityProfileSummaryList",
        "Agent",
    )
    .await;
    let statuses = format!("/agent-status/{instance}");
    let available = id_of(statuses.clone(), "AgentStatusSummaryList", "Available").await;
    let offline = id_of(statuses, "AgentStatusSummaryList", "Offline").await;
    Setup {
        available,
        offline,
        server,
        instance,
        security_profile,
    }
}

impl Setup {
    pub async fn workspace(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/workspace/api{path}", self.server.base);
        let mut request = self
            .server
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn queue(&self, name: &str) -> String {
        let (_, _, hours) = self
            .server
            .connect(
                "GET",
                &format!("/hours-of-operations-summary/{}", self.instance),
                None,
            )
            .await;
        let hours_id = hours["HoursOfOperationSummaryList"][0]["Id"].clone();
        let (status, _, created) = self
            .server
            .connect(
                "PUT",
                &format!("/queues/{}", self.instance),
                Some(json!({"Name": name, "HoursOfOperationId": hours_id})),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        created["QueueId"].as_str().unwrap().to_string()
    }

    /// A routing profile taking `concurrency` chats from `queues` as (queue, priority, delay s).
    pub async fn profile(
        &self,
        name: &str,
        concurrency: u32,
        queues: &[(&str, u32, u32)],
    ) -> String {
        let configs: Vec<Value> = queues
            .iter()
            .map(|(queue, priority, delay)| {
                json!({"QueueReference": {"QueueId": queue, "Channel": "CHAT"}, "Priority": priority, "Delay": delay})
            })
            .collect();
        let (status, _, created) = self
            .server
            .connect(
                "PUT",
                &format!("/routing-profiles/{}", self.instance),
                Some(json!({
                    "Name": name, "Description": name, "DefaultOutboundQueueId": queues[0].0,
                    "MediaConcurrencies": [{"Channel": "CHAT", "Concurrency": concurrency}],
                    "QueueConfigs": configs,
                })),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        created["RoutingProfileId"].as_str().unwrap().to_string()
    }

    /// A user of `profile`, signed in to the workspace, Available.
    pub async fn agent(&self, username: &str, first_name: &str, profile: &str) -> Agent {
        let (status, _, created) = self
            .server
            .connect(
                "PUT",
                &format!("/users/{}", self.instance),
                Some(json!({
                    "Username": username, "Password": PASSWORD,
                    "IdentityInfo": {"FirstName": first_name, "LastName": "Agent"},
                    "PhoneConfig": {"PhoneType": "SOFT_PHONE"},
                    "SecurityProfileIds": [self.security_profile], "RoutingProfileId": profile,
                })),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        let response = self
            .server
            .http
            .post(format!("{}/workspace/api/sign-in", self.server.base))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let signed_in: Value = response.json().await.unwrap();
        let agent = Agent {
            token: signed_in["token"].as_str().unwrap().to_string(),
            user_id: created["UserId"].as_str().unwrap().to_string(),
        };
        assert_eq!(signed_in["agent"]["userId"], agent.user_id.as_str());
        assert_eq!(
            signed_in["agent"]["displayName"],
            format!("{first_name} Agent")
        );
        self.set_status(&agent, &self.available).await;
        agent
    }

    pub async fn set_status(&self, agent: &Agent, status_id: &str) {
        let (status, state) = self
            .workspace(
                "PUT",
                "/status",
                &agent.token,
                Some(json!({"agentStatusId": status_id})),
            )
            .await;
        assert_eq!(status, 200, "{state}");
        assert_eq!(state["status"]["id"], status_id);
    }

    pub async fn state(&self, agent: &Agent) -> Value {
        let (status, state) = self.workspace("GET", "/state", &agent.token, None).await;
        assert_eq!(status, 200, "{state}");
        state
    }

    /// Polls the agent's state until `ready` holds (5 s at most).
    pub async fn state_when(
        &self,
        agent: &Agent,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let state = self.state(agent).await;
            if ready(&state) {
                return state;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}; state: {state}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn offered(&self, agent: &Agent, chat: &Chat) -> Value {
        let id = chat.contact_id.clone();
        self.state_when(agent, "the chat is offered", |state| {
            offers_of(state).contains(&id)
        })
        .await
    }

    /// A chat whose flow transfers it to `queue`.
    pub async fn chat_into(&self, queue: &str, customer: &str, attributes: Value) -> Chat {
        let name = format!("Into {queue}");
        let (_, _, flows) = self
            .server
            .connect(
                "GET",
                &format!("/contact-flows-summary/{}", self.instance),
                None,
            )
            .await;
        let existing = flows["ContactFlowSummaryList"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["Name"] == name.as_str())
            .map(|f| f["Id"].as_str().unwrap().to_string());
        let flow_id = match existing {
            Some(id) => id,
            None => self.queueing_flow(&name, queue, json!({})).await,
        };
        self.server
            .start_chat(json!({"ContactFlowId": flow_id, "ParticipantDetails": {"DisplayName": customer}, "Attributes": attributes}))
            .await
    }

    /// Creates a transfer flow (of `flow_type`) that says `text` and queues the chat where the
    /// transfer sends it; returns its id.
    pub async fn transfer_flow(&self, name: &str, flow_type: &str, text: &str) -> String {
        let on_error = |next: &str| json!([{"NextAction": next, "ErrorType": "NoMatchingError"}]);
        let flow = json!({
            "Version": "2019-10-30",
            "StartAction": "say",
            "Actions": [
                {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"Text": text},
                 "Transitions": {"NextAction": "queue", "Errors": on_error("queue")}},
                {"Identifier": "queue", "Type": "TransferContactToQueue", "Parameters": {},
                 "Transitions": {"Errors": [{"NextAction": "end", "ErrorType": "QueueAtCapacity"},
                                            {"NextAction": "end", "ErrorType": "NoMatchingError"}]}},
                {"Identifier": "end", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}}
            ]
        });
        let (status, _, created) = self
            .server
            .connect(
                "PUT",
                &format!("/contact-flows/{}", self.instance),
                Some(json!({"Name": name, "Type": flow_type, "Content": flow.to_string()})),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        created["ContactFlowId"].as_str().unwrap().to_string()
    }

    /// Creates a flow that sets `hooks` (UpdateContactEventHooks, when any) and transfers the
    /// chat to `queue`; returns its id.
    pub async fn queueing_flow(&self, name: &str, queue: &str, hooks: Value) -> String {
        let on_error = json!([{"NextAction": "end", "ErrorType": "NoMatchingError"}]);
        let flow = json!({
            "Version": "2019-10-30",
            "StartAction": "hooks",
            "Actions": [
                {"Identifier": "hooks", "Type": "UpdateContactEventHooks", "Parameters": {"EventHooks": hooks},
                 "Transitions": {"NextAction": "set-queue", "Errors": on_error}},
                {"Identifier": "set-queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": queue},
                 "Transitions": {"NextAction": "transfer", "Errors": on_error}},
                {"Identifier": "transfer", "Type": "TransferContactToQueue", "Parameters": {},
                 "Transitions": {"Errors": [{"NextAction": "end", "ErrorType": "QueueAtCapacity"},
                                            {"NextAction": "end", "ErrorType": "NoMatchingError"}]}},
                {"Identifier": "end", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
            ]
        });
        let (status, _, created) = self
            .server
            .connect(
                "PUT",
                &format!("/contact-flows/{}", self.instance),
                Some(json!({"Name": name, "Type": "CONTACT_FLOW", "Content": flow.to_string()})),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        created["ContactFlowId"].as_str().unwrap().to_string()
    }
}

pub struct Agent {
    pub token: String,
    pub user_id: String,
}

pub fn offers_of(state: &Value) -> Vec<String> {
    state["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|offer| offer["contactId"].as_str().unwrap().to_string())
        .collect()
}

pub fn contacts_of(state: &Value) -> Vec<(String, String)> {
    state["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["contactId"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

impl Setup {
    /// The instance's Basic Routing Profile (two chats at a time from BasicQueue).
    pub async fn basic_profile(&self) -> String {
        self.server
            .summary_named(
                &format!("/routing-profiles-summary/{}", self.instance),
                "RoutingProfileSummaryList",
                "Basic Routing Profile",
            )
            .await["Id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The agent accepts the chat offered to them: `(participant id, participant token)`.
    pub async fn accept(&self, agent: &Agent, chat: &Chat) -> (String, String) {
        let (status, accepted) = self
            .workspace(
                "POST",
                &format!("/offers/{}/accept", chat.contact_id),
                &agent.token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{accepted}");
        (
            accepted["participantId"].as_str().unwrap().to_string(),
            accepted["participantToken"].as_str().unwrap().to_string(),
        )
    }
}
