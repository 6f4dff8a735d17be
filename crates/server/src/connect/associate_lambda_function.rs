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

/// `PUT /instance/{InstanceId}/lambda-function` — lets the instance's flows invoke a function.
/// Liaison reaches it at the HTTP endpoint the configuration's `[functions]` table gives for its
/// ARN or name.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    if !request.function_arn.starts_with("arn:") || !request.function_arn.contains(":function:") {
        return Err(ConnectError::InvalidParameter(format!(
            "FunctionArn '{}' is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>).",
            request.function_arn
        ))
        .into());
    }
    state
        .store
        .associate_function(&instance.id, &request.function_arn, state.clock.now_ms())
        .await
        .or_internal(Api::Connect)?;
    Ok(Response {})
}
