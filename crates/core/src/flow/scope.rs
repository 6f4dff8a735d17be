//! What `$.` references resolve to while a flow runs: the contact, the flow run's own values
//! and a few facts about the instance.

use super::reference::references_in;
use super::state::FlowState;
use crate::chat::Contact;
use serde_json::Value;

/// Facts about the contact's surroundings that are not on the contact record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Surroundings {
    pub instance_arn: String,
    pub region: String,
    /// The instance's queues, `(id, name)`, to resolve the run's working queue.
    pub queues: Vec<(String, String)>,
    /// The instance ARN queues' ARNs start with.
    pub queue_arn_prefix: String,
    /// The customer's first message (StartChatContact `InitialMessage`).
    pub initial_message: Option<String>,
    /// Whether a custom bot participant is in the chat.
    pub custom_bot_present: bool,
}

impl Surroundings {
    /// The run's working queue, `(id, name)`, if it names one of the instance's queues (by id
    /// or ARN).
    pub fn working_queue(&self, run: &FlowState) -> Option<&(String, String)> {
        let reference = run.queue.as_deref()?;
        let id = reference.rsplit('/').next().unwrap_or(reference);
        self.queues.iter().find(|(queue_id, _)| queue_id == id)
    }
}

/// Everything a reference can reach.
pub struct Scope<'a> {
    pub contact: &'a Contact,
    pub run: &'a FlowState,
    pub surroundings: &'a Surroundings,
}

fn text(value: &str) -> Option<Value> {
    Some(Value::String(value.to_string()))
}

/// Walks `path` into a JSON value (object keys, array indexes).
fn walk(mut value: &Value, path: &[String]) -> Option<Value> {
    for key in path {
        value = match value {
            Value::Object(members) => members.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value.clone())
}

impl Scope<'_> {
    /// The value a reference path names, `None` when it names nothing.
    pub fn resolve(&self, path: &[String]) -> Option<Value> {
        let (namespace, rest) = path.split_first()?;
        let contact = self.contact;
        let leaf = |value: Option<Value>| if rest.is_empty() { value } else { None };
        match namespace.as_str() {
            "Attributes" => match rest {
                [key] => contact.attributes.get(key).map(|v| text(v))?,
                [] => Some(serde_json::to_value(&contact.attributes).ok()?),
                _ => None,
            },
            "FlowAttributes" => match rest {
                [key] => self.run.flow_attributes.get(key).map(|v| text(v))?,
                _ => None,
            },
            "External" => walk(&self.run.external, rest),
            "Views" => walk(&self.run.views, rest),
            "Metrics" => walk(&self.run.metrics, rest),
            "SegmentAttributes" => walk(contact.segment_attributes.as_ref()?, rest),
            "ContactId" => leaf(text(&contact.id)),
            "InitialContactId" => leaf(text(&contact.initial_contact_id)),
            "RelatedContactId" => leaf(contact.related_contact_id.as_deref().and_then(text)),
            "Channel" => leaf(text("CHAT")),
            "InitiationMethod" => leaf(text(&self.run.initiation_method)),
            "InstanceARN" => leaf(text(&self.surroundings.instance_arn)),
            "AwsRegion" => leaf(text(&self.surroundings.region)),
            "CustomerId" => leaf(contact.customer_id.as_deref().and_then(text)),
            "Name" => leaf(contact.data.name.as_deref().and_then(text)),
            "Description" => leaf(contact.data.description.as_deref().and_then(text)),
            "LanguageCode" => leaf(contact.data.language_code.as_deref().and_then(text)),
            "References" => match rest {
                [] => Some(serde_json::to_value(&contact.data.references).ok()?),
                [name, more @ ..] => walk(contact.data.references.get(name)?, more),
            },
            "StoredCustomerInput" => leaf(self.run.stored_input.as_deref().and_then(text)),
            "LoopCounter" => leaf(text(&self.run.last_loop_count.to_string())),
            "Queue" => {
                let (id, name) = self.surroundings.working_queue(self.run)?;
                match rest {
                    [key] if key == "Name" => text(name),
                    [key] if key == "ARN" => text(&format!(
                        "{}/queue/{id}",
                        self.surroundings.queue_arn_prefix
                    )),
                    _ => None,
                }
            }
            // The agent is known to whisper flows only.
            "Agent" => {
                let agent = &self.run.whisper.as_ref()?.agent;
                match rest {
                    [key] if key == "UserName" => text(&agent.user_name),
                    [key] if key == "FirstName" => agent.first_name.as_deref().and_then(text),
                    [key] if key == "LastName" => agent.last_name.as_deref().and_then(text),
                    [key] if key == "ARN" => text(&agent.arn),
                    _ => None,
                }
            }
            "Media" => match rest {
                [key] if key == "InitialMessage" => {
                    self.surroundings.initial_message.as_deref().and_then(text)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// `text` with every reference replaced by its value (absent values become empty text;
    /// objects and lists become their JSON).
    pub fn interpolate(&self, text: &str) -> String {
        let Ok(references) = references_in(text) else {
            return text.to_string();
        };
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for reference in references {
            out.push_str(&text[copied..reference.start]);
            match self.resolve(&reference.path) {
                Some(Value::String(value)) => out.push_str(&value),
                Some(Value::Null) | None => {}
                Some(other) => out.push_str(&other.to_string()),
            }
            copied = reference.end;
        }
        out.push_str(&text[copied..]);
        out
    }

    /// A parameter given as one whole reference keeps its JSON value (an object passed to a
    /// Lambda stays an object); anything else is interpolated text.
    pub fn value_of(&self, text: &str) -> Value {
        if let Ok(references) = references_in(text)
            && let [reference] = references.as_slice()
            && reference.start == 0
            && reference.end == text.len()
        {
            return self.resolve(&reference.path).unwrap_or(Value::Null);
        }
        Value::String(self.interpolate(text))
    }
}
