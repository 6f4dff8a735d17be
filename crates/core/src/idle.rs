//! Chat timers (`UpdateParticipantRoleConfig`): per role, an idle timer that marks a quiet
//! participant idle and an auto-disconnect timer that removes every participant but the
//! customer.
//!
//! Timers run while a customer and an agent, or a customer and a custom participant, are both
//! connected: that stretch is an [`IdleSession`]. It takes the configuration in force when it
//! starts and keeps it until it ends, whatever updates come meanwhile. With a custom bot only the
//! customer is timed. Everything here is pure: callers pass the time in.

use crate::chat::{Participant, ParticipantRole};
use serde::{Deserialize, Serialize};

/// The name of a contact's idle session among its stored timers.
pub const SESSION_TIMER: &str = "participants";

/// Shortest and longest timer the API accepts, in minutes.
pub const MIN_TIMER_MINUTES: u32 = 2;
pub const MAX_TIMER_MINUTES: u32 = 480;

/// How long a custom participant has to call `CreateParticipantConnection`, in (timer) seconds.
pub const CUSTOM_PARTICIPANT_CONNECT_SECONDS: i64 = 15;

/// The timers of one role, in minutes; `None` is unset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleTimers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_minutes: Option<u32>,
}

/// A contact's timer configuration as the latest `UpdateParticipantRoleConfig` left it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerConfig {
    #[serde(default)]
    pub customer: RoleTimers,
    #[serde(default)]
    pub agent: RoleTimers,
}

/// Which of a role's two timers a setting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerType {
    Idle,
    DisconnectNonCustomer,
}

impl TimerConfig {
    /// The timers of a role; only customers and agents have any.
    pub fn for_role(&self, role: ParticipantRole) -> Option<RoleTimers> {
        match role {
            ParticipantRole::Customer => Some(self.customer),
            ParticipantRole::Agent => Some(self.agent),
            _ => None,
        }
    }

    /// Sets (`Some`) or unsets (`None`) one timer. Roles without timers are ignored.
    pub fn set(&mut self, role: ParticipantRole, timer: TimerType, minutes: Option<u32>) {
        let timers = match role {
            ParticipantRole::Customer => &mut self.customer,
            ParticipantRole::Agent => &mut self.agent,
            _ => return,
        };
        match timer {
            TimerType::Idle => timers.idle_minutes = minutes,
            TimerType::DisconnectNonCustomer => timers.disconnect_minutes = minutes,
        }
    }
}

/// One timed participant of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watch {
    pub participant_id: String,
    pub role: ParticipantRole,
    pub display_name: String,
    /// Timer lengths in milliseconds, fixed when the session started.
    pub idle_ms: Option<i64>,
    pub disconnect_ms: Option<i64>,
    /// Marked idle and not back yet.
    pub idle: bool,
    /// When the running timer expires: the idle timer while not idle (if set), the
    /// auto-disconnect timer otherwise. `None`: nothing runs (idle, and no auto-disconnect).
    pub due_ms: Option<i64>,
}

impl Watch {
    fn new(participant: &Participant, timers: RoleTimers, minute_ms: i64, now_ms: i64) -> Self {
        let mut watch = Watch {
            participant_id: participant.id.clone(),
            role: participant.role,
            display_name: participant.display_name.clone(),
            idle_ms: timers.idle_minutes.map(|m| i64::from(m) * minute_ms),
            disconnect_ms: timers.disconnect_minutes.map(|m| i64::from(m) * minute_ms),
            idle: false,
            due_ms: None,
        };
        watch.restart(now_ms);
        watch
    }

    /// The idle timer first when there is one, otherwise the auto-disconnect timer.
    fn restart(&mut self, now_ms: i64) {
        self.idle = false;
        self.due_ms = self.idle_ms.or(self.disconnect_ms).map(|ms| now_ms + ms);
    }

    fn is_timed(&self) -> bool {
        self.idle_ms.is_some() || self.disconnect_ms.is_some()
    }

    /// The participant as chat items name it.
    pub fn subject(&self, contact_id: &str) -> Participant {
        Participant {
            id: self.participant_id.clone(),
            contact_id: contact_id.to_string(),
            role: self.role,
            display_name: self.display_name.clone(),
            joined_ms: 0,
            left_ms: None,
            connected_ms: None,
        }
    }
}

/// What a timer did when it expired.
#[derive(Debug, Clone, PartialEq)]
pub enum Expiry {
    /// The participant was marked idle at `at_ms`.
    Idle { watch: Watch, at_ms: i64 },
    /// The participant's quiet lasted to the auto-disconnect at `at_ms`: everyone but the
    /// customer leaves, and the session is over.
    AutoDisconnect { watch: Watch, at_ms: i64 },
}

impl Expiry {
    /// The deadline that expired.
    pub fn at_ms(&self) -> i64 {
        match self {
            Expiry::Idle { at_ms, .. } | Expiry::AutoDisconnect { at_ms, .. } => *at_ms,
        }
    }
}

/// The timers of one customer / agent or customer / custom-participant pairing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleSession {
    /// The agent or custom participant whose joining started the session.
    pub partner_id: String,
    pub watches: Vec<Watch>,
}

impl IdleSession {
    /// The session that starts when `partner` (an agent or a custom participant) joins
    /// `customer`, or `None` when the configuration times neither of them.
    pub fn start(
        config: &TimerConfig,
        customer: &Participant,
        partner: &Participant,
        minute_ms: i64,
        now_ms: i64,
    ) -> Option<Self> {
        let mut watches = vec![Watch::new(customer, config.customer, minute_ms, now_ms)];
        // A custom participant has no timers of its own; an agent has the agent role's.
        if partner.role == ParticipantRole::Agent {
            watches.push(Watch::new(partner, config.agent, minute_ms, now_ms));
        }
        watches.retain(Watch::is_timed);
        (!watches.is_empty()).then(|| IdleSession {
            partner_id: partner.id.clone(),
            watches,
        })
    }

    /// The earliest running timer's expiry.
    pub fn due_ms(&self) -> Option<i64> {
        self.watches.iter().filter_map(|w| w.due_ms).min()
    }

    /// A message from `participant_id` restarts its timers. Returns its watch when it was idle
    /// until now (it has returned).
    pub fn message_from(&mut self, participant_id: &str, now_ms: i64) -> Option<Watch> {
        let watch = self
            .watches
            .iter_mut()
            .find(|w| w.participant_id == participant_id)?;
        let was_idle = watch.idle;
        watch.restart(now_ms);
        was_idle.then(|| watch.clone())
    }

    /// Runs every timer that expired by `now_ms`, earliest first. After an auto-disconnect
    /// nothing else runs: the session is over (see [`IdleSession::is_over`]).
    pub fn expire(&mut self, now_ms: i64) -> Vec<Expiry> {
        let mut expired = Vec::new();
        while let Some(index) = self.next_due(now_ms) {
            let watch = &mut self.watches[index];
            let at_ms = watch.due_ms.unwrap_or(now_ms);
            if watch.idle_ms.is_some() && !watch.idle {
                watch.idle = true;
                // The auto-disconnect timer starts when the participant becomes idle.
                watch.due_ms = watch.disconnect_ms.map(|ms| at_ms + ms);
                expired.push(Expiry::Idle {
                    watch: watch.clone(),
                    at_ms,
                });
            } else {
                watch.due_ms = None;
                expired.push(Expiry::AutoDisconnect {
                    watch: watch.clone(),
                    at_ms,
                });
                for other in &mut self.watches {
                    other.due_ms = None;
                }
                break;
            }
        }
        expired
    }

    /// Whether an auto-disconnect ended the session.
    pub fn is_over(&self, expired: &[Expiry]) -> bool {
        expired
            .iter()
            .any(|e| matches!(e, Expiry::AutoDisconnect { .. }))
    }

    fn next_due(&self, now_ms: i64) -> Option<usize> {
        self.watches
            .iter()
            .enumerate()
            .filter_map(|(index, w)| {
                w.due_ms
                    .filter(|due| *due <= now_ms)
                    .map(|due| (due, index))
            })
            .min()
            .map(|(_, index)| index)
    }
}

/// Why a custom participant cannot be added to a contact now.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomParticipantRefusal {
    /// A contact has at most one custom participant.
    AlreadyHasOne(Participant),
    /// Custom participants cannot join a contact an agent is in.
    AgentPresent(Participant),
}

/// Whether a participant still holds its place in the contact: it has not left and, for a
/// custom participant, it connected or may still connect (`connect_deadline_ms` is the creation
/// cut-off: custom participants created earlier and never connected have lost their place).
pub fn holds_place(participant: &Participant, connect_cutoff_ms: i64) -> bool {
    !participant.has_left()
        && (participant.role != ParticipantRole::CustomBot
            || participant.connected_ms.is_some()
            || participant.joined_ms > connect_cutoff_ms)
}

/// Checks the rules for adding a custom participant against the contact's participants.
pub fn custom_participant_refusal(
    participants: &[Participant],
    connect_cutoff_ms: i64,
) -> Option<CustomParticipantRefusal> {
    let present = participants
        .iter()
        .filter(|p| holds_place(p, connect_cutoff_ms));
    for participant in present {
        match participant.role {
            ParticipantRole::CustomBot => {
                return Some(CustomParticipantRefusal::AlreadyHasOne(participant.clone()));
            }
            ParticipantRole::Agent => {
                return Some(CustomParticipantRefusal::AgentPresent(participant.clone()));
            }
            _ => {}
        }
    }
    None
}

/// What happens when `newcomer` connects to a chat: the participants it displaces (an agent
/// displaces a custom participant) and the timers that run afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinPlan {
    pub displaced: Vec<Participant>,
    /// The new idle session; `None` stops any running one.
    pub session: Option<IdleSession>,
}

/// Plans `newcomer`'s arrival among the contact's present participants, with the contact's
/// current timer configuration.
pub fn plan_join(
    present: &[Participant],
    newcomer: &Participant,
    config: &TimerConfig,
    minute_ms: i64,
    now_ms: i64,
) -> JoinPlan {
    let displaced: Vec<Participant> = if newcomer.role == ParticipantRole::Agent {
        present
            .iter()
            .filter(|p| p.role == ParticipantRole::CustomBot && p.id != newcomer.id)
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let customer = present
        .iter()
        .find(|p| p.role == ParticipantRole::Customer && !p.has_left());
    let session = match (customer, newcomer.role) {
        (Some(customer), ParticipantRole::Agent | ParticipantRole::CustomBot) => {
            IdleSession::start(config, customer, newcomer, minute_ms, now_ms)
        }
        _ => None,
    };
    JoinPlan { displaced, session }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn person(id: &str, role: ParticipantRole) -> Participant {
        Participant {
            id: id.into(),
            contact_id: "c".into(),
            role,
            display_name: id.to_uppercase(),
            joined_ms: 0,
            left_ms: None,
            connected_ms: Some(0),
        }
    }

    fn config(
        customer: (Option<u32>, Option<u32>),
        agent: (Option<u32>, Option<u32>),
    ) -> TimerConfig {
        TimerConfig {
            customer: RoleTimers {
                idle_minutes: customer.0,
                disconnect_minutes: customer.1,
            },
            agent: RoleTimers {
                idle_minutes: agent.0,
                disconnect_minutes: agent.1,
            },
        }
    }

    fn customer() -> Participant {
        person("cu", ParticipantRole::Customer)
    }

    #[test]
    fn with_a_custom_bot_only_the_customer_is_timed() {
        let bot = person("bot", ParticipantRole::CustomBot);
        let config = config((Some(2), None), (Some(3), Some(4)));
        let session = IdleSession::start(&config, &customer(), &bot, MINUTE, 0).unwrap();
        assert_eq!(session.watches.len(), 1);
        assert_eq!(session.watches[0].participant_id, "cu");
        assert_eq!(session.due_ms(), Some(2 * MINUTE));
        // Agent timers alone time nobody while the partner is a bot.
        let agent_only = self::config((None, None), (Some(3), Some(4)));
        assert!(IdleSession::start(&agent_only, &customer(), &bot, MINUTE, 0).is_none());
    }

    #[test]
    fn an_agent_is_timed_with_the_agent_role_settings() {
        let agent = person("ag", ParticipantRole::Agent);
        let config = config((Some(5), None), (None, Some(3)));
        let session = IdleSession::start(&config, &customer(), &agent, MINUTE, 1000).unwrap();
        let agent_watch = &session.watches[1];
        assert_eq!(agent_watch.participant_id, "ag");
        // Only the disconnect timer is set for agents: it starts at once.
        assert_eq!(agent_watch.due_ms, Some(1000 + 3 * MINUTE));
        assert_eq!(session.due_ms(), Some(1000 + 3 * MINUTE));
    }

    #[test]
    fn idle_runs_first_then_auto_disconnect_from_the_moment_of_idleness() {
        let bot = person("bot", ParticipantRole::CustomBot);
        let config = config((Some(2), Some(3)), (None, None));
        let mut session = IdleSession::start(&config, &customer(), &bot, MINUTE, 0).unwrap();
        assert!(session.expire(2 * MINUTE - 1).is_empty());
        let expired = session.expire(2 * MINUTE + 40);
        assert!(matches!(&expired[..], [Expiry::Idle { at_ms, .. }] if *at_ms == 2 * MINUTE));
        assert!(session.watches[0].idle);
        assert_eq!(session.due_ms(), Some(5 * MINUTE));
        let expired = session.expire(5 * MINUTE);
        assert!(matches!(&expired[..], [Expiry::AutoDisconnect { .. }]));
        assert!(session.is_over(&expired));
        assert_eq!(session.due_ms(), None);
    }

    #[test]
    fn a_late_run_fires_idle_and_disconnect_in_order() {
        let bot = person("bot", ParticipantRole::CustomBot);
        let config = config((Some(2), Some(2)), (None, None));
        let mut session = IdleSession::start(&config, &customer(), &bot, MINUTE, 0).unwrap();
        let expired = session.expire(60 * MINUTE);
        assert!(matches!(
            &expired[..],
            [Expiry::Idle { .. }, Expiry::AutoDisconnect { at_ms, .. }] if *at_ms == 4 * MINUTE
        ));
    }

    #[test]
    fn messages_reset_timers_and_bring_idle_participants_back() {
        let bot = person("bot", ParticipantRole::CustomBot);
        let config = config((Some(2), Some(10)), (None, None));
        let mut session = IdleSession::start(&config, &customer(), &bot, MINUTE, 0).unwrap();
        assert!(session.message_from("cu", MINUTE).is_none(), "not idle yet");
        assert_eq!(session.due_ms(), Some(3 * MINUTE));
        session.expire(3 * MINUTE);
        let back = session.message_from("cu", 4 * MINUTE).expect("was idle");
        assert_eq!(back.participant_id, "cu");
        assert!(!session.watches[0].idle);
        // The idle timer runs again first, not the auto-disconnect one.
        assert_eq!(session.due_ms(), Some(6 * MINUTE));
        assert!(
            session.message_from("bot", 5 * MINUTE).is_none(),
            "the bot is not timed"
        );
    }

    #[test]
    fn only_a_disconnect_timer_starts_at_once() {
        let bot = person("bot", ParticipantRole::CustomBot);
        let config = config((None, Some(2)), (None, None));
        let mut session = IdleSession::start(&config, &customer(), &bot, MINUTE, 0).unwrap();
        let expired = session.expire(2 * MINUTE);
        assert!(matches!(&expired[..], [Expiry::AutoDisconnect { .. }]));
    }

    #[test]
    fn an_idle_timer_alone_leaves_the_participant_idle() {
        let bot = person("bot", ParticipantRole::CustomBot);
        let config = config((Some(2), None), (None, None));
        let mut session = IdleSession::start(&config, &customer(), &bot, MINUTE, 0).unwrap();
        assert_eq!(session.expire(3 * MINUTE).len(), 1);
        assert_eq!(session.due_ms(), None);
        assert!(!session.is_over(&[]));
    }

    #[test]
    fn one_custom_participant_and_none_beside_an_agent() {
        let mut pending_bot = person("b1", ParticipantRole::CustomBot);
        pending_bot.connected_ms = None;
        pending_bot.joined_ms = 1_000;
        let participants = vec![customer(), pending_bot.clone()];
        // Created after the cut-off and not connected yet: it still holds its place.
        assert!(matches!(
            custom_participant_refusal(&participants, 500),
            Some(CustomParticipantRefusal::AlreadyHasOne(p)) if p.id == "b1"
        ));
        // Its connection window closed: it no longer counts.
        assert_eq!(custom_participant_refusal(&participants, 1_000), None);
        let with_agent = vec![customer(), person("ag", ParticipantRole::Agent)];
        assert!(matches!(
            custom_participant_refusal(&with_agent, 0),
            Some(CustomParticipantRefusal::AgentPresent(_))
        ));
        let mut left_agent = person("ag", ParticipantRole::Agent);
        left_agent.left_ms = Some(5);
        assert_eq!(
            custom_participant_refusal(&[customer(), left_agent], 0),
            None
        );
    }

    #[test]
    fn an_agent_joining_displaces_the_bot_and_restarts_timers_with_the_latest_config() {
        let bot = person("bot", ParticipantRole::CustomBot);
        let agent = person("ag", ParticipantRole::Agent);
        let present = vec![customer(), bot.clone()];
        let config = config((Some(4), None), (Some(3), None));
        let plan = plan_join(&present, &agent, &config, MINUTE, 10 * MINUTE);
        assert_eq!(plan.displaced, vec![bot.clone()]);
        let session = plan.session.unwrap();
        assert_eq!(session.partner_id, "ag");
        assert_eq!(session.watches.len(), 2);
        assert_eq!(session.due_ms(), Some(13 * MINUTE));
        // A bot joining displaces nobody; with no customer timers nothing runs.
        let plan = plan_join(&[customer()], &bot, &TimerConfig::default(), MINUTE, 0);
        assert!(plan.displaced.is_empty() && plan.session.is_none());
    }

    #[test]
    fn configuration_updates_set_and_unset_single_timers() {
        let mut config = TimerConfig::default();
        config.set(ParticipantRole::Customer, TimerType::Idle, Some(2));
        config.set(
            ParticipantRole::Agent,
            TimerType::DisconnectNonCustomer,
            Some(480),
        );
        config.set(ParticipantRole::Customer, TimerType::Idle, None);
        config.set(ParticipantRole::CustomBot, TimerType::Idle, Some(5));
        assert_eq!(config.customer, RoleTimers::default());
        assert_eq!(config.agent.disconnect_minutes, Some(480));
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<TimerConfig>(&text).unwrap(), config);
    }
}
