use super::organisation::{queue_arn, require_queue};
use super::{epoch_seconds, find_instance};
use crate::error::ApiError;
use crate::state::AppState;
use liaison_core::organisation::{OutboundCallerConfig, Tags};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    queue_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    queue: QueueView,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueueView {
    name: String,
    queue_arn: String,
    queue_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outbound_caller_config: Option<OutboundCallerConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hours_of_operation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_contacts: Option<i64>,
    status: String,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /queues/{InstanceId}/{QueueId}` — a queue with its hours of operation, limit and status.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let queue = require_queue(state, &instance, &request.queue_id).await?;
    Ok(Response {
        queue: QueueView {
            queue_arn: queue_arn(state, &queue.instance_id, &queue.id),
            last_modified_time: epoch_seconds(queue.modified_ms),
            last_modified_region: state.config.region.clone(),
            name: queue.name,
            queue_id: queue.id,
            description: queue.description,
            outbound_caller_config: queue.outbound_caller_config,
            hours_of_operation_id: queue.hours_of_operation_id,
            max_contacts: queue.max_contacts,
            status: queue.status,
            tags: queue.tags,
        },
    })
}
