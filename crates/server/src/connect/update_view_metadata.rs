use super::find_instance;
use super::views::{check_view_name_free, find_view_to_change};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::View;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    view_id: String,
    name: Option<String>,
    description: Option<String>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /views/{InstanceId}/{ViewId}/metadata` — renames a customer-managed view and/or changes
/// its description; names stay unique within the instance. AWS-managed views are read-only.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    if request.name.is_none() && request.description.is_none() {
        return Err(ConnectError::InvalidRequest(
            "UpdateViewMetadata needs a Name or a Description to change.".into(),
        )
        .into());
    }
    let instance = find_instance(state, &request.instance_id).await?;
    let view =
        find_view_to_change(state, &instance, &request.view_id, "UpdateViewMetadata").await?;
    if let Some(name) = &request.name {
        check_view_name_free(state, &instance.id, name, Some(&view.id)).await?;
    }
    let updated = View {
        name: request.name.unwrap_or(view.name.clone()),
        description: request.description.or(view.description.clone()),
        modified_ms: state.clock.now_ms(),
        ..view
    };
    let changed = state
        .store
        .update_view(&updated)
        .await
        .or_internal(Api::Connect)?;
    if !changed {
        return Err(
            ConnectError::ResourceNotFound(format!("View {} not found.", request.view_id)).into(),
        );
    }
    Ok(Response {})
}
