use crate::attachments::scan;
use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::participant::{chat_ended, invalid};
use crate::state::AppState;
use liaison_core::attachment::AttachmentStatus;
use liaison_core::{ItemType, NewItem};
use liaison_store::{Append, Appended, ClientTokenKey};
use liaison_wire::{Api, ParticipantError};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    attachment_ids: Vec<String>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /participant/complete-attachment-upload` — the uploaded file is shared: an
/// `ATTACHMENT` item reaches every participant and the transcript, with `Status` `APPROVED`,
/// or `REJECTED` when the configured scanner refused it (nobody can download it then).
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    request: Request,
) -> Result<Response, ApiError> {
    let [attachment_id] = request.attachment_ids.as_slice() else {
        return Err(invalid("AttachmentIds must name exactly one attachment."));
    };
    let attachment = state
        .store
        .get_attachment(attachment_id)
        .await
        .or_internal(Api::Participant)?
        .filter(|a| a.contact_id == caller.contact.id && a.participant_id == caller.participant.id)
        .ok_or_else(|| {
            invalid(format!(
                "Attachment {attachment_id} is not one you started in this chat."
            ))
        })?;
    match attachment.status {
        AttachmentStatus::Uploaded => {}
        AttachmentStatus::AwaitingUpload | AttachmentStatus::Receiving => {
            return Err(invalid(format!(
                "Attachment {attachment_id} has not been uploaded: PUT its bytes to the upload URL first."
            )));
        }
        AttachmentStatus::Approved | AttachmentStatus::Rejected => {
            return Err(ParticipantError::Conflict(format!(
                "Attachment {attachment_id} was completed already."
            ))
            .into());
        }
    }
    let verdict = scan(state, &attachment).await?;
    let now = state.clock.now_ms();
    let mut item = NewItem::new(
        ItemType::Attachment,
        &attachment.content_type,
        Some(&caller.participant),
        now,
    );
    // Connect's attachment items carry the file in `Attachments`, not as content.
    item.content_type = None;
    item.extra = json!({"Attachments": [{
        "ContentType": attachment.content_type,
        "AttachmentId": attachment.id,
        "AttachmentName": attachment.name,
        "Status": verdict.as_str(),
    }]})
    .as_object()
    .cloned();
    // The item is written once per attachment, whatever retries or concurrent completions
    // come; the status follows, so a completion cut off in between is simply called again.
    let once = ClientTokenKey {
        scope: "CompleteAttachmentUpload".into(),
        token: attachment.id.clone(),
        request_hash: String::new(),
    };
    let appended = state
        .append(Append {
            contact_id: caller.contact.id.clone(),
            items: vec![item],
            client_token: Some(once),
            ..Append::default()
        })
        .await
        .or_internal(Api::Participant)?;
    if let Appended::ContactClosed = appended {
        return Err(chat_ended());
    }
    state
        .store
        .set_attachment_status(attachment_id, AttachmentStatus::Uploaded, verdict)
        .await
        .or_internal(Api::Participant)?;
    Ok(Response {})
}
