//! Where attachment bytes travel: the upload URL StartAttachmentUpload hands out (a `PUT` of
//! the raw file, cross-origin from ChatJS) and the download URL of GetAttachment. Both carry a
//! random bearer token, stored hashed with its expiry, so any node of a cluster can check them.

use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use liaison_core::attachment::{Attachment, AttachmentStatus};
use liaison_core::hash_token;
use liaison_wire::{Api, ParticipantError};
use serde::Deserialize;
use subtle::ConstantTimeEq;

pub const UPLOAD_PATH: &str = "/attachments/{AttachmentId}";
/// Uploads and downloads one node carries at once (each holds its file in memory).
pub const CONCURRENT_TRANSFERS: usize = 32;
pub const DOWNLOAD_PATH: &str = "/attachments/{AttachmentId}/download";

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub fn upload_url(
    state: &AppState,
    host: Option<&str>,
    attachment_id: &str,
    token: &str,
) -> String {
    format!(
        "{}/attachments/{attachment_id}?token={token}",
        state.http_base(host)
    )
}

pub fn download_url(
    state: &AppState,
    host: Option<&str>,
    attachment_id: &str,
    token: &str,
) -> String {
    format!(
        "{}/attachments/{attachment_id}/download?token={token}",
        state.http_base(host)
    )
}

/// A place among the node's transfers, or a throttling error when all are taken.
fn transfer_turn(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    state.attachment_transfers.try_acquire().map_err(|_| {
        ParticipantError::Throttling(
            "Too many files are being transferred; try again shortly.".into(),
        )
        .into()
    })
}

fn denied(message: impl Into<String>) -> ApiError {
    ParticipantError::AccessDenied(message.into()).into()
}

fn invalid(message: impl Into<String>) -> ApiError {
    ParticipantError::Validation(message.into()).into()
}

/// `PUT /attachments/{AttachmentId}?token=…` — the file's bytes, exactly as many as declared,
/// with the declared `Content-Type`.
pub async fn upload(
    State(state): State<AppState>,
    Path(attachment_id): Path<String>,
    Query(query): Query<TokenQuery>,
    request: Request<Body>,
) -> Result<(), ApiError> {
    let token = query.token.as_deref();
    let attachment = state
        .store
        .get_attachment(&attachment_id)
        .await
        .or_internal(Api::Participant)?
        .ok_or_else(|| denied("The upload URL is not valid."))?;
    let presented = hash_token(token.unwrap_or_default());
    if !bool::from(
        presented
            .as_bytes()
            .ct_eq(attachment.upload_token_hash.as_bytes()),
    ) {
        return Err(denied("The upload URL is not valid."));
    }
    if attachment.upload_expires_ms <= state.clock.now_ms() {
        return Err(denied(
            "The upload URL has expired; start the upload again.",
        ));
    }
    let _turn = transfer_turn(&state)?;
    // Claimed before the body is read: only this request's bytes can be stored, so a file
    // cannot be swapped after the scanner approved another upload of it.
    if !state
        .store
        .set_attachment_status(
            &attachment_id,
            AttachmentStatus::AwaitingUpload,
            AttachmentStatus::Receiving,
        )
        .await
        .or_internal(Api::Participant)?
    {
        return Err(ParticipantError::Conflict(format!(
            "Attachment {attachment_id} is uploaded, or being uploaded, already."
        ))
        .into());
    }
    let stored = store_upload(&state, &attachment, request).await;
    let next = if stored.is_ok() {
        AttachmentStatus::Uploaded
    } else {
        // A refused or broken upload may be tried again with the same URL.
        AttachmentStatus::AwaitingUpload
    };
    state
        .store
        .set_attachment_status(&attachment_id, AttachmentStatus::Receiving, next)
        .await
        .or_internal(Api::Participant)?;
    stored
}

/// Checks the claimed upload's type and length and keeps its bytes.
async fn store_upload(
    state: &AppState,
    attachment: &Attachment,
    request: Request<Body>,
) -> Result<(), ApiError> {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case(&attachment.content_type) {
        return Err(invalid(format!(
            "The upload's Content-Type is '{content_type}'; the attachment was started as '{}'.",
            attachment.content_type
        )));
    }
    let declared = usize::try_from(attachment.size_bytes).unwrap_or(0);
    let bytes = axum::body::to_bytes(body, declared).await.map_err(|_| {
        invalid(format!(
            "The upload is larger than the {declared} bytes the attachment was started with."
        ))
    })?;
    if bytes.len() != declared {
        return Err(invalid(format!(
            "The upload has {} bytes; the attachment was started with {declared}.",
            bytes.len()
        )));
    }
    state
        .store
        .blobs()
        .put_blob(&attachment.blob_key(), bytes.to_vec())
        .await
        .or_internal(Api::Participant)
}

/// How long the scanner may take over one file.
const SCAN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the configured scanner says of an uploaded file: `APPROVED` without a scanner.
/// `Err` when the scanner cannot be asked or answers something else; the upload stays
/// completable.
pub async fn scan(state: &AppState, attachment: &Attachment) -> Result<AttachmentStatus, ApiError> {
    let Some(url) = &state.config.attachment_scanner_url else {
        return Ok(AttachmentStatus::Approved);
    };
    let data = state
        .store
        .blobs()
        .get_blob(&attachment.blob_key())
        .await
        .or_internal(Api::Participant)?
        .ok_or_else(|| ParticipantError::InternalServer("The uploaded file is gone.".into()))?;
    let unavailable = |why: String| -> ApiError {
        tracing::warn!(
            attachment_id = attachment.id,
            why,
            "attachment scanner failed"
        );
        ParticipantError::InternalServer(
            "The attachment could not be scanned; complete the upload again.".into(),
        )
        .into()
    };
    let answer = state
        .http
        .post(url)
        .timeout(SCAN_TIMEOUT)
        .header(header::CONTENT_TYPE, &attachment.content_type)
        .header("x-liaison-attachment-id", &attachment.id)
        .header(
            "x-liaison-attachment-name",
            percent_encoding::utf8_percent_encode(
                &attachment.name,
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string(),
        )
        .header("x-liaison-contact-id", &attachment.contact_id)
        .body(data)
        .send()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if !answer.status().is_success() {
        return Err(unavailable(format!("status {}", answer.status())));
    }
    let verdict: serde_json::Value = answer
        .json()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    match verdict["Status"].as_str() {
        Some("APPROVED") => Ok(AttachmentStatus::Approved),
        Some("REJECTED") => Ok(AttachmentStatus::Rejected),
        _ => Err(unavailable(format!("unexpected answer {verdict}"))),
    }
}

/// `GET /attachments/{AttachmentId}/download?token=…` — the shared file.
pub async fn download(
    State(state): State<AppState>,
    Path(attachment_id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let token = query.token.as_deref();
    let found = state
        .store
        .attachment_download(&hash_token(token.unwrap_or_default()))
        .await
        .or_internal(Api::Participant)?;
    let Some((for_attachment, expires_ms)) = found.filter(|(id, _)| *id == attachment_id) else {
        return Err(denied("The download URL is not valid."));
    };
    if expires_ms <= state.clock.now_ms() {
        return Err(denied(
            "The download URL has expired; call GetAttachment again.",
        ));
    }
    let _turn = transfer_turn(&state)?;
    let attachment = state
        .store
        .get_attachment(&for_attachment)
        .await
        .or_internal(Api::Participant)?
        .ok_or_else(|| denied("The download URL is not valid."))?;
    let data = state
        .store
        .blobs()
        .get_blob(&attachment.blob_key())
        .await
        .or_internal(Api::Participant)?
        .ok_or_else(|| denied("The attachment's file is gone."))?;
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(&attachment.name, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok((
        [
            (header::CONTENT_TYPE, attachment.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        data,
    )
        .into_response())
}
