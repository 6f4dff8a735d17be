use crate::attachments::upload_url;
use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::participant::{chat_ended, client_token_key, invalid};
use crate::state::AppState;
use liaison_core::attachment::{
    ATTACHMENT_TYPES, Attachment, AttachmentStatus, MAX_ATTACHMENTS_PER_CONTACT, UPLOAD_URL_SECONDS,
};
use liaison_core::{format_iso_millis, hash_token, new_token};
use liaison_store::StartedAttachment;
use liaison_wire::{Api, ParticipantError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    content_type: String,
    attachment_size_in_bytes: i64,
    attachment_name: String,
    client_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    attachment_id: String,
    upload_metadata: UploadMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UploadMetadata {
    url: String,
    url_expiry: String,
    headers_to_include: BTreeMap<String, String>,
}

/// `POST /participant/start-attachment-upload` — reserves an attachment and answers the URL
/// its bytes are `PUT` to (with the headers to send), good for five minutes.
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    request: Request,
) -> Result<Response, ApiError> {
    if !ATTACHMENT_TYPES.contains(&request.content_type.as_str()) {
        return Err(invalid(format!(
            "ContentType '{}' cannot be shared; use one of {}.",
            request.content_type,
            ATTACHMENT_TYPES.join(", ")
        )));
    }
    let limit = state.config.max_attachment_bytes;
    if request.attachment_size_in_bytes > limit {
        return Err(invalid(format!(
            "The attachment is {} bytes; at most {limit} bytes may be shared.",
            request.attachment_size_in_bytes
        )));
    }
    if request.attachment_name.trim().is_empty() || request.attachment_name.contains(['/', '\\']) {
        return Err(invalid(
            "AttachmentName must be a file name, without '/' or '\\'.",
        ));
    }
    let key = client_token_key(
        "StartAttachmentUpload",
        &caller.participant.id,
        request.client_token,
        &[
            &request.content_type,
            &request.attachment_name,
            &request.attachment_size_in_bytes.to_string(),
        ],
    );
    let now = state.clock.now_ms();
    let token = new_token();
    let mut attachment = Attachment {
        id: uuid::Uuid::new_v4().to_string(),
        contact_id: caller.contact.id.clone(),
        participant_id: caller.participant.id.clone(),
        name: request.attachment_name,
        content_type: request.content_type,
        size_bytes: request.attachment_size_in_bytes,
        status: AttachmentStatus::AwaitingUpload,
        upload_token_hash: hash_token(&token),
        upload_expires_ms: now + UPLOAD_URL_SECONDS * 1000,
        created_ms: now,
        client_token: key.map(|key| (key.token, key.request_hash)),
    };
    match state
        .store
        .create_attachment(&attachment, MAX_ATTACHMENTS_PER_CONTACT)
        .await
        .or_internal(Api::Participant)?
    {
        StartedAttachment::Started => {}
        // A retry gets the same attachment, with a new upload URL while it still awaits its bytes.
        StartedAttachment::Replayed(earlier) => {
            if earlier.client_token != attachment.client_token {
                return Err(invalid(
                    "The ClientToken was already used for a different attachment.",
                ));
            }
            if !state
                .store
                .renew_attachment_upload(
                    &earlier.id,
                    &attachment.upload_token_hash,
                    attachment.upload_expires_ms,
                )
                .await
                .or_internal(Api::Participant)?
            {
                return Err(ParticipantError::Conflict(format!(
                    "Attachment {} was uploaded already.",
                    earlier.id
                ))
                .into());
            }
            attachment.id = earlier.id;
        }
        StartedAttachment::ContactClosed => return Err(chat_ended()),
        StartedAttachment::QuotaReached => {
            return Err(ParticipantError::ServiceQuotaExceeded(format!(
                "This chat has {MAX_ATTACHMENTS_PER_CONTACT} attachments already."
            ))
            .into());
        }
    }
    let response = Response {
        upload_metadata: UploadMetadata {
            url: upload_url(state, caller.host.as_deref(), &attachment.id, &token),
            url_expiry: format_iso_millis(attachment.upload_expires_ms),
            headers_to_include: BTreeMap::from([(
                "Content-Type".to_string(),
                attachment.content_type.clone(),
            )]),
        },
        attachment_id: attachment.id,
    };
    Ok(response)
}
