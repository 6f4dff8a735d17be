//! A flow run as it is stored with its contact, so any node can resume it after a restart.

use crate::chat::ParticipantRole;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The name of a contact's flow run among its stored timers.
pub const FLOW_TIMER: &str = "flow";
/// The `flow_type` of a run while it is inside a flow module.
pub const MODULE_FLOW_TYPE: &str = "MODULE";

/// Where a run stands and what it has gathered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    pub flow_id: String,
    /// The action the run is at: about to run, or waiting in.
    pub at: String,
    /// What the action at `at` waits for; `None` while the run is moving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
    /// How the contact segment started (`API`, `DISCONNECT`, `TRANSFER`, …), for
    /// `$.InitiationMethod`.
    pub initiation_method: String,
    #[serde(default)]
    pub flow_attributes: BTreeMap<String, String>,
    /// `$.External`: the last Lambda result.
    #[serde(default)]
    pub external: Value,
    /// `$.Views`: the last ShowView's `Action` and `ViewResultData`.
    #[serde(default)]
    pub views: Value,
    /// `$.Metrics`: the last GetMetricData.
    #[serde(default)]
    pub metrics: Value,
    /// `$.StoredCustomerInput`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_input: Option<String>,
    /// Loop counters by Loop action.
    #[serde(default)]
    pub loops: BTreeMap<String, u32>,
    /// The most recent Loop count, for `$.LoopCounter`.
    #[serde(default)]
    pub last_loop_count: u32,
    /// `UpdateFlowLoggingBehavior`.
    #[serde(default)]
    pub logging: bool,
    /// The working queue (`UpdateContactTargetQueue`), as the flow named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Event hooks (`UpdateContactEventHooks`): hook name → flow id or ARN.
    #[serde(default)]
    pub hooks: BTreeMap<String, String>,
    /// The run's type of flow (`CONTACT_FLOW`, `CUSTOMER_QUEUE`, …): what its end means.
    #[serde(default)]
    pub flow_type: String,
    /// Set while a node drives the run: that node's claim, held until `lease_until_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// While driven, when the claim runs out; while ready to go, since when it is ready.
    #[serde(default)]
    pub lease_until_ms: i64,
    /// Whether the run is over (it stays stored for its hooks and trace).
    #[serde(default)]
    pub finished: bool,
    /// A customer message that came while a node drove the run: the run's next customer wait
    /// (in that same drive) takes it instead of waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_message: Option<String>,
    /// The resolved parameters of the action at `at`, kept for its flow log entry while it
    /// runs (across a wait, a function call, a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_parameters: Option<Value>,
    /// Where each flow module being run returns to, innermost last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<ModuleReturn>,
    /// The view a ShowView put before the agent; the agent workspace renders it while the run
    /// waits for their answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_view: Option<ShownView>,
    /// Set while the run is a whisper flow (`AgentWhisper`, `CustomerWhisper`) played between
    /// an agent's acceptance and their joining the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whisper: Option<Whisper>,
}

/// A whisper in progress: whom its messages are for, the agent who joins when it ends, and
/// when it is cut short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Whisper {
    /// `Agent` for the agent whisper, `Customer` for the customer whisper: only that side
    /// sees the flow's messages.
    pub to: ParticipantRole,
    /// The accepted agent's participant, which joins the chat when the whispers end.
    pub agent_participant_id: String,
    /// The agent, for `$.Agent`.
    pub agent: AgentFacts,
    /// When the whisper ends even if its flow has not (Connect caps whispers at 2 minutes).
    pub until_ms: i64,
    /// The customer whisper flow that follows this agent whisper, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<String>,
}

/// What a flow can read of the agent (`$.Agent.UserName`, `.FirstName`, `.LastName`, `.ARN`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentFacts {
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub arn: String,
}

/// A view shown to the agent: the view's identifier or ARN as the flow named it, and its
/// resolved `ViewData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShownView {
    pub view: String,
    pub data: Value,
}

/// The `InvokeFlowModule` action a module returns to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleReturn {
    pub flow_id: String,
    pub flow_type: String,
    pub at: String,
}

/// What a suspended action waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    /// When it gives up (epoch ms); `None`: no time limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// The events that end the wait early.
    #[serde(default)]
    pub events: Vec<WaitEvent>,
}

/// Something a waiting flow can be woken by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitEvent {
    /// The customer sent a message (Wait `CustomerReturned`).
    CustomerReturned,
    /// The custom bot participant left (Wait `BotParticipantDisconnected`).
    BotParticipantDisconnected,
    /// The customer answered a GetParticipantInput prompt.
    CustomerInput,
    /// The agent answered a ShowView.
    ViewResult,
    /// A driver performed the action's effect and reports back.
    EffectDone,
}

impl FlowState {
    /// A run about to start `flow_id` at `start_action`.
    pub fn new(flow_id: &str, start_action: &str, initiation_method: &str) -> Self {
        FlowState {
            flow_id: flow_id.to_string(),
            at: start_action.to_string(),
            waiting: None,
            initiation_method: initiation_method.to_string(),
            flow_attributes: BTreeMap::new(),
            external: Value::Null,
            views: Value::Null,
            metrics: Value::Null,
            stored_input: None,
            loops: BTreeMap::new(),
            last_loop_count: 0,
            logging: false,
            queue: None,
            hooks: BTreeMap::new(),
            flow_type: String::new(),
            runner: None,
            lease_until_ms: 0,
            finished: false,
            pending_message: None,
            block_parameters: None,
            returns: Vec::new(),
            shown_view: None,
            whisper: None,
        }
    }

    /// A run stored ready to start at `now_ms` (with its chat, so that a crash before any node
    /// drives it loses nothing).
    pub fn ready(mut self, now_ms: i64) -> Self {
        self.runner = None;
        self.lease_until_ms = now_ms;
        self
    }

    /// Whether the stored run is ready to go: neither driven, nor waiting, nor over.
    pub fn is_ready(&self) -> bool {
        self.runner.is_none() && self.waiting.is_none() && !self.finished
    }

    /// When the stored run next needs attention: its claim running out while a node drives it,
    /// at once when it is ready to go (`lease_until_ms` holds since when), else its wait's time
    /// limit.
    pub fn due_ms(&self) -> Option<i64> {
        if self.runner.is_some() || self.is_ready() {
            return Some(self.lease_until_ms);
        }
        let wait_ends = self.waiting.as_ref().and_then(|w| w.until_ms);
        let whisper_ends = self
            .whisper
            .as_ref()
            .filter(|_| !self.finished)
            .map(|w| w.until_ms);
        match (wait_ends, whisper_ends) {
            (Some(wait), Some(whisper)) => Some(wait.min(whisper)),
            (wait, whisper) => wait.or(whisper),
        }
    }

    /// Whether the run is a whisper whose time is up.
    pub fn whisper_expired(&self, now_ms: i64) -> bool {
        !self.finished && self.whisper.as_ref().is_some_and(|w| w.until_ms <= now_ms)
    }

    /// Whether a customer message concerns the stored run.
    pub fn wants_customer_messages(&self) -> bool {
        self.waits_for(WaitEvent::CustomerReturned) || self.waits_for(WaitEvent::CustomerInput)
    }

    /// Continues in another flow (TransferToFlow): flow-scoped values do not carry over.
    pub fn transfer(&mut self, flow_id: &str, start_action: &str) {
        self.flow_id = flow_id.to_string();
        self.at = start_action.to_string();
        self.waiting = None;
        self.flow_attributes.clear();
        self.external = Value::Null;
        self.loops.clear();
        self.returns.clear();
    }

    /// Runs a module from its `start_action`, coming back to the action the run is at.
    pub fn enter_module(&mut self, module_id: &str, start_action: &str) {
        self.returns.push(ModuleReturn {
            flow_id: std::mem::replace(&mut self.flow_id, module_id.to_string()),
            flow_type: std::mem::replace(&mut self.flow_type, MODULE_FLOW_TYPE.to_string()),
            at: std::mem::replace(&mut self.at, start_action.to_string()),
        });
        self.waiting = None;
    }

    /// Leaves the innermost module: the run is back at its `InvokeFlowModule` action, to be
    /// settled. `false` when the run is in no module.
    pub fn leave_module(&mut self) -> bool {
        let Some(back) = self.returns.pop() else {
            return false;
        };
        self.flow_id = back.flow_id;
        self.flow_type = back.flow_type;
        self.at = back.at;
        self.waiting = None;
        true
    }

    /// Whether the run waits for `event`.
    pub fn waits_for(&self, event: WaitEvent) -> bool {
        self.waiting
            .as_ref()
            .is_some_and(|waiting| waiting.events.contains(&event))
    }
}
