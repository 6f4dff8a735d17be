//! A chat over the real wire: Connect and participant calls, and the WebSocket stream.

mod common;

use common::{Socket, TestServer, next_frame, next_item, open_socket};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const TYPING: &str = "application/vnd.amazonaws.connect.event.typing";
const JOINED: &str = "application/vnd.amazonaws.connect.event.participant.joined";
const LEFT: &str = "application/vnd.amazonaws.connect.event.participant.left";
const ENDED: &str = "application/vnd.amazonaws.connect.event.chat.ended";
const READ: &str = "application/vnd.amazonaws.connect.event.message.read";

async fn server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), 60_000).await;
    (dir, server)
}

async fn send_text(server: &TestServer, token: &str, text: &str) -> Value {
    let (status, _, body) = server
        .participant(
            "/participant/message",
            token,
            json!({"ContentType": "text/plain", "Content": text}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_customer_chats_over_the_socket_and_leaves() {
    let (_dir, server) = server().await;
    let chat = server
        .start_chat(json!({"InitialMessage": {"ContentType": "text/plain", "Content": "first"}}))
        .await;
    assert!(
        chat.websocket_url.starts_with("ws://127.0.0.1:"),
        "{}",
        chat.websocket_url
    );
    let mut socket = open_socket(&chat.websocket_url).await;

    socket
        .send(Message::text(r#"{"topic":"aws/heartbeat"}"#))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut socket).await,
        Some(json!({"topic":"aws/heartbeat"}))
    );
    socket
        .send(Message::text(r#"{"topic":"aws/ping"}"#))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut socket).await,
        Some(json!({"topic":"aws/ping","statusCode":200,"statusContent":"OK"}))
    );

    let sent = send_text(&server, &chat.connection_token, "hello").await;
    let item = next_item(&mut socket).await.unwrap();
    assert_eq!(item["Id"], sent["Id"]);
    assert_eq!(item["AbsoluteTime"], sent["AbsoluteTime"]);
    assert_eq!(item["Type"], "MESSAGE");
    assert_eq!(item["Content"], "hello");
    assert_eq!(item["ContentType"], "text/plain");
    assert_eq!(item["ParticipantRole"], "CUSTOMER");
    assert_eq!(item["ParticipantId"], chat.participant_id.as_str());
    assert_eq!(item["DisplayName"], "Customer");
    assert_eq!(item["ContactId"], chat.contact_id.as_str());
    assert_eq!(item["InitialContactId"], chat.contact_id.as_str());

    let (status, _, typing) = server
        .participant(
            "/participant/event",
            &chat.connection_token,
            json!({"ContentType": TYPING}),
        )
        .await;
    assert_eq!(status, 200, "{typing}");
    let item = next_item(&mut socket).await.unwrap();
    assert_eq!(
        (item["Type"].as_str(), item["ContentType"].as_str()),
        (Some("EVENT"), Some(TYPING))
    );
    assert_eq!(item["Id"], typing["Id"]);

    let (status, _, _) = server
        .participant("/participant/disconnect", &chat.connection_token, json!({}))
        .await;
    assert_eq!(status, 200);
    let left = next_item(&mut socket).await.unwrap();
    assert_eq!(left["ContentType"], LEFT);
    assert_eq!(left["ParticipantId"], chat.participant_id.as_str());
    let ended = next_item(&mut socket).await.unwrap();
    assert_eq!(ended["ContentType"], ENDED);
    assert_eq!(
        next_frame(&mut socket).await,
        None,
        "the socket closes after chat.ended"
    );

    for (path, token) in [
        ("/participant/message", &chat.connection_token),
        ("/participant/transcript", &chat.connection_token),
        ("/participant/connection", &chat.participant_token),
    ] {
        let (status, headers, body) = server
            .participant(
                path,
                token,
                json!({"ContentType": "text/plain", "Content": "x", "Type": ["WEBSOCKET"]}),
            )
            .await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(headers["x-amzn-errortype"], "AccessDeniedException");
        assert_eq!(body["__type"], "AccessDeniedException");
    }
    let (_, _, contact) = server
        .connect(
            "GET",
            &format!("/contacts/{}/{}", chat.instance_id, chat.contact_id),
            None,
        )
        .await;
    assert!(
        contact["Contact"]["DisconnectTimestamp"].is_number(),
        "{contact}"
    );
}

#[tokio::test]
async fn every_socket_of_a_participant_receives_and_a_sixth_is_refused() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    let mut sockets: Vec<Socket> = Vec::new();
    for _ in 0..5 {
        let (_, _, connection) = server
            .participant(
                "/participant/connection",
                &chat.participant_token,
                json!({"Type": ["WEBSOCKET"]}),
            )
            .await;
        sockets.push(open_socket(connection["Websocket"]["Url"].as_str().unwrap()).await);
    }
    let (_, _, connection) = server
        .participant(
            "/participant/connection",
            &chat.participant_token,
            json!({"Type": ["WEBSOCKET"]}),
        )
        .await;
    assert!(
        tokio_tungstenite::connect_async(connection["Websocket"]["Url"].as_str().unwrap())
            .await
            .is_err()
    );

    for n in 0..3 {
        send_text(&server, &chat.connection_token, &format!("m{n}")).await;
    }
    for socket in &mut sockets {
        for n in 0..3 {
            assert_eq!(
                next_item(socket).await.unwrap()["Content"],
                format!("m{n}"),
                "in order on every socket"
            );
        }
    }
}

#[tokio::test]
async fn receipts_become_message_metadata_and_are_never_deduplicated() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    let mut socket = open_socket(&chat.websocket_url).await;
    let first = send_text(&server, &chat.connection_token, "one").await;
    let second = send_text(&server, &chat.connection_token, "two").await;
    next_item(&mut socket).await.unwrap();
    next_item(&mut socket).await.unwrap();
    let mut ids = Vec::new();
    for message in [&first, &second] {
        let content = json!({"messageId": message["Id"]}).to_string();
        let (status, _, body) = server
            .participant("/participant/event", &chat.connection_token, json!({"ContentType": READ, "Content": content, "ClientToken": "INCOMING_READ_RECEIPT"}))
            .await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["Id"].clone());
        let item = next_item(&mut socket).await.unwrap();
        assert_eq!(item["Type"], "MESSAGEMETADATA");
        assert_eq!(item["MessageMetadata"]["MessageId"], message["Id"]);
        let receipt = &item["MessageMetadata"]["Receipts"][0];
        assert!(receipt["ReadTimestamp"].is_string());
        assert_eq!(
            receipt["RecipientParticipantId"],
            chat.participant_id.as_str()
        );
    }
    assert_ne!(ids[0], ids[1]);
    let (status, _, body) = server
        .participant(
            "/participant/event",
            &chat.connection_token,
            json!({"ContentType": READ, "Content": "{\"messageId\":\"nope\"}"}),
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationException"))
    );
}

#[tokio::test]
async fn client_tokens_make_retries_idempotent() {
    let (_dir, server) = server().await;
    let (instance, flow) = server.instance_and_flow().await;
    let body = json!({"InstanceId": instance, "ContactFlowId": flow, "ParticipantDetails": {"DisplayName": "A"}, "ClientToken": "start-1"});
    let (_, _, first) = server
        .connect("PUT", "/contact/chat", Some(body.clone()))
        .await;
    let (status, _, again) = server.connect("PUT", "/contact/chat", Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(first["ContactId"], again["ContactId"]);
    assert_eq!(first["ParticipantId"], again["ParticipantId"]);
    let (status, _, connection) = server
        .participant(
            "/participant/connection",
            again["ParticipantToken"].as_str().unwrap(),
            json!({"Type": ["CONNECTION_CREDENTIALS"]}),
        )
        .await;
    assert_eq!(status, 200, "the replayed token works too");
    let (status, _, reused) = server
        .connect("PUT", "/contact/chat", Some(json!({"InstanceId": instance, "ContactFlowId": flow, "ParticipantDetails": {"DisplayName": "B"}, "ClientToken": "start-1"})))
        .await;
    assert_eq!(
        (status, reused["__type"].as_str()),
        (400, Some("InvalidParameterException"))
    );

    let token = connection["ConnectionCredentials"]["ConnectionToken"]
        .as_str()
        .unwrap();
    let message = json!({"ContentType": "text/plain", "Content": "once", "ClientToken": "msg-1"});
    let (_, _, a) = server
        .participant("/participant/message", token, message.clone())
        .await;
    let (_, _, b) = server
        .participant("/participant/message", token, message)
        .await;
    assert_eq!(a, b);
    let (_, _, transcript) = server
        .participant("/participant/transcript", token, json!({"MaxResults": 100}))
        .await;
    let messages = transcript["Transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["Type"] == "MESSAGE")
        .count();
    assert_eq!(messages, 1);
}

#[tokio::test]
async fn transcripts_page_in_both_directions() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    let mut sent = Vec::new();
    for n in 0..25 {
        sent.push(send_text(&server, &chat.connection_token, &format!("m{n}")).await["Id"].clone());
    }
    server
        .participant(
            "/participant/event",
            &chat.connection_token,
            json!({"ContentType": TYPING}),
        )
        .await;
    let token = chat.connection_token.as_str();
    let contents = |page: &Value| -> Vec<String> {
        page["Transcript"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i["Content"]
                    .as_str()
                    .unwrap_or(i["ContentType"].as_str().unwrap())
                    .to_string()
            })
            .collect()
    };

    // Default: newest first, 10 items, backward from the end; an empty StartPosition is no anchor.
    let (_, _, page) = server
        .participant(
            "/participant/transcript",
            token,
            json!({"StartPosition": {}}),
        )
        .await;
    assert_eq!(page["InitialContactId"], chat.contact_id.as_str());
    assert_eq!(
        contents(&page),
        (15..25).rev().map(|n| format!("m{n}")).collect::<Vec<_>>()
    );
    let (_, _, page) = server
        .participant(
            "/participant/transcript",
            token,
            json!({"NextToken": page["NextToken"], "StartPosition": {}}),
        )
        .await;
    assert_eq!(
        contents(&page),
        (5..15).rev().map(|n| format!("m{n}")).collect::<Vec<_>>()
    );
    let (_, _, page) = server
        .participant(
            "/participant/transcript",
            token,
            json!({"NextToken": page["NextToken"]}),
        )
        .await;
    let mut expected: Vec<String> = (0..5).rev().map(|n| format!("m{n}")).collect();
    expected.push(JOINED.to_string());
    assert_eq!(
        contents(&page),
        expected,
        "typing is not in the transcript; the join is"
    );
    assert!(page.get("NextToken").is_none());

    // ChatJS's call: BACKWARD + ASCENDING.
    let (_, _, page) = server
        .participant("/participant/transcript", token, json!({"MaxResults": 15, "ScanDirection": "BACKWARD", "SortOrder": "ASCENDING", "StartPosition": {}}))
        .await;
    assert_eq!(
        contents(&page),
        (10..25).map(|n| format!("m{n}")).collect::<Vec<_>>()
    );

    // Forward from an item, inclusive.
    let (_, _, page) = server
        .participant(
            "/participant/transcript",
            token,
            json!({"MaxResults": 3, "SortOrder": "ASCENDING", "StartPosition": {"Id": sent[20]}}),
        )
        .await;
    assert_eq!(contents(&page), vec!["m20", "m21", "m22"]);

    // MostRecent counts back from the newest.
    let (_, _, page) = server
        .participant(
            "/participant/transcript",
            token,
            json!({"MaxResults": 5, "SortOrder": "ASCENDING", "StartPosition": {"MostRecent": 2}}),
        )
        .await;
    assert_eq!(contents(&page), vec!["m22", "m23", "m24"]);

    // AbsoluteTime after the last item: nothing forward.
    let (_, _, page) = server
        .participant(
            "/participant/transcript",
            token,
            json!({"StartPosition": {"AbsoluteTime": "2999-01-01T00:00:00.000Z"}}),
        )
        .await;
    assert_eq!(page["Transcript"], json!([]));

    for bad in [
        json!({"StartPosition": {"Id": "x", "MostRecent": 1}}),
        json!({"StartPosition": {"AbsoluteTime": "yesterday"}}),
        json!({"StartPosition": {"Id": "no-such-item"}}),
        json!({"NextToken": "garbage"}),
        json!({"MaxResults": 101}),
        json!({"ScanDirection": "SIDEWAYS"}),
    ] {
        let (status, _, body) = server
            .participant("/participant/transcript", token, bad.clone())
            .await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("ValidationException")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn messages_are_checked_against_the_chat_and_the_model() {
    let (_dir, server) = server().await;
    let chat = server
        .start_chat(json!({"SupportedMessagingContentTypes": ["text/plain", "application/json"]}))
        .await;
    let token = chat.connection_token.as_str();
    for (body, ok) in [
        (
            json!({"ContentType": "application/json", "Content": "{\"a\":1}"}),
            true,
        ),
        (
            json!({"ContentType": "application/json", "Content": "not json"}),
            false,
        ),
        (
            json!({"ContentType": "text/markdown", "Content": "*not enabled*"}),
            false,
        ),
        (json!({"ContentType": "image/png", "Content": "x"}), false),
        (
            json!({"ContentType": "text/plain", "Content": "x".repeat(16_384)}),
            true,
        ),
        (
            json!({"ContentType": "text/plain", "Content": "é".repeat(8_193)}),
            false,
        ),
        (json!({"ContentType": "text/plain", "Content": ""}), false),
        (json!({"ContentType": "text/plain"}), false),
        (json!({"ContentType": "text/plain", "Content": 5}), false),
    ] {
        let (status, _, reply) = server
            .participant("/participant/message", token, body.clone())
            .await;
        if ok {
            assert_eq!(status, 200, "{reply}");
        } else {
            assert_eq!(
                (status, reply["__type"].as_str()),
                (400, Some("ValidationException")),
                "{body}: {reply}"
            );
        }
    }
}

#[tokio::test]
async fn tokens_only_work_where_they_belong() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    let (status, _, _) = server
        .participant(
            "/participant/message",
            &chat.participant_token,
            json!({"ContentType": "text/plain", "Content": "x"}),
        )
        .await;
    assert_eq!(status, 403, "a ParticipantToken cannot send messages");
    let (status, _, _) = server
        .participant(
            "/participant/connection",
            &chat.connection_token,
            json!({"Type": ["WEBSOCKET"]}),
        )
        .await;
    assert_eq!(status, 403, "a ConnectionToken cannot open connections");
    let (status, _, _) = server
        .participant(
            "/participant/message",
            "garbage",
            json!({"ContentType": "text/plain", "Content": "x"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, body) = server
        .raw(
            "POST",
            "/participant/message",
            &[("content-type", "application/json")],
            br#"{"ContentType":"text/plain","Content":"x"}"#,
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationException")),
        "no bearer: {body}"
    );
    let (status, _, body) = server
        .participant(
            "/participant/connection",
            &chat.participant_token,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationException"))
    );
    let (status, _, body) = server
        .participant(
            "/participant/connection",
            &chat.participant_token,
            json!({"ConnectParticipant": true}),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
}

#[tokio::test]
async fn stop_contact_ends_the_chat_for_its_sockets() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    let mut socket = open_socket(&chat.websocket_url).await;
    let body = json!({"InstanceId": chat.instance_id, "ContactId": chat.contact_id});
    let (status, _, reply) = server
        .connect("POST", "/contact/stop", Some(body.clone()))
        .await;
    assert_eq!((status, reply), (200, json!({})));
    assert_eq!(next_item(&mut socket).await.unwrap()["ContentType"], ENDED);
    let (status, headers, reply) = server.connect("POST", "/contact/stop", Some(body)).await;
    assert_eq!(status, 410, "{reply}");
    assert_eq!(headers["x-amzn-errortype"], "ContactNotFoundException");
}

#[tokio::test]
async fn a_chat_ends_when_its_duration_is_up() {
    let dir = tempfile::tempdir().unwrap();
    // One minute lasts 10 ms, so the shortest chat (60 minutes) lasts 0.6 s.
    let server = TestServer::start(dir.path(), 10).await;
    let chat = server
        .start_chat(json!({"ChatDurationInMinutes": 60}))
        .await;
    let mut socket = open_socket(&chat.websocket_url).await;
    let ended = next_item(&mut socket).await.expect("chat.ended within 5 s");
    assert_eq!(ended["ContentType"], ENDED);
    let (status, _, _) = server
        .participant(
            "/participant/message",
            &chat.connection_token,
            json!({"ContentType": "text/plain", "Content": "late"}),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn chats_survive_a_restart_and_their_deadlines_are_rearmed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), 60_000).await;
    let kept = server.start_chat(json!({})).await;
    let sent = send_text(&server, &kept.connection_token, "before the restart").await;
    server.stop().await;

    let server = TestServer::start(dir.path(), 60_000).await;
    let (status, _, page) = server
        .participant("/participant/transcript", &kept.connection_token, json!({}))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["Transcript"][0]["Id"], sent["Id"]);
    let (status, _, connection) = server
        .participant(
            "/participant/connection",
            &kept.participant_token,
            json!({"Type": ["WEBSOCKET"]}),
        )
        .await;
    assert_eq!(status, 200);
    let mut socket = open_socket(connection["Websocket"]["Url"].as_str().unwrap()).await;
    send_text(&server, &kept.connection_token, "after").await;
    assert_eq!(next_item(&mut socket).await.unwrap()["Content"], "after");
    let (_, _, instances) = server.connect("GET", "/instance", None).await;
    assert_eq!(
        instances["InstanceSummaryList"].as_array().unwrap().len(),
        1,
        "defaults are created once"
    );
    server.stop().await;

    // A chat whose deadline passed while Liaison was down ends right after the next start.
    let server = TestServer::start(dir.path(), 10).await;
    let short = server
        .start_chat(json!({"ChatDurationInMinutes": 60}))
        .await;
    server.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let server = TestServer::start(dir.path(), 10).await;
    let mut ended = false;
    for _ in 0..50 {
        let (status, _, _) = server
            .participant(
                "/participant/transcript",
                &short.connection_token,
                json!({}),
            )
            .await;
        if status == 403 {
            ended = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ended, "the expired chat ended after the restart");
}

#[tokio::test]
async fn items_wait_for_the_subscription_and_none_are_lost() {
    let (_dir, server) = server().await;
    let chat = server.start_chat(json!({})).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(chat.websocket_url.as_str())
        .await
        .unwrap();
    send_text(&server, &chat.connection_token, "before subscribing").await;
    let early = tokio::time::timeout(
        std::time::Duration::from_millis(400),
        next_frame(&mut socket),
    )
    .await;
    assert!(
        early.is_err(),
        "nothing is pushed before aws/subscribe: {early:?}"
    );
    socket
        .send(Message::text(
            r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#,
        ))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut socket).await.unwrap()["topic"],
        "aws/subscribe"
    );
    let item = next_item(&mut socket).await.unwrap();
    assert_eq!(item["Content"], "before subscribing");
}
