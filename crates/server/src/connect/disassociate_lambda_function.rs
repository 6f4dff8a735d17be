use super::find_instance;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    function_arn: String,
}

#[derive(Serialize)]
pub struct Response {}

/// `DELETE /instance/{InstanceId}/lambda-function?functionArn=…` — flows may no longer invoke
/// the function (they take the error branch).
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let removed = state
        .store
        .disassociate_function(&instance.id, &request.function_arn)
        .await
        .or_internal(Api::Connect)?;
    if !removed {
        return Err(ConnectError::ResourceNotFound(format!(
            "Function {} is not associated with the instance.",
            request.function_arn
        ))
        .into());
    }
    Ok(Response {})
}
