use super::find_instance;
use super::organisation::{
    internal_failure, require_routing_profile, require_security_profiles, user_arn,
};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::{IdentityInfo, PhoneConfig, Tags, User};
use liaison_core::password;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    username: String,
    password: Option<String>,
    identity_info: Option<IdentityInfo>,
    phone_config: Option<PhoneConfig>,
    directory_user_id: Option<String>,
    security_profile_ids: Vec<String>,
    routing_profile_id: String,
    hierarchy_group_id: Option<String>,
    tags: Option<Tags>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    user_id: String,
    user_arn: String,
}

/// `PUT /users/{InstanceId}` — adds a user. The instance manages identities itself
/// (CONNECT_MANAGED), so a password satisfying Connect's rule is required; only its Argon2id
/// hash is stored. Usernames are unique within the instance.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    if request.directory_user_id.is_some() {
        return Err(ConnectError::InvalidParameter(
            "DirectoryUserId applies to instances with an external directory; this instance manages its users itself (CONNECT_MANAGED).".into(),
        )
        .into());
    }
    if let Some(group) = &request.hierarchy_group_id {
        return Err(ConnectError::ResourceNotFound(format!(
            "Hierarchy group {group} not found: Liaison has no agent hierarchies."
        ))
        .into());
    }
    let Some(new_password) = request.password else {
        return Err(ConnectError::InvalidParameter(
            "Password is required: this instance manages its users' identities (CONNECT_MANAGED)."
                .into(),
        )
        .into());
    };
    if !password::meets_policy(&new_password) {
        return Err(ConnectError::InvalidParameter(
            "The password does not meet the requirements: 8 to 64 characters without spaces, with at least one lowercase letter, one uppercase letter and one digit.".into(),
        )
        .into());
    }
    let routing_profile =
        require_routing_profile(state, &instance, &request.routing_profile_id).await?;
    let security_profile_ids =
        require_security_profiles(state, &instance, &request.security_profile_ids).await?;
    let password_hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
        .await
        .map_err(|e| internal_failure("password hashing did not finish", e))?
        .map_err(|e| internal_failure("password hashing failed", e))?;
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        username: request.username,
        identity_info: request.identity_info.unwrap_or_default(),
        phone_config: request.phone_config,
        security_profile_ids,
        routing_profile_id: routing_profile.id,
        tags: request.tags.unwrap_or_default(),
        modified_ms: state.clock.now_ms(),
        status: None,
    };
    let created = state
        .store
        .create_user(&user, Some(&password_hash))
        .await
        .or_internal(Api::Connect)?;
    if !created {
        return Err(ConnectError::DuplicateResource(format!(
            "A user named '{}' already exists in this instance.",
            user.username
        ))
        .into());
    }
    state.agent_queue(&user).await.or_internal(Api::Connect)?;
    state.agent_changed(&user.instance_id, &user.id);
    Ok(Response {
        user_arn: user_arn(state, &user),
        user_id: user.id,
    })
}
