use super::describe_contact_flow_module::module_arn;
use super::{content_problems, find_instance};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::FlowModule;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    name: String,
    description: Option<String>,
    content: String,
    settings: Option<String>,
    client_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    id: String,
    arn: String,
}

/// `PUT /contact-flow-modules/{InstanceId}` — imports an exported flow module, published: its
/// content must be free of problems. A retry with a `ClientToken` that finds the very module it
/// created answers the same.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    content_problems(&request.content, "PUBLISHED")
        .map_err(|problems| ConnectError::InvalidContactFlowModule { problems })?;
    let module = FlowModule {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        name: request.name,
        description: request.description.unwrap_or_default(),
        content: request.content,
        settings: request.settings.unwrap_or_default(),
        state: "ACTIVE".into(),
        status: "PUBLISHED".into(),
        modified_ms: state.clock.now_ms(),
    };
    let inserted = state
        .store
        .insert_flow_module(&module)
        .await
        .or_internal(Api::Connect)?;
    if inserted {
        return Ok(Response {
            arn: module_arn(state, &module),
            id: module.id,
        });
    }
    let existing = state
        .store
        .list_flow_modules(&module.instance_id)
        .await
        .or_internal(Api::Connect)?
        .into_iter()
        .find(|m| m.name == module.name);
    match existing {
        Some(existing)
            if request.client_token.is_some()
                && existing.content == module.content
                && existing.description == module.description
                && existing.settings == module.settings =>
        {
            Ok(Response {
                arn: module_arn(state, &existing),
                id: existing.id,
            })
        }
        _ => Err(ConnectError::DuplicateResource(format!(
            "A flow module named '{}' already exists in this instance.",
            module.name
        ))
        .into()),
    }
}
