//! `loadgen flows`: what running contact flows costs, measured twice in one run, each figure
//! against a baseline measured the same way in the same run.
//!
//! 1. **The interpreter alone**, in this process on one thread: `liaison_core::flow`'s
//!    [`Interpreter`] drives a flow of blocks that need nothing outside (Compare, Loop,
//!    DistributeByPercentage, the Update… blocks that change only the run, with `$.` references
//!    to interpolate) round and round for a few seconds; blocks per second is the trace entries
//!    it wrote. Baseline: walking the same sequence of blocks by identifier lookups in the
//!    [`FlowDocument`] and nothing else, the least any interpreter must do per block. The issue's
//!    target is ≥ 100,000 blocks per second per core.
//! 2. **StartChatContact on a 10-block flow**, against the real `liaison` binary with a fresh
//!    data directory: the flow is imported with CreateContactFlow, then `--concurrency` tasks
//!    call StartChatContact on it as fast as the server answers for `--secs`. Flows run in the
//!    background after the answer, so the rate chats get through their flows is read from the
//!    server's `liaison_flow_blocks_total`, polled until it stops growing. Baseline: a fresh
//!    server under the same load with a flow of one block (the final Wait alone), which costs
//!    the flow machinery (claim, store the waiting run) without the blocks. The target
//!    is ≥ 2,000 chats per second on the 2-core machine.

use crate::bench::{self, Percentiles, ServerProcess};
use crate::client::Api;
use crate::report::{Measured, cell, closing, verdict};
use crate::sys::{self, CpuSnap, CpuUse, StateSamples};
use liaison_core::flow::{
    self, FlowDocument, FlowState, Interpreter, Step, Surroundings, TraceEntry, validate,
};
use liaison_core::{Contact, ContactState};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::hint::black_box;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Targets from the issue.
pub const TARGET_BLOCKS_PER_SEC: f64 = 100_000.0;
pub const TARGET_CHATS_PER_SEC: f64 = 2_000.0;
/// The machine the chats target is stated for.
pub const TARGET_CPUS: usize = 2;

/// Loop rounds per pass of the in-process flow: about 650 blocks between two Waits, under the
/// interpreter's budget of 1,000 blocks without waiting (beyond it a run counts as looping).
const ROUNDS: u32 = 100;
/// How often the server's metrics are read while its flows catch up. The time a counter
/// reached its final value is known to within this (plus one read).
const POLL_EVERY: Duration = Duration::from_millis(100);
/// A metrics read gives up after this long.
const METRICS_TIMEOUT: Duration = Duration::from_secs(5);
/// The queue the default instance is made with (the one flow that names it is the default
/// chat flow).
const DEFAULT_QUEUE_NAME: &str = "BasicQueue";
const DEFAULT_CHAT_FLOW: &str = "Default chat flow";
const DEFAULT_CUSTOMER_QUEUE_FLOW: &str = "Default customer queue";
/// Kinds of troubled server log lines kept for the report.
const LOG_KINDS: usize = 5;

/// What to run.
#[derive(Clone)]
pub struct Config {
    pub liaison_bin: PathBuf,
    /// Seconds of each in-process measurement; zero skips part 1.
    pub interpreter: Duration,
    /// StartChatContact calls in flight.
    pub concurrency: usize,
    /// Seconds of StartChatContact load on each server; zero skips part 2.
    pub duration: Duration,
    /// Most chats one server is given (the load stops there even before `duration`).
    pub max_chats: u64,
    /// The counters must stand still this long after the load for the flows to count as done.
    pub quiet: Duration,
    /// Most time after the load given to the flows to finish.
    pub settle_limit: Duration,
}

fn say(message: impl AsRef<str>) {
    eprintln!("[loadgen flows] {}", message.as_ref());
}

// ---------------------------------------------------------------------------------------------
// 1. The interpreter alone.

/// A flow of blocks without I/O that loops [`ROUNDS`] times, then waits; the Wait's time limit
/// sends it back to the start. Every block after the first reads the contact's attributes
/// through a `$.` reference, as real flows do.
fn looping_flow_content() -> String {
    let on_error = |next: &str| json!([{"NextAction": next, "ErrorType": "NoMatchingError"}]);
    json!({
        "Version": "2019-10-30",
        "StartAction": "start",
        "Actions": [
            {"Identifier": "start", "Type": "UpdateFlowLoggingBehavior",
             "Parameters": {"FlowLoggingBehavior": "Disabled"},
             "Transitions": {"NextAction": "loop"}},
            {"Identifier": "loop", "Type": "Loop", "Parameters": {"LoopCount": "$.Attributes.rounds"},
             "Transitions": {"NextAction": "rest", "Conditions": [
                {"NextAction": "tier", "Condition": {"Operator": "Equals", "Operands": ["ContinueLooping"]}},
                {"NextAction": "rest", "Condition": {"Operator": "Equals", "Operands": ["DoneLooping"]}}],
              "Errors": on_error("rest")}},
            {"Identifier": "tier", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Attributes.tier"},
             "Transitions": {"NextAction": "hooks", "Conditions": [
                {"NextAction": "queue", "Condition": {"Operator": "NumberGreaterThan", "Operands": ["5"]}}],
              "Errors": [{"NextAction": "hooks", "ErrorType": "NoMatchingCondition"}]}},
            {"Identifier": "queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": "$.Attributes.queue"},
             "Transitions": {"NextAction": "hooks", "Errors": on_error("hooks")}},
            {"Identifier": "hooks", "Type": "UpdateContactEventHooks",
             "Parameters": {"EventHooks": {"CustomerRemaining": "$.Attributes.hook"}},
             "Transitions": {"NextAction": "split", "Errors": on_error("split")}},
            {"Identifier": "split", "Type": "DistributeByPercentage", "Parameters": {},
             "Transitions": {"NextAction": "logging", "Conditions": [
                {"NextAction": "name", "Condition": {"Operator": "NumberLessThan", "Operands": ["50"]}}],
              "Errors": [{"NextAction": "logging", "ErrorType": "NoMatchingCondition"}]}},
            {"Identifier": "name", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Attributes.name"},
             "Transitions": {"NextAction": "logging", "Conditions": [
                {"NextAction": "logging", "Condition": {"Operator": "TextStartsWith", "Operands": ["An"]}}],
              "Errors": [{"NextAction": "logging", "ErrorType": "NoMatchingCondition"}]}},
            {"Identifier": "logging", "Type": "UpdateFlowLoggingBehavior",
             "Parameters": {"FlowLoggingBehavior": "$.Attributes.logging"},
             "Transitions": {"NextAction": "loop"}},
            {"Identifier": "rest", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "60"},
             "Transitions": {"NextAction": "start", "Conditions": [
                {"NextAction": "start", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}],
              "Errors": on_error("start")}},
        ],
    })
    .to_string()
}

const BENCH_QUEUE_ID: &str = "6f0b2d6e-0000-4000-8000-000000000001";
const BENCH_INSTANCE_ARN: &str =
    "arn:aws:connect:us-east-1:000000000000:instance/6f0b2d6e-0000-4000-8000-000000000000";

fn bench_contact() -> Contact {
    let rounds = ROUNDS.to_string();
    let attributes = [
        ("name", "Ana"),
        ("tier", "7"),
        ("queue", BENCH_QUEUE_ID),
        ("hook", "6f0b2d6e-0000-4000-8000-000000000002"),
        ("logging", "Disabled"),
        ("rounds", rounds.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Contact {
        id: "6f0b2d6e-0000-4000-8000-000000000003".into(),
        instance_id: "6f0b2d6e-0000-4000-8000-000000000000".into(),
        initial_contact_id: "6f0b2d6e-0000-4000-8000-000000000003".into(),
        related_contact_id: None,
        flow_id: "bench".into(),
        state: ContactState::Open,
        attributes,
        segment_attributes: None,
        customer_id: None,
        supported_content_types: vec!["text/plain".into()],
        initiated_ms: 0,
        ended_ms: None,
        expires_ms: i64::MAX,
        last_seq: 0,
        timer_config: Default::default(),
        data: Default::default(),
        watches_messages: false,
    }
}

/// What the in-process measurement found.
#[derive(Clone, Default)]
pub struct InterpreterFigures {
    /// Blocks in one pass (start → Wait → its time limit), as traced, by type.
    pub pass_by_type: BTreeMap<String, usize>,
    pub pass_blocks: usize,
    pub blocks: u64,
    pub passes: u64,
    pub secs: f64,
    /// The baseline: identifier lookups of the same sequence.
    pub walked: u64,
    pub walk_secs: f64,
}

impl InterpreterFigures {
    pub fn blocks_per_sec(&self) -> f64 {
        self.blocks as f64 / self.secs.max(1e-9)
    }

    pub fn walked_per_sec(&self) -> f64 {
        self.walked as f64 / self.walk_secs.max(1e-9)
    }

    pub fn ns_per_block(&self) -> f64 {
        1e9 / self.blocks_per_sec().max(1e-9)
    }

    pub fn walk_ns_per_block(&self) -> f64 {
        1e9 / self.walked_per_sec().max(1e-9)
    }
}

/// A cheap, deterministic stand-in for the server's dice (xorshift64), 1..=100.
fn dice(seed: u64) -> impl FnMut() -> u32 {
    let mut x = seed.max(1);
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 100) as u32 + 1
    }
}

/// One pass of the looping flow: advance to the Wait, then end the Wait by its time limit.
/// Returns the blocks traced; `seen` gets them when given (the trace is cleared before each
/// call, so it never grows beyond one pass).
fn pass(
    interpreter: &Interpreter,
    state: &mut FlowState,
    contact: &Contact,
    surroundings: &Surroundings,
    dice: &mut dyn FnMut() -> u32,
    trace: &mut Vec<TraceEntry>,
    mut seen: Option<&mut Vec<TraceEntry>>,
) -> Result<usize, String> {
    trace.clear();
    let step = interpreter.advance(state, contact, surroundings, 0, dice, trace);
    if step != Step::Waiting {
        return Err(format!(
            "the in-process flow stopped with {step:?} instead of waiting"
        ));
    }
    let mut blocks = trace.len();
    if let Some(seen) = seen.as_deref_mut() {
        seen.append(trace);
    }
    trace.clear();
    interpreter.settle(state, flow::Outcome::TimedOut, 0, trace);
    blocks += trace.len();
    if let Some(seen) = seen {
        seen.append(trace);
    }
    if state.at != "start" {
        return Err(format!(
            "after its Wait the in-process flow went to '{}' instead of 'start'",
            state.at
        ));
    }
    Ok(blocks)
}

/// Part 1: the interpreter on one thread for `limit`, then the identifier walk for as long.
pub fn measure_interpreter(limit: Duration) -> Result<InterpreterFigures, String> {
    let validation = validate(&looping_flow_content());
    if !validation.is_clean() {
        let problems: Vec<String> = validation.problems.iter().map(|p| p.to_string()).collect();
        return Err(format!(
            "the in-process flow has problems: {}",
            problems.join("; ")
        ));
    }
    let document: FlowDocument = validation
        .document
        .ok_or("the in-process flow cannot be read")?;
    let interpreter = Interpreter {
        document: &document,
        minute_ms: 60_000,
        // The flow turns its logging off, as the chat flow of part 2 does: blocks are traced
        // but their parameters are not resolved for the logs.
        log_everything: false,
    };
    let contact = bench_contact();
    let surroundings = Surroundings {
        instance_arn: BENCH_INSTANCE_ARN.into(),
        region: "us-east-1".into(),
        queues: vec![(BENCH_QUEUE_ID.into(), DEFAULT_QUEUE_NAME.into())],
        queue_arn_prefix: BENCH_INSTANCE_ARN.into(),
        ..Surroundings::default()
    };
    let mut state = FlowState::new("bench", &document.start_action, "API");
    let mut roll = dice(0x9E37_79B9_7F4A_7C15);
    let mut trace = Vec::with_capacity(2048);
    let mut figures = InterpreterFigures::default();

    // One pass to learn the sequence the baseline walks, and to check the flow runs as meant.
    let mut first = Vec::new();
    figures.pass_blocks = pass(
        &interpreter,
        &mut state,
        &contact,
        &surroundings,
        &mut roll,
        &mut trace,
        Some(&mut first),
    )?;
    for entry in &first {
        *figures
            .pass_by_type
            .entry(entry.action_type.clone())
            .or_default() += 1;
    }
    let sequence: Vec<String> = first.into_iter().map(|entry| entry.action).collect();
    if state.logging || state.queue.as_deref() != Some(BENCH_QUEUE_ID) || state.hooks.is_empty() {
        return Err(
            "the in-process flow did not set the logging, queue and hooks it should".into(),
        );
    }

    let started = Instant::now();
    while started.elapsed() < limit {
        figures.blocks += pass(
            &interpreter,
            &mut state,
            &contact,
            &surroundings,
            &mut roll,
            &mut trace,
            None,
        )? as u64;
        figures.passes += 1;
    }
    figures.secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    while started.elapsed() < limit {
        for identifier in &sequence {
            black_box(document.action(black_box(identifier.as_str())));
        }
        figures.walked += sequence.len() as u64;
    }
    figures.walk_secs = started.elapsed().as_secs_f64();
    Ok(figures)
}

// ---------------------------------------------------------------------------------------------
// 2. StartChatContact against the real binary.

/// Which flow the chats of one server run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// The 10-block chat flow.
    TenBlocks,
    /// The baseline: the final Wait alone.
    WaitOnly,
}

impl FlowKind {
    fn name(self) -> &'static str {
        match self {
            FlowKind::TenBlocks => "10-block flow",
            FlowKind::WaitOnly => "baseline: 1-block flow (the Wait)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            FlowKind::TenBlocks => "ten-blocks",
            FlowKind::WaitOnly => "wait-only",
        }
    }
}

/// One block of a chat flow before its transitions are filled in.
struct Block {
    identifier: &'static str,
    action_type: &'static str,
    parameters: Value,
    /// Its conditions (operator, operand), every one going on to the next block.
    conditions: Vec<(&'static str, &'static str)>,
}

/// The blocks of a chat flow in order, each going on to the next whatever happens, so every
/// chat runs all of them; the last is a week-long Wait for the customer, so chats stay open.
fn chat_flow(kind: FlowKind, queue: Option<&str>, hook_flow: &str) -> Vec<Value> {
    let hold = json!({"Identifier": "hold", "Type": "Wait",
        "Parameters": {"TimeLimitSeconds": "604800", "Events": ["CustomerReturned"]},
        "Transitions": {"NextAction": "hold", "Conditions": [
            {"NextAction": "hold", "Condition": {"Operator": "Equals", "Operands": ["CustomerReturned"]}},
            {"NextAction": "hold", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}],
          "Errors": [{"NextAction": "hold", "ErrorType": "NoMatchingError"}]}});
    if kind == FlowKind::WaitOnly {
        return vec![hold];
    }
    let block = |identifier, action_type, parameters, conditions| Block {
        identifier,
        action_type,
        parameters,
        conditions,
    };
    let mut blocks = vec![
        block(
            "logging",
            "UpdateFlowLoggingBehavior",
            json!({"FlowLoggingBehavior": "Disabled"}),
            vec![],
        ),
        block(
            "attributes",
            "UpdateContactAttributes",
            json!({"TargetContact": "Current", "Attributes": {"tier": "gold", "greeted": "$.Attributes.name"}}),
            vec![],
        ),
        block(
            "tier",
            "Compare",
            json!({"ComparisonValue": "$.Attributes.tier"}),
            vec![("Equals", "gold"), ("Equals", "silver")],
        ),
    ];
    if let Some(queue) = queue {
        blocks.push(block(
            "queue",
            "UpdateContactTargetQueue",
            json!({"QueueId": queue}),
            vec![],
        ));
    }
    blocks.extend([
        block(
            "hooks",
            "UpdateContactEventHooks",
            json!({"EventHooks": {"CustomerQueue": hook_flow}}),
            vec![],
        ),
        block(
            "split",
            "DistributeByPercentage",
            json!({}),
            vec![("NumberLessThan", "50")],
        ),
        block(
            "hello",
            "MessageParticipant",
            json!({"Text": "Hello $.Attributes.name"}),
            vec![],
        ),
        block(
            "recording",
            "UpdateContactRecordingBehavior",
            json!({"RecordingBehavior": {"RecordedParticipants": ["Agent", "Customer"]}}),
            vec![],
        ),
        block(
            "greeted",
            "Compare",
            json!({"ComparisonValue": "$.Attributes.greeted"}),
            vec![("TextStartsWith", "Lo")],
        ),
    ]);
    let mut actions: Vec<Value> = Vec::with_capacity(blocks.len() + 1);
    for (index, b) in blocks.iter().enumerate() {
        let next = blocks.get(index + 1).map_or("hold", |b| b.identifier);
        let mut transitions = json!({
            "NextAction": next,
            "Errors": [{"NextAction": next, "ErrorType": "NoMatchingError"}],
        });
        if !b.conditions.is_empty() {
            transitions["Conditions"] = b
                .conditions
                .iter()
                .map(|(operator, operand)| {
                    json!({"NextAction": next, "Condition": {"Operator": operator, "Operands": [operand]}})
                })
                .collect();
            transitions["Errors"] = json!([
                {"NextAction": next, "ErrorType": "NoMatchingCondition"},
                {"NextAction": next, "ErrorType": "NoMatchingError"},
            ]);
        }
        actions.push(json!({
            "Identifier": b.identifier,
            "Type": b.action_type,
            "Parameters": b.parameters,
            "Transitions": transitions,
        }));
    }
    actions.push(hold);
    actions
}

fn flow_content(actions: &[Value]) -> String {
    let start = actions
        .first()
        .and_then(|a| a.get("Identifier"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!({"Version": "2019-10-30", "StartAction": start, "Actions": actions}).to_string()
}

/// The flows of the instance, `(name, id)`.
async fn list_flows(api: &Api) -> Result<Vec<(String, String)>, String> {
    let flows = api
        .connect_call(
            "GET",
            &format!("/contact-flows-summary/{}", api.instance_id()),
            None,
        )
        .await?;
    Ok(flows
        .get("ContactFlowSummaryList")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|f| {
                    Some((
                        f.get("Name")?.as_str()?.to_string(),
                        f.get("Id")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// BasicQueue's id: from ListQueues when the server has it, else from the default chat flow,
/// the one flow that names the queue (as the Python client tests find it). `None` when
/// neither says; the flow then goes without its queue block.
async fn find_queue(api: &Api, flows: &[(String, String)]) -> (Option<String>, String) {
    let instance = api.instance_id();
    match api
        .connect_call("GET", &format!("/queues-summary/{instance}"), None)
        .await
    {
        Ok(queues) => {
            let list = queues.get("QueueSummaryList").and_then(Value::as_array);
            let basic = list.and_then(|list| {
                list.iter()
                    .find(|q| q.get("Name").and_then(Value::as_str) == Some(DEFAULT_QUEUE_NAME))
                    .or_else(|| {
                        list.iter().find(|q| {
                            q.get("QueueType").and_then(Value::as_str) == Some("STANDARD")
                        })
                    })
            });
            if let Some(id) = basic.and_then(|q| q.get("Id")).and_then(Value::as_str) {
                return (Some(id.to_string()), "ListQueues".into());
            }
        }
        Err(e) => say(format!(
            "ListQueues is not available ({}); reading the queue from the default chat flow",
            e.chars().take(120).collect::<String>()
        )),
    }
    let Some((_, id)) = flows.iter().find(|(name, _)| name == DEFAULT_CHAT_FLOW) else {
        return (None, format!("no ListQueues and no '{DEFAULT_CHAT_FLOW}'"));
    };
    let described = match api
        .connect_call("GET", &format!("/contact-flows/{instance}/{id}"), None)
        .await
    {
        Ok(described) => described,
        Err(e) => return (None, format!("DescribeContactFlow failed: {e}")),
    };
    let content: Option<Value> = described
        .pointer("/ContactFlow/Content")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str(text).ok());
    let queue = content
        .as_ref()
        .and_then(|c| c.get("Actions"))
        .and_then(Value::as_array)
        .and_then(|actions| {
            actions.iter().find_map(|a| {
                if a.get("Type")?.as_str()? != "UpdateContactTargetQueue" {
                    return None;
                }
                Some(a.pointer("/Parameters/QueueId")?.as_str()?.to_string())
            })
        });
    match queue {
        Some(queue) => (Some(queue), format!("the '{DEFAULT_CHAT_FLOW}' content")),
        None => (None, format!("the '{DEFAULT_CHAT_FLOW}' names no queue")),
    }
}

/// Imports the chat flow for `kind` with CreateContactFlow; returns its id and block count.
async fn create_flow(
    api: &Api,
    kind: FlowKind,
    notes: &mut Vec<String>,
) -> Result<(String, usize), String> {
    let flows = list_flows(api).await?;
    let hook_flow = flows
        .iter()
        .find(|(name, _)| name == DEFAULT_CUSTOMER_QUEUE_FLOW)
        .or_else(|| flows.first())
        .map(|(_, id)| id.clone())
        .ok_or("ListContactFlows returned no flow to name in the event hook")?;
    let queue = if kind == FlowKind::TenBlocks {
        let (queue, source) = find_queue(api, &flows).await;
        match &queue {
            Some(_) => say(format!("queue for UpdateContactTargetQueue from {source}")),
            None => notes.push(format!(
                "no queue found ({source}): the flow goes without its UpdateContactTargetQueue block"
            )),
        }
        queue
    } else {
        None
    };
    let actions = chat_flow(kind, queue.as_deref(), &hook_flow);
    let content = flow_content(&actions);
    let validation = validate(&content);
    if !validation.is_clean() {
        let problems: Vec<String> = validation.problems.iter().map(|p| p.to_string()).collect();
        return Err(format!(
            "the {} has problems: {}",
            kind.name(),
            problems.join("; ")
        ));
    }
    let name = format!("loadgen {} {}", kind.slug(), uuid::Uuid::new_v4().simple());
    let created = api
        .connect_call(
            "PUT",
            &format!("/contact-flows/{}", api.instance_id()),
            Some(&json!({"Name": name, "Type": "CONTACT_FLOW", "Content": content})),
        )
        .await?;
    let id = created
        .get("ContactFlowId")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("CreateContactFlow returned no id: {created}"))?;
    Ok((id.to_string(), actions.len()))
}

/// The server counters the measurement follows.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Counters {
    /// `liaison_flow_blocks_total`; `None` when the server does not export it.
    blocks: Option<u64>,
    /// `liaison_store_write_duration_seconds_count`: store writes, the last of a chat's being
    /// its run stored waiting.
    writes: Option<u64>,
    armed: Option<i64>,
    started_ok: Option<u64>,
}

fn parse_counters(text: &str) -> Counters {
    let value = |name: &str| {
        text.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    Counters {
        blocks: value("liaison_flow_blocks_total").map(|v| v as u64),
        writes: value("liaison_store_write_duration_seconds_count").map(|v| v as u64),
        armed: value("liaison_armed_timers").map(|v| v as i64),
        started_ok: value(
            "liaison_requests_total{api=\"connect\",operation=\"StartChatContact\",outcome=\"OK\"}",
        )
        .map(|v| v as u64),
    }
}

async fn read_counters(http: &reqwest::Client, addr: SocketAddr) -> Result<Counters, String> {
    let response = http
        .get(format!("http://{addr}/metrics"))
        .timeout(METRICS_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("/metrics: {e}"))?;
    let text = response
        .text()
        .await
        .map_err(|e| format!("/metrics: {e}"))?;
    Ok(parse_counters(&text))
}

/// One read of the server's metrics and CPU while the flows run.
struct Sample {
    /// Seconds since the first StartChatContact was sent.
    at: f64,
    counters: Counters,
    cpu: CpuSnap,
}

/// Reads the metrics every [`POLL_EVERY`] from the load's start until, once `done` is set,
/// they have stood still for `quiet` (or `limit` has passed since `done`). Returns the
/// samples and whether they came to rest.
async fn poll_until_still(
    http: reqwest::Client,
    addr: SocketAddr,
    pid: u32,
    load_start: Instant,
    done: Arc<AtomicBool>,
    quiet: Duration,
    limit: Duration,
) -> (Vec<Sample>, bool) {
    let mut samples: Vec<Sample> = Vec::new();
    let mut last_change = Instant::now();
    let mut done_at: Option<Instant> = None;
    let mut tick = Instant::now();
    loop {
        tick = (tick + POLL_EVERY).max(Instant::now());
        tokio::time::sleep_until(tick.into()).await;
        if done_at.is_none() && done.load(Ordering::Acquire) {
            done_at = Some(Instant::now());
        }
        if let Ok(counters) = read_counters(&http, addr).await {
            let now = Instant::now();
            if samples.last().is_none_or(|s| s.counters != counters) {
                last_change = now;
            }
            samples.push(Sample {
                at: now.duration_since(load_start).as_secs_f64(),
                counters,
                cpu: sys::cpu_snap(pid),
            });
        }
        if let Some(done_at) = done_at {
            let now = Instant::now();
            if now.duration_since(last_change) >= quiet && now.duration_since(done_at) >= quiet {
                return (samples, true);
            }
            if now.duration_since(done_at) >= limit {
                return (samples, false);
            }
        }
    }
}

/// The first sample at which `pick` had its final value, if it grew from `before` at all.
fn reached_final(
    samples: &[Sample],
    before: Option<u64>,
    pick: impl Fn(&Counters) -> Option<u64>,
) -> Option<(usize, u64)> {
    let last = pick(&samples.last()?.counters)?;
    if last <= before.unwrap_or(0) {
        return None;
    }
    let index = samples
        .iter()
        .position(|s| pick(&s.counters) == Some(last))?;
    Some((index, last - before.unwrap_or(0)))
}

/// What the StartChatContact load itself saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    first_failure: Option<String>,
    latencies: Vec<u64>,
    /// Answered (OK) StartChatContact calls by the second of the load they were answered in.
    per_second: Vec<u64>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.failed += other.failed;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.latencies.extend(other.latencies);
        if self.per_second.len() < other.per_second.len() {
            self.per_second.resize(other.per_second.len(), 0);
        }
        for (mine, theirs) in self.per_second.iter_mut().zip(other.per_second) {
            *mine += theirs;
        }
    }
}

/// `concurrency` tasks call StartChatContact with `body` back to back until `until` (or until
/// `max_chats` calls were made in all).
async fn start_chats(
    api: Arc<Api>,
    body: Arc<Value>,
    load_start: Instant,
    until: Instant,
    concurrency: usize,
    max_chats: u64,
) -> Tally {
    let issued = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (api, body, issued) = (api.clone(), body.clone(), issued.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < until && issued.fetch_add(1, Ordering::Relaxed) < max_chats {
                    let sent = Instant::now();
                    let answer = api.connect_call("PUT", "/contact/chat", Some(&*body)).await;
                    let failure = match answer {
                        Ok(started)
                            if started.get("ContactId").and_then(Value::as_str).is_some() =>
                        {
                            let now = Instant::now();
                            tally.ok += 1;
                            tally
                                .latencies
                                .push(now.duration_since(sent).as_nanos() as u64);
                            let second = now.duration_since(load_start).as_secs() as usize;
                            if tally.per_second.len() <= second {
                                tally.per_second.resize(second + 1, 0);
                            }
                            tally.per_second[second] += 1;
                            continue;
                        }
                        Ok(other) => format!("StartChatContact returned no ContactId: {other}"),
                        Err(e) => e,
                    };
                    tally.failed += 1;
                    tally.first_failure.get_or_insert(failure);
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for outcome in futures_util::future::join_all(tasks).await {
        match outcome {
            Ok(tally) => all.merge(tally),
            Err(e) => {
                all.failed += 1;
                all.first_failure
                    .get_or_insert(format!("a load task ended abnormally: {e}"));
            }
        }
    }
    all
}

/// What the server wrote to its log that looks like trouble.
#[derive(Clone, Default)]
pub struct LogFindings {
    pub errors: u64,
    pub warnings: u64,
    /// Kinds of such lines (level, target and message, fields left out), most frequent first:
    /// (kind, lines of that kind, the first of them with its colours removed).
    pub kinds: Vec<(String, u64, String)>,
}

/// Removes ANSI colour sequences (`ESC [ … letter`) from a line of the server's log.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What kind of trouble a log line tells of: everything after the timestamp up to its first
/// `key=value` field, so lines differing only in their figures count together.
fn kind_of(line: &str) -> String {
    line.split_whitespace()
        .skip(1)
        .take_while(|word| !word.contains('='))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Counts the server's error and warning lines (and panics) by kind, so a flood of one
/// warning reads as one finding with its count.
fn scan_log(path: &Path) -> LogFindings {
    let mut findings = LogFindings::default();
    let Ok(text) = std::fs::read_to_string(path) else {
        return findings;
    };
    let mut kinds: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for line in text.lines() {
        let line = strip_ansi(line);
        let level = line.split_whitespace().nth(1).unwrap_or_default();
        let trouble = match level {
            "ERROR" => {
                findings.errors += 1;
                true
            }
            "WARN" => {
                findings.warnings += 1;
                true
            }
            _ => line.contains("panicked"),
        };
        if trouble {
            kinds
                .entry(kind_of(&line))
                .or_insert_with(|| (0, line.chars().take(400).collect()))
                .0 += 1;
        }
    }
    let mut kinds: Vec<(String, u64, String)> = kinds
        .into_iter()
        .map(|(kind, (count, first))| (kind, count, first))
        .collect();
    kinds.sort_by_key(|kind| std::cmp::Reverse(kind.1));
    kinds.truncate(LOG_KINDS);
    findings.kinds = kinds;
    findings
}

/// One server under the StartChatContact load.
#[derive(Clone, Default)]
pub struct ServerFigures {
    pub name: String,
    pub flow_blocks: usize,
    /// `liaison_flow_blocks_total` growth expected per chat (the final Wait counts only when it
    /// ends).
    pub expected_blocks_per_chat: u64,
    pub load_secs: f64,
    pub ok: u64,
    pub failed: u64,
    pub first_failure: Option<String>,
    pub latency: Percentiles,
    pub per_second: Vec<u64>,
    /// StartChatContact OK as the server counted it.
    pub server_started: Option<u64>,
    /// Growth of `liaison_flow_blocks_total` and when it reached its final value (seconds
    /// from the first StartChatContact).
    pub blocks: Option<(u64, f64)>,
    pub blocks_exported: bool,
    /// The same for store writes.
    pub writes: Option<(u64, f64)>,
    pub armed_after: Option<i64>,
    /// The counters came to rest within the time allowed.
    pub settled: bool,
    pub poll_secs: f64,
    /// Blocks completed per second of the run, from the samples (first start = second 0).
    pub blocks_per_second: Vec<u64>,
    pub load_cpu: CpuUse,
    /// From the first start to when the flows' work was done (the later of the blocks and
    /// writes final values).
    pub run_cpu: CpuUse,
    pub run_wall: f64,
    pub rss_end_kib: u64,
    pub log: LogFindings,
}

impl ServerFigures {
    pub fn started_per_sec(&self) -> f64 {
        self.ok as f64 / self.load_secs.max(1e-9)
    }

    /// Chats whose flows completed, per second from the first start to when the blocks
    /// counter reached its final value.
    pub fn flow_chats_per_sec(&self) -> Option<f64> {
        let (_, at) = self.blocks?;
        Some(self.ok as f64 / at.max(1e-9))
    }

    /// The same, timed by the last store write (a chat's last write is its run stored waiting);
    /// defined for the baseline too, whose single block is never completed.
    pub fn stored_chats_per_sec(&self) -> Option<f64> {
        let (_, at) = self.writes?;
        Some(self.ok as f64 / at.max(1e-9))
    }

    pub fn blocks_per_chat(&self) -> Option<f64> {
        if !self.blocks_exported || self.ok == 0 {
            return None;
        }
        Some(self.blocks.map_or(0, |(n, _)| n) as f64 / self.ok as f64)
    }

    pub fn writes_per_chat(&self) -> Option<f64> {
        let (n, _) = self.writes?;
        (self.ok > 0).then(|| n as f64 / self.ok as f64)
    }

    /// Server CPU time per chat over the whole run, in ms.
    pub fn cpu_ms_per_chat(&self) -> Option<f64> {
        (self.ok > 0).then(|| self.run_cpu.server_cores * self.run_wall * 1e3 / self.ok as f64)
    }
}

async fn server_phase(
    config: &Config,
    work: &Path,
    kind: FlowKind,
    notes: &mut Vec<String>,
) -> Result<ServerFigures, String> {
    let name = kind.slug();
    let command = bench::liaison_command(&config.liaison_bin, &work.join(name));
    let log = work.join(format!("{name}.log"));
    let server = ServerProcess::spawn(command, log.clone())?;
    server.wait_healthy().await?;
    say(format!(
        "{}: pid {} on {}",
        kind.name(),
        server.pid,
        server.addr
    ));
    let outcome = drive(config, &server, kind, notes).await;
    let rss_end_kib = sys::rss_kib(server.pid).map(|(rss, _)| rss).unwrap_or(0);
    server.stop();
    let findings = scan_log(&log);
    if findings.errors + findings.warnings > 0 {
        say(format!(
            "{}: the server logged {} errors and {} warnings ({})",
            kind.name(),
            findings.errors,
            findings.warnings,
            log.display()
        ));
    }
    let mut figures = outcome?;
    figures.rss_end_kib = rss_end_kib;
    figures.log = findings;
    Ok(figures)
}

async fn drive(
    config: &Config,
    server: &ServerProcess,
    kind: FlowKind,
    notes: &mut Vec<String>,
) -> Result<ServerFigures, String> {
    let api = Api::discover(server.addr).await?;
    let (flow_id, flow_blocks) = create_flow(&api, kind, notes).await?;
    let body = Arc::new(json!({
        "InstanceId": api.instance_id(),
        "ContactFlowId": flow_id,
        "ParticipantDetails": {"DisplayName": "Load"},
        "Attributes": {"name": "Load"},
    }));
    let api = Arc::new(api);
    let http = reqwest::Client::new();
    let before = read_counters(&http, server.addr).await?;
    say(format!(
        "{}: {} blocks; StartChatContact from {} tasks for {:.0} s",
        kind.name(),
        flow_blocks,
        config.concurrency,
        config.duration.as_secs_f64()
    ));
    let done = Arc::new(AtomicBool::new(false));
    let load_start = Instant::now();
    let cpu_start = sys::cpu_snap(server.pid);
    let poller = tokio::spawn(poll_until_still(
        http.clone(),
        server.addr,
        server.pid,
        load_start,
        done.clone(),
        config.quiet,
        config.settle_limit,
    ));
    let tally = start_chats(
        api,
        body,
        load_start,
        load_start + config.duration,
        config.concurrency,
        config.max_chats,
    )
    .await;
    let load_wall = load_start.elapsed().as_secs_f64();
    let cpu_load_end = sys::cpu_snap(server.pid);
    done.store(true, Ordering::Release);
    say(format!(
        "{}: {} chats started ({} failed) in {:.1} s; waiting for the flows to finish",
        kind.name(),
        tally.ok,
        tally.failed,
        load_wall
    ));
    let (samples, settled) = poller
        .await
        .map_err(|e| format!("the metrics poller ended abnormally: {e}"))?;
    let Some(last) = samples.last() else {
        return Err("no metrics could be read during the run".into());
    };
    let blocks = reached_final(&samples, before.blocks, |c| c.blocks);
    let writes = reached_final(&samples, before.writes, |c| c.writes);
    // The run's CPU window closes when the later of the two counters reached its final value.
    let end_index = [blocks.map(|(i, _)| i), writes.map(|(i, _)| i)]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(samples.len() - 1);
    let end = &samples[end_index];
    let mut blocks_per_second = Vec::new();
    let mut previous = before.blocks.unwrap_or(0);
    let mut second = 1.0;
    for sample in &samples {
        if sample.at >= second {
            let now = sample.counters.blocks.unwrap_or(0);
            blocks_per_second.push(now.saturating_sub(previous));
            previous = now;
            second += 1.0;
        }
    }
    let figures = ServerFigures {
        name: kind.name().into(),
        flow_blocks,
        expected_blocks_per_chat: flow_blocks.saturating_sub(1) as u64,
        load_secs: load_wall,
        ok: tally.ok,
        failed: tally.failed,
        first_failure: tally.first_failure,
        latency: bench::percentiles(tally.latencies),
        per_second: tally.per_second,
        server_started: last
            .counters
            .started_ok
            .map(|n| n.saturating_sub(before.started_ok.unwrap_or(0))),
        blocks: blocks.map(|(i, n)| (n, samples[i].at)),
        blocks_exported: last.counters.blocks.is_some(),
        writes: writes.map(|(i, n)| (n, samples[i].at)),
        armed_after: last.counters.armed,
        settled,
        poll_secs: last.at,
        blocks_per_second,
        load_cpu: sys::cpu_use(&cpu_start, &cpu_load_end, &StateSamples::default()),
        run_cpu: sys::cpu_use(&cpu_start, &end.cpu, &StateSamples::default()),
        run_wall: end.at,
        rss_end_kib: 0,
        log: LogFindings::default(),
    };
    say(format!(
        "{}: blocks {:?} (final at {:?} s), writes {:?}, settled: {}",
        kind.name(),
        figures.blocks.map(|(n, _)| n),
        figures.blocks.map(|(_, at)| (at * 10.0).round() / 10.0),
        figures.writes.map(|(n, _)| n),
        settled
    ));
    if !settled {
        notes.push(format!(
            "{}: the server's counters were still moving {:.0} s after the load (--settle-secs)",
            kind.name(),
            config.settle_limit.as_secs_f64()
        ));
    }
    Ok(figures)
}

// ---------------------------------------------------------------------------------------------
// The run.

/// Everything one run measured.
#[derive(Default)]
pub struct Outcome {
    pub interpreter: Option<InterpreterFigures>,
    pub ten: Option<ServerFigures>,
    pub baseline: Option<ServerFigures>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

pub async fn run(config: &Config, work: &Path) -> Outcome {
    let mut outcome = Outcome::default();
    if !config.interpreter.is_zero() {
        say(format!(
            "interpreter: {:.0} s of the looping flow, then {:.0} s of identifier lookups, on one thread",
            config.interpreter.as_secs_f64(),
            config.interpreter.as_secs_f64()
        ));
        let limit = config.interpreter;
        match tokio::task::spawn_blocking(move || measure_interpreter(limit)).await {
            Ok(Ok(figures)) => {
                say(format!(
                    "interpreter: {:.0} blocks/s; identifier walk {:.0} blocks/s",
                    figures.blocks_per_sec(),
                    figures.walked_per_sec()
                ));
                outcome.interpreter = Some(figures);
            }
            Ok(Err(e)) => outcome.errors.push(format!("interpreter: {e}")),
            Err(e) => outcome.errors.push(format!(
                "interpreter: the measurement ended abnormally: {e}"
            )),
        }
    }
    if !config.duration.is_zero() {
        for kind in [FlowKind::TenBlocks, FlowKind::WaitOnly] {
            match server_phase(config, work, kind, &mut outcome.notes).await {
                Ok(figures) => match kind {
                    FlowKind::TenBlocks => outcome.ten = Some(figures),
                    FlowKind::WaitOnly => outcome.baseline = Some(figures),
                },
                Err(e) => {
                    say(format!("{}: stopped early: {e}", kind.name()));
                    outcome.errors.push(format!("{}: {e}", kind.name()));
                }
            }
        }
    }
    outcome
}

// ---------------------------------------------------------------------------------------------
// The report.

/// What the report describes besides the outcome.
pub type Run<'a> = Measured<'a, Config, Outcome>;

impl Run<'_> {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let (m, c, o) = (self.machine, self.config, self.outcome);
        self.heading(&mut out, "Liaison contact-flow benchmark", "");

        if let Some(i) = &o.interpreter {
            let by_type: Vec<String> = i
                .pass_by_type
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "### The interpreter alone (in process, one thread, {:.0} s each)\n\n\
                 A flow of blocks without I/O loops {ROUNDS} times between two Waits: {} blocks a pass ({}); \
                 each pass is `advance` to the Wait and `settle` of its time limit, the trace cleared before each call.\n",
                c.interpreter.as_secs_f64(),
                i.pass_blocks,
                by_type.join(", ")
            );
            let _ = writeln!(
                out,
                "| measurement | blocks | seconds | blocks per second (one core) | ns per block |\n|---|---:|---:|---:|---:|"
            );
            let _ = writeln!(
                out,
                "| `Interpreter::advance` + `settle` | {} | {:.2} | {:.0} | {:.0} |",
                i.blocks,
                i.secs,
                i.blocks_per_sec(),
                i.ns_per_block()
            );
            let _ = writeln!(
                out,
                "| baseline: `FlowDocument::action` lookups of the same sequence | {} | {:.2} | {:.0} | {:.1} |",
                i.walked,
                i.walk_secs,
                i.walked_per_sec(),
                i.walk_ns_per_block()
            );
            let _ = writeln!(
                out,
                "\nThe interpreter takes {:.1}× the time of the bare walk ({:.0} ns per block beyond it).\n",
                i.walked_per_sec() / i.blocks_per_sec().max(1e-9),
                i.ns_per_block() - i.walk_ns_per_block()
            );
        }

        let (t, b) = (o.ten.as_ref(), o.baseline.as_ref());
        if t.is_some() || b.is_some() {
            let _ = writeln!(
                out,
                "### StartChatContact on a flow (real binary, SQLite, fresh server each; {} tasks back to back for {:.0} s)\n",
                c.concurrency,
                c.duration.as_secs_f64()
            );
            let _ = writeln!(
                out,
                "Flows run after StartChatContact answers. `liaison_flow_blocks_total` counts completed blocks (the final week-long \
                 Wait only when it ends) and was read every {} ms until it and the store's write count stood still for {:.0} s; \
                 \"flows done\" is when it reached its final value, counted from the first StartChatContact.\n",
                POLL_EVERY.as_millis(),
                c.quiet.as_secs_f64()
            );
            let _ = writeln!(
                out,
                "| metric | {} | {} |\n|---|---:|---:|",
                t.map_or(FlowKind::TenBlocks.name().to_string(), |s| s.name.clone()),
                b.map_or(FlowKind::WaitOnly.name().to_string(), |s| s.name.clone())
            );
            let mut row = |name: &str, f: &dyn Fn(&ServerFigures) -> Option<f64>, decimals| {
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} |",
                    cell(t.and_then(f), decimals),
                    cell(b.and_then(f), decimals)
                );
            };
            row("blocks in the flow", &|s| Some(s.flow_blocks as f64), 0);
            row("StartChatContact OK", &|s| Some(s.ok as f64), 0);
            row("  failed", &|s| Some(s.failed as f64), 0);
            row(
                "  OK as the server counted them",
                &|s| s.server_started.map(|n| n as f64),
                0,
            );
            row(
                "StartChatContact answered per s (load window)",
                &|s| Some(s.started_per_sec()),
                0,
            );
            row("  response time p50 (ms)", &|s| Some(s.latency.p50), 2);
            row("  response time p99 (ms)", &|s| Some(s.latency.p99), 2);
            row("  response time max (ms)", &|s| Some(s.latency.max), 1);
            row(
                "flow blocks completed (`liaison_flow_blocks_total` growth)",
                &|s| {
                    s.blocks_exported
                        .then(|| s.blocks.map_or(0.0, |(n, _)| n as f64))
                },
                0,
            );
            row(
                "  blocks per chat observed",
                &ServerFigures::blocks_per_chat,
                2,
            );
            row(
                "  blocks per chat expected",
                &|s| Some(s.expected_blocks_per_chat as f64),
                0,
            );
            row(
                "flows done: s from the first start to the counter's final value",
                &|s| s.blocks.map(|(_, at)| at),
                2,
            );
            row(
                "**flow-completed chats per s**",
                &ServerFigures::flow_chats_per_sec,
                0,
            );
            row("store writes per chat", &ServerFigures::writes_per_chat, 2);
            row(
                "last store write: s from the first start",
                &|s| s.writes.map(|(_, at)| at),
                2,
            );
            row(
                "chats per s up to the last store write (runs stored waiting)",
                &ServerFigures::stored_chats_per_sec,
                0,
            );
            row(
                "server CPU, load window (cores)",
                &|s| Some(s.load_cpu.server_cores),
                2,
            );
            row(
                "server CPU, first start → work done (cores)",
                &|s| Some(s.run_cpu.server_cores),
                2,
            );
            row(
                "server CPU per chat (ms)",
                &ServerFigures::cpu_ms_per_chat,
                3,
            );
            row(
                "load generator CPU, load window (cores)",
                &|s| Some(s.load_cpu.loadgen_cores),
                2,
            );
            row(
                "other processes' CPU, load window (cores; disturbs the figures)",
                &|s| Some(s.load_cpu.other_cores),
                2,
            );
            row(
                "whole machine busy, load window (%)",
                &|s| Some(s.load_cpu.machine_busy * 100.0),
                0,
            );
            row(
                "`liaison_armed_timers` at the end",
                &|s| s.armed_after.map(|v| v as f64),
                0,
            );
            row(
                "server RSS at the end (MiB)",
                &|s| Some(s.rss_end_kib as f64 / 1024.0),
                1,
            );
            row("server log: errors", &|s| Some(s.log.errors as f64), 0);
            row("server log: warnings", &|s| Some(s.log.warnings as f64), 0);
            for s in [t, b].into_iter().flatten() {
                let started: Vec<String> = s.per_second.iter().map(u64::to_string).collect();
                let blocks: Vec<String> = s.blocks_per_second.iter().map(u64::to_string).collect();
                let _ = writeln!(
                    out,
                    "\n{}: StartChatContact answered in each second: {}",
                    s.name,
                    started.join(" ")
                );
                if s.blocks_exported {
                    let _ = writeln!(
                        out,
                        "\n{}: flow blocks completed in each second (to the end of polling, {:.1} s): {}",
                        s.name,
                        s.poll_secs,
                        blocks.join(" ")
                    );
                }
                crate::report::threads_table(&mut out, &s.name, "load", &s.load_cpu);
            }
        }

        let _ = writeln!(out, "\n### Targets\n");
        let rate = o
            .interpreter
            .as_ref()
            .map(InterpreterFigures::blocks_per_sec);
        let _ = writeln!(
            out,
            "- ≥ {TARGET_BLOCKS_PER_SEC:.0} non-I/O blocks per second per core: {} ({} blocks/s on one thread)",
            verdict(rate.map(|r| r >= TARGET_BLOCKS_PER_SEC)),
            cell(rate, 0)
        );
        let chats = t.and_then(ServerFigures::flow_chats_per_sec);
        let machine_note = if m.cpus == TARGET_CPUS {
            format!("on this {TARGET_CPUS}-CPU machine, load generator included")
        } else {
            format!(
                "on this {}-CPU machine, not the {TARGET_CPUS}-CPU one the target names",
                m.cpus
            )
        };
        let _ = writeln!(
            out,
            "- ≥ {TARGET_CHATS_PER_SEC:.0} chats per second through StartChatContact and a 10-block flow: {} ({} flow-completed chats/s, {} started/s; {machine_note})",
            verdict(chats.map(|r| r >= TARGET_CHATS_PER_SEC)),
            cell(chats, 0),
            cell(t.map(ServerFigures::started_per_sec), 0)
        );
        for s in [t, b].into_iter().flatten() {
            if let Some(failure) = &s.first_failure {
                let _ = writeln!(
                    out,
                    "\n{}: first StartChatContact failure: {failure}",
                    s.name
                );
            }
            if !s.log.kinds.is_empty() {
                let _ = writeln!(
                    out,
                    "\n{}: server log lines of trouble, by kind (count, then the first line of the kind):\n",
                    s.name
                );
                for (_, count, first) in &s.log.kinds {
                    let _ = writeln!(out, "    {count} × {first}");
                }
            }
            if let Some(observed) = s.blocks_per_chat()
                && s.blocks.is_some()
                && (observed - s.expected_blocks_per_chat as f64).abs() > 0.005
            {
                let _ = writeln!(
                    out,
                    "\nNote: {}: {observed:.3} blocks per chat observed, {} expected: some flows did not run to their Wait, or ran blocks twice.",
                    s.name, s.expected_blocks_per_chat
                );
            }
            if s.blocks_exported && s.blocks.is_none() && s.expected_blocks_per_chat > 0 {
                let _ = writeln!(
                    out,
                    "\nNote: {}: `liaison_flow_blocks_total` did not grow; this server may not count blocks yet.",
                    s.name
                );
            }
            if !s.blocks_exported {
                let _ = writeln!(
                    out,
                    "\nNote: {}: the server does not export `liaison_flow_blocks_total`.",
                    s.name
                );
            }
        }
        closing(&mut out, &o.notes, &o.errors);
        out
    }

    pub fn json(&self) -> Value {
        let o = self.outcome;
        let server = |s: &ServerFigures| {
            json!({
                "name": s.name,
                "flow_blocks": s.flow_blocks,
                "load_secs": s.load_secs,
                "ok": s.ok,
                "failed": s.failed,
                "first_failure": s.first_failure,
                "server_started": s.server_started,
                "started_per_sec": s.started_per_sec(),
                "p50_ms": s.latency.p50,
                "p99_ms": s.latency.p99,
                "max_ms": s.latency.max,
                "blocks": s.blocks.map(|(n, _)| n),
                "blocks_final_secs": s.blocks.map(|(_, at)| at),
                "blocks_per_chat": s.blocks_per_chat(),
                "expected_blocks_per_chat": s.expected_blocks_per_chat,
                "flow_chats_per_sec": s.flow_chats_per_sec(),
                "writes": s.writes.map(|(n, _)| n),
                "writes_final_secs": s.writes.map(|(_, at)| at),
                "stored_chats_per_sec": s.stored_chats_per_sec(),
                "settled": s.settled,
                "load_server_cores": s.load_cpu.server_cores,
                "load_loadgen_cores": s.load_cpu.loadgen_cores,
                "load_other_cores": s.load_cpu.other_cores,
                "run_server_cores": s.run_cpu.server_cores,
                "run_wall_secs": s.run_wall,
                "cpu_ms_per_chat": s.cpu_ms_per_chat(),
                "armed_after": s.armed_after,
                "rss_end_kib": s.rss_end_kib,
                "started_per_second": s.per_second,
                "blocks_per_second": s.blocks_per_second,
                "log_errors": s.log.errors,
                "log_warnings": s.log.warnings,
                "log_kinds": s.log.kinds.iter().map(|(kind, count, first)| json!({"kind": kind, "count": count, "first": first})).collect::<Vec<_>>(),
            })
        };
        json!({
            "command": self.command_line,
            "machine": {
                "cpus": self.machine.cpus,
                "model": self.machine.model,
                "mem_total_mib": self.machine.mem_total_mib,
                "kernel": self.machine.kernel,
                "data_fs": self.data_fs,
                "fdatasync_per_sec": self.fdatasync_per_sec,
                "load_before": self.load_before,
                "load_after": self.load_after,
            },
            "interpreter": o.interpreter.as_ref().map(|i| json!({
                "pass_blocks": i.pass_blocks,
                "pass_by_type": i.pass_by_type,
                "blocks": i.blocks,
                "secs": i.secs,
                "blocks_per_sec": i.blocks_per_sec(),
                "walked": i.walked,
                "walk_secs": i.walk_secs,
                "walked_per_sec": i.walked_per_sec(),
            })),
            "ten_blocks": o.ten.as_ref().map(server),
            "baseline": o.baseline.as_ref().map(server),
            "notes": o.notes,
            "errors": o.errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chat_flows_are_clean_and_as_long_as_promised() {
        for (kind, queue, blocks) in [
            (FlowKind::TenBlocks, Some("q-1"), 10),
            (FlowKind::TenBlocks, None, 9),
            (FlowKind::WaitOnly, Some("q-1"), 1),
        ] {
            let actions = chat_flow(kind, queue, "flow-1");
            assert_eq!(actions.len(), blocks);
            let validation = validate(&flow_content(&actions));
            assert!(validation.is_clean(), "{:?}", validation.problems);
        }
    }

    #[test]
    fn the_interpreter_measurement_runs() {
        let figures =
            measure_interpreter(Duration::from_millis(20)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            figures.pass_blocks > ROUNDS as usize * 6,
            "{}",
            figures.pass_blocks
        );
        assert!(figures.blocks > 0 && figures.walked > 0);
        assert_eq!(figures.pass_by_type.get("Wait"), Some(&1));
    }

    #[test]
    fn counters_come_from_the_exposition_text() {
        let text = "\
liaison_requests_total{api=\"connect\",operation=\"StartChatContact\",outcome=\"OK\"} 12
liaison_flow_blocks_total 108
liaison_armed_timers 24
liaison_store_write_duration_seconds_count 60
liaison_store_write_duration_seconds_sum 0.5
";
        let counters = parse_counters(text);
        assert_eq!(counters.blocks, Some(108));
        assert_eq!(counters.writes, Some(60));
        assert_eq!(counters.armed, Some(24));
        assert_eq!(counters.started_ok, Some(12));
        assert_eq!(parse_counters("").blocks, None);
    }

    #[test]
    fn log_levels_are_read_through_the_colours() {
        let line = "\u{1b}[2m2026-11-22T01:13:17.001779Z\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m \u{1b}[2mliaison_server::flows\u{1b}[0m: flow stopped";
        assert_eq!(
            strip_ansi(line),
            "2026-11-22T01:13:17.001779Z  WARN liaison_server::flows: flow stopped"
        );
        let slow = "2026-11-22T01:29:55.879446Z  WARN sqlx::pool::acquire: acquired connection, but time to acquire exceeded slow threshold acquired_after_secs=2.06 slow_acquire_threshold_secs=2.0";
        assert_eq!(
            kind_of(slow),
            "WARN sqlx::pool::acquire: acquired connection, but time to acquire exceeded slow threshold"
        );
    }
}
