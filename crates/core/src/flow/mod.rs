//! Amazon Connect flows (Flow language, Version 2019-10-30): the exported JSON read into
//! [`FlowDocument`], checked by [`validate`] with problems that name the block and the fault.

mod catalogue;
mod document;
mod interpreter;
mod metrics;
mod reference;
mod scope;
mod state;
mod validate;

pub use catalogue::{Support, support};
pub use document::{Action, Condition, ErrorBranch, FlowDocument, Transitions};
pub use interpreter::{Effect, Ended, Interpreter, LambdaCall, Outcome, Step, TraceEntry};
pub use metrics::{AgentCounts, METRIC_TYPES, QueueMetrics};
pub use reference::{Reference, references_in};
pub use scope::{Scope, Surroundings};
pub use state::{
    AgentFacts, FLOW_TIMER, FlowState, MODULE_FLOW_TYPE, ModuleReturn, ShownView, WaitEvent,
    Waiting, Whisper,
};
pub use validate::{Problem, ProblemKind, Validation, validate};

/// The only Flow language version there is.
pub const FLOW_VERSION: &str = "2019-10-30";
/// Largest flow content the API accepts, in characters.
pub const MAX_CONTENT_CHARS: usize = 256_000;
