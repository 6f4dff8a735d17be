use super::find_instance;
use super::organisation::require_queue;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    queue_id: String,
    status: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /queues/{InstanceId}/{QueueId}/status` — enables or disables a queue.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let queue = require_queue(state, &instance, &request.queue_id).await?;
    let changed = state
        .store
        .set_queue_status(
            &instance.id,
            &queue.id,
            &request.status,
            state.clock.now_ms(),
        )
        .await
        .or_internal(Api::Connect)?;
    if !changed {
        return Err(ConnectError::ResourceNotFound(format!(
            "Queue {} not found.",
            request.queue_id
        ))
        .into());
    }
    Ok(Response {})
}
