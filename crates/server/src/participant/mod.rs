//! Participant Service operations (`X-Amz-Bearer`), one module each: request, response and
//! handler side by side.

pub mod complete_attachment_upload;
pub mod create_participant_connection;
pub mod disconnect_participant;
pub mod get_attachment;
pub mod get_transcript;
pub mod send_event;
pub mod send_message;
pub mod start_attachment_upload;

use crate::error::ApiError;
use liaison_core::content::MAX_CONTENT_BYTES;
use liaison_core::sha256_hex;
use liaison_store::ClientTokenKey;
use liaison_wire::ParticipantError;

pub fn invalid(message: impl Into<String>) -> ApiError {
    ParticipantError::Validation(message.into()).into()
}

pub fn chat_ended() -> ApiError {
    ParticipantError::AccessDenied("The chat has ended.".into()).into()
}

/// Checks the byte limit the model states for chat content.
pub fn check_content_size(content: &str) -> Result<(), ApiError> {
    if content.len() > MAX_CONTENT_BYTES {
        return Err(invalid(format!(
            "Content is {} bytes; at most {MAX_CONTENT_BYTES} bytes are allowed.",
            content.len()
        )));
    }
    Ok(())
}

/// The idempotency key of a participant's request: scoped to the operation and the participant.
pub fn client_token_key(
    operation: &str,
    participant_id: &str,
    token: Option<String>,
    parts: &[&str],
) -> Option<ClientTokenKey> {
    let token = token.filter(|t| !t.is_empty())?;
    Some(ClientTokenKey {
        scope: format!("{operation}:{participant_id}"),
        token,
        request_hash: sha256_hex(parts.join("\u{0}").as_bytes()),
    })
}
