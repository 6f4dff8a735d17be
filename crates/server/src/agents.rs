//! Agents in chats: an agent taking a chat joins it as an `AGENT` participant, like any
//! participant of the Participant Service API; its leaving hands the chat to the disconnect flow
//! or ends it.
//!
//! When the contact has whisper flows (`AgentWhisper`, `CustomerWhisper` hooks), the agent's
//! participant is added at acceptance but joins the chat only when they have run: the agent
//! whisper first (its messages for the agent only), then the customer whisper (for the
//! customer only), each cut short after 2 minutes.

use crate::connect::organisation::user_arn;
use crate::state::AppState;
use liaison_core::flow::{AgentFacts, Whisper};
use liaison_core::organisation::{Queue, User};
use liaison_core::{
    Contact, Participant, ParticipantRole, TokenKind, TokenRecord, hash_token, new_token,
};
use liaison_store::{AddedParticipant, Appended, NewParticipant, StoreError};

/// The hook naming the flow played to the agent before they join.
pub const AGENT_WHISPER_HOOK: &str = "AgentWhisper";
/// The hook naming the flow played to the customer before the agent joins.
pub const CUSTOMER_WHISPER_HOOK: &str = "CustomerWhisper";
/// How long a whisper may run, in chat minutes (Connect's limit).
const WHISPER_MINUTES: i64 = 2;

/// An agent who took a chat: its participant and the token it connects with
/// (`CreateParticipantConnection`).
#[derive(Debug, Clone)]
pub struct AgentJoined {
    pub participant: Participant,
    pub participant_token: String,
}

/// The name customers see for an agent: first and last name, or else the username.
pub fn display_name(user: &User) -> String {
    let info = &user.identity_info;
    let name = [info.first_name.as_deref(), info.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        user.username.clone()
    } else {
        name
    }
}

/// The name of an agent's own queue.
fn agent_queue_name(user: &User) -> String {
    format!("agent/{}", user.username)
}

impl AppState {
    /// The user's agent queue (Connect creates one with every user): where a transfer to the
    /// agent puts a contact. Its identifier is the user's, which is how routing knows whose it
    /// is. Created when missing (users from before agent queues existed).
    pub async fn agent_queue(&self, user: &User) -> Result<String, StoreError> {
        // The name is the username's, unless a queue (an earlier user's of that name, say)
        // has it: then the user id's, which nothing else has.
        for name in [agent_queue_name(user), format!("agent/{}", user.id)] {
            if self
                .store
                .get_queue(&user.instance_id, &user.id)
                .await?
                .is_some()
            {
                return Ok(user.id.clone());
            }
            self.store
                .create_queue(&Queue {
                    id: user.id.clone(),
                    instance_id: user.instance_id.clone(),
                    name,
                    description: None,
                    queue_type: "AGENT".into(),
                    hours_of_operation_id: None,
                    max_contacts: None,
                    status: "ENABLED".into(),
                    outbound_caller_config: None,
                    tags: Default::default(),
                    modified_ms: self.clock.now_ms(),
                })
                .await?;
        }
        match self.store.get_queue(&user.instance_id, &user.id).await? {
            Some(_) => Ok(user.id.clone()),
            None => Err(StoreError(format!(
                "no agent queue could be made for user {}",
                user.id
            ))),
        }
    }

    /// Adds `user` to an open chat as its agent. Without whisper flows the agent joins at once:
    /// the customer sees `participant.joined`, a custom bot present is disconnected, and the
    /// chat timers restart for the customer and the agent. With them, the agent joins when the
    /// whispers end. `participant_id` is the agent's new participant (routing records it
    /// first). `None` when the chat is no longer open.
    pub async fn join_agent(
        &self,
        contact_id: &str,
        participant_id: &str,
        user: &User,
    ) -> Result<Option<AgentJoined>, StoreError> {
        let Some(contact) = self.store.get_contact(contact_id).await? else {
            return Ok(None);
        };
        if !contact.is_open() {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        let participant = Participant {
            id: participant_id.to_string(),
            contact_id: contact.id.clone(),
            role: ParticipantRole::Agent,
            display_name: display_name(user),
            joined_ms: now,
            left_ms: None,
            connected_ms: None,
        };
        let token = new_token();
        let added = self
            .store
            .add_participant(NewParticipant {
                participant: participant.clone(),
                token: TokenRecord {
                    hash: hash_token(&token),
                    kind: TokenKind::Participant,
                    participant_id: participant.id.clone(),
                    contact_id: contact.id.clone(),
                    expires_ms: Some(contact.expires_ms),
                },
                client_token: None,
                connect_cutoff_ms: now - self.config.custom_participant_connect_ms(),
            })
            .await?;
        if added != AddedParticipant::Added {
            return Ok(None);
        }
        let whispers = self.whisper_flows(&contact).await?;
        let joined = AgentJoined {
            participant,
            participant_token: token,
        };
        let (first, then) = match whispers {
            (Some(agent), customer) => (Some((agent, ParticipantRole::Agent)), customer),
            (None, Some(customer)) => (Some((customer, ParticipantRole::Customer)), None),
            (None, None) => (None, None),
        };
        if let Some((flow_id, to)) = first {
            let whisper = Whisper {
                to,
                agent_participant_id: participant_id.to_string(),
                agent: AgentFacts {
                    user_name: user.username.clone(),
                    first_name: user.identity_info.first_name.clone(),
                    last_name: user.identity_info.last_name.clone(),
                    arn: user_arn(self, user),
                },
                until_ms: now + WHISPER_MINUTES * self.config.timer_minute_ms,
                then,
            };
            // The whisper replaces the customer queue flow, which ends as the agent takes the
            // chat.
            if self
                .queue_whisper(&contact, &flow_id, whisper.clone())
                .await?
            {
                tracing::info!(contact_id, flow_id, "the agent joins after the whispers");
                return Ok(Some(joined));
            }
            self.whisper_ended(&contact, whisper).await?;
            return Ok(Some(joined));
        }
        // The customer queue flow ends when an agent takes the chat; its hooks stay.
        self.stop_flow(&contact.id).await?;
        if let Appended::ContactClosed = self
            .connect_participant(&contact.id, &joined.participant)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(joined))
    }

    /// The contact's whisper flows that exist: `(agent whisper, customer whisper)` ids.
    async fn whisper_flows(
        &self,
        contact: &Contact,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        let Some(run) = self.stored_flow_state(&contact.id).await? else {
            return Ok((None, None));
        };
        let mut found = [None, None];
        for (slot, hook) in found
            .iter_mut()
            .zip([AGENT_WHISPER_HOOK, CUSTOMER_WHISPER_HOOK])
        {
            if let Some(flow_ref) = run.hooks.get(hook) {
                *slot = self
                    .flow_document(contact, flow_ref)
                    .await?
                    .map(|(flow, _)| flow.id);
                if slot.is_none() {
                    tracing::warn!(
                        contact_id = contact.id,
                        hook,
                        flow_ref,
                        "whisper flow missing or invalid; skipped"
                    );
                }
            }
        }
        let [agent, customer] = found;
        Ok((agent, customer))
    }

    /// A whisper is over (its flow ended, failed, or ran out of time): the customer whisper
    /// follows the agent whisper, and after the last one the agent joins the chat.
    pub async fn whisper_ended(
        &self,
        contact: &Contact,
        whisper: Whisper,
    ) -> Result<(), StoreError> {
        if let Some(flow_id) = whisper.then.clone() {
            let next = Whisper {
                to: ParticipantRole::Customer,
                until_ms: self.clock.now_ms() + WHISPER_MINUTES * self.config.timer_minute_ms,
                then: None,
                ..whisper
            };
            if self.queue_whisper(contact, &flow_id, next.clone()).await? {
                return Ok(());
            }
            return Box::pin(self.whisper_ended(contact, next)).await;
        }
        // Joined once only: a run resumed after a crash may end its whisper again.
        let contact_id = contact.id.as_str();
        let waiting_agent = self
            .store
            .list_participants(contact_id)
            .await?
            .into_iter()
            .find(|p| {
                p.id == whisper.agent_participant_id && !p.has_left() && p.connected_ms.is_none()
            });
        if let Some(agent) = waiting_agent {
            self.connect_participant(contact_id, &agent).await?;
            self.holders.forget_contact(contact_id);
            tracing::info!(contact_id, "whispers over; the agent joined the chat");
        }
        Ok(())
    }
}
