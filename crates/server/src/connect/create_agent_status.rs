use super::find_instance;
use super::organisation::agent_status_arn;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::{AgentStatus, Tags};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    name: String,
    description: Option<String>,
    state: String,
    display_order: Option<i64>,
    tags: Option<Tags>,
}

#[derive(Serialize)]
pub struct Response {
    #[serde(rename = "AgentStatusARN")]
    agent_status_arn: String,
    #[serde(rename = "AgentStatusId")]
    agent_status_id: String,
}

/// `PUT /agent-status/{InstanceId}` — adds a status agents can set (type `CUSTOM`: contacts are
/// not routed to an agent in it). Names are unique within the instance.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let status = AgentStatus {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        name: request.name,
        description: request.description,
        status_type: "CUSTOM".into(),
        state: request.state,
        display_order: request.display_order,
        tags: request.tags.unwrap_or_default(),
        modified_ms: state.clock.now_ms(),
    };
    let created = state
        .store
        .create_agent_status(&status)
        .await
        .or_internal(Api::Connect)?;
    if !created {
        return Err(ConnectError::DuplicateResource(format!(
            "An agent status named '{}' already exists in this instance.",
            status.name
        ))
        .into());
    }
    Ok(Response {
        agent_status_arn: agent_status_arn(state, &status),
        agent_status_id: status.id,
    })
}
