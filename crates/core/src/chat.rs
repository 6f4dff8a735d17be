//! The records a chat is made of.

use crate::clock::format_iso_millis;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An Amazon Connect instance as Liaison hosts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub alias: String,
    pub created_ms: i64,
}

/// A contact flow: stored as exported JSON text, run by a later part of Liaison.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    /// `CONTACT_FLOW`, `CUSTOMER_QUEUE`, … as in the model.
    pub flow_type: String,
    /// `ACTIVE` or `ARCHIVED`.
    pub state: String,
    /// `PUBLISHED` or `SAVED`.
    pub status: String,
    pub description: String,
    pub content: String,
    pub modified_ms: i64,
}

/// A flow module: part of a flow that flows run with `InvokeFlowModule`, on the same contact,
/// coming back when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowModule {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub description: String,
    pub content: String,
    /// The module's `Settings` (its parameters and transitions), as given; empty when none.
    pub settings: String,
    /// `ACTIVE` or `ARCHIVED`.
    pub state: String,
    /// `PUBLISHED` or `SAVED`.
    pub status: String,
    pub modified_ms: i64,
}

/// A customer-managed view (`CreateView`): a UI the agent workspace shows when a flow's
/// Show-view block names it. AWS-managed views are not records; the server knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub id: String,
    pub instance_id: String,
    /// Unique within the instance.
    pub name: String,
    pub description: Option<String>,
    /// `PUBLISHED` or `SAVED`.
    pub status: String,
    /// The view's `Template`: a JSON document, as text.
    pub template: String,
    /// The actions the view may answer with (the Show-view block's branches).
    pub actions: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// Whether a contact still accepts traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactState {
    Open,
    Ended,
}

/// Contact data a flow (`UpdateContactData`) or `UpdateContact` sets, for `$.Name`,
/// `$.Description`, `$.LanguageCode` and `$.References`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// Reference name → `{"Type": …, "Value": …}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub references: BTreeMap<String, Value>,
}

impl ContactData {
    /// Sets what `update` sets; references are replaced one by one.
    pub fn apply(&mut self, update: ContactData) {
        if update.name.is_some() {
            self.name = update.name;
        }
        if update.description.is_some() {
            self.description = update.description;
        }
        if update.language_code.is_some() {
            self.language_code = update.language_code;
        }
        self.references.extend(update.references);
    }
}

/// A chat contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub instance_id: String,
    /// The first contact of the chain this one belongs to (itself for a new chat).
    pub initial_contact_id: String,
    pub related_contact_id: Option<String>,
    pub flow_id: String,
    pub state: ContactState,
    pub attributes: BTreeMap<String, String>,
    /// `SegmentAttributes` as the client sent them (a JSON object), if any.
    pub segment_attributes: Option<Value>,
    pub customer_id: Option<String>,
    pub data: ContactData,
    /// Content types participants may send, as StartChatContact allowed them.
    pub supported_content_types: Vec<String>,
    pub initiated_ms: i64,
    pub ended_ms: Option<i64>,
    /// When the chat ends by itself (`ChatDurationInMinutes` after it started).
    pub expires_ms: i64,
    /// The highest sequence number written to this contact's event log.
    pub last_seq: i64,
    /// Chat timers as `UpdateParticipantRoleConfig` last set them.
    pub timer_config: crate::idle::TimerConfig,
    /// Whether a stored timer wants to hear of messages (a running idle session, a flow waiting
    /// for the customer), so a message must tell it.
    pub watches_messages: bool,
}

impl Contact {
    pub fn is_open(&self) -> bool {
        self.state == ContactState::Open
    }
}

/// A participant's role, as the wire spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParticipantRole {
    Agent,
    Customer,
    System,
    CustomBot,
    Supervisor,
}

impl ParticipantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Agent => "AGENT",
            ParticipantRole::Customer => "CUSTOMER",
            ParticipantRole::System => "SYSTEM",
            ParticipantRole::CustomBot => "CUSTOM_BOT",
            ParticipantRole::Supervisor => "SUPERVISOR",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "AGENT" => Some(ParticipantRole::Agent),
            "CUSTOMER" => Some(ParticipantRole::Customer),
            "SYSTEM" => Some(ParticipantRole::System),
            "CUSTOM_BOT" => Some(ParticipantRole::CustomBot),
            "SUPERVISOR" => Some(ParticipantRole::Supervisor),
            _ => None,
        }
    }
}

/// Someone (or something) in a chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub id: String,
    pub contact_id: String,
    pub role: ParticipantRole,
    pub display_name: String,
    /// When it was added (a custom participant is added before it connects).
    pub joined_ms: i64,
    pub left_ms: Option<i64>,
    /// When a custom participant connected (`CreateParticipantConnection` with
    /// `ConnectParticipant`); customers are connected from the start.
    pub connected_ms: Option<i64>,
}

impl Participant {
    pub fn has_left(&self) -> bool {
        self.left_ms.is_some()
    }
}

/// The `Type` of a chat item on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    Message,
    Event,
    Attachment,
    /// Receipts; not in the model's enum, but what clients receive and ChatJS requires.
    MessageMetadata,
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Message => "MESSAGE",
            ItemType::Event => "EVENT",
            ItemType::Attachment => "ATTACHMENT",
            ItemType::MessageMetadata => "MESSAGEMETADATA",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "MESSAGE" => Some(ItemType::Message),
            "EVENT" => Some(ItemType::Event),
            "ATTACHMENT" => Some(ItemType::Attachment),
            "MESSAGEMETADATA" => Some(ItemType::MessageMetadata),
            _ => None,
        }
    }
}

/// An item about to be appended to a contact's event log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub id: String,
    pub item_type: ItemType,
    pub content_type: Option<String>,
    pub content: Option<String>,
    pub participant_id: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<ParticipantRole>,
    pub absolute_ms: i64,
    /// Further wire members (`MessageMetadata`, `Attachments`) as a JSON object.
    pub extra: Option<Map<String, Value>>,
    /// Typing is pushed but is not part of the transcript.
    pub in_transcript: bool,
    /// Only participants of this role see the item (whisper flow messages); `None`: everyone.
    pub visible_to: Option<ParticipantRole>,
}

/// A fresh id for a contact, participant or item: a time-ordered UUID (version 7), so that
/// the store's indexes on these ids grow at one end instead of taking every write at a random
/// page.
pub fn new_record_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl NewItem {
    /// An item with a fresh id, sent by `sender` (or by the system when `None`).
    pub fn new(
        item_type: ItemType,
        content_type: &str,
        sender: Option<&Participant>,
        now_ms: i64,
    ) -> Self {
        NewItem {
            id: new_record_id(),
            item_type,
            content_type: Some(content_type.to_string()),
            content: None,
            participant_id: sender.map(|p| p.id.clone()),
            display_name: sender.map(|p| p.display_name.clone()),
            role: sender.map(|p| p.role),
            absolute_ms: now_ms,
            extra: None,
            in_transcript: true,
            visible_to: None,
        }
    }

    pub fn with_content(mut self, content: impl Into<String>) -> Self {
        self.content = Some(content.into());
        self
    }

    /// Whether a participant of `role` sees the item.
    pub fn is_visible_to(&self, role: ParticipantRole) -> bool {
        self.visible_to.is_none_or(|only| only == role)
    }
}

/// An item of a contact's event log, with its place in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatItem {
    pub contact_id: String,
    /// Position in the contact's log: 1, 2, 3… without gaps, in commit order.
    pub seq: i64,
    pub item: NewItem,
}

impl ChatItem {
    /// The item as the participant API's `Item` shape (GetTranscript) and, with
    /// `initial_contact_id`, as the WebSocket copy ChatJS routes on.
    pub fn to_wire(&self, initial_contact_id: Option<&str>) -> Value {
        let item = &self.item;
        let mut out = Map::new();
        out.insert(
            "AbsoluteTime".into(),
            Value::String(format_iso_millis(item.absolute_ms)),
        );
        if let Some(content) = &item.content {
            out.insert("Content".into(), Value::String(content.clone()));
        }
        if let Some(content_type) = &item.content_type {
            out.insert("ContentType".into(), Value::String(content_type.clone()));
        }
        out.insert("Id".into(), Value::String(item.id.clone()));
        out.insert("Type".into(), Value::String(item.item_type.as_str().into()));
        if let Some(id) = &item.participant_id {
            out.insert("ParticipantId".into(), Value::String(id.clone()));
        }
        if let Some(name) = &item.display_name {
            out.insert("DisplayName".into(), Value::String(name.clone()));
        }
        if let Some(role) = item.role {
            out.insert(
                "ParticipantRole".into(),
                Value::String(role.as_str().into()),
            );
        }
        if let Some(extra) = &item.extra {
            for (key, value) in extra {
                out.insert(key.clone(), value.clone());
            }
        }
        if let Some(initial) = initial_contact_id {
            out.insert(
                "InitialContactId".into(),
                Value::String(initial.to_string()),
            );
        }
        out.insert("ContactId".into(), Value::String(self.contact_id.clone()));
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_item_carries_what_chatjs_routes_on() {
        let sender = Participant {
            id: "p1".into(),
            contact_id: "c1".into(),
            role: ParticipantRole::Customer,
            display_name: "Ana".into(),
            joined_ms: 0,
            left_ms: None,
            connected_ms: Some(0),
        };
        let item = ChatItem {
            contact_id: "c1".into(),
            seq: 3,
            item: NewItem::new(
                ItemType::Message,
                "text/plain",
                Some(&sender),
                1_573_180_888_172,
            )
            .with_content("hi"),
        };
        let wire = item.to_wire(Some("c0"));
        assert_eq!(wire["Type"], "MESSAGE");
        assert_eq!(wire["ParticipantRole"], "CUSTOMER");
        assert_eq!(wire["DisplayName"], "Ana");
        assert_eq!(wire["AbsoluteTime"], "2019-11-08T02:41:28.172Z");
        assert_eq!(wire["InitialContactId"], "c0");
        assert_eq!(wire["ContactId"], "c1");
        assert!(item.to_wire(None).get("InitialContactId").is_none());
    }
}
