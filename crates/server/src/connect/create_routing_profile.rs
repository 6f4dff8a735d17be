use super::find_instance;
use super::organisation::{
    QueueConfig, check_media_concurrencies, refuse_manual_assignment, require_queue,
    resolve_queue_configs, routing_profile_arn,
};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::{MediaConcurrency, RoutingProfile, Tags};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    name: String,
    description: String,
    default_outbound_queue_id: String,
    queue_configs: Option<Vec<QueueConfig>>,
    manual_assignment_queue_configs: Option<serde_json::Value>,
    media_concurrencies: Vec<MediaConcurrency>,
    agent_availability_timer: Option<String>,
    tags: Option<Tags>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    routing_profile_arn: String,
    routing_profile_id: String,
}

/// `PUT /routing-profiles/{InstanceId}` — adds a routing profile: how many contacts of each
/// channel its agents take at once, and the queues they take them from, with the profile's
/// priority and delay for each. Every queue must exist; names are unique within the instance.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    refuse_manual_assignment(request.manual_assignment_queue_configs.as_ref())?;
    check_media_concurrencies(&request.media_concurrencies)?;
    let outbound = require_queue(state, &instance, &request.default_outbound_queue_id).await?;
    let queues =
        resolve_queue_configs(state, &instance, request.queue_configs.unwrap_or_default()).await?;
    let profile = RoutingProfile {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        name: request.name,
        description: request.description,
        default_outbound_queue_id: outbound.id,
        media_concurrencies: request.media_concurrencies,
        agent_availability_timer: request.agent_availability_timer,
        is_default: false,
        tags: request.tags.unwrap_or_default(),
        modified_ms: state.clock.now_ms(),
    };
    let created = state
        .store
        .create_routing_profile(&profile, &queues)
        .await
        .or_internal(Api::Connect)?;
    if !created {
        return Err(ConnectError::DuplicateResource(format!(
            "A routing profile named '{}' already exists in this instance.",
            profile.name
        ))
        .into());
    }
    state.profile_changed(&profile.instance_id, &profile.id);
    Ok(Response {
        routing_profile_arn: routing_profile_arn(state, &profile),
        routing_profile_id: profile.id,
    })
}
