use super::find_instance;
use super::views::find_view_to_change;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    view_id: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `DELETE /views/{InstanceId}/{ViewId}` — deletes a customer-managed view (every version and
/// alias: Liaison keeps one); AWS-managed views are read-only.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let view = find_view_to_change(state, &instance, &request.view_id, "DeleteView").await?;
    let deleted = state
        .store
        .delete_view(&instance.id, &view.id)
        .await
        .or_internal(Api::Connect)?;
    if !deleted {
        return Err(
            ConnectError::ResourceNotFound(format!("View {} not found.", request.view_id)).into(),
        );
    }
    Ok(Response {})
}
