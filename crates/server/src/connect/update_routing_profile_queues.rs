use super::find_instance;
use super::organisation::{QueueConfig, require_routing_profile, resolve_queue_configs};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_store::QueueChange;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    routing_profile_id: String,
    queue_configs: Vec<QueueConfig>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /routing-profiles/{InstanceId}/{RoutingProfileId}/queues` — changes the priority and
/// delay of queues a routing profile serves. Each (queue, channel) pair must be associated
/// first; if one is not, nothing changes.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let profile = require_routing_profile(state, &instance, &request.routing_profile_id).await?;
    let queues = resolve_queue_configs(state, &instance, request.queue_configs).await?;
    let change = state
        .store
        .update_routing_profile_queues(&instance.id, &profile.id, &queues, state.clock.now_ms())
        .await
        .or_internal(Api::Connect)?;
    match change {
        QueueChange::Applied => {
            state.profile_changed(&instance.id, &profile.id);
            Ok(Response {})
        }
        QueueChange::NoSuchProfile => Err(ConnectError::ResourceNotFound(format!(
            "Routing profile {} not found.",
            request.routing_profile_id
        ))
        .into()),
        QueueChange::Refused { queue_id, channel } => Err(ConnectError::InvalidParameter(format!(
            "Queue {queue_id} is not associated with the routing profile for {channel}; associate it first (AssociateRoutingProfileQueues)."
        ))
        .into()),
    }
}
