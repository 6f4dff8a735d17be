use super::find_instance;
use super::organisation::{check_media_concurrencies, require_routing_profile};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::MediaConcurrency;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    routing_profile_id: String,
    media_concurrencies: Vec<MediaConcurrency>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /routing-profiles/{InstanceId}/{RoutingProfileId}/concurrency` — replaces how many
/// contacts of each channel the profile's agents take at once.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    check_media_concurrencies(&request.media_concurrencies)?;
    let profile = require_routing_profile(state, &instance, &request.routing_profile_id).await?;
    let changed = state
        .store
        .set_routing_profile_concurrency(
            &instance.id,
            &profile.id,
            &request.media_concurrencies,
            state.clock.now_ms(),
        )
        .await
        .or_internal(Api::Connect)?;
    if !changed {
        return Err(ConnectError::ResourceNotFound(format!(
            "Routing profile {} not found.",
            request.routing_profile_id
        ))
        .into());
    }
    state.profile_changed(&instance.id, &profile.id);
    Ok(Response {})
}
