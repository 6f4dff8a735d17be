use super::organisation::{DEFAULT_PAGE_SIZE, user_arn};
use super::{epoch_seconds, find_instance, paginate};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

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
    user_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    id: String,
    arn: String,
    username: String,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /users-summary/{InstanceId}` — the instance's users by username, a page at a time.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let users = state
        .store
        .list_users(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let summaries = users
        .into_iter()
        .map(|user| Summary {
            arn: user_arn(state, &user),
            last_modified_time: epoch_seconds(user.modified_ms),
            last_modified_region: state.config.region.clone(),
            id: user.id,
            username: user.username,
        })
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        user_summary_list: page,
        next_token,
    })
}
