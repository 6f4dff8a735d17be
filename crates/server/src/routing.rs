//! Routing queued chats to agents, around the core [`Router`].
//!
//! The store holds every routing fact: queued contacts and their open offers, the agents'
//! statuses, missed states and contacts. One node routes (with a single-node store, always this
//! one; in a cluster, the holder of the routing lease): it keeps one [`Router`] per instance,
//! built from the facts when it starts routing, and follows [`RoutingEvent`]s, each sent after
//! its fact was stored. Other nodes pass their events to it through the store's hints. Because
//! the facts are written first, a lost event is found again when routing next rebuilds, and an
//! event applied twice changes nothing.
//!
//! Offers are written to the store before agents hear of them; an offer closes in the store
//! once, whoever closes it (the agent accepting on any node, the router timing it out), and the
//! router follows the store's outcome.

use crate::state::AppState;
use liaison_core::organisation::RoutingProfile;
use liaison_core::routing::{
    Decision, MAX_CHAT_CONCURRENCY, MIN_CHAT_CONCURRENCY, NewAgent, QueueRule, Router, RoutingRules,
};
use liaison_store::{AgentRouting, OfferClosed, StoreError};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long an agent has to accept an offered chat by default (scaled with the timer minute).
pub const OFFER_SECONDS: i64 = 20;
/// The routing lease: renewed this often, held this long.
const LEASE_RENEW_EVERY: Duration = Duration::from_secs(2);
const LEASE_MS: i64 = 6_000;
const LEASE_NAME: &str = "routing";
/// In a cluster, how many lease renewals pass between comparisons of the routers' queued
/// contacts with the store's (a routing event from another node can be lost on its way).
const RECONCILE_EVERY_RENEWALS: u32 = 5;
/// Hint keys that carry routing events between nodes, and agent wake-ups to sockets.
pub const EVENT_HINT_PREFIX: &str = "routing/";
pub const AGENT_HINT_PREFIX: &str = "agent/";

/// A routing fact changed; sent after the change is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingEvent {
    /// A contact entered a queue (or moved to another).
    ContactQueued {
        instance_id: String,
        contact_id: String,
    },
    /// A contact left its queue without an agent.
    ContactLeftQueue {
        instance_id: String,
        contact_id: String,
    },
    OfferAccepted {
        instance_id: String,
        contact_id: String,
        user_id: String,
    },
    OfferRejected {
        instance_id: String,
        contact_id: String,
        user_id: String,
    },
    /// Anything routing reads of a user: status, routing profile, contacts cleared, the user
    /// created or deleted.
    AgentChanged {
        instance_id: String,
        user_id: String,
    },
    /// A routing profile's concurrency or queues changed, or it was created.
    ProfileChanged {
        instance_id: String,
        profile_id: String,
    },
    /// Events may have been missed: rebuild from the store.
    Resync,
}

impl RoutingEvent {
    /// The event as a hint key: `routing/<kind>/<identifiers…>`. Identifiers are Liaison's
    /// UUIDs, so they hold none of the separators hints use.
    fn to_hint(&self) -> String {
        let parts: Vec<&str> = match self {
            RoutingEvent::ContactQueued {
                instance_id,
                contact_id,
            } => vec!["queued", instance_id, contact_id],
            RoutingEvent::ContactLeftQueue {
                instance_id,
                contact_id,
            } => vec!["left", instance_id, contact_id],
            RoutingEvent::OfferAccepted {
                instance_id,
                contact_id,
                user_id,
            } => vec!["accepted", instance_id, contact_id, user_id],
            RoutingEvent::OfferRejected {
                instance_id,
                contact_id,
                user_id,
            } => vec!["rejected", instance_id, contact_id, user_id],
            RoutingEvent::AgentChanged {
                instance_id,
                user_id,
            } => vec!["agent", instance_id, user_id],
            RoutingEvent::ProfileChanged {
                instance_id,
                profile_id,
            } => vec!["profile", instance_id, profile_id],
            RoutingEvent::Resync => vec!["resync"],
        };
        format!("{EVENT_HINT_PREFIX}{}", parts.join("/"))
    }

    fn from_hint(key: &str) -> Option<RoutingEvent> {
        let parts: Vec<String> = key
            .strip_prefix(EVENT_HINT_PREFIX)?
            .split('/')
            .map(str::to_string)
            .collect();
        let event = match parts.as_slice() {
            [kind, instance_id, contact_id] if kind == "queued" => RoutingEvent::ContactQueued {
                instance_id: instance_id.clone(),
                contact_id: contact_id.clone(),
            },
            [kind, instance_id, contact_id] if kind == "left" => RoutingEvent::ContactLeftQueue {
                instance_id: instance_id.clone(),
                contact_id: contact_id.clone(),
            },
            [kind, instance_id, contact_id, user_id] if kind == "accepted" => {
                RoutingEvent::OfferAccepted {
                    instance_id: instance_id.clone(),
                    contact_id: contact_id.clone(),
                    user_id: user_id.clone(),
                }
            }
            [kind, instance_id, contact_id, user_id] if kind == "rejected" => {
                RoutingEvent::OfferRejected {
                    instance_id: instance_id.clone(),
                    contact_id: contact_id.clone(),
                    user_id: user_id.clone(),
                }
            }
            [kind, instance_id, user_id] if kind == "agent" => RoutingEvent::AgentChanged {
                instance_id: instance_id.clone(),
                user_id: user_id.clone(),
            },
            [kind, instance_id, profile_id] if kind == "profile" => RoutingEvent::ProfileChanged {
                instance_id: instance_id.clone(),
                profile_id: profile_id.clone(),
            },
            [kind] if kind == "resync" => RoutingEvent::Resync,
            _ => return None,
        };
        Some(event)
    }
}

/// An event and whether this node produced it (only those are passed on to the router node).
#[derive(Debug)]
pub struct Incoming {
    pub event: RoutingEvent,
    pub local: bool,
}

/// Where events go: the routing task of this node.
#[derive(Clone)]
pub struct RoutingInbox(mpsc::UnboundedSender<Incoming>);

impl RoutingInbox {
    pub fn channel() -> (RoutingInbox, mpsc::UnboundedReceiver<Incoming>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (RoutingInbox(tx), rx)
    }

    pub fn send(&self, event: RoutingEvent) {
        let _ = self.0.send(Incoming { event, local: true });
    }

    /// An event another node passed on (a hint whose key starts with [`EVENT_HINT_PREFIX`]).
    pub fn receive_hint(&self, key: &str) {
        match RoutingEvent::from_hint(key) {
            Some(event) => {
                let _ = self.0.send(Incoming {
                    event,
                    local: false,
                });
            }
            None => tracing::warn!(key, "an unreadable routing event from another node"),
        }
    }

    /// Hints may have been lost: the router node rebuilds.
    pub fn resync(&self) {
        let _ = self.0.send(Incoming {
            event: RoutingEvent::Resync,
            local: false,
        });
    }
}

impl AppState {
    /// Tells routing that a fact changed (after it was stored).
    pub fn routing_event(&self, event: RoutingEvent) {
        self.routing.send(event);
    }

    /// A user's status, routing profile or existence changed.
    pub fn agent_changed(&self, instance_id: &str, user_id: &str) {
        self.routing_event(RoutingEvent::AgentChanged {
            instance_id: instance_id.to_string(),
            user_id: user_id.to_string(),
        });
        self.wake_agent(user_id);
    }

    /// A routing profile's concurrency or queues changed, or it was created.
    pub fn profile_changed(&self, instance_id: &str, profile_id: &str) {
        self.routing_event(RoutingEvent::ProfileChanged {
            instance_id: instance_id.to_string(),
            profile_id: profile_id.to_string(),
        });
    }

    /// Wakes the agent's workspace sockets, on every node, to read their state again.
    pub fn wake_agent(&self, user_id: &str) {
        let key = format!("{AGENT_HINT_PREFIX}{user_id}");
        let mark = self.clock.now_ms();
        self.bus.publish(&key, mark);
        if let Some(announcer) = &self.announcer {
            announcer.announce(&key, mark);
        }
    }

    /// Offer timeout in milliseconds.
    pub fn offer_timeout_ms(&self) -> i64 {
        self.config.offer_seconds * self.config.timer_minute_ms / 60
    }

    /// A flow transferred the contact to a queue: it waits there for an agent.
    pub async fn enqueue_contact(
        &self,
        instance_id: &str,
        contact_id: &str,
        queue_id: &str,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        self.store
            .enqueue_contact(instance_id, contact_id, queue_id, now)
            .await?;
        // A chat that closed meanwhile found nothing to take out of the queue when it closed.
        let open = self
            .store
            .get_contact(contact_id)
            .await?
            .is_some_and(|contact| contact.is_open());
        if !open {
            self.store.dequeue_contact(contact_id).await?;
            return Ok(());
        }
        self.routing_event(RoutingEvent::ContactQueued {
            instance_id: instance_id.to_string(),
            contact_id: contact_id.to_string(),
        });
        Ok(())
    }

    /// The chat closed: it leaves its queue, and its agents go to after-contact work. A guide
    /// that closed no longer shows its agent anything.
    pub async fn routing_contact_closed(&self, contact_id: &str) {
        match self.store.get_contact(contact_id).await {
            Ok(Some(contact)) if contact.related_contact_id.is_some() => {
                self.wake_guide_agents(&contact).await
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, contact_id, "could not read a closed chat"),
        }
        if let Err(error) = self.leave_queue(contact_id).await {
            tracing::error!(%error, contact_id, "could not take a closed chat out of its queue");
        }
        if let Err(error) = self.end_agent_contacts(contact_id, None).await {
            tracing::error!(%error, contact_id, "could not end the agents' part of a closed chat");
        }
    }

    /// A participant left a chat: if it was an agent, their part of the chat ended.
    pub async fn routing_participant_left(&self, contact_id: &str, participant_id: &str) {
        if let Err(error) = self
            .end_agent_contacts(contact_id, Some(participant_id))
            .await
        {
            tracing::error!(%error, contact_id, "could not end an agent's part of a chat");
        }
    }

    /// Takes the contact out of its queue, if it waits in one.
    pub async fn leave_queue(&self, contact_id: &str) -> Result<(), StoreError> {
        if self.store.queued_contact(contact_id).await?.is_none() {
            return Ok(());
        }
        if let Some(left) = self.store.dequeue_contact(contact_id).await? {
            if let Some((user_id, _)) = &left.offer {
                self.wake_agent(user_id);
            }
            self.routing_event(RoutingEvent::ContactLeftQueue {
                instance_id: left.instance_id,
                contact_id: contact_id.to_string(),
            });
        }
        Ok(())
    }

    /// Moves the contact's connected agents (only the one with `participant_id`, if given) to
    /// after-contact work.
    async fn end_agent_contacts(
        &self,
        contact_id: &str,
        participant_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        for agent in self.store.contact_agents(contact_id).await? {
            if participant_id.is_some_and(|id| id != agent.participant_id) {
                continue;
            }
            if self
                .store
                .end_agent_contact(contact_id, &agent.user_id, now)
                .await?
            {
                let name = match self
                    .store
                    .get_user(&agent.instance_id, &agent.user_id)
                    .await?
                {
                    Some(user) => crate::agents::display_name(&user),
                    None => String::new(),
                };
                self.start_after_contact_guide(&agent, &name).await?;
                self.wake_agent(&agent.user_id);
            }
        }
        Ok(())
    }
}

/// The routing task of a node: routes while this node holds the routing lease (always, with a
/// store no other node writes).
pub async fn run(state: AppState, mut inbox: mpsc::UnboundedReceiver<Incoming>) {
    let mut routing: Option<Routing> = None;
    let mut lease = tokio::time::interval(LEASE_RENEW_EVERY);
    lease.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renewals: u32 = 0;
    loop {
        let due = routing.as_ref().and_then(Routing::next_due_ms);
        let wait = due.map(|due_ms| (due_ms - state.clock.now_ms()).max(0) as u64);
        tokio::select! {
            _ = lease.tick() => {
                let holds = holds_lease(&state).await;
                if !holds {
                    if routing.take().is_some() {
                        tracing::info!("another node routes now");
                    }
                } else if routing.as_ref().is_none_or(|r| r.needs_rebuild) {
                    routing = Routing::build(&state).await;
                } else if let Some(routing) = routing.as_mut() {
                    renewals = renewals.wrapping_add(1);
                    if state.announcer.is_some() && renewals.is_multiple_of(RECONCILE_EVERY_RENEWALS) {
                        routing.reconcile_queues(&state).await;
                    }
                }
            }
            incoming = inbox.recv() => {
                let Some(Incoming { event, local }) = incoming else {
                    return;
                };
                match routing.as_mut() {
                    Some(routing) => routing.apply(&state, event).await,
                    None if local => pass_on(&state, &event),
                    None => {}
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(wait.unwrap_or(0))), if wait.is_some() => {
                if let Some(routing) = routing.as_mut() {
                    routing.run_due(&state).await;
                }
            }
        }
    }
}

async fn holds_lease(state: &AppState) -> bool {
    if state.announcer.is_none() {
        return true;
    }
    let now = state.clock.now_ms();
    match state
        .store
        .claim_lease(LEASE_NAME, &state.node, now, now + LEASE_MS)
        .await
    {
        Ok(holds) => holds,
        Err(error) => {
            tracing::warn!(%error, "could not renew the routing lease; not routing until it is");
            false
        }
    }
}

/// Sends a local event to the node that routes.
fn pass_on(state: &AppState, event: &RoutingEvent) {
    if let Some(announcer) = &state.announcer {
        announcer.announce(&event.to_hint(), 0);
    }
}

/// The routers of every instance, while this node routes.
struct Routing {
    routers: HashMap<String, Router>,
    /// Open offers by deadline: `(deadline, instance, contact, agent)`. An entry whose offer
    /// closed meanwhile is skipped when due.
    deadlines: BTreeSet<(i64, String, String, String)>,
    /// A store write failed half-way: the routers may disagree with the store.
    needs_rebuild: bool,
}

impl Routing {
    /// Builds every instance's router from the store. Offers open in the store are withdrawn:
    /// their contacts are offered again from the rebuilt state.
    async fn build(state: &AppState) -> Option<Routing> {
        let mut routing = Routing {
            routers: HashMap::new(),
            deadlines: BTreeSet::new(),
            needs_rebuild: false,
        };
        let instances = match state.store.list_instances().await {
            Ok(instances) => instances,
            Err(error) => {
                tracing::error!(%error, "could not list instances to route; retrying");
                return None;
            }
        };
        for instance in instances {
            if let Err(error) = routing.build_instance(state, &instance.id).await {
                tracing::error!(%error, instance_id = instance.id, "could not build routing; retrying");
                return None;
            }
        }
        tracing::info!(instances = routing.routers.len(), "routing chats to agents");
        Some(routing)
    }

    async fn build_instance(
        &mut self,
        state: &AppState,
        instance_id: &str,
    ) -> Result<(), StoreError> {
        let now = state.clock.now_ms();
        let mut router = Router::new(state.offer_timeout_ms());
        for profile in state.store.list_routing_profiles(instance_id).await? {
            let rules = rules_of(state, &profile).await?;
            if let Err(error) = router.set_routing_profile(&profile.id, &rules, now) {
                tracing::warn!(%error, profile_id = profile.id, "a routing profile routing cannot use");
            }
        }
        for queued in state.store.queued_contacts(instance_id).await? {
            // A chat that closed as its node died never left its queue.
            let open = state
                .store
                .get_contact(&queued.contact_id)
                .await?
                .is_some_and(|contact| contact.is_open());
            if !open {
                state.store.dequeue_contact(&queued.contact_id).await?;
                continue;
            }
            if let Some((user_id, deadline_ms)) = &queued.offer {
                state
                    .store
                    .close_offer(
                        &queued.contact_id,
                        user_id,
                        OfferClosed::Withdrawn,
                        Some(*deadline_ms),
                    )
                    .await?;
                state.wake_agent(user_id);
            }
            let _ = router.enqueue(
                &queued.contact_id,
                &queued.queue_id,
                queued.enqueued_ms,
                now,
            );
            for user_id in &queued.rejected_by {
                router.restore_rejection(&queued.contact_id, user_id);
            }
        }
        let mut decisions = Vec::new();
        for agent in state.store.agents_routing(instance_id).await? {
            match router.add_agent(&agent.user_id, &new_agent(&agent), now) {
                Ok(decision) => decisions.push(decision),
                Err(error) => {
                    tracing::warn!(%error, user_id = agent.user_id, "an agent routing cannot take")
                }
            }
        }
        self.routers.insert(instance_id.to_string(), router);
        for decision in decisions {
            self.carry_out(state, instance_id, decision).await?;
        }
        Ok(())
    }

    fn next_due_ms(&self) -> Option<i64> {
        let offers = self.deadlines.first().map(|(deadline, ..)| *deadline);
        let delays = self.routers.values().filter_map(Router::next_due_ms).min();
        offers.into_iter().chain(delays).min()
    }

    async fn apply(&mut self, state: &AppState, event: RoutingEvent) {
        if let Err(error) = self.try_apply(state, event).await {
            tracing::error!(%error, "routing could not follow the store; rebuilding");
            self.needs_rebuild = true;
        }
    }

    async fn try_apply(&mut self, state: &AppState, event: RoutingEvent) -> Result<(), StoreError> {
        let now = state.clock.now_ms();
        match event {
            RoutingEvent::Resync => {
                self.needs_rebuild = true;
            }
            RoutingEvent::ContactQueued {
                instance_id,
                contact_id,
            } => {
                let Some(queued) = state.store.queued_contact(&contact_id).await? else {
                    return Ok(());
                };
                let router = self.router(state, &instance_id).await?;
                let mut decision = Decision::default();
                let held_offer = router
                    .open_offer(&contact_id)
                    .map(|offer| (offer.agent_id, offer.deadline_ms));
                match router.queue_of(&contact_id) {
                    // Queued again where it waits, its offer as the store has it: nothing new.
                    Some(queue) if queue == queued.queue_id && held_offer == queued.offer => {
                        return Ok(());
                    }
                    Some(_) => decision = router.contact_left(&contact_id, now).unwrap_or_default(),
                    None => {}
                }
                let entered = router
                    .enqueue(&contact_id, &queued.queue_id, queued.enqueued_ms, now)
                    .unwrap_or_default();
                decision.withdrawn.extend(entered.withdrawn);
                decision.offers.extend(entered.offers);
                self.carry_out(state, &instance_id, decision).await?;
            }
            RoutingEvent::ContactLeftQueue {
                instance_id,
                contact_id,
            } => {
                let router = self.router(state, &instance_id).await?;
                if let Ok(decision) = router.contact_left(&contact_id, now) {
                    self.carry_out(state, &instance_id, decision).await?;
                }
            }
            RoutingEvent::OfferAccepted {
                instance_id,
                contact_id,
                user_id,
            } => {
                let router = self.router(state, &instance_id).await?;
                match router.accept_offer(&contact_id, &user_id, now) {
                    Ok(decision) => {
                        self.carry_out(state, &instance_id, decision).await?;
                        // Contacts the agent cleared meanwhile may not have reached routing.
                        self.follow_agent(state, &instance_id, &user_id, false)
                            .await?;
                    }
                    Err(_) => {
                        // Routing had withdrawn the offer as the agent accepted it: the store
                        // has the agent in the chat, so routing follows it.
                        let left = router.contact_left(&contact_id, now).unwrap_or_default();
                        self.carry_out(state, &instance_id, left).await?;
                        self.follow_agent(state, &instance_id, &user_id, true)
                            .await?;
                    }
                }
            }
            RoutingEvent::OfferRejected {
                instance_id,
                contact_id,
                user_id,
            } => {
                let router = self.router(state, &instance_id).await?;
                if let Ok(decision) = router.reject_offer(&contact_id, &user_id, now) {
                    self.carry_out(state, &instance_id, decision).await?;
                }
            }
            RoutingEvent::AgentChanged {
                instance_id,
                user_id,
            } => {
                self.follow_agent(state, &instance_id, &user_id, false)
                    .await?;
            }
            RoutingEvent::ProfileChanged {
                instance_id,
                profile_id,
            } => {
                self.load_profile(state, &instance_id, &profile_id).await?;
            }
        }
        Ok(())
    }

    /// The instance's router, built on first use (an instance created since routing started).
    async fn router(
        &mut self,
        state: &AppState,
        instance_id: &str,
    ) -> Result<&mut Router, StoreError> {
        if !self.routers.contains_key(instance_id) {
            self.build_instance(state, instance_id).await?;
        }
        self.routers
            .get_mut(instance_id)
            .ok_or_else(|| StoreError(format!("no router for instance {instance_id}")))
    }

    async fn load_profile(
        &mut self,
        state: &AppState,
        instance_id: &str,
        profile_id: &str,
    ) -> Result<(), StoreError> {
        let Some(profile) = state
            .store
            .get_routing_profile(instance_id, profile_id)
            .await?
        else {
            return Ok(());
        };
        let rules = rules_of(state, &profile).await?;
        let now = state.clock.now_ms();
        let router = self.router(state, instance_id).await?;
        match router.set_routing_profile(profile_id, &rules, now) {
            Ok(decision) => self.carry_out(state, instance_id, decision).await,
            Err(error) => {
                tracing::warn!(%error, profile_id, "a routing profile routing cannot use");
                Ok(())
            }
        }
    }

    async fn add_agent(
        &mut self,
        state: &AppState,
        instance_id: &str,
        agent: &AgentRouting,
    ) -> Result<(), StoreError> {
        let now = state.clock.now_ms();
        let router = self.router(state, instance_id).await?;
        match router.add_agent(&agent.user_id, &new_agent(agent), now) {
            Ok(decision) => self.carry_out(state, instance_id, decision).await,
            Err(error) => {
                tracing::warn!(%error, user_id = agent.user_id, "an agent routing cannot take");
                Ok(())
            }
        }
    }

    /// Brings the router's agent in line with the stored one. `re_add` starts the agent afresh
    /// (their chats in progress changed in a way the router did not see).
    async fn follow_agent(
        &mut self,
        state: &AppState,
        instance_id: &str,
        user_id: &str,
        re_add: bool,
    ) -> Result<(), StoreError> {
        let stored = state.store.agent_routing(instance_id, user_id).await?;
        let now = state.clock.now_ms();
        let held = self.router(state, instance_id).await?.agent(user_id);
        let Some(stored) = stored else {
            if held.is_some() {
                let decision = self
                    .router(state, instance_id)
                    .await?
                    .remove_agent(user_id, now);
                self.carry_out(state, instance_id, decision.unwrap_or_default())
                    .await?;
            }
            return Ok(());
        };
        let Some(held) = held else {
            return self.add_agent(state, instance_id, &stored).await;
        };
        if re_add || held.chats_in_progress < stored.open_contacts {
            let decision = self
                .router(state, instance_id)
                .await?
                .remove_agent(user_id, now);
            self.carry_out(state, instance_id, decision.unwrap_or_default())
                .await?;
            return self.add_agent(state, instance_id, &stored).await;
        }
        for _ in stored.open_contacts..held.chats_in_progress {
            let decision = self
                .router(state, instance_id)
                .await?
                .chat_ended(user_id, now);
            self.carry_out(state, instance_id, decision.unwrap_or_default())
                .await?;
        }
        if held.routing_profile_id != stored.routing_profile_id {
            let router = self.router(state, instance_id).await?;
            if router
                .set_agent_profile(user_id, &stored.routing_profile_id, now)
                .is_err()
            {
                self.load_profile(state, instance_id, &stored.routing_profile_id)
                    .await?;
            }
            let router = self.router(state, instance_id).await?;
            let decision = router.set_agent_profile(user_id, &stored.routing_profile_id, now);
            self.carry_out(state, instance_id, decision.unwrap_or_default())
                .await?;
        }
        if held.available != stored.available || (held.missed && !stored.missed) {
            let router = self.router(state, instance_id).await?;
            let decision = router.set_agent_available(user_id, stored.available, now);
            self.carry_out(state, instance_id, decision.unwrap_or_default())
                .await?;
        }
        Ok(())
    }

    /// Writes a decision to the store and tells the agents: withdrawn offers close, new offers
    /// open. An offer the store refuses (its contact left the queue meanwhile) takes the contact
    /// out of routing, which may decide more.
    async fn carry_out(
        &mut self,
        state: &AppState,
        instance_id: &str,
        decision: Decision,
    ) -> Result<(), StoreError> {
        let mut pending = vec![decision];
        while let Some(decision) = pending.pop() {
            for withdrawn in decision.withdrawn {
                state
                    .store
                    .close_offer(
                        &withdrawn.contact_id,
                        &withdrawn.agent_id,
                        OfferClosed::Withdrawn,
                        Some(withdrawn.deadline_ms),
                    )
                    .await?;
                state.wake_agent(&withdrawn.agent_id);
            }
            for offer in decision.offers {
                if state
                    .store
                    .open_offer(&offer.contact_id, &offer.agent_id, offer.deadline_ms)
                    .await?
                {
                    tracing::info!(
                        contact_id = offer.contact_id,
                        user_id = offer.agent_id,
                        "chat offered"
                    );
                    self.deadlines.insert((
                        offer.deadline_ms,
                        instance_id.to_string(),
                        offer.contact_id,
                        offer.agent_id.clone(),
                    ));
                    state.wake_agent(&offer.agent_id);
                } else if let Some(router) = self.routers.get_mut(instance_id) {
                    let now = state.clock.now_ms();
                    if let Ok(more) = router.contact_left(&offer.contact_id, now) {
                        pending.push(more);
                    }
                }
            }
        }
        Ok(())
    }

    /// Brings the router's contact in line with the stored one: out of routing when it left its
    /// queue (an acceptance that routing will hear of re-counts the agent), or back in its queue
    /// without an offer the store no longer has.
    async fn follow_contact(
        &mut self,
        state: &AppState,
        instance_id: &str,
        contact_id: &str,
    ) -> Result<(), StoreError> {
        let stored = state.store.queued_contact(contact_id).await?;
        let now = state.clock.now_ms();
        let router = self.router(state, instance_id).await?;
        let mut decision = router.contact_left(contact_id, now).unwrap_or_default();
        if let Some(queued) = stored.filter(|queued| queued.offer.is_none()) {
            let entered = router
                .enqueue(contact_id, &queued.queue_id, queued.enqueued_ms, now)
                .unwrap_or_default();
            decision.withdrawn.extend(entered.withdrawn);
            decision.offers.extend(entered.offers);
        }
        self.carry_out(state, instance_id, decision).await
    }

    /// Compares every router's queued contacts with the store's and follows the store where
    /// they differ: what a lost event from another node would have said.
    async fn reconcile_queues(&mut self, state: &AppState) {
        let instances: Vec<String> = self.routers.keys().cloned().collect();
        for instance_id in instances {
            if let Err(error) = self.reconcile_instance(state, &instance_id).await {
                tracing::error!(%error, "routing could not follow the store; rebuilding");
                self.needs_rebuild = true;
                return;
            }
        }
    }

    async fn reconcile_instance(
        &mut self,
        state: &AppState,
        instance_id: &str,
    ) -> Result<(), StoreError> {
        let stored = state.store.queued_contacts(instance_id).await?;
        let held: std::collections::HashSet<String> = match self.routers.get(instance_id) {
            Some(router) => router.contact_ids().into_iter().collect(),
            None => return Ok(()),
        };
        let stored_ids: std::collections::HashSet<&str> = stored
            .iter()
            .map(|queued| queued.contact_id.as_str())
            .collect();
        let mut differing: Vec<&str> = held
            .iter()
            .map(String::as_str)
            .filter(|id| !stored_ids.contains(id))
            .collect();
        for queued in &stored {
            let router = self.routers.get(instance_id);
            let held_offer = router
                .and_then(|router| router.open_offer(&queued.contact_id))
                .map(|offer| (offer.agent_id, offer.deadline_ms));
            let held_queue = router.and_then(|router| router.queue_of(&queued.contact_id));
            if held_queue.as_deref() != Some(queued.queue_id.as_str()) || held_offer != queued.offer
            {
                differing.push(&queued.contact_id);
            }
        }
        for contact_id in differing {
            if let Some(queued) = stored.iter().find(|queued| queued.contact_id == contact_id)
                && let Some((user_id, deadline_ms)) = &queued.offer
            {
                // An offer routing does not hold has no timer: it is offered afresh.
                state
                    .store
                    .close_offer(
                        contact_id,
                        user_id,
                        OfferClosed::Withdrawn,
                        Some(*deadline_ms),
                    )
                    .await?;
                state.wake_agent(user_id);
            }
            tracing::warn!(contact_id, "routing had missed a change of a queued chat");
            self.follow_contact(state, instance_id, contact_id).await?;
        }
        Ok(())
    }

    /// Times out offers past their deadline and lets contacts pass their queue delays.
    async fn run_due(&mut self, state: &AppState) {
        if let Err(error) = self.try_run_due(state).await {
            tracing::error!(%error, "routing could not follow the store; rebuilding");
            self.needs_rebuild = true;
        }
    }

    async fn try_run_due(&mut self, state: &AppState) -> Result<(), StoreError> {
        let now = state.clock.now_ms();
        while let Some(first) = self.deadlines.first().cloned() {
            if first.0 > now {
                break;
            }
            self.deadlines.pop_first();
            let (deadline_ms, instance_id, contact_id, user_id) = first;
            let still_open = self
                .routers
                .get(&instance_id)
                .and_then(|r| r.open_offer(&contact_id));
            if !still_open
                .is_some_and(|offer| offer.agent_id == user_id && offer.deadline_ms == deadline_ms)
            {
                continue;
            }
            // The store decides between this timeout and an acceptance racing it.
            if !state
                .store
                .close_offer(
                    &contact_id,
                    &user_id,
                    OfferClosed::Missed,
                    Some(deadline_ms),
                )
                .await?
            {
                self.follow_contact(state, &instance_id, &contact_id)
                    .await?;
                continue;
            }
            tracing::info!(contact_id, user_id, "chat offer missed");
            state.wake_agent(&user_id);
            let router = self.router(state, &instance_id).await?;
            if let Ok(decision) = router.offer_timed_out(&contact_id, &user_id, now) {
                self.carry_out(state, &instance_id, decision).await?;
            }
        }
        let due: Vec<String> = self
            .routers
            .iter()
            .filter(|(_, router)| router.next_due_ms().is_some_and(|due| due <= now))
            .map(|(instance_id, _)| instance_id.clone())
            .collect();
        for instance_id in due {
            let decision = self.router(state, &instance_id).await?.advance(now);
            self.carry_out(state, &instance_id, decision).await?;
        }
        Ok(())
    }
}

fn new_agent(agent: &AgentRouting) -> NewAgent {
    NewAgent {
        routing_profile_id: agent.routing_profile_id.clone(),
        available: agent.available,
        missed: agent.missed,
        chats_in_progress: agent.open_contacts,
        idle_since_ms: agent.idle_since_ms,
    }
}

/// How many chats at a time a routing profile's agents take, as routing bounds it.
pub(crate) fn chat_concurrency(profile: &RoutingProfile) -> u32 {
    profile
        .media_concurrencies
        .iter()
        .find(|media| media.channel == "CHAT")
        .map_or(MIN_CHAT_CONCURRENCY, |media| {
            media
                .concurrency
                .clamp(MIN_CHAT_CONCURRENCY.into(), MAX_CHAT_CONCURRENCY.into()) as u32
        })
}

/// What the router needs of a routing profile: its chat concurrency and chat queues, with
/// delays on the timer minute.
async fn rules_of(state: &AppState, profile: &RoutingProfile) -> Result<RoutingRules, StoreError> {
    let chat_concurrency = chat_concurrency(profile);
    let queues = state
        .store
        .routing_profile_queues(&profile.instance_id, &profile.id)
        .await?
        .into_iter()
        .filter(|queue| queue.channel == "CHAT")
        .map(|queue| QueueRule {
            queue_id: queue.queue_id,
            priority: queue.priority.clamp(1, 99) as u32,
            delay_ms: queue
                .delay
                .max(0)
                .saturating_mul(state.config.timer_minute_ms)
                / 60,
        })
        .collect();
    Ok(RoutingRules {
        chat_concurrency,
        queues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_between_nodes_as_hint_keys() {
        let events = [
            RoutingEvent::ContactQueued {
                instance_id: "i".into(),
                contact_id: "c".into(),
            },
            RoutingEvent::ContactLeftQueue {
                instance_id: "i".into(),
                contact_id: "c".into(),
            },
            RoutingEvent::OfferAccepted {
                instance_id: "i".into(),
                contact_id: "c".into(),
                user_id: "u".into(),
            },
            RoutingEvent::OfferRejected {
                instance_id: "i".into(),
                contact_id: "c".into(),
                user_id: "u".into(),
            },
            RoutingEvent::AgentChanged {
                instance_id: "i".into(),
                user_id: "u".into(),
            },
            RoutingEvent::ProfileChanged {
                instance_id: "i".into(),
                profile_id: "p".into(),
            },
            RoutingEvent::Resync,
        ];
        for event in events {
            assert_eq!(RoutingEvent::from_hint(&event.to_hint()), Some(event));
        }
        assert_eq!(RoutingEvent::from_hint("routing/queued/i"), None);
        assert_eq!(RoutingEvent::from_hint("agent/u"), None);
    }
}
