//! Flow management over the Connect API: import, validation problems, updates, deletion, and
//! the built-in flows.

mod common;

use common::TestServer;
use serde_json::{Value, json};

async fn server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), 60_000).await;
    (dir, server)
}

async fn instance(server: &TestServer) -> String {
    server.instance_and_flow().await.0
}

fn greeting_flow(text: &str) -> String {
    json!({
        "Version": "2019-10-30",
        "StartAction": "hello",
        "Metadata": {"entryPointPosition": {"x": 40, "y": 40}},
        "Actions": [
            {"Identifier": "hello", "Type": "MessageParticipant", "Parameters": {"Text": text},
             "Transitions": {"NextAction": "bye", "Errors": [{"NextAction": "bye", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]
    })
    .to_string()
}

fn lex_flow() -> String {
    json!({
        "Version": "2019-10-30",
        "StartAction": "bot",
        "Actions": [
            {"Identifier": "bot", "Type": "ConnectParticipantWithLexBot", "Parameters": {"Text": "Hi"},
             "Transitions": {"NextAction": "bye", "Errors": [{"NextAction": "bye", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]
    })
    .to_string()
}

async fn create(server: &TestServer, instance: &str, body: Value) -> (u16, Value) {
    let (status, _, response) = server
        .connect("PUT", &format!("/contact-flows/{instance}"), Some(body))
        .await;
    (status, response)
}

async fn describe(server: &TestServer, instance: &str, flow: &str) -> (u16, Value) {
    let (status, _, response) = server
        .connect("GET", &format!("/contact-flows/{instance}/{flow}"), None)
        .await;
    (status, response)
}

#[tokio::test]
async fn built_in_flows_exist_and_are_runnable() {
    let (_dir, server) = server().await;
    let instance = instance(&server).await;
    let (_, _, listed) = server
        .connect("GET", &format!("/contact-flows-summary/{instance}"), None)
        .await;
    let summaries = listed["ContactFlowSummaryList"].as_array().unwrap();
    let find = |name: &str| {
        summaries
            .iter()
            .find(|s| s["Name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {summaries:?}"))
            .clone()
    };
    assert_eq!(find("Default chat flow")["ContactFlowType"], "CONTACT_FLOW");
    assert_eq!(
        find("Default customer queue")["ContactFlowType"],
        "CUSTOMER_QUEUE"
    );
    assert_eq!(
        find("Default disconnect flow")["ContactFlowType"],
        "CONTACT_FLOW"
    );
    for summary in summaries {
        let (status, described) =
            describe(&server, &instance, summary["Id"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{described}");
        let content = described["ContactFlow"]["Content"].as_str().unwrap();
        assert!(liaison_core::flow::validate(content).is_clean());
    }
}

#[tokio::test]
async fn flows_are_imported_described_updated_and_deleted() {
    let (_dir, server) = server().await;
    let instance = instance(&server).await;
    let (status, created) = create(
        &server,
        &instance,
        json!({"Name": "Greeting", "Type": "CONTACT_FLOW", "Description": "says hi", "Content": greeting_flow("Hi $.Attributes.name")}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["ContactFlowId"].as_str().unwrap().to_string();
    let arn = created["ContactFlowArn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(&format!("/contact-flow/{id}")));
    assert_eq!(created["FlowContentSha256"].as_str().unwrap().len(), 64);

    // By id or by ARN.
    let (status, by_arn) = describe(&server, &instance, &urlencode(&arn)).await;
    assert_eq!(status, 200, "{by_arn}");
    let flow = &by_arn["ContactFlow"];
    assert_eq!(
        (
            flow["Name"].as_str(),
            flow["Status"].as_str(),
            flow["State"].as_str()
        ),
        (Some("Greeting"), Some("PUBLISHED"), Some("ACTIVE"))
    );
    assert_eq!(flow["Content"], greeting_flow("Hi $.Attributes.name"));

    let (status, duplicate) = create(
        &server,
        &instance,
        json!({"Name": "Greeting", "Type": "CONTACT_FLOW", "Content": greeting_flow("again")}),
    )
    .await;
    assert_eq!(
        (status, duplicate["__type"].as_str()),
        (409, Some("DuplicateResourceException"))
    );

    let path = format!("/contact-flows/{instance}/{id}");
    let (status, _, _) = server
        .connect(
            "POST",
            &format!("{path}/content"),
            Some(json!({"Content": greeting_flow("Hello")})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = server
        .connect(
            "POST",
            &format!("{path}/name"),
            Some(json!({"Name": "Welcome", "Description": "greets"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = server
        .connect(
            "POST",
            &format!("{path}/metadata"),
            Some(json!({"ContactFlowState": "ARCHIVED"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, described) = describe(&server, &instance, &id).await;
    let flow = &described["ContactFlow"];
    assert_eq!(flow["Name"], "Welcome");
    assert_eq!(flow["Description"], "greets");
    assert_eq!(flow["State"], "ARCHIVED");
    assert_eq!(flow["Content"], greeting_flow("Hello"));
    let (status, _, taken) = server
        .connect(
            "POST",
            &format!("{path}/name"),
            Some(json!({"Name": "Default chat flow"})),
        )
        .await;
    assert_eq!(
        (status, taken["__type"].as_str()),
        (409, Some("DuplicateResourceException"))
    );

    let (status, _, _) = server.connect("DELETE", &path, None).await;
    assert_eq!(status, 200);
    let (status, gone) = describe(&server, &instance, &id).await;
    assert_eq!(
        (status, gone["__type"].as_str()),
        (404, Some("ResourceNotFoundException"))
    );
    let (status, _, gone) = server.connect("DELETE", &path, None).await;
    assert_eq!(
        (status, gone["__type"].as_str()),
        (404, Some("ResourceNotFoundException"))
    );
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('/', "%2F")
}

#[tokio::test]
async fn invalid_flows_are_refused_with_problems_naming_the_block() {
    let (_dir, server) = server().await;
    let instance = instance(&server).await;
    let broken = json!({
        "Version": "2019-10-30",
        "StartAction": "hello",
        "Actions": [
            {"Identifier": "hello", "Type": "MessageParticipant", "Parameters": {"Text": "Hi $.Nowhere.x"},
             "Transitions": {"NextAction": "gone"}},
            {"Identifier": "odd", "Type": "Levitate", "Parameters": {}, "Transitions": {}}
        ]
    })
    .to_string();
    let (status, refused) = create(
        &server,
        &instance,
        json!({"Name": "Broken", "Type": "CONTACT_FLOW", "Content": broken}),
    )
    .await;
    assert_eq!(
        (status, refused["__type"].as_str()),
        (400, Some("InvalidContactFlowException")),
        "{refused}"
    );
    let problems: Vec<&str> = refused["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert!(
        problems.contains(
            &"Block 'hello': transition to 'gone', which is not the Identifier of any action."
        ),
        "{problems:?}"
    );
    assert!(
        problems.contains(&"Block 'odd': unknown action type 'Levitate'."),
        "{problems:?}"
    );
    assert!(
        problems
            .contains(&"Block 'hello': '$.Nowhere.x' refers to the unknown namespace 'Nowhere'."),
        "{problems:?}"
    );

    // Blocks Liaison does not run: refused when published, accepted as a saved flow.
    let (status, refused) = create(
        &server,
        &instance,
        json!({"Name": "Lex", "Type": "CONTACT_FLOW", "Content": lex_flow()}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        refused["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Block 'bot': action type 'ConnectParticipantWithLexBot' is not supported")
    );
    let (status, saved) = create(
        &server,
        &instance,
        json!({"Name": "Lex", "Type": "CONTACT_FLOW", "Status": "SAVED", "Content": lex_flow()}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let id = saved["ContactFlowId"].as_str().unwrap();
    let (status, _) = describe(&server, &instance, &format!("{id}:$SAVED")).await;
    assert_eq!(status, 200);

    // Content updates are checked the same way; the flow keeps its content when refused.
    let (status, _, refused) = server
        .connect(
            "POST",
            &format!("/contact-flows/{instance}/{id}/content"),
            Some(json!({"Content": "{\"Version\": \"2019-10-30\"}"})),
        )
        .await;
    assert_eq!(
        (status, refused["__type"].as_str()),
        (400, Some("InvalidContactFlowException"))
    );
    let (_, described) = describe(&server, &instance, &format!("{id}:$SAVED")).await;
    assert_eq!(described["ContactFlow"]["Content"], lex_flow());

    // Type and status come from the model's enums.
    let (status, refused) = create(
        &server,
        &instance,
        json!({"Name": "Typeless", "Type": "IVR", "Content": greeting_flow("x")}),
    )
    .await;
    assert_eq!(
        (status, refused["__type"].as_str()),
        (400, Some("InvalidParameterException")),
        "{refused}"
    );
}

#[tokio::test]
async fn the_corpus_custom_bot_flow_imports_through_the_api() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/flows-public/vishalforcode__amazon-connect-chat-with-custom-participants__lib__custom-chat-bot.json");
    let Ok(content) = std::fs::read_to_string(&path) else {
        eprintln!("no flow corpus at {}; skipping", path.display());
        return;
    };
    let (_dir, server) = server().await;
    let instance = instance(&server).await;
    let (status, created) = create(
        &server,
        &instance,
        json!({"Name": "Custom bot", "Type": "CONTACT_FLOW", "Content": content}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (_, described) = describe(
        &server,
        &instance,
        created["ContactFlowId"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        described["ContactFlow"]["Content"].as_str(),
        Some(content.as_str()),
        "stored verbatim"
    );
}
