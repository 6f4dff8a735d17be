//! Liaison's chat domain, free of HTTP and storage: contacts, participants, the items of a
//! chat's event log, tokens, and the rules Amazon Connect applies to them. Time comes from an
//! injected [`Clock`] so behaviour that depends on it is testable.

pub mod attachment;
pub mod chat;
pub mod clock;
pub mod content;
pub mod flow;
pub mod idle;
pub mod organisation;
pub mod password;
pub mod routing;
pub mod token;
pub mod transcript;
pub mod widget;
pub mod widget_token;

pub use chat::{
    ChatItem, Contact, ContactData, ContactState, Flow, FlowModule, Instance, ItemType, NewItem,
    Participant, ParticipantRole, View, new_record_id,
};
pub use clock::{Clock, SystemClock, format_iso_millis, parse_iso_millis};
pub use token::{TokenKind, TokenRecord, hash_token, new_token, sha256_hex};
