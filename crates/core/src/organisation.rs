//! The organisation around the chats: the users (agents) who answer them, the routing profiles
//! that say which queues an agent serves and how many chats at once, the queues themselves,
//! their hours of operation, the statuses an agent can be in, and the security profiles users
//! hold. The documents Connect passes through unchanged (identity info, phone config, media
//! concurrencies, hours) keep the model's member names, so they are stored and answered as given.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `Tags` map most organisation resources carry.
pub type Tags = BTreeMap<String, String>;

/// One start or end time of a day's opening hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeSlice {
    pub hours: i64,
    pub minutes: i64,
}

/// When a queue answers on one day of the week (`HoursOfOperationConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DayHours {
    /// `SUNDAY` … `SATURDAY`.
    pub day: String,
    pub start_time: TimeSlice,
    pub end_time: TimeSlice,
}

/// A weekly schedule queues refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct HoursOfOperation {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub description: Option<String>,
    /// An IANA time zone name such as `Europe/Paris`, as given.
    pub time_zone: String,
    pub config: Vec<DayHours>,
    pub tags: Tags,
    pub modified_ms: i64,
}

/// A queue's `OutboundCallerConfig`, kept as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutboundCallerConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_caller_id_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_caller_id_number_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_flow_id: Option<String>,
}

/// A queue contacts wait in until an agent takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub description: Option<String>,
    /// `STANDARD` (created by an administrator) or `AGENT`.
    pub queue_type: String,
    /// `None` only for a queue created before hours of operation existed, until the next start
    /// gives it the default hours.
    pub hours_of_operation_id: Option<String>,
    /// Most contacts the queue holds; `None` is no limit.
    pub max_contacts: Option<i64>,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    pub outbound_caller_config: Option<OutboundCallerConfig>,
    pub tags: Tags,
    pub modified_ms: i64,
}

/// `CrossChannelBehavior` of a media concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrossChannelBehavior {
    /// `ROUTE_CURRENT_CHANNEL_ONLY` or `ROUTE_ANY_CHANNEL`.
    pub behavior_type: String,
}

/// How many contacts of one channel an agent of a routing profile handles at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaConcurrency {
    /// `VOICE`, `CHAT`, `TASK` or `EMAIL`.
    pub channel: String,
    pub concurrency: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_channel_behavior: Option<CrossChannelBehavior>,
}

/// What agents of a routing profile take and how much of it at once.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingProfile {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub description: String,
    pub default_outbound_queue_id: String,
    pub media_concurrencies: Vec<MediaConcurrency>,
    /// `TIME_SINCE_LAST_ACTIVITY` or `TIME_SINCE_LAST_INBOUND`, if set.
    pub agent_availability_timer: Option<String>,
    /// The instance's own profile, created with it.
    pub is_default: bool,
    pub tags: Tags,
    pub modified_ms: i64,
}

/// One queue a routing profile serves, on one channel: agents take contacts from the queues of
/// the lowest priority number first, once a contact has waited `delay` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingProfileQueue {
    pub queue_id: String,
    pub channel: String,
    /// 1 (first) to 99.
    pub priority: i64,
    /// Seconds, 0 to 9999.
    pub delay: i64,
}

/// A user's name and contact details (`UserIdentityInfo`), kept as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

/// A user's `UserPhoneConfig`, kept as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PhoneConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_accept: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_contact_work_time_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_connection: Option<bool>,
}

/// The agent status a user is in and since when (`PutUserStatus`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserStatus {
    pub agent_status_id: String,
    pub since_ms: i64,
}

/// A user of an instance: an agent, a supervisor or an administrator. Its password hash, if any,
/// never leaves the store.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub instance_id: String,
    pub username: String,
    pub identity_info: IdentityInfo,
    pub phone_config: Option<PhoneConfig>,
    pub security_profile_ids: Vec<String>,
    pub routing_profile_id: String,
    pub tags: Tags,
    pub modified_ms: i64,
    /// `None` until the user's status is first set.
    pub status: Option<UserStatus>,
}

/// A status an agent can set (`Available`, `Offline`, or one of the instance's own).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStatus {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub description: Option<String>,
    /// `ROUTABLE` (contacts are routed to the agent), `OFFLINE`, or `CUSTOM` (a created one).
    pub status_type: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// Where the status appears in an agent's list, 1 to 50.
    pub display_order: Option<i64>,
    pub tags: Tags,
    pub modified_ms: i64,
}

/// A set of permissions users hold (`Admin`, `Agent`).
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityProfile {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub description: Option<String>,
    pub modified_ms: i64,
}
