//! Agents in chats: an agent taking a chat joins it as an `AGENT` participant, like any
//! participant of the Participant Service API; its leaving hands the chat to the disconnect flow
//! or ends it.

use crate::state::AppState;
use liaison_core::organisation::User;
use liaison_core::{Participant, ParticipantRole, TokenKind, TokenRecord, hash_token, new_token};
use liaison_store::{AddedParticipant, Appended, NewParticipant, StoreError};

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

impl AppState {
    /// Adds an agent to an open chat and connects it at once: the customer sees
    /// `participant.joined`, a custom bot present is disconnected, and the chat timers restart
    /// for the customer and the agent. `participant_id` is the agent's new participant (routing
    /// records it first). `None` when the chat is no longer open.
    pub async fn join_agent(
        &self,
        contact_id: &str,
        participant_id: &str,
        display_name: &str,
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
            display_name: display_name.to_string(),
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
        // The customer queue flow ends when an agent takes the chat; its hooks stay.
        self.stop_flow(&contact.id).await?;
        if let Appended::ContactClosed = self.connect_participant(&contact.id, &participant).await?
        {
            return Ok(None);
        }
        Ok(Some(AgentJoined {
            participant,
            participant_token: token,
        }))
    }
}
