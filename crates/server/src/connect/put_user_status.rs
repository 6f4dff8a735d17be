use super::find_instance;
use super::organisation::{require_agent_status, require_user};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    user_id: String,
    agent_status_id: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `PUT /users/{InstanceId}/{UserId}/status` — puts a user in an agent status (`Available`,
/// `Offline` or one of the instance's own) as of now. Disabled statuses cannot be set.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let user = require_user(state, &instance, &request.user_id).await?;
    let status = require_agent_status(state, &instance, &request.agent_status_id).await?;
    if status.state != "ENABLED" {
        return Err(ConnectError::InvalidRequest(format!(
            "Agent status {} ({}) is disabled; enable it before setting it.",
            request.agent_status_id, status.name
        ))
        .into());
    }
    let changed = state
        .store
        .set_user_status(&instance.id, &user.id, &status.id, state.clock.now_ms())
        .await
        .or_internal(Api::Connect)?;
    if !changed {
        return Err(
            ConnectError::ResourceNotFound(format!("User {} not found.", request.user_id)).into(),
        );
    }
    state.agent_changed(&instance.id, &user.id);
    Ok(Response {})
}
