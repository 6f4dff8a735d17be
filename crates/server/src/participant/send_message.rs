use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::flows::Trigger;
use crate::participant::{chat_ended, check_content_size, client_token_key, invalid};
use crate::state::AppState;
use liaison_core::content::MESSAGE_TYPES;
use liaison_core::{ItemType, NewItem, ParticipantRole, format_iso_millis};
use liaison_store::{Append, Appended};
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    content_type: String,
    content: String,
    client_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    id: String,
    absolute_time: String,
}

/// `POST /participant/message` — posts a message to the chat; every participant's sockets,
/// the sender's included, receive it.
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    request: Request,
) -> Result<Response, ApiError> {
    if !MESSAGE_TYPES.contains(&request.content_type.as_str()) {
        return Err(invalid(format!(
            "ContentType '{}' is not a message type; use one of {}.",
            request.content_type,
            MESSAGE_TYPES.join(", ")
        )));
    }
    if !caller
        .contact
        .supported_content_types
        .contains(&request.content_type)
    {
        return Err(invalid(format!(
            "ContentType '{}' is not enabled for this chat; StartChatContact's SupportedMessagingContentTypes allows {}.",
            request.content_type,
            caller.contact.supported_content_types.join(", ")
        )));
    }
    check_content_size(&request.content)?;
    if request.content_type == "application/json"
        && serde_json::from_str::<serde_json::Value>(&request.content).is_err()
    {
        return Err(invalid(
            "Content must be valid JSON for ContentType application/json.",
        ));
    }
    let now = state.clock.now_ms();
    let client_token = client_token_key(
        "SendMessage",
        &caller.participant.id,
        request.client_token,
        &[&request.content_type, &request.content],
    );
    let item = NewItem::new(
        ItemType::Message,
        &request.content_type,
        Some(&caller.participant),
        now,
    )
    .with_content(request.content);
    let outcome = state
        .append_message(
            Append {
                contact_id: caller.contact.id.clone(),
                items: vec![item],
                client_token: client_token.clone(),
                ..Append::default()
            },
            &caller.contact,
            &caller.participant,
        )
        .await
        .or_internal(Api::Participant)?;
    let written = match outcome {
        Appended::Written(items) => items.into_iter().next(),
        Appended::Replayed(replay) => {
            if client_token.is_some_and(|key| key.request_hash != replay.request_hash) {
                return Err(invalid(
                    "The ClientToken was already used for a different message.",
                ));
            }
            state
                .store
                .find_item(&caller.contact.id, &replay.result)
                .await
                .or_internal(Api::Participant)?
        }
        Appended::ContactClosed => return Err(chat_ended()),
    };
    // A replay whose first attempt claimed the token as the chat ended never wrote its item.
    let Some(item) = written else {
        return Err(chat_ended());
    };
    if caller.contact.watches_messages && caller.participant.role == ParticipantRole::Customer {
        state.run_flow(
            &caller.contact.id,
            Trigger::CustomerMessage {
                text: item.item.content.clone().unwrap_or_default(),
            },
        );
    }
    Ok(Response {
        id: item.item.id,
        absolute_time: format_iso_millis(item.item.absolute_ms),
    })
}
