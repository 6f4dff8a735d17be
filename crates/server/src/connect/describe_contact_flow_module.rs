use super::{find_instance, id_from_arn};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::{FlowModule, sha256_hex};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_flow_module_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact_flow_module: ContactFlowModule,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContactFlowModule {
    arn: String,
    id: String,
    name: String,
    content: String,
    description: String,
    state: String,
    status: String,
    flow_module_content_sha256: String,
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<String>,
}

pub fn module_arn(state: &AppState, module: &FlowModule) -> String {
    format!(
        "{}/flow-module/{}",
        state.config.instance_arn(&module.instance_id),
        module.id
    )
}

/// `GET /contact-flow-modules/{InstanceId}/{ContactFlowModuleId}` — a module with its content;
/// the id may be an ARN.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let module_id = id_from_arn(&request.contact_flow_module_id);
    let module = state
        .store
        .get_flow_module(&instance.id, module_id)
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| {
            ConnectError::ResourceNotFound(format!(
                "Flow module {} not found.",
                request.contact_flow_module_id
            ))
        })?;
    Ok(Response {
        contact_flow_module: ContactFlowModule {
            arn: module_arn(state, &module),
            flow_module_content_sha256: sha256_hex(module.content.as_bytes()),
            version: 1,
            settings: (!module.settings.is_empty()).then_some(module.settings),
            id: module.id,
            name: module.name,
            content: module.content,
            description: module.description,
            state: module.state,
            status: module.status,
        },
    })
}
