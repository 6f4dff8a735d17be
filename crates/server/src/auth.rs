//! Who is calling: SigV4 for the Connect API, `X-Amz-Bearer` tokens for the participant API.
//! Handlers receive the result and never read credentials themselves.

use crate::error::{ApiError, OrInternal};
use crate::sigv4::{self, SignedRequest};
use crate::state::AppState;
use axum::http::request::Parts;
use liaison_core::{Contact, Participant, ParticipantRole, TokenKind, hash_token};
use liaison_wire::{Api, AuthScheme, ConnectError, ParticipantError};

/// The authenticated caller of an operation.
pub struct Caller {
    participant: Option<ParticipantCaller>,
}

impl Caller {
    /// A SigV4-signed admin call.
    pub fn admin() -> Self {
        Caller { participant: None }
    }

    /// Checks what the caller's role and state allow: a custom participant never reaches
    /// attachments (what customers upload is not for bots), and sends nothing before it has
    /// connected.
    pub fn authorize(&self, operation: &str) -> Result<(), ApiError> {
        let Some(caller) = &self.participant else {
            return Ok(());
        };
        let participant = &caller.participant;
        // Whispers play before the agent joins: until then they cannot post to the chat.
        let posts = SENDING_OPERATIONS.contains(&operation)
            || operation == "StartAttachmentUpload"
            || operation == "CompleteAttachmentUpload";
        if participant.role == ParticipantRole::Agent && posts && participant.connected_ms.is_none()
        {
            return Err(access_denied(
                "The agent joins the chat when its whisper flows end; send after participant.joined.",
            ));
        }
        if participant.role != ParticipantRole::CustomBot {
            return Ok(());
        }
        if ATTACHMENT_OPERATIONS.contains(&operation) {
            return Err(access_denied(
                "A CUSTOM_BOT participant cannot use attachments.",
            ));
        }
        if SENDING_OPERATIONS.contains(&operation) && participant.connected_ms.is_none() {
            return Err(access_denied(
                "The custom participant is not connected yet: call CreateParticipantConnection with ConnectParticipant set to true first.",
            ));
        }
        Ok(())
    }

    /// The participant behind a participant API call.
    pub fn participant(self) -> Result<ParticipantCaller, ApiError> {
        self.participant.ok_or_else(|| {
            ParticipantError::AccessDenied(
                "This operation needs a participant's X-Amz-Bearer token.".into(),
            )
            .into()
        })
    }
}

/// A participant proven by its token, with its contact as of the call.
pub struct ParticipantCaller {
    pub participant: Participant,
    pub contact: Contact,
    /// The `Host` the request was sent to, for URLs handed back to the caller.
    pub host: Option<String>,
}

/// The participant operations that touch attachments.
const ATTACHMENT_OPERATIONS: [&str; 3] = [
    "StartAttachmentUpload",
    "CompleteAttachmentUpload",
    "GetAttachment",
];
/// The participant operations that post to the chat.
const SENDING_OPERATIONS: [&str; 2] = ["SendMessage", "SendEvent"];

fn access_denied(message: &str) -> ApiError {
    ParticipantError::AccessDenied(message.to_string()).into()
}

/// Checks the AWS Signature V4 of a Connect API request against the admin keys.
pub fn verify_admin_signature(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
) -> Result<(), ApiError> {
    let request = SignedRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query(),
        headers: &parts.headers,
        body,
    };
    let keys = &state.config.admin_keys;
    let lookup = |access_key: &str| {
        keys.iter()
            .find(|(id, _)| id == access_key)
            .map(|(_, secret)| secret.clone())
    };
    let now_secs = state.clock.now_ms().div_euclid(1000);
    sigv4::verify(
        &request,
        "connect",
        lookup,
        now_secs,
        state.config.max_clock_skew_secs,
    )
    .map(|_| ())
    .map_err(|e| {
        ConnectError::Authentication {
            code: e.code(),
            status: e.status(),
            message: e.message(),
        }
        .into()
    })
}

/// Resolves `X-Amz-Bearer` to a participant that is still in an open chat.
///
/// Every failure is `AccessDeniedException` (403): ChatJS reads a 403 on reconnect as "the chat
/// ended while I was away", which is exactly what most of these cases mean.
pub async fn authenticate_participant(
    state: &AppState,
    scheme: AuthScheme,
    parts: &Parts,
) -> Result<Caller, ApiError> {
    let member = if scheme == AuthScheme::ParticipantToken {
        "participantToken"
    } else {
        "connectionToken"
    };
    let Some(token) = parts
        .headers
        .get("x-amz-bearer")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ParticipantError::Validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
        .into());
    };
    if token.is_empty() || token.len() > 1000 {
        return Err(ParticipantError::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length between 1 and 1000"
        ))
        .into());
    }
    let expected = if scheme == AuthScheme::ParticipantToken {
        TokenKind::Participant
    } else {
        TokenKind::Connection
    };
    let hash = hash_token(token);
    let holder = match state.holders.get(&hash) {
        Ok(holder) => Some(holder),
        Err(epoch) => {
            let holder = state
                .store
                .token_holder(&hash)
                .await
                .or_internal(Api::Participant)?;
            if let Some(holder) = &holder {
                state.holders.remember(holder, epoch);
            }
            holder
        }
    };
    let Some(liaison_store::TokenHolder {
        token: record,
        participant,
        contact,
    }) = holder.filter(|h| h.token.kind == expected)
    else {
        return Err(access_denied(match expected {
            TokenKind::Participant => "The participant token is not valid.",
            _ => "The connection token is not valid.",
        }));
    };
    if record
        .expires_ms
        .is_some_and(|expiry| expiry <= state.clock.now_ms())
    {
        return Err(access_denied("The token has expired."));
    }
    if !contact.is_open() {
        return Err(access_denied("The chat has ended."));
    }
    if participant.has_left() {
        return Err(access_denied("The participant has left the chat."));
    }
    let host = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(Caller {
        participant: Some(ParticipantCaller {
            participant,
            contact,
            host,
        }),
    })
}
