use super::{check_flow_content, find_flow, find_instance};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::Flow;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_flow_id: String,
    content: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /contact-flows/{InstanceId}/{ContactFlowId}/content` — replaces a flow's content,
/// checked as CreateContactFlow checks it. Chats already running keep the flow they started.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let (flow, _) = find_flow(state, &instance, &request.contact_flow_id).await?;
    check_flow_content(&request.content, &flow.status)?;
    let updated = Flow {
        content: request.content,
        modified_ms: state.clock.now_ms(),
        ..flow
    };
    state
        .store
        .update_flow(&updated)
        .await
        .or_internal(Api::Connect)?;
    Ok(Response {})
}
