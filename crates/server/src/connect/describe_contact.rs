use super::{contact_arn, epoch_seconds, find_instance, require_contact};
use crate::error::ApiError;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact: ContactView,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContactView {
    arn: String,
    id: String,
    initial_contact_id: String,
    initiation_method: &'static str,
    channel: &'static str,
    initiation_timestamp: f64,
    connected_to_system_timestamp: f64,
    last_update_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    disconnect_timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    related_contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    segment_attributes: Option<Value>,
    attributes: BTreeMap<String, String>,
}

/// `GET /contacts/{InstanceId}/{ContactId}` — what Liaison knows about a contact.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let contact = require_contact(state, &instance, &request.contact_id).await?;
    Ok(Response {
        contact: ContactView {
            arn: contact_arn(state, &contact),
            initiation_method: "API",
            channel: "CHAT",
            initiation_timestamp: epoch_seconds(contact.initiated_ms),
            connected_to_system_timestamp: epoch_seconds(contact.initiated_ms),
            last_update_timestamp: epoch_seconds(contact.ended_ms.unwrap_or(contact.initiated_ms)),
            disconnect_timestamp: contact.ended_ms.map(epoch_seconds),
            id: contact.id,
            initial_contact_id: contact.initial_contact_id,
            related_contact_id: contact.related_contact_id,
            customer_id: contact.customer_id,
            name: contact.data.name,
            description: contact.data.description,
            segment_attributes: contact.segment_attributes,
            attributes: contact.attributes,
        },
    })
}
