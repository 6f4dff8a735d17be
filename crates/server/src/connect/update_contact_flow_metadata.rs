use super::update_flow_metadata;
use crate::error::ApiError;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_flow_id: String,
    name: Option<String>,
    description: Option<String>,
    contact_flow_state: Option<String>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /contact-flows/{InstanceId}/{ContactFlowId}/metadata` — name, description and state
/// (`ACTIVE` / `ARCHIVED`) of a flow.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    update_flow_metadata(
        state,
        &request.instance_id,
        &request.contact_flow_id,
        request.name,
        request.description,
        request.contact_flow_state,
    )
    .await?;
    Ok(Response {})
}
