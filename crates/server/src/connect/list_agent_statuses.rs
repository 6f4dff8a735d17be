use super::organisation::{DEFAULT_PAGE_SIZE, agent_status_arn};
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
    agent_status_types: Vec<String>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    agent_status_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    id: String,
    arn: String,
    name: String,
    #[serde(rename = "Type")]
    status_type: String,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /agent-status/{InstanceId}` — the statuses agents can be in, in display order,
/// optionally of some types only (`ROUTABLE`, `CUSTOM`, `OFFLINE`).
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let statuses = state
        .store
        .list_agent_statuses(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let summaries = statuses
        .into_iter()
        .filter(|status| {
            request.agent_status_types.is_empty()
                || request.agent_status_types.contains(&status.status_type)
        })
        .map(|status| Summary {
            arn: agent_status_arn(state, &status),
            last_modified_time: epoch_seconds(status.modified_ms),
            last_modified_region: state.config.region.clone(),
            id: status.id,
            name: status.name,
            status_type: status.status_type,
        })
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        agent_status_summary_list: page,
        next_token,
    })
}
