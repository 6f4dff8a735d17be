//! The flow document as exported: actions by identifier, each with its parameters and
//! transitions. Parameters stay JSON: their shapes depend on the action type and real exports
//! write numbers and booleans as strings.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// A parsed flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowDocument {
    pub start_action: String,
    pub actions: Vec<Action>,
    by_identifier: HashMap<String, usize>,
}

impl FlowDocument {
    pub(crate) fn new(start_action: String, actions: Vec<Action>) -> Self {
        let by_identifier = actions
            .iter()
            .enumerate()
            .map(|(index, action)| (action.identifier.clone(), index))
            .collect();
        FlowDocument {
            start_action,
            actions,
            by_identifier,
        }
    }

    pub fn action(&self, identifier: &str) -> Option<&Action> {
        self.by_identifier
            .get(identifier)
            .map(|index| &self.actions[*index])
    }
}

/// One block of the flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub identifier: String,
    pub action_type: String,
    pub parameters: Map<String, Value>,
    pub transitions: Transitions,
}

impl Action {
    /// A parameter as text, whether the export wrote it as a string, a number or a boolean.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.parameters.get(name)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }
}

/// Where an action goes next.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transitions {
    pub next_action: Option<String>,
    pub conditions: Vec<Condition>,
    pub errors: Vec<ErrorBranch>,
}

impl Transitions {
    /// Every action identifier these transitions name.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.next_action
            .iter()
            .map(String::as_str)
            .chain(self.conditions.iter().map(|c| c.next_action.as_str()))
            .chain(self.errors.iter().map(|e| e.next_action.as_str()))
    }

    /// The branch for an error type, or the `NoMatchingError` catch-all.
    pub fn on_error(&self, error_type: &str) -> Option<&str> {
        let find = |wanted: &str| {
            self.errors
                .iter()
                .find(|e| e.error_type == wanted)
                .map(|e| e.next_action.as_str())
        };
        find(error_type).or_else(|| find("NoMatchingError"))
    }
}

/// `{"NextAction": …, "Condition": {"Operator": …, "Operands": [...]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub next_action: String,
    pub operator: String,
    pub operands: Vec<String>,
}

/// `{"NextAction": …, "ErrorType": …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBranch {
    pub next_action: String,
    pub error_type: String,
}
