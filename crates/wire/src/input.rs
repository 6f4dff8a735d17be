//! Turning an HTTP request into an operation's input, checked against the model.
//!
//! restJson1 spreads one input structure over the path, the query string, headers and a JSON
//! body. [`bind`] gathers the path and query members into the body object, so that handlers
//! deserialize a single JSON value, and then checks that value against every constraint the
//! model states (required, type, length, range, enum, union). Messages follow AWS's wording
//! ("1 validation error detected: Value ... at 'x' failed to satisfy constraint: ...").

use crate::model::{Operation, Shapes};
use serde_json::{Map, Number, Value};

/// The parts of a request that carry input members.
pub struct RawInput<'a> {
    pub body: &'a [u8],
    /// Path labels, already percent-decoded, keyed by the label in the request URI.
    pub path: &'a [(String, String)],
    /// Query pairs, already percent-decoded, in the order received.
    pub query: &'a [(String, String)],
}

/// Why a request could not be turned into the operation's input.
#[derive(Debug, Clone, PartialEq)]
pub enum InputError {
    /// The body is not a JSON object.
    MalformedBody(String),
    /// One or more model constraints are violated; the message is AWS's summary of all of them.
    Invalid(String),
}

impl InputError {
    pub fn message(&self) -> &str {
        match self {
            InputError::MalformedBody(m) | InputError::Invalid(m) => m,
        }
    }
}

/// Builds the operation's input value and validates it.
pub fn bind(op: &Operation, raw: RawInput<'_>) -> Result<Value, InputError> {
    let mut input = parse_body(raw.body)?;
    let shapes = op.shapes();
    let Some(input_shape) = op.input.as_deref().and_then(|name| shapes.get(name)) else {
        return Ok(Value::Object(Map::new()));
    };
    let mut violations = Vec::new();
    let no_members = Map::new();
    let members = input_shape
        .get("members")
        .and_then(Value::as_object)
        .unwrap_or(&no_members);
    for (member, spec) in members {
        let location = spec.get("location").and_then(Value::as_str);
        let location_name = spec
            .get("locationName")
            .and_then(Value::as_str)
            .unwrap_or(member);
        let shape_name = spec.get("shape").and_then(Value::as_str).unwrap_or("");
        match location {
            Some("uri") => {
                input.remove(member);
                if let Some((_, value)) = raw.path.iter().find(|(label, _)| label == location_name)
                {
                    input.insert(member.clone(), scalar_from_text(shapes, shape_name, value));
                }
            }
            Some("querystring") => {
                input.remove(member);
                let values: Vec<&str> = raw
                    .query
                    .iter()
                    .filter(|(key, _)| key == location_name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                if values.is_empty() {
                    continue;
                }
                let is_list = shape_type(shapes, shape_name) == "list";
                let value = if is_list {
                    let member_shape = shapes
                        .get(shape_name)
                        .and_then(|s| s.get("member"))
                        .and_then(|m| m.get("shape"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    Value::Array(
                        values
                            .iter()
                            .map(|v| scalar_from_text(shapes, member_shape, v))
                            .collect(),
                    )
                } else {
                    scalar_from_text(shapes, shape_name, values[values.len() - 1])
                };
                input.insert(member.clone(), value);
            }
            // Header members are the bearer tokens; the auth layer reads them.
            Some("header") => {
                input.remove(member);
            }
            _ => {}
        }
    }
    let input = Value::Object(input);
    check_structure(shapes, input_shape, &input, "", &mut violations, true);
    if violations.is_empty() {
        Ok(input)
    } else {
        Err(InputError::Invalid(summarize(&violations)))
    }
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(InputError::MalformedBody(
            "The request body must be a JSON object.".into(),
        )),
        Err(e) => Err(InputError::MalformedBody(format!(
            "The request body is not valid JSON: {e}."
        ))),
    }
}

/// Path and query values arrive as text; numbers and booleans are converted by the member's type
/// so that validation sees the value the client meant. Unconvertible text is kept as a string
/// and then fails the type check with a clear message.
fn scalar_from_text(shapes: &Shapes, shape_name: &str, text: &str) -> Value {
    match shape_type(shapes, shape_name) {
        "integer" | "long" => text
            .parse::<i64>()
            .map(|n| Value::Number(Number::from(n)))
            .unwrap_or_else(|_| Value::String(text.to_string())),
        "boolean" => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        _ => Value::String(text.to_string()),
    }
}

fn shape_type<'a>(shapes: &'a Shapes, name: &str) -> &'a str {
    shapes
        .get(name)
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("string")
}

fn summarize(violations: &[String]) -> String {
    let count = violations.len();
    let noun = if count == 1 { "error" } else { "errors" };
    format!(
        "{count} validation {noun} detected: {}",
        violations.join("; ")
    )
}

/// AWS names members in validation messages in lower camel case.
fn member_path(prefix: &str, member: &str) -> String {
    let mut chars = member.chars();
    let lowered = match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    };
    if prefix.is_empty() {
        lowered
    } else {
        format!("{prefix}.{lowered}")
    }
}

fn check_structure(
    shapes: &Shapes,
    shape: &Map<String, Value>,
    value: &Value,
    path: &str,
    violations: &mut Vec<String>,
    top_level: bool,
) {
    let Some(object) = value.as_object() else {
        violations.push(format!(
            "Value at '{path}' failed to satisfy constraint: Member must be a structure"
        ));
        return;
    };
    let members = shape.get("members").and_then(Value::as_object);
    let required = shape
        .get("required")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for name in required.iter().filter_map(Value::as_str) {
        let is_header = members
            .and_then(|m| m.get(name))
            .and_then(|m| m.get("location"))
            .and_then(Value::as_str)
            == Some("header");
        if top_level && is_header {
            continue;
        }
        if object.get(name).is_none_or(Value::is_null) {
            violations.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                member_path(path, name)
            ));
        }
    }
    let Some(members) = members else { return };
    let mut set_members = 0;
    for (name, spec) in members {
        let Some(member_value) = object.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        set_members += 1;
        let shape_name = spec.get("shape").and_then(Value::as_str).unwrap_or("");
        check_value(
            shapes,
            shape_name,
            member_value,
            &member_path(path, name),
            violations,
        );
    }
    let is_union = shape.get("union").and_then(Value::as_bool) == Some(true);
    if is_union && set_members != 1 {
        let where_ = if path.is_empty() { "input" } else { path };
        violations.push(format!(
            "Value at '{where_}' failed to satisfy constraint: Exactly one member must be set, found {set_members}"
        ));
    }
}

fn check_value(
    shapes: &Shapes,
    shape_name: &str,
    value: &Value,
    path: &str,
    violations: &mut Vec<String>,
) {
    let Some(shape) = shapes.get(shape_name) else {
        return;
    };
    let kind = shape
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let sensitive = shape.get("sensitive").and_then(Value::as_bool) == Some(true);
    let min = shape.get("min").and_then(Value::as_f64);
    let max = shape.get("max").and_then(Value::as_f64);
    let mut fail = |shown: Option<String>, rule: String| {
        let shown = match shown {
            Some(text) if !sensitive => format!("Value '{text}' "),
            _ => "Value ".to_string(),
        };
        violations.push(format!(
            "{shown}at '{path}' failed to satisfy constraint: Member must {rule}"
        ));
    };
    match kind {
        "string" => {
            let Some(text) = value.as_str() else {
                fail(None, "be a string".into());
                return;
            };
            let shown = (text.chars().count() <= 64).then(|| text.to_string());
            let length = text.chars().count() as f64;
            if let Some(min) = min.filter(|m| length < *m) {
                fail(
                    shown.clone(),
                    format!("have length greater than or equal to {min}"),
                );
            }
            if let Some(max) = max.filter(|m| length > *m) {
                fail(
                    shown.clone(),
                    format!("have length less than or equal to {max}"),
                );
            }
            if let Some(allowed) = shape.get("enum").and_then(Value::as_array)
                && !allowed.iter().any(|a| a.as_str() == Some(text))
            {
                let set: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                fail(
                    shown,
                    format!("satisfy enum value set: [{}]", set.join(", ")),
                );
            }
        }
        "integer" | "long" => {
            let Some(number) = value.as_i64() else {
                fail(None, "be an integer".into());
                return;
            };
            let shown = Some(number.to_string());
            if let Some(min) = min.filter(|m| (number as f64) < *m) {
                fail(
                    shown.clone(),
                    format!("have value greater than or equal to {min}"),
                );
            }
            if let Some(max) = max.filter(|m| (number as f64) > *m) {
                fail(shown, format!("have value less than or equal to {max}"));
            }
        }
        "float" | "double" if !value.is_number() => fail(None, "be a number".into()),
        "boolean" if !value.is_boolean() => fail(None, "be a boolean".into()),
        "timestamp" if !(value.is_number() || value.is_string()) => {
            fail(None, "be a timestamp".into())
        }
        "list" => {
            let Some(items) = value.as_array() else {
                fail(None, "be a list".into());
                return;
            };
            let length = items.len() as f64;
            if let Some(min) = min.filter(|m| length < *m) {
                fail(None, format!("have length greater than or equal to {min}"));
            }
            if let Some(max) = max.filter(|m| length > *m) {
                fail(None, format!("have length less than or equal to {max}"));
            }
            let member_shape = shape
                .get("member")
                .and_then(|m| m.get("shape"))
                .and_then(Value::as_str)
                .unwrap_or("");
            for (index, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                check_value(
                    shapes,
                    member_shape,
                    item,
                    &format!("{path}.{}.member", index + 1),
                    violations,
                );
            }
        }
        "map" => {
            let Some(entries) = value.as_object() else {
                fail(None, "be a map".into());
                return;
            };
            let length = entries.len() as f64;
            if let Some(min) = min.filter(|m| length < *m) {
                fail(None, format!("have length greater than or equal to {min}"));
            }
            if let Some(max) = max.filter(|m| length > *m) {
                fail(None, format!("have length less than or equal to {max}"));
            }
            let key_shape = shape
                .get("key")
                .and_then(|m| m.get("shape"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let value_shape = shape
                .get("value")
                .and_then(|m| m.get("shape"))
                .and_then(Value::as_str)
                .unwrap_or("");
            for (key, entry) in entries {
                check_value(
                    shapes,
                    key_shape,
                    &Value::String(key.clone()),
                    &format!("{path}.key"),
                    violations,
                );
                if !entry.is_null() {
                    check_value(
                        shapes,
                        value_shape,
                        entry,
                        &format!("{path}.{key}"),
                        violations,
                    );
                }
            }
        }
        "structure" => check_structure(shapes, shape, value, path, violations, false),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Api, catalog};

    fn bind_to(
        name: &str,
        body: &str,
        path: &[(&str, &str)],
        query: &[(&str, &str)],
    ) -> Result<Value, InputError> {
        let api = if catalog().find(Api::Connect, name).is_some() {
            Api::Connect
        } else {
            Api::Participant
        };
        let op = catalog().find(api, name).unwrap();
        let own = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        bind(
            op,
            RawInput {
                body: body.as_bytes(),
                path: &own(path),
                query: &own(query),
            },
        )
    }

    #[test]
    fn valid_start_chat_passes_and_keeps_unknown_fields() {
        let value = bind_to(
            "StartChatContact",
            r#"{"InstanceId":"i","ContactFlowId":"f","ParticipantDetails":{"DisplayName":"C"},"Future":1}"#,
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(value["InstanceId"], "i");
        assert_eq!(value["Future"], 1);
    }

    #[test]
    fn range_and_required_violations_are_reported_together() {
        let err = bind_to(
            "StartChatContact",
            r#"{"InstanceId":"i","ChatDurationInMinutes":59,"ParticipantDetails":{}}"#,
            &[],
            &[],
        )
        .unwrap_err();
        let InputError::Invalid(message) = err else {
            panic!("expected a validation error")
        };
        assert!(
            message.starts_with("3 validation errors detected: "),
            "{message}"
        );
        assert!(message.contains(
            "Value null at 'contactFlowId' failed to satisfy constraint: Member must not be null"
        ));
        assert!(message.contains("Value '59' at 'chatDurationInMinutes' failed to satisfy constraint: Member must have value greater than or equal to 60"));
        assert!(message.contains("'participantDetails.displayName'"));
    }

    #[test]
    fn wrong_types_and_enums_are_rejected() {
        let err = bind_to(
            "GetTranscript",
            r#"{"MaxResults":"ten","ScanDirection":"SIDEWAYS"}"#,
            &[],
            &[],
        )
        .unwrap_err();
        let message = err.message();
        assert!(
            message
                .contains("'maxResults' failed to satisfy constraint: Member must be an integer"),
            "{message}"
        );
        assert!(
            message.contains("satisfy enum value set: [FORWARD, BACKWARD]"),
            "{message}"
        );
    }

    #[test]
    fn path_and_query_members_are_bound_with_their_types() {
        let value = bind_to(
            "ListContactFlows",
            "",
            &[("InstanceId", "inst")],
            &[
                ("contactFlowTypes", "CONTACT_FLOW"),
                ("contactFlowTypes", "AGENT_WHISPER"),
                ("maxResults", "5"),
            ],
        )
        .unwrap();
        assert_eq!(value["InstanceId"], "inst");
        assert_eq!(value["MaxResults"], 5);
        assert_eq!(
            value["ContactFlowTypes"],
            serde_json::json!(["CONTACT_FLOW", "AGENT_WHISPER"])
        );
        let err = bind_to(
            "ListContactFlows",
            "",
            &[("InstanceId", "inst")],
            &[("maxResults", "0")],
        )
        .unwrap_err();
        assert!(err.message().contains("greater than or equal to 1"));
    }

    #[test]
    fn a_body_cannot_override_path_members() {
        let value = bind_to(
            "DescribeContact",
            r#"{"InstanceId":"from-body"}"#,
            &[("InstanceId", "from-path"), ("ContactId", "c")],
            &[],
        )
        .unwrap();
        assert_eq!(value["InstanceId"], "from-path");
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert!(matches!(
            bind_to("SendMessage", "{not json", &[], &[]),
            Err(InputError::MalformedBody(_))
        ));
        assert!(matches!(
            bind_to("SendMessage", "[1,2]", &[], &[]),
            Err(InputError::MalformedBody(_))
        ));
    }

    #[test]
    fn unions_need_exactly_one_member() {
        let err = bind_to(
            "UpdateParticipantRoleConfig",
            r#"{"ChannelConfiguration":{"Chat":{"ParticipantTimerConfigList":[{"ParticipantRole":"CUSTOMER","TimerType":"IDLE","TimerValue":{"ParticipantTimerAction":"Unset","ParticipantTimerDurationInMinutes":5}}]}}}"#,
            &[("InstanceId", "i"), ("ContactId", "c")],
            &[],
        )
        .unwrap_err();
        assert!(
            err.message()
                .contains("Exactly one member must be set, found 2"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn header_members_are_left_to_the_auth_layer() {
        let value = bind_to(
            "SendMessage",
            r#"{"ContentType":"text/plain","Content":"hi","ConnectionToken":"smuggled"}"#,
            &[],
            &[],
        )
        .unwrap();
        assert!(value.get("ConnectionToken").is_none());
    }
}
