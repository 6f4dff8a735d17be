//! Chats running their flows, over the real wire: what the customer sees, what the contact
//! records, how waits resume, and that a restart resumes a waiting flow.

mod common;

use common::{Chat, Socket, TestServer, next_item, open_socket};
use serde_json::{Value, json};
use std::time::Duration;

const JOINED: &str = "application/vnd.amazonaws.connect.event.participant.joined";
const ENDED: &str = "application/vnd.amazonaws.connect.event.chat.ended";

/// One timer minute: flow seconds last 10 ms (a 60-second Wait takes 0.6 s).
const MINUTE_MS: i64 = 600;

fn equals(value: &str, next: &str) -> Value {
    json!({"NextAction": next, "Condition": {"Operator": "Equals", "Operands": [value]}})
}

fn on_error(next: &str) -> Value {
    json!([{"NextAction": next, "ErrorType": "NoMatchingError"}])
}

fn say(id: &str, text: &str, next: Option<&str>) -> Value {
    match next {
        Some(next) => {
            json!({"Identifier": id, "Type": "MessageParticipant", "Parameters": {"Text": text},
                              "Transitions": {"NextAction": next, "Errors": on_error(next)}})
        }
        None => {
            json!({"Identifier": id, "Type": "MessageParticipant", "Parameters": {"Text": text}, "Transitions": {}})
        }
    }
}

fn disconnect(id: &str) -> Value {
    json!({"Identifier": id, "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}})
}

/// Waits 30 flow seconds (0.3 s), so the test's socket is open before the flow speaks.
fn pause(id: &str, next: &str) -> Value {
    json!({"Identifier": id, "Type": "Wait", "Parameters": {"TimeLimitSeconds": "30"},
           "Transitions": {"Conditions": [equals("WaitCompleted", next)], "Errors": on_error(next)}})
}

fn hold(id: &str) -> Value {
    json!({"Identifier": id, "Type": "Wait", "Parameters": {"TimeLimitSeconds": "604800"},
           "Transitions": {"Conditions": [equals("WaitCompleted", id)], "Errors": on_error(id)}})
}

async fn import(
    server: &TestServer,
    instance: &str,
    name: &str,
    start: &str,
    actions: Value,
) -> String {
    let content = json!({"Version": "2019-10-30", "StartAction": start, "Actions": actions});
    let created = server
        .create_flow(instance, name, "CONTACT_FLOW", &content.to_string())
        .await;
    created["ContactFlowId"].as_str().unwrap().to_string()
}

/// Starts a chat on `flow` and opens the customer's socket at once (before the flow speaks
/// is not guaranteed, so callers read the transcript for what came first).
async fn start_on(server: &TestServer, instance: &str, flow: &str, extra: Value) -> (Chat, Socket) {
    let mut body = json!({"InstanceId": instance, "ContactFlowId": flow, "ParticipantDetails": {"DisplayName": "Ana"}});
    if let (Some(target), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            target.insert(k.clone(), v.clone());
        }
    }
    let (status, _, started) = server.connect("PUT", "/contact/chat", Some(body)).await;
    assert_eq!(status, 200, "{started}");
    let token = started["ParticipantToken"].as_str().unwrap();
    let (status, _, connection) = server
        .participant(
            "/participant/connection",
            token,
            json!({"Type": ["WEBSOCKET", "CONNECTION_CREDENTIALS"]}),
        )
        .await;
    assert_eq!(status, 200, "{connection}");
    let chat = Chat {
        instance_id: instance.to_string(),
        contact_id: started["ContactId"].as_str().unwrap().into(),
        participant_id: started["ParticipantId"].as_str().unwrap().into(),
        participant_token: token.into(),
        connection_token: connection["ConnectionCredentials"]["ConnectionToken"]
            .as_str()
            .unwrap()
            .into(),
        websocket_url: connection["Websocket"]["Url"].as_str().unwrap().into(),
    };
    let socket = open_socket(&chat.websocket_url).await;
    (chat, socket)
}

/// The flow's messages read from the socket until the chat ends.
async fn said_until_the_end(socket: &mut Socket) -> Vec<String> {
    let mut said = Vec::new();
    loop {
        let item = next_item(socket).await.expect("chat.ended");
        if item["ContentType"] == ENDED {
            return said;
        }
        if item["ParticipantRole"] == "SYSTEM" && item["Type"] == "MESSAGE" {
            said.push(item["Content"].as_str().unwrap_or_default().to_string());
        }
    }
}

async fn attributes(server: &TestServer, chat: &Chat) -> Value {
    let (_, _, reply) = server
        .connect(
            "GET",
            &format!(
                "/contact/attributes/{}/{}",
                chat.instance_id, chat.contact_id
            ),
            None,
        )
        .await;
    reply["Attributes"].clone()
}

async fn send(server: &TestServer, chat: &Chat, text: &str) {
    let (status, _, body) = server
        .participant(
            "/participant/message",
            &chat.connection_token,
            json!({"ContentType": "text/plain", "Content": text}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn server(dir: &tempfile::TempDir) -> (TestServer, String) {
    let server = TestServer::start(dir.path(), MINUTE_MS).await;
    let instance = server.default_instance().await;
    (server, instance)
}

#[tokio::test]
async fn the_default_chat_flow_greets_and_queues_into_the_customer_queue_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let (_, _, flows) = server
        .connect("GET", &format!("/contact-flows-summary/{instance}"), None)
        .await;
    let default = flows["ContactFlowSummaryList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["Name"] == "Default chat flow")
        .unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let (chat, _socket) = start_on(&server, &instance, &default, json!({})).await;
    let said = server.system_messages(&chat, 2).await;
    assert_eq!(
        said[0],
        "Thanks for contacting us. An agent will be with you shortly."
    );
    assert_eq!(
        said[1],
        "You are in the queue. The next available agent will answer you here."
    );
    // Queued, the chat stays open for an agent.
    send(&server, &chat, "still there?").await;
}

#[tokio::test]
async fn references_compare_attributes_and_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow = import(
        &server,
        &instance,
        "Branches",
        "pause",
        json!([
            pause("pause", "hello"),
            say("hello", "Hi $.Attributes.name, on $.Channel", Some("check")),
            {"Identifier": "check", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Attributes.tier"},
             "Transitions": {"NextAction": "other", "Conditions": [
                {"NextAction": "gold", "Condition": {"Operator": "NumberGreaterOrEqualTo", "Operands": ["10"]}},
                equals("basic", "basic")],
              "Errors": [{"NextAction": "other", "ErrorType": "NoMatchingCondition"}]}},
            {"Identifier": "gold", "Type": "UpdateContactAttributes",
             "Parameters": {"Attributes": {"route": "gold", "seen_$.Attributes.name": "$.ContactId"}},
             "Transitions": {"NextAction": "bye", "Errors": on_error("bye")}},
            say("basic", "basic", Some("bye")),
            say("other", "other", Some("bye")),
            say("bye", "Goodbye", Some("end")),
            disconnect("end")
        ]),
    )
    .await;
    for (tier, branch) in [("12", None), ("basic", Some("basic")), ("7", Some("other"))] {
        let (chat, mut socket) = start_on(
            &server,
            &instance,
            &flow,
            json!({"Attributes": {"name": "Ana", "tier": tier}}),
        )
        .await;
        // DisconnectParticipant ends the chat for the customer.
        let said = said_until_the_end(&mut socket).await;
        assert_eq!(said[0], "Hi Ana, on CHAT");
        match branch {
            Some(text) => assert_eq!(said[1], text),
            None => {
                let recorded = attributes(&server, &chat).await;
                assert_eq!(recorded["route"], "gold");
                assert_eq!(recorded["seen_Ana"], chat.contact_id.as_str());
            }
        }
        assert_eq!(said.last().unwrap(), "Goodbye");
    }
}

#[tokio::test]
async fn a_customer_wait_resumes_on_a_message_or_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow = import(
        &server,
        &instance,
        "Disconnect-style",
        "pause",
        json!([
            pause("pause", "ask"),
            say("ask", "Anything else?", Some("wait")),
            {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "60", "Events": ["CustomerReturned"]},
             "Transitions": {"Conditions": [equals("CustomerReturned", "back"), equals("WaitCompleted", "late")],
                             "Errors": on_error("late")}},
            say("back", "Welcome back", Some("hold")),
            hold("hold"),
            say("late", "Too late", Some("end")),
            disconnect("end")
        ]),
    )
    .await;
    let (chat, _socket) = start_on(&server, &instance, &flow, json!({})).await;
    server.system_messages(&chat, 1).await;
    send(&server, &chat, "yes, one more thing").await;
    let said = server.system_messages(&chat, 2).await;
    assert_eq!(said, vec!["Anything else?", "Welcome back"]);

    // Nobody answers: after 60 flow seconds (0.6 s) the wait completes.
    let (_quiet, mut socket) = start_on(&server, &instance, &flow, json!({})).await;
    assert_eq!(
        said_until_the_end(&mut socket).await,
        vec!["Anything else?", "Too late"]
    );
}

#[tokio::test]
async fn a_bot_wait_follows_the_custom_participant() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow = import(
        &server,
        &instance,
        "Bot hand-off",
        "pause",
        json!([
            // Gives the test time to add the bot, as a Lambda would.
            pause("pause", "bot"),
            {"Identifier": "bot", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "900", "Events": ["BotParticipantDisconnected"]},
             "Transitions": {"Conditions": [equals("BotParticipantDisconnected", "done"), equals("WaitCompleted", "timeout")],
                             "Errors": [{"NextAction": "missing", "ErrorType": "ParticipantNotFound"}, {"NextAction": "timeout", "ErrorType": "NoMatchingError"}]}},
            say("done", "The bot is done", Some("hold")),
            say("missing", "No bot", Some("hold")),
            say("timeout", "Timed out", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let (chat, mut socket) = start_on(&server, &instance, &flow, json!({})).await;
    let bot_token = server.join_custom_bot(&chat).await.1;
    loop {
        if next_item(&mut socket).await.expect("joined")["ContentType"] == JOINED {
            break;
        }
    }
    // Let the flow reach the bot Wait (the pause lasts 0.3 s), then the bot leaves.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, _, _) = server
        .participant("/participant/disconnect", &bot_token, json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        server.system_messages(&chat, 1).await,
        vec!["The bot is done"]
    );

    // Without a bot the Wait takes ParticipantNotFound.
    let (lonely, _socket) = start_on(&server, &instance, &flow, json!({})).await;
    assert_eq!(server.system_messages(&lonely, 1).await, vec!["No bot"]);
}

#[tokio::test]
async fn unknown_functions_flows_and_queues_take_error_branches_and_transfers_work() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let target = import(
        &server,
        &instance,
        "Target",
        "there",
        json!([
            say(
                "there",
                "In the target flow with $.Attributes.k",
                Some("hold")
            ),
            hold("hold")
        ]),
    )
    .await;
    let flow = import(
        &server,
        &instance,
        "Errors",
        "lambda",
        json!([
            {"Identifier": "lambda", "Type": "InvokeLambdaFunction",
             "Parameters": {"LambdaFunctionARN": "arn:aws:lambda:us-east-1:000000000000:function:nowhere", "InvocationTimeLimitSeconds": "3"},
             "Transitions": {"NextAction": "never", "Errors": on_error("lambda-failed")}},
            say("never", "never", Some("hold")),
            say("lambda-failed", "Lambda failed", Some("queue")),
            {"Identifier": "queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": "arn:aws:connect:us-east-1:000000000000:instance/x/queue/missing"},
             "Transitions": {"NextAction": "transfer", "Errors": on_error("transfer")}},
            {"Identifier": "transfer", "Type": "TransferContactToQueue", "Parameters": {},
             "Transitions": {"Errors": on_error("queue-failed")}},
            say("queue-failed", "Queue failed", Some("set")),
            {"Identifier": "set", "Type": "UpdateContactAttributes", "Parameters": {"Attributes": {"k": "v"}},
             "Transitions": {"NextAction": "go", "Errors": on_error("go")}},
            {"Identifier": "go", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": target},
             "Transitions": {"NextAction": "never", "Errors": on_error("never")}},
            hold("hold")
        ]),
    )
    .await;
    let (chat, _socket) = start_on(&server, &instance, &flow, json!({})).await;
    assert_eq!(
        server.system_messages(&chat, 3).await,
        vec!["Lambda failed", "Queue failed", "In the target flow with v"]
    );
}

#[tokio::test]
async fn a_waiting_flow_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow = import(
        &server,
        &instance,
        "Slow",
        "wait",
        json!([
            {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "120"},
             "Transitions": {"Conditions": [equals("WaitCompleted", "after")], "Errors": on_error("after")}},
            say("after", "Still here after the restart", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let (chat, _socket) = start_on(&server, &instance, &flow, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.stop().await;
    // Down past the 1.2 s deadline; the restarted node's sweep finds the overdue wait.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let server = TestServer::start(dir.path(), MINUTE_MS).await;
    assert_eq!(
        server.system_messages(&chat, 1).await,
        vec!["Still here after the restart"]
    );
}

/// What the test's stand-in Lambda functions share with the test.
#[derive(Default)]
struct Functions {
    liaison: tokio::sync::OnceCell<TestServer>,
    events: std::sync::Mutex<Vec<Value>>,
    bot_token: std::sync::Mutex<Option<String>>,
}

/// Serves three functions: `add-bot` (the custom-bot pattern: it calls Liaison's Connect API
/// with the ids of the event, like the corpus's custom-chat-bot Lambda), `slow` and `nested`.
async fn function_server(functions: std::sync::Arc<Functions>) -> String {
    use axum::routing::post;
    let add_bot = {
        let functions = functions.clone();
        move |axum::Json(event): axum::Json<Value>| {
            let functions = functions.clone();
            async move {
                functions.events.lock().unwrap().push(event.clone());
                let data = &event["Details"]["ContactData"];
                let instance = data["InstanceARN"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string();
                let liaison = functions.liaison.get().unwrap();
                let (_, _, created) = liaison
                    .connect(
                        "POST",
                        "/contact/create-participant",
                        Some(json!({"InstanceId": instance, "ContactId": data["ContactId"],
                                    "ParticipantDetails": {"ParticipantRole": "CUSTOM_BOT", "DisplayName": data["Attributes"]["botName"]}})),
                    )
                    .await;
                let token = created["ParticipantCredentials"]["ParticipantToken"]
                    .as_str()
                    .unwrap_or_default();
                let (status, _, connection) = liaison
                    .participant(
                        "/participant/connection",
                        token,
                        json!({"Type": ["CONNECTION_CREDENTIALS"], "ConnectParticipant": true}),
                    )
                    .await;
                let ok = status == 200;
                *functions.bot_token.lock().unwrap() =
                    connection["ConnectionCredentials"]["ConnectionToken"]
                        .as_str()
                        .map(str::to_string);
                axum::Json(json!({"status": if ok { "success" } else { "failed" }}))
            }
        }
    };
    let app = axum::Router::new()
        .route("/add-bot", post(add_bot))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                axum::Json(json!({"status": "late"}))
            }),
        )
        .route(
            "/nested",
            post(|| async { axum::Json(json!({"status": {"deep": "x"}})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test]
async fn the_corpus_custom_bot_flow_runs_with_an_http_function() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/flows-public/vishalforcode__amazon-connect-chat-with-custom-participants__lib__custom-chat-bot.json");
    let Ok(exported) = std::fs::read_to_string(&corpus) else {
        eprintln!("no flow corpus at {}; skipping", corpus.display());
        return;
    };
    let functions = std::sync::Arc::new(Functions::default());
    let base = function_server(functions.clone()).await;
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:add-bot";
    let (_dir, server) = TestServer::start_on_sqlite_with(|config| {
        config.timer_minute_ms = MINUTE_MS;
        config
            .functions
            .insert(arn.into(), format!("{base}/add-bot"));
    })
    .await;
    let instance = server.default_instance().await;

    // The export leaves the function unset ("NOT-SET"); its owner fills in the ARN.
    let content = exported.replace("NOT-SET", arn);
    let created = server
        .create_flow(&instance, "Custom bot", "CONTACT_FLOW", &content)
        .await;
    let flow = created["ContactFlowId"].as_str().unwrap().to_string();

    // Not associated yet: the flow takes its error branch.
    let (chat, mut socket) = start_on(&server, &instance, &flow, json!({})).await;
    assert!(
        said_until_the_end(&mut socket)
            .await
            .contains(&"Error invoking bot.".to_string())
    );
    let _ = chat;

    for function in [arn, "arn:aws:lambda:us-east-1:000000000000:function:slow"] {
        let (status, _, body) = server
            .connect(
                "PUT",
                &format!("/instance/{instance}/lambda-function"),
                Some(json!({"FunctionArn": function})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, _, listed) = server
        .connect(
            "GET",
            &format!("/instance/{instance}/lambda-functions"),
            None,
        )
        .await;
    assert_eq!(listed["LambdaFunctions"].as_array().unwrap().len(), 2);
    let _ = functions.liaison.set(server);
    let server = functions.liaison.get().unwrap();

    let (chat, mut socket) = start_on(
        server,
        &instance,
        &flow,
        json!({"Attributes": {"botName": "Helper"}}),
    )
    .await;
    // The function added and connected the bot; the flow waits for it to leave.
    let joined = loop {
        let item = next_item(&mut socket).await.expect("the bot joins");
        if item["ContentType"] == JOINED {
            break item;
        }
    };
    assert_eq!(joined["ParticipantRole"], "CUSTOM_BOT");
    let event = functions.events.lock().unwrap()[0].clone();
    assert_eq!(event["Name"], "ContactFlowEvent");
    assert_eq!(
        event["Details"]["ContactData"]["ContactId"],
        chat.contact_id.as_str()
    );
    assert_eq!(event["Details"]["ContactData"]["Channel"], "CHAT");
    assert_eq!(
        event["Details"]["ContactData"]["Attributes"]["botName"],
        "Helper"
    );
    // The join is pushed while the function still waits for its answer.
    let mut bot_token = None;
    for _ in 0..100 {
        bot_token = functions.bot_token.lock().unwrap().clone();
        if bot_token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bot_token = bot_token.expect("the bot's connection");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _, _) = server
        .participant("/participant/disconnect", &bot_token, json!({}))
        .await;
    assert_eq!(status, 200);
    let said = said_until_the_end(&mut socket).await;
    assert!(
        said.contains(&"Bot was successful.".to_string()),
        "{said:?}"
    );
}

#[tokio::test]
async fn functions_that_are_slow_or_answer_the_wrong_shape_take_the_error_branch() {
    let functions = std::sync::Arc::new(Functions::default());
    let base = function_server(functions.clone()).await;
    let (_dir, server) = TestServer::start_on_sqlite_with(|config| {
        config.timer_minute_ms = MINUTE_MS;
        config
            .functions
            .insert("slow".into(), format!("{base}/slow"));
        config
            .functions
            .insert("nested".into(), format!("{base}/nested"));
    })
    .await;
    let instance = server.default_instance().await;
    let slow = "arn:aws:lambda:us-east-1:000000000000:function:slow";
    let nested = "arn:aws:lambda:us-east-1:000000000000:function:nested";
    for function in [slow, nested] {
        server
            .connect(
                "PUT",
                &format!("/instance/{instance}/lambda-function"),
                Some(json!({"FunctionArn": function})),
            )
            .await;
    }
    let call = |id: &str, function: &str, next: &str, failed: &str| {
        json!({"Identifier": id, "Type": "InvokeLambdaFunction",
               "Parameters": {"LambdaFunctionARN": function, "InvocationTimeLimitSeconds": "1",
                              "ResponseValidation": {"ResponseType": "STRING_MAP"}},
               "Transitions": {"NextAction": next, "Errors": on_error(failed)}})
    };
    let flow = import(
        &server,
        &instance,
        "Failing functions",
        "slow",
        json!([
            call("slow", slow, "ok1", "slow-failed"),
            say("ok1", "slow answered", Some("nested")),
            say("slow-failed", "slow timed out", Some("nested")),
            call("nested", nested, "ok2", "nested-failed"),
            say("ok2", "nested accepted", Some("hold")),
            say("nested-failed", "nested refused", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let (chat, _socket) = start_on(&server, &instance, &flow, json!({})).await;
    assert_eq!(
        server.system_messages(&chat, 2).await,
        vec!["slow timed out", "nested refused"]
    );
    let (status, _, gone) = server
        .connect(
            "DELETE",
            &format!(
                "/instance/{instance}/lambda-function?functionArn={}",
                slow.replace(':', "%3A")
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{gone}");
    let (status, _, gone) = server
        .connect(
            "DELETE",
            &format!(
                "/instance/{instance}/lambda-function?functionArn={}",
                slow.replace(':', "%3A")
            ),
            None,
        )
        .await;
    assert_eq!(
        (status, gone["__type"].as_str()),
        (404, Some("ResourceNotFoundException"))
    );
}

#[tokio::test]
async fn a_bot_leaving_hands_the_chat_to_the_disconnect_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let disconnect_flow = import(
        &server,
        &instance,
        "After the bot",
        "ask",
        json!([
            say("ask", "The bot has left. Anything else?", Some("wait")),
            {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "900", "Events": ["CustomerReturned"]},
             "Transitions": {"Conditions": [equals("CustomerReturned", "bye"), equals("WaitCompleted", "bye")],
                             "Errors": on_error("bye")}},
            say("bye", "Thanks, goodbye", Some("end")),
            disconnect("end")
        ]),
    )
    .await;
    let flow = import(
        &server,
        &instance,
        "Bot with a disconnect flow",
        "hooks",
        json!([
            {"Identifier": "hooks", "Type": "UpdateContactEventHooks",
             "Parameters": {"EventHooks": {"CustomerRemaining": disconnect_flow}},
             "Transitions": {"NextAction": "wait", "Errors": on_error("wait")}},
            // Waits for the customer, not for the bot: the hook takes over when the bot leaves.
            {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "900", "Events": ["CustomerReturned"]},
             "Transitions": {"Conditions": [equals("CustomerReturned", "main"), equals("WaitCompleted", "main")],
                             "Errors": on_error("main")}},
            say("main", "Still in the main flow", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let (chat, mut socket) = start_on(&server, &instance, &flow, json!({})).await;
    let bot = server.join_custom_bot(&chat).await.1;
    let (status, _, _) = server
        .participant("/participant/disconnect", &bot, json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        server.system_messages(&chat, 1).await,
        vec!["The bot has left. Anything else?"]
    );
    // The customer's answer goes to the disconnect flow's Wait, which ends the chat.
    send(&server, &chat, "no, thanks").await;
    assert_eq!(
        said_until_the_end(&mut socket).await,
        vec!["The bot has left. Anything else?", "Thanks, goodbye"]
    );

    // Without the hook, the bot leaving changes nothing.
    let plain = import(
        &server,
        &instance,
        "Bot without a disconnect flow",
        "wait",
        json!([
            {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "900", "Events": ["CustomerReturned"]},
             "Transitions": {"Conditions": [equals("CustomerReturned", "main")], "Errors": on_error("main")}},
            say("main", "Still in the main flow", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let (chat, _socket) = start_on(&server, &instance, &plain, json!({})).await;
    let bot = server.join_custom_bot(&chat).await.1;
    server
        .participant("/participant/disconnect", &bot, json!({}))
        .await;
    send(&server, &chat, "hello?").await;
    assert_eq!(
        server.system_messages(&chat, 1).await,
        vec!["Still in the main flow"]
    );
}

/// The blocks a contact's flow logs name, in order.
fn logged_blocks(logs: &Value) -> Vec<&str> {
    logs["FlowLogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Identifier"].as_str().unwrap())
        .collect()
}

/// Turns flow logging on, then goes to `next`.
fn log_on(next: &str) -> Value {
    json!({"Identifier": "log-on", "Type": "UpdateFlowLoggingBehavior",
           "Parameters": {"FlowLoggingBehavior": "Enabled"}, "Transitions": {"NextAction": next}})
}

async fn flow_logs(server: &TestServer, instance: &str, contact_id: &str) -> (u16, Value) {
    let (status, _, body) = server
        .connect(
            "GET",
            &format!("/liaison/flow-logs/{instance}/{contact_id}"),
            None,
        )
        .await;
    (status, body)
}

#[tokio::test]
async fn flow_logs_record_the_blocks_run_while_logging_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow = import(
        &server,
        &instance,
        "Logged greeting",
        "log-on",
        json!([
            log_on("tier"),
            {"Identifier": "tier", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Attributes.tier"},
             "Transitions": {"NextAction": "hello", "Conditions": [equals("gold", "hello-gold")],
                             "Errors": [{"NextAction": "hello", "ErrorType": "NoMatchingCondition"}]}},
            say("hello-gold", "Hello $.Attributes.name, gold member", Some("log-off")),
            say("hello", "Hello $.Attributes.name", Some("log-off")),
            {"Identifier": "log-off", "Type": "UpdateFlowLoggingBehavior", "Parameters": {"FlowLoggingBehavior": "Disabled"},
             "Transitions": {"NextAction": "quiet"}},
            say("quiet", "Not logged", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let (chat, _socket) = start_on(
        &server,
        &instance,
        &flow,
        json!({"Attributes": {"name": "Ana", "tier": "gold"}}),
    )
    .await;
    server.system_messages(&chat, 2).await;
    let (status, logs) = flow_logs(&server, &instance, &chat.contact_id).await;
    assert_eq!(status, 200, "{logs}");
    let records = logs["FlowLogs"].as_array().unwrap();
    let blocks: Vec<&str> = records
        .iter()
        .map(|r| r["Identifier"].as_str().unwrap())
        .collect();
    assert_eq!(blocks, vec!["log-on", "tier", "hello-gold"]);
    let tier = &records[1];
    assert_eq!(tier["ContactFlowModuleType"], "Compare");
    assert_eq!(tier["Parameters"]["ComparisonValue"], "gold");
    assert_eq!(tier["Results"], "gold");
    assert_eq!(tier["NextAction"], "hello-gold");
    let hello = &records[2];
    assert_eq!(hello["Parameters"]["Text"], "Hello Ana, gold member");
    assert_eq!(hello["Results"], "Success");
    assert_eq!(hello["ContactId"], chat.contact_id.as_str());
    assert_eq!(hello["ContactFlowName"], "Logged greeting");
    assert!(
        hello["ContactFlowId"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/contact-flow/{flow}")),
        "{hello}"
    );
    assert!(hello["Timestamp"].as_str().unwrap().ends_with('Z'));

    // Signed requests only; unknown contacts are named.
    let (status, _, _) = server
        .raw(
            "GET",
            &format!("/liaison/flow-logs/{instance}/{}", chat.contact_id),
            &[],
            b"",
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = flow_logs(&server, &instance, "no-such-contact").await;
    assert_eq!(status, 404);
    assert_eq!(body["__type"], "ResourceNotFoundException", "{body}");

    // The quiet flow never turns logging on: no logs.
    let (_, quiet) = server.instance_and_flow().await;
    let (quiet_chat, _socket) = start_on(&server, &instance, &quiet, json!({})).await;
    let (_, logs) = flow_logs(&server, &instance, &quiet_chat.contact_id).await;
    assert_eq!(logs["FlowLogs"], json!([]));
    server.stop().await;

    // Configured to log every block, the same flow logs the blocks after "log-off" too.
    let store = liaison_store::SqliteStore::open(dir.path()).await.unwrap();
    let mut config = TestServer::config();
    config.timer_minute_ms = MINUTE_MS;
    config.log_every_flow_block = true;
    let server = TestServer::start_configured(std::sync::Arc::new(store), config).await;
    let (chat, _socket) = start_on(
        &server,
        &instance,
        &flow,
        json!({"Attributes": {"name": "Ana"}}),
    )
    .await;
    server.system_messages(&chat, 2).await;
    let (_, logs) = flow_logs(&server, &instance, &chat.contact_id).await;
    let blocks = logged_blocks(&logs);
    assert_eq!(blocks, vec!["log-on", "tier", "hello", "log-off", "quiet"]);
    assert_eq!(logs["FlowLogs"][1]["Results"], "");
    assert_eq!(logs["FlowLogs"][1]["NextAction"], "hello");
}

#[tokio::test]
async fn a_flow_module_runs_on_the_contact_and_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let content = json!({"Version": "2019-10-30", "StartAction": "mark", "Actions": [
        {"Identifier": "mark", "Type": "UpdateContactAttributes",
         "Parameters": {"Attributes": {"module_ran": "yes"}, "TargetContact": "Current"},
         "Transitions": {"NextAction": "hello", "Errors": on_error("hello")}},
        say("hello", "In the module, $.Attributes.name", Some("return")),
        {"Identifier": "return", "Type": "EndFlowModuleExecution", "Parameters": {}, "Transitions": {}}
    ]});
    let (status, _, module) = server
        .connect(
            "PUT",
            &format!("/contact-flow-modules/{instance}"),
            Some(json!({"Name": "Greeting module", "Content": content.to_string()})),
        )
        .await;
    assert_eq!(status, 200, "{module}");
    let invoking = |module_ref: &str| {
        json!([
            say("before", "Before", Some("module")),
            {"Identifier": "module", "Type": "InvokeFlowModule", "Parameters": {"FlowModuleId": module_ref},
             "Transitions": {"NextAction": "after", "Errors": on_error("failed")}},
            say("after", "After, module_ran=$.Attributes.module_ran", Some("hold")),
            say("failed", "The module failed", Some("hold")),
            hold("hold")
        ])
    };
    let flow = import(
        &server,
        &instance,
        "Uses a module",
        "before",
        invoking(module["Arn"].as_str().unwrap()),
    )
    .await;
    let (chat, _socket) = start_on(
        &server,
        &instance,
        &flow,
        json!({"Attributes": {"name": "Ana"}}),
    )
    .await;
    assert_eq!(
        server.system_messages(&chat, 3).await,
        vec!["Before", "In the module, Ana", "After, module_ran=yes"]
    );

    // A module that does not exist takes the error branch.
    let broken = import(
        &server,
        &instance,
        "Uses a missing module",
        "before",
        invoking("no-such-module"),
    )
    .await;
    let (chat, _socket) = start_on(&server, &instance, &broken, json!({})).await;
    assert_eq!(
        server.system_messages(&chat, 2).await,
        vec!["Before", "The module failed"]
    );
}

#[tokio::test]
async fn update_contact_data_sets_what_references_and_describe_contact_show() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow = import(
        &server,
        &instance,
        "Names the contact",
        "data",
        json!([
            {"Identifier": "data", "Type": "UpdateContactData",
             "Parameters": {"Name": "Order for $.Attributes.name", "Description": "From the web",
                            "LanguageCode": "fr-FR", "CustomerId": "cust-$.Attributes.name",
                            "References": {"order": {"Type": "STRING", "Value": "$.Attributes.order"}},
                            "TargetContact": "Current"},
             "Transitions": {"NextAction": "say", "Errors": on_error("failed")}},
            say("say", "$.Name / $.Description / $.LanguageCode / $.References.order.Value / $.CustomerId", Some("hold")),
            say("failed", "UpdateContactData failed", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let (chat, _socket) = start_on(
        &server,
        &instance,
        &flow,
        json!({"Attributes": {"name": "Ana", "order": "O-42"}}),
    )
    .await;
    assert_eq!(
        server.system_messages(&chat, 1).await,
        vec!["Order for Ana / From the web / fr-FR / O-42 / cust-Ana"]
    );
    let (status, _, described) = server
        .connect(
            "GET",
            &format!("/contacts/{instance}/{}", chat.contact_id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["Contact"]["Name"], "Order for Ana");
    assert_eq!(described["Contact"]["Description"], "From the web");
    assert_eq!(described["Contact"]["CustomerId"], "cust-Ana");

    // UpdateContact changes the same data; members Liaison does not support are named.
    let (status, _, _) = server
        .connect(
            "POST",
            &format!("/contacts/{instance}/{}", chat.contact_id),
            Some(json!({"Name": "Renamed", "References": {"case": {"Type": "URL", "Value": "https://example.com/c/1"}}})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, described) = server
        .connect(
            "GET",
            &format!("/contacts/{instance}/{}", chat.contact_id),
            None,
        )
        .await;
    assert_eq!(described["Contact"]["Name"], "Renamed");
    assert_eq!(described["Contact"]["Description"], "From the web");
    let (status, _, refused) = server
        .connect(
            "POST",
            &format!("/contacts/{instance}/{}", chat.contact_id),
            Some(json!({"QueueInfo": {"Id": "q"}})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["__type"], "InvalidRequestException");
    assert!(refused["message"].as_str().unwrap().contains("QueueInfo"));
    let (status, _, missing) = server
        .connect(
            "POST",
            &format!("/contacts/{instance}/{}", uuid::Uuid::new_v4()),
            Some(json!({"Name": "x"})),
        )
        .await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn check_hours_of_operation_reads_the_schedule_at_this_moment() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    const DAYS: [&str; 7] = [
        "SUNDAY",
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
    ];
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // 1970-01-01 was a Thursday.
    let today = ((seconds / 86_400 + 4) % 7) as usize;
    let create_hours = |name: &str, days: Vec<&str>| {
        let config: Vec<Value> = days
            .iter()
            .map(|day| json!({"Day": day, "StartTime": {"Hours": 0, "Minutes": 0}, "EndTime": {"Hours": 0, "Minutes": 0}}))
            .collect();
        let body = json!({"Name": name, "TimeZone": "UTC", "Config": config});
        let server = &server;
        let instance = &instance;
        async move {
            let (status, _, created) = server
                .connect(
                    "PUT",
                    &format!("/hours-of-operations/{instance}"),
                    Some(body),
                )
                .await;
            assert_eq!(status, 200, "{created}");
            created["HoursOfOperationArn"].as_str().unwrap().to_string()
        }
    };
    let open = create_hours("Open today", vec![DAYS[today]]).await;
    let closed = create_hours("Open another day", vec![DAYS[(today + 3) % 7]]).await;
    let checking = |hours: Option<&str>| {
        let parameters = match hours {
            Some(hours) => json!({"HoursOfOperationId": hours}),
            None => json!({}),
        };
        json!([
            {"Identifier": "check", "Type": "CheckHoursOfOperation", "Parameters": parameters,
             "Transitions": {"Conditions": [equals("True", "open"), equals("False", "closed")],
                             "Errors": on_error("unknown")}},
            say("open", "We are open", Some("hold")),
            say("closed", "We are closed", Some("hold")),
            say("unknown", "No hours", Some("hold")),
            hold("hold")
        ])
    };
    for (name, hours, expected) in [
        ("Open", Some(open.as_str()), "We are open"),
        ("Closed", Some(closed.as_str()), "We are closed"),
        ("No such hours", Some("no-such-hours"), "No hours"),
        // No working queue: nothing to check.
        ("No queue", None, "No hours"),
    ] {
        let flow = import(&server, &instance, name, "check", checking(hours)).await;
        let (chat, _socket) = start_on(&server, &instance, &flow, json!({})).await;
        assert_eq!(
            server.system_messages(&chat, 1).await,
            vec![expected],
            "{name}"
        );
    }

    // The working queue's hours by default: BasicQueue runs on Basic Hours, open all week.
    let (_, _, queues) = server
        .connect("GET", &format!("/queues-summary/{instance}"), None)
        .await;
    let basic = queues["QueueSummaryList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["Name"] == "BasicQueue")
        .unwrap()["Arn"]
        .clone();
    let mut actions = checking(None);
    actions.as_array_mut().unwrap().insert(
        0,
        json!({"Identifier": "queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": basic},
               "Transitions": {"NextAction": "check", "Errors": on_error("unknown")}}),
    );
    let flow = import(&server, &instance, "Queue hours", "queue", actions).await;
    let (chat, _socket) = start_on(&server, &instance, &flow, json!({})).await;
    assert_eq!(server.system_messages(&chat, 1).await, vec!["We are open"]);
}

#[tokio::test]
async fn a_run_stored_with_its_chat_starts_even_if_its_node_never_did() {
    use liaison_core::{
        Contact, ContactState, Participant, ParticipantRole, TokenKind, TokenRecord, flow,
    };
    use liaison_store::{CreateChat, NewChat};
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow_id = import(
        &server,
        &instance,
        "Greets",
        "hello",
        json!([
            say("hello", "Hello from the sweep", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let stored = server
        .state
        .store
        .get_flow(&instance, &flow_id)
        .await
        .unwrap()
        .unwrap();
    let document = flow::validate(&stored.content).document.unwrap();
    // What StartChatContact commits, as if its node died right after the commit: nobody arms
    // the run here.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let contact_id = uuid::Uuid::new_v4().to_string();
    let customer = Participant {
        id: uuid::Uuid::new_v4().to_string(),
        contact_id: contact_id.clone(),
        role: ParticipantRole::Customer,
        display_name: "Ana".into(),
        joined_ms: now,
        left_ms: None,
        connected_ms: Some(now),
    };
    let chat = NewChat {
        contact: Contact {
            id: contact_id.clone(),
            instance_id: instance.clone(),
            initial_contact_id: contact_id.clone(),
            related_contact_id: None,
            flow_id: flow_id.clone(),
            state: ContactState::Open,
            attributes: Default::default(),
            segment_attributes: None,
            customer_id: None,
            data: Default::default(),
            supported_content_types: vec!["text/plain".into()],
            initiated_ms: now,
            ended_ms: None,
            expires_ms: now + 3_600_000,
            last_seq: 0,
            timer_config: Default::default(),
            watches_messages: false,
        },
        customer_token: TokenRecord {
            hash: uuid::Uuid::new_v4().to_string(),
            kind: TokenKind::Participant,
            participant_id: customer.id.clone(),
            contact_id: contact_id.clone(),
            expires_ms: None,
        },
        customer,
        items: Vec::new(),
        client_token: None,
        timers: vec![liaison_server::flows::ready_run(
            &stored, &document, "API", now,
        )],
        flow_logs: Vec::new(),
    };
    assert!(matches!(
        server.state.store.create_chat(chat).await.unwrap(),
        CreateChat::Created(_)
    ));
    // Every node sweeps once a second for runs overdue by more than a second.
    for _ in 0..100 {
        let items = server
            .state
            .store
            .items_after(&contact_id, 0, 10)
            .await
            .unwrap();
        if let Some(said) = items
            .iter()
            .find(|i| i.item.role == Some(ParticipantRole::System))
        {
            assert_eq!(said.item.content.as_deref(), Some("Hello from the sweep"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stored run never started");
}

#[tokio::test]
async fn start_chat_contact_is_refused_while_too_many_flows_wait() {
    let (_dir, server) =
        TestServer::start_on_sqlite_with(|config| config.max_pending_flow_runs = 0).await;
    let (instance, flow) = server.instance_and_flow().await;
    let (status, headers, refused) = server
        .connect(
            "PUT",
            "/contact/chat",
            Some(json!({"InstanceId": instance, "ContactFlowId": flow,
                        "ParticipantDetails": {"DisplayName": "Ana"}})),
        )
        .await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["__type"], "LimitExceededException");
    assert_eq!(headers["x-amzn-errortype"], "LimitExceededException");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("retry StartChatContact")
    );
}

#[tokio::test]
async fn a_flows_first_blocks_commit_with_the_chat() {
    let dir = tempfile::tempdir().unwrap();
    let (server, instance) = server(&dir).await;
    let flow = import(
        &server,
        &instance,
        "Greets at once",
        "log-on",
        json!([
            log_on("mark"),
            {"Identifier": "mark", "Type": "UpdateContactAttributes",
             "Parameters": {"Attributes": {"greeted": "yes", "note": "$.Attributes.pad"}, "TargetContact": "Current"},
             "Transitions": {"NextAction": "hello", "Errors": on_error("too-much")}},
            say("hello", "Hello $.Attributes.name, greeted: $.Attributes.greeted", Some("hold")),
            say("too-much", "Too much to remember", Some("hold")),
            hold("hold")
        ]),
    )
    .await;
    let start = |attributes: Value| {
        let body = json!({"InstanceId": instance, "ContactFlowId": flow,
                          "ParticipantDetails": {"DisplayName": "Ana"}, "Attributes": attributes});
        let server = &server;
        async move {
            let (status, _, started) = server.connect("PUT", "/contact/chat", Some(body)).await;
            assert_eq!(status, 200, "{started}");
            started["ContactId"].as_str().unwrap().to_string()
        }
    };
    // What the store holds for the chat: the system's messages and the contact's attributes.
    let committed = |contact_id: String| {
        let server = &server;
        async move {
            let store = &server.state.store;
            let items = store.items_after(&contact_id, 0, 10).await.unwrap();
            let said = items
                .into_iter()
                .filter(|i| i.item.role == Some(liaison_core::ParticipantRole::System))
                .filter_map(|i| i.item.content)
                .collect::<Vec<_>>();
            let contact = store.get_contact(&contact_id).await.unwrap().unwrap();
            (said, contact.attributes)
        }
    };

    // Read the moment StartChatContact answers, without waiting for anything: the greeting,
    // the attributes it set and its flow logs were committed with the chat.
    let contact_id = start(json!({"name": "Ana", "pad": "x"})).await;
    let (said, attributes) = committed(contact_id.clone()).await;
    assert_eq!(said, ["Hello Ana, greeted: yes"]);
    assert_eq!(attributes["greeted"], "yes");
    assert_eq!(attributes["note"], "x");
    let (_, logs) = flow_logs(&server, &instance, &contact_id).await;
    let blocks = logged_blocks(&logs);
    assert_eq!(blocks, ["log-on", "mark", "hello"], "{logs}");

    // Attributes the flow would take past the 32 KB limit are refused: the error branch runs
    // and the contact keeps what it started with.
    let pad = "p".repeat(32_000);
    let contact_id = start(json!({"name": "Bo", "pad": pad})).await;
    let (said, attributes) = committed(contact_id).await;
    assert_eq!(said, ["Too much to remember"]);
    assert!(!attributes.contains_key("greeted"));
}
