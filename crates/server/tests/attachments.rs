//! Attachments over the real wire: StartAttachmentUpload, the upload URL (a raw `PUT`),
//! CompleteAttachmentUpload pushing an ATTACHMENT item, GetAttachment and its download URL;
//! limits, expiry, another chat's attachment, a custom bot's denial.

mod common;

use common::{Chat, TestServer, next_item, open_socket};
use serde_json::{Value, json};

const PNG: &str = "image/png";

async fn start_upload(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    let (status, _, answer) = server
        .participant("/participant/start-attachment-upload", token, body)
        .await;
    (status, answer)
}

fn png_start(size: usize) -> Value {
    json!({"ContentType": PNG, "AttachmentSizeInBytes": size, "AttachmentName": "screen shot.png",
           "ClientToken": uuid::Uuid::new_v4().to_string()})
}

/// PUTs `bytes` to the upload URL with `content_type`.
async fn put(server: &TestServer, url: &str, content_type: &str, bytes: Vec<u8>) -> (u16, String) {
    let response = server
        .http
        .put(url)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn complete(server: &TestServer, token: &str, attachment_id: &str) -> (u16, Value) {
    let (status, _, answer) = server
        .participant(
            "/participant/complete-attachment-upload",
            token,
            json!({"AttachmentIds": [attachment_id], "ClientToken": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    (status, answer)
}

/// Starts, uploads and completes `bytes` as a PNG; returns the attachment id.
async fn share(server: &TestServer, chat: &Chat, bytes: &[u8]) -> String {
    let (status, started) =
        start_upload(server, &chat.connection_token, png_start(bytes.len())).await;
    assert_eq!(status, 200, "{started}");
    let metadata = &started["UploadMetadata"];
    let (status, body) = put(
        server,
        metadata["Url"].as_str().unwrap(),
        metadata["HeadersToInclude"]["Content-Type"]
            .as_str()
            .unwrap(),
        bytes.to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = started["AttachmentId"].as_str().unwrap().to_string();
    let (status, answer) = complete(server, &chat.connection_token, &id).await;
    assert_eq!(status, 200, "{answer}");
    id
}

#[tokio::test]
async fn a_file_is_uploaded_shared_with_everyone_and_downloaded() {
    let (_dir, server) = TestServer::start_on_sqlite_with(|_| {}).await;
    let chat = server.start_chat(json!({})).await;
    let mut socket = open_socket(&chat.websocket_url).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();

    let (status, started) =
        start_upload(&server, &chat.connection_token, png_start(bytes.len())).await;
    assert_eq!(status, 200, "{started}");
    let metadata = &started["UploadMetadata"];
    assert!(metadata["Url"].as_str().unwrap().starts_with(&server.base));
    assert_eq!(metadata["HeadersToInclude"], json!({"Content-Type": PNG}));
    assert!(metadata["UrlExpiry"].as_str().unwrap().ends_with('Z'));
    let id = started["AttachmentId"].as_str().unwrap().to_string();
    let url = metadata["Url"].as_str().unwrap().to_string();

    // Completing before the bytes arrive is refused; wrong uploads change nothing.
    let (status, _) = complete(&server, &chat.connection_token, &id).await;
    assert_eq!(status, 400);
    let (status, _) = put(&server, &url, "image/jpeg", bytes.clone()).await;
    assert_eq!(status, 400, "another content type");
    let mut longer = bytes.clone();
    longer.push(0);
    let (status, _) = put(&server, &url, PNG, longer).await;
    assert_eq!(status, 400, "more than declared");
    let (status, _) = put(&server, &url, PNG, bytes[..10].to_vec()).await;
    assert_eq!(status, 400, "less than declared");
    let forged = url.replace("token=", "token=x");
    let (status, _) = put(&server, &forged, PNG, bytes.clone()).await;
    assert_eq!(status, 403);

    let (status, body) = put(&server, &url, PNG, bytes.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = put(&server, &url, PNG, bytes.clone()).await;
    assert_eq!(status, 409, "uploaded once");
    let (status, answer) = complete(&server, &chat.connection_token, &id).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = complete(&server, &chat.connection_token, &id).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (409, Some("ConflictException"))
    );

    // The ATTACHMENT item reaches the socket and the transcript.
    let item = next_item(&mut socket).await.unwrap();
    assert_eq!(item["Type"], "ATTACHMENT", "{item}");
    assert_eq!(
        item["Attachments"],
        json!([{"ContentType": PNG, "AttachmentId": id, "AttachmentName": "screen shot.png", "Status": "APPROVED"}])
    );
    assert_eq!(item["ParticipantRole"], "CUSTOMER");
    let transcript = server
        .transcript(&chat.connection_token, json!({"MaxResults": 10}))
        .await;
    assert!(
        transcript
            .iter()
            .any(|i| i["Id"] == item["Id"] && i["Attachments"] == item["Attachments"])
    );

    // GetAttachment: a short-lived URL serving the same bytes.
    let (status, _, got) = server
        .participant(
            "/participant/attachment",
            &chat.connection_token,
            json!({"AttachmentId": id, "UrlExpiryInSeconds": 60}),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["AttachmentSizeInBytes"], bytes.len());
    let download = server
        .http
        .get(got["Url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.headers()["content-type"], PNG);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("screen%20shot%2Epng")
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), bytes);
    let tampered = got["Url"].as_str().unwrap().replace("token=", "token=x");
    let refused = server.http.get(tampered).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    server.stop().await;
}

#[tokio::test]
async fn limits_expiry_other_chats_and_bots_are_refused() {
    // One timer minute is not the clock of URLs: expiry is tested with a short download URL.
    let (_dir, server) =
        TestServer::start_on_sqlite_with(|config| config.max_attachment_bytes = 1_000).await;
    let chat = server.start_chat(json!({})).await;

    for (body, what) in [
        (
            json!({"ContentType": "application/zip", "AttachmentSizeInBytes": 10, "AttachmentName": "a.zip", "ClientToken": "t1"}),
            "type",
        ),
        (
            json!({"ContentType": PNG, "AttachmentSizeInBytes": 1_001, "AttachmentName": "a.png", "ClientToken": "t2"}),
            "size",
        ),
        (
            json!({"ContentType": PNG, "AttachmentSizeInBytes": 0, "AttachmentName": "a.png", "ClientToken": "t3"}),
            "empty",
        ),
        (
            json!({"ContentType": PNG, "AttachmentSizeInBytes": 10, "AttachmentName": "../a.png", "ClientToken": "t4"}),
            "path",
        ),
    ] {
        let (status, answer) = start_upload(&server, &chat.connection_token, body).await;
        assert_eq!(
            (status, answer["__type"].as_str()),
            (400, Some("ValidationException")),
            "{what}: {answer}"
        );
    }

    // The same ClientToken gets the same attachment.
    let again = png_start(10);
    let (_, first) = start_upload(&server, &chat.connection_token, again.clone()).await;
    let (_, second) = start_upload(&server, &chat.connection_token, again).await;
    assert_eq!(first["AttachmentId"], second["AttachmentId"]);

    // Another chat cannot complete or download this chat's attachment.
    let id = share(&server, &chat, b"0123456789").await;
    let other = server.start_chat(json!({})).await;
    let (status, _) = complete(&server, &other.connection_token, &id).await;
    assert_eq!(status, 400);
    let (status, _, _) = server
        .participant(
            "/participant/attachment",
            &other.connection_token,
            json!({"AttachmentId": id}),
        )
        .await;
    assert_eq!(status, 400);

    // An upload URL expires (moved into the past here, rather than waiting five minutes).
    let (_, late) = start_upload(&server, &chat.connection_token, png_start(3)).await;
    let url = late["UploadMetadata"]["Url"].as_str().unwrap();
    let token = url.rsplit_once("token=").unwrap().1;
    assert!(
        server
            .state
            .store
            .renew_attachment_upload(
                late["AttachmentId"].as_str().unwrap(),
                &liaison_core::hash_token(token),
                0
            )
            .await
            .unwrap()
    );
    let (status, body) = put(&server, url, PNG, b"abc".to_vec()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("expired"), "{body}");

    // A download URL expires.
    let (status, _, got) = server
        .participant(
            "/participant/attachment",
            &chat.connection_token,
            json!({"AttachmentId": id, "UrlExpiryInSeconds": 5}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = server
        .participant(
            "/participant/attachment",
            &chat.connection_token,
            json!({"AttachmentId": id, "UrlExpiryInSeconds": 4}),
        )
        .await;
    assert_eq!(status, 400, "UrlExpiryInSeconds is 5 to 300");
    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    let expired = server
        .http
        .get(got["Url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status().as_u16(), 403);

    // A custom bot may not use attachments at all.
    let (_, bot_token) = server.join_custom_bot(&chat).await;
    let bot_token = bot_token.as_str();
    let (status, answer) = start_upload(&server, bot_token, png_start(10)).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (403, Some("AccessDeniedException"))
    );
    let (status, _, _) = server
        .participant(
            "/participant/attachment",
            bot_token,
            json!({"AttachmentId": id}),
        )
        .await;
    assert_eq!(status, 403);
    server.stop().await;
}

/// A scanner that rejects files containing "EICAR", approves the others, and fails for files
/// named "broken…"; it records the headers it got.
async fn scanner() -> String {
    use axum::http::HeaderMap;
    let app = axum::Router::new().route(
        "/scan",
        axum::routing::post(|headers: HeaderMap, body: axum::body::Bytes| async move {
            let name = headers["x-liaison-attachment-name"]
                .to_str()
                .unwrap_or_default();
            if name.starts_with("broken") {
                return (axum::http::StatusCode::BAD_GATEWAY, axum::Json(json!({})));
            }
            assert!(headers.contains_key("x-liaison-attachment-id"));
            assert!(headers.contains_key("x-liaison-contact-id"));
            let infected = body.windows(5).any(|w| w == b"EICAR");
            let status = if infected { "REJECTED" } else { "APPROVED" };
            (
                axum::http::StatusCode::OK,
                axum::Json(json!({"Status": status})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/scan")
}

#[tokio::test]
async fn a_scanner_approves_or_rejects_each_file_before_it_is_shown() {
    let url = scanner().await;
    let (_dir, server) =
        TestServer::start_on_sqlite_with(|config| config.attachment_scanner_url = Some(url)).await;
    let chat = server.start_chat(json!({})).await;
    let mut socket = open_socket(&chat.websocket_url).await;

    let clean = share(&server, &chat, b"a clean file").await;
    let item = next_item(&mut socket).await.unwrap();
    assert_eq!(item["Attachments"][0]["AttachmentId"], clean.as_str());
    assert_eq!(item["Attachments"][0]["Status"], "APPROVED");

    let infected = share(&server, &chat, b"X5O!P%@AP EICAR test").await;
    let item = next_item(&mut socket).await.unwrap();
    assert_eq!(item["Attachments"][0]["AttachmentId"], infected.as_str());
    assert_eq!(item["Attachments"][0]["Status"], "REJECTED");
    let (status, _, _) = server
        .participant(
            "/participant/attachment",
            &chat.connection_token,
            json!({"AttachmentId": infected}),
        )
        .await;
    assert_eq!(status, 400, "a rejected file cannot be downloaded");

    // A scanner that fails leaves the upload completable, and nothing is shown.
    let body = json!({"ContentType": PNG, "AttachmentSizeInBytes": 3, "AttachmentName": "broken.png",
                      "ClientToken": "broken-1"});
    let (_, started) = start_upload(&server, &chat.connection_token, body).await;
    let (status, _) = put(
        &server,
        started["UploadMetadata"]["Url"].as_str().unwrap(),
        PNG,
        b"abc".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let id = started["AttachmentId"].as_str().unwrap();
    let (status, answer) = complete(&server, &chat.connection_token, id).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (500, Some("InternalServerException"))
    );
    let transcript = server
        .transcript(&chat.connection_token, json!({"MaxResults": 20}))
        .await;
    assert_eq!(
        transcript
            .iter()
            .filter(|i| i["Type"] == "ATTACHMENT")
            .count(),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn a_chat_shares_at_most_a_hundred_files() {
    let (_dir, server) = TestServer::start_on_sqlite_with(|_| {}).await;
    let chat = server.start_chat(json!({})).await;
    for _ in 0..100 {
        let (status, answer) = start_upload(&server, &chat.connection_token, png_start(10)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = start_upload(&server, &chat.connection_token, png_start(10)).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (402, Some("ServiceQuotaExceededException"))
    );
    server.stop().await;
}
