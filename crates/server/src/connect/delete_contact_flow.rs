use super::{find_flow, find_instance};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_flow_id: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `DELETE /contact-flows/{InstanceId}/{ContactFlowId}` — removes a flow. Chats already running
/// it are not affected; new chats cannot start with it.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let (flow, _) = find_flow(state, &instance, &request.contact_flow_id).await?;
    state
        .store
        .delete_flow(&instance.id, &flow.id)
        .await
        .or_internal(Api::Connect)?;
    Ok(Response {})
}
