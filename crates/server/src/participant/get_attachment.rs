use crate::attachments::download_url;
use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::participant::invalid;
use crate::state::AppState;
use liaison_core::attachment::AttachmentStatus;
use liaison_core::{format_iso_millis, hash_token, new_token};
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

/// How long a download URL lasts unless the request says.
const DEFAULT_URL_SECONDS: i64 = 300;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    attachment_id: String,
    url_expiry_in_seconds: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    url: String,
    url_expiry: String,
    attachment_size_in_bytes: i64,
}

/// `POST /participant/attachment` — a short-lived URL to download a file shared in the
/// caller's chat.
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    request: Request,
) -> Result<Response, ApiError> {
    let attachment = state
        .store
        .get_attachment(&request.attachment_id)
        .await
        .or_internal(Api::Participant)?
        .filter(|a| a.contact_id == caller.contact.id && a.status == AttachmentStatus::Approved)
        .ok_or_else(|| {
            invalid(format!(
                "Attachment {} is not shared in this chat.",
                request.attachment_id
            ))
        })?;
    let now = state.clock.now_ms();
    let expires_ms = now + request.url_expiry_in_seconds.unwrap_or(DEFAULT_URL_SECONDS) * 1000;
    let token = new_token();
    state
        .store
        .add_attachment_download(&hash_token(&token), &attachment.id, expires_ms, now)
        .await
        .or_internal(Api::Participant)?;
    Ok(Response {
        url: download_url(state, caller.host.as_deref(), &attachment.id, &token),
        url_expiry: format_iso_millis(expires_ms),
        attachment_size_in_bytes: attachment.size_bytes,
    })
}
