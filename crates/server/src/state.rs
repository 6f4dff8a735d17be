//! What every request handler shares, and the chat actions more than one of them performs.

use crate::bus::Bus;
use crate::timers::{TimerKind, Timers};
use crate::ws::SocketRegistry;
use liaison_core::content::{
    EVENT_AUTO_DISCONNECTION, EVENT_CHAT_ENDED, EVENT_PARTICIPANT_IDLE, EVENT_PARTICIPANT_JOINED,
    EVENT_PARTICIPANT_LEFT, EVENT_PARTICIPANT_RETURNED,
};
use liaison_core::idle::{
    CUSTOM_PARTICIPANT_CONNECT_SECONDS, Expiry, IdleSession, SESSION_TIMER, holds_place, plan_join,
};
use liaison_core::{Clock, Contact, ItemType, NewItem, Participant, ParticipantRole};
use liaison_store::{Append, Appended, Store, StoreError, Timer, TimerEffect, TimerUpdate};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Settings the server needs at run time.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Region used in ARNs.
    pub region: String,
    /// Account id used in ARNs.
    pub account_id: String,
    /// Admin SigV4 key pairs (access key id, secret).
    pub admin_keys: Vec<(String, String)>,
    /// Base URL clients reach this server at (e.g. `https://chat.example.com`); WebSocket URLs
    /// are built from it. When unset they are built from the request's `Host`.
    pub public_url: Option<String>,
    /// How long one "minute" of chat timers lasts, in milliseconds (60,000 normally).
    pub timer_minute_ms: i64,
    /// Largest accepted difference between a SigV4 request's time and ours.
    pub max_clock_skew_secs: i64,
    /// Where flows reach their Lambda functions: function ARN or name → HTTP URL.
    pub functions: std::collections::BTreeMap<String, String>,
    /// Flow runs a node may have pending before StartChatContact answers
    /// `LimitExceededException`: past it, flows already fall behind, and new chats would only
    /// wait longer for their first words.
    pub max_pending_flow_runs: i64,
    /// Write every flow block to the flow logs, not only those of flows that turned logging on
    /// with `UpdateFlowLoggingBehavior`.
    pub log_every_flow_block: bool,
    /// How long an agent has to accept an offered chat, in timer seconds.
    pub offer_seconds: i64,
    /// Chats one client address may start through widgets per minute.
    pub widget_starts_per_client_minute: u32,
    /// Chats one widget may start per minute, from all its pages.
    pub widget_starts_per_widget_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for per-client limits).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve the demo page at `/demo` (with a widget anyone reaching it can chat through).
    pub demo_page: bool,
    /// Largest attachment a participant may share, in bytes.
    pub max_attachment_bytes: i64,
    /// An HTTP endpoint that approves or rejects each completed attachment before it is shown.
    pub attachment_scanner_url: Option<String>,
}

impl ServerConfig {
    /// Defaults suitable for tests and a first run: one region, one account, no keys.
    pub fn new(admin_keys: Vec<(String, String)>) -> Self {
        ServerConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            admin_keys,
            public_url: None,
            timer_minute_ms: 60_000,
            max_clock_skew_secs: 300,
            functions: Default::default(),
            max_pending_flow_runs: 4_096,
            log_every_flow_block: false,
            offer_seconds: crate::routing::OFFER_SECONDS,
            widget_starts_per_client_minute: 30,
            widget_starts_per_widget_minute: 1_200,
            trusted_proxies: Vec::new(),
            demo_page: true,
            max_attachment_bytes: liaison_core::attachment::DEFAULT_MAX_ATTACHMENT_BYTES,
            attachment_scanner_url: None,
        }
    }

    /// How long a custom participant has to connect after CreateParticipant (15 s, scaled
    /// with the timer minute).
    pub fn custom_participant_connect_ms(&self) -> i64 {
        CUSTOM_PARTICIPANT_CONNECT_SECONDS * self.timer_minute_ms / 60
    }

    pub fn instance_arn(&self, instance_id: &str) -> String {
        format!(
            "arn:aws:connect:{}:{}:instance/{instance_id}",
            self.region, self.account_id
        )
    }
}

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: ServerConfig,
    pub bus: Arc<Bus>,
    /// Set in cluster mode: tells the other nodes about this node's writes.
    pub announcer: Option<crate::bus::cluster::Announcer>,
    pub timers: Timers,
    pub sockets: SocketRegistry,
    pub metrics: crate::metrics::Metrics,
    /// Token lookups, remembered when this node is its store's only writer.
    pub holders: crate::holders::HolderCache,
    /// Calls function endpoints for InvokeLambdaFunction.
    pub http: reqwest::Client,
    /// Participants that chat timers or a newcomer removed; what continues the chat (the flow
    /// a Wait block waits in) listens here.
    pub removals: broadcast::Sender<Removal>,
    /// Flow runs this node drives at once: more would only queue for the store's connections,
    /// and a burst of chats should finish its flows in order rather than all slowly.
    pub flow_drives: tokio::sync::Semaphore,
    /// This node's name among the nodes sharing the store.
    pub node: String,
    /// Routing facts that changed go here, to the node that routes.
    pub routing: crate::routing::RoutingInbox,
    /// How many chats widgets may still start this minute.
    pub widget_limits: crate::widgets::StartLimits,
    /// Attachment uploads and downloads in progress on this node: each holds a whole file in
    /// memory, so they are bounded.
    pub attachment_transfers: tokio::sync::Semaphore,
}

/// A participant removed from a chat by Liaison rather than by its own DisconnectParticipant.
#[derive(Debug, Clone, PartialEq)]
pub struct Removal {
    pub contact_id: String,
    pub participant: Participant,
    pub cause: RemovalCause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalCause {
    /// An auto-disconnect timer expired.
    AutoDisconnect,
    /// An agent joined the chat of a custom participant.
    DisplacedByAgent,
}

/// What an update did to a contact's idle session, seen from outside the store.
#[derive(Default)]
struct SessionOutcome {
    due_ms: Option<i64>,
    removed: Vec<Participant>,
}

/// The items and departures an idle-session change produces.
#[derive(Default)]
struct SessionChange {
    items: Vec<NewItem>,
    removed: Vec<Participant>,
}

fn transient_event(content_type: &str, subject: &Participant, now_ms: i64) -> NewItem {
    let mut item = NewItem::new(ItemType::Event, content_type, Some(subject), now_ms);
    item.in_transcript = false;
    item
}

/// Cheap to clone; every handler gets one.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The base of URLs handed to clients: the configured public URL, else the host the client used
/// (`localhost` as `127.0.0.1`, which ChatJS's checks accept).
pub fn client_base(public_url: Option<&str>, host: Option<&str>) -> String {
    match public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = host.unwrap_or("127.0.0.1");
            match host.strip_prefix("localhost") {
                Some(port) => format!("http://127.0.0.1{port}"),
                None => format!("http://{host}"),
            }
        }
    }
}

impl AppState {
    /// The base of URLs handed to clients (see [`client_base`]).
    pub fn http_base(&self, host: Option<&str>) -> String {
        client_base(self.config.public_url.as_deref(), host)
    }

    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }

    /// Writes to a contact's log, then tells its sockets. Ending the contact also drops its
    /// deadline.
    pub async fn append(&self, append: Append) -> Result<Appended, StoreError> {
        let contact_id = append.contact_id.clone();
        let ends = append.end_contact_at.is_some();
        let left = append.participant_left.as_ref().map(|(id, _)| id.clone());
        let changes_participants =
            ends || append.participant_left.is_some() || append.participant_connected.is_some();
        let started = std::time::Instant::now();
        let outcome = self.store.append(append).await?;
        self.metrics.observe_write(started.elapsed());
        if changes_participants {
            self.holders.forget_contact(&contact_id);
        }
        if let Appended::Written(items) = &outcome {
            if let Some(last) = items.last() {
                self.bus.publish_items(&contact_id, items);
                if let Some(announcer) = &self.announcer {
                    announcer.announce(&contact_id, last.seq);
                }
            }
            if ends {
                self.timers.forget(&contact_id);
                let state = self.clone();
                let contact_id = contact_id.clone();
                tokio::spawn(async move { state.routing_contact_closed(&contact_id).await });
            } else if let Some(participant_id) = left {
                let state = self.clone();
                let contact_id = contact_id.clone();
                tokio::spawn(async move {
                    state
                        .routing_participant_left(&contact_id, &participant_id)
                        .await
                });
            }
        }
        Ok(outcome)
    }

    /// Ends an open chat: `participant.left` for `leaving` (if any), then `chat.ended`.
    pub async fn end_chat(
        &self,
        contact_id: &str,
        leaving: Option<&Participant>,
    ) -> Result<Appended, StoreError> {
        let now = self.clock.now_ms();
        let mut items = Vec::new();
        if let Some(participant) = leaving {
            items.push(NewItem::new(
                ItemType::Event,
                EVENT_PARTICIPANT_LEFT,
                Some(participant),
                now,
            ));
        }
        items.push(NewItem::new(ItemType::Event, EVENT_CHAT_ENDED, None, now));
        self.append(Append {
            contact_id: contact_id.to_string(),
            items,
            participant_left: leaving.map(|p| (p.id.clone(), now)),
            end_contact_at: Some(now),
            ..Append::default()
        })
        .await
    }

    /// Called by the timer task when a chat's duration is up.
    pub async fn expire_chat(&self, contact_id: &str) {
        let contact = match self.store.get_contact(contact_id).await {
            Ok(Some(contact)) if contact.is_open() => contact,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%error, contact_id, "could not read an expiring chat; retrying in a minute");
                let retry_at = self.clock.now_ms() + self.config.timer_minute_ms;
                self.timers.arm_chat_deadline(contact_id, retry_at);
                return;
            }
        };
        if contact.expires_ms > self.clock.now_ms() {
            self.timers
                .arm_chat_deadline(contact_id, contact.expires_ms);
            return;
        }
        tracing::info!(contact_id, "chat duration elapsed; ending the chat");
        if let Err(error) = self.end_chat(contact_id, None).await {
            tracing::error!(%error, contact_id, "could not end an expired chat; retrying in a minute");
            let retry_at = self.clock.now_ms() + self.config.timer_minute_ms;
            self.timers.arm_chat_deadline(contact_id, retry_at);
        }
    }

    /// Appends with an update of the contact's idle session: `change` gets the stored session
    /// (under the contact's lock) and may replace it, add items and remove participants. Then
    /// this node's wheel is armed with the session's next deadline.
    async fn append_with_session(
        &self,
        mut append: Append,
        now_ms: i64,
        change: impl Fn(Option<IdleSession>) -> (Option<IdleSession>, SessionChange)
        + Send
        + Sync
        + 'static,
    ) -> Result<(Appended, Vec<Participant>), StoreError> {
        let contact_id = append.contact_id.clone();
        let outcome = Arc::new(Mutex::new(SessionOutcome::default()));
        let seen = outcome.clone();
        append.timer = Some(TimerUpdate {
            name: SESSION_TIMER.to_string(),
            apply: Arc::new(move |stored: Option<&Timer>| {
                let session = stored.and_then(|timer| {
                    serde_json::from_str::<IdleSession>(&timer.data)
                        .inspect_err(|error| {
                            tracing::error!(%error, "unreadable idle session; dropping it");
                        })
                        .ok()
                });
                let (session, change) = change(session);
                let effect = TimerEffect {
                    timer: session.as_ref().map(|session| Timer {
                        name: SESSION_TIMER.to_string(),
                        due_ms: session.due_ms(),
                        data: serde_json::to_string(session).unwrap_or_default(),
                        wants_messages: true,
                    }),
                    items: change.items,
                    participants_left: change
                        .removed
                        .iter()
                        .map(|p| (p.id.clone(), now_ms))
                        .collect(),
                };
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                *seen = SessionOutcome {
                    due_ms: session.as_ref().and_then(IdleSession::due_ms),
                    removed: change.removed,
                };
                effect
            }),
        });
        let appended = self.append(append).await?;
        if !matches!(appended, Appended::Written(_)) {
            return Ok((appended, Vec::new()));
        }
        let outcome = std::mem::take(&mut *outcome.lock().unwrap_or_else(|p| p.into_inner()));
        self.timers
            .arm(&contact_id, TimerKind::ParticipantTimers, outcome.due_ms);
        if !outcome.removed.is_empty() {
            self.holders.forget_contact(&contact_id);
        }
        Ok((appended, outcome.removed))
    }

    /// Connects `newcomer` (a custom participant now, an agent later): `participant.joined`,
    /// the participants it displaces leave, and the idle session restarts for the new pair with
    /// the contact's latest timer configuration.
    pub async fn connect_participant(
        &self,
        contact_id: &str,
        newcomer: &Participant,
    ) -> Result<Appended, StoreError> {
        let now = self.clock.now_ms();
        let Some(contact) = self.store.get_contact(contact_id).await? else {
            return Ok(Appended::ContactClosed);
        };
        let cutoff = now - self.config.custom_participant_connect_ms();
        let present: Vec<Participant> = self
            .store
            .list_participants(contact_id)
            .await?
            .into_iter()
            .filter(|p| p.id != newcomer.id && holds_place(p, cutoff))
            .collect();
        let plan = plan_join(
            &present,
            newcomer,
            &contact.timer_config,
            self.config.timer_minute_ms,
            now,
        );
        let mut items: Vec<NewItem> = plan
            .displaced
            .iter()
            .map(|p| NewItem::new(ItemType::Event, EVENT_PARTICIPANT_LEFT, Some(p), now))
            .collect();
        items.push(NewItem::new(
            ItemType::Event,
            EVENT_PARTICIPANT_JOINED,
            Some(newcomer),
            now,
        ));
        let (appended, displaced) = self
            .append_with_session(
                Append {
                    contact_id: contact_id.to_string(),
                    participant_connected: Some((newcomer.id.clone(), now)),
                    ..Append::default()
                },
                now,
                move |_running| {
                    (
                        plan.session.clone(),
                        SessionChange {
                            items: items.clone(),
                            removed: plan.displaced.clone(),
                        },
                    )
                },
            )
            .await?;
        self.announce_removals(contact_id, &displaced, RemovalCause::DisplacedByAgent);
        Ok(appended)
    }

    /// Appends a participant's message; in a chat whose timers run, the message restarts the
    /// sender's timers and, if it was idle, announces its return.
    pub async fn append_message(
        &self,
        append: Append,
        contact: &Contact,
        sender: &Participant,
    ) -> Result<Appended, StoreError> {
        if !contact.watches_messages {
            return self.append(append).await;
        }
        let now = self.clock.now_ms();
        let sender_id = sender.id.clone();
        let contact_id = contact.id.clone();
        self.append_with_session(append, now, move |session| {
            let mut change = SessionChange::default();
            let session = session.map(|mut session| {
                if let Some(watch) = session.message_from(&sender_id, now) {
                    change.items.push(transient_event(
                        EVENT_PARTICIPANT_RETURNED,
                        &watch.subject(&contact_id),
                        now,
                    ));
                }
                session
            });
            (session, change)
        })
        .await
        .map(|(appended, _)| appended)
    }

    /// A participant other than the customer leaves by itself; if its joining started the idle
    /// session, the session stops. The chat goes on as the bot's or agent's leaving says (its
    /// Wait, its disconnect flow, or its end).
    pub async fn leave(
        &self,
        contact: &Contact,
        participant: &Participant,
    ) -> Result<Appended, StoreError> {
        let appended = self.hand_over(contact, participant).await?;
        self.after_leaving(&contact.id, participant.role);
        Ok(appended)
    }

    /// A participant other than the customer leaves because the chat moves on without it (a
    /// transfer): the idle session it started stops, and nothing else follows.
    pub async fn hand_over(
        &self,
        contact: &Contact,
        participant: &Participant,
    ) -> Result<Appended, StoreError> {
        let now = self.clock.now_ms();
        let append = Append {
            contact_id: contact.id.clone(),
            items: vec![NewItem::new(
                ItemType::Event,
                EVENT_PARTICIPANT_LEFT,
                Some(participant),
                now,
            )],
            participant_left: Some((participant.id.clone(), now)),
            ..Append::default()
        };
        if !contact.watches_messages {
            return self.append(append).await;
        }
        let leaving = participant.id.clone();
        self.append_with_session(append, now, move |session| {
            (
                session.filter(|s| s.partner_id != leaving),
                SessionChange::default(),
            )
        })
        .await
        .map(|(appended, _)| appended)
    }

    /// What a bot or an agent leaving means for the chat's flow (its Wait, its disconnect flow,
    /// or, for the agent, the end of the chat).
    fn after_leaving(&self, contact_id: &str, role: ParticipantRole) {
        match role {
            ParticipantRole::CustomBot => self.run_flow(contact_id, crate::flows::Trigger::BotLeft),
            ParticipantRole::Agent => self.run_flow(contact_id, crate::flows::Trigger::AgentLeft),
            _ => {}
        }
    }

    /// Called by the timer task when a contact's idle session may have a timer due: marks
    /// idle participants and performs auto-disconnects, once in the whole cluster.
    pub async fn fire_participant_timers(&self, contact_id: &str) {
        let now = self.clock.now_ms();
        let cutoff = now - self.config.custom_participant_connect_ms();
        let non_customers: Vec<Participant> = match self.store.list_participants(contact_id).await {
            Ok(participants) => participants
                .into_iter()
                .filter(|p| p.role != ParticipantRole::Customer && holds_place(p, cutoff))
                .collect(),
            Err(error) => {
                tracing::error!(%error, contact_id, "could not read a chat whose timers are due; the sweep retries");
                return;
            }
        };
        let id = contact_id.to_string();
        let deadlines = Arc::new(Mutex::new(Vec::new()));
        let fired = deadlines.clone();
        let outcome = self
            .append_with_session(
                Append {
                    contact_id: contact_id.to_string(),
                    ..Append::default()
                },
                now,
                move |session| {
                    let mut change = SessionChange::default();
                    let Some(mut session) = session else {
                        return (None, change);
                    };
                    let expired = session.expire(now);
                    *fired.lock().unwrap_or_else(|p| p.into_inner()) =
                        expired.iter().map(Expiry::at_ms).collect();
                    for expiry in &expired {
                        match expiry {
                            Expiry::Idle { watch, .. } => change.items.push(transient_event(
                                EVENT_PARTICIPANT_IDLE,
                                &watch.subject(&id),
                                now,
                            )),
                            Expiry::AutoDisconnect { watch, .. } => {
                                change.items.push(transient_event(
                                    EVENT_AUTO_DISCONNECTION,
                                    &watch.subject(&id),
                                    now,
                                ));
                                for participant in &non_customers {
                                    change.items.push(NewItem::new(
                                        ItemType::Event,
                                        EVENT_PARTICIPANT_LEFT,
                                        Some(participant),
                                        now,
                                    ));
                                    change.removed.push(participant.clone());
                                }
                            }
                        }
                    }
                    let over = session.is_over(&expired);
                    ((!over).then_some(session), change)
                },
            )
            .await;
        match outcome {
            Ok((Appended::Written(_), removed)) => {
                let committed = self.clock.now_ms();
                for deadline in deadlines.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                    let late = (committed - deadline).max(0) as u64;
                    self.metrics
                        .observe_timer_lateness(std::time::Duration::from_millis(late));
                }
                self.announce_removals(contact_id, &removed, RemovalCause::AutoDisconnect)
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, contact_id, "could not fire chat timers; the sweep retries");
            }
        }
    }

    fn announce_removals(&self, contact_id: &str, removed: &[Participant], cause: RemovalCause) {
        if removed.iter().any(|p| p.role == ParticipantRole::CustomBot) {
            self.run_flow(contact_id, crate::flows::Trigger::BotLeft);
        }
        // An agent displaced by a newcomer is not leaving the customer alone.
        if cause == RemovalCause::AutoDisconnect
            && removed.iter().any(|p| p.role == ParticipantRole::Agent)
        {
            self.run_flow(contact_id, crate::flows::Trigger::AgentLeft);
        }
        for participant in removed {
            if participant.role == ParticipantRole::Agent {
                let state = self.clone();
                let (contact_id, participant_id) = (contact_id.to_string(), participant.id.clone());
                tokio::spawn(async move {
                    state
                        .routing_participant_left(&contact_id, &participant_id)
                        .await
                });
            }
            tracing::info!(
                contact_id,
                participant_id = participant.id,
                ?cause,
                "participant removed from the chat"
            );
            let _ = self.removals.send(Removal {
                contact_id: contact_id.to_string(),
                participant: participant.clone(),
                cause,
            });
        }
    }
}
