use super::{find_instance, require_contact};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::idle::CustomParticipantRefusal;
use liaison_core::{
    Participant, ParticipantRole, TokenKind, TokenRecord, format_iso_millis, hash_token, new_token,
    sha256_hex,
};
use liaison_store::{AddedParticipant, ClientTokenKey, NewParticipant};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_id: String,
    #[serde(skip_serializing)]
    client_token: Option<String>,
    participant_details: ParticipantDetails,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParticipantDetails {
    participant_role: Option<String>,
    display_name: Option<String>,
    participant_capabilities: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    participant_credentials: Credentials,
    participant_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Credentials {
    participant_token: String,
    expiry: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ConnectError::InvalidRequest(message.into()).into()
}

/// `POST /contact/create-participant` — adds a custom participant (`CUSTOM_BOT`) to a chat.
/// It joins when it calls CreateParticipantConnection with `ConnectParticipant`, which it must
/// do within 15 seconds.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let contact = require_contact(state, &instance, &request.contact_id).await?;
    let details = &request.participant_details;
    if details.participant_role.as_deref() != Some(ParticipantRole::CustomBot.as_str()) {
        return Err(invalid(
            "ParticipantDetails.ParticipantRole must be CUSTOM_BOT: custom participants are the only participants CreateParticipant adds to a chat.",
        ));
    }
    if details.participant_capabilities.is_some() {
        return Err(invalid(
            "ParticipantDetails.ParticipantCapabilities applies to video calls, not to chat contacts.",
        ));
    }
    let Some(display_name) = details.display_name.clone() else {
        return Err(invalid("ParticipantDetails.DisplayName is required."));
    };
    if !contact.is_open() {
        return Err(invalid(format!("Contact {} has ended.", contact.id)));
    }
    let request_hash = sha256_hex(
        serde_json::to_string(&request)
            .unwrap_or_default()
            .as_bytes(),
    );
    let now = state.clock.now_ms();
    let participant = Participant {
        id: liaison_core::new_record_id(),
        contact_id: contact.id.clone(),
        role: ParticipantRole::CustomBot,
        display_name,
        joined_ms: now,
        left_ms: None,
        connected_ms: None,
    };
    let token = new_token();
    let record = TokenRecord {
        hash: hash_token(&token),
        kind: TokenKind::Participant,
        participant_id: participant.id.clone(),
        contact_id: contact.id.clone(),
        expires_ms: Some(contact.expires_ms),
    };
    let participant_id = participant.id.clone();
    let added = state
        .store
        .add_participant(NewParticipant {
            participant,
            token: record,
            client_token: request.client_token.map(|token| ClientTokenKey {
                scope: format!("CreateParticipant:{}", contact.id),
                token,
                request_hash: request_hash.clone(),
            }),
            connect_cutoff_ms: now - state.config.custom_participant_connect_ms(),
        })
        .await
        .or_internal(Api::Connect)?;
    let participant_id = match added {
        AddedParticipant::Added => participant_id,
        AddedParticipant::Replayed(replay) if replay.request_hash == request_hash => {
            // Tokens are stored hashed: a retry gets a fresh token for the same participant.
            let token = new_token();
            state
                .store
                .insert_tokens(&[TokenRecord {
                    hash: hash_token(&token),
                    kind: TokenKind::Participant,
                    participant_id: replay.result.clone(),
                    contact_id: contact.id.clone(),
                    expires_ms: Some(contact.expires_ms),
                }])
                .await
                .or_internal(Api::Connect)?;
            return Ok(response(token, replay.result, contact.expires_ms));
        }
        AddedParticipant::Replayed(_) => {
            return Err(invalid(
                "The ClientToken was already used for a CreateParticipant request with different parameters.",
            ));
        }
        AddedParticipant::ContactClosed => {
            return Err(invalid(format!("Contact {} has ended.", contact.id)));
        }
        AddedParticipant::Refused(CustomParticipantRefusal::AlreadyHasOne(existing)) => {
            return Err(ConnectError::ServiceQuotaExceeded(format!(
                "Contact {} already has a custom participant ({}); a contact can have only one.",
                contact.id, existing.id
            ))
            .into());
        }
        AddedParticipant::Refused(CustomParticipantRefusal::AgentPresent(agent)) => {
            return Err(ConnectError::Conflict(format!(
                "Contact {} has an agent ({}); a custom participant cannot join a chat an agent is in.",
                contact.id, agent.display_name
            ))
            .into());
        }
    };
    Ok(response(token, participant_id, contact.expires_ms))
}

fn response(token: String, participant_id: String, expires_ms: i64) -> Response {
    Response {
        participant_credentials: Credentials {
            participant_token: token,
            expiry: format_iso_millis(expires_ms),
        },
        participant_id,
    }
}
