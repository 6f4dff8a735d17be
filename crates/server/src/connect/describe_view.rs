use super::find_instance;
use super::views::{ViewShape, find_view};
use crate::error::ApiError;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    view_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    view: ViewShape,
}

/// `GET /views/{InstanceId}/{ViewId}` — a view with its content: a customer-managed view by id or
/// ARN, an AWS-managed one by name or ARN, either optionally qualified (`:$SAVED`, `:$LATEST`,
/// `:1`).
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let found = find_view(state, &instance, &request.view_id).await?;
    Ok(Response {
        view: ViewShape::new(state, found),
    })
}
