use super::find_instance;
use super::organisation::{require_routing_profile, require_user};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    user_id: String,
    routing_profile_id: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /users/{InstanceId}/{UserId}/routing-profile` — gives a user another routing profile:
/// the queues they take contacts from and how many at once.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let user = require_user(state, &instance, &request.user_id).await?;
    let profile = require_routing_profile(state, &instance, &request.routing_profile_id).await?;
    let changed = state
        .store
        .set_user_routing_profile(&instance.id, &user.id, &profile.id, state.clock.now_ms())
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
