use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::participant::{chat_ended, check_content_size, client_token_key, invalid};
use crate::state::AppState;
use liaison_core::content::{EVENT_READ, EVENT_TYPES, MESSAGE_METADATA, is_receipt};
use liaison_core::{ItemType, NewItem, format_iso_millis};
use liaison_store::{Append, Appended};
use liaison_wire::Api;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    content_type: String,
    content: Option<String>,
    client_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    id: String,
    absolute_time: String,
}

#[derive(Deserialize)]
struct ReceiptContent {
    #[serde(rename = "messageId")]
    message_id: String,
}

/// `POST /participant/event` — typing indicators and delivered/read receipts.
///
/// Typing is pushed but left out of the transcript. Receipts become `MESSAGEMETADATA` items
/// (what ChatJS's receipt callbacks read) and are never de-duplicated by ClientToken.
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    request: Request,
) -> Result<Response, ApiError> {
    if !EVENT_TYPES.contains(&request.content_type.as_str()) {
        return Err(invalid(format!(
            "ContentType '{}' is not an event participants may send; use one of {}.",
            request.content_type,
            EVENT_TYPES.join(", ")
        )));
    }
    if let Some(content) = &request.content {
        check_content_size(content)?;
    }
    let now = state.clock.now_ms();
    let (item, client_token) = if is_receipt(&request.content_type) {
        (receipt_item(state, caller, &request, now).await?, None)
    } else {
        let mut item = NewItem::new(
            ItemType::Event,
            &request.content_type,
            Some(&caller.participant),
            now,
        );
        item.content = request.content.clone();
        item.in_transcript = false;
        let key = client_token_key(
            "SendEvent",
            &caller.participant.id,
            request.client_token.clone(),
            &[
                &request.content_type,
                request.content.as_deref().unwrap_or(""),
            ],
        );
        (item, key)
    };
    let outcome = state
        .append(Append {
            contact_id: caller.contact.id.clone(),
            items: vec![item],
            client_token,
            ..Append::default()
        })
        .await
        .or_internal(Api::Participant)?;
    let (id, absolute_ms) = match outcome {
        Appended::Written(items) => match items.into_iter().next() {
            Some(written) => (written.item.id, written.item.absolute_ms),
            None => return Err(invalid("Nothing was written.")),
        },
        // A retried event: answer with the original's id; its time is not worth a read.
        Appended::Replayed(replay) => (replay.result, now),
        Appended::ContactClosed => return Err(chat_ended()),
    };
    Ok(Response {
        id,
        absolute_time: format_iso_millis(absolute_ms),
    })
}

/// The `MESSAGEMETADATA` item for a delivered or read receipt of a message of this chat.
async fn receipt_item(
    state: &AppState,
    caller: &ParticipantCaller,
    request: &Request,
    now: i64,
) -> Result<NewItem, ApiError> {
    let receipt: ReceiptContent = request
        .content
        .as_deref()
        .and_then(|content| serde_json::from_str(content).ok())
        .ok_or_else(|| {
            invalid(
                "A receipt's Content must be JSON like {\"messageId\":\"<Id of the message>\"}.",
            )
        })?;
    let message = state
        .store
        .find_item(&caller.contact.id, &receipt.message_id)
        .await
        .or_internal(Api::Participant)?;
    if !message.is_some_and(|m| m.item.item_type == ItemType::Message) {
        return Err(invalid(format!(
            "Message {} is not a message of this chat.",
            receipt.message_id
        )));
    }
    let stamp = Value::String(format_iso_millis(now));
    let mut receipt_entry = Map::new();
    // A read message has necessarily been delivered, so a read receipt carries both times.
    receipt_entry.insert("DeliveredTimestamp".into(), stamp.clone());
    if request.content_type == EVENT_READ {
        receipt_entry.insert("ReadTimestamp".into(), stamp);
    }
    receipt_entry.insert(
        "RecipientParticipantId".into(),
        Value::String(caller.participant.id.clone()),
    );
    let mut item = NewItem::new(ItemType::MessageMetadata, MESSAGE_METADATA, None, now);
    let mut extra = Map::new();
    extra.insert(
        "MessageMetadata".into(),
        json!({"MessageId": receipt.message_id, "Receipts": [Value::Object(receipt_entry)]}),
    );
    item.extra = Some(extra);
    Ok(item)
}
