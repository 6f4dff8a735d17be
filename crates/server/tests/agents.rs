//! Agents in chats, over the real wire: an agent signed in to the workspace is offered a queued
//! chat, accepts it and joins as an AGENT participant, displaces a custom bot, restarts the chat
//! timers for the new pair, talks through the Participant API, and its leaving (or
//! auto-disconnect) hands the chat to the disconnect flow or ends it.

mod common;

use common::workspace::{Agent, Setup, setup_on};
use common::{Chat, Socket, TestServer, next_item, open_socket};
use liaison_server::state::RemovalCause;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const JOINED: &str = "application/vnd.amazonaws.connect.event.participant.joined";
const LEFT: &str = "application/vnd.amazonaws.connect.event.participant.left";
const IDLE: &str = "application/vnd.amazonaws.connect.event.participant.idle";
const AUTO_DISCONNECTION: &str =
    "application/vnd.amazonaws.connect.event.participant.autodisconnection";
const ENDED: &str = "application/vnd.amazonaws.connect.event.chat.ended";

/// One timer minute lasts 600 ms (a 2-minute timer fires after 1.2 s).
const MINUTE_MS: i64 = 600;

/// A server whose chat timers run fast while agents get ten seconds to accept an offer.
async fn server() -> (tempfile::TempDir, Setup) {
    let (dir, server) = TestServer::start_on_sqlite_with(|config| {
        config.timer_minute_ms = MINUTE_MS;
        config.offer_seconds = 1_000;
    })
    .await;
    (dir, setup_on(server).await)
}

/// Reads items until one of `content_type` arrives, returning it and what came before.
async fn until(socket: &mut Socket, content_type: &str) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let item = next_item(socket)
            .await
            .unwrap_or_else(|| panic!("no {content_type} item; got {before:?}"));
        if item["ContentType"] == content_type {
            return (item, before);
        }
        before.push(item);
    }
}

async fn set_timers(server: &TestServer, chat: &Chat, settings: Value) {
    let (status, _, body) = server
        .connect(
            "PUT",
            &format!(
                "/contact/participant-role-config/{}/{}",
                chat.instance_id, chat.contact_id
            ),
            Some(
                json!({"ChannelConfiguration": {"Chat": {"ParticipantTimerConfigList": settings}}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn minutes(role: &str, timer: &str, minutes: u32) -> Value {
    json!({"ParticipantRole": role, "TimerType": timer, "TimerValue": {"ParticipantTimerDurationInMinutes": minutes}})
}

/// Ana Agent, signed in to the workspace and Available on the Basic Routing Profile.
async fn ana(s: &Setup) -> Agent {
    let profile = s.basic_profile().await;
    s.agent("ana", "Ana", &profile).await
}

/// The agent is offered the queued chat, accepts it and connects through the Participant API.
/// Returns the agent's participant id and connection token.
async fn take_chat(s: &Setup, agent: &Agent, chat: &Chat) -> (String, String) {
    s.offered(agent, chat).await;
    let (participant_id, participant_token) = s.accept(agent, chat).await;
    let token = s.server.connection_token(&participant_token).await;
    (participant_id, token)
}

async fn send_text(server: &TestServer, token: &str, text: &str) {
    let (status, _, body) = server
        .participant(
            "/participant/message",
            token,
            json!({"ContentType": "text/plain", "Content": text}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Creates a flow; its id.
async fn create_flow(
    server: &TestServer,
    instance: &str,
    name: &str,
    flow_type: &str,
    content: Value,
) -> String {
    let created = server
        .create_flow(instance, name, flow_type, &content.to_string())
        .await;
    created["ContactFlowId"].as_str().unwrap().to_string()
}

/// The id of the instance's BasicQueue.
async fn basic_queue(server: &TestServer, instance: &str) -> String {
    server
        .summary_named(
            &format!("/queues-summary/{instance}"),
            "QueueSummaryList",
            "BasicQueue",
        )
        .await["Id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A whisper flow that says `text`, then does `then` (an action identified "then").
fn whisper_flow(text: &str, then: Value) -> Value {
    json!({"Version": "2019-10-30", "StartAction": "say", "Actions": [
        {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"Text": text},
         "Transitions": {"NextAction": "then", "Errors": [{"NextAction": "then", "ErrorType": "NoMatchingError"}]}},
        then
    ]})
}

fn end_whisper() -> Value {
    json!({"Identifier": "then", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}})
}

/// The contents of the chat's transcript as `token`'s participant reads it.
async fn transcript_texts(server: &TestServer, token: &str) -> Vec<String> {
    server
        .transcript(token, json!({"MaxResults": 100, "SortOrder": "ASCENDING"}))
        .await
        .iter()
        .map(|item| match item["Content"].as_str() {
            Some(text) => text.to_string(),
            None => format!("{} {}", item["ContentType"], item["ParticipantRole"]),
        })
        .collect()
}

/// A flow that sets `CustomerRemaining` to a disconnect flow (which asks, waits for the
/// customer, says goodbye and ends the chat), says an agent is coming, then queues the chat on
/// BasicQueue.
async fn flow_with_disconnect_flow(server: &TestServer, instance: &str) -> String {
    let create = |name: &'static str, content: Value| {
        create_flow(server, instance, name, "CONTACT_FLOW", content)
    };
    let on_error = |next: &str| json!([{"NextAction": next, "ErrorType": "NoMatchingError"}]);
    let basic_queue = basic_queue(server, instance).await;
    let disconnect_flow = create(
        "After the agent",
        json!({"Version": "2019-10-30", "StartAction": "ask", "Actions": [
            {"Identifier": "ask", "Type": "MessageParticipant", "Parameters": {"Text": "The agent has left. Anything else?"},
             "Transitions": {"NextAction": "wait", "Errors": on_error("wait")}},
            {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "900", "Events": ["CustomerReturned"]},
             "Transitions": {"NextAction": "bye", "Errors": on_error("bye")}},
            {"Identifier": "bye", "Type": "MessageParticipant", "Parameters": {"Text": "Goodbye"},
             "Transitions": {"NextAction": "end", "Errors": on_error("end")}},
            {"Identifier": "end", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]}),
    )
    .await;
    create(
        "Hooks then queues",
        json!({"Version": "2019-10-30", "StartAction": "hooks", "Actions": [
            {"Identifier": "hooks", "Type": "UpdateContactEventHooks",
             "Parameters": {"EventHooks": {"CustomerRemaining": disconnect_flow}},
             "Transitions": {"NextAction": "queued", "Errors": on_error("queued")}},
            {"Identifier": "queued", "Type": "MessageParticipant", "Parameters": {"Text": "An agent will be with you"},
             "Transitions": {"NextAction": "set-queue", "Errors": on_error("set-queue")}},
            {"Identifier": "set-queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": basic_queue},
             "Transitions": {"NextAction": "transfer", "Errors": on_error("transfer")}},
            {"Identifier": "transfer", "Type": "TransferContactToQueue", "Parameters": {},
             "Transitions": {"Errors": on_error("transfer")}}
        ]}),
    )
    .await
}

/// Waits until the flow's message `text` is in the transcript (it may come before a socket
/// opens).
async fn flow_has_said(server: &TestServer, chat: &Chat, text: &str) {
    for _ in 0..100 {
        let (_, _, transcript) = server
            .participant(
                "/participant/transcript",
                &chat.connection_token,
                json!({"MaxResults": 100}),
            )
            .await;
        if transcript["Transcript"]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| item["Content"] == text))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the flow never said {text:?}");
}

/// A chat on the default flow, which queues it on BasicQueue.
async fn start_queued(server: &TestServer) -> Chat {
    let (instance, _) = server.instance_and_flow().await;
    let default_flow = server
        .summary_named(
            &format!("/contact-flows-summary/{instance}"),
            "ContactFlowSummaryList",
            "Default chat flow",
        )
        .await["Id"]
        .clone();
    server
        .start_chat(json!({"ContactFlowId": default_flow}))
        .await
}

async fn start_on(server: &TestServer, flow: &str) -> Chat {
    server.start_chat(json!({"ContactFlowId": flow})).await
}

#[tokio::test]
async fn an_agent_displaces_the_bot_and_the_timers_restart_for_the_new_pair() {
    let (_dir, s) = server().await;
    let server = &s.server;
    let agent_ana = ana(&s).await;
    let mut removals = server.state.removals.subscribe();
    let chat = start_queued(server).await;
    set_timers(
        server,
        &chat,
        json!([minutes("CUSTOMER", "IDLE", 2), minutes("AGENT", "IDLE", 3)]),
    )
    .await;
    let mut customer = open_socket(&chat.websocket_url).await;
    let (bot_id, _) = server.join_custom_bot(&chat).await;
    until(&mut customer, JOINED).await;

    let (agent, agent_token) = take_chat(&s, &agent_ana, &chat).await;
    let joined_at = Instant::now();
    let (left, _) = until(&mut customer, LEFT).await;
    assert_eq!(left["ParticipantId"], bot_id.as_str());
    let (joined, _) = until(&mut customer, JOINED).await;
    assert_eq!(joined["ParticipantRole"], "AGENT");
    assert_eq!(joined["DisplayName"], "Ana Agent");
    assert_eq!(joined["ParticipantId"], agent.as_str());
    let removal = tokio::time::timeout(Duration::from_secs(1), removals.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removal.cause, RemovalCause::DisplacedByAgent);
    assert_eq!(removal.participant.id, bot_id.as_str());

    // The agent talks through the Participant API like any participant.
    send_text(server, &agent_token, "Hello, I am Ana").await;
    let (said, _) = until(&mut customer, "text/plain").await;
    assert_eq!(said["Content"], "Hello, I am Ana");
    assert_eq!(said["ParticipantRole"], "AGENT");

    // With an agent, both roles have timers: the customer's 2 minutes from the join, the
    // agent's 3 minutes from its last message.
    let (idle, _) = until(&mut customer, IDLE).await;
    assert_eq!(idle["ParticipantRole"], "CUSTOMER");
    assert!(joined_at.elapsed() >= Duration::from_millis(1_150));
    let (idle, _) = until(&mut customer, IDLE).await;
    assert_eq!(idle["ParticipantRole"], "AGENT");
    assert_eq!(idle["ParticipantId"], agent.as_str());
    assert!(joined_at.elapsed() >= Duration::from_millis(1_750));
}

#[tokio::test]
async fn an_agent_leaving_ends_the_chat_unless_a_disconnect_flow_takes_it() {
    let (_dir, s) = server().await;
    let server = &s.server;
    let agent_ana = ana(&s).await;
    let chat = start_queued(server).await;
    let mut customer = open_socket(&chat.websocket_url).await;
    let (agent, agent_token) = take_chat(&s, &agent_ana, &chat).await;
    until(&mut customer, JOINED).await;
    let (status, _, _) = server
        .participant("/participant/disconnect", &agent_token, json!({}))
        .await;
    assert_eq!(status, 200);
    let (left, _) = until(&mut customer, LEFT).await;
    assert_eq!(left["ParticipantId"], agent.as_str());
    until(&mut customer, ENDED).await;

    // With a CustomerRemaining hook the chat goes on in the disconnect flow.
    let flow = flow_with_disconnect_flow(server, &chat.instance_id).await;
    let chat = start_on(server, &flow).await;
    let mut customer = open_socket(&chat.websocket_url).await;
    // Agents take chats the flow has queued: once it has set its hooks.
    flow_has_said(server, &chat, "An agent will be with you").await;
    let (_, agent_token) = take_chat(&s, &agent_ana, &chat).await;
    until(&mut customer, JOINED).await;
    server
        .participant("/participant/disconnect", &agent_token, json!({}))
        .await;
    let (asked, _) = until(&mut customer, "text/plain").await;
    assert_eq!(asked["Content"], "The agent has left. Anything else?");
    send_text(server, &chat.connection_token, "No, thanks").await;
    let (_, before) = until(&mut customer, ENDED).await;
    assert!(
        before.iter().any(|item| item["Content"] == "Goodbye"),
        "{before:?}"
    );
}

#[tokio::test]
async fn an_auto_disconnected_agent_hands_the_chat_to_the_disconnect_flow() {
    let (_dir, s) = server().await;
    let server = &s.server;
    let agent_ana = ana(&s).await;
    let instance = server.default_instance().await;
    let flow = flow_with_disconnect_flow(server, &instance).await;
    let chat = start_on(server, &flow).await;
    set_timers(
        server,
        &chat,
        json!([minutes("AGENT", "DISCONNECT_NONCUSTOMER", 2)]),
    )
    .await;
    let mut customer = open_socket(&chat.websocket_url).await;
    flow_has_said(server, &chat, "An agent will be with you").await;
    let (agent, _) = take_chat(&s, &agent_ana, &chat).await;
    let (auto, _) = until(&mut customer, AUTO_DISCONNECTION).await;
    assert_eq!(auto["ParticipantRole"], "AGENT");
    let (left, _) = until(&mut customer, LEFT).await;
    assert_eq!(left["ParticipantId"], agent.as_str());
    let (asked, _) = until(&mut customer, "text/plain").await;
    assert_eq!(asked["Content"], "The agent has left. Anything else?");
}

#[tokio::test]
async fn whisper_flows_play_to_each_side_before_the_agent_joins() {
    let (_dir, s) = server().await;
    let server = &s.server;
    let agent_ana = ana(&s).await;
    let agent_whisper = create_flow(
        server,
        &s.instance,
        "To the agent",
        "AGENT_WHISPER",
        whisper_flow("A customer is waiting, $.Agent.UserName", end_whisper()),
    )
    .await;
    let customer_whisper = create_flow(
        server,
        &s.instance,
        "To the customer",
        "CUSTOMER_WHISPER",
        whisper_flow("You are now chatting with $.Agent.FirstName", end_whisper()),
    )
    .await;
    let basic_queue = basic_queue(server, &s.instance).await;
    let flow = s
        .queueing_flow(
            "Whispered",
            &basic_queue,
            json!({"AgentWhisper": agent_whisper, "CustomerWhisper": customer_whisper}),
        )
        .await;
    let chat = start_on(server, &flow).await;
    let mut customer = open_socket(&chat.websocket_url).await;
    let (agent, agent_token) = take_chat(&s, &agent_ana, &chat).await;

    // The customer hears their whisper, then sees the agent join; never the agent's whisper.
    let (joined, before) = until(&mut customer, JOINED).await;
    assert_eq!(joined["ParticipantId"], agent.as_str());
    let said: Vec<&Value> = before.iter().map(|item| &item["Content"]).collect();
    assert!(
        said.contains(&&json!("You are now chatting with Ana")),
        "{said:?}"
    );
    assert!(
        !said.contains(&&json!("A customer is waiting, ana")),
        "{said:?}"
    );

    let customer_sees = transcript_texts(server, &chat.connection_token).await;
    let agent_sees = transcript_texts(server, &agent_token).await;
    let position = |texts: &[String], text: &str| texts.iter().position(|t| t == text);
    let agent_joined = format!("\"{JOINED}\" \"AGENT\"");
    assert!(
        position(&customer_sees, "You are now chatting with Ana")
            < position(&customer_sees, &agent_joined),
        "{customer_sees:?}"
    );
    assert_eq!(position(&customer_sees, "A customer is waiting, ana"), None);
    assert!(
        position(&agent_sees, "A customer is waiting, ana") < position(&agent_sees, &agent_joined),
        "{agent_sees:?}"
    );
    assert_eq!(position(&agent_sees, "You are now chatting with Ana"), None);

    // Joined, the agent talks.
    send_text(server, &agent_token, "Hello, I am Ana").await;
    let (said, _) = until(&mut customer, "text/plain").await;
    assert_eq!(said["Content"], "Hello, I am Ana");
}

#[tokio::test]
async fn a_whisper_running_too_long_is_cut_short_and_the_agent_waits_for_it() {
    let (_dir, s) = server().await;
    let server = &s.server;
    let agent_ana = ana(&s).await;
    // The whisper waits ten minutes; whispers end after two (1.2 s here).
    let agent_whisper = create_flow(
        server,
        &s.instance,
        "Long whisper",
        "AGENT_WHISPER",
        whisper_flow(
            "Hold on",
            json!({"Identifier": "then", "Type": "Wait",
                   "Parameters": {"TimeLimitSeconds": "600", "Events": ["CustomerReturned"]},
                   "Transitions": {"NextAction": "then", "Errors": [{"NextAction": "then", "ErrorType": "NoMatchingError"}]}}),
        ),
    )
    .await;
    let basic_queue = basic_queue(server, &s.instance).await;
    let flow = s
        .queueing_flow(
            "Long whispered",
            &basic_queue,
            json!({"AgentWhisper": agent_whisper}),
        )
        .await;
    let chat = start_on(server, &flow).await;
    let mut customer = open_socket(&chat.websocket_url).await;
    let (agent, agent_token) = take_chat(&s, &agent_ana, &chat).await;

    let (status, _, refused) = server
        .participant(
            "/participant/message",
            &agent_token,
            json!({"ContentType": "text/plain", "Content": "too early"}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["__type"], "AccessDeniedException");
    let (status, _, refused) = server
        .participant(
            "/participant/start-attachment-upload",
            &agent_token,
            json!({"ContentType": "text/plain", "AttachmentSizeInBytes": 4,
                   "AttachmentName": "a.txt", "ClientToken": "whisper-file"}),
        )
        .await;
    assert_eq!(status, 403, "no files before joining either: {refused}");

    let (joined, before) = until(&mut customer, JOINED).await;
    assert_eq!(joined["ParticipantId"], agent.as_str());
    assert!(
        before.iter().all(|item| item["Content"] != "Hold on"),
        "{before:?}"
    );
    send_text(server, &agent_token, "Thanks for waiting").await;
    let (said, _) = until(&mut customer, "text/plain").await;
    assert_eq!(said["Content"], "Thanks for waiting");
}
