//! Routing over the real wire: chats a flow transfers to a queue are offered to agents signed in
//! to the workspace API, who accept them and talk through the Participant API, or reject or
//! miss them; priority, concurrency and after-contact work decide what comes next.

mod common;

use common::workspace::{Agent, Setup, contacts_of, offers_of, setup, setup_on};
use common::{Chat, TestServer, next_item, open_socket, shared_stores};
use serde_json::{Value, json};
use std::time::Duration;

/// One "minute" of waits lasts 6 s, so an offer (20 s) lasts 2 s: long enough for a test to
/// answer it on a busy machine.
const MINUTE_MS: i64 = 6_000;
/// For tests that let offers time out: an offer lasts 500 ms.
const SHORT_MINUTE_MS: i64 = 1_500;

#[tokio::test]
async fn an_agent_accepts_a_queued_chat_talks_and_clears_after_contact_work() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Support").await;
    let profile = s.profile("Support agents", 2, &[(&queue, 1, 0)]).await;
    let ana = s.agent("ana", "Ana", &profile).await;

    let chat = s.chat_into(&queue, "Jane", json!({"plan": "gold"})).await;
    let mut customer = open_socket(&chat.websocket_url).await;
    let state = s.offered(&ana, &chat).await;
    assert_eq!(state["offers"][0]["customerName"], "Jane");
    assert_eq!(state["offers"][0]["queueName"], "Support");
    assert!(state["offers"][0]["deadline"].as_i64().unwrap() > state["now"].as_i64().unwrap());

    // The offered contact's attributes are visible before accepting.
    let (status, details) = s
        .workspace(
            "GET",
            &format!("/contacts/{}", chat.contact_id),
            &ana.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{details}");
    assert_eq!(details["attributes"], json!({"plan": "gold"}));
    assert_eq!(details["state"], "OFFERED");

    let (status, accepted) = s
        .workspace(
            "POST",
            &format!("/offers/{}/accept", chat.contact_id),
            &ana.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    let (status, _, connection) = s
        .server
        .participant(
            "/participant/connection",
            accepted["participantToken"].as_str().unwrap(),
            json!({"Type": ["CONNECTION_CREDENTIALS"], "ConnectParticipant": true}),
        )
        .await;
    assert_eq!(status, 200, "{connection}");
    let agent_connection = connection["ConnectionCredentials"]["ConnectionToken"]
        .as_str()
        .unwrap()
        .to_string();

    // The customer sees the agent join under their name.
    let joined = loop {
        let item = next_item(&mut customer).await.expect("an item");
        if item["ContentType"] == "application/vnd.amazonaws.connect.event.participant.joined" {
            break item;
        }
    };
    assert_eq!(joined["DisplayName"], "Ana Agent");
    assert_eq!(joined["ParticipantRole"], "AGENT");

    let state = s.state(&ana).await;
    assert!(offers_of(&state).is_empty());
    assert_eq!(
        contacts_of(&state),
        vec![(chat.contact_id.clone(), "CONNECTED".to_string())]
    );

    // Messages both ways.
    let (status, _, _) = s
        .server
        .participant(
            "/participant/message",
            &agent_connection,
            json!({"ContentType": "text/plain", "Content": "Hi Jane"}),
        )
        .await;
    assert_eq!(status, 200);
    let from_agent = loop {
        let item = next_item(&mut customer).await.expect("an item");
        if item["Type"] == "MESSAGE" && item["ParticipantRole"] == "AGENT" {
            break item;
        }
    };
    assert_eq!(from_agent["Content"], "Hi Jane");
    assert_eq!(from_agent["ParticipantRole"], "AGENT");
    let (status, _, _) = s
        .server
        .participant(
            "/participant/message",
            &chat.connection_token,
            json!({"ContentType": "text/plain", "Content": "Hello"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, transcript) = s
        .server
        .participant(
            "/participant/transcript",
            &agent_connection,
            json!({"SortOrder": "ASCENDING"}),
        )
        .await;
    let messages: Vec<&str> = transcript["Transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["Type"] == "MESSAGE" && item["ParticipantRole"] != "SYSTEM")
        .map(|item| item["Content"].as_str().unwrap())
        .collect();
    assert_eq!(messages, vec!["Hi Jane", "Hello"]);

    // The customer leaves: the agent goes to after-contact work, which keeps the slot.
    let (status, _, _) = s
        .server
        .participant("/participant/disconnect", &chat.connection_token, json!({}))
        .await;
    assert_eq!(status, 200);
    let state = s
        .state_when(&ana, "the contact is in after-contact work", |state| {
            state["contacts"][0]["state"] == "AFTER_CONTACT_WORK"
        })
        .await;
    assert!(state["contacts"][0]["endedAt"].is_i64());
    // The agent's connection is gone, but the workspace still reads the chat.
    let (status, transcript) = s
        .workspace(
            "GET",
            &format!("/contacts/{}/transcript", chat.contact_id),
            &ana.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{transcript}");
    let said: Vec<&str> = transcript["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["Type"] == "MESSAGE" && item["ParticipantRole"] != "SYSTEM")
        .map(|item| item["Content"].as_str().unwrap())
        .collect();
    assert_eq!(said, vec!["Hi Jane", "Hello"]);
    let (status, _) = s
        .workspace(
            "GET",
            "/contacts/someone-elses/transcript",
            &ana.token,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Changing status does not close after-contact work.
    s.set_status(&ana, &s.offline).await;
    s.set_status(&ana, &s.available).await;
    assert_eq!(contacts_of(&s.state(&ana).await).len(), 1);

    let (status, _) = s
        .workspace(
            "POST",
            &format!("/contacts/{}/clear", chat.contact_id),
            &ana.token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(contacts_of(&s.state(&ana).await).is_empty());
    s.server.stop().await;
}

#[tokio::test]
async fn queue_priority_then_age_decides_and_concurrency_caps_offers() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let sales = s.queue("Sales").await;
    let support = s.queue("Support").await;
    let profile = s
        .profile("Both", 2, &[(&sales, 1, 0), (&support, 2, 0)])
        .await;

    // Nobody is available while three chats queue: two in Support, then one in Sales.
    let support_1 = s.chat_into(&support, "First", json!({})).await;
    let support_2 = s.chat_into(&support, "Second", json!({})).await;
    let sales_1 = s.chat_into(&sales, "Third", json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let bo = s.agent("bo", "Bo", &profile).await;
    let state = s
        .state_when(&bo, "two offers", |state| offers_of(state).len() == 2)
        .await;
    // Sales has priority 1, so its newer chat comes before both Support chats; then the older
    // Support chat. Concurrency 2 holds the third back. (Offers made at once share a deadline.)
    let mut offered = offers_of(&state);
    offered.sort();
    let mut expected = vec![sales_1.contact_id.clone(), support_1.contact_id.clone()];
    expected.sort();
    assert_eq!(offered, expected);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        offers_of(&s.state(&bo).await).len(),
        2,
        "no third offer while two slots are taken"
    );

    for chat in [&sales_1, &support_1] {
        let (status, body) = s
            .workspace(
                "POST",
                &format!("/offers/{}/accept", chat.contact_id),
                &bo.token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Ending a chat leaves the slot taken until after-contact work is cleared.
    let (status, _, _) = s
        .server
        .participant(
            "/participant/disconnect",
            &sales_1.connection_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    s.state_when(&bo, "after-contact work", |state| {
        contacts_of(state)
            .iter()
            .any(|(_, st)| st == "AFTER_CONTACT_WORK")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(offers_of(&s.state(&bo).await).is_empty());
    let (status, _) = s
        .workspace(
            "POST",
            &format!("/contacts/{}/clear", sales_1.contact_id),
            &bo.token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    s.offered(&bo, &support_2).await;
    s.server.stop().await;
}

#[tokio::test]
async fn a_missed_offer_goes_to_the_next_agent_and_a_rejected_one_is_not_offered_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), SHORT_MINUTE_MS).await;
    let queue = s.queue("Help").await;
    let profile = s.profile("Helpers", 1, &[(&queue, 1, 0)]).await;
    let cy = s.agent("cy", "Cy", &profile).await;

    let chat = s.chat_into(&queue, "Jane", json!({})).await;
    s.offered(&cy, &chat).await;
    // Cy lets the offer time out (200 ms here): missed, and no more offers.
    let state = s
        .state_when(&cy, "the offer is missed", |state| state["missed"] == true)
        .await;
    assert!(offers_of(&state).is_empty());
    let (status, body) = s
        .workspace(
            "POST",
            &format!("/offers/{}/accept", chat.contact_id),
            &cy.token,
            None,
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("OfferClosed")));

    // Another agent gets it.
    let di = s.agent("di", "Di", &profile).await;
    s.offered(&di, &chat).await;
    // Di rejects it; with Cy missed, nobody can take it.
    let (status, _) = s
        .workspace(
            "POST",
            &format!("/offers/{}/reject", chat.contact_id),
            &di.token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        offers_of(&s.state(&di).await).is_empty(),
        "a rejected chat is not offered back"
    );
    assert!(
        offers_of(&s.state(&cy).await).is_empty(),
        "a missed agent gets nothing"
    );

    // Cy sets Available again: the missed state ends and the chat comes to Cy.
    s.set_status(&cy, &s.available).await;
    let state = s.offered(&cy, &chat).await;
    assert_eq!(state["missed"], false);
    s.server.stop().await;
}

#[tokio::test]
async fn a_customer_leaving_the_queue_withdraws_the_offer_and_going_offline_returns_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Desk").await;
    let profile = s.profile("Desk", 1, &[(&queue, 1, 0)]).await;
    let ed = s.agent("ed", "Ed", &profile).await;

    let first = s.chat_into(&queue, "Gone", json!({})).await;
    s.offered(&ed, &first).await;
    let (status, _, _) = s
        .server
        .participant(
            "/participant/disconnect",
            &first.connection_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    s.state_when(&ed, "the offer is withdrawn", |state| {
        offers_of(state).is_empty()
    })
    .await;

    let second = s.chat_into(&queue, "Stays", json!({})).await;
    s.offered(&ed, &second).await;
    s.set_status(&ed, &s.offline).await;
    s.state_when(&ed, "going offline withdraws the offer", |state| {
        offers_of(state).is_empty()
    })
    .await;
    let fay = s.agent("fay", "Fay", &profile).await;
    s.offered(&fay, &second).await;
    s.server.stop().await;
}

#[tokio::test]
async fn queued_chats_survive_a_restart_and_are_offered_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Night").await;
    let profile = s.profile("Night", 1, &[(&queue, 1, 0)]).await;
    let chat = s.chat_into(&queue, "Owl", json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = s.restart(dir.path(), MINUTE_MS).await;
    let gil = s.agent("gil", "Gil", &profile).await;
    s.offered(&gil, &chat).await;
    s.server.stop().await;
}

#[tokio::test]
async fn the_workspace_api_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let url = format!("{}/workspace/api/sign-in", s.server.base);
    let response = s
        .server
        .http
        .post(&url)
        .json(&json!({"username": "nobody", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "InvalidCredentials");
    let response = s
        .server
        .http
        .post(&url)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let (status, body) = s.workspace("GET", "/state", "not-a-token", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("Unauthorized"))
    );

    let queue = s.queue("Q").await;
    let profile = s.profile("Q", 1, &[(&queue, 1, 0)]).await;
    let hal = s.agent("hal", "Hal", &profile).await;
    let (status, body) = s
        .workspace("POST", "/offers/no-such-contact/accept", &hal.token, None)
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("OfferClosed")));
    let (status, _) = s
        .workspace("GET", "/contacts/no-such-contact", &hal.token, None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = s
        .workspace(
            "PUT",
            "/status",
            &hal.token,
            Some(json!({"agentStatusId": "nope"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = s
        .workspace("GET", "/no-such-endpoint", &hal.token, None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = s.workspace("GET", "/events", &hal.token, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );

    let (status, _) = s.workspace("POST", "/sign-out", &hal.token, None).await;
    assert_eq!(status, 204);
    let (status, _) = s.workspace("GET", "/state", &hal.token, None).await;
    assert_eq!(status, 401);
    s.server.stop().await;
}

#[tokio::test]
async fn supervisors_see_queues_and_agents() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Watched").await;
    let profile = s.profile("Watched", 1, &[(&queue, 1, 0)]).await;
    let agent = s.agent("ivy", "Ivy", &profile).await;
    let (status, body) = s.workspace("GET", "/supervisor", &agent.token, None).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("Forbidden")));

    let admin = s
        .server
        .summary_named(
            &format!("/security-profiles-summary/{}", s.instance),
            "SecurityProfileSummaryList",
            "Admin",
        )
        .await["Id"]
        .clone();
    let boss = Setup {
        security_profile: admin.as_str().unwrap().to_string(),
        ..s
    };
    let supervisor = boss.agent("jo", "Jo", &profile).await;
    boss.set_status(&supervisor, &boss.offline).await;
    let offered = boss.chat_into(&queue, "One", json!({})).await;
    boss.offered(&agent, &offered).await;
    boss.chat_into(&queue, "Two", json!({})).await;
    tokio::time::sleep(Duration::from_millis(50)).await;

    let (status, view) = boss
        .workspace("GET", "/supervisor", &supervisor.token, None)
        .await;
    assert_eq!(status, 200, "{view}");
    let watched = view["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "Watched")
        .unwrap()
        .clone();
    assert_eq!(
        (watched["waiting"].as_u64(), watched["offered"].as_u64()),
        (Some(2), Some(1))
    );
    let ivy = view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "ivy")
        .unwrap()
        .clone();
    assert_eq!(ivy["status"]["name"], "Available");
    assert_eq!(ivy["offers"], 1);
    let jo = view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "jo")
        .unwrap()
        .clone();
    assert_eq!(jo["status"]["name"], "Offline");
    boss.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_a_cluster_one_node_routes_chats_queued_and_accepted_on_any_node() {
    let Some(stores) = shared_stores(3).await else {
        return;
    };
    let mut nodes = Vec::new();
    for store in stores {
        nodes.push(setup_on(TestServer::start_on(store, MINUTE_MS).await).await);
    }
    let queue = nodes[0].queue("Cluster").await;
    let profile = nodes[0].profile("Cluster", 1, &[(&queue, 1, 0)]).await;
    // The agent signs in on node 1; chats start on node 0; whichever node holds the routing
    // lease makes the offers.
    let kim = nodes[1].agent("kim", "Kim", &profile).await;
    let first = nodes[0].chat_into(&queue, "First", json!({})).await;
    nodes[1].offered(&kim, &first).await;
    let second = nodes[2].chat_into(&queue, "Second", json!({})).await;

    let mut customer = open_socket(&first.websocket_url).await;
    let (status, accepted) = nodes[2]
        .workspace(
            "POST",
            &format!("/offers/{}/accept", first.contact_id),
            &kim.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    let (status, _, _) = nodes[1]
        .server
        .participant(
            "/participant/connection",
            accepted["participantToken"].as_str().unwrap(),
            json!({"Type": ["CONNECTION_CREDENTIALS"], "ConnectParticipant": true}),
        )
        .await;
    assert_eq!(status, 200);
    let joined = loop {
        let item = next_item(&mut customer).await.expect("the agent joins");
        if item["ContentType"] == "application/vnd.amazonaws.connect.event.participant.joined" {
            break item;
        }
    };
    assert_eq!(joined["DisplayName"], "Kim Agent");

    // Concurrency 1: the second chat waits until Kim clears the first, through node 0.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(offers_of(&nodes[1].state(&kim).await).is_empty());
    let (status, _) = nodes[0]
        .workspace(
            "POST",
            &format!("/contacts/{}/clear", first.contact_id),
            &kim.token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    nodes[2].offered(&kim, &second).await;
    for node in nodes {
        node.server.stop().await;
    }
}

#[tokio::test]
async fn a_queue_delay_holds_a_chat_back_from_a_profile_until_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Overflow").await;
    // Delay 6 s, on the test's timer minute of 6 s: 600 ms.
    let profile = s.profile("Overflow", 1, &[(&queue, 1, 6)]).await;
    let lee = s.agent("lee", "Lee", &profile).await;
    let queued_at = tokio::time::Instant::now();
    let chat = s.chat_into(&queue, "Patient", json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        offers_of(&s.state(&lee).await).is_empty(),
        "not before the delay"
    );
    s.offered(&lee, &chat).await;
    assert!(queued_at.elapsed() >= Duration::from_millis(600));
    s.server.stop().await;
}

/// The after-contact-work guide flow of AWS's "smart default guide" page, verbatim, or `None`
/// when the seed pages are not beside the repository.
fn after_contact_work_flow() -> Option<String> {
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/seeds/004_7c6449a3943628ab.txt");
    let page = std::fs::read_to_string(&seed).ok()?;
    let version = page.find("\"Version\"")?;
    let start = page[..version].rfind('{')?;
    Some(page[start..=page.rfind('}')?].to_string())
}

/// Mo, signed in on the Wrap-up queue, and Jane's chat queued there by a flow whose
/// `DisconnectAgentUI` hook is AWS's after-contact-work guide, offered to Mo. `None` without the
/// seed pages.
async fn guided_chat(s: &Setup) -> Option<(Agent, Chat)> {
    let guide_flow = after_contact_work_flow()?;
    let queue = s.queue("Wrap-up").await;
    let profile = s.profile("Wrap-up", 1, &[(&queue, 1, 0)]).await;
    let mo = s.agent("mo", "Mo", &profile).await;
    let created = s
        .server
        .create_flow(
            &s.instance,
            "Sample after contact work flow",
            "CONTACT_FLOW",
            &guide_flow,
        )
        .await;
    let flow_id = s
        .queueing_flow(
            "Guided",
            &queue,
            json!({"DisconnectAgentUI": created["ContactFlowArn"]}),
        )
        .await;
    let chat = s
        .server
        .start_chat(
            json!({"ContactFlowId": flow_id, "ParticipantDetails": {"DisplayName": "Jane"}}),
        )
        .await;
    s.offered(&mo, &chat).await;
    Some((mo, chat))
}

#[tokio::test]
async fn the_after_contact_work_guide_writes_the_disposition_onto_the_customer_contact() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let Some((mo, chat)) = guided_chat(&s).await else {
        eprintln!("no seed pages beside the repository; skipping");
        return;
    };
    let (status, _) = s
        .workspace(
            "POST",
            &format!("/offers/{}/accept", chat.contact_id),
            &mo.token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s
        .workspace(
            "POST",
            &format!("/contacts/{}/guide", chat.contact_id),
            &mo.token,
            Some(json!({"action": "Submit"})),
        )
        .await;
    assert_eq!(status, 409, "no guide while the chat goes on");

    // The customer leaves: after-contact work shows the guide's view.
    let (status, _, _) = s
        .server
        .participant("/participant/disconnect", &chat.connection_token, json!({}))
        .await;
    assert_eq!(status, 200);
    let state = s
        .state_when(&mo, "the guide shows its view", |state| {
            state["contacts"][0]["guide"]["view"]["name"] == "after-contact-work"
        })
        .await;
    let guide = &state["contacts"][0]["guide"];
    assert_eq!(state["contacts"][0]["state"], "AFTER_CONTACT_WORK");
    assert_eq!(guide["view"]["actions"], json!(["Submit", "Cancel"]));
    assert_eq!(guide["viewData"]["CustomerName"], "Jane Doe");
    assert_eq!(guide["viewData"]["Category_DefaultValue"], "Support");
    assert!(guide["deadline"].as_i64().unwrap() > state["now"].as_i64().unwrap());
    assert_ne!(guide["contactId"], chat.contact_id.as_str());

    let (status, _) = s
        .workspace(
            "POST",
            &format!("/contacts/{}/guide", chat.contact_id),
            &mo.token,
            Some(json!({"action": "Submit", "viewResultData": {
                "Category": ["Billing"], "Driver": ["Refund request"], "Satisfaction": ["Satisfied"],
                "FollowUp": ["No"], "Resolved": ["Yes"], "ModifiedSummary": "Refund issued", "ContactNotes": "Polite"
            }})),
        )
        .await;
    assert_eq!(status, 202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let attributes = loop {
        let (status, _, attributes) = s
            .server
            .connect(
                "GET",
                &format!("/contact/attributes/{}/{}", s.instance, chat.contact_id),
                None,
            )
            .await;
        assert_eq!(status, 200, "{attributes}");
        if attributes["Attributes"]["Category"] == "Billing" {
            break attributes["Attributes"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the disposition never reached the customer contact: {attributes}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        attributes,
        json!({"Category": "Billing", "Driver": "Refund request", "Satisfaction": "Satisfied", "FollowUp": "No",
               "Resolved": "Yes", "ModifiedSummary": "Refund issued", "ContactNotes": "Polite"})
    );
    // The guide is over; after-contact work stays until the agent clears it.
    let state = s
        .state_when(&mo, "the guide ends", |state| {
            state["contacts"][0]["guide"].is_null()
        })
        .await;
    assert_eq!(state["contacts"][0]["state"], "AFTER_CONTACT_WORK");
    s.server.stop().await;
}

#[tokio::test]
async fn an_after_contact_guide_cut_off_by_a_crash_starts_when_the_agent_looks() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let Some((mo, chat)) = guided_chat(&s).await else {
        eprintln!("no seed pages beside the repository; skipping");
        return;
    };
    s.accept(&mo, &chat).await;

    // The chat ends for the agent and the node stops before it starts the guide.
    let store = &s.server.state.store;
    let now = s.server.state.clock.now_ms();
    assert!(
        store
            .end_agent_contact(&chat.contact_id, &mo.user_id, now)
            .await
            .unwrap()
    );
    let state = s
        .state_when(&mo, "the due guide shows its view", |state| {
            state["contacts"][0]["guide"]["view"]["name"] == "after-contact-work"
        })
        .await;
    let guide = state["contacts"][0]["guide"]["contactId"].clone();
    assert_eq!(state["contacts"][0]["state"], "AFTER_CONTACT_WORK");
    // Started once: looking again shows the same guide.
    let again = s.state(&mo).await;
    assert_eq!(again["contacts"][0]["guide"]["contactId"], guide);
    s.server.stop().await;
}

#[tokio::test]
async fn the_events_socket_pushes_the_state_as_it_changes() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Pushed").await;
    let profile = s.profile("Pushed", 1, &[(&queue, 1, 0)]).await;
    let nia = s.agent("nia", "Nia", &profile).await;
    let events_url = |token: &str| {
        format!(
            "{}/workspace/api/events?token={token}",
            s.server.base.replace("http://", "ws://")
        )
    };
    async fn next_text(socket: &mut common::Socket) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .ok()??
                .ok()?;
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
                Message::Close(frame) => {
                    return Some(json!({"closed": frame.map(|f| u16::from(f.code))}));
                }
                _ => continue,
            }
        }
    }

    let (mut refused, _) = tokio_tungstenite::connect_async(events_url("not-a-session"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut refused).await, Some(json!({"closed": 4001})));

    let (mut socket, _) = tokio_tungstenite::connect_async(events_url(&nia.token))
        .await
        .unwrap();
    let first = next_text(&mut socket).await.unwrap();
    assert_eq!(first["type"], "state");
    assert_eq!(first["state"]["status"]["name"], "Available");
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut socket).await, Some(json!({"type": "pong"})));

    let chat = s.chat_into(&queue, "Pushed", json!({})).await;
    let pushed = next_text(&mut socket).await.unwrap();
    assert_eq!(pushed["type"], "state");
    assert_eq!(offers_of(&pushed["state"]), vec![chat.contact_id.clone()]);
    let offer = &pushed["state"]["offers"][0];
    assert_eq!(
        offer["deadline"].as_i64().unwrap() - offer["offeredAt"].as_i64().unwrap(),
        MINUTE_MS / 3,
        "an offer lasts 20 timer seconds"
    );

    let (status, _) = s.workspace("POST", "/sign-out", &nia.token, None).await;
    assert_eq!(status, 204);
    assert_eq!(next_text(&mut socket).await, Some(json!({"closed": 4001})));
    s.server.stop().await;
}

#[tokio::test]
async fn a_chat_queued_again_where_it_waits_keeps_its_offer() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Again").await;
    let profile = s.profile("Again", 1, &[(&queue, 1, 0)]).await;
    let ola = s.agent("ola", "Ola", &profile).await;
    let chat = s.chat_into(&queue, "Twice", json!({})).await;
    let first = s.offered(&ola, &chat).await["offers"][0]["deadline"].clone();
    // A queue flow transferring the chat to the queue it is in changes nothing.
    s.server
        .state
        .enqueue_contact(&s.instance, &chat.contact_id, &queue)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let state = s.state(&ola).await;
    assert_eq!(offers_of(&state), vec![chat.contact_id.clone()]);
    assert_eq!(state["offers"][0]["deadline"], first);
    s.accept(&ola, &chat).await;
    s.server.stop().await;
}

#[tokio::test]
async fn transfer_contact_moves_a_chat_to_another_queue_and_its_agents() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let sales = s.queue("Sales desk").await;
    let billing = s.queue("Billing desk").await;
    let sellers = s.profile("Sellers", 2, &[(&sales, 1, 0)]).await;
    let billers = s.profile("Billers", 2, &[(&billing, 1, 0)]).await;
    let pia = s.agent("pia", "Pia", &sellers).await;
    let quin = s.agent("quin", "Quin", &billers).await;
    let chat = s.chat_into(&sales, "Moved", json!({})).await;
    let mut customer = open_socket(&chat.websocket_url).await;
    s.offered(&pia, &chat).await;
    let (pia_participant, _) = s.accept(&pia, &chat).await;

    let flow_id = s
        .transfer_flow(
            "To billing",
            "QUEUE_TRANSFER",
            "Transferring you to billing",
        )
        .await;
    let transfer = |body: Value| {
        let server = &s.server;
        async move {
            server
                .connect("POST", "/contact/transfer", Some(body))
                .await
        }
    };
    let base =
        json!({"InstanceId": s.instance, "ContactId": chat.contact_id, "ContactFlowId": flow_id});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    // Refusals name what is wrong.
    let (status, headers, _) = transfer(with(json!({}))).await;
    assert_eq!(
        (status, headers["x-amzn-ErrorType"].to_str().unwrap()),
        (400, "InvalidRequestException")
    );
    let (status, _, _) = transfer(with(json!({"QueueId": billing, "UserId": quin.user_id}))).await;
    assert_eq!(status, 400);
    let (status, headers, body) = transfer(with(json!({"UserId": "no-such-user"}))).await;
    assert_eq!(
        (status, headers["x-amzn-ErrorType"].to_str().unwrap()),
        (404, "ResourceNotFoundException"),
        "{body}"
    );
    let (status, headers, _) = transfer(with(
        json!({"QueueId": billing, "ContactId": "no-such-contact"}),
    ))
    .await;
    assert_eq!(
        (status, headers["x-amzn-ErrorType"].to_str().unwrap()),
        (404, "ResourceNotFoundException")
    );

    let (status, _, moved) = transfer(with(json!({"QueueId": billing}))).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["ContactId"], chat.contact_id.as_str());
    assert!(
        moved["ContactArn"]
            .as_str()
            .unwrap()
            .ends_with(&chat.contact_id)
    );

    // Pia leaves the chat into after-contact work; the customer hears of the transfer and
    // Quin is offered the chat.
    let left = loop {
        let item = next_item(&mut customer).await.expect("Pia leaves");
        if item["ContentType"] == "application/vnd.amazonaws.connect.event.participant.left" {
            break item;
        }
    };
    assert_eq!(left["ParticipantId"], pia_participant.as_str());
    s.state_when(&pia, "Pia is in after-contact work", |state| {
        state["contacts"][0]["state"] == "AFTER_CONTACT_WORK"
    })
    .await;
    s.offered(&quin, &chat).await;
    s.accept(&quin, &chat).await;
    let mut said = Vec::new();
    let joined = loop {
        let item = next_item(&mut customer).await.expect("Quin joins");
        if item["ContentType"] == "application/vnd.amazonaws.connect.event.participant.joined" {
            break item;
        }
        said.push(item["Content"].clone());
    };
    assert_eq!(joined["DisplayName"], "Quin Agent");
    assert!(
        said.contains(&json!("Transferring you to billing")),
        "{said:?}"
    );
    s.server.stop().await;
}

#[tokio::test]
async fn a_chat_sent_to_an_agent_is_offered_to_that_agent_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let sales = s.queue("Sales desk").await;
    let other = s.queue("Other desk").await;
    let sellers = s.profile("Sellers", 2, &[(&sales, 1, 0)]).await;
    let others = s.profile("Others", 1, &[(&other, 1, 0)]).await;
    let pia = s.agent("pia", "Pia", &sellers).await;
    let chat = s.chat_into(&sales, "Moved", json!({})).await;
    let mut customer = open_socket(&chat.websocket_url).await;
    s.offered(&pia, &chat).await;
    s.accept(&pia, &chat).await;
    let ray = s.agent("ray", "Ray", &sellers).await;
    let quin = s.agent("quin", "Quin", &others).await;

    // TransferContact to Quin: his agent queue, though his profile does not serve Sales.
    let transfer_flow = s
        .transfer_flow("To an agent", "AGENT_TRANSFER", "Transferring you to Quin")
        .await;
    let (status, _, moved) = s
        .server
        .connect(
            "POST",
            "/contact/transfer",
            Some(
                json!({"InstanceId": s.instance, "ContactId": chat.contact_id,
                        "ContactFlowId": transfer_flow, "UserId": quin.user_id}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    s.offered(&quin, &chat).await;
    assert!(
        offers_of(&s.state(&ray).await).is_empty(),
        "Ray is free but not the one"
    );
    let (quin_participant, _) = s.accept(&quin, &chat).await;
    let joined = loop {
        let item = next_item(&mut customer).await.expect("Quin joins");
        if item["ContentType"] == "application/vnd.amazonaws.connect.event.participant.joined"
            && item["ParticipantId"] == quin_participant.as_str()
        {
            break item;
        }
    };
    assert_eq!(joined["DisplayName"], "Quin Agent");

    // A flow's UpdateContactTargetQueue with an AgentId (here an agent ARN) queues on Ray's
    // agent queue: Pia has a free Sales slot but is not offered it.
    let (_, _, described) = s
        .server
        .connect(
            "GET",
            &format!("/users/{}/{}", s.instance, ray.user_id),
            None,
        )
        .await;
    let ray_arn = described["User"]["Arn"].clone();
    let to_ray = json!({
        "Version": "2019-10-30",
        "StartAction": "target",
        "Actions": [
            {"Identifier": "target", "Type": "UpdateContactTargetQueue", "Parameters": {"AgentId": ray_arn},
             "Transitions": {"NextAction": "queue", "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "queue", "Type": "TransferContactToQueue", "Parameters": {},
             "Transitions": {"Errors": [{"NextAction": "end", "ErrorType": "QueueAtCapacity"},
                                        {"NextAction": "end", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "end", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]
    });
    let created = s
        .server
        .create_flow(
            &s.instance,
            "Straight to Ray",
            "CONTACT_FLOW",
            &to_ray.to_string(),
        )
        .await;
    let direct = s
        .server
        .start_chat(json!({"ContactFlowId": created["ContactFlowId"]}))
        .await;
    s.offered(&ray, &direct).await;
    assert!(offers_of(&s.state(&pia).await).is_empty());
    // Agent queues are listed as such.
    let (_, _, agent_queues) = s
        .server
        .connect(
            "GET",
            &format!("/queues-summary/{}?queueTypes=AGENT", s.instance),
            None,
        )
        .await;
    let ids: Vec<&Value> = agent_queues["QueueSummaryList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|queue| &queue["Id"])
        .collect();
    assert!(ids.contains(&&json!(ray.user_id)), "{agent_queues}");
    // Agent queues are not for routing profiles.
    let (status, headers, _) = s
        .server
        .connect(
            "PUT",
            &format!("/routing-profiles/{}", s.instance),
            Some(json!({
                "Name": "Ray's", "Description": "agent queue", "DefaultOutboundQueueId": sales,
                "MediaConcurrencies": [{"Channel": "CHAT", "Concurrency": 1}],
                "QueueConfigs": [{"QueueReference": {"QueueId": ray.user_id, "Channel": "CHAT"}, "Priority": 1, "Delay": 0}],
            })),
        )
        .await;
    assert_eq!(
        (status, headers["x-amzn-ErrorType"].to_str().unwrap()),
        (400, "InvalidParameterException")
    );
    assert!(ids.contains(&&json!(quin.user_id)), "{agent_queues}");
    assert!(!ids.contains(&&json!(sales)), "{agent_queues}");
    s.server.stop().await;
}

#[tokio::test]
async fn a_default_agent_ui_guide_runs_from_the_moment_the_agent_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Guided").await;
    let profile = s.profile("Guided", 1, &[(&queue, 1, 0)]).await;
    let rae = s.agent("rae", "Rae", &profile).await;
    let guide = json!({
        "Version": "2019-10-30",
        "StartAction": "confirm",
        "Actions": [
            {"Identifier": "confirm", "Type": "ShowView",
             "Parameters": {"ViewResource": {"Id": "arn:aws:connect:us-east-1:aws:view/confirmation:1"},
                            "InvocationTimeLimitSeconds": "300",
                            "ViewData": {"Heading": "Greet $.Attributes.name", "Next": {"Label": "Done"}}},
             "Transitions": {"NextAction": "end",
                             "Conditions": [{"NextAction": "save", "Condition": {"Operator": "Equals", "Operands": ["Next"]}}],
                             "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingCondition"},
                                        {"NextAction": "end", "ErrorType": "NoMatchingError"},
                                        {"NextAction": "end", "ErrorType": "TimeLimitExceeded"}]}},
            {"Identifier": "save", "Type": "UpdateContactAttributes",
             "Parameters": {"Attributes": {"greeted": "$.Views.ViewResultData.Label"}, "TargetContact": "Related"},
             "Transitions": {"NextAction": "end", "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "end", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]
    });
    let created = s
        .server
        .create_flow(
            &s.instance,
            "Greeting guide",
            "CONTACT_FLOW",
            &guide.to_string(),
        )
        .await;
    let flow_id = s
        .queueing_flow(
            "Greeted",
            &queue,
            json!({"DefaultAgentUI": created["ContactFlowId"]}),
        )
        .await;
    let chat = s
        .server
        .start_chat(json!({"ContactFlowId": flow_id, "Attributes": {"name": "Jane"}}))
        .await;
    s.offered(&rae, &chat).await;
    s.accept(&rae, &chat).await;
    let state = s
        .state_when(&rae, "the default guide shows its view", |state| {
            state["contacts"][0]["guide"]["view"]["name"] == "confirmation"
        })
        .await;
    assert_eq!(state["contacts"][0]["state"], "CONNECTED");
    assert_eq!(
        state["contacts"][0]["guide"]["viewData"]["Heading"],
        "Greet Jane"
    );
    let (status, _) = s
        .workspace(
            "POST",
            &format!("/contacts/{}/guide", chat.contact_id),
            &rae.token,
            Some(json!({"action": "Next", "viewResultData": {"Label": "Done"}})),
        )
        .await;
    assert_eq!(status, 202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, _, attributes) = s
            .server
            .connect(
                "GET",
                &format!("/contact/attributes/{}/{}", s.instance, chat.contact_id),
                None,
            )
            .await;
        if attributes["Attributes"]["greeted"] == "Done" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{attributes}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.state_when(&rae, "the guide ends", |state| {
        state["contacts"][0]["guide"].is_null()
    })
    .await;
    s.server.stop().await;
}

#[tokio::test]
async fn a_rejection_holds_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Kept").await;
    let profile = s.profile("Kept", 1, &[(&queue, 1, 0)]).await;
    let sam = s.agent("sam", "Sam", &profile).await;
    let chat = s.chat_into(&queue, "Declined", json!({})).await;
    s.offered(&sam, &chat).await;
    let (status, _) = s
        .workspace(
            "POST",
            &format!("/offers/{}/reject", chat.contact_id),
            &sam.token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let s = s.restart(dir.path(), MINUTE_MS).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        offers_of(&s.state(&sam).await).is_empty(),
        "the rejection was kept"
    );
    let tia = s.agent("tia", "Tia", &profile).await;
    s.offered(&tia, &chat).await;
    s.server.stop().await;
}
