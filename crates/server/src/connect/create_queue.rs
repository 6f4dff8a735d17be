use super::find_instance;
use super::organisation::{queue_arn, require_hours};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::{OutboundCallerConfig, Queue, Tags};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    name: String,
    description: Option<String>,
    outbound_caller_config: Option<OutboundCallerConfig>,
    outbound_email_config: Option<serde_json::Value>,
    hours_of_operation_id: String,
    max_contacts: Option<i64>,
    quick_connect_ids: Option<Vec<String>>,
    email_addresses_config: Option<serde_json::Value>,
    tags: Option<Tags>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    queue_arn: String,
    queue_id: String,
}

/// `PUT /queues/{InstanceId}` — adds a standard queue, open during the hours of operation it
/// names. Names are unique within the instance. Liaison has no email channel and no quick
/// connects, so their settings are refused.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    if request.outbound_email_config.is_some() || request.email_addresses_config.is_some() {
        return Err(ConnectError::InvalidParameter(
            "OutboundEmailConfig and EmailAddressesConfig are not supported: Liaison has no email channel.".into(),
        )
        .into());
    }
    if let Some(quick_connect) = request.quick_connect_ids.iter().flatten().next() {
        return Err(ConnectError::ResourceNotFound(format!(
            "Quick connect {quick_connect} not found: Liaison has no quick connects."
        ))
        .into());
    }
    let hours = require_hours(state, &instance, &request.hours_of_operation_id).await?;
    let queue = Queue {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        name: request.name,
        description: request.description,
        queue_type: "STANDARD".into(),
        hours_of_operation_id: Some(hours.id),
        max_contacts: request.max_contacts,
        status: "ENABLED".into(),
        outbound_caller_config: request.outbound_caller_config,
        tags: request.tags.unwrap_or_default(),
        modified_ms: state.clock.now_ms(),
    };
    let created = state
        .store
        .create_queue(&queue)
        .await
        .or_internal(Api::Connect)?;
    if !created {
        return Err(ConnectError::DuplicateResource(format!(
            "A queue named '{}' already exists in this instance.",
            queue.name
        ))
        .into());
    }
    Ok(Response {
        queue_arn: queue_arn(state, &queue.instance_id, &queue.id),
        queue_id: queue.id,
    })
}
