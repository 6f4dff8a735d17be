use super::{InstanceView, find_instance};
use crate::error::ApiError;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    instance: InstanceView,
}

/// `GET /instance/{InstanceId}` — one hosted instance.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    Ok(Response {
        instance: InstanceView::new(state, instance),
    })
}
