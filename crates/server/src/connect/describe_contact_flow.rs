use super::{epoch_seconds, find_flow, find_instance};
use crate::error::ApiError;
use crate::state::AppState;
use liaison_core::{Flow, sha256_hex};
use liaison_wire::ConnectError;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_flow_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact_flow: ContactFlow,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContactFlow {
    arn: String,
    id: String,
    name: String,
    #[serde(rename = "Type")]
    flow_type: String,
    state: String,
    status: String,
    description: String,
    content: String,
    flow_content_sha256: String,
    version: i64,
    last_modified_time: f64,
    last_modified_region: String,
}

pub fn flow_arn(state: &AppState, flow: &Flow) -> String {
    format!(
        "{}/contact-flow/{}",
        state.config.instance_arn(&flow.instance_id),
        flow.id
    )
}

/// `GET /contact-flows/{InstanceId}/{ContactFlowId}` — a flow with its content. The id may be an
/// ARN and may carry a `:$SAVED`, `:$LATEST` or version qualifier.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let (flow, qualifier) = find_flow(state, &instance, &request.contact_flow_id).await?;
    let flow_id = flow.id.as_str();
    if flow.status == "SAVED" && qualifier != Some("$SAVED") {
        return Err(ConnectError::InvalidRequest(format!(
            "Contact flow {flow_id} is not published; describe it as {flow_id}:$SAVED."
        ))
        .into());
    }
    Ok(Response {
        contact_flow: ContactFlow {
            arn: flow_arn(state, &flow),
            flow_content_sha256: sha256_hex(flow.content.as_bytes()),
            last_modified_time: epoch_seconds(flow.modified_ms),
            last_modified_region: state.config.region.clone(),
            version: 1,
            id: flow.id,
            name: flow.name,
            flow_type: flow.flow_type,
            state: flow.state,
            status: flow.status,
            description: flow.description,
            content: flow.content,
        },
    })
}
