use super::organisation::{require_routing_profile, routing_profile_arn};
use super::{epoch_seconds, find_instance};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::{MediaConcurrency, Tags};
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    routing_profile_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    routing_profile: RoutingProfileView,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoutingProfileView {
    instance_id: String,
    name: String,
    routing_profile_arn: String,
    routing_profile_id: String,
    description: String,
    media_concurrencies: Vec<MediaConcurrency>,
    default_outbound_queue_id: String,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    number_of_associated_queues: i64,
    number_of_associated_manual_assignment_queues: i64,
    number_of_associated_users: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_availability_timer: Option<String>,
    last_modified_time: f64,
    last_modified_region: String,
    is_default: bool,
    associated_queue_ids: Vec<String>,
}

/// `GET /routing-profiles/{InstanceId}/{RoutingProfileId}` — a routing profile with its
/// concurrencies, the queues it serves and how many users have it.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let profile = require_routing_profile(state, &instance, &request.routing_profile_id).await?;
    let served = state
        .store
        .routing_profile_queues(&instance.id, &profile.id)
        .await
        .or_internal(Api::Connect)?;
    let users = state
        .store
        .count_routing_profile_users(&instance.id, &profile.id)
        .await
        .or_internal(Api::Connect)?;
    let mut queue_ids: Vec<String> = served.into_iter().map(|queue| queue.queue_id).collect();
    queue_ids.sort();
    queue_ids.dedup();
    Ok(Response {
        routing_profile: RoutingProfileView {
            routing_profile_arn: routing_profile_arn(state, &profile),
            last_modified_time: epoch_seconds(profile.modified_ms),
            last_modified_region: state.config.region.clone(),
            number_of_associated_queues: queue_ids.len() as i64,
            number_of_associated_manual_assignment_queues: 0,
            number_of_associated_users: users,
            associated_queue_ids: queue_ids,
            instance_id: profile.instance_id,
            name: profile.name,
            routing_profile_id: profile.id,
            description: profile.description,
            media_concurrencies: profile.media_concurrencies,
            default_outbound_queue_id: profile.default_outbound_queue_id,
            tags: profile.tags,
            agent_availability_timer: profile.agent_availability_timer,
            is_default: profile.is_default,
        },
    })
}
