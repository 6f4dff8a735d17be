//! What the organisation operations (users, routing profiles, queues, hours of operation, agent
//! statuses, security profiles) share: their ARNs, finding a record by id or ARN, and the checks
//! on queue references and media concurrencies.

use super::id_from_arn;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::Instance;
use liaison_core::organisation::{
    AgentStatus, HoursOfOperation, MediaConcurrency, Queue, RoutingProfile, RoutingProfileQueue,
    User,
};
use liaison_wire::{Api, ConnectError};
use serde::Deserialize;
use std::collections::BTreeSet;

/// The page size of the organisation `List*` operations when `maxResults` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// `<instance ARN>/<kind>/<id>`, the ARN form of every organisation resource.
fn resource_arn(state: &AppState, instance_id: &str, kind: &str, id: &str) -> String {
    format!("{}/{kind}/{id}", state.config.instance_arn(instance_id))
}

pub fn user_arn(state: &AppState, user: &User) -> String {
    resource_arn(state, &user.instance_id, "agent", &user.id)
}

pub fn queue_arn(state: &AppState, instance_id: &str, queue_id: &str) -> String {
    resource_arn(state, instance_id, "queue", queue_id)
}

pub fn routing_profile_arn(state: &AppState, profile: &RoutingProfile) -> String {
    resource_arn(state, &profile.instance_id, "routing-profile", &profile.id)
}

pub fn hours_arn(state: &AppState, hours: &HoursOfOperation) -> String {
    resource_arn(state, &hours.instance_id, "operating-hours", &hours.id)
}

pub fn agent_status_arn(state: &AppState, status: &AgentStatus) -> String {
    resource_arn(state, &status.instance_id, "agent-state", &status.id)
}

pub fn security_profile_arn(state: &AppState, instance_id: &str, profile_id: &str) -> String {
    resource_arn(state, instance_id, "security-profile", profile_id)
}

fn not_found(what: &str, reference: &str) -> ApiError {
    ConnectError::ResourceNotFound(format!("{what} {reference} not found.")).into()
}

/// The user `user_ref` (an id or ARN) names in the instance.
pub async fn require_user(
    state: &AppState,
    instance: &Instance,
    user_ref: &str,
) -> Result<User, ApiError> {
    state
        .store
        .get_user(&instance.id, id_from_arn(user_ref))
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| not_found("User", user_ref))
}

/// The queue `queue_ref` (an id or ARN) names in the instance.
pub async fn require_queue(
    state: &AppState,
    instance: &Instance,
    queue_ref: &str,
) -> Result<Queue, ApiError> {
    state
        .store
        .get_queue(&instance.id, id_from_arn(queue_ref))
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| not_found("Queue", queue_ref))
}

/// The routing profile `profile_ref` (an id or ARN) names in the instance.
pub async fn require_routing_profile(
    state: &AppState,
    instance: &Instance,
    profile_ref: &str,
) -> Result<RoutingProfile, ApiError> {
    state
        .store
        .get_routing_profile(&instance.id, id_from_arn(profile_ref))
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| not_found("Routing profile", profile_ref))
}

/// The hours of operation `hours_ref` (an id or ARN) names in the instance.
pub async fn require_hours(
    state: &AppState,
    instance: &Instance,
    hours_ref: &str,
) -> Result<HoursOfOperation, ApiError> {
    state
        .store
        .get_hours_of_operation(&instance.id, id_from_arn(hours_ref))
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| not_found("Hours of operation", hours_ref))
}

/// The agent status `status_ref` (an id or ARN) names in the instance.
pub async fn require_agent_status(
    state: &AppState,
    instance: &Instance,
    status_ref: &str,
) -> Result<AgentStatus, ApiError> {
    state
        .store
        .get_agent_status(&instance.id, id_from_arn(status_ref))
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| not_found("Agent status", status_ref))
}

/// The ids of the security profiles `profile_refs` (ids or ARNs) name, each once and in the
/// order given; every one must exist in the instance.
pub async fn require_security_profiles(
    state: &AppState,
    instance: &Instance,
    profile_refs: &[String],
) -> Result<Vec<String>, ApiError> {
    let known = state
        .store
        .list_security_profiles(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let mut ids: Vec<String> = Vec::with_capacity(profile_refs.len());
    for reference in profile_refs {
        let id = id_from_arn(reference);
        if !known.iter().any(|profile| profile.id == id) {
            return Err(not_found("Security profile", reference));
        }
        if !ids.iter().any(|taken| taken == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// A `RoutingProfileQueueConfig` as the request carries it.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueConfig {
    queue_reference: QueueReference,
    priority: i64,
    delay: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueueReference {
    queue_id: String,
    channel: String,
}

/// The queues a routing profile is to serve: each queue must exist in the instance (ids or
/// ARNs; stored as ids), and no (queue, channel) pair may appear twice.
pub async fn resolve_queue_configs(
    state: &AppState,
    instance: &Instance,
    configs: Vec<QueueConfig>,
) -> Result<Vec<RoutingProfileQueue>, ApiError> {
    let mut seen = BTreeSet::new();
    let mut resolved = Vec::with_capacity(configs.len());
    for config in configs {
        let reference = config.queue_reference;
        let queue = require_queue(state, instance, &reference.queue_id).await?;
        if queue.queue_type == "AGENT" {
            return Err(ConnectError::InvalidParameter(format!(
                "Queue {} is an agent queue; routing profiles list standard queues only.",
                reference.queue_id
            ))
            .into());
        }
        if !seen.insert((queue.id.clone(), reference.channel.clone())) {
            return Err(ConnectError::InvalidParameter(format!(
                "Queue {} appears more than once for channel {}.",
                reference.queue_id, reference.channel
            ))
            .into());
        }
        resolved.push(RoutingProfileQueue {
            queue_id: queue.id,
            channel: reference.channel,
            priority: config.priority,
            delay: config.delay,
        });
    }
    Ok(resolved)
}

/// Refuses `ManualAssignmentQueueConfigs`: Liaison routes every contact to agents itself.
pub fn refuse_manual_assignment(configs: Option<&serde_json::Value>) -> Result<(), ApiError> {
    if configs.is_some() {
        return Err(ConnectError::InvalidParameter(
            "ManualAssignmentQueueConfigs is not supported: Liaison routes contacts to agents itself."
                .into(),
        )
        .into());
    }
    Ok(())
}

/// Connect's rules beyond the model's 1–10 range: each channel at most once, and a voice
/// concurrency of exactly 1.
pub fn check_media_concurrencies(concurrencies: &[MediaConcurrency]) -> Result<(), ApiError> {
    let mut channels = BTreeSet::new();
    for concurrency in concurrencies {
        if !channels.insert(concurrency.channel.as_str()) {
            return Err(ConnectError::InvalidParameter(format!(
                "MediaConcurrencies names channel {} more than once.",
                concurrency.channel
            ))
            .into());
        }
        if concurrency.channel == "VOICE" && concurrency.concurrency != 1 {
            return Err(ConnectError::InvalidParameter(format!(
                "The VOICE concurrency must be 1, not {}.",
                concurrency.concurrency
            ))
            .into());
        }
    }
    Ok(())
}

/// A storage-independent failure inside an operation (a blocking task that did not finish, the
/// random source failing): logged, and answered as Connect's internal error.
pub fn internal_failure(what: &str, error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "{what}");
    ConnectError::InternalService("Liaison could not complete the request; try again.".into())
        .into()
}
