//! Reading and checking a flow before it is stored: what Connect's import refuses, reported per
//! block so the author can find it.

use super::catalogue::{OPERATORS, Required, required};
use super::document::{Action, Condition, ErrorBranch, FlowDocument, Transitions};
use super::reference::{NAMESPACES, references_in};
use super::{FLOW_VERSION, MAX_CONTENT_CHARS, Support, support};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Most actions a flow may have.
const MAX_ACTIONS: usize = 250;
/// Longest action identifier, in characters.
const MAX_IDENTIFIER_CHARS: usize = 50;
const FORBIDDEN_IDENTIFIER_CHARS: &[char] = &[
    '%', ':', '(', '\\', '/', ')', '=', '$', ',', ';', '[', ']', '{', '}',
];
const RESERVED_IDENTIFIERS: [&str; 10] = [
    "__proto__",
    "constructor",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "__defineGetter__",
    "__defineSetter__",
];

/// Whether a problem makes the flow wrong, or only names something Liaison does not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Invalid,
    Unsupported,
}

/// One fault of a flow, with the block it is in (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub block: Option<String>,
    pub kind: ProblemKind,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.block {
            Some(block) => write!(f, "Block '{block}': {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The outcome of [`validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// The flow as read, when its structure could be read at all.
    pub document: Option<FlowDocument>,
    pub problems: Vec<Problem>,
}

impl Validation {
    /// No problem of any kind.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Readable and correct; at most some blocks are of types Liaison does not run.
    pub fn is_runnable(&self) -> bool {
        self.document.is_some()
            && self
                .problems
                .iter()
                .all(|p| p.kind == ProblemKind::Unsupported)
    }
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn invalid(&mut self, block: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            block: block.map(str::to_string),
            kind: ProblemKind::Invalid,
            message: message.into(),
        });
    }
}

/// Reads `content` as an exported flow and lists everything wrong with it.
pub fn validate(content: &str) -> Validation {
    let mut checker = Checker {
        problems: Vec::new(),
    };
    let document = read(content, &mut checker);
    Validation {
        document,
        problems: checker.problems,
    }
}

fn read(content: &str, checker: &mut Checker) -> Option<FlowDocument> {
    let chars = content.chars().count();
    if chars > MAX_CONTENT_CHARS {
        checker.invalid(
            None,
            format!(
                "The flow content is {chars} characters; at most {MAX_CONTENT_CHARS} are allowed."
            ),
        );
        return None;
    }
    let root: Value = match serde_json::from_str(content) {
        Ok(value) => value,
        Err(error) => {
            checker.invalid(
                None,
                format!("The flow content is not valid JSON: {error}."),
            );
            return None;
        }
    };
    let Some(root) = root.as_object() else {
        checker.invalid(None, "The flow content must be a JSON object.");
        return None;
    };
    if root.contains_key("modules") && !root.contains_key("Actions") {
        checker.invalid(
            None,
            "This is the legacy flow export format (\"modules\"); export the flow again from the current flow designer (Version 2019-10-30).",
        );
        return None;
    }
    match root.get("Version").and_then(Value::as_str) {
        Some(FLOW_VERSION) => {}
        Some(other) => checker.invalid(
            None,
            format!("Version '{other}' is not supported; flows use Version \"{FLOW_VERSION}\"."),
        ),
        None => checker.invalid(
            None,
            format!("Version is missing; flows use \"{FLOW_VERSION}\"."),
        ),
    }
    let Some(items) = root.get("Actions").and_then(Value::as_array) else {
        checker.invalid(None, "Actions must be a list of actions.");
        return None;
    };
    if items.len() > MAX_ACTIONS {
        checker.invalid(
            None,
            format!(
                "The flow has {} actions; at most {MAX_ACTIONS} are allowed.",
                items.len()
            ),
        );
    }
    let mut actions = Vec::with_capacity(items.len());
    let mut identifiers = HashSet::new();
    for (position, item) in items.iter().enumerate() {
        let Some(action) = read_action(position, item, checker) else {
            continue;
        };
        if !identifiers.insert(action.identifier.clone()) {
            checker.invalid(
                Some(&action.identifier),
                "Identifier is used by more than one action.",
            );
            continue;
        }
        actions.push(action);
    }
    let start_action = match root.get("StartAction").and_then(Value::as_str) {
        Some(start) if identifiers.contains(start) => start.to_string(),
        Some(start) => {
            checker.invalid(
                None,
                format!("StartAction '{start}' is not the Identifier of any action."),
            );
            start.to_string()
        }
        None => {
            checker.invalid(None, "StartAction is missing.");
            String::new()
        }
    };
    for action in &actions {
        for target in action.transitions.targets() {
            if !identifiers.contains(target) {
                checker.invalid(
                    Some(&action.identifier),
                    format!("transition to '{target}', which is not the Identifier of any action."),
                );
            }
        }
    }
    Some(FlowDocument::new(start_action, actions))
}

fn read_action(position: usize, item: &Value, checker: &mut Checker) -> Option<Action> {
    let Some(object) = item.as_object() else {
        checker.invalid(
            None,
            format!("Action {} is not a JSON object.", position + 1),
        );
        return None;
    };
    let Some(identifier) = object.get("Identifier").and_then(Value::as_str) else {
        checker.invalid(None, format!("Action {} has no Identifier.", position + 1));
        return None;
    };
    let block = Some(identifier);
    check_identifier(identifier, checker);
    let Some(action_type) = object.get("Type").and_then(Value::as_str) else {
        checker.invalid(block, "Type is missing.");
        return None;
    };
    let parameters = match object.get("Parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(parameters)) => parameters.clone(),
        Some(_) => {
            checker.invalid(block, "Parameters must be a JSON object.");
            Map::new()
        }
    };
    match support(action_type) {
        None => checker.invalid(block, format!("unknown action type '{action_type}'.")),
        Some(Support::Unsupported(why)) => checker.problems.push(Problem {
            block: block.map(str::to_string),
            kind: ProblemKind::Unsupported,
            message: format!(
                "action type '{action_type}' is not supported by Liaison ({why}); at run time it takes its error branch."
            ),
        }),
        Some(Support::Runs) => {
            check_required(identifier, action_type, &parameters, checker);
            check_references(identifier, &Value::Object(parameters.clone()), checker);
        }
    }
    let transitions = read_transitions(identifier, object.get("Transitions"), checker);
    Some(Action {
        identifier: identifier.to_string(),
        action_type: action_type.to_string(),
        parameters,
        transitions,
    })
}

fn check_identifier(identifier: &str, checker: &mut Checker) {
    let block = Some(identifier);
    if identifier.is_empty() {
        checker.invalid(None, "An action has an empty Identifier.");
    } else if identifier.chars().count() > MAX_IDENTIFIER_CHARS {
        checker.invalid(
            block,
            format!("Identifier is longer than {MAX_IDENTIFIER_CHARS} characters."),
        );
    } else if let Some(c) = identifier
        .chars()
        .find(|c| FORBIDDEN_IDENTIFIER_CHARS.contains(c))
    {
        checker.invalid(block, format!("Identifier may not contain '{c}'."));
    } else if RESERVED_IDENTIFIERS.contains(&identifier) {
        checker.invalid(block, "Identifier is a reserved word.");
    }
}

fn check_required(
    identifier: &str,
    action_type: &str,
    parameters: &Map<String, Value>,
    checker: &mut Checker,
) {
    let present = |name: &&str| parameters.get(*name).is_some_and(|v| !v.is_null());
    match required(action_type) {
        Required::Nothing => {}
        Required::All(names) => {
            for name in names.iter().filter(|n| !present(n)) {
                checker.invalid(
                    Some(identifier),
                    format!("{action_type} needs the parameter {name}."),
                );
            }
        }
        Required::OneOf(names) => {
            if !names.iter().any(present) {
                checker.invalid(
                    Some(identifier),
                    format!(
                        "{action_type} needs one of the parameters {}.",
                        names.join(", ")
                    ),
                );
            }
        }
    }
}

/// Checks every `$.` reference in the parameters' keys and text values.
fn check_references(identifier: &str, value: &Value, checker: &mut Checker) {
    let mut check = |text: &str| match references_in(text) {
        Err(_) => checker.invalid(
            Some(identifier),
            format!("the reference in '{text}' has an unclosed ['…'] segment."),
        ),
        Ok(references) => {
            for reference in references {
                let namespace = reference.path[0].as_str();
                if !NAMESPACES.contains(&namespace) {
                    checker.invalid(
                        Some(identifier),
                        format!(
                            "'{}' refers to the unknown namespace '{namespace}'.",
                            &text[reference.start..reference.end]
                        ),
                    );
                }
            }
        }
    };
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) => check(text),
            Value::Array(items) => pending.extend(items),
            Value::Object(members) => {
                for (key, member) in members {
                    check(key);
                    pending.push(member);
                }
            }
            _ => {}
        }
    }
}

fn read_transitions(identifier: &str, value: Option<&Value>, checker: &mut Checker) -> Transitions {
    let block = Some(identifier);
    let Some(object) = value.and_then(Value::as_object) else {
        if value.is_some_and(|v| !v.is_null()) {
            checker.invalid(block, "Transitions must be a JSON object.");
        }
        return Transitions::default();
    };
    let next_action = match object.get("NextAction") {
        None | Some(Value::Null) => None,
        Some(Value::String(next)) => Some(next.clone()),
        Some(_) => {
            checker.invalid(block, "NextAction must be an action Identifier.");
            None
        }
    };
    let mut conditions = Vec::new();
    for entry in list(object.get("Conditions"), "Conditions", identifier, checker) {
        let next = entry.get("NextAction").and_then(Value::as_str);
        let condition = entry.get("Condition").and_then(Value::as_object);
        let operator = condition
            .and_then(|c| c.get("Operator"))
            .and_then(Value::as_str);
        let operands = condition
            .and_then(|c| c.get("Operands"))
            .and_then(Value::as_array);
        let (Some(next), Some(operator), Some(operands)) = (next, operator, operands) else {
            checker.invalid(
                block,
                "each condition needs NextAction and a Condition with Operator and Operands.",
            );
            continue;
        };
        if !OPERATORS.contains(&operator) {
            checker.invalid(block, format!("unknown condition operator '{operator}'."));
        }
        let operands: Vec<String> = operands
            .iter()
            .filter_map(|operand| match operand {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                Value::Bool(flag) => Some(flag.to_string()),
                _ => None,
            })
            .collect();
        if operands.len() != 1 {
            checker.invalid(
                block,
                format!("the {operator} condition needs exactly one text operand."),
            );
        }
        conditions.push(Condition {
            next_action: next.to_string(),
            operator: operator.to_string(),
            operands,
        });
    }
    let mut errors = Vec::new();
    for entry in list(object.get("Errors"), "Errors", identifier, checker) {
        match (
            entry.get("NextAction").and_then(Value::as_str),
            entry.get("ErrorType").and_then(Value::as_str),
        ) {
            (Some(next), Some(error_type)) => errors.push(ErrorBranch {
                next_action: next.to_string(),
                error_type: error_type.to_string(),
            }),
            _ => checker.invalid(block, "each error branch needs NextAction and ErrorType."),
        }
    }
    Transitions {
        next_action,
        conditions,
        errors,
    }
}

/// The objects of a transitions list; anything else is reported.
fn list<'a>(
    value: Option<&'a Value>,
    name: &str,
    identifier: &str,
    checker: &mut Checker,
) -> Vec<&'a Map<String, Value>> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| {
                let object = item.as_object();
                if object.is_none() {
                    checker.invalid(
                        Some(identifier),
                        format!("{name} entries must be JSON objects."),
                    );
                }
                object
            })
            .collect(),
        Some(_) => {
            checker.invalid(Some(identifier), format!("{name} must be a list."));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow(actions: Value) -> String {
        json!({"Version": "2019-10-30", "StartAction": "hello", "Metadata": {}, "Actions": actions})
            .to_string()
    }

    fn messages(validation: &Validation) -> Vec<String> {
        validation
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_small_correct_flow_is_clean() {
        let content = flow(json!([
            {"Identifier": "hello", "Type": "MessageParticipant",
             "Parameters": {"Text": "Hi $.Attributes.name"},
             "Transitions": {"NextAction": "bye", "Errors": [{"NextAction": "bye", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]));
        let validation = validate(&content);
        assert!(validation.is_clean(), "{:?}", messages(&validation));
        let document = validation.document.unwrap();
        assert_eq!(
            document.action("hello").unwrap().text("Text").unwrap(),
            "Hi $.Attributes.name"
        );
        assert_eq!(
            document
                .action("hello")
                .unwrap()
                .transitions
                .on_error("Other"),
            Some("bye")
        );
    }

    #[test]
    fn each_fault_is_named_with_its_block() {
        let content = json!({
            "Version": "2019-10-30",
            "StartAction": "nowhere",
            "Actions": [
                {"Identifier": "a", "Type": "MessageParticipant", "Parameters": {},
                 "Transitions": {"NextAction": "missing"}},
                {"Identifier": "b", "Type": "Teleport", "Parameters": {}, "Transitions": {}},
                {"Identifier": "c", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Bogus.x"},
                 "Transitions": {"Conditions": [{"NextAction": "a", "Condition": {"Operator": "Roughly", "Operands": ["1"]}}]}},
                {"Identifier": "d", "Type": "UpdateContactAttributes", "Parameters": {"Attributes": {"k": "$.Attributes['open"}}, "Transitions": {}},
                {"Identifier": "e", "Type": "ConnectParticipantWithLexBot", "Parameters": {}, "Transitions": {}},
                {"Identifier": "a", "Type": "DisconnectParticipant", "Transitions": {}}
            ]
        })
        .to_string();
        let validation = validate(&content);
        let found = messages(&validation);
        for expected in [
            "StartAction 'nowhere' is not the Identifier of any action.",
            "Block 'a': MessageParticipant needs one of the parameters Text, SSML, PromptId, Media.",
            "Block 'a': transition to 'missing', which is not the Identifier of any action.",
            "Block 'b': unknown action type 'Teleport'.",
            "Block 'c': '$.Bogus.x' refers to the unknown namespace 'Bogus'.",
            "Block 'c': unknown condition operator 'Roughly'.",
            "Block 'd': the reference in '$.Attributes['open' has an unclosed ['…'] segment.",
            "Block 'a': Identifier is used by more than one action.",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "missing {expected:?} in {found:#?}"
            );
        }
        let lex = validation
            .problems
            .iter()
            .find(|p| p.block.as_deref() == Some("e"))
            .unwrap();
        assert_eq!(lex.kind, ProblemKind::Unsupported);
        assert!(!validation.is_runnable());
    }

    #[test]
    fn unreadable_documents_say_why() {
        for (content, expected) in [
            ("not json", "not valid JSON"),
            ("[]", "must be a JSON object"),
            (r#"{"modules": []}"#, "legacy flow export format"),
            (
                r#"{"Version": "2017-01-01", "Actions": []}"#,
                "Version '2017-01-01' is not supported",
            ),
        ] {
            let validation = validate(content);
            assert!(
                messages(&validation).iter().any(|m| m.contains(expected)),
                "{content}: {:?}",
                messages(&validation)
            );
        }
        let huge = format!("\"{}\"", "x".repeat(MAX_CONTENT_CHARS + 1));
        assert!(messages(&validate(&huge))[0].contains("at most 256000"));
    }

    #[test]
    fn only_unsupported_blocks_leave_a_flow_runnable() {
        let content = flow(json!([
            {"Identifier": "hello", "Type": "ConnectParticipantWithLexBot", "Parameters": {"Text": "hi"},
             "Transitions": {"NextAction": "bye", "Errors": [{"NextAction": "bye", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "bye", "Type": "DisconnectParticipant", "Transitions": {}}
        ]));
        let validation = validate(&content);
        assert!(!validation.is_clean());
        assert!(validation.is_runnable());
    }
}
