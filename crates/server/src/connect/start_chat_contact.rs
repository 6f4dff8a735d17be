use super::{
    MAX_ATTRIBUTES_BYTES, check_attribute_keys, find_contact, find_flow, find_instance,
    too_large_attributes,
};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use crate::timers::TimerKind;
use liaison_core::content::{
    EVENT_PARTICIPANT_JOINED, MAX_CONTENT_BYTES, SUPPORTED_TYPES, TEXT_PLAIN,
};
use liaison_core::{
    Contact, ContactState, ItemType, NewItem, Participant, ParticipantRole, TokenKind, TokenRecord,
    hash_token, new_token, sha256_hex,
};
use liaison_store::{ClientTokenKey, CreateChat, NewChat, attributes_size};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Chats last 25 hours unless the request says otherwise.
const DEFAULT_DURATION_MINUTES: i64 = 1500;

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_flow_id: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    participant_details: ParticipantDetails,
    initial_message: Option<ChatMessage>,
    #[serde(skip_serializing)]
    client_token: Option<String>,
    chat_duration_in_minutes: Option<i64>,
    supported_messaging_content_types: Option<Vec<String>>,
    persistent_chat: Option<Value>,
    related_contact_id: Option<String>,
    segment_attributes: Option<Value>,
    customer_id: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParticipantDetails {
    display_name: String,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChatMessage {
    content_type: String,
    content: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact_id: String,
    participant_id: String,
    participant_token: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ConnectError::InvalidParameter(message.into()).into()
}

/// The content types the chat will accept: `text/plain` must be among them.
fn supported_types(requested: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let Some(types) = requested else {
        return Ok(vec![TEXT_PLAIN.to_string()]);
    };
    if let Some(unknown) = types
        .iter()
        .find(|t| !SUPPORTED_TYPES.contains(&t.as_str()))
    {
        return Err(invalid(format!(
            "SupportedMessagingContentTypes: '{unknown}' is not supported; use {}.",
            SUPPORTED_TYPES.join(", ")
        )));
    }
    if !types.iter().any(|t| t == TEXT_PLAIN) {
        return Err(invalid(
            "SupportedMessagingContentTypes must include text/plain.",
        ));
    }
    let mut unique = Vec::new();
    for content_type in types {
        if !unique.contains(&content_type) {
            unique.push(content_type);
        }
    }
    Ok(unique)
}

/// `PUT /contact/chat` — starts a chat contact, adds the customer to it and runs the flow.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let pending = state
        .metrics
        .pending_flow_runs
        .load(std::sync::atomic::Ordering::Relaxed);
    if pending >= state.config.max_pending_flow_runs {
        return Err(ConnectError::LimitExceeded(format!(
            "{pending} chats are waiting for their flows on this node; retry StartChatContact shortly."
        ))
        .into());
    }
    let (flow, _) = find_flow(state, &instance, &request.contact_flow_id).await?;
    if request.persistent_chat.is_some() {
        return Err(ConnectError::InvalidRequest(
            "PersistentChat is not supported by Liaison yet; start the chat without it.".into(),
        )
        .into());
    }
    if let Some(related) = &request.related_contact_id
        && find_contact(state, &instance, related).await?.is_none()
    {
        return Err(ConnectError::ResourceNotFound(format!(
            "Related contact {related} not found."
        ))
        .into());
    }
    check_attribute_keys(&request.attributes)?;
    let attributes_bytes = attributes_size(&request.attributes);
    if attributes_bytes > MAX_ATTRIBUTES_BYTES {
        return Err(too_large_attributes(attributes_bytes));
    }
    let supported = supported_types(request.supported_messaging_content_types.clone())?;
    if let Some(message) = &request.initial_message {
        if !supported.contains(&message.content_type)
            || message.content_type == liaison_core::content::INTERACTIVE
        {
            return Err(invalid(format!(
                "InitialMessage.ContentType '{}' is not one of the chat's message types.",
                message.content_type
            )));
        }
        if message.content.len() > MAX_CONTENT_BYTES {
            return Err(invalid(format!(
                "InitialMessage.Content may be at most {MAX_CONTENT_BYTES} bytes."
            )));
        }
    }
    let display_name = request.participant_details.display_name.clone();
    let request_hash = sha256_hex(
        serde_json::to_string(&request)
            .unwrap_or_default()
            .as_bytes(),
    );

    let now = state.clock.now_ms();
    let minutes = request
        .chat_duration_in_minutes
        .unwrap_or(DEFAULT_DURATION_MINUTES);
    let contact_id = liaison_core::new_record_id();
    let mut contact = Contact {
        id: contact_id.clone(),
        instance_id: instance.id.clone(),
        initial_contact_id: contact_id.clone(),
        related_contact_id: request.related_contact_id,
        flow_id: flow.id.clone(),
        state: ContactState::Open,
        attributes: request.attributes,
        segment_attributes: request.segment_attributes,
        customer_id: request.customer_id,
        supported_content_types: supported,
        initiated_ms: now,
        ended_ms: None,
        expires_ms: now + minutes * state.config.timer_minute_ms,
        last_seq: 0,
        timer_config: Default::default(),
        data: Default::default(),
        watches_messages: false,
    };
    let customer = Participant {
        id: liaison_core::new_record_id(),
        contact_id: contact_id.clone(),
        role: ParticipantRole::Customer,
        display_name,
        joined_ms: now,
        left_ms: None,
        connected_ms: Some(now),
    };
    let token = new_token();
    let mut items = vec![NewItem::new(
        ItemType::Event,
        EVENT_PARTICIPANT_JOINED,
        Some(&customer),
        now,
    )];
    let mut initial_text = None;
    if let Some(message) = request.initial_message {
        initial_text = Some(message.content.clone());
        items.push(
            NewItem::new(
                ItemType::Message,
                &message.content_type,
                Some(&customer),
                now,
            )
            .with_content(message.content),
        );
    }
    // The flow runs up to its first wait (or first action that needs more than the chat) now,
    // and commits with the chat. A flow that cannot run (saved with problems) leaves the chat
    // to its timers, as in Connect a flow that fails at once would.
    let (timers, flow_logs, flow_blocks) =
        match liaison_core::flow::validate(&flow.content).document {
            Some(document) => {
                let segment = state
                    .first_segment(&flow, &document, &mut contact, initial_text, now)
                    .await
                    .or_internal(Api::Connect)?;
                items.extend(segment.items);
                (vec![segment.run], segment.flow_logs, segment.blocks)
            }
            None => {
                tracing::warn!(flow_id = flow.id, "the chat's flow cannot run");
                (Vec::new(), Vec::new(), 0)
            }
        };
    let run_due_ms = timers.first().map(|run| run.due_ms);
    let chat = NewChat {
        customer_token: TokenRecord {
            hash: hash_token(&token),
            kind: TokenKind::Participant,
            participant_id: customer.id.clone(),
            contact_id: contact_id.clone(),
            expires_ms: None,
        },
        client_token: request.client_token.map(|token| ClientTokenKey {
            scope: format!("StartChatContact:{}", instance.id),
            token,
            request_hash: request_hash.clone(),
        }),
        contact,
        customer,
        items,
        timers,
        flow_logs,
    };
    let participant_id = chat.customer.id.clone();
    let expires_ms = chat.contact.expires_ms;
    match state
        .store
        .create_chat(chat)
        .await
        .or_internal(Api::Connect)?
    {
        CreateChat::Created(_) => {
            state.timers.arm_chat_deadline(&contact_id, expires_ms);
            state
                .metrics
                .flow_blocks
                .fetch_add(flow_blocks, std::sync::atomic::Ordering::Relaxed);
            // The run was stored with the chat; this node goes on with it when it is due (any
            // node's sweep would, were this one to die first).
            if let Some(due_ms) = run_due_ms {
                state.timers.arm(&contact_id, TimerKind::FlowRun, due_ms);
            }
            Ok(Response {
                contact_id,
                participant_id,
                participant_token: token,
            })
        }
        CreateChat::Replayed(replay) if replay.request_hash == request_hash => {
            replay_start(state, &replay.result).await
        }
        CreateChat::Replayed(_) => Err(invalid(
            "The ClientToken was already used for a StartChatContact request with different parameters.",
        )),
    }
}

/// A retried request gets the same contact and customer, with a fresh token for that customer
/// (tokens are stored hashed, so the first one cannot be handed out again).
async fn replay_start(state: &AppState, contact_id: &str) -> Result<Response, ApiError> {
    let participants = state
        .store
        .list_participants(contact_id)
        .await
        .or_internal(Api::Connect)?;
    let Some(customer) = participants
        .into_iter()
        .find(|p| p.role == ParticipantRole::Customer)
    else {
        return Err(
            ConnectError::InternalService("The replayed chat has no customer.".into()).into(),
        );
    };
    let token = new_token();
    state
        .store
        .insert_tokens(&[TokenRecord {
            hash: hash_token(&token),
            kind: TokenKind::Participant,
            participant_id: customer.id.clone(),
            contact_id: contact_id.to_string(),
            expires_ms: None,
        }])
        .await
        .or_internal(Api::Connect)?;
    Ok(Response {
        contact_id: contact_id.to_string(),
        participant_id: customer.id,
        participant_token: token,
    })
}
