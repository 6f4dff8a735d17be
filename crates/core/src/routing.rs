//! Routing chats to agents, the way Amazon Connect routes them: contacts waiting in queues are
//! offered to agents whose routing profile serves the queue. One [`Router`] holds one instance's
//! routing state in memory; it does no I/O and reads no clock (every call takes `now_ms`).
//!
//! The rules:
//!
//! - **Who can take a chat.** An agent whose status is Available, who has not missed an offer
//!   since their status last changed, and whose chats in progress plus open offers are fewer
//!   than their routing profile's chat concurrency (1–10). Other statuses (Offline, custom ones)
//!   get no offers.
//! - **Which contacts an agent may be offered.** Those waiting in the queues of the agent's
//!   routing profile whose delay for that queue has passed since they entered it, except those
//!   the agent rejected since their status last changed (so a rejection does not bounce straight
//!   back).
//! - **Order.** Agents take turns longest idle first: idle since they became Available, last
//!   finished a chat, or were last offered one (an offer sends the agent to the back of the line,
//!   as handling a contact does in Connect, so a burst of contacts is spread over agents rather
//!   than filling the longest-idle agent's every slot). On their turn an agent is offered the best
//!   contact they may take: lowest priority number for its queue in their profile, then the
//!   oldest. Equal times are broken by identifier, so the same events always give the same
//!   offers, whatever order the router learnt about agents and contacts in.
//! - **Agent queues.** Every agent has a queue of their own (Connect's agent queue, where a
//!   transfer to the agent puts a contact), identified by the agent's identifier. Only that agent
//!   is offered its contacts, before any contact of their profile's queues and with no delay.
//! - **Offers.** A contact has at most one open offer; open offers take chat slots like chats do.
//!   An offer is accepted (the contact leaves the router, the agent has one more chat),
//!   rejected, or times out: the agent is then in a missed state and gets no offers until their
//!   status changes. A rejected or missed contact, or one whose offer is withdrawn because the
//!   agent left Available, waits again in its queue at its old place and is offered to the next
//!   agent.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Chat concurrency Connect allows in a routing profile.
pub const MIN_CHAT_CONCURRENCY: u32 = 1;
pub const MAX_CHAT_CONCURRENCY: u32 = 10;
/// Queue priorities Connect allows in a routing profile (lower is offered sooner).
pub const MIN_QUEUE_PRIORITY: u32 = 1;
pub const MAX_QUEUE_PRIORITY: u32 = 99;

/// One queue of a routing profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRule {
    pub queue_id: String,
    /// 1..=99; the profile's agents are offered contacts of lower numbers first.
    pub priority: u32,
    /// How long a contact waits in the queue before the profile's agents may be offered it
    /// (Connect's Delay, which is in seconds, times 1000).
    pub delay_ms: i64,
}

/// What routing needs of a routing profile: its chat concurrency and its queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRules {
    /// Chats an agent of the profile handles at once, 1..=10.
    pub chat_concurrency: u32,
    pub queues: Vec<QueueRule>,
}

/// An agent as the router first learns of them (at start-up, from what is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgent {
    pub routing_profile_id: String,
    /// Whether the agent's status is Available.
    pub available: bool,
    /// Whether an offer to the agent timed out since their status last changed.
    pub missed: bool,
    pub chats_in_progress: u32,
    /// When the agent last became idle: their place in the line for offers.
    pub idle_since_ms: i64,
}

/// What the router holds of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    pub routing_profile_id: String,
    pub available: bool,
    pub missed: bool,
    pub chats_in_progress: u32,
    pub open_offers: usize,
}

/// A contact offered to an agent, who must accept it by `deadline_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub contact_id: String,
    pub agent_id: String,
    pub queue_id: String,
    pub deadline_ms: i64,
}

/// What one call changed for agents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Offers to make now, in the order they were decided.
    pub offers: Vec<Offer>,
    /// Open offers this call cancelled (their agents must stop seeing them), by contact
    /// identifier: the agent left Available or was removed, or the customer left.
    pub withdrawn: Vec<Offer>,
}

/// Why the router refused a call. A refused call changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingError {
    UnknownProfile(String),
    UnknownAgent(String),
    UnknownContact(String),
    AgentExists(String),
    ContactExists(String),
    /// The contact has no open offer to that agent: already answered, withdrawn, or never made.
    NoSuchOffer {
        contact_id: String,
        agent_id: String,
    },
    /// A timeout reported before the offer's deadline, such as a late timer of an earlier offer
    /// of the same contact.
    OfferNotDue {
        contact_id: String,
        deadline_ms: i64,
    },
    NoChatInProgress(String),
    InvalidConcurrency(u32),
    InvalidPriority {
        queue_id: String,
        priority: u32,
    },
    NegativeDelay {
        queue_id: String,
        delay_ms: i64,
    },
    DuplicateQueue(String),
}

impl fmt::Display for RoutingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoutingError::UnknownProfile(id) => write!(f, "no routing profile {id}"),
            RoutingError::UnknownAgent(id) => write!(f, "no agent {id}"),
            RoutingError::UnknownContact(id) => write!(f, "no contact {id} in a queue"),
            RoutingError::AgentExists(id) => write!(f, "agent {id} is already routed"),
            RoutingError::ContactExists(id) => write!(f, "contact {id} is already in a queue"),
            RoutingError::NoSuchOffer {
                contact_id,
                agent_id,
            } => write!(
                f,
                "contact {contact_id} has no open offer to agent {agent_id}"
            ),
            RoutingError::OfferNotDue {
                contact_id,
                deadline_ms,
            } => write!(
                f,
                "the offer of contact {contact_id} runs until {deadline_ms}"
            ),
            RoutingError::NoChatInProgress(id) => write!(f, "agent {id} has no chat in progress"),
            RoutingError::InvalidConcurrency(n) => write!(
                f,
                "chat concurrency {n} is outside {MIN_CHAT_CONCURRENCY}..={MAX_CHAT_CONCURRENCY}"
            ),
            RoutingError::InvalidPriority { queue_id, priority } => write!(
                f,
                "priority {priority} of queue {queue_id} is outside {MIN_QUEUE_PRIORITY}..={MAX_QUEUE_PRIORITY}"
            ),
            RoutingError::NegativeDelay { queue_id, delay_ms } => {
                write!(f, "delay {delay_ms} ms of queue {queue_id} is negative")
            }
            RoutingError::DuplicateQueue(id) => {
                write!(f, "queue {id} appears twice in the routing profile")
            }
        }
    }
}

impl std::error::Error for RoutingError {}

/// Identifiers are shared between the maps and the ordered sets rather than copied.
type Id = Arc<str>;

/// A place in a line: the time that orders it, then the identifier, so that ties are broken
/// the same way every time.
type Place = (i64, Id);

/// The first place at or after `at_ms` (the empty identifier sorts before every other).
fn first_from(line: &BTreeSet<Place>, at_ms: i64) -> Option<&Place> {
    line.range((at_ms, Id::from(""))..).next()
}

/// A routing profile serving a queue.
#[derive(Debug, Clone)]
struct Lane {
    queue: Id,
    profile: Id,
    delay_ms: i64,
}

#[derive(Debug, Clone)]
struct Rule {
    queue: Id,
    priority: u32,
    delay_ms: i64,
}

#[derive(Debug)]
struct ProfileState {
    concurrency: u32,
    rules: Vec<Rule>,
    members: HashSet<Id>,
    /// The profile's agents that can take a chat now, longest idle first.
    ready: BTreeSet<Place>,
}

#[derive(Debug, Default)]
struct QueueState {
    /// Contacts waiting for an offer, oldest first.
    waiting: BTreeSet<Place>,
    lanes: Vec<Lane>,
}

#[derive(Debug)]
struct AgentState {
    profile: Id,
    available: bool,
    missed: bool,
    /// Changes with every status change (unique across agents): a rejection holds while it
    /// stays the same.
    status_epoch: u64,
    chats: u32,
    /// Contacts offered to the agent and not answered yet.
    offers: BTreeSet<Id>,
    idle_since_ms: i64,
}

#[derive(Debug)]
struct OpenOffer {
    agent: Id,
    deadline_ms: i64,
}

#[derive(Debug)]
struct ContactState {
    queue: Id,
    enqueued_ms: i64,
    offer: Option<OpenOffer>,
    /// Agents who rejected the contact, with their status epoch then.
    rejected_by: Vec<(Id, u64)>,
}

/// One instance's routing state.
///
/// # Data structures and cost
///
/// Each queue keeps its waiting contacts in an ordered set by (entered the queue, identifier),
/// and each routing profile keeps the agents that can take a chat now in an ordered set by
/// (idle since, identifier). A queue lists the profiles serving it with their delay (its
/// lanes). Nothing is scanned whole: with `A` agents, `C` waiting contacts, `L` profiles
/// serving a queue, `P` queues in a profile and `D` lanes with a delay in the instance,
///
/// - an agent's best contact is the first eligible contact of each of the profile's queues
///   (the oldest contact is the first to pass a delay), compared by (priority, age):
///   `O(P log C)`;
/// - a contact entering a queue goes to the longest idle of the first agents of the lanes whose
///   delay it has passed: `O(L log A)` plus that agent's pick;
/// - an agent freeing a slot (chat ended, offer rejected, became Available) takes their pick,
///   once per free slot;
/// - time passing is checked per delayed lane by one range lookup for contacts whose delay
///   passed since the previous call, and only for lanes whose profile has agents ready:
///   `O(D log C)` per call.
///
/// Agents who rejected a contact can be visited and passed over: each costs one pick more, and
/// there are no more of them than rejections in force. A routing profile change re-lists its
/// agents: `O(members log A)`.
///
/// Why this is exact: after every call no agent who can take a chat has a contact they may be
/// offered (the router is settled). A call can only give new options to the agents it names and
/// to agents of the lanes where contacts entered, came back, or passed a delay; the router gives
/// turns among exactly those, longest idle first, which is what giving turns to every agent in
/// that order would do.
#[derive(Debug)]
pub struct Router {
    offer_timeout_ms: i64,
    /// The latest time a call gave; time never runs backwards here.
    now_ms: i64,
    last_epoch: u64,
    profiles: HashMap<Id, ProfileState>,
    queues: HashMap<Id, QueueState>,
    agents: HashMap<Id, AgentState>,
    contacts: HashMap<Id, ContactState>,
    /// Rejections restored before their agent was added: agent → contacts.
    pending_rejections: HashMap<Id, Vec<Id>>,
}

impl Router {
    /// A router without profiles, agents or contacts, whose offers last `offer_timeout_ms`.
    pub fn new(offer_timeout_ms: i64) -> Self {
        Router {
            offer_timeout_ms,
            now_ms: i64::MIN,
            last_epoch: 0,
            profiles: HashMap::new(),
            queues: HashMap::new(),
            agents: HashMap::new(),
            contacts: HashMap::new(),
            pending_rejections: HashMap::new(),
        }
    }

    /// Creates or replaces a routing profile. Its agents keep their chats and open offers,
    /// even beyond a lowered concurrency.
    pub fn set_routing_profile(
        &mut self,
        profile_id: &str,
        profile: &RoutingRules,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        if !(MIN_CHAT_CONCURRENCY..=MAX_CHAT_CONCURRENCY).contains(&profile.chat_concurrency) {
            return Err(RoutingError::InvalidConcurrency(profile.chat_concurrency));
        }
        let mut seen = HashSet::new();
        for rule in &profile.queues {
            if !(MIN_QUEUE_PRIORITY..=MAX_QUEUE_PRIORITY).contains(&rule.priority) {
                return Err(RoutingError::InvalidPriority {
                    queue_id: rule.queue_id.clone(),
                    priority: rule.priority,
                });
            }
            if rule.delay_ms < 0 {
                return Err(RoutingError::NegativeDelay {
                    queue_id: rule.queue_id.clone(),
                    delay_ms: rule.delay_ms,
                });
            }
            if !seen.insert(rule.queue_id.as_str()) {
                return Err(RoutingError::DuplicateQueue(rule.queue_id.clone()));
            }
        }
        let mut lanes = self.catch_up(now_ms);
        let profile_key = self.profile_key(profile_id);
        let members: Vec<Id> = match self.profiles.get(&profile_key) {
            Some(old) => old.members.iter().cloned().collect(),
            None => Vec::new(),
        };
        for member in &members {
            self.unlist(member);
        }
        for queue in self.queues.values_mut() {
            queue.lanes.retain(|lane| lane.profile != profile_key);
        }
        let mut rules = Vec::with_capacity(profile.queues.len());
        for rule in &profile.queues {
            let queue_key = self.queue_key(&rule.queue_id);
            let lane = Lane {
                queue: queue_key.clone(),
                profile: profile_key.clone(),
                delay_ms: rule.delay_ms,
            };
            self.queues
                .entry(queue_key.clone())
                .or_default()
                .lanes
                .push(lane.clone());
            lanes.push(lane);
            rules.push(Rule {
                queue: queue_key,
                priority: rule.priority,
                delay_ms: rule.delay_ms,
            });
        }
        let state = self
            .profiles
            .entry(profile_key)
            .or_insert_with(|| ProfileState {
                concurrency: profile.chat_concurrency,
                rules: Vec::new(),
                members: HashSet::new(),
                ready: BTreeSet::new(),
            });
        state.concurrency = profile.chat_concurrency;
        state.rules = rules;
        for member in &members {
            self.list(member);
        }
        Ok(self.settle(BTreeSet::new(), lanes, Decision::default()))
    }

    /// Starts routing to an agent.
    pub fn add_agent(
        &mut self,
        agent_id: &str,
        agent: &NewAgent,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        if self.agents.contains_key(agent_id) {
            return Err(RoutingError::AgentExists(agent_id.to_string()));
        }
        let profile = self.existing_profile_key(&agent.routing_profile_id)?;
        let lanes = self.catch_up(now_ms);
        let agent_key: Id = Id::from(agent_id);
        let status_epoch = self.next_epoch();
        for contact in self.pending_rejections.remove(agent_id).unwrap_or_default() {
            if let Some(state) = self.contacts.get_mut(&contact) {
                state.rejected_by.push((agent_key.clone(), status_epoch));
            }
        }
        self.agents.insert(
            agent_key.clone(),
            AgentState {
                profile: profile.clone(),
                available: agent.available,
                missed: agent.missed,
                status_epoch,
                chats: agent.chats_in_progress,
                offers: BTreeSet::new(),
                idle_since_ms: agent.idle_since_ms,
            },
        );
        if let Some(state) = self.profiles.get_mut(&profile) {
            state.members.insert(agent_key.clone());
        }
        self.list(&agent_key);
        Ok(self.settle(self.turn_of(&agent_key), lanes, Decision::default()))
    }

    /// Stops routing to an agent (their chats in progress are no longer counted). Their open
    /// offers are withdrawn and their contacts offered to others.
    pub fn remove_agent(&mut self, agent_id: &str, now_ms: i64) -> Result<Decision, RoutingError> {
        let agent_key = self.existing_agent_key(agent_id)?;
        let mut lanes = self.catch_up(now_ms);
        let mut decision = Decision::default();
        lanes.extend(self.withdraw_offers_of(&agent_key, &mut decision));
        self.unlist(&agent_key);
        if let Some(agent) = self.agents.remove(&agent_key)
            && let Some(profile) = self.profiles.get_mut(&agent.profile)
        {
            profile.members.remove(&agent_key);
        }
        Ok(self.settle(BTreeSet::new(), lanes, decision))
    }

    /// Sets whether the agent's status is Available. Any actual change (including setting
    /// Available again after a missed offer) ends the missed state and lifts the agent's
    /// rejections; becoming Available starts the agent's idle time, and leaving it withdraws the
    /// agent's open offers (their chats in progress stay).
    pub fn set_agent_available(
        &mut self,
        agent_id: &str,
        available: bool,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        let agent_key = self.existing_agent_key(agent_id)?;
        let mut lanes = self.catch_up(now_ms);
        let mut decision = Decision::default();
        let changes = self
            .agents
            .get(&agent_key)
            .is_some_and(|agent| agent.available != available || agent.missed);
        if changes {
            let (now, epoch) = (self.now_ms, self.next_epoch());
            self.update_agent(&agent_key, |agent| {
                agent.available = available;
                agent.missed = false;
                agent.status_epoch = epoch;
                if available {
                    agent.idle_since_ms = now;
                }
            });
            if !available {
                lanes.extend(self.withdraw_offers_of(&agent_key, &mut decision));
            }
        }
        Ok(self.settle(self.turn_of(&agent_key), lanes, decision))
    }

    /// Moves an agent to another routing profile; their chats and open offers stay.
    pub fn set_agent_profile(
        &mut self,
        agent_id: &str,
        profile_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        let agent_key = self.existing_agent_key(agent_id)?;
        let profile = self.existing_profile_key(profile_id)?;
        let lanes = self.catch_up(now_ms);
        self.unlist(&agent_key);
        if let Some(agent) = self.agents.get_mut(&agent_key) {
            if let Some(old) = self.profiles.get_mut(&agent.profile) {
                old.members.remove(&agent_key);
            }
            agent.profile = profile.clone();
        }
        if let Some(new) = self.profiles.get_mut(&profile) {
            new.members.insert(agent_key.clone());
        }
        self.list(&agent_key);
        Ok(self.settle(self.turn_of(&agent_key), lanes, Decision::default()))
    }

    /// A contact enters a queue (a flow's TransferContactToQueue). `enqueued_ms` orders it among
    /// the queue's contacts and starts its delays; a time after `now_ms` counts as `now_ms`.
    pub fn enqueue(
        &mut self,
        contact_id: &str,
        queue_id: &str,
        enqueued_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        if self.contacts.contains_key(contact_id) {
            return Err(RoutingError::ContactExists(contact_id.to_string()));
        }
        let mut lanes = self.catch_up(now_ms);
        let contact_key: Id = Id::from(contact_id);
        let queue_key = self.queue_key(queue_id);
        let enqueued_ms = enqueued_ms.min(self.now_ms);
        let queue = self.queues.entry(queue_key.clone()).or_default();
        queue.waiting.insert((enqueued_ms, contact_key.clone()));
        lanes.extend(queue.lanes.iter().cloned());
        // A contact in an agent's own queue is that agent's to take.
        let owner_turn = self.turn_of(&queue_key);
        self.contacts.insert(
            contact_key,
            ContactState {
                queue: queue_key,
                enqueued_ms,
                offer: None,
                rejected_by: Vec::new(),
            },
        );
        Ok(self.settle(owner_turn, lanes, Decision::default()))
    }

    /// Restores a rejection kept elsewhere (routing rebuilt from storage): the agent is not
    /// offered the queued contact until their status changes. Restore before adding the agent
    /// (a known agent's rejection holds until their next status change too).
    pub fn restore_rejection(&mut self, contact_id: &str, agent_id: &str) {
        let Some(contact_key) = self.existing_contact_key(contact_id).ok() else {
            return;
        };
        match self.agents.get_key_value(agent_id) {
            Some((agent_key, agent)) => {
                let rejection = (agent_key.clone(), agent.status_epoch);
                if let Some(contact) = self.contacts.get_mut(&contact_key) {
                    contact.rejected_by.push(rejection);
                }
            }
            None => self
                .pending_rejections
                .entry(Id::from(agent_id))
                .or_default()
                .push(contact_key),
        }
    }

    /// The contact left its queue without being accepted (the customer left, or a flow moved it
    /// on). An open offer of it is withdrawn.
    pub fn contact_left(
        &mut self,
        contact_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        let contact_key = self.existing_contact_key(contact_id)?;
        let lanes = self.catch_up(now_ms);
        let mut decision = Decision::default();
        let mut turns = BTreeSet::new();
        if let Some((offer, agent)) = self.close_offer(&contact_key) {
            decision.withdrawn.push(offer);
            turns = self.turn_of(&agent);
        }
        if let Some(contact) = self.contacts.remove(&contact_key)
            && let Some(queue) = self.queues.get_mut(&contact.queue)
        {
            queue.waiting.remove(&(contact.enqueued_ms, contact_key));
        }
        Ok(self.settle(turns, lanes, decision))
    }

    /// The agent accepted the offer: the contact leaves the router and becomes one of the
    /// agent's chats in progress.
    pub fn accept_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        let (contact_key, agent_key) = self.open_offer_keys(contact_id, agent_id)?;
        let lanes = self.catch_up(now_ms);
        self.close_offer(&contact_key);
        self.contacts.remove(&contact_key);
        self.update_agent(&agent_key, |agent| {
            agent.chats = agent.chats.saturating_add(1)
        });
        Ok(self.settle(BTreeSet::new(), lanes, Decision::default()))
    }

    /// The agent rejected the offer: the contact waits again at its place and is offered to
    /// another agent; it is not offered to this agent again until their status changes.
    pub fn reject_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        let (contact_key, agent_key) = self.open_offer_keys(contact_id, agent_id)?;
        let mut lanes = self.catch_up(now_ms);
        self.close_offer(&contact_key);
        let epoch = self.agents.get(&agent_key).map(|agent| agent.status_epoch);
        if let (Some(contact), Some(epoch)) = (self.contacts.get_mut(&contact_key), epoch) {
            contact.rejected_by.push((agent_key.clone(), epoch));
        }
        lanes.extend(self.requeue(&contact_key));
        Ok(self.settle(self.turn_of(&agent_key), lanes, Decision::default()))
    }

    /// The offer's deadline passed unanswered (`now_ms` at or after it): the agent goes to the
    /// missed state and the contact waits again at its place, to be offered to another agent.
    pub fn offer_timed_out(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        let (contact_key, agent_key) = self.open_offer_keys(contact_id, agent_id)?;
        let deadline_ms = self
            .contacts
            .get(&contact_key)
            .and_then(|contact| contact.offer.as_ref())
            .map_or(i64::MIN, |offer| offer.deadline_ms);
        if now_ms.max(self.now_ms) < deadline_ms {
            return Err(RoutingError::OfferNotDue {
                contact_id: contact_id.to_string(),
                deadline_ms,
            });
        }
        let mut lanes = self.catch_up(now_ms);
        self.close_offer(&contact_key);
        self.update_agent(&agent_key, |agent| agent.missed = true);
        lanes.extend(self.requeue(&contact_key));
        Ok(self.settle(BTreeSet::new(), lanes, Decision::default()))
    }

    /// One of the agent's chats ended: a slot is free and the agent's idle time starts again.
    pub fn chat_ended(&mut self, agent_id: &str, now_ms: i64) -> Result<Decision, RoutingError> {
        let agent_key = self.existing_agent_key(agent_id)?;
        if self
            .agents
            .get(&agent_key)
            .is_some_and(|agent| agent.chats == 0)
        {
            return Err(RoutingError::NoChatInProgress(agent_id.to_string()));
        }
        let lanes = self.catch_up(now_ms);
        let now = self.now_ms;
        self.update_agent(&agent_key, |agent| {
            agent.chats -= 1;
            agent.idle_since_ms = now;
        });
        Ok(self.settle(self.turn_of(&agent_key), lanes, Decision::default()))
    }

    /// Makes the offers that became possible as delays passed by `now_ms`. Call it at
    /// [`Router::next_due_ms`]; every other call does the same first.
    pub fn advance(&mut self, now_ms: i64) -> Decision {
        let lanes = self.catch_up(now_ms);
        self.settle(BTreeSet::new(), lanes, Decision::default())
    }

    /// When a waiting contact next passes a delay for a profile with agents ready to take it:
    /// the time to call [`Router::advance`]. Ask again after every call.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.delayed_lanes()
            .filter_map(|lane| {
                let queue = self.queues.get(&lane.queue)?;
                let eligible_through = self.now_ms.saturating_sub(lane.delay_ms);
                let (enqueued_ms, _) =
                    first_from(&queue.waiting, eligible_through.saturating_add(1))?;
                Some(enqueued_ms.saturating_add(lane.delay_ms))
            })
            .min()
    }

    /// The open offer of a contact, if it has one.
    pub fn open_offer(&self, contact_id: &str) -> Option<Offer> {
        let contact = self.contacts.get(contact_id)?;
        let offer = contact.offer.as_ref()?;
        Some(Offer {
            contact_id: contact_id.to_string(),
            agent_id: offer.agent.to_string(),
            queue_id: contact.queue.to_string(),
            deadline_ms: offer.deadline_ms,
        })
    }

    /// The agent as the router holds them, if it does.
    pub fn agent(&self, agent_id: &str) -> Option<AgentView> {
        let agent = self.agents.get(agent_id)?;
        Some(AgentView {
            routing_profile_id: agent.profile.to_string(),
            available: agent.available,
            missed: agent.missed,
            chats_in_progress: agent.chats,
            open_offers: agent.offers.len(),
        })
    }

    /// The queue a contact waits in (with or without an open offer), if it does.
    pub fn queue_of(&self, contact_id: &str) -> Option<String> {
        self.contacts
            .get(contact_id)
            .map(|contact| contact.queue.to_string())
    }

    /// Every contact the router holds in a queue (with or without an open offer).
    pub fn contact_ids(&self) -> Vec<String> {
        self.contacts.keys().map(|id| id.to_string()).collect()
    }

    /// How many contacts wait in a queue without an open offer.
    pub fn waiting_in(&self, queue_id: &str) -> usize {
        self.queues
            .get(queue_id)
            .map_or(0, |queue| queue.waiting.len())
    }

    // --- Bookkeeping -----------------------------------------------------------------------

    fn next_epoch(&mut self) -> u64 {
        self.last_epoch += 1;
        self.last_epoch
    }

    /// The shared identifier of a profile, new or known.
    fn profile_key(&self, profile_id: &str) -> Id {
        self.profiles
            .get_key_value(profile_id)
            .map_or_else(|| Id::from(profile_id), |(key, _)| key.clone())
    }

    fn queue_key(&self, queue_id: &str) -> Id {
        self.queues
            .get_key_value(queue_id)
            .map_or_else(|| Id::from(queue_id), |(key, _)| key.clone())
    }

    fn existing_profile_key(&self, profile_id: &str) -> Result<Id, RoutingError> {
        self.profiles
            .get_key_value(profile_id)
            .map(|(key, _)| key.clone())
            .ok_or_else(|| RoutingError::UnknownProfile(profile_id.to_string()))
    }

    fn existing_agent_key(&self, agent_id: &str) -> Result<Id, RoutingError> {
        self.agents
            .get_key_value(agent_id)
            .map(|(key, _)| key.clone())
            .ok_or_else(|| RoutingError::UnknownAgent(agent_id.to_string()))
    }

    fn existing_contact_key(&self, contact_id: &str) -> Result<Id, RoutingError> {
        self.contacts
            .get_key_value(contact_id)
            .map(|(key, _)| key.clone())
            .ok_or_else(|| RoutingError::UnknownContact(contact_id.to_string()))
    }

    /// The keys of a contact and of the agent it is offered to, if that offer is open.
    fn open_offer_keys(&self, contact_id: &str, agent_id: &str) -> Result<(Id, Id), RoutingError> {
        let no_offer = || RoutingError::NoSuchOffer {
            contact_id: contact_id.to_string(),
            agent_id: agent_id.to_string(),
        };
        let (contact_key, contact) = self
            .contacts
            .get_key_value(contact_id)
            .ok_or_else(no_offer)?;
        match &contact.offer {
            Some(offer) if &*offer.agent == agent_id => {
                Ok((contact_key.clone(), offer.agent.clone()))
            }
            _ => Err(no_offer()),
        }
    }

    /// Whether the agent can take a chat now.
    fn can_take_chat(&self, agent: &AgentState) -> bool {
        let Some(profile) = self.profiles.get(&agent.profile) else {
            return false;
        };
        let load = (agent.chats as usize).saturating_add(agent.offers.len());
        agent.available && !agent.missed && load < profile.concurrency as usize
    }

    /// Takes the agent out of their profile's line of agents ready for a chat, before anything
    /// that orders it (idle time, profile) or decides it (status, load) changes.
    fn unlist(&mut self, agent_key: &Id) {
        if let Some(agent) = self.agents.get(agent_key)
            && let Some(profile) = self.profiles.get_mut(&agent.profile)
        {
            profile
                .ready
                .remove(&(agent.idle_since_ms, agent_key.clone()));
        }
    }

    /// Puts the agent back in their profile's line if they can take a chat.
    fn list(&mut self, agent_key: &Id) {
        let Some(agent) = self.agents.get(agent_key) else {
            return;
        };
        if !self.can_take_chat(agent) {
            return;
        }
        let place = (agent.idle_since_ms, agent_key.clone());
        if let Some(profile) = self.profiles.get_mut(&agent.profile) {
            profile.ready.insert(place);
        }
    }

    fn update_agent(&mut self, agent_key: &Id, change: impl FnOnce(&mut AgentState)) {
        self.unlist(agent_key);
        if let Some(agent) = self.agents.get_mut(agent_key) {
            change(agent);
        }
        self.list(agent_key);
    }

    /// The agent's place in line if they can take a chat: a turn to give them.
    fn turn_of(&self, agent_key: &Id) -> BTreeSet<Place> {
        self.agents
            .get(agent_key)
            .filter(|agent| self.can_take_chat(agent))
            .map(|agent| (agent.idle_since_ms, agent_key.clone()))
            .into_iter()
            .collect()
    }

    /// Ends the contact's open offer without deciding what becomes of the contact. Returns the
    /// offer and its agent.
    fn close_offer(&mut self, contact_key: &Id) -> Option<(Offer, Id)> {
        let contact = self.contacts.get_mut(contact_key)?;
        let open = contact.offer.take()?;
        let offer = Offer {
            contact_id: contact_key.to_string(),
            agent_id: open.agent.to_string(),
            queue_id: contact.queue.to_string(),
            deadline_ms: open.deadline_ms,
        };
        self.update_agent(&open.agent, |agent| {
            agent.offers.remove(contact_key);
        });
        Some((offer, open.agent))
    }

    /// Puts a contact whose offer ended back in its queue at its old place. Returns the lanes
    /// that may now offer it.
    fn requeue(&mut self, contact_key: &Id) -> Vec<Lane> {
        let Some(contact) = self.contacts.get(contact_key) else {
            return Vec::new();
        };
        let Some(queue) = self.queues.get_mut(&contact.queue) else {
            return Vec::new();
        };
        queue
            .waiting
            .insert((contact.enqueued_ms, contact_key.clone()));
        queue.lanes.clone()
    }

    /// Withdraws the agent's open offers (recorded in `decision`) and requeues their contacts.
    /// Returns the lanes that may now offer them.
    fn withdraw_offers_of(&mut self, agent_key: &Id, decision: &mut Decision) -> Vec<Lane> {
        let offered: Vec<Id> = self
            .agents
            .get(agent_key)
            .map(|agent| agent.offers.iter().cloned().collect())
            .unwrap_or_default();
        let mut lanes = Vec::new();
        for contact_key in offered {
            if let Some((offer, _)) = self.close_offer(&contact_key) {
                decision.withdrawn.push(offer);
            }
            lanes.extend(self.requeue(&contact_key));
        }
        lanes
    }

    // --- Deciding --------------------------------------------------------------------------

    fn delayed_lanes(&self) -> impl Iterator<Item = &Lane> {
        self.queues
            .values()
            .flat_map(|queue| &queue.lanes)
            .filter(|lane| lane.delay_ms > 0)
            .filter(|lane| {
                self.profiles
                    .get(&lane.profile)
                    .is_some_and(|profile| !profile.ready.is_empty())
            })
    }

    /// Moves the clock to `now_ms` and returns the lanes where a contact passed its delay
    /// since the previous call and that have agents ready to take it. (Contacts are eligible
    /// for lanes without a delay as soon as they enter the queue.)
    fn catch_up(&mut self, now_ms: i64) -> Vec<Lane> {
        let previous = self.now_ms;
        if now_ms <= previous {
            return Vec::new();
        }
        self.now_ms = now_ms;
        self.delayed_lanes()
            .filter(|lane| {
                let Some(queue) = self.queues.get(&lane.queue) else {
                    return false;
                };
                let newly_from = previous.saturating_sub(lane.delay_ms).saturating_add(1);
                let newly_through = now_ms.saturating_sub(lane.delay_ms);
                first_from(&queue.waiting, newly_from)
                    .is_some_and(|(enqueued_ms, _)| *enqueued_ms <= newly_through)
            })
            .cloned()
            .collect()
    }

    fn rejected(&self, contact_key: &Id, agent_key: &Id, status_epoch: u64) -> bool {
        self.contacts.get(contact_key).is_some_and(|contact| {
            contact
                .rejected_by
                .iter()
                .any(|(agent, epoch)| *epoch == status_epoch && agent == agent_key)
        })
    }

    /// The best contact the agent may be offered now: the oldest of their own queue, else
    /// lowest priority number, then oldest, then lowest identifier.
    fn best_contact_for(&self, agent_key: &Id) -> Option<Id> {
        let agent = self.agents.get(agent_key)?;
        let own = self.queues.get(agent_key).and_then(|queue| {
            queue
                .waiting
                .iter()
                .find(|(_, contact)| !self.rejected(contact, agent_key, agent.status_epoch))
        });
        if let Some((_, contact)) = own {
            return Some(contact.clone());
        }
        let profile = self.profiles.get(&agent.profile)?;
        let mut best: Option<(u32, i64, &Id)> = None;
        for rule in &profile.rules {
            let Some(queue) = self.queues.get(&rule.queue) else {
                continue;
            };
            let eligible_through = self.now_ms.saturating_sub(rule.delay_ms);
            let first = queue
                .waiting
                .iter()
                .take_while(|(enqueued_ms, _)| *enqueued_ms <= eligible_through)
                .find(|(_, contact)| !self.rejected(contact, agent_key, agent.status_epoch));
            if let Some((enqueued_ms, contact)) = first {
                let rank = (rule.priority, *enqueued_ms, contact);
                if best.is_none_or(|best| rank < best) {
                    best = Some(rank);
                }
            }
        }
        best.map(|(_, _, contact)| contact.clone())
    }

    /// The first agent of a lane who may still have something to take: the lane's queue has a
    /// contact past the lane's delay (its oldest is the first past it), and the agent can take
    /// a chat and has not come away empty-handed in this settling.
    fn lane_candidate(&self, lane: &Lane, passed_over: &HashSet<Id>) -> Option<Place> {
        let queue = self.queues.get(&lane.queue)?;
        let (oldest_ms, _) = queue.waiting.first()?;
        if oldest_ms.saturating_add(lane.delay_ms) > self.now_ms {
            return None;
        }
        let profile = self.profiles.get(&lane.profile)?;
        profile
            .ready
            .iter()
            .find(|(_, agent)| !passed_over.contains(agent))
            .cloned()
    }

    fn make_offer(&mut self, contact_key: &Id, agent_key: &Id, decision: &mut Decision) {
        let deadline_ms = self.now_ms.saturating_add(self.offer_timeout_ms);
        let Some(contact) = self.contacts.get_mut(contact_key) else {
            return;
        };
        if let Some(queue) = self.queues.get_mut(&contact.queue) {
            queue
                .waiting
                .remove(&(contact.enqueued_ms, contact_key.clone()));
        }
        contact.offer = Some(OpenOffer {
            agent: agent_key.clone(),
            deadline_ms,
        });
        decision.offers.push(Offer {
            contact_id: contact_key.to_string(),
            agent_id: agent_key.to_string(),
            queue_id: contact.queue.to_string(),
            deadline_ms,
        });
        let now = self.now_ms;
        self.update_agent(agent_key, |agent| {
            agent.offers.insert(contact_key.clone());
            agent.idle_since_ms = now;
        });
    }

    /// Gives turns, longest idle first, to the agents in `turns` and to the agents of `lanes`,
    /// until none of them has anything to take. An agent from `turns` who got an offer and can
    /// take another goes back in line behind the others; agents of a lane are found again in
    /// the lane.
    fn settle(
        &mut self,
        mut turns: BTreeSet<Place>,
        mut lanes: Vec<Lane>,
        mut decision: Decision,
    ) -> Decision {
        let mut passed_over: HashSet<Id> = HashSet::new();
        loop {
            let mut next = turns.first().cloned();
            lanes.retain(|lane| match self.lane_candidate(lane, &passed_over) {
                Some(candidate) => {
                    if next.as_ref().is_none_or(|next| candidate < *next) {
                        next = Some(candidate);
                    }
                    true
                }
                None => false,
            });
            let Some(place) = next else {
                return decision;
            };
            let had_turn = turns.remove(&place);
            let agent_key = place.1;
            match self.best_contact_for(&agent_key) {
                Some(contact_key) => {
                    self.make_offer(&contact_key, &agent_key, &mut decision);
                    if had_turn {
                        turns.extend(self.turn_of(&agent_key));
                    }
                }
                None => {
                    passed_over.insert(agent_key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: i64 = 20_000;

    fn rules(concurrency: u32, queues: &[(&str, u32, i64)]) -> RoutingRules {
        RoutingRules {
            chat_concurrency: concurrency,
            queues: queues
                .iter()
                .map(|(queue, priority, delay_ms)| QueueRule {
                    queue_id: queue.to_string(),
                    priority: *priority,
                    delay_ms: *delay_ms,
                })
                .collect(),
        }
    }

    fn available(profile: &str, idle_since_ms: i64) -> NewAgent {
        NewAgent {
            routing_profile_id: profile.into(),
            available: true,
            missed: false,
            chats_in_progress: 0,
            idle_since_ms,
        }
    }

    /// A router at time 0 with one profile.
    fn router(profile: &str, rules: RoutingRules) -> Router {
        let mut router = Router::new(TIMEOUT);
        router.set_routing_profile(profile, &rules, 0).unwrap();
        router
    }

    /// (contact, agent) of each offer.
    fn offers(decision: &Decision) -> Vec<(&str, &str)> {
        decision
            .offers
            .iter()
            .map(|offer| (offer.contact_id.as_str(), offer.agent_id.as_str()))
            .collect()
    }

    fn withdrawn(decision: &Decision) -> Vec<(&str, &str)> {
        decision
            .withdrawn
            .iter()
            .map(|offer| (offer.contact_id.as_str(), offer.agent_id.as_str()))
            .collect()
    }

    #[test]
    fn priority_beats_age() {
        let mut router = router("p", rules(1, &[("low", 2, 0), ("high", 1, 0)]));
        router.enqueue("old", "low", 0, 0).unwrap();
        router.enqueue("new", "high", 5, 5).unwrap();
        let decision = router.add_agent("a", &available("p", 0), 10).unwrap();
        assert_eq!(offers(&decision), [("new", "a")]);
        assert_eq!(decision.offers[0].queue_id, "high");
        assert_eq!(decision.offers[0].deadline_ms, 10 + TIMEOUT);
    }

    #[test]
    fn an_agent_queue_is_offered_to_its_agent_only_and_first() {
        let mut router = router("p", rules(1, &[("q", 1, 0)]));
        let busy = NewAgent {
            chats_in_progress: 1,
            ..available("p", 0)
        };
        router.add_agent("ana", &busy, 0).unwrap();
        router.add_agent("ben", &available("p", 0), 0).unwrap();
        router.enqueue("queued", "q", 0, 0).unwrap();
        // Ben took the queued contact; Ana's own contact waits for Ana, not for Ben's next slot.
        router.accept_offer("queued", "ben", 1).unwrap();
        router.chat_ended("ben", 2).unwrap();
        router.enqueue("older", "q", 3, 3).unwrap();
        router.accept_offer("older", "ben", 4).unwrap();
        router.enqueue("newer", "q", 5, 5).unwrap();
        assert!(
            router
                .enqueue("for-ana", "ana", 6, 6)
                .unwrap()
                .offers
                .is_empty()
        );
        // Ana's slot frees: her own contact goes before the older one of her profile's queue.
        let decision = router.chat_ended("ana", 10).unwrap();
        assert_eq!(offers(&decision), [("for-ana", "ana")]);
        // Rejected, it stays in her queue; nobody else is offered it.
        let decision = router.reject_offer("for-ana", "ana", 11).unwrap();
        assert_eq!(offers(&decision), [("newer", "ana")]);
        router.chat_ended("ben", 12).unwrap();
        assert_eq!(router.queue_of("for-ana").as_deref(), Some("ana"));
        assert_eq!(router.open_offer("for-ana"), None);
        // After a status change she is offered it again, with no delay.
        router.set_agent_available("ana", false, 13).unwrap();
        let decision = router.set_agent_available("ana", true, 14).unwrap();
        assert_eq!(offers(&decision), [("for-ana", "ana")]);
    }

    #[test]
    fn within_a_priority_the_oldest_contact_goes_first() {
        let mut router = router("p", rules(3, &[("q1", 1, 0), ("q2", 1, 0)]));
        router.enqueue("b", "q2", 3, 10).unwrap();
        router.enqueue("c", "q1", 4, 10).unwrap();
        router.enqueue("a", "q1", 1, 10).unwrap();
        let decision = router.add_agent("agent", &available("p", 0), 10).unwrap();
        assert_eq!(
            offers(&decision),
            [("a", "agent"), ("b", "agent"), ("c", "agent")]
        );
    }

    #[test]
    fn a_contact_waits_out_the_delay_then_is_offered() {
        let mut router = router("p", rules(1, &[("q", 1, 30_000)]));
        router.add_agent("a", &available("p", 0), 0).unwrap();
        assert!(
            router
                .enqueue("c", "q", 1_000, 1_000)
                .unwrap()
                .offers
                .is_empty()
        );
        assert_eq!(router.next_due_ms(), Some(31_000));
        assert!(router.advance(30_999).offers.is_empty());
        assert_eq!(offers(&router.advance(31_000)), [("c", "a")]);
        assert_eq!(router.next_due_ms(), None);
    }

    #[test]
    fn past_its_delay_a_contact_competes_on_priority_and_age() {
        // Connect's example: Sales priority 1 without delay, Support priority 1 after 30 s.
        let mut router = router("p", rules(1, &[("sales", 1, 0), ("support", 1, 30_000)]));
        let busy = NewAgent {
            chats_in_progress: 1,
            ..available("p", 0)
        };
        router.add_agent("a", &busy, 0).unwrap();
        router.enqueue("support-0", "support", 0, 0).unwrap();
        router.enqueue("sales-20", "sales", 20_000, 20_000).unwrap();
        // At 25 s the Support contact is not past its delay: the younger Sales contact goes.
        let decision = router.chat_ended("a", 25_000).unwrap();
        assert_eq!(offers(&decision), [("sales-20", "a")]);
        router.accept_offer("sales-20", "a", 26_000).unwrap();
        router.enqueue("sales-35", "sales", 35_000, 35_000).unwrap();
        // At 40 s both are eligible at priority 1: the older one goes first.
        let decision = router.chat_ended("a", 40_000).unwrap();
        assert_eq!(offers(&decision), [("support-0", "a")]);
    }

    #[test]
    fn delays_belong_to_each_profile() {
        let mut router = router("fast", rules(1, &[("q", 1, 0)]));
        router
            .set_routing_profile("slow", &rules(1, &[("q", 1, 10_000)]), 0)
            .unwrap();
        router
            .add_agent("slow-agent", &available("slow", 0), 0)
            .unwrap();
        router
            .add_agent("fast-agent", &available("fast", 500), 500)
            .unwrap();
        // The slow agent has been idle longer but may not take the contact yet.
        let decision = router.enqueue("c1", "q", 1_000, 1_000).unwrap();
        assert_eq!(offers(&decision), [("c1", "fast-agent")]);
        assert!(
            router
                .enqueue("c2", "q", 2_000, 2_000)
                .unwrap()
                .offers
                .is_empty()
        );
        assert_eq!(router.next_due_ms(), Some(12_000));
        assert_eq!(offers(&router.advance(12_000)), [("c2", "slow-agent")]);
    }

    #[test]
    fn the_longest_idle_agent_gets_the_contact() {
        let mut router = router("p", rules(1, &[("q", 1, 0)]));
        router.add_agent("a", &available("p", 300), 1_000).unwrap();
        router.add_agent("b", &available("p", 100), 1_000).unwrap();
        router.add_agent("c", &available("p", 200), 1_000).unwrap();
        let arrivals: Vec<_> = ["x", "y", "z"]
            .iter()
            .map(|contact| router.enqueue(contact, "q", 2_000, 2_000).unwrap())
            .collect();
        let got: Vec<_> = arrivals.iter().flat_map(offers).collect();
        assert_eq!(got, [("x", "b"), ("y", "c"), ("z", "a")]);
    }

    #[test]
    fn an_offer_sends_the_agent_to_the_back_of_the_line() {
        let mut router = router("p", rules(2, &[("q", 1, 0)]));
        router.add_agent("a", &available("p", 100), 1_000).unwrap();
        router.add_agent("b", &available("p", 200), 1_000).unwrap();
        let mut got = Vec::new();
        for (at, contact) in [(1_000, "x"), (1_001, "y"), (1_002, "z")] {
            let decision = router.enqueue(contact, "q", at, at).unwrap();
            got.extend(
                offers(&decision)
                    .into_iter()
                    .map(|(c, a)| (c.to_string(), a.to_string())),
            );
        }
        let got: Vec<_> = got.iter().map(|(c, a)| (c.as_str(), a.as_str())).collect();
        assert_eq!(got, [("x", "a"), ("y", "b"), ("z", "a")]);
        // Several contacts at once are spread over the agents the same way.
        let mut router = router_with_waiting(2, 4);
        let decision = router.add_agent("b", &available("p", 200), 1_000);
        assert_eq!(offers(&decision.unwrap()), [("c0", "b"), ("c1", "b")]);
        let decision = router.add_agent("a", &available("p", 100), 1_000).unwrap();
        assert_eq!(offers(&decision), [("c2", "a"), ("c3", "a")]);
    }

    /// A router whose profile `p` serves `q` with `concurrency`, with `waiting` contacts
    /// `c0`, `c1`, … queued at 0, 1, … and no agents.
    fn router_with_waiting(concurrency: u32, waiting: usize) -> Router {
        let mut router = router("p", rules(concurrency, &[("q", 1, 0)]));
        for index in 0..waiting {
            let at = index as i64;
            router.enqueue(&format!("c{index}"), "q", at, at).unwrap();
        }
        router
    }

    #[test]
    fn chat_concurrency_bounds_open_offers_and_chats_from_one_to_ten() {
        for concurrency in MIN_CHAT_CONCURRENCY..=MAX_CHAT_CONCURRENCY {
            let n = concurrency as usize;
            let mut router = router_with_waiting(concurrency, n + 3);
            let decision = router.add_agent("a", &available("p", 0), 100).unwrap();
            let expected: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            let got: Vec<&str> = decision
                .offers
                .iter()
                .map(|o| o.contact_id.as_str())
                .collect();
            assert_eq!(got, expected, "concurrency {concurrency}");
            assert_eq!(router.waiting_in("q"), 3);
            // Accepting turns an offer into a chat: no slot frees.
            for contact in &expected {
                let decision = router.accept_offer(contact, "a", 200).unwrap();
                assert!(decision.offers.is_empty());
            }
            // Each chat that ends frees one slot.
            let decision = router.chat_ended("a", 300).unwrap();
            assert_eq!(offers(&decision), [(format!("c{n}").as_str(), "a")]);
            assert_eq!(router.waiting_in("q"), 2);
        }
    }

    #[test]
    fn chats_in_progress_count_against_the_slots() {
        let mut router = router_with_waiting(3, 5);
        let busy = NewAgent {
            chats_in_progress: 3,
            ..available("p", 0)
        };
        assert!(router.add_agent("a", &busy, 10).unwrap().offers.is_empty());
        assert_eq!(offers(&router.chat_ended("a", 20).unwrap()), [("c0", "a")]);
        let mut router = router_with_waiting(1, 0);
        router.add_agent("b", &available("p", 0), 10).unwrap();
        assert_eq!(
            router.chat_ended("b", 20),
            Err(RoutingError::NoChatInProgress("b".into()))
        );
    }

    #[test]
    fn a_missed_offer_goes_to_the_next_agent_and_stops_offers_to_the_agent() {
        let mut router = router("p", rules(2, &[("q", 1, 0)]));
        router.add_agent("a", &available("p", 0), 0).unwrap();
        router.add_agent("b", &available("p", 1), 1).unwrap();
        let decision = router.enqueue("x", "q", 10, 10).unwrap();
        assert_eq!(offers(&decision), [("x", "a")]);
        let deadline = decision.offers[0].deadline_ms;
        assert_eq!(
            router.offer_timed_out("x", "a", deadline - 1),
            Err(RoutingError::OfferNotDue {
                contact_id: "x".into(),
                deadline_ms: deadline
            })
        );
        assert_eq!(
            router.offer_timed_out("x", "b", deadline),
            Err(RoutingError::NoSuchOffer {
                contact_id: "x".into(),
                agent_id: "b".into()
            })
        );
        let decision = router.offer_timed_out("x", "a", deadline).unwrap();
        assert_eq!(offers(&decision), [("x", "b")]);
        assert_eq!(decision.offers[0].deadline_ms, deadline + TIMEOUT);
        // The missed agent gets nothing, even with free slots, until their status changes.
        let decision = router
            .enqueue("y", "q", deadline + 1, deadline + 1)
            .unwrap();
        assert_eq!(offers(&decision), [("y", "b")]);
        assert!(
            router
                .enqueue("z", "q", deadline + 2, deadline + 2)
                .unwrap()
                .offers
                .is_empty()
        );
        let decision = router.set_agent_available("a", true, deadline + 3).unwrap();
        assert_eq!(offers(&decision), [("z", "a")]);
    }

    #[test]
    fn a_late_timer_of_an_earlier_offer_is_refused() {
        let mut router = router("p", rules(1, &[("q", 1, 0)]));
        router.add_agent("a", &available("p", 0), 0).unwrap();
        let first = router.enqueue("x", "q", 0, 0).unwrap().offers[0].clone();
        router.set_agent_available("a", false, 5_000).unwrap();
        let again = router.set_agent_available("a", true, 6_000).unwrap();
        assert_eq!(offers(&again), [("x", "a")]);
        assert_eq!(
            router.offer_timed_out("x", "a", first.deadline_ms),
            Err(RoutingError::OfferNotDue {
                contact_id: "x".into(),
                deadline_ms: 6_000 + TIMEOUT
            })
        );
        assert_eq!(router.open_offer("x"), Some(again.offers[0].clone()));
    }

    #[test]
    fn a_rejected_contact_goes_to_the_next_agent_and_not_back() {
        let mut router = router("p", rules(1, &[("q", 1, 0)]));
        router.add_agent("a", &available("p", 0), 0).unwrap();
        router.add_agent("b", &available("p", 1), 1).unwrap();
        router.set_agent_available("b", false, 2).unwrap();
        assert_eq!(
            offers(&router.enqueue("x", "q", 10, 10).unwrap()),
            [("x", "a")]
        );
        router.enqueue("w", "q", 20, 20).unwrap();
        // The rejecting agent takes the next contact; the rejected one waits for someone else.
        let decision = router.reject_offer("x", "a", 30).unwrap();
        assert_eq!(offers(&decision), [("w", "a")]);
        assert_eq!(router.waiting_in("q"), 1);
        let decision = router.set_agent_available("b", true, 40).unwrap();
        assert_eq!(offers(&decision), [("x", "b")]);
        // Rejected again, with nobody else: it waits, and is not offered to its rejecters.
        assert!(router.reject_offer("x", "b", 50).unwrap().offers.is_empty());
        let decision = router.reject_offer("w", "a", 60).unwrap();
        assert_eq!(offers(&decision), [("w", "b")]);
        let decision = router.reject_offer("w", "a", 70);
        assert!(matches!(decision, Err(RoutingError::NoSuchOffer { .. })));
        assert_eq!(router.waiting_in("q"), 1);
        assert!(router.open_offer("x").is_none());
        // A status change lifts the agent's rejections.
        router.set_agent_available("a", false, 90).unwrap();
        let decision = router.set_agent_available("a", true, 100).unwrap();
        assert_eq!(offers(&decision), [("x", "a")]);
    }

    #[test]
    fn an_agent_leaving_available_withdraws_their_offers_for_others() {
        let mut router = router_with_waiting(3, 2);
        let decision = router.add_agent("a", &available("p", 0), 10).unwrap();
        assert_eq!(offers(&decision), [("c0", "a"), ("c1", "a")]);
        router.accept_offer("c0", "a", 11).unwrap();
        router.enqueue("c2", "q", 12, 12).unwrap();
        router.add_agent("b", &available("p", 13), 13).unwrap();
        router.set_agent_available("b", false, 14).unwrap();
        router.add_agent("c", &available("p", 15), 15).unwrap();
        // An Offline (or custom) status: the open offers go to the next agents in line.
        let decision = router.set_agent_available("a", false, 20).unwrap();
        assert_eq!(withdrawn(&decision), [("c1", "a"), ("c2", "a")]);
        assert_eq!(offers(&decision), [("c1", "c"), ("c2", "c")]);
        let decision = router.set_agent_available("c", false, 21).unwrap();
        assert_eq!(withdrawn(&decision), [("c1", "c"), ("c2", "c")]);
        assert!(decision.offers.is_empty());
        assert_eq!(router.waiting_in("q"), 2);
        // Back to Available, the agent's chat in progress still holds one of their 3 slots.
        let decision = router.set_agent_available("a", true, 30).unwrap();
        assert_eq!(offers(&decision), [("c1", "a"), ("c2", "a")]);
        assert!(router.enqueue("c3", "q", 31, 31).unwrap().offers.is_empty());
    }

    #[test]
    fn removing_an_agent_offers_their_contacts_to_others() {
        let mut router = router_with_waiting(1, 1);
        router.add_agent("a", &available("p", 0), 10).unwrap();
        router.add_agent("b", &available("p", 5), 10).unwrap();
        let decision = router.remove_agent("a", 20).unwrap();
        assert_eq!(withdrawn(&decision), [("c0", "a")]);
        assert_eq!(offers(&decision), [("c0", "b")]);
        assert_eq!(
            router.chat_ended("a", 30),
            Err(RoutingError::UnknownAgent("a".into()))
        );
    }

    #[test]
    fn a_contact_leaving_while_offered_frees_the_agent_for_the_next() {
        let mut router = router_with_waiting(1, 2);
        router.add_agent("a", &available("p", 0), 10).unwrap();
        let decision = router.contact_left("c0", 20).unwrap();
        assert_eq!(withdrawn(&decision), [("c0", "a")]);
        assert_eq!(offers(&decision), [("c1", "a")]);
        assert!(matches!(
            router.accept_offer("c0", "a", 30),
            Err(RoutingError::NoSuchOffer { .. })
        ));
        assert_eq!(
            router.contact_left("c0", 30),
            Err(RoutingError::UnknownContact("c0".into()))
        );
    }

    #[test]
    fn a_contact_that_left_its_queue_is_never_offered() {
        let mut router = router_with_waiting(2, 2);
        let decision = router.contact_left("c0", 10).unwrap();
        assert!(decision.offers.is_empty() && decision.withdrawn.is_empty());
        let decision = router.add_agent("a", &available("p", 0), 20).unwrap();
        assert_eq!(offers(&decision), [("c1", "a")]);
        assert_eq!(router.waiting_in("q"), 0);
    }

    #[test]
    fn a_contact_no_available_agent_serves_stays_queued() {
        let mut router = router("p", rules(1, &[("q", 1, 0)]));
        router.add_agent("a", &available("p", 0), 0).unwrap();
        let offline = NewAgent {
            available: false,
            ..available("other", 0)
        };
        router
            .set_routing_profile("other", &rules(1, &[("elsewhere", 1, 0)]), 0)
            .unwrap();
        router.add_agent("o", &offline, 0).unwrap();
        assert!(
            router
                .enqueue("lost", "nobody", 10, 10)
                .unwrap()
                .offers
                .is_empty()
        );
        assert!(
            router
                .enqueue("later", "elsewhere", 20, 20)
                .unwrap()
                .offers
                .is_empty()
        );
        assert_eq!(router.advance(1_000_000), Decision::default());
        assert_eq!(
            (router.waiting_in("nobody"), router.waiting_in("elsewhere")),
            (1, 1)
        );
        assert_eq!(router.next_due_ms(), None);
        // Someone to serve them: they are offered at once.
        let decision = router.set_agent_available("o", true, 1_000_010).unwrap();
        assert_eq!(offers(&decision), [("later", "o")]);
        let decision = router
            .set_routing_profile("p", &rules(1, &[("q", 1, 0), ("nobody", 5, 0)]), 1_000_020)
            .unwrap();
        assert_eq!(offers(&decision), [("lost", "a")]);
    }

    #[test]
    fn ties_are_broken_by_identifier_whatever_the_order_of_events() {
        let build = |agents: [&str; 2], contacts: [&str; 2]| {
            let mut router = router("p", rules(1, &[("q", 1, 0)]));
            for contact in contacts {
                router.enqueue(contact, "q", 5, 5).unwrap();
            }
            let mut got = Vec::new();
            for agent in agents {
                router.add_agent(agent, &available("p", 7), 10).unwrap();
            }
            got.push(router.open_offer("c1").map(|o| o.agent_id));
            got.push(router.open_offer("c2").map(|o| o.agent_id));
            got
        };
        let expected = vec![Some("a1".to_string()), Some("a2".to_string())];
        // Added one by one, the first agent takes the first contact (c1, lower identifier).
        assert_eq!(build(["a1", "a2"], ["c1", "c2"]), expected);
        assert_eq!(build(["a1", "a2"], ["c2", "c1"]), expected);
        // Two agents idle since the same time, freed at once: the lower identifier goes first.
        let both = |first: &str, second: &str| {
            let mut router = router("p", rules(1, &[("q", 1, 0)]));
            for agent in [first, second] {
                router.add_agent(agent, &available("p", 7), 10).unwrap();
            }
            offers(&router.enqueue("c", "q", 20, 20).unwrap())
                .into_iter()
                .map(|(_, agent)| agent.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(both("a1", "a2"), ["a1"]);
        assert_eq!(both("a2", "a1"), ["a1"]);
    }

    #[test]
    fn profile_changes_take_effect_at_once() {
        let mut router = router_with_waiting(1, 3);
        router
            .set_routing_profile("vip", &rules(1, &[("vip", 1, 0)]), 0)
            .unwrap();
        router.enqueue("v", "vip", 0, 0).unwrap();
        assert_eq!(
            offers(&router.add_agent("a", &available("p", 0), 10).unwrap()),
            [("c0", "a")]
        );
        let decision = router
            .set_routing_profile("p", &rules(3, &[("q", 1, 0)]), 20)
            .unwrap();
        assert_eq!(offers(&decision), [("c1", "a"), ("c2", "a")]);
        let decision = router
            .set_routing_profile("p", &rules(4, &[("q", 1, 0)]), 30)
            .unwrap();
        assert!(decision.offers.is_empty());
        let decision = router.set_agent_profile("a", "vip", 40).unwrap();
        assert!(decision.offers.is_empty(), "three offers fill the vip slot");
        router.contact_left("c0", 50).unwrap();
        router.contact_left("c1", 50).unwrap();
        let decision = router.contact_left("c2", 50).unwrap();
        assert_eq!(offers(&decision), [("v", "a")]);
    }

    #[test]
    fn invalid_input_is_refused_and_changes_nothing() {
        let mut router = router_with_waiting(1, 1);
        let refused = |queues: &[(&str, u32, i64)], concurrency| {
            let mut router = Router::new(TIMEOUT);
            router.set_routing_profile("x", &rules(concurrency, queues), 0)
        };
        assert_eq!(refused(&[], 0), Err(RoutingError::InvalidConcurrency(0)));
        assert_eq!(refused(&[], 11), Err(RoutingError::InvalidConcurrency(11)));
        assert!(matches!(
            refused(&[("q", 0, 0)], 1),
            Err(RoutingError::InvalidPriority { priority: 0, .. })
        ));
        assert!(matches!(
            refused(&[("q", 100, 0)], 1),
            Err(RoutingError::InvalidPriority { priority: 100, .. })
        ));
        assert!(matches!(
            refused(&[("q", 1, -1)], 1),
            Err(RoutingError::NegativeDelay { delay_ms: -1, .. })
        ));
        assert_eq!(
            refused(&[("q", 1, 0), ("q", 2, 0)], 1),
            Err(RoutingError::DuplicateQueue("q".into()))
        );
        assert_eq!(
            router.add_agent("a", &available("missing", 0), 10),
            Err(RoutingError::UnknownProfile("missing".into()))
        );
        assert_eq!(
            router.set_agent_available("a", true, 10),
            Err(RoutingError::UnknownAgent("a".into()))
        );
        assert_eq!(
            router.enqueue("c0", "q", 10, 10),
            Err(RoutingError::ContactExists("c0".into()))
        );
        router.add_agent("a", &available("p", 0), 10).unwrap();
        assert_eq!(
            router.add_agent("a", &available("p", 0), 10),
            Err(RoutingError::AgentExists("a".into()))
        );
        assert_eq!(
            router.set_agent_profile("a", "missing", 10),
            Err(RoutingError::UnknownProfile("missing".into()))
        );
        assert!(router.open_offer("c0").is_some(), "the offer stands");
        let text = RoutingError::InvalidConcurrency(11).to_string();
        assert_eq!(text, "chat concurrency 11 is outside 1..=10");
    }

    /// A small deterministic generator for the randomized check.
    struct Dice(u64);

    impl Dice {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n.max(1) as u64) as usize
        }
    }

    /// Checks by brute force what the router's sets promise: they match the records, and no
    /// agent who can take a chat has a contact they may be offered (nothing was left undecided).
    fn check_settled(router: &Router) {
        for (profile_key, profile) in &router.profiles {
            let expected: BTreeSet<Place> = router
                .agents
                .iter()
                .filter(|(_, agent)| agent.profile == *profile_key && router.can_take_chat(agent))
                .map(|(key, agent)| (agent.idle_since_ms, key.clone()))
                .collect();
            assert_eq!(profile.ready, expected, "ready agents of {profile_key}");
        }
        for (queue_key, queue) in &router.queues {
            let expected: BTreeSet<Place> = router
                .contacts
                .iter()
                .filter(|(_, contact)| contact.queue == *queue_key && contact.offer.is_none())
                .map(|(key, contact)| (contact.enqueued_ms, key.clone()))
                .collect();
            assert_eq!(queue.waiting, expected, "waiting contacts of {queue_key}");
        }
        for (agent_key, agent) in &router.agents {
            let offered: BTreeSet<Id> = router
                .contacts
                .iter()
                .filter(|(_, c)| c.offer.as_ref().is_some_and(|o| o.agent == *agent_key))
                .map(|(key, _)| key.clone())
                .collect();
            assert_eq!(agent.offers, offered, "open offers of {agent_key}");
            if !router.can_take_chat(agent) {
                continue;
            }
            let Some(profile) = router.profiles.get(&agent.profile) else {
                continue;
            };
            for (contact_key, contact) in &router.contacts {
                let Some(rule) = profile.rules.iter().find(|r| r.queue == contact.queue) else {
                    continue;
                };
                let may_take = contact.offer.is_none()
                    && contact.enqueued_ms + rule.delay_ms <= router.now_ms
                    && !router.rejected(contact_key, agent_key, agent.status_epoch);
                assert!(!may_take, "{agent_key} could take {contact_key}");
            }
        }
    }

    #[test]
    fn random_events_leave_the_router_settled_and_consistent() {
        for seed in 1..=40 {
            let mut dice = Dice(seed);
            let mut router = Router::new(TIMEOUT);
            let queues = ["q0", "q1", "q2"];
            let profiles = ["p0", "p1", "p2"];
            let mut now = 0;
            let mut open: Vec<Offer> = Vec::new();
            let mut chats: Vec<String> = Vec::new();
            for (index, profile) in profiles.iter().enumerate() {
                let mut set = Vec::new();
                for queue in queues.iter().skip(index % 2) {
                    set.push((
                        *queue,
                        1 + dice.below(3) as u32,
                        dice.below(3) as i64 * 1_000,
                    ));
                }
                let rules = rules(1 + dice.below(3) as u32, &set);
                router.set_routing_profile(profile, &rules, now).unwrap();
            }
            for index in 0..8 {
                let agent = available(profiles[index % 3], dice.below(5) as i64);
                open.extend(
                    router
                        .add_agent(&format!("a{index}"), &agent, now)
                        .unwrap()
                        .offers,
                );
            }
            for step in 0..400 {
                now += dice.below(700) as i64;
                let agent = format!("a{}", dice.below(8));
                let decision = match dice.below(9) {
                    0 | 1 => {
                        let queue = queues[dice.below(3)];
                        let at = now - dice.below(3_000) as i64;
                        router.enqueue(&format!("c{step}"), queue, at, now).unwrap()
                    }
                    2 if !open.is_empty() => {
                        let offer = open.swap_remove(dice.below(open.len()));
                        chats.push(offer.agent_id.clone());
                        router
                            .accept_offer(&offer.contact_id, &offer.agent_id, now)
                            .unwrap()
                    }
                    3 if !open.is_empty() => {
                        let offer = open.swap_remove(dice.below(open.len()));
                        router
                            .reject_offer(&offer.contact_id, &offer.agent_id, now)
                            .unwrap()
                    }
                    4 if !open.is_empty() => {
                        let offer = open.swap_remove(dice.below(open.len()));
                        now = now.max(offer.deadline_ms);
                        router
                            .offer_timed_out(&offer.contact_id, &offer.agent_id, now)
                            .unwrap()
                    }
                    5 if !chats.is_empty() => {
                        let agent = chats.swap_remove(dice.below(chats.len()));
                        router.chat_ended(&agent, now).unwrap()
                    }
                    6 => {
                        let up = dice.below(3) > 0;
                        router.set_agent_available(&agent, up, now).unwrap()
                    }
                    7 => {
                        let waiting: Vec<Id> = router.contacts.keys().cloned().collect();
                        match waiting.get(dice.below(waiting.len())) {
                            Some(contact) => router.contact_left(contact, now).unwrap(),
                            None => router.advance(now),
                        }
                    }
                    _ => match dice.below(4) {
                        0 => {
                            let profile = profiles[dice.below(3)];
                            router.set_agent_profile(&agent, profile, now).unwrap()
                        }
                        _ => router.advance(now),
                    },
                };
                for offer in &decision.withdrawn {
                    open.retain(|o| o != offer);
                }
                for offer in &decision.offers {
                    assert_eq!(offer.deadline_ms, now + TIMEOUT);
                }
                open.extend(decision.offers);
                check_settled(&router);
                let mut expected: Vec<Offer> = router
                    .contacts
                    .keys()
                    .filter_map(|contact| router.open_offer(contact))
                    .collect();
                expected.sort_by(|a, b| a.contact_id.cmp(&b.contact_id));
                open.sort_by(|a, b| a.contact_id.cmp(&b.contact_id));
                assert_eq!(open, expected, "seed {seed} step {step}");
            }
        }
    }

    #[test]
    fn an_agent_restored_in_the_missed_state_waits_for_a_status_change() {
        let mut router = router("p", rules(2, &[("q", 1, 0)]));
        router.enqueue("c", "q", 0, 0).unwrap();
        let missed = NewAgent {
            missed: true,
            chats_in_progress: 1,
            ..available("p", 0)
        };
        let decision = router.add_agent("a", &missed, 10).unwrap();
        assert!(decision.offers.is_empty());
        assert_eq!(
            router.agent("a"),
            Some(AgentView {
                routing_profile_id: "p".into(),
                available: true,
                missed: true,
                chats_in_progress: 1,
                open_offers: 0,
            })
        );
        assert_eq!(router.queue_of("c").as_deref(), Some("q"));
        let decision = router.set_agent_available("a", true, 20).unwrap();
        assert_eq!(offers(&decision), vec![("c", "a")]);
        assert_eq!(
            router.agent("a").map(|a| (a.missed, a.open_offers)),
            Some((false, 1))
        );
        assert_eq!(router.agent("nobody"), None);
    }

    #[test]
    fn a_restored_rejection_keeps_the_contact_from_its_agent_until_their_status_changes() {
        let mut router = router("p", rules(1, &[("q", 1, 0)]));
        router.enqueue("c", "q", 0, 0).unwrap();
        router.restore_rejection("c", "a");
        router.restore_rejection("unknown-contact", "a");
        let decision = router.add_agent("a", &available("p", 0), 10).unwrap();
        assert!(decision.offers.is_empty(), "rejected before the rebuild");
        let decision = router.add_agent("b", &available("p", 5), 10).unwrap();
        assert_eq!(offers(&decision), vec![("c", "b")]);
        router.reject_offer("c", "b", 20).unwrap();
        let decision = router.set_agent_available("a", false, 30).unwrap();
        assert!(decision.offers.is_empty());
        let decision = router.set_agent_available("a", true, 40).unwrap();
        assert_eq!(
            offers(&decision),
            vec![("c", "a")],
            "a status change lifts it"
        );
    }
}
