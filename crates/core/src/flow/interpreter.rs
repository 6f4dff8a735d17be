//! Runs a flow: blocks without side effects run here; the rest come out as [`Step::Effect`]s
//! for the caller (the server) to perform, or as waits it stores. The caller then reports how
//! the action ended with [`Interpreter::settle`], and the run follows the action's transitions
//! exactly as Connect does:
//!
//! - failure with error type E → the `Errors` entry for E, else `NoMatchingError`, else
//!   `NextAction`;
//! - success with a result → the first `Conditions` entry that holds, else `NoMatchingCondition`,
//!   else `NextAction`;
//! - success without a result → `NextAction`; no `NextAction` ends the flow.

use super::document::{Action, Condition, FlowDocument};
use super::metrics::{METRIC_TYPES, QueueMetrics};
use super::scope::{Scope, Surroundings};
use super::state::{FlowState, WaitEvent, Waiting};
use super::{Support, support};
use crate::chat::{Contact, ContactData};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Blocks a run may pass in one go without waiting or doing anything outside: more means the
/// flow loops on itself.
const STEP_BUDGET: usize = 1_000;
/// The longest a Lambda may take when the flow does not say (Connect's synchronous limit).
const MAX_LAMBDA_SECONDS: i64 = 8;

/// Something only the caller can do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Post a message to the chat as the system.
    Message { text: String },
    /// Merge attributes into the contact (or into its related contact).
    UpdateAttributes {
        related: bool,
        attributes: BTreeMap<String, String>,
    },
    /// Set contact data (`Name`, `Description`, `LanguageCode`, `References`) and the
    /// customer id, on the contact or its related contact. Voice ID and Wisdom settings have no
    /// effect on chat and are left out.
    UpdateContactData {
        related: bool,
        data: ContactData,
        customer_id: Option<String>,
    },
    /// Disconnect the customer: the chat ends, and so does the run.
    Disconnect,
    /// Call a function; settle with [`Outcome::Lambda`] or a failure.
    InvokeLambda(LambdaCall),
    /// Continue in another flow: on success call [`FlowState::transfer`] instead of settling.
    TransferToFlow { flow: String },
    /// Queue the contact; on success the run ends ([`Ended::Queued`]).
    TransferToQueue { queue: Option<String> },
    /// Show a view in the agent workspace; the run then waits for the agent's answer.
    ShowView { view: String, data: Value },
    /// Run a flow module: on success call [`FlowState::enter_module`] instead of settling.
    InvokeModule { module: String },
    /// Check hours of operation (by id or ARN; `None`: the working queue's) at this moment;
    /// settle with `Outcome::Result("True" | "False")`.
    CheckHours { hours: Option<String> },
    /// Read a queue's current metrics (by id or ARN) for CheckMetricData or GetMetricData;
    /// settle with [`Outcome::Metrics`], or `Failed("NoMatchingError")` when the instance has
    /// no such queue. The interpreter has already chosen the queue: the block's `QueueId`, else
    /// the working queue.
    QueueMetrics { queue: String },
}

/// An `InvokeLambdaFunction` call, parameters resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaCall {
    pub function: String,
    pub parameters: BTreeMap<String, String>,
    pub timeout_ms: i64,
    /// `ResponseValidation: JSON` (any JSON) rather than a flat map of strings.
    pub json_response: bool,
}

/// Where a run stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Effect(Effect),
    /// Stored in `state.waiting`; resumed by an event or its time limit.
    Waiting,
    Ended(Ended),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    /// `EndFlowExecution` / `EndFlowModuleExecution`, or no next action.
    EndOfFlow,
    /// `TransferContactToQueue` succeeded.
    Queued,
    /// `DisconnectParticipant` ran.
    Disconnected,
    /// The flow cannot go on (a missing action, a loop without waits).
    Broken(String),
}

/// How an effect or a wait ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Succeeded with a result the conditions look at.
    Result(String),
    /// Failed with this error type (`NoMatchingError`, `QueueAtCapacity`, …).
    Failed(String),
    /// A Lambda's result, for `$.External`.
    Lambda(Value),
    /// A queue's metrics: CheckMetricData's result, or GetMetricData's `$.Metrics`.
    Metrics(QueueMetrics),
    /// The agent's answer to a ShowView.
    View {
        action: String,
        data: Value,
    },
    /// The customer answered a GetParticipantInput prompt.
    Input(String),
    /// A waited-for event happened.
    Event(WaitEvent),
    /// The wait's time limit passed.
    TimedOut,
}

/// One block the run passed through, for flow logs and traces.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    /// When the block ended (epoch ms).
    pub at_ms: i64,
    pub flow_id: String,
    pub action: String,
    pub action_type: String,
    /// Whether the block goes into the flow logs: the run had logging on
    /// (`UpdateFlowLoggingBehavior`), or the interpreter logs every block.
    pub logged: bool,
    /// The block's parameters, references resolved as the block saw them (logged blocks only).
    pub parameters: Option<Value>,
    /// What the block came to: `Success`, its result, or `Error: <type>`.
    pub results: String,
    /// A function's answer (InvokeLambdaFunction), as `$.External` holds it.
    pub external_results: Option<Value>,
    /// Where the run went; `None` when the flow ended there.
    pub next_action: Option<String>,
}

/// Runs one flow document.
pub struct Interpreter<'a> {
    pub document: &'a FlowDocument,
    /// How long one minute of flow time lasts (waits scale with the timer minute).
    pub minute_ms: i64,
    /// Log every block, as if each flow had enabled logging.
    pub log_everything: bool,
}

/// What running an action locally decided.
enum Local {
    Next(Outcome),
    /// Change the run's own values, then go on with the outcome.
    Apply(Change, Outcome),
    Stop(Step),
}

/// A change to the run's own values by a block without side effects.
enum Change {
    Logging(bool),
    FlowAttributes(BTreeMap<String, String>),
    Queue(String),
    /// Hooks set, and hooks switched off (`EventHooksConfiguration` `DisableExecution`).
    Hooks {
        set: BTreeMap<String, String>,
        disabled: Vec<String>,
    },
}

impl Interpreter<'_> {
    /// Runs blocks from `state.at` until one needs the caller, waits, or the flow ends.
    /// `dice` returns 1..=100 (DistributeByPercentage).
    pub fn advance(
        &self,
        state: &mut FlowState,
        contact: &Contact,
        surroundings: &Surroundings,
        now_ms: i64,
        dice: &mut dyn FnMut() -> u32,
        trace: &mut Vec<TraceEntry>,
    ) -> Step {
        if state.waiting.is_some() {
            return Step::Waiting;
        }
        for _ in 0..STEP_BUDGET {
            if state.at.is_empty() {
                return Step::Ended(Ended::EndOfFlow);
            }
            let Some(action) = self.document.action(&state.at) else {
                return Step::Ended(Ended::Broken(format!(
                    "the flow has no action '{}'",
                    state.at
                )));
            };
            let (decided, parameters) = {
                let scope = Scope {
                    contact,
                    run: state,
                    surroundings,
                };
                // Resolved only for the flow logs: it costs a copy of every parameter.
                let parameters = (state.logging || self.log_everything)
                    .then(|| resolved(&Value::Object(action.parameters.clone()), &scope));
                (self.run_action(action, &scope, dice), parameters)
            };
            state.block_parameters = parameters;
            let outcome = match decided {
                Local::Stop(Step::Waiting) => {
                    self.start_wait(state, action, now_ms);
                    // A bot Wait with no bot in the chat cannot wait.
                    let no_bot = state.waits_for(WaitEvent::BotParticipantDisconnected)
                        && !surroundings.custom_bot_present;
                    if !no_bot {
                        return Step::Waiting;
                    }
                    state.waiting = None;
                    Outcome::Failed("ParticipantNotFound".into())
                }
                Local::Stop(Step::Ended(ended)) => {
                    // Logged like any block; the run goes nowhere after it.
                    self.settle(state, Outcome::Done, now_ms, trace);
                    return Step::Ended(ended);
                }
                Local::Stop(step) => return step,
                Local::Next(outcome) => outcome,
                Local::Apply(change, outcome) => {
                    match change {
                        Change::Logging(enabled) => state.logging = enabled,
                        Change::FlowAttributes(values) => state.flow_attributes.extend(values),
                        Change::Queue(queue) => state.queue = Some(queue),
                        Change::Hooks { set, disabled } => {
                            state.hooks.extend(set);
                            for hook in disabled {
                                state.hooks.remove(&hook);
                            }
                        }
                    }
                    outcome
                }
            };
            self.settle(state, outcome, now_ms, trace);
        }
        Step::Ended(Ended::Broken(format!(
            "more than {STEP_BUDGET} blocks ran without waiting; the flow loops"
        )))
    }

    /// Reports how the action at `state.at` ended and moves the run on.
    pub fn settle(
        &self,
        state: &mut FlowState,
        outcome: Outcome,
        now_ms: i64,
        trace: &mut Vec<TraceEntry>,
    ) {
        let Some(action) = self.document.action(&state.at) else {
            state.at.clear();
            return;
        };
        let waited = state.waiting.take().is_some();
        // Prompting actions send their prompt first, then wait for the answer.
        if !waited && outcome == Outcome::Done {
            let wait_after = match action.action_type.as_str() {
                "GetParticipantInput" => Some((
                    seconds(action, "InputTimeLimitSeconds").unwrap_or(5),
                    vec![WaitEvent::CustomerInput],
                )),
                "MessageParticipantIteratively" => {
                    seconds(action, "InterruptFrequencySeconds").map(|s| (s, Vec::new()))
                }
                "ShowView" => Some((
                    seconds(action, "InvocationTimeLimitSeconds").unwrap_or(300),
                    vec![WaitEvent::ViewResult],
                )),
                _ => None,
            };
            if let Some((limit, events)) = wait_after {
                state.waiting = Some(Waiting {
                    until_ms: Some(now_ms + self.seconds_ms(limit)),
                    events,
                });
                return;
            }
        }
        let result = match (action.action_type.as_str(), outcome) {
            (_, Outcome::Failed(error)) => Err(error),
            ("Loop", Outcome::Result(value)) => {
                let counter = state.loops.entry(action.identifier.clone()).or_default();
                if value == "ContinueLooping" {
                    *counter += 1;
                    state.last_loop_count = *counter;
                } else {
                    *counter = 0;
                }
                Ok(Some(value))
            }
            (_, Outcome::Result(value)) => Ok(Some(value)),
            ("CheckMetricData", Outcome::Metrics(metrics)) => action
                .text("MetricType")
                .and_then(|metric_type| metrics.metric(&metric_type))
                .map(|value| Some(value.to_string()))
                .ok_or_else(|| "NoMatchingError".to_string()),
            (_, Outcome::Metrics(metrics)) => {
                state.metrics = metrics.flow_value();
                Ok(None)
            }
            ("Wait", Outcome::TimedOut) => Ok(Some("WaitCompleted".to_string())),
            ("Wait", Outcome::Event(event)) => Ok(Some(event_name(event).to_string())),
            ("GetParticipantInput", Outcome::TimedOut) => Err("InputTimeLimitExceeded".into()),
            ("GetParticipantInput", Outcome::Input(text)) => {
                if flag(action, "StoreInput") {
                    state.stored_input = Some(text);
                    Ok(None)
                } else {
                    Ok(Some(text))
                }
            }
            ("MessageParticipantIteratively", Outcome::TimedOut) => {
                Ok(Some("MessagesInterrupted".to_string()))
            }
            ("ShowView", Outcome::TimedOut) => Err("TimeLimitExceeded".into()),
            (
                "ShowView",
                Outcome::View {
                    action: chosen,
                    data,
                },
            ) => {
                state.views = json!({"Action": chosen, "ViewResultData": data});
                Ok(Some(chosen))
            }
            (_, Outcome::Lambda(value)) => {
                state.external = value;
                Ok(None)
            }
            (_, _) => Ok(None),
        };
        let next = next_action(action, &result);
        let logged = state.logging || self.log_everything;
        let parameters = state.block_parameters.take();
        trace.push(TraceEntry {
            at_ms: now_ms,
            flow_id: state.flow_id.clone(),
            action: action.identifier.clone(),
            action_type: action.action_type.clone(),
            logged,
            parameters: logged
                .then(|| parameters.unwrap_or_else(|| Value::Object(action.parameters.clone()))),
            results: match &result {
                Ok(Some(value)) => value.clone(),
                Ok(None) => "Success".to_string(),
                Err(error) => format!("Error: {error}"),
            },
            external_results: (logged
                && action.action_type == "InvokeLambdaFunction"
                && result.is_ok())
            .then(|| state.external.clone()),
            next_action: next.clone(),
        });
        state.at = next.unwrap_or_default();
    }

    /// Runs an action that needs nothing outside, or says what it needs.
    fn run_action(&self, action: &Action, scope: &Scope, dice: &mut dyn FnMut() -> u32) -> Local {
        let text = |name: &str| action.text(name).map(|t| scope.interpolate(&t));
        let result = |value: String| Local::Next(Outcome::Result(value));
        let effect = |effect: Effect| Local::Stop(Step::Effect(effect));
        let fail = || Local::Next(Outcome::Failed("NoMatchingError".into()));
        if let Some(Support::Unsupported(_)) = support(&action.action_type) {
            return fail();
        }
        match action.action_type.as_str() {
            "MessageParticipant" => match text("Text") {
                Some(text) => effect(Effect::Message { text }),
                // SSML, prompts and audio are voice features.
                None => fail(),
            },
            "MessageParticipantIteratively" => {
                let first = action
                    .parameters
                    .get("Messages")
                    .and_then(Value::as_array)
                    .and_then(|messages| messages.iter().find_map(|m| m.get("Text")?.as_str()));
                match first {
                    Some(text) => effect(Effect::Message {
                        text: scope.interpolate(text),
                    }),
                    None => fail(),
                }
            }
            "GetParticipantInput" => match text("Text") {
                Some(text) => effect(Effect::Message { text }),
                None if action.parameters.contains_key("SSML")
                    || action.parameters.contains_key("PromptId") =>
                {
                    fail()
                }
                None => Local::Next(Outcome::Done),
            },
            "DisconnectParticipant" => effect(Effect::Disconnect),
            "Compare" => {
                let value = action
                    .text("ComparisonValue")
                    .map(|v| value_text(scope.value_of(&v)))
                    .unwrap_or_default();
                result(value)
            }
            "Wait" => Local::Stop(Step::Waiting),
            "EndFlowExecution" | "EndFlowModuleExecution" => {
                Local::Stop(Step::Ended(Ended::EndOfFlow))
            }
            "TransferToFlow" => match text("ContactFlowId") {
                Some(flow) => effect(Effect::TransferToFlow { flow }),
                None => fail(),
            },
            "TransferContactToQueue" | "DequeueContactAndTransferToQueue" => {
                let queue = text("QueueId").or_else(|| scope.run.queue.clone());
                effect(Effect::TransferToQueue { queue })
            }
            "Loop" => {
                let count = text("LoopCount")
                    .and_then(|c| c.trim().parse::<u32>().ok())
                    .unwrap_or(0);
                let done = scope
                    .run
                    .loops
                    .get(&action.identifier)
                    .copied()
                    .unwrap_or(0);
                result(
                    if done < count {
                        "ContinueLooping"
                    } else {
                        "DoneLooping"
                    }
                    .into(),
                )
            }
            "DistributeByPercentage" => result(dice().clamp(1, 100).to_string()),
            // No hours of operation are configured: always open.
            "CheckHoursOfOperation" => effect(Effect::CheckHours {
                hours: text("HoursOfOperationId"),
            }),
            // The metric type is static (Connect takes no reference there).
            "CheckMetricData" => {
                let known = action
                    .text("MetricType")
                    .is_some_and(|metric_type| METRIC_TYPES.contains(&metric_type.as_str()));
                match metrics_queue(action, scope) {
                    Some(queue) if known => effect(Effect::QueueMetrics { queue }),
                    _ => fail(),
                }
            }
            "UpdateContactAttributes" => {
                let Some(attributes) = action
                    .parameters
                    .get("Attributes")
                    .and_then(Value::as_object)
                else {
                    return fail();
                };
                let attributes = attributes
                    .iter()
                    .map(|(key, value)| {
                        let value = match value {
                            Value::String(text) => value_text(scope.value_of(text)),
                            other => value_text(other.clone()),
                        };
                        (scope.interpolate(key), value)
                    })
                    .collect();
                effect(Effect::UpdateAttributes {
                    related: action.text("TargetContact").as_deref() == Some("Related"),
                    attributes,
                })
            }
            "UpdateContactData" => {
                let references = action
                    .parameters
                    .get("References")
                    .and_then(Value::as_object)
                    .map(|references| {
                        references
                            .iter()
                            .map(|(name, reference)| (name.clone(), resolved(reference, scope)))
                            .collect()
                    })
                    .unwrap_or_default();
                effect(Effect::UpdateContactData {
                    related: text("TargetContact").as_deref() == Some("Related"),
                    data: ContactData {
                        name: text("Name"),
                        description: text("Description"),
                        language_code: text("LanguageCode"),
                        references,
                    },
                    customer_id: text("CustomerId"),
                })
            }
            "InvokeLambdaFunction" => {
                let Some(function) = text("LambdaFunctionARN") else {
                    return fail();
                };
                let parameters = action
                    .parameters
                    .get("LambdaInvocationAttributes")
                    .and_then(Value::as_object)
                    .map(|attributes| {
                        attributes
                            .iter()
                            .map(|(key, value)| {
                                let value = match value {
                                    Value::String(text) => value_text(scope.value_of(text)),
                                    other => value_text(other.clone()),
                                };
                                (key.clone(), value)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let timeout_s = seconds(action, "InvocationTimeLimitSeconds")
                    .unwrap_or(MAX_LAMBDA_SECONDS)
                    .clamp(1, MAX_LAMBDA_SECONDS);
                let json_response = action
                    .parameters
                    .get("ResponseValidation")
                    .and_then(|v| v.get("ResponseType"))
                    .and_then(Value::as_str)
                    == Some("JSON");
                effect(Effect::InvokeLambda(LambdaCall {
                    function,
                    parameters,
                    timeout_ms: timeout_s * 1000,
                    json_response,
                }))
            }
            "ShowView" => {
                let view = action
                    .parameters
                    .get("ViewResource")
                    .and_then(|r| r.get("Id"))
                    .and_then(Value::as_str)
                    .map(|id| scope.interpolate(id));
                let Some(view) = view else { return fail() };
                let data = action
                    .parameters
                    .get("ViewData")
                    .map(|data| resolve_tree(scope, data))
                    .unwrap_or(Value::Object(Map::new()));
                effect(Effect::ShowView { view, data })
            }
            "UpdateFlowLoggingBehavior" => Local::Apply(
                Change::Logging(text("FlowLoggingBehavior").as_deref() == Some("Enabled")),
                Outcome::Done,
            ),
            "UpdateFlowAttributes" => {
                let values = action
                    .parameters
                    .get("FlowAttributes")
                    .and_then(Value::as_object)
                    .map(|attributes| {
                        attributes
                            .iter()
                            .filter_map(|(key, entry)| {
                                let value = entry.get("Value")?.as_str()?;
                                Some((key.clone(), value_text(scope.value_of(value))))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Local::Apply(Change::FlowAttributes(values), Outcome::Done)
            }
            // An agent (`AgentId`) stands for their agent queue, whose identifier is theirs.
            "UpdateContactTargetQueue" => match text("QueueId").or_else(|| text("AgentId")) {
                Some(queue) if !queue.is_empty() => {
                    Local::Apply(Change::Queue(queue), Outcome::Done)
                }
                // An empty reference names no queue.
                _ => fail(),
            },
            "UpdateContactEventHooks" => {
                let set = action
                    .parameters
                    .get("EventHooks")
                    .and_then(Value::as_object)
                    .map(|hooks| {
                        hooks
                            .iter()
                            .filter_map(|(hook, flow)| {
                                Some((hook.clone(), scope.interpolate(flow.as_str()?)))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let disabled = action
                    .parameters
                    .get("EventHooksConfiguration")
                    .and_then(Value::as_object)
                    .map(|configured| {
                        configured
                            .iter()
                            .filter(|(_, config)| {
                                let switch = &config["DisableExecution"];
                                switch == "true" || switch == true
                            })
                            .map(|(hook, _)| hook.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                Local::Apply(Change::Hooks { set, disabled }, Outcome::Done)
            }
            // `QueueChannel` changes nothing: every Liaison contact is a chat.
            "GetMetricData" => match metrics_queue(action, scope) {
                Some(queue) => effect(Effect::QueueMetrics { queue }),
                None => fail(),
            },
            // Flow modules are separate resources Liaison does not store yet.
            "InvokeFlowModule" => match text("FlowModuleId") {
                Some(module) => effect(Effect::InvokeModule { module }),
                None => fail(),
            },
            // Accepted with no effect on a chat: recording, voice, routing priority, tags.
            _ => Local::Next(Outcome::Done),
        }
    }

    /// Flow seconds in milliseconds of the clock.
    fn seconds_ms(&self, seconds: i64) -> i64 {
        seconds.saturating_mul(self.minute_ms) / 60
    }

    /// Records what a Wait waits for, and until when.
    fn start_wait(&self, state: &mut FlowState, action: &Action, now_ms: i64) {
        let limit = action
            .text("TimeLimitSeconds")
            .or_else(|| action.text("TimeoutSeconds"))
            .and_then(|text| text.trim().parse::<i64>().ok());
        let mut events: Vec<WaitEvent> = action
            .parameters
            .get("Events")
            .and_then(Value::as_array)
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| match e.as_str()? {
                        "CustomerReturned" => Some(WaitEvent::CustomerReturned),
                        "BotParticipantDisconnected" => Some(WaitEvent::BotParticipantDisconnected),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Without Events the Wait is the customer's: it listens for the customer only if the
        // flow has a branch for it.
        if !action.parameters.contains_key("Events")
            && has_condition(&action.transitions.conditions, "CustomerReturned")
        {
            events.push(WaitEvent::CustomerReturned);
        }
        state.waiting = Some(Waiting {
            until_ms: limit.map(|seconds| now_ms + self.seconds_ms(seconds)),
            events,
        });
    }
}

/// The queue a metric block (CheckMetricData, GetMetricData) reads: its `QueueId` (an id or
/// ARN, references allowed), else the run's working queue. `None`, and the block takes its
/// error branch, when there is none to read: no working queue, or a `QueueId` reference that
/// resolves to nothing. Agent queues are not supported: a block that names an `AgentId`
/// instead of a queue takes its error branch too.
fn metrics_queue(action: &Action, scope: &Scope) -> Option<String> {
    let given = |name: &str| action.text(name).filter(|text| !text.trim().is_empty());
    match given("QueueId") {
        Some(queue) => Some(scope.interpolate(&queue)).filter(|queue| !queue.trim().is_empty()),
        None if given("AgentId").is_some() => None,
        None => scope.run.queue.clone().filter(|queue| !queue.is_empty()),
    }
}

fn event_name(event: WaitEvent) -> &'static str {
    match event {
        WaitEvent::CustomerReturned => "CustomerReturned",
        WaitEvent::BotParticipantDisconnected => "BotParticipantDisconnected",
        WaitEvent::CustomerInput => "CustomerInput",
        WaitEvent::ViewResult => "ViewResult",
        WaitEvent::EffectDone => "EffectDone",
    }
}

fn has_condition(conditions: &[Condition], operand: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.operands.iter().any(|o| o == operand))
}

/// A parameter's whole seconds, if it is a number.
fn seconds(action: &Action, name: &str) -> Option<i64> {
    action.text(name)?.trim().parse().ok()
}

/// A designer boolean: `"True"`, `"true"` or `true`.
fn flag(action: &Action, name: &str) -> bool {
    action
        .text(name)
        .is_some_and(|text| text.eq_ignore_ascii_case("true"))
}

/// A resolved value as attribute text: strings as they are, absent as empty, the rest as JSON.
fn value_text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `ViewData` with references resolved at every depth.
fn resolve_tree(scope: &Scope, value: &Value) -> Value {
    match value {
        Value::String(text) => scope.value_of(text),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve_tree(scope, v)).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), resolve_tree(scope, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether a condition holds for `value`.
fn holds(condition: &Condition, value: &str) -> bool {
    let Some(operand) = condition.operands.first() else {
        return false;
    };
    let numbers = || {
        Some((
            value.trim().parse::<f64>().ok()?,
            operand.trim().parse::<f64>().ok()?,
        ))
    };
    match condition.operator.as_str() {
        "Equals" => value == operand,
        "TextStartsWith" => value.starts_with(operand.as_str()),
        "TextEndsWith" => value.ends_with(operand.as_str()),
        "TextContains" => value.contains(operand.as_str()),
        "NumberGreaterThan" => numbers().is_some_and(|(a, b)| a > b),
        "NumberGreaterOrEqualTo" => numbers().is_some_and(|(a, b)| a >= b),
        "NumberLessThan" => numbers().is_some_and(|(a, b)| a < b),
        "NumberLessOrEqualTo" => numbers().is_some_and(|(a, b)| a <= b),
        _ => false,
    }
}

/// The transition rules: where an action goes after it succeeded (with or without a result)
/// or failed, and a note saying why.
fn next_action(action: &Action, result: &Result<Option<String>, String>) -> Option<String> {
    let transitions = &action.transitions;
    let by_error = |error: &str| {
        transitions
            .errors
            .iter()
            .find(|e| e.error_type == error)
            .map(|e| e.next_action.clone())
    };
    match result {
        Err(error) => by_error(error)
            .or_else(|| by_error("NoMatchingError"))
            .or_else(|| transitions.next_action.clone()),
        Ok(Some(value)) => match transitions.conditions.iter().find(|c| holds(c, value)) {
            Some(condition) => Some(condition.next_action.clone()),
            None => by_error("NoMatchingCondition").or_else(|| transitions.next_action.clone()),
        },
        Ok(None) => transitions.next_action.clone(),
    }
}

/// A parameter value with every reference in its text resolved (for the flow logs).
fn resolved(value: &Value, scope: &Scope) -> Value {
    match value {
        Value::String(text) => Value::String(scope.interpolate(text)),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolved(v, scope)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| (key.clone(), resolved(v, scope)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ContactState;
    use crate::flow::validate;

    fn contact() -> Contact {
        Contact {
            id: "c1".into(),
            instance_id: "i".into(),
            initial_contact_id: "c1".into(),
            related_contact_id: None,
            flow_id: "f".into(),
            state: ContactState::Open,
            attributes: BTreeMap::from([
                ("name".to_string(), "Ana".to_string()),
                ("tier".to_string(), "7".to_string()),
            ]),
            segment_attributes: None,
            customer_id: None,
            supported_content_types: vec!["text/plain".into()],
            initiated_ms: 0,
            ended_ms: None,
            expires_ms: 0,
            last_seq: 0,
            timer_config: Default::default(),
            data: Default::default(),
            watches_messages: false,
        }
    }

    fn document(actions: Value) -> FlowDocument {
        let content = json!({"Version": "2019-10-30", "StartAction": "start", "Actions": actions})
            .to_string();
        let validation = validate(&content);
        validation.document.expect("readable flow")
    }

    fn errors(next: &str) -> Value {
        json!([{"NextAction": next, "ErrorType": "NoMatchingError"}])
    }

    fn equals(value: &str, next: &str) -> Value {
        json!({"NextAction": next, "Condition": {"Operator": "Equals", "Operands": [value]}})
    }

    /// Runs until the flow needs something; settles effects with `Done` and records them.
    struct Driver<'a> {
        interpreter: Interpreter<'a>,
        state: FlowState,
        contact: Contact,
        surroundings: Surroundings,
        effects: Vec<Effect>,
        trace: Vec<TraceEntry>,
        now: i64,
    }

    impl<'a> Driver<'a> {
        fn new(document: &'a FlowDocument) -> Self {
            Driver {
                interpreter: Interpreter {
                    document,
                    minute_ms: 60_000,
                    log_everything: false,
                },
                state: FlowState::new("f", &document.start_action, "API"),
                contact: contact(),
                surroundings: Surroundings::default(),
                effects: Vec::new(),
                trace: Vec::new(),
                now: 0,
            }
        }

        /// Advances, settling every effect with `outcome(effect)`, until a wait or the end.
        fn run(&mut self, outcome: impl Fn(&Effect) -> Outcome) -> Step {
            loop {
                let step = self.interpreter.advance(
                    &mut self.state,
                    &self.contact,
                    &self.surroundings,
                    self.now,
                    &mut || 42,
                    &mut self.trace,
                );
                let Step::Effect(effect) = step else {
                    return step;
                };
                let result = outcome(&effect);
                let ends = match (&effect, &result) {
                    (Effect::Disconnect, _) => Some(Ended::Disconnected),
                    (Effect::TransferToQueue { .. }, Outcome::Done) => Some(Ended::Queued),
                    _ => None,
                };
                self.effects.push(effect);
                if let Some(ended) = ends {
                    return Step::Ended(ended);
                }
                self.interpreter
                    .settle(&mut self.state, result, self.now, &mut self.trace);
            }
        }

        fn messages(&self) -> Vec<String> {
            self.effects
                .iter()
                .filter_map(|e| match e {
                    Effect::Message { text } => Some(text.clone()),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn messages_interpolate_and_attributes_are_set_then_the_chat_disconnects() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "MessageParticipant", "Parameters": {"Text": "Hi $.Attributes.name on $.Channel"},
             "Transitions": {"NextAction": "set", "Errors": errors("bye")}},
            {"Identifier": "set", "Type": "UpdateContactAttributes",
             "Parameters": {"Attributes": {"greeted_$.Attributes.name": "yes", "copy": "$.Attributes.tier"}, "TargetContact": "Related"},
             "Transitions": {"NextAction": "bye", "Errors": errors("bye")}},
            {"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        assert_eq!(
            driver.run(|_| Outcome::Done),
            Step::Ended(Ended::Disconnected)
        );
        assert_eq!(driver.messages(), vec!["Hi Ana on CHAT"]);
        assert_eq!(
            driver.effects[1],
            Effect::UpdateAttributes {
                related: true,
                attributes: BTreeMap::from([
                    ("copy".to_string(), "7".to_string()),
                    ("greeted_Ana".to_string(), "yes".to_string()),
                ]),
            }
        );
    }

    #[test]
    fn compare_takes_the_first_matching_condition_then_no_matching_condition() {
        let flow = |value: &str| {
            document(json!([
                {"Identifier": "start", "Type": "Compare", "Parameters": {"ComparisonValue": value},
                 "Transitions": {"NextAction": "fallback", "Conditions": [
                    {"NextAction": "big", "Condition": {"Operator": "NumberGreaterThan", "Operands": ["5"]}},
                    equals("7", "seven"),
                    {"NextAction": "prefix", "Condition": {"Operator": "TextStartsWith", "Operands": ["An"]}}
                 ], "Errors": [{"NextAction": "none", "ErrorType": "NoMatchingCondition"}]}},
                {"Identifier": "big", "Type": "MessageParticipant", "Parameters": {"Text": "big"}, "Transitions": {}},
                {"Identifier": "seven", "Type": "MessageParticipant", "Parameters": {"Text": "seven"}, "Transitions": {}},
                {"Identifier": "prefix", "Type": "MessageParticipant", "Parameters": {"Text": "prefix"}, "Transitions": {}},
                {"Identifier": "none", "Type": "MessageParticipant", "Parameters": {"Text": "none"}, "Transitions": {}},
                {"Identifier": "fallback", "Type": "MessageParticipant", "Parameters": {"Text": "fallback"}, "Transitions": {}}
            ]))
        };
        for (value, expected) in [
            ("$.Attributes.tier", "big"),
            ("$.Attributes.name", "prefix"),
            ("$.Attributes.missing", "none"),
            ("$.Channel", "none"),
        ] {
            let doc = flow(value);
            let mut driver = Driver::new(&doc);
            assert_eq!(driver.run(|_| Outcome::Done), Step::Ended(Ended::EndOfFlow));
            assert_eq!(driver.messages(), vec![expected], "{value}");
        }
    }

    #[test]
    fn failures_take_their_error_branch_the_catch_all_or_next_action() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "TransferContactToQueue", "Parameters": {},
             "Transitions": {"NextAction": "unused", "Errors": [
                {"NextAction": "full", "ErrorType": "QueueAtCapacity"},
                {"NextAction": "other", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "full", "Type": "MessageParticipant", "Parameters": {"SSML": "<speak/>"}, "Transitions": {"NextAction": "after-voice"}},
            {"Identifier": "after-voice", "Type": "ConnectParticipantWithLexBot", "Parameters": {"Text": "x"},
             "Transitions": {"Errors": errors("other")}},
            {"Identifier": "other", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}},
            {"Identifier": "unused", "Type": "MessageParticipant", "Parameters": {"Text": "never"}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        let step = driver.run(|effect| match effect {
            Effect::TransferToQueue { .. } => Outcome::Failed("QueueAtCapacity".into()),
            _ => Outcome::Done,
        });
        assert_eq!(step, Step::Ended(Ended::EndOfFlow));
        // SSML fails on chat; with no error branch the run follows NextAction; the Lex block
        // is not run and takes its error branch. The closing block is traced like any other.
        let visited: Vec<&str> = driver.trace.iter().map(|t| t.action.as_str()).collect();
        assert_eq!(visited, vec!["start", "full", "after-voice", "other"]);
        let results: Vec<&str> = driver.trace.iter().map(|t| t.results.as_str()).collect();
        assert_eq!(
            results,
            vec![
                "Error: QueueAtCapacity",
                "Error: NoMatchingError",
                "Error: NoMatchingError",
                "Success"
            ]
        );
        assert!(
            driver
                .trace
                .iter()
                .all(|t| !t.logged && t.parameters.is_none())
        );
        assert!(driver.messages().is_empty());
    }

    #[test]
    fn loops_count_then_finish_and_reset() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "Loop", "Parameters": {"LoopCount": "3"},
             "Transitions": {"Conditions": [equals("ContinueLooping", "say"), equals("DoneLooping", "end")]}},
            {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"Text": "round $.LoopCounter"},
             "Transitions": {"NextAction": "start"}},
            {"Identifier": "end", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        assert_eq!(driver.run(|_| Outcome::Done), Step::Ended(Ended::EndOfFlow));
        assert_eq!(driver.messages(), vec!["round 1", "round 2", "round 3"]);
        assert_eq!(driver.state.loops["start"], 0);
    }

    #[test]
    fn waits_listen_for_their_events_and_time_out() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "900", "Events": ["CustomerReturned"]},
             "Transitions": {"Conditions": [equals("CustomerReturned", "back"), equals("WaitCompleted", "gone")],
                             "Errors": errors("gone")}},
            {"Identifier": "back", "Type": "MessageParticipant", "Parameters": {"Text": "welcome back"}, "Transitions": {}},
            {"Identifier": "gone", "Type": "MessageParticipant", "Parameters": {"Text": "bye"}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        driver.now = 5_000;
        assert_eq!(driver.run(|_| Outcome::Done), Step::Waiting);
        let waiting = driver.state.waiting.clone().unwrap();
        assert_eq!(waiting.until_ms, Some(5_000 + 900_000));
        assert_eq!(waiting.events, vec![WaitEvent::CustomerReturned]);
        assert!(driver.state.waits_for(WaitEvent::CustomerReturned));
        let mut timed_out = Driver::new(&doc);
        timed_out.state = driver.state.clone();
        driver.interpreter.settle(
            &mut driver.state,
            Outcome::Event(WaitEvent::CustomerReturned),
            6_000,
            &mut Vec::new(),
        );
        assert_eq!(driver.run(|_| Outcome::Done), Step::Ended(Ended::EndOfFlow));
        assert_eq!(driver.messages(), vec!["welcome back"]);
        timed_out.interpreter.settle(
            &mut timed_out.state,
            Outcome::TimedOut,
            905_000,
            &mut Vec::new(),
        );
        timed_out.run(|_| Outcome::Done);
        assert_eq!(timed_out.messages(), vec!["bye"]);
    }

    #[test]
    fn a_wait_without_events_listens_only_if_it_has_a_customer_branch() {
        let keep_alive = document(json!([
            {"Identifier": "start", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "30"},
             "Transitions": {"Conditions": [equals("WaitCompleted", "start")], "Errors": errors("start")}}
        ]));
        let mut driver = Driver::new(&keep_alive);
        assert_eq!(driver.run(|_| Outcome::Done), Step::Waiting);
        assert!(!driver.state.waits_for(WaitEvent::CustomerReturned));
        let customer = document(json!([
            {"Identifier": "start", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "30"},
             "Transitions": {"Conditions": [equals("CustomerReturned", "start")], "Errors": errors("start")}}
        ]));
        let mut driver = Driver::new(&customer);
        driver.run(|_| Outcome::Done);
        assert!(driver.state.waits_for(WaitEvent::CustomerReturned));
    }

    #[test]
    fn a_bot_wait_without_a_bot_takes_participant_not_found() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "900", "Events": ["BotParticipantDisconnected"]},
             "Transitions": {"Conditions": [equals("BotParticipantDisconnected", "done")],
                             "Errors": [{"NextAction": "missing", "ErrorType": "ParticipantNotFound"}, {"NextAction": "done", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "missing", "Type": "MessageParticipant", "Parameters": {"Text": "no bot"}, "Transitions": {}},
            {"Identifier": "done", "Type": "MessageParticipant", "Parameters": {"Text": "bot done"}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        driver.run(|_| Outcome::Done);
        assert_eq!(driver.messages(), vec!["no bot"]);
        let mut with_bot = Driver::new(&doc);
        with_bot.surroundings.custom_bot_present = true;
        assert_eq!(with_bot.run(|_| Outcome::Done), Step::Waiting);
        with_bot.interpreter.settle(
            &mut with_bot.state,
            Outcome::Event(WaitEvent::BotParticipantDisconnected),
            1,
            &mut Vec::new(),
        );
        with_bot.run(|_| Outcome::Done);
        assert_eq!(with_bot.messages(), vec!["bot done"]);
    }

    #[test]
    fn lambda_results_feed_later_references() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "InvokeLambdaFunction",
             "Parameters": {"LambdaFunctionARN": "arn:aws:lambda:us-east-1:1:function:lookup", "InvocationTimeLimitSeconds": "20",
                            "LambdaInvocationAttributes": {"who": "$.Attributes.name", "all": "$.Attributes"},
                            "ResponseValidation": {"ResponseType": "JSON"}},
             "Transitions": {"NextAction": "say", "Errors": errors("say")}},
            {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"Text": "Order $.External.order.id is $.External.status"}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        driver.run(|effect| match effect {
            Effect::InvokeLambda(_) => {
                Outcome::Lambda(json!({"status": "shipped", "order": {"id": "A-1"}}))
            }
            _ => Outcome::Done,
        });
        let Effect::InvokeLambda(call) = &driver.effects[0] else {
            panic!("{:?}", driver.effects)
        };
        assert_eq!(call.timeout_ms, 8_000, "capped at 8 s");
        assert!(call.json_response);
        assert_eq!(call.parameters["who"], "Ana");
        assert_eq!(call.parameters["all"], r#"{"name":"Ana","tier":"7"}"#);
        assert_eq!(driver.messages(), vec!["Order A-1 is shipped"]);
    }

    #[test]
    fn customer_input_is_prompted_awaited_and_branched_on() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "GetParticipantInput",
             "Parameters": {"Text": "Type 1 or 2", "InputTimeLimitSeconds": "60", "StoreInput": "False"},
             "Transitions": {"Conditions": [equals("1", "one")], "Errors": [
                {"NextAction": "late", "ErrorType": "InputTimeLimitExceeded"},
                {"NextAction": "other", "ErrorType": "NoMatchingCondition"}]}},
            {"Identifier": "one", "Type": "MessageParticipant", "Parameters": {"Text": "one"}, "Transitions": {}},
            {"Identifier": "other", "Type": "MessageParticipant", "Parameters": {"Text": "other"}, "Transitions": {}},
            {"Identifier": "late", "Type": "MessageParticipant", "Parameters": {"Text": "late"}, "Transitions": {}}
        ]));
        for (answer, expected) in [(Some("1"), "one"), (Some("9"), "other"), (None, "late")] {
            let mut driver = Driver::new(&doc);
            assert_eq!(driver.run(|_| Outcome::Done), Step::Waiting);
            assert_eq!(driver.messages(), vec!["Type 1 or 2"]);
            assert_eq!(
                driver.state.waiting.as_ref().unwrap().until_ms,
                Some(60_000)
            );
            let outcome = answer.map_or(Outcome::TimedOut, |a| Outcome::Input(a.into()));
            driver
                .interpreter
                .settle(&mut driver.state, outcome, 1, &mut Vec::new());
            driver.run(|_| Outcome::Done);
            assert_eq!(driver.messages().last().map(String::as_str), Some(expected));
        }
    }

    #[test]
    fn run_state_blocks_update_the_run() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "UpdateFlowLoggingBehavior", "Parameters": {"FlowLoggingBehavior": "Enabled"},
             "Transitions": {"NextAction": "attrs"}},
            {"Identifier": "attrs", "Type": "UpdateFlowAttributes", "Parameters": {"FlowAttributes": {"greeting": {"Value": "Hi $.Attributes.name"}}},
             "Transitions": {"NextAction": "queue"}},
            {"Identifier": "queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": "q-1"},
             "Transitions": {"NextAction": "hooks", "Errors": errors("hooks")}},
            {"Identifier": "hooks", "Type": "UpdateContactEventHooks", "Parameters": {"EventHooks": {"CustomerRemaining": "flow-9"}},
             "Transitions": {"NextAction": "say", "Errors": errors("say")}},
            {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"Text": "$.FlowAttributes.greeting"},
             "Transitions": {"NextAction": "queued"}},
            {"Identifier": "queued", "Type": "TransferContactToQueue", "Parameters": {}, "Transitions": {"Errors": errors("say")}}
        ]));
        let mut driver = Driver::new(&doc);
        let step = driver.run(|_| Outcome::Done);
        assert_eq!(step, Step::Ended(Ended::Queued));
        assert_eq!(
            driver.effects.last(),
            Some(&Effect::TransferToQueue {
                queue: Some("q-1".into())
            })
        );
        assert!(driver.state.logging);
        assert_eq!(driver.state.hooks["CustomerRemaining"], "flow-9");
        assert_eq!(driver.messages(), vec!["Hi Ana"]);
    }

    #[test]
    fn hooks_can_be_switched_off_and_whispers_read_the_agent() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "UpdateContactEventHooks",
             "Parameters": {"EventHooks": {"AgentWhisper": "whisper-1"}, "EventHooksConfiguration": {"AgentWhisper": {"DisableExecution": "false"}}},
             "Transitions": {"NextAction": "customer", "Errors": errors("customer")}},
            {"Identifier": "customer", "Type": "UpdateContactEventHooks", "Parameters": {"EventHooks": {"CustomerWhisper": "whisper-2"}},
             "Transitions": {"NextAction": "switch", "Errors": errors("switch")}},
            {"Identifier": "switch", "Type": "UpdateContactEventHooks",
             "Parameters": {"EventHooksConfiguration": {"CustomerWhisper": {"DisableExecution": "true"}}},
             "Transitions": {"NextAction": "say", "Errors": errors("say")}},
            {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"Text": "Agent $.Agent.FirstName ($.Agent.UserName)"},
             "Transitions": {"NextAction": "end"}},
            {"Identifier": "end", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        driver.state.whisper = Some(crate::flow::Whisper {
            to: crate::ParticipantRole::Agent,
            agent_participant_id: "p-agent".into(),
            agent: crate::flow::AgentFacts {
                user_name: "ana".into(),
                first_name: Some("Ana".into()),
                last_name: None,
                arn: "arn:aws:connect:us-east-1:1:instance/i/agent/u-1".into(),
            },
            until_ms: 120_000,
            then: None,
        });
        driver.run(|_| Outcome::Done);
        assert_eq!(driver.state.hooks["AgentWhisper"], "whisper-1");
        assert!(!driver.state.hooks.contains_key("CustomerWhisper"));
        assert_eq!(driver.messages(), vec!["Agent Ana (ana)"]);
    }

    fn metrics(available: u64, waiting: u64, oldest: i64) -> QueueMetrics {
        QueueMetrics {
            name: "Sales".into(),
            arn: "arn:aws:connect:us-east-1:1:instance/i/queue/q-1".into(),
            contacts_in_queue: waiting,
            oldest_contact_age_seconds: oldest,
            estimated_wait_seconds: 0,
            agents: crate::flow::AgentCounts {
                online: available + 1,
                available,
                staffed: available + 1,
                after_contact_work: 1,
                busy: 0,
                missed: 0,
                non_productive: 1,
            },
        }
    }

    #[test]
    fn check_metric_data_reads_the_working_queue_and_branches_on_the_metric() {
        let flow = |metric: &str, operand: &str| {
            document(json!([
                {"Identifier": "start", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": "q-1"},
                 "Transitions": {"NextAction": "check", "Errors": errors("error")}},
                {"Identifier": "check", "Type": "CheckMetricData", "Parameters": {"MetricType": metric},
                 "Transitions": {"NextAction": "error", "Conditions": [
                    {"NextAction": "more", "Condition": {"Operator": "NumberGreaterThan", "Operands": [operand]}}],
                  "Errors": [{"NextAction": "less", "ErrorType": "NoMatchingCondition"},
                             {"NextAction": "error", "ErrorType": "NoMatchingError"}]}},
                {"Identifier": "more", "Type": "MessageParticipant", "Parameters": {"Text": "more"}, "Transitions": {}},
                {"Identifier": "less", "Type": "MessageParticipant", "Parameters": {"Text": "less"}, "Transitions": {}},
                {"Identifier": "error", "Type": "MessageParticipant", "Parameters": {"Text": "error"}, "Transitions": {}}
            ]))
        };
        for (metric, operand, answer, expected, result) in [
            (
                "NumberOfAgentsAvailable",
                "0",
                metrics(2, 0, 0),
                "more",
                "2",
            ),
            (
                "NumberOfAgentsAvailable",
                "0",
                metrics(0, 3, 40),
                "less",
                "0",
            ),
            ("NumberOfAgentsOnline", "0", metrics(0, 3, 40), "more", "1"),
            ("NumberOfAgentsStaffed", "1", metrics(0, 3, 40), "less", "1"),
            (
                "NumberOfContactsInQueue",
                "2",
                metrics(0, 3, 40),
                "more",
                "3",
            ),
            (
                "OldestContactInQueueAgeSeconds",
                "60",
                metrics(0, 3, 40),
                "less",
                "40",
            ),
            (
                "OldestContactInQueueAgeSeconds",
                "60",
                metrics(0, 3, 75),
                "more",
                "75",
            ),
        ] {
            let doc = flow(metric, operand);
            let mut driver = Driver::new(&doc);
            driver.run(|effect| match effect {
                Effect::QueueMetrics { .. } => Outcome::Metrics(answer.clone()),
                _ => Outcome::Done,
            });
            assert_eq!(
                driver.effects[0],
                Effect::QueueMetrics {
                    queue: "q-1".into()
                }
            );
            assert_eq!(driver.messages(), vec![expected], "{metric} > {operand}");
            assert_eq!(driver.trace[1].results, result, "{metric}");
            // CheckMetricData leaves `$.Metrics` alone.
            assert_eq!(driver.state.metrics, Value::Null);
        }
        // The caller found no such queue.
        let doc = flow("NumberOfContactsInQueue", "0");
        let mut driver = Driver::new(&doc);
        driver.run(|effect| match effect {
            Effect::QueueMetrics { .. } => Outcome::Failed("NoMatchingError".into()),
            _ => Outcome::Done,
        });
        assert_eq!(driver.messages(), vec!["error"]);
        assert_eq!(driver.trace[1].results, "Error: NoMatchingError");
    }

    #[test]
    fn metric_blocks_take_their_error_branch_without_a_queue_to_read() {
        let check = |parameters: Value| {
            document(json!([
                {"Identifier": "start", "Type": "CheckMetricData", "Parameters": parameters,
                 "Transitions": {"Conditions": [
                    {"NextAction": "some", "Condition": {"Operator": "NumberGreaterThan", "Operands": ["0"]}}],
                  "Errors": [{"NextAction": "none", "ErrorType": "NoMatchingCondition"},
                             {"NextAction": "error", "ErrorType": "NoMatchingError"}]}},
                {"Identifier": "some", "Type": "MessageParticipant", "Parameters": {"Text": "some"}, "Transitions": {}},
                {"Identifier": "none", "Type": "MessageParticipant", "Parameters": {"Text": "none"}, "Transitions": {}},
                {"Identifier": "error", "Type": "MessageParticipant", "Parameters": {"Text": "error"}, "Transitions": {}}
            ]))
        };
        let answered = |effect: &Effect| match effect {
            Effect::QueueMetrics { .. } => Outcome::Metrics(metrics(1, 1, 1)),
            _ => Outcome::Done,
        };
        for (parameters, working, expected, asked) in [
            // No QueueId and no working queue.
            (
                json!({"MetricType": "NumberOfAgentsAvailable"}),
                None,
                "error",
                None,
            ),
            // The working queue, as the run holds it; an empty QueueId is no QueueId.
            (
                json!({"MetricType": "NumberOfAgentsAvailable", "QueueId": ""}),
                Some("q-9"),
                "some",
                Some("q-9"),
            ),
            // A reference that names nothing does not fall back on the working queue.
            (
                json!({"MetricType": "NumberOfAgentsAvailable", "QueueId": "$.Attributes.missing"}),
                Some("q-9"),
                "error",
                None,
            ),
            // Agent queues are not supported.
            (
                json!({"MetricType": "NumberOfAgentsAvailable", "AgentId": "agent-1"}),
                Some("q-9"),
                "error",
                None,
            ),
            // A metric type Connect does not have.
            (
                json!({"MetricType": "NumberOfBananas", "QueueId": "q-2"}),
                Some("q-9"),
                "error",
                None,
            ),
            // A QueueId reference, resolved; it wins over the working queue.
            (
                json!({"MetricType": "NumberOfAgentsAvailable", "QueueId": "queue-$.Attributes.tier"}),
                Some("q-9"),
                "some",
                Some("queue-7"),
            ),
        ] {
            let doc = check(parameters.clone());
            let mut driver = Driver::new(&doc);
            driver.state.queue = working.map(str::to_string);
            driver.run(answered);
            assert_eq!(driver.messages(), vec![expected], "{parameters}");
            let queues: Vec<&str> = driver
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::QueueMetrics { queue } => Some(queue.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                queues,
                asked.into_iter().collect::<Vec<_>>(),
                "{parameters}"
            );
        }
    }

    #[test]
    fn get_metric_data_loads_the_metrics_later_blocks_read() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "GetMetricData", "Parameters": {"QueueId": "$.Attributes.tier", "QueueChannel": "Chat"},
             "Transitions": {"NextAction": "say", "Errors": errors("error")}},
            {"Identifier": "say", "Type": "MessageParticipant",
             "Parameters": {"Text": "$.Metrics.Queue.Name: $.Metrics.Queue.Size waiting, $.Metrics.Agents.Available.Count of $.Metrics.Agents.Online.Count free"},
             "Transitions": {"NextAction": "compare", "Errors": errors("error")}},
            {"Identifier": "compare", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Metrics.Queue.OldestContactAge"},
             "Transitions": {"Conditions": [
                {"NextAction": "long", "Condition": {"Operator": "NumberGreaterThan", "Operands": ["60"]}}],
              "Errors": [{"NextAction": "short", "ErrorType": "NoMatchingCondition"}]}},
            {"Identifier": "long", "Type": "MessageParticipant", "Parameters": {"Text": "long wait"}, "Transitions": {}},
            {"Identifier": "short", "Type": "MessageParticipant", "Parameters": {"Text": "short wait"}, "Transitions": {}},
            {"Identifier": "error", "Type": "MessageParticipant", "Parameters": {"Text": "error"}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        driver.run(|effect| match effect {
            Effect::QueueMetrics { .. } => Outcome::Metrics(metrics(2, 5, 90)),
            _ => Outcome::Done,
        });
        assert_eq!(
            driver.effects[0],
            Effect::QueueMetrics { queue: "7".into() }
        );
        assert_eq!(
            driver.messages(),
            vec!["Sales: 5 waiting, 2 of 3 free", "long wait"]
        );
        assert_eq!(driver.trace[0].results, "Success");
        assert_eq!(
            driver.state.metrics["Queue"]["ARN"],
            "arn:aws:connect:us-east-1:1:instance/i/queue/q-1"
        );
        assert_eq!(
            driver.state.metrics["Agents"]["AfterContactWork"]["Count"],
            "1"
        );
        assert_eq!(
            driver.state.metrics["Agents"]["NonProductive"]["Count"],
            "1"
        );
        assert_eq!(driver.state.metrics["Queue"]["EstimatedWaitTime"], "0");

        // Without a queue the block fails and `$.Metrics` stays empty.
        let doc = document(json!([
            {"Identifier": "start", "Type": "GetMetricData", "Parameters": {},
             "Transitions": {"NextAction": "say", "Errors": errors("error")}},
            {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"Text": "size $.Metrics.Queue.Size"}, "Transitions": {}},
            {"Identifier": "error", "Type": "MessageParticipant", "Parameters": {"Text": "error"}, "Transitions": {}}
        ]));
        let mut driver = Driver::new(&doc);
        driver.run(|_| Outcome::Done);
        assert_eq!(driver.messages(), vec!["error"]);
        assert_eq!(driver.state.metrics, Value::Null);
    }

    #[test]
    fn a_flow_that_loops_without_waiting_is_stopped() {
        let doc = document(json!([
            {"Identifier": "start", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Channel"},
             "Transitions": {"Conditions": [equals("CHAT", "start")]}}
        ]));
        let mut driver = Driver::new(&doc);
        assert!(matches!(
            driver.run(|_| Outcome::Done),
            Step::Ended(Ended::Broken(_))
        ));
    }
}
