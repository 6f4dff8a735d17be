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

/// Minutes into the week, Sunday 00:00 being 0, as Connect's schedules count days.
fn week_minute(day: &str, time: &TimeSlice) -> Option<i64> {
    let index = [
        "SUNDAY",
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
    ]
    .iter()
    .position(|d| *d == day)?;
    Some(index as i64 * 24 * 60 + time.hours * 60 + time.minutes)
}

const WEEK_MINUTES: i64 = 7 * 24 * 60;

impl HoursOfOperation {
    /// Whether the schedule is open at `now_ms`, in its own time zone. A day whose end is not
    /// after its start runs past midnight (00:00 to 00:00 is the whole day). `None` when the
    /// time zone is unknown.
    pub fn is_open_at(&self, now_ms: i64) -> Option<bool> {
        let zone = jiff::tz::TimeZone::get(&self.time_zone).ok()?;
        let local = jiff::Timestamp::from_millisecond(now_ms)
            .ok()?
            .to_zoned(zone)
            .datetime();
        let day = local.weekday().to_sunday_zero_offset() as i64;
        let now = day * 24 * 60 + i64::from(local.hour()) * 60 + i64::from(local.minute());
        Some(self.config.iter().any(|slot| {
            let (Some(start), Some(end)) = (
                week_minute(&slot.day, &slot.start_time),
                week_minute(&slot.day, &slot.end_time),
            ) else {
                return false;
            };
            let end = if end <= start { end + 24 * 60 } else { end };
            // The slot may run past Saturday midnight into Sunday.
            [now, now + WEEK_MINUTES]
                .iter()
                .any(|t| start <= *t && *t < end)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(day: &str, start: (i64, i64), end: (i64, i64)) -> DayHours {
        DayHours {
            day: day.into(),
            start_time: TimeSlice {
                hours: start.0,
                minutes: start.1,
            },
            end_time: TimeSlice {
                hours: end.0,
                minutes: end.1,
            },
        }
    }

    fn hours(time_zone: &str, config: Vec<DayHours>) -> HoursOfOperation {
        HoursOfOperation {
            id: "h".into(),
            instance_id: "i".into(),
            name: "Hours".into(),
            description: None,
            time_zone: time_zone.into(),
            config,
            tags: Tags::new(),
            modified_ms: 0,
        }
    }

    /// Epoch ms of a UTC date and time.
    fn utc(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn open_within_a_day_in_the_schedules_time_zone() {
        // 2026-11-23 is a Monday.
        let paris = hours("Europe/Paris", vec![slot("MONDAY", (9, 0), (17, 30))]);
        assert_eq!(paris.is_open_at(utc("2026-11-23T08:00:00Z")), Some(true)); // 09:00 in Paris
        assert_eq!(paris.is_open_at(utc("2026-11-23T07:59:00Z")), Some(false));
        assert_eq!(paris.is_open_at(utc("2026-11-23T16:29:00Z")), Some(true));
        assert_eq!(paris.is_open_at(utc("2026-11-23T16:30:00Z")), Some(false)); // 17:30: closed
        assert_eq!(paris.is_open_at(utc("2026-11-24T08:00:00Z")), Some(false)); // Tuesday
    }

    #[test]
    fn midnight_to_midnight_is_all_day_and_late_slots_run_past_midnight() {
        let all_day = hours("UTC", vec![slot("SATURDAY", (0, 0), (0, 0))]);
        assert_eq!(all_day.is_open_at(utc("2026-11-28T23:59:00Z")), Some(true));
        assert_eq!(all_day.is_open_at(utc("2026-11-29T00:00:00Z")), Some(false));
        // Saturday 22:00 to 02:00 runs into Sunday, across the week's end.
        let late = hours("UTC", vec![slot("SATURDAY", (22, 0), (2, 0))]);
        assert_eq!(late.is_open_at(utc("2026-11-29T01:00:00Z")), Some(true));
        assert_eq!(late.is_open_at(utc("2026-11-29T02:00:00Z")), Some(false));
        assert_eq!(late.is_open_at(utc("2026-11-28T21:59:00Z")), Some(false));
    }

    #[test]
    fn unknown_time_zones_are_not_guessed() {
        let odd = hours("Mars/Olympus", vec![slot("MONDAY", (0, 0), (0, 0))]);
        assert_eq!(odd.is_open_at(0), None);
    }
}
