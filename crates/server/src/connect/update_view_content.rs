use super::find_instance;
use super::views::{ViewInputContent, ViewShape, find_view_to_change};
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
    status: String,
    content: ViewInputContent,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    view: ViewShape,
}

/// `POST /views/{InstanceId}/{ViewId}` — replaces a customer-managed view's template, actions and
/// status; AWS-managed views are read-only.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let view = find_view_to_change(state, &instance, &request.view_id, "UpdateViewContent").await?;
    let content = request.content.check()?;
    let updated = View {
        status: request.status,
        template: content.template,
        actions: content.actions,
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
    Ok(Response {
        view: ViewShape::customer_managed(state, updated),
    })
}
