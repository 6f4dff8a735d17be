use super::organisation::{agent_status_arn, require_agent_status};
use super::{epoch_seconds, find_instance};
use crate::error::ApiError;
use crate::state::AppState;
use liaison_core::organisation::Tags;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    agent_status_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    agent_status: AgentStatusView,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AgentStatusView {
    #[serde(rename = "AgentStatusARN")]
    agent_status_arn: String,
    agent_status_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "Type")]
    status_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_order: Option<i64>,
    state: String,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /agent-status/{InstanceId}/{AgentStatusId}` — one agent status with its type and state.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let status = require_agent_status(state, &instance, &request.agent_status_id).await?;
    Ok(Response {
        agent_status: AgentStatusView {
            agent_status_arn: agent_status_arn(state, &status),
            last_modified_time: epoch_seconds(status.modified_ms),
            last_modified_region: state.config.region.clone(),
            agent_status_id: status.id,
            name: status.name,
            description: status.description,
            status_type: status.status_type,
            display_order: status.display_order,
            state: status.state,
            tags: status.tags,
        },
    })
}
