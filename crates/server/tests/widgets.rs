//! Chat widgets over the real wire: the admin API (SigV4) that manages widgets and their
//! security keys, and the start-chat endpoint a page calls: origins, CORS, rate limits, the
//! site's signed token and the attributes flows see.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TestServer, open_socket};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::time::Duration;

const SHOP: &str = "https://shop.example.com";

/// A flow that tells the customer the attributes it sees, then waits.
async fn attribute_echo_flow(server: &TestServer, instance: &str) -> String {
    let content = json!({"Version": "2019-10-30", "StartAction": "say", "Actions": [
        {"Identifier": "say", "Type": "MessageParticipant",
         "Parameters": {"Text": "name=$.Attributes.name page=$.Attributes.HostedWidget-page"},
         "Transitions": {"NextAction": "wait", "Errors": [{"NextAction": "wait", "ErrorType": "NoMatchingError"}]}},
        {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "600", "Events": ["CustomerReturned"]},
         "Transitions": {"NextAction": "wait", "Errors": [{"NextAction": "wait", "ErrorType": "NoMatchingError"}]}}
    ]});
    let (status, _, created) = server
        .connect(
            "PUT",
            &format!("/contact-flows/{instance}"),
            Some(json!({"Name": "Echo attributes", "Type": "CONTACT_FLOW", "Content": content.to_string()})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    created["ContactFlowId"].as_str().unwrap().to_string()
}

async fn create_widget(server: &TestServer, instance: &str, body: Value) -> Value {
    let (status, _, created) = server
        .connect("PUT", &format!("/liaison/widgets/{instance}"), Some(body))
        .await;
    assert_eq!(status, 200, "{created}");
    created
}

/// A browser's POST to the widget's start-chat endpoint from a page of `origin`.
async fn start(
    server: &TestServer,
    widget_id: &str,
    origin: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = server
        .http
        .post(format!("{}/widget/{widget_id}/start-chat", server.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A widget token as a site's backend signs it (HS256).
fn sign(header: Value, claims: Value, secret: &str) -> String {
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let signing_input = format!("{}.{}", encode(&header), encode(&claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(widget_id: &str, attributes: Value) -> Value {
    let now = now_secs();
    json!({"sub": widget_id, "iat": now, "exp": now + 500, "attributes": attributes})
}

fn hs256() -> Value {
    json!({"typ": "JWT", "alg": "HS256"})
}

/// Waits until the customer's transcript holds `text`.
async fn flow_said(server: &TestServer, participant_token: &str, text: &str) {
    let token = server.connection_token(participant_token).await;
    for _ in 0..100 {
        let items = server.transcript(&token, json!({"MaxResults": 100})).await;
        if items.iter().any(|item| item["Content"] == text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the flow never said {text:?}");
}

async fn attributes_of(server: &TestServer, instance: &str, contact_id: &str) -> Value {
    let (status, _, attributes) = server
        .connect(
            "GET",
            &format!("/contact/attributes/{instance}/{contact_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{attributes}");
    attributes["Attributes"].clone()
}

#[tokio::test]
async fn widgets_and_their_keys_are_managed_through_the_admin_api() {
    let (_dir, server) = TestServer::start_on_sqlite_with(|_| {}).await;
    let (instance, flow) = server.instance_and_flow().await;
    let path = format!("/liaison/widgets/{instance}");

    // Unsigned requests and bad settings are refused with AWS errors.
    let unsigned = server
        .http
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);
    for (body, status, code) in [
        (json!({"Name": "Shop"}), 400, "InvalidParameterException"),
        (
            json!({"Name": "Shop", "ContactFlowId": "no-such-flow", "AllowedOrigins": [SHOP]}),
            404,
            "ResourceNotFoundException",
        ),
        (
            json!({"Name": "Shop", "ContactFlowId": flow, "AllowedOrigins": ["https://*.example.com"]}),
            400,
            "InvalidParameterException",
        ),
        (
            json!({"Name": "Shop", "ContactFlowId": flow, "AllowedOrigins": []}),
            400,
            "InvalidParameterException",
        ),
        (
            json!({"Name": "Shop", "ContactFlowId": flow, "AllowedOrigins": [SHOP], "Colour": "red"}),
            400,
            "InvalidRequestException",
        ),
    ] {
        let (got, headers, answer) = server.connect("PUT", &path, Some(body.clone())).await;
        assert_eq!(
            (got, headers["x-amzn-ErrorType"].to_str().unwrap()),
            (status, code),
            "{body} → {answer}"
        );
    }

    // With security on, the first key comes with the widget, its secret shown this once.
    let created = create_widget(
        &server,
        &instance,
        json!({"Name": "Shop", "ContactFlowId": flow, "AllowedOrigins": ["HTTPS://Shop.Example.com:443/"],
               "SecurityEnabled": true, "DisplayNames": {"Customer": "Visitor", "CustomerFromPage": false},
               "Styles": {"primaryColor": "#0a5"}}),
    )
    .await;
    let widget_id = created["WidgetId"].as_str().unwrap().to_string();
    let first_key = created["SecurityKey"].clone();
    assert!(first_key["Secret"].as_str().unwrap().len() >= 32);
    let widget = &created["Widget"];
    assert_eq!(widget["AllowedOrigins"], json!([SHOP]));
    assert_eq!(widget["DisplayNames"]["Customer"], "Visitor");
    assert_eq!(widget["Styles"], json!({"primaryColor": "#0a5"}));
    assert_eq!(
        widget["StartChatPath"],
        format!("/widget/{widget_id}/start-chat")
    );
    let (status, _, _) = server
        .connect(
            "PUT",
            &path,
            Some(json!({"Name": "Shop", "ContactFlowId": flow, "AllowedOrigins": [SHOP]})),
        )
        .await;
    assert_eq!(status, 409, "names are unique");

    // A second key for rotation; a third is refused until one is deleted.
    let keys = format!("{path}/{widget_id}/keys");
    let (status, _, second) = server.connect("POST", &keys, None).await;
    assert_eq!(status, 200, "{second}");
    let (status, headers, _) = server.connect("POST", &keys, None).await;
    assert_eq!(
        (status, headers["x-amzn-ErrorType"].to_str().unwrap()),
        (402, "ServiceQuotaExceededException")
    );
    let (_, _, described) = server
        .connect("GET", &format!("{path}/{widget_id}"), None)
        .await;
    let listed = described["Widget"]["SecurityKeys"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|key| key.get("Secret").is_none()),
        "secrets are shown once"
    );
    let first_id = first_key["KeyId"].as_str().unwrap();
    let (status, _, _) = server
        .connect("DELETE", &format!("{keys}/{first_id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = server
        .connect("DELETE", &format!("{keys}/{first_id}"), None)
        .await;
    assert_eq!(status, 404);

    // Updates change what they name; list and delete.
    let (status, _, updated) = server
        .connect(
            "POST",
            &format!("{path}/{widget_id}"),
            Some(json!({"Name": "Shop EU", "SecurityEnabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["Widget"]["Name"], "Shop EU");
    assert_eq!(updated["Widget"]["AllowedOrigins"], json!([SHOP]));
    assert_eq!(updated["Widget"]["SecurityEnabled"], false);
    let (_, _, listed) = server.connect("GET", &path, None).await;
    assert_eq!(listed["Widgets"][0]["Id"], widget_id.as_str());
    let (status, _, _) = server
        .connect("DELETE", &format!("{path}/{widget_id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = server
        .connect("GET", &format!("{path}/{widget_id}"), None)
        .await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn a_page_of_an_allowed_origin_starts_a_chat_and_the_flow_sees_its_attributes() {
    let (_dir, server) = TestServer::start_on_sqlite_with(|_| {}).await;
    let (instance, _) = server.instance_and_flow().await;
    let flow = attribute_echo_flow(&server, &instance).await;
    let created = create_widget(
        &server,
        &instance,
        json!({"Name": "Open", "ContactFlowId": flow, "AllowedOrigins": [SHOP]}),
    )
    .await;
    let widget_id = created["WidgetId"].as_str().unwrap();

    let (status, started) = start(
        &server,
        widget_id,
        Some(SHOP),
        json!({"DisplayName": "Jane", "ContactAttributes": {"page": "pricing", "name": "Mallory"}}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["Region"], "us-east-1");
    assert_eq!(started["ParticipantEndpoint"], server.base.as_str());
    // Page attributes carry the prefix: a page cannot pose as the site's signed `name`.
    let contact_id = started["ContactId"].as_str().unwrap();
    assert_eq!(
        attributes_of(&server, &instance, contact_id).await,
        json!({"HostedWidget-page": "pricing", "HostedWidget-name": "Mallory"})
    );
    flow_said(
        &server,
        started["ParticipantToken"].as_str().unwrap(),
        "name= page=pricing",
    )
    .await;

    // Origins are checked; CORS answers only allowed ones; the participant API stays open.
    for origin in [
        Some("https://evil.example.com"),
        Some("http://shop.example.com"),
        None,
    ] {
        let (status, refused) = start(&server, widget_id, origin, json!({})).await;
        assert_eq!(status, 403, "{origin:?}: {refused}");
        assert_eq!(refused["__type"], "AccessDeniedException");
    }
    let preflight = |origin: &'static str, path: String| {
        let request = server
            .http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", server.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type");
        async move { request.send().await.unwrap() }
    };
    let start_path = format!("/widget/{widget_id}/start-chat");
    let allowed = preflight(SHOP, start_path.clone()).await;
    assert_eq!(allowed.headers()["access-control-allow-origin"], SHOP);
    let other = preflight("https://evil.example.com", start_path).await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let participant = preflight("https://evil.example.com", "/participant/message".into()).await;
    assert_eq!(
        participant.headers()["access-control-allow-origin"],
        "https://evil.example.com"
    );

    // The widget reads its public settings; no key is in them.
    let config: Value = server
        .http
        .get(format!("{}/widget/{widget_id}/config", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["DisplayNames"]["Customer"], "Customer");
    assert_eq!(config["SecurityEnabled"], false);
    assert!(config.get("SecurityKeys").is_none(), "{config}");

    // Non-string page attributes and unknown widgets get clear errors.
    let (status, _) = start(
        &server,
        widget_id,
        Some(SHOP),
        json!({"ContactAttributes": {"n": 1}}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = start(&server, "no-such-widget", Some(SHOP), json!({})).await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn with_security_on_only_a_token_signed_by_a_current_key_starts_a_chat() {
    let (_dir, server) = TestServer::start_on_sqlite_with(|_| {}).await;
    let (instance, _) = server.instance_and_flow().await;
    let flow = attribute_echo_flow(&server, &instance).await;
    let created = create_widget(
        &server,
        &instance,
        json!({"Name": "Secure", "ContactFlowId": flow, "AllowedOrigins": [SHOP], "SecurityEnabled": true}),
    )
    .await;
    let widget_id = created["WidgetId"].as_str().unwrap().to_string();
    let old_secret = created["SecurityKey"]["Secret"]
        .as_str()
        .unwrap()
        .to_string();
    let start_with = |token: String, page: Value| {
        let (server, widget_id) = (&server, widget_id.clone());
        async move {
            start(
                server,
                &widget_id,
                Some(SHOP),
                json!({"Token": token, "ContactAttributes": page}),
            )
            .await
        }
    };

    // The signed attributes are stored as they are and beat the page's of the same name.
    let token = sign(
        hs256(),
        claims(
            &widget_id,
            json!({"name": "Jane", "memberID": "123456789", "HostedWidget-page": "signed", "empty": ""}),
        ),
        &old_secret,
    );
    let (status, started) = start_with(token, json!({"page": "pricing"})).await;
    assert_eq!(status, 200, "{started}");
    let contact_id = started["ContactId"].as_str().unwrap();
    assert_eq!(
        attributes_of(&server, &instance, contact_id).await,
        json!({"name": "Jane", "memberID": "123456789", "HostedWidget-page": "signed", "empty": ""})
    );
    flow_said(
        &server,
        started["ParticipantToken"].as_str().unwrap(),
        "name=Jane page=signed",
    )
    .await;

    // The attack matrix through the endpoint.
    let now = now_secs();
    let cases: Vec<(&str, String, u16)> = vec![
        ("no token", String::new(), 403),
        (
            "alg none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
                URL_SAFE_NO_PAD.encode(claims(&widget_id, json!({})).to_string())
            ),
            403,
        ),
        (
            "HS512 header",
            sign(
                json!({"alg": "HS512"}),
                claims(&widget_id, json!({})),
                &old_secret,
            ),
            403,
        ),
        (
            "RS256 header",
            sign(
                json!({"alg": "RS256"}),
                claims(&widget_id, json!({})),
                &old_secret,
            ),
            403,
        ),
        (
            "wrong key",
            sign(hs256(), claims(&widget_id, json!({})), "not-the-secret"),
            403,
        ),
        (
            "other widget",
            sign(hs256(), claims("another-widget", json!({})), &old_secret),
            403,
        ),
        (
            "expired",
            sign(
                hs256(),
                json!({"sub": widget_id, "iat": now - 700, "exp": now - 100}),
                &old_secret,
            ),
            403,
        ),
        (
            "lives too long",
            sign(
                hs256(),
                json!({"sub": widget_id, "iat": now, "exp": now + 601}),
                &old_secret,
            ),
            403,
        ),
        (
            "no iat",
            sign(
                hs256(),
                json!({"sub": widget_id, "exp": now + 100}),
                &old_secret,
            ),
            403,
        ),
        (
            "no exp",
            sign(hs256(), json!({"sub": widget_id, "iat": now}), &old_secret),
            403,
        ),
        (
            "too large",
            sign(
                hs256(),
                claims(&widget_id, json!({"blob": "x".repeat(6_200)})),
                &old_secret,
            ),
            403,
        ),
        (
            "number attribute",
            sign(hs256(), claims(&widget_id, json!({"age": 45})), &old_secret),
            400,
        ),
        (
            "attributes not an object",
            sign(hs256(), claims(&widget_id, json!(["a"])), &old_secret),
            400,
        ),
    ];
    for (case, token, expected) in cases {
        let body = if token.is_empty() {
            json!({})
        } else {
            json!({"Token": token})
        };
        let (status, refused) = start(&server, &widget_id, Some(SHOP), body).await;
        assert_eq!(status, expected, "{case}: {refused}");
        assert!(
            refused["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{case}: {refused}"
        );
    }

    // Rotation: a second key works beside the first, which works until it is deleted.
    let keys = format!("/liaison/widgets/{instance}/{widget_id}/keys");
    let (_, _, added) = server.connect("POST", &keys, None).await;
    let new_secret = added["SecurityKey"]["Secret"].as_str().unwrap().to_string();
    for secret in [&old_secret, &new_secret] {
        let (status, answer) = start_with(
            sign(hs256(), claims(&widget_id, json!({})), secret),
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    let old_id = created["SecurityKey"]["KeyId"].as_str().unwrap();
    server
        .connect("DELETE", &format!("{keys}/{old_id}"), None)
        .await;
    let (status, _) = start_with(
        sign(hs256(), claims(&widget_id, json!({})), &old_secret),
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "a deleted key signs nothing");
    let (status, _) = start_with(
        sign(hs256(), claims(&widget_id, json!({})), &new_secret),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn starts_are_limited_per_client_and_display_names_follow_the_widget() {
    let (_dir, server) =
        TestServer::start_on_sqlite_with(|config| config.widget_starts_per_client_minute = 3).await;
    let (instance, flow) = server.instance_and_flow().await;
    let created = create_widget(
        &server,
        &instance,
        json!({"Name": "Named", "ContactFlowId": flow, "AllowedOrigins": [SHOP],
               "DisplayNames": {"Customer": "Visitor", "CustomerFromPage": false}}),
    )
    .await;
    let widget_id = created["WidgetId"].as_str().unwrap();
    let (status, started) = start(
        &server,
        widget_id,
        Some(SHOP),
        json!({"DisplayName": "Jane"}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    // The widget does not let the page name the customer.
    let (status, _, connection) = server
        .participant(
            "/participant/connection",
            started["ParticipantToken"].as_str().unwrap(),
            json!({"Type": ["WEBSOCKET", "CONNECTION_CREDENTIALS"]}),
        )
        .await;
    assert_eq!(status, 200);
    drop(open_socket(connection["Websocket"]["Url"].as_str().unwrap()).await);
    let items = server
        .transcript(
            connection["ConnectionCredentials"]["ConnectionToken"]
                .as_str()
                .unwrap(),
            json!({"MaxResults": 10, "SortOrder": "ASCENDING"}),
        )
        .await;
    assert_eq!(items[0]["DisplayName"], "Visitor", "{items:?}");

    for _ in 0..2 {
        let (status, _) = start(&server, widget_id, Some(SHOP), json!({})).await;
        assert_eq!(status, 200);
    }
    let (status, throttled) = start(&server, widget_id, Some(SHOP), json!({})).await;
    assert_eq!(status, 429, "{throttled}");
    assert_eq!(throttled["__type"], "ThrottlingException");
    server.stop().await;
}

#[tokio::test]
async fn the_demo_page_carries_a_widget_that_chats_from_its_own_origin() {
    let (_dir, server) = TestServer::start_on_sqlite_with(|_| {}).await;
    let page = server
        .http
        .get(format!("{}/demo", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("\"{}/widget/loader.js\"", server.base)),
        "{html}"
    );
    let (instance, _) = server.instance_and_flow().await;
    let (_, _, listed) = server
        .connect("GET", &format!("/liaison/widgets/{instance}"), None)
        .await;
    let widgets = listed["Widgets"].as_array().unwrap().clone();
    assert_eq!(widgets.len(), 1, "{listed}");
    let widget_id = widgets[0]["Id"].as_str().unwrap();
    assert!(html.contains(widget_id));
    assert_eq!(widgets[0]["AllowedOrigins"], json!([server.base]));

    // A second visit uses the same widget; its page starts chats from Liaison's own origin.
    server
        .http
        .get(format!("{}/demo", server.base))
        .send()
        .await
        .unwrap();
    let (_, _, again) = server
        .connect("GET", &format!("/liaison/widgets/{instance}"), None)
        .await;
    assert_eq!(again["Widgets"].as_array().unwrap().len(), 1);
    let (status, started) = start(&server, widget_id, Some(&server.base), json!({})).await;
    assert_eq!(status, 200, "{started}");

    // Another Host cannot make the demo widget allow its origin.
    let foreign = server
        .http
        .get(format!("{}/demo", server.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    let (_, _, after) = server
        .connect("GET", &format!("/liaison/widgets/{instance}"), None)
        .await;
    assert_eq!(after["Widgets"][0]["AllowedOrigins"], json!([server.base]));
    server.stop().await;

    let (_dir, off) = TestServer::start_on_sqlite_with(|config| config.demo_page = false).await;
    let page = off
        .http
        .get(format!("{}/demo", off.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 404);
    off.stop().await;
}
