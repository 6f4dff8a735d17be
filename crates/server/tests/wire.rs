//! Wire conventions every response follows: SigV4 on the Connect API, AWS error shapes, request
//! ids, CORS, and clear errors for bad input.

mod common;

use common::{SECRET_KEY, TestServer};
use serde_json::json;

async fn server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), 60_000).await;
    (dir, server)
}

#[tokio::test]
async fn the_connect_api_requires_a_valid_signature() {
    let (_dir, server) = server().await;
    let (status, headers, body) = server.raw("GET", "/instance", &[], b"").await;
    assert_eq!(status, 403);
    assert_eq!(
        headers["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    let (status, headers, _) = server
        .connect_as("wrong-secret", "GET", "/instance", None)
        .await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-amzn-errortype"], "InvalidSignatureException");
    let (status, _, body) = server
        .connect_as(SECRET_KEY, "GET", "/instance", None)
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_errors_carry_their_type() {
    let (_dir, server) = server().await;
    let (instance, flow) = server.instance_and_flow().await;
    let cases = [
        server.connect("GET", "/instance", None).await,
        server.connect("GET", "/instance/no-such-instance", None).await,
        server.connect("PUT", "/contact/chat", Some(json!({"InstanceId": instance, "ContactFlowId": "no-such-flow", "ParticipantDetails": {"DisplayName": "A"}}))).await,
        server.raw("GET", "/no/such/route", &[], b"").await,
    ];
    for (status, headers, body) in &cases {
        let request_id = headers["x-amzn-requestid"].to_str().unwrap();
        assert_eq!(request_id.len(), 36, "{body}");
        if *status >= 400 {
            assert_eq!(
                headers["x-amzn-errortype"].to_str().unwrap(),
                body["__type"].as_str().unwrap()
            );
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert_eq!(body["Message"], body["message"]);
        }
    }
    assert_eq!(cases[1].0, 404);
    assert_eq!(cases[1].2["__type"], "ResourceNotFoundException");
    assert_eq!(cases[2].0, 404);
    assert_eq!(cases[3].0, 404);
    assert_eq!(cases[3].1["x-amzn-errortype"], "UnknownOperationException");
    let _ = flow;
}

#[tokio::test]
async fn bad_input_gets_validation_errors_not_crashes() {
    let (_dir, server) = server().await;
    let (instance, flow) = server.instance_and_flow().await;
    let start = |extra: serde_json::Value| {
        let mut body = json!({"InstanceId": instance, "ContactFlowId": flow, "ParticipantDetails": {"DisplayName": "A"}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, code) in [
        (
            start(json!({"ChatDurationInMinutes": 59})),
            "InvalidParameterException",
        ),
        (
            start(json!({"ChatDurationInMinutes": 10081})),
            "InvalidParameterException",
        ),
        (
            start(json!({"ChatDurationInMinutes": "long"})),
            "InvalidParameterException",
        ),
        (
            start(json!({"ParticipantDetails": {}})),
            "InvalidParameterException",
        ),
        (
            start(json!({"SupportedMessagingContentTypes": ["text/markdown"]})),
            "InvalidParameterException",
        ),
        (
            start(json!({"SupportedMessagingContentTypes": ["text/plain", "video/mp4"]})),
            "InvalidParameterException",
        ),
        (
            start(json!({"Attributes": {"big": "x".repeat(32_768)}})),
            "InvalidParameterException",
        ),
        (
            start(json!({"Attributes": {"bad key": "v"}})),
            "InvalidParameterException",
        ),
        (
            start(
                json!({"PersistentChat": {"SourceContactId": "x", "RehydrationType": "ENTIRE_PAST_SESSION"}}),
            ),
            "InvalidRequestException",
        ),
        (
            start(json!({"RelatedContactId": "no-such-contact"})),
            "ResourceNotFoundException",
        ),
        (
            start(json!({"InitialMessage": {"ContentType": "text/markdown", "Content": "x"}})),
            "InvalidParameterException",
        ),
    ] {
        let (status, _, reply) = server
            .connect("PUT", "/contact/chat", Some(body.clone()))
            .await;
        assert_eq!(reply["__type"], code, "{body}: {reply}");
        assert!(status == 400 || status == 404);
    }
    let (status, _, reply) = server.connect("PUT", "/contact/chat", None).await;
    assert_eq!(
        (status, reply["__type"].as_str()),
        (400, Some("InvalidParameterException")),
        "{reply}"
    );

    // A malformed body is refused before any handler runs; SigV4 still has to pass first.
    let (status, headers, _) = server
        .raw(
            "PUT",
            "/contact/chat",
            &[("content-type", "application/json")],
            b"{not json",
        )
        .await;
    assert_eq!(
        (status, headers["x-amzn-errortype"].to_str().unwrap()),
        (403, "MissingAuthenticationTokenException")
    );
    let (status, _, reply) = server
        .raw(
            "POST",
            "/participant/message",
            &[("x-amz-bearer", "t")],
            b"{not json",
        )
        .await;
    assert_eq!(status, 403, "token checked first: {reply}");

    let oversized = vec![b' '; 2 * 1024 * 1024];
    let (status, _, reply) = server
        .raw(
            "POST",
            "/participant/message",
            &[("x-amz-bearer", "t")],
            &oversized,
        )
        .await;
    assert_eq!(
        (status, reply["__type"].as_str()),
        (400, Some("ValidationException")),
        "{reply}"
    );
}

#[tokio::test]
async fn operations_not_built_yet_say_so() {
    let (_dir, server) = server().await;
    let (instance, _) = server.instance_and_flow().await;
    let (status, _, reply) = server
        .connect("GET", &format!("/instance/{instance}/attributes"), None)
        .await;
    assert_eq!(
        (status, reply["__type"].as_str()),
        (400, Some("InvalidRequestException"))
    );
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("ListInstanceAttributes"),
        "{reply}"
    );
    let chat = server.start_chat(json!({})).await;
    let (status, _, reply) = server
        .participant(
            "/participant/authentication-url",
            &chat.connection_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("GetAuthenticationUrl"),
        "{reply}"
    );
}

#[tokio::test]
async fn contact_attributes_merge_within_the_limit() {
    let (_dir, server) = server().await;
    let chat = server
        .start_chat(json!({"Attributes": {"a": "1", "b": "2"}}))
        .await;
    let path = format!(
        "/contact/attributes/{}/{}",
        chat.instance_id, chat.contact_id
    );
    let update = |attributes: serde_json::Value| json!({"InstanceId": chat.instance_id, "InitialContactId": chat.contact_id, "Attributes": attributes});
    let (status, _, _) = server
        .connect(
            "POST",
            "/contact/attributes",
            Some(update(json!({"b": "3", "c": "4"}))),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, reply) = server.connect("GET", &path, None).await;
    assert_eq!(reply["Attributes"], json!({"a": "1", "b": "3", "c": "4"}));
    let (status, _, reply) = server
        .connect(
            "POST",
            "/contact/attributes",
            Some(update(json!({"d": "x".repeat(32_765)}))),
        )
        .await;
    assert_eq!(
        (status, reply["__type"].as_str()),
        (400, Some("InvalidParameterException")),
        "{reply}"
    );
    let (_, _, reply) = server.connect("GET", &path, None).await;
    assert_eq!(
        reply["Attributes"],
        json!({"a": "1", "b": "3", "c": "4"}),
        "nothing written on refusal"
    );
    let (status, _, _) = server
        .connect(
            "GET",
            &format!("/contact/attributes/{}/no-such-contact", chat.instance_id),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn flows_and_instances_are_described() {
    let (_dir, server) = server().await;
    let (instance, flow) = server.instance_and_flow().await;
    let (_, _, described) = server
        .connect("GET", &format!("/instance/{instance}"), None)
        .await;
    assert_eq!(described["Instance"]["InstanceStatus"], "ACTIVE");
    assert!(
        described["Instance"]["CreatedTime"].is_number(),
        "Connect timestamps are epoch seconds"
    );
    let (_, _, flows) = server
        .connect(
            "GET",
            &format!("/contact-flows-summary/{instance}?contactFlowTypes=AGENT_WHISPER"),
            None,
        )
        .await;
    assert_eq!(flows["ContactFlowSummaryList"], json!([]));
    let (_, _, flows) = server
        .connect(
            "GET",
            &format!(
                "/contact-flows-summary/{instance}?contactFlowTypes=CONTACT_FLOW&maxResults=1"
            ),
            None,
        )
        .await;
    assert_eq!(flows["ContactFlowSummaryList"].as_array().unwrap().len(), 1);
    // The id may carry a qualifier, percent-encoded by SDKs.
    let (status, _, described) = server
        .connect(
            "GET",
            &format!("/contact-flows/{instance}/{flow}%3A%24SAVED"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{described}");
    let content: serde_json::Value =
        serde_json::from_str(described["ContactFlow"]["Content"].as_str().unwrap()).unwrap();
    assert_eq!(content["Version"], "2019-10-30");
    assert_eq!(
        described["ContactFlow"]["FlowContentSha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
}

#[tokio::test]
async fn browsers_get_cors_answers() {
    let (_dir, server) = server().await;
    let response = server
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/participant/message", server.base))
        .header("origin", "http://127.0.0.1:5000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,x-amz-bearer,x-amz-content-sha256,x-amz-date,x-amz-user-agent")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://127.0.0.1:5000"
    );
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-amz-bearer")
    );
    let (_, headers, _) = server
        .raw(
            "POST",
            "/participant/message",
            &[("origin", "http://127.0.0.1:5000")],
            b"{}",
        )
        .await;
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-amzn-requestid") && exposed.contains("x-amzn-errortype"));
}

#[tokio::test]
async fn the_socket_url_refuses_plain_requests_and_bad_tokens() {
    let (_dir, server) = server().await;
    let (status, _, body) = server
        .raw("GET", "/participant/websocket?token=x", &[], b"")
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationException")),
        "{body}"
    );
    let url = format!(
        "{}/participant/websocket?token=not-a-token",
        server.base.replacen("http", "ws", 1)
    );
    let error = tokio_tungstenite::connect_async(url).await.unwrap_err();
    assert!(error.to_string().contains("403"), "{error}");
}

#[tokio::test]
async fn readiness_and_metrics_are_served() {
    let (_dir, server) = server().await;
    let (status, _, body) = server.raw("GET", "/ready", &[], b"").await;
    assert_eq!(
        (status, body),
        (200, serde_json::Value::String("ready".into()))
    );
    let chat = server.start_chat(json!({})).await;
    let _socket = common::open_socket(&chat.websocket_url).await;
    server
        .participant(
            "/participant/message",
            &chat.connection_token,
            json!({"ContentType": "text/plain"}),
        )
        .await;
    // The chat's flow starts from the timer task just after StartChatContact answers: read
    // the metrics once its week-long wait is armed (or give up and report what they say).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let (status, headers, body) = loop {
        let read = server.raw("GET", "/metrics", &[], b"").await;
        let waiting = read
            .2
            .as_str()
            .is_some_and(|text| text.contains("liaison_armed_timers 2\n"));
        if waiting || std::time::Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = body.as_str().unwrap();
    assert!(text.contains("liaison_requests_total{api=\"connect\",operation=\"StartChatContact\",outcome=\"OK\"} 1"), "{text}");
    assert!(
        text.contains("operation=\"SendMessage\",outcome=\"ValidationException\"} 1"),
        "{text}"
    );
    assert!(text.contains("liaison_open_sockets 1"), "{text}");
    assert!(text.contains("liaison_active_chats 1"), "{text}");
    // The chat's duration and its flow's week-long wait.
    assert!(text.contains("liaison_armed_timers 2"), "{text}");
    assert!(
        text.contains("liaison_store_write_duration_seconds_count"),
        "{text}"
    );
}
