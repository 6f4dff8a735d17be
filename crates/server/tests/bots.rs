//! Custom participants (CUSTOM_BOT) and chat timers over the real wire.

mod common;

use common::{Chat, Socket, TestServer, next_item, open_socket};
use liaison_server::state::RemovalCause;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TYPING: &str = "application/vnd.amazonaws.connect.event.typing";
const JOINED: &str = "application/vnd.amazonaws.connect.event.participant.joined";
const LEFT: &str = "application/vnd.amazonaws.connect.event.participant.left";
const IDLE: &str = "application/vnd.amazonaws.connect.event.participant.idle";
const RETURNED: &str = "application/vnd.amazonaws.connect.event.participant.returned";
const AUTO_DISCONNECTION: &str =
    "application/vnd.amazonaws.connect.event.participant.autodisconnection";

/// One timer minute in these tests: 2-minute timers take 1.2 s and the 15-second connection
/// window of custom participants lasts 150 ms.
const MINUTE_MS: i64 = 600;

async fn server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), MINUTE_MS).await;
    (dir, server)
}

async fn create_participant(server: &TestServer, chat: &Chat, extra: Value) -> (u16, Value) {
    let mut body = json!({
        "InstanceId": chat.instance_id,
        "ContactId": chat.contact_id,
        "ParticipantDetails": {"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Helper bot"},
    });
    if let (Some(target), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            target.insert(k.clone(), v.clone());
        }
    }
    let (status, _, response) = server
        .connect("POST", "/contact/create-participant", Some(body))
        .await;
    (status, response)
}

/// A connected bot: its participant id, connection token and socket.
struct Bot {
    id: String,
    connection_token: String,
    socket: Socket,
}

async fn add_bot(server: &TestServer, chat: &Chat) -> Bot {
    let (status, created) = create_participant(server, chat, json!({})).await;
    assert_eq!(status, 200, "{created}");
    let token = created["ParticipantCredentials"]["ParticipantToken"]
        .as_str()
        .unwrap();
    let (status, _, connection) = server
        .participant(
            "/participant/connection",
            token,
            json!({"Type": ["WEBSOCKET", "CONNECTION_CREDENTIALS"], "ConnectParticipant": true}),
        )
        .await;
    assert_eq!(status, 200, "{connection}");
    Bot {
        id: created["ParticipantId"].as_str().unwrap().into(),
        connection_token: connection["ConnectionCredentials"]["ConnectionToken"]
            .as_str()
            .unwrap()
            .into(),
        socket: open_socket(connection["Websocket"]["Url"].as_str().unwrap()).await,
    }
}

async fn send_text(server: &TestServer, token: &str, text: &str) -> (u16, Value) {
    let (status, _, body) = server
        .participant(
            "/participant/message",
            token,
            json!({"ContentType": "text/plain", "Content": text}),
        )
        .await;
    (status, body)
}

async fn set_timers(server: &TestServer, chat: &Chat, settings: Value) -> (u16, Value) {
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
    (status, body)
}

fn minutes(role: &str, timer: &str, minutes: u32) -> Value {
    json!({"ParticipantRole": role, "TimerType": timer, "TimerValue": {"ParticipantTimerDurationInMinutes": minutes}})
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

async fn transcript_types(server: &TestServer, token: &str) -> Vec<String> {
    server
        .transcript(
            token,
            json!({"MaxResults": 100, "ScanDirection": "FORWARD"}),
        )
        .await
        .iter()
        .map(|item| item["ContentType"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_custom_bot_joins_talks_with_the_customer_and_leaves_without_ending_the_chat() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    // Sockets carry what happens after they open.
    let mut customer = open_socket(&chat.websocket_url).await;

    let mut bot = add_bot(&server, &chat).await;
    let joined = next_item(&mut customer).await.unwrap();
    assert_eq!(joined["ContentType"], JOINED);
    assert_eq!(joined["ParticipantRole"], "CUSTOM_BOT");
    assert_eq!(joined["DisplayName"], "Helper bot");
    assert_eq!(joined["ParticipantId"], bot.id.as_str());

    let (status, _) = send_text(&server, &bot.connection_token, "How can I help?").await;
    assert_eq!(status, 200);
    let message = next_item(&mut customer).await.unwrap();
    assert_eq!(message["Content"], "How can I help?");
    assert_eq!(message["ParticipantRole"], "CUSTOM_BOT");
    let (status, _) = send_text(&server, &chat.connection_token, "My order").await;
    assert_eq!(status, 200);
    let (from_customer, _) = until(&mut bot.socket, "text/plain").await;
    assert_eq!(from_customer["Content"], "How can I help?");
    let (from_customer, _) = until(&mut bot.socket, "text/plain").await;
    assert_eq!(from_customer["Content"], "My order");
    let (status, _, _) = server
        .participant(
            "/participant/event",
            &bot.connection_token,
            json!({"ContentType": TYPING}),
        )
        .await;
    assert_eq!(status, 200);
    let (typing, _) = until(&mut customer, TYPING).await;
    assert_eq!(typing["ParticipantRole"], "CUSTOM_BOT");

    let (status, _, _) = server
        .participant("/participant/disconnect", &bot.connection_token, json!({}))
        .await;
    assert_eq!(status, 200);
    let (left, _) = until(&mut customer, LEFT).await;
    assert_eq!(left["ParticipantId"], bot.id.as_str());
    let (status, _) = send_text(&server, &chat.connection_token, "still here").await;
    assert_eq!(status, 200, "the chat goes on without the bot");
    let (status, body) = send_text(&server, &bot.connection_token, "again").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("AccessDeniedException"))
    );
    // Its place is free again.
    let (status, created) = create_participant(&server, &chat, json!({})).await;
    assert_eq!(status, 200, "{created}");
}

#[tokio::test]
async fn custom_participants_follow_connects_rules() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;

    let (status, refused) = create_participant(
        &server,
        &chat,
        json!({"ParticipantDetails": {"ParticipantRole": "AGENT", "DisplayName": "A"}}),
    )
    .await;
    assert_eq!(
        (status, refused["__type"].as_str()),
        (400, Some("InvalidRequestException"))
    );

    let (status, first) =
        create_participant(&server, &chat, json!({"ClientToken": "bot-once"})).await;
    assert_eq!(status, 200, "{first}");
    assert!(
        first["ParticipantCredentials"]["Expiry"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let (status, retry) =
        create_participant(&server, &chat, json!({"ClientToken": "bot-once"})).await;
    assert_eq!(status, 200, "{retry}");
    assert_eq!(retry["ParticipantId"], first["ParticipantId"]);

    let (status, second) = create_participant(&server, &chat, json!({})).await;
    assert_eq!(
        (status, second["__type"].as_str()),
        (402, Some("ServiceQuotaExceededException")),
        "{second}"
    );

    // Before it connects a custom participant can neither send nor reach attachments.
    let token = first["ParticipantCredentials"]["ParticipantToken"]
        .as_str()
        .unwrap();
    let (status, _, connection) = server
        .participant(
            "/participant/connection",
            token,
            json!({"Type": ["CONNECTION_CREDENTIALS"]}),
        )
        .await;
    assert_eq!(status, 200, "{connection}");
    let connection_token = connection["ConnectionCredentials"]["ConnectionToken"]
        .as_str()
        .unwrap();
    let (status, body) = send_text(&server, connection_token, "too early").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("AccessDeniedException"))
    );
    for path in [
        "/participant/start-attachment-upload",
        "/participant/complete-attachment-upload",
        "/participant/attachment",
    ] {
        let (status, _, body) = server.participant(path, connection_token, json!({})).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (403, Some("AccessDeniedException")),
            "{path}: {body}"
        );
        assert!(body["Message"].as_str().unwrap().contains("CUSTOM_BOT"));
        // The customer is not refused for its role (the operation is simply not built yet).
        let (status, _, body) = server
            .participant(path, &chat.connection_token, json!({}))
            .await;
        assert_ne!(
            body["__type"].as_str(),
            Some("AccessDeniedException"),
            "{path}: {status} {body}"
        );
    }

    // Its 15-second window (150 ms here) closes: connecting is refused and its place is free.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _, late) = server
        .participant(
            "/participant/connection",
            token,
            json!({"Type": ["WEBSOCKET"], "ConnectParticipant": true}),
        )
        .await;
    assert_eq!(
        (status, late["__type"].as_str()),
        (404, Some("ResourceNotFoundException")),
        "{late}"
    );
    assert_eq!(late["ResourceType"], "PARTICIPANT");
    let (status, replacement) = create_participant(&server, &chat, json!({})).await;
    assert_eq!(status, 200, "{replacement}");

    // No custom participant joins an ended chat.
    let (status, _, _) = server
        .participant("/participant/disconnect", &chat.connection_token, json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, ended) = create_participant(&server, &chat, json!({})).await;
    assert_eq!(
        (status, ended["__type"].as_str()),
        (400, Some("InvalidRequestException"))
    );
    let missing = Chat {
        contact_id: uuid::Uuid::new_v4().to_string(),
        ..chat
    };
    let (status, unknown) = create_participant(&server, &missing, json!({})).await;
    assert_eq!(
        (status, unknown["__type"].as_str()),
        (404, Some("ResourceNotFoundException"))
    );
}

#[tokio::test]
async fn timer_configurations_are_validated() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    for (settings, code) in [
        (
            json!([minutes("CUSTOMER", "IDLE", 1)]),
            "InvalidParameterException",
        ),
        (
            json!([minutes("CUSTOMER", "IDLE", 481)]),
            "InvalidParameterException",
        ),
        (
            json!([minutes("CUSTOMER", "NAP", 5)]),
            "InvalidParameterException",
        ),
        // The model lists the roles that have timers.
        (
            json!([minutes("SYSTEM", "IDLE", 5)]),
            "InvalidParameterException",
        ),
        (
            json!([minutes("CUSTOM_BOT", "IDLE", 5)]),
            "InvalidParameterException",
        ),
        (
            json!([minutes("AGENT", "IDLE", 5), minutes("AGENT", "IDLE", 6)]),
            "InvalidRequestException",
        ),
        (json!([]), "InvalidParameterException"),
        (
            json!([{"ParticipantRole": "CUSTOMER", "TimerType": "IDLE", "TimerValue": {"ParticipantTimerAction": "Unset", "ParticipantTimerDurationInMinutes": 3}}]),
            "InvalidParameterException",
        ),
    ] {
        let (status, body) = set_timers(&server, &chat, settings.clone()).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some(code)),
            "{settings}: {body}"
        );
    }
    let all = json!([
        minutes("CUSTOMER", "IDLE", 2),
        minutes("CUSTOMER", "DISCONNECT_NONCUSTOMER", 480),
        minutes("AGENT", "IDLE", 10),
        {"ParticipantRole": "AGENT", "TimerType": "DISCONNECT_NONCUSTOMER", "TimerValue": {"ParticipantTimerAction": "Unset"}},
    ]);
    let (status, body) = set_timers(&server, &chat, all).await;
    assert_eq!((status, body), (200, json!({})));
    let contact = server
        .state
        .store
        .get_contact(&chat.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.timer_config.customer.idle_minutes, Some(2));
    assert_eq!(contact.timer_config.customer.disconnect_minutes, Some(480));
    assert_eq!(contact.timer_config.agent.idle_minutes, Some(10));
    assert_eq!(contact.timer_config.agent.disconnect_minutes, None);
    // Settings not named stay as they were; Unset clears one.
    let (status, _) = set_timers(
        &server,
        &chat,
        json!([{"ParticipantRole": "CUSTOMER", "TimerType": "IDLE", "TimerValue": {"ParticipantTimerAction": "Unset"}}]),
    )
    .await;
    assert_eq!(status, 200);
    let contact = server
        .state
        .store
        .get_contact(&chat.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.timer_config.customer.idle_minutes, None);
    assert_eq!(contact.timer_config.customer.disconnect_minutes, Some(480));
    let missing = Chat {
        contact_id: uuid::Uuid::new_v4().to_string(),
        ..chat
    };
    let (status, body) =
        set_timers(&server, &missing, json!([minutes("CUSTOMER", "IDLE", 2)])).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (404, Some("ResourceNotFoundException"))
    );
}

#[tokio::test]
async fn an_idle_customer_is_marked_idle_returns_and_is_left_alone_by_an_auto_disconnected_bot() {
    let (_dir, server) = server().await;
    let mut removals = server.state.removals.subscribe();
    let chat = server.start_chat(json!({})).await;
    let (status, _) = set_timers(
        &server,
        &chat,
        json!([
            minutes("CUSTOMER", "IDLE", 2),
            minutes("CUSTOMER", "DISCONNECT_NONCUSTOMER", 2)
        ]),
    )
    .await;
    assert_eq!(status, 200);
    let mut customer = open_socket(&chat.websocket_url).await;
    let joined_at = Instant::now();
    let mut bot = add_bot(&server, &chat).await;
    until(&mut customer, JOINED).await;

    // Bot messages do not reset the customer's timer: it is the customer who is quiet.
    let (status, _) = send_text(&server, &bot.connection_token, "Are you there?").await;
    assert_eq!(status, 200);
    let (idle, _) = until(&mut customer, IDLE).await;
    let idle_after = joined_at.elapsed();
    assert_eq!(idle["ParticipantRole"], "CUSTOMER");
    assert_eq!(idle["ParticipantId"], chat.participant_id.as_str());
    assert!(
        idle_after >= Duration::from_millis(1_150),
        "idle after {idle_after:?}"
    );
    let (idle_for_bot, _) = until(&mut bot.socket, IDLE).await;
    assert_eq!(idle_for_bot["Id"], idle["Id"], "every socket sees it");

    // A message brings the customer back and restarts the idle timer, not the other one.
    let (status, _) = send_text(&server, &chat.connection_token, "yes").await;
    assert_eq!(status, 200);
    let (returned, before) = until(&mut customer, RETURNED).await;
    assert_eq!(returned["ParticipantId"], chat.participant_id.as_str());
    assert_eq!(before.last().unwrap()["Content"], "yes");
    let back_at = Instant::now();

    // Quiet again: idle after 2 minutes, auto-disconnect 2 minutes after that.
    until(&mut customer, IDLE).await;
    let (auto, _) = until(&mut customer, AUTO_DISCONNECTION).await;
    let auto_after = back_at.elapsed();
    assert!(
        auto_after >= Duration::from_millis(2_350),
        "auto-disconnect after {auto_after:?}"
    );
    assert_eq!(auto["ParticipantRole"], "CUSTOMER");
    let (left, _) = until(&mut customer, LEFT).await;
    assert_eq!(left["ParticipantId"], bot.id.as_str());
    let removal = tokio::time::timeout(Duration::from_secs(1), removals.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removal.participant.id, bot.id);
    assert_eq!(removal.cause, RemovalCause::AutoDisconnect);

    // The customer stays; the bot is gone; the events are not in the transcript.
    let (status, _) = send_text(&server, &chat.connection_token, "hello?").await;
    assert_eq!(status, 200);
    let (status, _) = send_text(&server, &bot.connection_token, "me too").await;
    assert_eq!(status, 403);
    let types = transcript_types(&server, &chat.connection_token).await;
    assert!(
        !types
            .iter()
            .any(|t| t == IDLE || t == RETURNED || t == AUTO_DISCONNECTION),
        "{types:?}"
    );
    assert_eq!(types.iter().filter(|t| *t == LEFT).count(), 1);
}

#[tokio::test]
async fn the_configuration_at_join_holds_and_updates_apply_from_the_next_join() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    let (status, _) = set_timers(&server, &chat, json!([minutes("CUSTOMER", "IDLE", 2)])).await;
    assert_eq!(status, 200);
    let mut customer = open_socket(&chat.websocket_url).await;
    let joined_at = Instant::now();
    let bot = add_bot(&server, &chat).await;
    // Changed while the bot is in the chat: stored, not applied.
    let (status, _) = set_timers(&server, &chat, json!([minutes("CUSTOMER", "IDLE", 8)])).await;
    assert_eq!(status, 200);
    until(&mut customer, IDLE).await;
    let idle_after = joined_at.elapsed();
    assert!(
        idle_after < Duration::from_millis(3_000),
        "the 2-minute timer ran: {idle_after:?}"
    );

    // The bot leaves: timers stop (nothing more, even past the old deadline).
    let (status, _, _) = server
        .participant("/participant/disconnect", &bot.connection_token, json!({}))
        .await;
    assert_eq!(status, 200);
    until(&mut customer, LEFT).await;
    let contact = server
        .state
        .store
        .get_contact(&chat.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!contact.watches_messages);

    // The next bot gets the 8-minute configuration: no idle event within 2.5 minutes.
    let rejoined_at = Instant::now();
    let _bot = add_bot(&server, &chat).await;
    until(&mut customer, JOINED).await;
    let quiet =
        tokio::time::timeout(Duration::from_millis(1_500), until(&mut customer, IDLE)).await;
    assert!(
        quiet.is_err(),
        "no idle event {:?} after the join",
        rejoined_at.elapsed()
    );
}

#[tokio::test]
async fn timers_do_not_run_without_configuration_or_partner() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    // Agent timers time nobody in a customer / custom participant chat.
    let (status, _) = set_timers(
        &server,
        &chat,
        json!([
            minutes("AGENT", "IDLE", 2),
            minutes("AGENT", "DISCONNECT_NONCUSTOMER", 2)
        ]),
    )
    .await;
    assert_eq!(status, 200);
    let mut customer = open_socket(&chat.websocket_url).await;
    let _bot = add_bot(&server, &chat).await;
    until(&mut customer, JOINED).await;
    let quiet = tokio::time::timeout(Duration::from_millis(2_800), next_item(&mut customer)).await;
    assert!(
        matches!(quiet, Err(_) | Ok(None)),
        "nothing happens: {quiet:?}"
    );
    let contact = server
        .state
        .store
        .get_contact(&chat.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!contact.watches_messages);
}
