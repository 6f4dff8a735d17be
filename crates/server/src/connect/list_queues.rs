use super::organisation::{DEFAULT_PAGE_SIZE, queue_arn};
use super::{epoch_seconds, find_instance, paginate};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    #[serde(default)]
    queue_types: Vec<String>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    queue_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    id: String,
    arn: String,
    name: String,
    queue_type: String,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /queues-summary/{InstanceId}` — the instance's queues by name, optionally of some types
/// only (`STANDARD`, `AGENT`).
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let queues = state
        .store
        .list_queue_details(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let summaries = queues
        .into_iter()
        .filter(|queue| {
            request.queue_types.is_empty() || request.queue_types.contains(&queue.queue_type)
        })
        .map(|queue| Summary {
            arn: queue_arn(state, &queue.instance_id, &queue.id),
            last_modified_time: epoch_seconds(queue.modified_ms),
            last_modified_region: state.config.region.clone(),
            id: queue.id,
            name: queue.name,
            queue_type: queue.queue_type,
        })
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        queue_summary_list: page,
        next_token,
    })
}
