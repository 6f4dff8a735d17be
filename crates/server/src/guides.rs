//! Step-by-step guides in the agent workspace. When an agent accepts a contact with a
//! `DefaultAgentUI` hook ("Set event flow" → default flow for agent UI), or the chat ends for
//! them and the contact has a `DisconnectAgentUI` hook (disconnect flow for agent UI), that flow
//! runs as a guide: its own contact, related to the customer's, with the agent as its only
//! participant. A default guide still running in after-contact work goes on there unless a
//! disconnect guide takes its place. Its ShowView blocks wait for the agent's answer in the workspace, and
//! `UpdateContactAttributes` with `TargetContact: Related` writes onto the customer's contact.

use crate::agents::display_name;
use crate::connect::id_from_arn;
use crate::flows::{Trigger, ready_run};
use crate::state::AppState;
use crate::timers::TimerKind;
use liaison_core::content::EVENT_CHAT_ENDED;
use liaison_core::flow::{FLOW_TIMER, FlowState, ShownView, WaitEvent, validate};
use liaison_core::organisation::User;
use liaison_core::{
    Contact, ContactState, Participant, ParticipantRole, TokenKind, TokenRecord, hash_token,
    new_token,
};
use liaison_core::{ItemType, NewItem};
use liaison_store::{AgentContact, AgentContactState, Append, CreateChat, NewChat, StoreError};
use serde_json::{Value, json};

/// The hook whose flow guides after-contact work.
pub const AFTER_CONTACT_HOOK: &str = "DisconnectAgentUI";
/// The hook whose flow guides the agent from the moment they accept the contact.
pub const AGENT_UI_HOOK: &str = "DefaultAgentUI";
/// How long a guide contact may stay open, in timer minutes (Connect's chat default).
const GUIDE_MINUTES: i64 = 25 * 60;

/// A view a guide shows the agent now, waiting for their answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingView {
    pub guide_contact_id: String,
    pub view: ShownView,
    pub deadline_ms: Option<i64>,
}

impl AppState {
    /// The contact's flow run as stored, if any.
    pub async fn stored_flow_state(
        &self,
        contact_id: &str,
    ) -> Result<Option<FlowState>, StoreError> {
        Ok(self
            .store
            .get_timer(contact_id, FLOW_TIMER)
            .await?
            .and_then(|timer| serde_json::from_str(&timer.data).ok()))
    }

    /// The flows that guide an agent on the contact, as its hooks stand when the agent takes
    /// it: `(DefaultAgentUI, DisconnectAgentUI)`.
    pub async fn agent_ui_flows(
        &self,
        contact_id: &str,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        Ok(match self.stored_flow_state(contact_id).await? {
            Some(run) => (
                run.hooks.get(AGENT_UI_HOOK).cloned(),
                run.hooks.get(AFTER_CONTACT_HOOK).cloned(),
            ),
            None => (None, None),
        })
    }

    /// Starts the after-contact-work guide for the agent, if the contact had one when they
    /// took it; it ends the default guide if that still runs.
    pub async fn start_after_contact_guide(
        &self,
        taken: &AgentContact,
        agent_name: &str,
    ) -> Result<(), StoreError> {
        let Some(flow_ref) = &taken.after_contact_flow_id else {
            return Ok(());
        };
        if let Some(running) = &taken.guide_contact_id {
            // Straight to the store: nobody follows a guide's own chat, and ending it through
            // the chat path would come back here.
            let now = self.clock.now_ms();
            self.store
                .append(Append {
                    contact_id: running.clone(),
                    items: vec![NewItem::new(ItemType::Event, EVENT_CHAT_ENDED, None, now)],
                    end_contact_at: Some(now),
                    ..Append::default()
                })
                .await?;
            self.timers.forget(running);
        }
        self.start_guide(taken, flow_ref, agent_name).await
    }

    /// Starts the after-contact guides that are due among the user's `contacts` (as just read);
    /// `true` when it started any. A node that stopped between the end of a chat and the start
    /// of its guide left it due; the store records a guide before it is created, so two nodes
    /// never both start one.
    pub async fn start_due_guides(
        &self,
        user: &User,
        contacts: &[AgentContact],
    ) -> Result<bool, StoreError> {
        let mut started = false;
        for contact in contacts {
            let due = contact.state == AgentContactState::AfterContactWork
                && contact.guide_contact_id.is_none();
            if let (true, Some(flow_ref)) = (due, &contact.after_contact_flow_id) {
                tracing::info!(contact_id = contact.contact_id, "starting a due guide");
                self.start_guide(contact, flow_ref, &display_name(user))
                    .await?;
                started = true;
            }
        }
        Ok(started)
    }

    /// Runs `flow_ref` as a guide of the agent's contact, shown in their workspace.
    pub async fn start_guide(
        &self,
        taken: &AgentContact,
        flow_ref: &str,
        agent_name: &str,
    ) -> Result<(), StoreError> {
        let Some(flow) = self
            .store
            .get_flow(&taken.instance_id, id_from_arn(flow_ref))
            .await?
        else {
            tracing::warn!(
                contact_id = taken.contact_id,
                flow = flow_ref,
                "the guide's flow is gone"
            );
            return Ok(());
        };
        let Some(document) = validate(&flow.content).document else {
            tracing::warn!(
                contact_id = taken.contact_id,
                flow_id = flow.id,
                "the guide's flow cannot run"
            );
            return Ok(());
        };
        let Some(customer_contact) = self.store.get_contact(&taken.contact_id).await? else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        let guide_id = liaison_core::new_record_id();
        let guide = Contact {
            id: guide_id.clone(),
            instance_id: taken.instance_id.clone(),
            initial_contact_id: guide_id.clone(),
            related_contact_id: Some(taken.contact_id.clone()),
            flow_id: flow.id.clone(),
            state: ContactState::Open,
            // The guide sees the customer contact's attributes, as the guide's view data
            // usually reads them.
            attributes: customer_contact.attributes.clone(),
            segment_attributes: Some(json!({"connect:Subtype": {"ValueString": "connect:Guide"}})),
            customer_id: None,
            supported_content_types: vec![liaison_core::content::TEXT_PLAIN.to_string()],
            initiated_ms: now,
            ended_ms: None,
            expires_ms: now + GUIDE_MINUTES * self.config.timer_minute_ms,
            last_seq: 0,
            timer_config: Default::default(),
            data: Default::default(),
            watches_messages: false,
        };
        let agent = Participant {
            id: liaison_core::new_record_id(),
            contact_id: guide_id.clone(),
            role: ParticipantRole::Agent,
            display_name: agent_name.to_string(),
            joined_ms: now,
            left_ms: None,
            connected_ms: Some(now),
        };
        let expires_ms = guide.expires_ms;
        // Recorded first: a crash before the guide exists leaves a record of nothing (shown as
        // no guide), never a guide nobody sees.
        if !self
            .store
            .set_agent_guide(&taken.contact_id, &taken.user_id, &guide_id)
            .await?
        {
            return Ok(());
        }
        let created = self
            .store
            .create_chat(NewChat {
                customer_token: TokenRecord {
                    hash: hash_token(&new_token()),
                    kind: TokenKind::Participant,
                    participant_id: agent.id.clone(),
                    contact_id: guide_id.clone(),
                    expires_ms: Some(expires_ms),
                },
                contact: guide,
                customer: agent,
                items: Vec::new(),
                client_token: None,
                timers: vec![ready_run(&flow, &document, "API", now)],
                flow_logs: Vec::new(),
            })
            .await?;
        if !matches!(created, CreateChat::Created(_)) {
            return Ok(());
        }
        self.timers.arm_chat_deadline(&guide_id, expires_ms);
        self.timers.arm(&guide_id, TimerKind::FlowRun, Some(now));
        tracing::info!(
            contact_id = taken.contact_id,
            guide_contact_id = guide_id,
            "guide started"
        );
        Ok(())
    }

    /// The view a guide shows the agent now, if its run waits for their answer.
    pub async fn pending_view(
        &self,
        guide_contact_id: &str,
    ) -> Result<Option<PendingView>, StoreError> {
        let Some(contact) = self.store.get_contact(guide_contact_id).await? else {
            return Ok(None);
        };
        if !contact.is_open() {
            return Ok(None);
        }
        let Some(run) = self.stored_flow_state(guide_contact_id).await? else {
            return Ok(None);
        };
        if run.runner.is_some() || !run.waits_for(WaitEvent::ViewResult) {
            return Ok(None);
        }
        Ok(run.shown_view.clone().map(|view| PendingView {
            guide_contact_id: guide_contact_id.to_string(),
            view,
            deadline_ms: run.waiting.as_ref().and_then(|waiting| waiting.until_ms),
        }))
    }

    /// The agent answered the guide's view: its run takes the branch of `action`.
    pub fn answer_view(&self, guide_contact_id: &str, action: String, data: Value) {
        self.run_flow(guide_contact_id, Trigger::ViewAnswered { action, data });
    }

    /// Wakes the workspaces of the agents a guide contact works for: its view or its end
    /// changed what they see.
    pub async fn wake_guide_agents(&self, guide: &Contact) {
        let Some(related) = &guide.related_contact_id else {
            return;
        };
        match self.store.contact_agents(related).await {
            Ok(agents) => {
                for agent in agents {
                    if agent.guide_contact_id.as_deref() == Some(guide.id.as_str()) {
                        self.wake_agent(&agent.user_id);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, guide_contact_id = guide.id, "could not tell the agent about their guide")
            }
        }
    }
}
