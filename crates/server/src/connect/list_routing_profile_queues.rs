use super::organisation::{DEFAULT_PAGE_SIZE, queue_arn, require_routing_profile};
use super::{epoch_seconds, find_instance, paginate};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    routing_profile_id: String,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    routing_profile_queue_config_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    last_modified_time: f64,
    last_modified_region: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    queue_id: String,
    queue_arn: String,
    queue_name: String,
    priority: i64,
    delay: i64,
    channel: String,
}

/// `GET /routing-profiles/{InstanceId}/{RoutingProfileId}/queues` — the queues a routing
/// profile serves, by priority, then delay.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let profile = require_routing_profile(state, &instance, &request.routing_profile_id).await?;
    let served = state
        .store
        .routing_profile_queues(&instance.id, &profile.id)
        .await
        .or_internal(Api::Connect)?;
    let names: HashMap<String, String> = state
        .store
        .list_queues(&instance.id)
        .await
        .or_internal(Api::Connect)?
        .into_iter()
        .collect();
    let summaries = served
        .into_iter()
        .map(|queue| Summary {
            queue_arn: queue_arn(state, &instance.id, &queue.queue_id),
            queue_name: names.get(&queue.queue_id).cloned().unwrap_or_default(),
            queue_id: queue.queue_id,
            priority: queue.priority,
            delay: queue.delay,
            channel: queue.channel,
        })
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        routing_profile_queue_config_summary_list: page,
        next_token,
        last_modified_time: epoch_seconds(profile.modified_ms),
        last_modified_region: state.config.region.clone(),
    })
}
