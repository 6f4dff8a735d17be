use super::{find_instance, require_contact};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::ContactData;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_id: String,
    name: Option<String>,
    description: Option<String>,
    references: Option<BTreeMap<String, Value>>,
    segment_attributes: Option<Value>,
    queue_info: Option<Value>,
    user_info: Option<Value>,
    customer_endpoint: Option<Value>,
    system_endpoint: Option<Value>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /contacts/{InstanceId}/{ContactId}` — sets the contact's name, description and
/// references (what `$.Name`, `$.Description` and `$.References` read in flows). The members
/// that move a contact between queues and agents or change its endpoints are refused by name.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let unsupported = [
        ("SegmentAttributes", request.segment_attributes.is_some()),
        ("QueueInfo", request.queue_info.is_some()),
        ("UserInfo", request.user_info.is_some()),
        ("CustomerEndpoint", request.customer_endpoint.is_some()),
        ("SystemEndpoint", request.system_endpoint.is_some()),
    ];
    if let Some((member, _)) = unsupported.iter().find(|(_, given)| *given) {
        return Err(ConnectError::InvalidRequest(format!(
            "Liaison does not support {member} in UpdateContact yet; Name, Description and References can be updated."
        ))
        .into());
    }
    let instance = find_instance(state, &request.instance_id).await?;
    let contact = require_contact(state, &instance, &request.contact_id).await?;
    let update = ContactData {
        name: request.name,
        description: request.description,
        language_code: None,
        references: request.references.unwrap_or_default(),
    };
    let updated = state
        .store
        .update_contact_data(&contact.id, &update, None)
        .await
        .or_internal(Api::Connect)?;
    if !updated {
        return Err(ConnectError::ResourceNotFound(format!(
            "Contact {} not found.",
            request.contact_id
        ))
        .into());
    }
    state.holders.forget_contact(&contact.id);
    Ok(Response {})
}
