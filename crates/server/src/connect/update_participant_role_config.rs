use super::{find_instance, require_contact};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::ParticipantRole;
use liaison_core::idle::TimerType;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    contact_id: String,
    channel_configuration: ChannelConfiguration,
}

/// A union: the model lets exactly one channel be configured, and chat is the only one.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChannelConfiguration {
    chat: ChatConfiguration,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChatConfiguration {
    participant_timer_config_list: Vec<TimerSetting>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TimerSetting {
    participant_role: String,
    timer_type: String,
    timer_value: TimerValue,
}

/// A union: a duration or the `Unset` action.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TimerValue {
    participant_timer_action: Option<String>,
    participant_timer_duration_in_minutes: Option<u32>,
}

#[derive(Serialize)]
pub struct Response {}

fn invalid(message: impl Into<String>) -> ApiError {
    ConnectError::InvalidRequest(message.into()).into()
}

/// `PUT /contact/participant-role-config/{InstanceId}/{ContactId}` — sets or unsets the chat's
/// idle and auto-disconnect timers per role. Timers already running keep the configuration they
/// started with; this one applies from the next agent or custom participant that joins.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let contact = require_contact(state, &instance, &request.contact_id).await?;
    let mut config = contact.timer_config;
    let mut seen: Vec<(ParticipantRole, &str)> = Vec::new();
    for setting in &request
        .channel_configuration
        .chat
        .participant_timer_config_list
    {
        let role = match ParticipantRole::parse(&setting.participant_role) {
            Some(role @ (ParticipantRole::Customer | ParticipantRole::Agent)) => role,
            _ => {
                return Err(invalid(format!(
                    "ParticipantRole {} has no chat timers; use CUSTOMER or AGENT.",
                    setting.participant_role
                )));
            }
        };
        let timer = match setting.timer_type.as_str() {
            "IDLE" => TimerType::Idle,
            "DISCONNECT_NONCUSTOMER" => TimerType::DisconnectNonCustomer,
            other => {
                return Err(invalid(format!(
                    "TimerType {other} is not valid; use IDLE or DISCONNECT_NONCUSTOMER."
                )));
            }
        };
        if seen.contains(&(role, setting.timer_type.as_str())) {
            return Err(invalid(format!(
                "ParticipantTimerConfigList sets the {} timer of {} more than once.",
                setting.timer_type, setting.participant_role
            )));
        }
        seen.push((role, setting.timer_type.as_str()));
        let value = &setting.timer_value;
        let minutes = match (
            value.participant_timer_duration_in_minutes,
            value.participant_timer_action.as_deref(),
        ) {
            (Some(minutes), None) => Some(minutes),
            (None, Some("Unset")) => None,
            _ => {
                return Err(invalid(
                    "TimerValue must hold either ParticipantTimerDurationInMinutes (2 to 480) or ParticipantTimerAction Unset.",
                ));
            }
        };
        config.set(role, timer, minutes);
    }
    if !contact.is_open()
        || !state
            .store
            .set_timer_config(&contact.id, &config)
            .await
            .or_internal(Api::Connect)?
    {
        return Err(invalid(format!("Contact {} has ended.", contact.id)));
    }
    Ok(Response {})
}
