use super::organisation::{require_user, user_arn};
use super::{epoch_seconds, find_instance};
use crate::error::ApiError;
use crate::state::AppState;
use liaison_core::organisation::{IdentityInfo, PhoneConfig, Tags};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    user_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    user: UserView,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UserView {
    id: String,
    arn: String,
    username: String,
    identity_info: IdentityInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_config: Option<PhoneConfig>,
    security_profile_ids: Vec<String>,
    routing_profile_id: String,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /users/{InstanceId}/{UserId}` — a user's identity, phone settings, security profiles
/// and routing profile (never its password).
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let user = require_user(state, &instance, &request.user_id).await?;
    Ok(Response {
        user: UserView {
            arn: user_arn(state, &user),
            last_modified_time: epoch_seconds(user.modified_ms),
            last_modified_region: state.config.region.clone(),
            id: user.id,
            username: user.username,
            identity_info: user.identity_info,
            phone_config: user.phone_config,
            security_profile_ids: user.security_profile_ids,
            routing_profile_id: user.routing_profile_id,
            tags: user.tags,
        },
    })
}
