use super::describe_contact_flow::flow_arn;
use super::{check_flow_content, check_flow_name_free, find_instance};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::{Flow, sha256_hex};
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    name: String,
    #[serde(rename = "Type")]
    flow_type: String,
    description: Option<String>,
    content: String,
    status: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact_flow_id: String,
    contact_flow_arn: String,
    flow_content_sha256: String,
}

/// `PUT /contact-flows/{InstanceId}` — imports an exported flow. A published flow must be
/// free of problems; a saved one may still contain blocks Liaison does not run (they take their
/// error branch).
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let status = request.status.unwrap_or_else(|| "PUBLISHED".into());
    check_flow_content(&request.content, &status)?;
    check_flow_name_free(state, &instance.id, &request.name, None).await?;
    let flow = Flow {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        name: request.name,
        flow_type: request.flow_type,
        state: "ACTIVE".into(),
        status,
        description: request.description.unwrap_or_default(),
        content: request.content,
        modified_ms: state.clock.now_ms(),
    };
    state
        .store
        .insert_flow(&flow)
        .await
        .or_internal(Api::Connect)?;
    Ok(Response {
        contact_flow_arn: flow_arn(state, &flow),
        flow_content_sha256: sha256_hex(flow.content.as_bytes()),
        contact_flow_id: flow.id,
    })
}
