use super::{check_flow_name_free, find_flow, find_instance};
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
    name: Option<String>,
    description: Option<String>,
}

#[derive(Serialize)]
pub struct Response {}

/// `POST /contact-flows/{InstanceId}/{ContactFlowId}/name` — renames a flow and/or changes its
/// description; names stay unique within the instance.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let (flow, _) = find_flow(state, &instance, &request.contact_flow_id).await?;
    if let Some(name) = &request.name {
        check_flow_name_free(state, &instance.id, name, Some(&flow.id)).await?;
    }
    let updated = Flow {
        name: request.name.unwrap_or(flow.name.clone()),
        description: request.description.unwrap_or(flow.description.clone()),
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
