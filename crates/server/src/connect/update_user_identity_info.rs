use super::find_instance;
use super::organisation::require_user;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::IdentityInfo;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    user_id: String,
    identity_info: IdentityInfo,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /users/{InstanceId}/{UserId}/identity-info` — replaces a user's name, emails and mobile
/// number with the ones given.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let user = require_user(state, &instance, &request.user_id).await?;
    let changed = state
        .store
        .set_user_identity_info(
            &instance.id,
            &user.id,
            &request.identity_info,
            state.clock.now_ms(),
        )
        .await
        .or_internal(Api::Connect)?;
    if !changed {
        return Err(
            ConnectError::ResourceNotFound(format!("User {} not found.", request.user_id)).into(),
        );
    }
    Ok(Response {})
}
