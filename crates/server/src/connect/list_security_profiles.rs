use super::organisation::{DEFAULT_PAGE_SIZE, security_profile_arn};
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
    security_profile_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    id: String,
    arn: String,
    name: String,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /security-profiles-summary/{InstanceId}` — the security profiles users can hold
/// (`Admin` and `Agent` come with the instance), by name.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let profiles = state
        .store
        .list_security_profiles(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let summaries = profiles
        .into_iter()
        .map(|profile| Summary {
            arn: security_profile_arn(state, &profile.instance_id, &profile.id),
            last_modified_time: epoch_seconds(profile.modified_ms),
            last_modified_region: state.config.region.clone(),
            id: profile.id,
            name: profile.name,
        })
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        security_profile_summary_list: page,
        next_token,
    })
}
