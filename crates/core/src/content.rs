//! Content types and size limits of chat traffic.

/// The largest `Content` Liaison accepts, in bytes (the model's `ChatContent` maximum; the
/// Connect model documents 16,384 bytes for every message type).
pub const MAX_CONTENT_BYTES: usize = 16_384;

pub const TEXT_PLAIN: &str = "text/plain";
pub const INTERACTIVE: &str = "application/vnd.amazonaws.connect.message.interactive";
pub const INTERACTIVE_RESPONSE: &str =
    "application/vnd.amazonaws.connect.message.interactive.response";

/// What participants may send with SendMessage (further limited per contact).
pub const MESSAGE_TYPES: [&str; 4] = [
    TEXT_PLAIN,
    "text/markdown",
    "application/json",
    INTERACTIVE_RESPONSE,
];

/// What StartChatContact may list in `SupportedMessagingContentTypes`.
pub const SUPPORTED_TYPES: [&str; 5] = [
    TEXT_PLAIN,
    "text/markdown",
    "application/json",
    INTERACTIVE,
    INTERACTIVE_RESPONSE,
];

pub const EVENT_TYPING: &str = "application/vnd.amazonaws.connect.event.typing";
pub const EVENT_DELIVERED: &str = "application/vnd.amazonaws.connect.event.message.delivered";
pub const EVENT_READ: &str = "application/vnd.amazonaws.connect.event.message.read";
pub const EVENT_CONNECTION_ACKNOWLEDGED: &str =
    "application/vnd.amazonaws.connect.event.connection.acknowledged";
pub const EVENT_PARTICIPANT_JOINED: &str =
    "application/vnd.amazonaws.connect.event.participant.joined";
pub const EVENT_PARTICIPANT_LEFT: &str = "application/vnd.amazonaws.connect.event.participant.left";
pub const EVENT_PARTICIPANT_IDLE: &str = "application/vnd.amazonaws.connect.event.participant.idle";
pub const EVENT_PARTICIPANT_RETURNED: &str =
    "application/vnd.amazonaws.connect.event.participant.returned";
pub const EVENT_AUTO_DISCONNECTION: &str =
    "application/vnd.amazonaws.connect.event.participant.autodisconnection";
pub const EVENT_CHAT_ENDED: &str = "application/vnd.amazonaws.connect.event.chat.ended";
pub const MESSAGE_METADATA: &str = "application/vnd.amazonaws.connect.event.message.metadata";

/// What participants may send with SendEvent.
pub const EVENT_TYPES: [&str; 4] = [
    EVENT_TYPING,
    EVENT_DELIVERED,
    EVENT_READ,
    EVENT_CONNECTION_ACKNOWLEDGED,
];

/// Receipts are never de-duplicated by ClientToken: ChatJS sends every receipt with the same
/// constant token (`INCOMING_READ_RECEIPT`), so de-duplicating would drop all but the first.
pub fn is_receipt(content_type: &str) -> bool {
    content_type == EVENT_DELIVERED || content_type == EVENT_READ
}
