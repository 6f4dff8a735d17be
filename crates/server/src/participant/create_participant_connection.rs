use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::participant::{chat_ended, invalid};
use crate::state::AppState;
use crate::ws::{URL_LIFETIME_MS, socket_url};
use liaison_core::{
    ParticipantRole, TokenKind, TokenRecord, format_iso_millis, hash_token, new_token,
};
use liaison_store::Appended;
use liaison_wire::{Api, ParticipantError};
use serde::{Deserialize, Serialize};

/// A ConnectionToken lives one day, as the service documents.
const CONNECTION_TOKEN_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    #[serde(rename = "Type")]
    connection_types: Option<Vec<String>>,
    connect_participant: Option<bool>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    #[serde(skip_serializing_if = "Option::is_none")]
    websocket: Option<Websocket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_credentials: Option<ConnectionCredentials>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Websocket {
    url: String,
    connection_expiry: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConnectionCredentials {
    connection_token: String,
    expiry: String,
}

/// `POST /participant/connection` — trades the ParticipantToken for a WebSocket URL and a
/// ConnectionToken. Callable any number of times; earlier ConnectionTokens stay valid. A custom
/// participant must come within 15 seconds of CreateParticipant; with `ConnectParticipant` it
/// joins the chat (`participant.joined`) and the chat timers start.
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    request: Request,
) -> Result<Response, ApiError> {
    let types = request.connection_types.unwrap_or_default();
    if types.is_empty() && request.connect_participant.is_none() {
        return Err(invalid(
            "Type must list WEBSOCKET and/or CONNECTION_CREDENTIALS, or ConnectParticipant must be set.",
        ));
    }
    if types.iter().any(|t| t == "WEBRTC_CONNECTION") {
        return Err(invalid(
            "WEBRTC_CONNECTION is not available for chat contacts.",
        ));
    }
    let now = state.clock.now_ms();
    let participant = &caller.participant;
    let joining =
        participant.role == ParticipantRole::CustomBot && participant.connected_ms.is_none();
    if joining && now > participant.joined_ms + state.config.custom_participant_connect_ms() {
        return Err(ParticipantError::ResourceNotFound {
            message: format!(
                "Custom participant {} did not connect within 15 seconds of CreateParticipant; add it again.",
                participant.id
            ),
            resource_id: participant.id.clone(),
            resource_type: "PARTICIPANT",
        }
        .into());
    }
    let record = |kind, expires_ms| {
        let token = new_token();
        let stored = TokenRecord {
            hash: hash_token(&token),
            kind,
            participant_id: caller.participant.id.clone(),
            contact_id: caller.contact.id.clone(),
            expires_ms: Some(expires_ms),
        };
        (token, stored)
    };
    let mut stored = Vec::new();
    let mut response = Response::default();
    if types.iter().any(|t| t == "WEBSOCKET") {
        let expires = now + URL_LIFETIME_MS;
        let (token, record) = record(TokenKind::WebSocket, expires);
        stored.push(record);
        response.websocket = Some(Websocket {
            url: socket_url(
                state.config.public_url.as_deref(),
                caller.host.as_deref(),
                &token,
            ),
            connection_expiry: format_iso_millis(expires),
        });
    }
    if types.iter().any(|t| t == "CONNECTION_CREDENTIALS") {
        let expires = now + CONNECTION_TOKEN_LIFETIME_MS;
        let (token, record) = record(TokenKind::Connection, expires);
        stored.push(record);
        response.connection_credentials = Some(ConnectionCredentials {
            connection_token: token,
            expiry: format_iso_millis(expires),
        });
    }
    if !stored.is_empty() {
        state
            .store
            .insert_tokens(&stored)
            .await
            .or_internal(Api::Participant)?;
    }
    if joining && request.connect_participant == Some(true) {
        let outcome = state
            .connect_participant(&caller.contact.id, participant)
            .await
            .or_internal(Api::Participant)?;
        if matches!(outcome, Appended::ContactClosed) {
            return Err(chat_ended());
        }
    }
    Ok(response)
}
