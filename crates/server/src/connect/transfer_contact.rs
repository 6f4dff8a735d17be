use super::organisation::{require_queue, require_user};
use super::{contact_arn, find_contact, find_flow, find_instance};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::ParticipantRole;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_id: String,
    queue_id: Option<String>,
    user_id: Option<String>,
    contact_flow_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact_id: String,
    contact_arn: String,
}

/// Where a transfer sends the contact.
enum Target<'a> {
    Queue(&'a str),
    Agent(&'a str),
}

/// `POST /contact/transfer` — moves an open chat to another queue, or to an agent (their agent
/// queue, offered to them only and before their other queues): the agents in it leave (and go
/// to after-contact work), the chat waits in the queue to be offered again, and the given
/// transfer flow runs for the customer meanwhile. Connect starts a new contact segment for a
/// transfer; Liaison keeps the contact (and the customer's connection), so the answer names
/// the same contact.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let target = match (&request.queue_id, &request.user_id) {
        (Some(queue), None) => Target::Queue(queue),
        (None, Some(user)) => Target::Agent(user),
        _ => {
            return Err(ConnectError::InvalidRequest(
                "Name exactly one of QueueId and UserId to transfer the contact to.".into(),
            )
            .into());
        }
    };
    let Some(contact) = find_contact(state, &instance, &request.contact_id).await? else {
        return Err(ConnectError::ResourceNotFound(format!(
            "Contact {} not found.",
            request.contact_id
        ))
        .into());
    };
    if !contact.is_open() {
        return Err(ConnectError::InvalidRequest(format!(
            "Contact {} has ended; only an active contact can be transferred.",
            contact.id
        ))
        .into());
    }
    let queue_id = match target {
        Target::Queue(queue_ref) => require_queue(state, &instance, queue_ref).await?.id,
        Target::Agent(user_ref) => {
            let user = require_user(state, &instance, user_ref).await?;
            state.agent_queue(&user).await.or_internal(Api::Connect)?
        }
    };
    let (flow, _) = find_flow(state, &instance, &request.contact_flow_id).await?;

    let participants = state
        .store
        .list_participants(&contact.id)
        .await
        .or_internal(Api::Connect)?;
    for agent in participants
        .iter()
        .filter(|p| p.role == ParticipantRole::Agent && p.left_ms.is_none())
    {
        state
            .hand_over(&contact, agent)
            .await
            .or_internal(Api::Connect)?;
    }
    state
        .transfer_to_queue(&contact, &queue_id, &flow.id)
        .await
        .or_internal(Api::Connect)?;
    Ok(Response {
        contact_arn: contact_arn(state, &contact),
        contact_id: contact.id,
    })
}
