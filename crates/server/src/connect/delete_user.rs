use super::find_instance;
use super::organisation::require_user;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    user_id: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `DELETE /users/{InstanceId}/{UserId}` — removes a user; their username is free again.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let user = require_user(state, &instance, &request.user_id).await?;
    let deleted = state
        .store
        .delete_user(&instance.id, &user.id)
        .await
        .or_internal(Api::Connect)?;
    if !deleted {
        return Err(
            ConnectError::ResourceNotFound(format!("User {} not found.", request.user_id)).into(),
        );
    }
    state.agent_changed(&instance.id, &user.id);
    Ok(Response {})
}
