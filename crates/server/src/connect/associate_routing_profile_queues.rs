use super::find_instance;
use super::organisation::{
    QueueConfig, refuse_manual_assignment, require_routing_profile, resolve_queue_configs,
};
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
    queue_configs: Option<Vec<QueueConfig>>,
    manual_assignment_queue_configs: Option<serde_json::Value>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /routing-profiles/{InstanceId}/{RoutingProfileId}/associate-queues` — adds queues to
/// the ones a routing profile serves. A (queue, channel) pair it serves already is refused, and
/// then none of the request's queues is added.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    refuse_manual_assignment(request.manual_assignment_queue_configs.as_ref())?;
    let Some(configs) = request.queue_configs else {
        return Err(ConnectError::InvalidParameter(
            "QueueConfigs names no queue to associate.".into(),
        )
        .into());
    };
    let profile = require_routing_profile(state, &instance, &request.routing_profile_id).await?;
    let queues = resolve_queue_configs(state, &instance, configs).await?;
    let change = state
        .store
        .associate_routing_profile_queues(&instance.id, &profile.id, &queues, state.clock.now_ms())
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
            "Queue {queue_id} is already associated with the routing profile for {channel}."
        ))
        .into()),
    }
}
