//! The metric blocks over the real wire: CheckMetricData and GetMetricData answer from the
//! queues, agents and offers routing holds, as a flow's messages show.

mod common;

use common::workspace::{Setup, setup};
use common::{Chat, TestServer};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// One "minute" of waits lasts 6 s: a flow second lasts 100 ms, an offer 2 s.
const MINUTE_MS: i64 = 6_000;

fn say(id: &str, text: &str) -> Value {
    json!({"Identifier": id, "Type": "MessageParticipant", "Parameters": {"Text": text},
           "Transitions": {"NextAction": "hold", "Errors": [{"NextAction": "hold", "ErrorType": "NoMatchingError"}]}})
}

/// Waits a week, so the chat stays open and quiet once the flow has spoken.
fn hold() -> Value {
    json!({"Identifier": "hold", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "604800"},
           "Transitions": {"Conditions": [{"NextAction": "hold", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}],
                           "Errors": [{"NextAction": "hold", "ErrorType": "NoMatchingError"}]}})
}

async fn import(server: &TestServer, instance: &str, name: &str, actions: Value) -> String {
    let content =
        json!({"Version": "2019-10-30", "StartAction": "start", "Actions": actions}).to_string();
    let (status, _, created) = server
        .connect(
            "PUT",
            &format!("/contact-flows/{instance}"),
            Some(json!({"Name": name, "Type": "CONTACT_FLOW", "Content": content})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    created["ContactFlowId"].as_str().unwrap().to_string()
}

/// What the flow of a new chat on `flow` says first.
async fn first_words(server: &TestServer, flow: &str) -> String {
    let chat = server.start_chat(json!({"ContactFlowId": flow})).await;
    server.system_messages(&chat, 1).await.remove(0)
}

async fn queue_arn(s: &Setup, name: &str) -> String {
    s.server
        .summary_named(
            &format!("/queues-summary/{}", s.instance),
            "QueueSummaryList",
            name,
        )
        .await["Arn"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What the GetMetricData flow reports, `name arn size=… oldest=… …`, as a map of the counts.
async fn report(s: &Setup, flow: &str, arn: &str) -> BTreeMap<String, i64> {
    let said = first_words(&s.server, flow).await;
    let mut words = said.split(' ');
    assert_eq!(words.next(), Some("Measured"), "{said}");
    assert_eq!(words.next(), Some(arn), "{said}");
    words
        .map(|word| {
            let (key, value) = word.split_once('=').unwrap();
            (key.to_string(), value.parse::<i64>().unwrap())
        })
        .collect()
}

/// Waits until the chat's flow has put it in a queue.
async fn queued(s: &Setup, chat: &Chat) {
    for _ in 0..250 {
        let queued = s.server.state.store.queued_contact(&chat.contact_id).await;
        if queued.unwrap().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the chat was not queued");
}

#[tokio::test]
async fn check_metric_data_branches_on_the_working_queues_staffing_and_contacts() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Staffed").await;
    let other = s.queue("Elsewhere").await;
    let profile = s.profile("Staffed agents", 1, &[(&queue, 1, 0)]).await;
    let elsewhere = s.profile("Other agents", 1, &[(&other, 1, 0)]).await;
    let check = |metric: &str, condition: Value| {
        json!([
            {"Identifier": "start", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": queue},
             "Transitions": {"NextAction": "check", "Errors": [{"NextAction": "error", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "check", "Type": "CheckMetricData", "Parameters": {"MetricType": metric},
             "Transitions": {"NextAction": "error", "Conditions": [{"NextAction": "yes", "Condition": condition}],
                             "Errors": [{"NextAction": "no", "ErrorType": "NoMatchingCondition"},
                                        {"NextAction": "error", "ErrorType": "NoMatchingError"}]}},
            say("yes", "yes"),
            say("no", "no"),
            say("error", "error"),
            hold()
        ])
    };
    let more_than_none = json!({"Operator": "NumberGreaterThan", "Operands": ["0"]});
    let available = import(
        &s.server,
        &s.instance,
        "Anyone available",
        check("NumberOfAgentsAvailable", more_than_none.clone()),
    )
    .await;
    let online = import(
        &s.server,
        &s.instance,
        "Anyone online",
        check("NumberOfAgentsOnline", more_than_none),
    )
    .await;
    let one_waiting = import(
        &s.server,
        &s.instance,
        "One waiting",
        check(
            "NumberOfContactsInQueue",
            json!({"Operator": "Equals", "Operands": ["1"]}),
        ),
    )
    .await;

    // Nobody serves the queue yet; an agent of another queue does not count.
    let _bo = s.agent("bo", "Bo", &elsewhere).await;
    assert_eq!(first_words(&s.server, &available).await, "no");
    assert_eq!(first_words(&s.server, &online).await, "no");

    // An Available agent of the queue.
    let ana = s.agent("ana", "Ana", &profile).await;
    assert_eq!(first_words(&s.server, &available).await, "yes");
    assert_eq!(first_words(&s.server, &online).await, "yes");

    // Offline: neither available nor online.
    s.set_status(&ana, &s.offline).await;
    assert_eq!(first_words(&s.server, &available).await, "no");
    assert_eq!(first_words(&s.server, &online).await, "no");

    // A chat waits in the queue; Ana comes back and is offered it, which takes her only slot:
    // online, not available, and the chat still counts as waiting until she accepts it.
    assert_eq!(first_words(&s.server, &one_waiting).await, "no");
    let chat = s.chat_into(&queue, "Jane", json!({})).await;
    queued(&s, &chat).await;
    assert_eq!(first_words(&s.server, &one_waiting).await, "yes");
    s.set_status(&ana, &s.available).await;
    s.offered(&ana, &chat).await;
    assert_eq!(first_words(&s.server, &available).await, "no");
    assert_eq!(first_words(&s.server, &online).await, "yes");
    assert_eq!(first_words(&s.server, &one_waiting).await, "yes");
    s.accept(&ana, &chat).await;
    assert_eq!(first_words(&s.server, &one_waiting).await, "no");
    assert_eq!(first_words(&s.server, &available).await, "no");

    // Without a working queue there is nothing to check; nor with a queue that does not exist.
    let mut actions = check(
        "NumberOfAgentsOnline",
        json!({"Operator": "NumberGreaterThan", "Operands": ["0"]}),
    );
    actions[0] = json!({"Identifier": "start", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "1"},
        "Transitions": {"Conditions": [{"NextAction": "check", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}],
                        "Errors": [{"NextAction": "check", "ErrorType": "NoMatchingError"}]}});
    let nowhere = import(&s.server, &s.instance, "Nowhere", actions.clone()).await;
    assert_eq!(first_words(&s.server, &nowhere).await, "error");
    actions[1]["Parameters"]["QueueId"] = json!(format!("{queue}-gone"));
    let gone = import(&s.server, &s.instance, "Gone", actions).await;
    assert_eq!(first_words(&s.server, &gone).await, "error");
}

#[tokio::test]
async fn get_metric_data_loads_the_named_queues_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), MINUTE_MS).await;
    let queue = s.queue("Measured").await;
    let arn = queue_arn(&s, "Measured").await;
    let profile = s.profile("Measured agents", 3, &[(&queue, 1, 0)]).await;
    let (status, _, lunch) = s
        .server
        .connect(
            "PUT",
            &format!("/agent-status/{}", s.instance),
            Some(json!({"Name": "Lunch", "State": "ENABLED"})),
        )
        .await;
    assert_eq!(status, 200, "{lunch}");
    let lunch = lunch["AgentStatusId"].as_str().unwrap().to_string();
    let flow = import(
        &s.server,
        &s.instance,
        "Queue metrics",
        json!([
            {"Identifier": "start", "Type": "GetMetricData", "Parameters": {"QueueId": arn, "QueueChannel": "Chat"},
             "Transitions": {"NextAction": "report", "Errors": [{"NextAction": "error", "ErrorType": "NoMatchingError"}]}},
            say("report", "$.Metrics.Queue.Name $.Metrics.Queue.ARN size=$.Metrics.Queue.Size \
                 oldest=$.Metrics.Queue.OldestContactAge available=$.Metrics.Agents.Available.Count \
                 online=$.Metrics.Agents.Online.Count staffed=$.Metrics.Agents.Staffed.Count \
                 busy=$.Metrics.Agents.Busy.Count npt=$.Metrics.Agents.NonProductive.Count"),
            say("error", "error"),
            hold()
        ]),
    )
    .await;
    let report = || report(&s, &flow, &arn);

    let empty = report().await;
    assert_eq!(
        empty.into_iter().collect::<Vec<_>>(),
        vec![
            ("available".into(), 0),
            ("busy".into(), 0),
            ("npt".into(), 0),
            ("oldest".into(), 0),
            ("online".into(), 0),
            ("size".into(), 0),
            ("staffed".into(), 0)
        ]
    );

    // Two chats wait while the queue's agents are away: one offline, one at lunch.
    let ana = s.agent("ana", "Ana", &profile).await;
    s.set_status(&ana, &s.offline).await;
    let cy = s.agent("cy", "Cy", &profile).await;
    s.set_status(&cy, &lunch).await;
    let first = s.chat_into(&queue, "Jane", json!({})).await;
    let second = s.chat_into(&queue, "Joe", json!({})).await;
    queued(&s, &first).await;
    queued(&s, &second).await;
    // At least 5 flow seconds pass.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = report().await;
    assert_eq!(waiting["size"], 2);
    assert!(
        (5..600).contains(&waiting["oldest"]),
        "oldest: {}",
        waiting["oldest"]
    );
    assert_eq!(waiting["online"], 1, "Cy is at lunch");
    assert_eq!(waiting["staffed"], 1);
    assert_eq!(waiting["npt"], 1);
    assert_eq!(waiting["available"], 0);

    // Ana comes back: both chats are offered to her (three slots), and she takes one.
    s.set_status(&ana, &s.available).await;
    s.offered(&ana, &first).await;
    s.offered(&ana, &second).await;
    let offered = report().await;
    assert_eq!(offered["size"], 2, "offered chats still wait");
    assert_eq!(offered["available"], 1, "one slot of three is free");
    assert_eq!(offered["online"], 2);
    s.accept(&ana, &first).await;
    let taken = report().await;
    assert_eq!(taken["size"], 1);
    assert_eq!(taken["busy"], 1);
    assert_eq!(taken["available"], 1);
    assert_eq!(taken["npt"], 1);
}
