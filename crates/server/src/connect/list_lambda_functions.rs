use super::{find_instance, paginate};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

/// The page size when `maxResults` is absent (the model's largest).
const DEFAULT_PAGE_SIZE: usize = 25;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    lambda_functions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `GET /instance/{InstanceId}/lambda-functions` — the functions the instance's flows may invoke.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let functions = state
        .store
        .list_functions(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let (page, next_token) = paginate(
        functions,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        lambda_functions: page,
        next_token,
    })
}
