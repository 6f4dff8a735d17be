use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::participant::chat_ended;
use crate::state::AppState;
use liaison_core::ParticipantRole;
use liaison_store::Appended;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Request {}

#[derive(Serialize)]
pub struct Response {}

/// `POST /participant/disconnect` — the caller leaves. A customer leaving ends the chat
/// (`participant.left`, then `chat.ended`); anyone else just leaves it (a custom participant
/// leaving stops the chat timers its joining started). Afterwards the caller's
/// tokens are refused with 403.
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    _request: Request,
) -> Result<Response, ApiError> {
    let participant = &caller.participant;
    let outcome = if participant.role == ParticipantRole::Customer {
        state.end_chat(&caller.contact.id, Some(participant)).await
    } else {
        state.leave(&caller.contact, participant).await
    };
    match outcome.or_internal(Api::Participant)? {
        Appended::ContactClosed => Err(chat_ended()),
        _ => Ok(Response {}),
    }
}
