//! `loadgen routing`: how long one routing decision takes at the scale, 1,000 agents and
//! 10,000 chats queued (target: p99 ≤ 1 ms).
//!
//! Everything runs in this process, on one thread. `liaison_core::routing::Router` gets four
//! routing profiles over four queues (chat concurrency 1 to 5, priorities and delays as in
//! Connect), `--agents` agents whose every slot fills, and `--queued` chats waiting beyond them.
//! Then `--decisions` calls follow on a virtual clock, 5 ms apart, each timed on its own: a
//! chat ends (the freed slot gets the agent's best contact among those waiting), a contact
//! arrives, an agent comes back to Available or leaves it, an offer is accepted, rejected or
//! missed (the contact goes to the next agent), a customer leaves, an agent changes routing
//! profile. Arrivals and chat ends alternate so the queue stays at `--queued`.
//!
//! Baseline: [`ScanningRouter`], which decides by the same rules by scanning every agent and
//! every contact at every call. Both routers get the same calls in the same order, and each
//! answer of one is compared with the other's: the run stops at the first difference.

use crate::bench::{Percentiles, percentiles};
use crate::sys::Machine;
use liaison_core::routing::{
    Decision, MAX_CHAT_CONCURRENCY, MAX_QUEUE_PRIORITY, MIN_CHAT_CONCURRENCY, MIN_QUEUE_PRIORITY,
    NewAgent, Offer, QueueRule, Router, RoutingError, RoutingRules,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write;
use std::time::Instant;

/// The target for one routing decision.
pub const TARGET_P99_MS: f64 = 1.0;
/// Virtual time between two calls.
const STEP_MS: i64 = 5;
const OFFER_TIMEOUT_MS: i64 = 20_000;
/// Of 100 offers, how many are rejected and how many left to time out; the rest are accepted.
const REJECTED_PER_100: usize = 2;
const MISSED_PER_100: usize = 3;
/// Of 100 other calls, how many change an agent's status, how many are a customer leaving, and
/// how many move an agent to another routing profile (per 1,000).
const STATUS_CHANGES_PER_100: usize = 4;
const CUSTOMERS_LEAVING_PER_100: usize = 1;
const PROFILE_MOVES_PER_1000: usize = 2;
/// Agents away (Offline, or missed an offer and not back yet) the status changes aim at.
const AWAY_PER_100_AGENTS: usize = 5;

/// Queues and how many of 100 arriving contacts go to each.
const QUEUES: [(&str, usize); 4] = [("sales", 40), ("support", 35), ("billing", 15), ("vip", 10)];

/// A routing profile of the benchmark and its share of the agents.
struct ProfileSpec {
    name: &'static str,
    agents_per_100: usize,
    concurrency: u32,
    /// (queue, priority, delay in seconds)
    queues: &'static [(&'static str, u32, i64)],
}

const PROFILES: [ProfileSpec; 4] = [
    ProfileSpec {
        name: "sales-desk",
        agents_per_100: 40,
        concurrency: 3,
        queues: &[("sales", 1, 0), ("support", 2, 0), ("vip", 1, 30)],
    },
    ProfileSpec {
        name: "support-desk",
        agents_per_100: 30,
        concurrency: 2,
        queues: &[("support", 1, 0), ("billing", 2, 0), ("sales", 3, 60)],
    },
    ProfileSpec {
        name: "billing-desk",
        agents_per_100: 20,
        concurrency: 5,
        queues: &[("billing", 1, 0), ("support", 2, 10)],
    },
    ProfileSpec {
        name: "vip-desk",
        agents_per_100: 10,
        concurrency: 1,
        queues: &[("vip", 1, 0), ("sales", 2, 0)],
    },
];

impl ProfileSpec {
    fn rules(&self) -> RoutingRules {
        RoutingRules {
            chat_concurrency: self.concurrency,
            queues: self
                .queues
                .iter()
                .map(|(queue, priority, delay_secs)| QueueRule {
                    queue_id: queue.to_string(),
                    priority: *priority,
                    delay_ms: delay_secs * 1000,
                })
                .collect(),
        }
    }
}

/// What to run.
#[derive(Clone)]
pub struct Config {
    pub agents: usize,
    /// Chats waiting beyond those the agents hold.
    pub queued: usize,
    /// Timed calls after the set-up.
    pub decisions: usize,
    pub seed: u64,
}

fn say(message: impl AsRef<str>) {
    eprintln!("[loadgen routing] {}", message.as_ref());
}

/// A small deterministic generator (64-bit LCG), so a seed replays the same calls.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }

    fn queue(&mut self) -> &'static str {
        let mut roll = self.below(100);
        for (queue, share) in QUEUES {
            if roll < share {
                return queue;
            }
            roll -= share;
        }
        QUEUES[0].0
    }
}

// ---------------------------------------------------------------------------------------------
// The two routers behind one set of calls.

/// The calls the benchmark makes, answered by both routers.
pub trait Routes {
    fn set_routing_profile(
        &mut self,
        profile_id: &str,
        rules: &RoutingRules,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn add_agent(
        &mut self,
        agent_id: &str,
        agent: &NewAgent,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn set_agent_available(
        &mut self,
        agent_id: &str,
        available: bool,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn set_agent_profile(
        &mut self,
        agent_id: &str,
        profile_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn enqueue(
        &mut self,
        contact_id: &str,
        queue_id: &str,
        enqueued_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn contact_left(&mut self, contact_id: &str, now_ms: i64) -> Result<Decision, RoutingError>;
    fn accept_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn reject_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn offer_timed_out(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError>;
    fn chat_ended(&mut self, agent_id: &str, now_ms: i64) -> Result<Decision, RoutingError>;
    fn advance(&mut self, now_ms: i64) -> Decision;
}

impl Routes for Router {
    fn set_routing_profile(
        &mut self,
        profile_id: &str,
        rules: &RoutingRules,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::set_routing_profile(self, profile_id, rules, now_ms)
    }
    fn add_agent(
        &mut self,
        agent_id: &str,
        agent: &NewAgent,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::add_agent(self, agent_id, agent, now_ms)
    }
    fn set_agent_available(
        &mut self,
        agent_id: &str,
        available: bool,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::set_agent_available(self, agent_id, available, now_ms)
    }
    fn set_agent_profile(
        &mut self,
        agent_id: &str,
        profile_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::set_agent_profile(self, agent_id, profile_id, now_ms)
    }
    fn enqueue(
        &mut self,
        contact_id: &str,
        queue_id: &str,
        enqueued_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::enqueue(self, contact_id, queue_id, enqueued_ms, now_ms)
    }
    fn contact_left(&mut self, contact_id: &str, now_ms: i64) -> Result<Decision, RoutingError> {
        Router::contact_left(self, contact_id, now_ms)
    }
    fn accept_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::accept_offer(self, contact_id, agent_id, now_ms)
    }
    fn reject_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::reject_offer(self, contact_id, agent_id, now_ms)
    }
    fn offer_timed_out(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        Router::offer_timed_out(self, contact_id, agent_id, now_ms)
    }
    fn chat_ended(&mut self, agent_id: &str, now_ms: i64) -> Result<Decision, RoutingError> {
        Router::chat_ended(self, agent_id, now_ms)
    }
    fn advance(&mut self, now_ms: i64) -> Decision {
        Router::advance(self, now_ms)
    }
}

struct ScanAgent {
    profile: String,
    available: bool,
    missed: bool,
    status_epoch: u64,
    chats: u32,
    open_offers: usize,
    idle_since_ms: i64,
}

struct OpenOffer {
    agent: String,
    deadline_ms: i64,
}

struct ScanContact {
    queue: String,
    enqueued_ms: i64,
    offer: Option<OpenOffer>,
    rejected_by: Vec<(String, u64)>,
}

/// The baseline: the rules of `liaison_core::routing` applied the plain way. At every call it
/// lists every agent who can take a chat, longest idle first, and gives the first one who may be
/// offered a contact the best contact found by scanning every contact; again until nobody
/// takes anything. Records are looked up by identifier in hash maps, so only the decision
/// scans.
pub struct ScanningRouter {
    offer_timeout_ms: i64,
    now_ms: i64,
    last_epoch: u64,
    profiles: HashMap<String, RoutingRules>,
    agents: HashMap<String, ScanAgent>,
    contacts: HashMap<String, ScanContact>,
}

impl ScanningRouter {
    pub fn new(offer_timeout_ms: i64) -> Self {
        ScanningRouter {
            offer_timeout_ms,
            now_ms: i64::MIN,
            last_epoch: 0,
            profiles: HashMap::new(),
            agents: HashMap::new(),
            contacts: HashMap::new(),
        }
    }

    fn next_epoch(&mut self) -> u64 {
        self.last_epoch += 1;
        self.last_epoch
    }

    fn catch_up(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn can_take_chat(&self, agent: &ScanAgent) -> bool {
        let Some(profile) = self.profiles.get(&agent.profile) else {
            return false;
        };
        let load = (agent.chats as usize).saturating_add(agent.open_offers);
        agent.available && !agent.missed && load < profile.chat_concurrency as usize
    }

    /// The best contact the agent may be offered: lowest priority number, oldest, lowest
    /// identifier; found by looking at every contact.
    fn best_contact_for(&self, agent_id: &str) -> Option<String> {
        let agent = self.agents.get(agent_id)?;
        let profile = self.profiles.get(&agent.profile)?;
        let mut best: Option<(u32, i64, &str)> = None;
        for (contact_id, contact) in &self.contacts {
            if contact.offer.is_some() {
                continue;
            }
            let Some(rule) = profile.queues.iter().find(|r| r.queue_id == contact.queue) else {
                continue;
            };
            if contact.enqueued_ms.saturating_add(rule.delay_ms) > self.now_ms {
                continue;
            }
            let rejected = contact
                .rejected_by
                .iter()
                .any(|(rejecter, epoch)| rejecter == agent_id && *epoch == agent.status_epoch);
            if rejected {
                continue;
            }
            let rank = (rule.priority, contact.enqueued_ms, contact_id.as_str());
            if best.is_none_or(|best| rank < best) {
                best = Some(rank);
            }
        }
        best.map(|(_, _, contact)| contact.to_string())
    }

    fn settle(&mut self, mut decision: Decision) -> Decision {
        loop {
            let mut ready: Vec<(i64, &str)> = self
                .agents
                .iter()
                .filter(|(_, agent)| self.can_take_chat(agent))
                .map(|(id, agent)| (agent.idle_since_ms, id.as_str()))
                .collect();
            ready.sort_unstable();
            let pick = ready.iter().find_map(|(_, agent)| {
                self.best_contact_for(agent)
                    .map(|contact| (agent.to_string(), contact))
            });
            let Some((agent_id, contact_id)) = pick else {
                return decision;
            };
            let deadline_ms = self.now_ms.saturating_add(self.offer_timeout_ms);
            if let Some(contact) = self.contacts.get_mut(&contact_id) {
                contact.offer = Some(OpenOffer {
                    agent: agent_id.clone(),
                    deadline_ms,
                });
                decision.offers.push(Offer {
                    contact_id: contact_id.clone(),
                    agent_id: agent_id.clone(),
                    queue_id: contact.queue.clone(),
                    deadline_ms,
                });
            }
            if let Some(agent) = self.agents.get_mut(&agent_id) {
                agent.open_offers += 1;
                agent.idle_since_ms = self.now_ms;
            }
        }
    }

    /// Ends the contact's open offer, if any; returns it.
    fn close_offer(&mut self, contact_id: &str) -> Option<Offer> {
        let contact = self.contacts.get_mut(contact_id)?;
        let open = contact.offer.take()?;
        if let Some(agent) = self.agents.get_mut(&open.agent) {
            agent.open_offers = agent.open_offers.saturating_sub(1);
        }
        Some(Offer {
            contact_id: contact_id.to_string(),
            agent_id: open.agent,
            queue_id: contact.queue.clone(),
            deadline_ms: open.deadline_ms,
        })
    }

    fn check_open_offer(&self, contact_id: &str, agent_id: &str) -> Result<i64, RoutingError> {
        self.contacts
            .get(contact_id)
            .and_then(|contact| contact.offer.as_ref())
            .filter(|offer| offer.agent == agent_id)
            .map(|offer| offer.deadline_ms)
            .ok_or_else(|| RoutingError::NoSuchOffer {
                contact_id: contact_id.to_string(),
                agent_id: agent_id.to_string(),
            })
    }

    fn check_agent(&self, agent_id: &str) -> Result<(), RoutingError> {
        match self.agents.contains_key(agent_id) {
            true => Ok(()),
            false => Err(RoutingError::UnknownAgent(agent_id.to_string())),
        }
    }

    fn check_profile(&self, profile_id: &str) -> Result<(), RoutingError> {
        match self.profiles.contains_key(profile_id) {
            true => Ok(()),
            false => Err(RoutingError::UnknownProfile(profile_id.to_string())),
        }
    }
}

impl Routes for ScanningRouter {
    fn set_routing_profile(
        &mut self,
        profile_id: &str,
        rules: &RoutingRules,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        if !(MIN_CHAT_CONCURRENCY..=MAX_CHAT_CONCURRENCY).contains(&rules.chat_concurrency) {
            return Err(RoutingError::InvalidConcurrency(rules.chat_concurrency));
        }
        let mut seen = HashSet::new();
        for rule in &rules.queues {
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
        self.catch_up(now_ms);
        self.profiles.insert(profile_id.to_string(), rules.clone());
        Ok(self.settle(Decision::default()))
    }

    fn add_agent(
        &mut self,
        agent_id: &str,
        agent: &NewAgent,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        if self.agents.contains_key(agent_id) {
            return Err(RoutingError::AgentExists(agent_id.to_string()));
        }
        self.check_profile(&agent.routing_profile_id)?;
        self.catch_up(now_ms);
        let status_epoch = self.next_epoch();
        self.agents.insert(
            agent_id.to_string(),
            ScanAgent {
                profile: agent.routing_profile_id.clone(),
                available: agent.available,
                missed: agent.missed,
                status_epoch,
                chats: agent.chats_in_progress,
                open_offers: 0,
                idle_since_ms: agent.idle_since_ms,
            },
        );
        Ok(self.settle(Decision::default()))
    }

    fn set_agent_available(
        &mut self,
        agent_id: &str,
        available: bool,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        self.check_agent(agent_id)?;
        self.catch_up(now_ms);
        let mut decision = Decision::default();
        let (now, epoch) = (self.now_ms, self.last_epoch + 1);
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return Ok(decision);
        };
        if agent.available == available && !agent.missed {
            return Ok(self.settle(decision));
        }
        agent.available = available;
        agent.missed = false;
        agent.status_epoch = epoch;
        if available {
            agent.idle_since_ms = now;
        }
        self.last_epoch = epoch;
        if !available {
            let mut offered: Vec<String> = self
                .contacts
                .iter()
                .filter(|(_, c)| c.offer.as_ref().is_some_and(|o| o.agent == agent_id))
                .map(|(id, _)| id.clone())
                .collect();
            offered.sort_unstable();
            for contact_id in offered {
                decision.withdrawn.extend(self.close_offer(&contact_id));
            }
        }
        Ok(self.settle(decision))
    }

    fn set_agent_profile(
        &mut self,
        agent_id: &str,
        profile_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        self.check_agent(agent_id)?;
        self.check_profile(profile_id)?;
        self.catch_up(now_ms);
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.profile = profile_id.to_string();
        }
        Ok(self.settle(Decision::default()))
    }

    fn enqueue(
        &mut self,
        contact_id: &str,
        queue_id: &str,
        enqueued_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        if self.contacts.contains_key(contact_id) {
            return Err(RoutingError::ContactExists(contact_id.to_string()));
        }
        self.catch_up(now_ms);
        self.contacts.insert(
            contact_id.to_string(),
            ScanContact {
                queue: queue_id.to_string(),
                enqueued_ms: enqueued_ms.min(self.now_ms),
                offer: None,
                rejected_by: Vec::new(),
            },
        );
        Ok(self.settle(Decision::default()))
    }

    fn contact_left(&mut self, contact_id: &str, now_ms: i64) -> Result<Decision, RoutingError> {
        if !self.contacts.contains_key(contact_id) {
            return Err(RoutingError::UnknownContact(contact_id.to_string()));
        }
        self.catch_up(now_ms);
        let mut decision = Decision::default();
        decision.withdrawn.extend(self.close_offer(contact_id));
        self.contacts.remove(contact_id);
        Ok(self.settle(decision))
    }

    fn accept_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        self.check_open_offer(contact_id, agent_id)?;
        self.catch_up(now_ms);
        self.close_offer(contact_id);
        self.contacts.remove(contact_id);
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.chats = agent.chats.saturating_add(1);
        }
        Ok(self.settle(Decision::default()))
    }

    fn reject_offer(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        self.check_open_offer(contact_id, agent_id)?;
        self.catch_up(now_ms);
        self.close_offer(contact_id);
        let epoch = self.agents.get(agent_id).map(|agent| agent.status_epoch);
        if let (Some(contact), Some(epoch)) = (self.contacts.get_mut(contact_id), epoch) {
            contact.rejected_by.push((agent_id.to_string(), epoch));
        }
        Ok(self.settle(Decision::default()))
    }

    fn offer_timed_out(
        &mut self,
        contact_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Decision, RoutingError> {
        let deadline_ms = self.check_open_offer(contact_id, agent_id)?;
        if now_ms.max(self.now_ms) < deadline_ms {
            return Err(RoutingError::OfferNotDue {
                contact_id: contact_id.to_string(),
                deadline_ms,
            });
        }
        self.catch_up(now_ms);
        self.close_offer(contact_id);
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.missed = true;
        }
        Ok(self.settle(Decision::default()))
    }

    fn chat_ended(&mut self, agent_id: &str, now_ms: i64) -> Result<Decision, RoutingError> {
        self.check_agent(agent_id)?;
        if self
            .agents
            .get(agent_id)
            .is_some_and(|agent| agent.chats == 0)
        {
            return Err(RoutingError::NoChatInProgress(agent_id.to_string()));
        }
        self.catch_up(now_ms);
        let now = self.now_ms;
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.chats -= 1;
            agent.idle_since_ms = now;
        }
        Ok(self.settle(Decision::default()))
    }

    fn advance(&mut self, now_ms: i64) -> Decision {
        self.catch_up(now_ms);
        self.settle(Decision::default())
    }
}

// ---------------------------------------------------------------------------------------------
// The calls.

/// What a call was, for the report.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    ChatEnds,
    ContactArrives,
    AgentAvailable,
    AgentAway,
    OfferAccepted,
    OfferRejected,
    OfferMissed,
    CustomerLeaves,
    ProfileMove,
    DelayPasses,
}

impl Kind {
    const ALL: [Kind; 10] = [
        Kind::ChatEnds,
        Kind::ContactArrives,
        Kind::OfferAccepted,
        Kind::AgentAvailable,
        Kind::AgentAway,
        Kind::OfferRejected,
        Kind::OfferMissed,
        Kind::CustomerLeaves,
        Kind::ProfileMove,
        Kind::DelayPasses,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::ChatEnds => "a chat ends (`chat_ended`)",
            Kind::ContactArrives => "a contact arrives (`enqueue`)",
            Kind::AgentAvailable => "an agent becomes Available (`set_agent_available`)",
            Kind::AgentAway => "an agent leaves Available (`set_agent_available`)",
            Kind::OfferAccepted => "an offer is accepted (`accept_offer`)",
            Kind::OfferRejected => "an offer is rejected (`reject_offer`)",
            Kind::OfferMissed => "an offer times out (`offer_timed_out`)",
            Kind::CustomerLeaves => "a customer leaves (`contact_left`)",
            Kind::ProfileMove => "an agent changes profile (`set_agent_profile`)",
            Kind::DelayPasses => "delays pass (`advance`)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Kind::ChatEnds => "chat_ended",
            Kind::ContactArrives => "enqueue",
            Kind::AgentAvailable => "agent_available",
            Kind::AgentAway => "agent_away",
            Kind::OfferAccepted => "accept_offer",
            Kind::OfferRejected => "reject_offer",
            Kind::OfferMissed => "offer_timed_out",
            Kind::CustomerLeaves => "contact_left",
            Kind::ProfileMove => "set_agent_profile",
            Kind::DelayPasses => "advance",
        }
    }
}

/// One call, made to both routers.
#[derive(Clone, Debug)]
enum Call {
    Profile {
        profile: &'static str,
        rules: RoutingRules,
    },
    AddAgent {
        agent: String,
        setup: NewAgent,
    },
    Enqueue {
        contact: String,
        queue: &'static str,
        enqueued_ms: i64,
    },
    ContactLeft {
        contact: String,
    },
    Accept(Offer),
    Reject(Offer),
    TimedOut(Offer),
    ChatEnded {
        agent: String,
    },
    SetAvailable {
        agent: String,
        available: bool,
    },
    SetProfile {
        agent: String,
        profile: &'static str,
    },
    Advance,
}

impl Call {
    /// What the call is in the report; `None` for the set-up's profiles and agents.
    fn kind(&self) -> Option<Kind> {
        Some(match self {
            Call::Profile { .. } | Call::AddAgent { .. } => return None,
            Call::Enqueue { .. } => Kind::ContactArrives,
            Call::ContactLeft { .. } => Kind::CustomerLeaves,
            Call::Accept(_) => Kind::OfferAccepted,
            Call::Reject(_) => Kind::OfferRejected,
            Call::TimedOut(_) => Kind::OfferMissed,
            Call::ChatEnded { .. } => Kind::ChatEnds,
            Call::SetAvailable {
                available: true, ..
            } => Kind::AgentAvailable,
            Call::SetAvailable { .. } => Kind::AgentAway,
            Call::SetProfile { .. } => Kind::ProfileMove,
            Call::Advance => Kind::DelayPasses,
        })
    }

    fn apply(&self, router: &mut impl Routes, now_ms: i64) -> Result<Decision, RoutingError> {
        match self {
            Call::Profile { profile, rules } => router.set_routing_profile(profile, rules, now_ms),
            Call::AddAgent { agent, setup } => router.add_agent(agent, setup, now_ms),
            Call::Enqueue {
                contact,
                queue,
                enqueued_ms,
            } => router.enqueue(contact, queue, *enqueued_ms, now_ms),
            Call::ContactLeft { contact } => router.contact_left(contact, now_ms),
            Call::Accept(offer) => router.accept_offer(&offer.contact_id, &offer.agent_id, now_ms),
            Call::Reject(offer) => router.reject_offer(&offer.contact_id, &offer.agent_id, now_ms),
            Call::TimedOut(offer) => {
                router.offer_timed_out(&offer.contact_id, &offer.agent_id, now_ms)
            }
            Call::ChatEnded { agent } => router.chat_ended(agent, now_ms),
            Call::SetAvailable { agent, available } => {
                router.set_agent_available(agent, *available, now_ms)
            }
            Call::SetProfile { agent, profile } => router.set_agent_profile(agent, profile, now_ms),
            Call::Advance => Ok(router.advance(now_ms)),
        }
    }
}

/// A call as the first router answered it, to replay on the baseline.
struct Recorded {
    call: Call,
    now_ms: i64,
    answer: Result<Decision, RoutingError>,
}

/// A list of identifiers that can give up a random one in constant time.
#[derive(Default)]
struct Bag {
    items: Vec<String>,
    index: HashMap<String, usize>,
}

impl Bag {
    fn insert(&mut self, item: String) {
        if !self.index.contains_key(&item) {
            self.index.insert(item.clone(), self.items.len());
            self.items.push(item);
        }
    }

    fn remove(&mut self, item: &str) {
        let Some(at) = self.index.remove(item) else {
            return;
        };
        self.items.swap_remove(at);
        if let Some(moved) = self.items.get(at) {
            self.index.insert(moved.clone(), at);
        }
    }

    fn take_random(&mut self, dice: &mut Dice) -> Option<String> {
        let item = self.items.get(dice.below(self.items.len()))?.clone();
        self.remove(&item);
        Some(item)
    }

    fn contains(&self, item: &str) -> bool {
        self.index.contains_key(item)
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// What the driver knows of the contact center, to choose the next call.
struct World {
    dice: Dice,
    agents: Vec<String>,
    /// Agents Offline, or Available but in the missed state.
    away: Bag,
    /// One entry per chat in progress: its agent.
    chats: Vec<String>,
    /// Contacts in the router, waiting or offered.
    contacts: Bag,
    /// Answers to offers just made, made before anything else.
    follow_ups: VecDeque<Call>,
    /// Offers left to time out, earliest deadline first.
    missing: VecDeque<Offer>,
    contacts_made: usize,
}

impl World {
    fn new(seed: u64) -> Self {
        World {
            dice: Dice(seed),
            agents: Vec::new(),
            away: Bag::default(),
            chats: Vec::new(),
            contacts: Bag::default(),
            follow_ups: VecDeque::new(),
            missing: VecDeque::new(),
            contacts_made: 0,
        }
    }

    fn new_contact(&mut self, enqueued_ms: i64) -> Call {
        self.contacts_made += 1;
        Call::Enqueue {
            contact: format!("chat-{:06}", self.contacts_made),
            queue: self.dice.queue(),
            enqueued_ms,
        }
    }

    /// The next call of the run: answers to offers first, then offers whose deadline passed,
    /// then delays that passed, then a random event; arrivals and chat ends keep `queued`
    /// contacts waiting.
    fn next_call(
        &mut self,
        now_ms: i64,
        due_ms: Option<i64>,
        waiting: usize,
        queued: usize,
    ) -> Call {
        if let Some(call) = self.follow_ups.pop_front() {
            return call;
        }
        if self
            .missing
            .front()
            .is_some_and(|o| o.deadline_ms <= now_ms)
            && let Some(offer) = self.missing.pop_front()
        {
            return Call::TimedOut(offer);
        }
        if due_ms.is_some_and(|due| due <= now_ms) {
            return Call::Advance;
        }
        let roll = self.dice.below(1000);
        let status_below = STATUS_CHANGES_PER_100 * 10;
        let leaving_below = status_below + CUSTOMERS_LEAVING_PER_100 * 10;
        let moves_below = leaving_below + PROFILE_MOVES_PER_1000;
        if roll < status_below {
            return self.status_change();
        }
        if roll < leaving_below
            && let Some(contact) = self.contacts.take_random(&mut self.dice)
        {
            return Call::ContactLeft { contact };
        }
        if roll < moves_below
            && let Some(agent) = self.agents.get(self.dice.below(self.agents.len()))
            && let Some(profile) = PROFILES.get(self.dice.below(PROFILES.len()))
        {
            return Call::SetProfile {
                agent: agent.clone(),
                profile: profile.name,
            };
        }
        if waiting >= queued && !self.chats.is_empty() {
            let agent = self.chats.swap_remove(self.dice.below(self.chats.len()));
            return Call::ChatEnded { agent };
        }
        self.new_contact(now_ms)
    }

    /// Sends an agent away while fewer than the aimed share are, else brings one back.
    fn status_change(&mut self) -> Call {
        if self.away.len() * 100 < self.agents.len() * AWAY_PER_100_AGENTS {
            for _ in 0..16 {
                let Some(agent) = self.agents.get(self.dice.below(self.agents.len())) else {
                    break;
                };
                if !self.away.contains(agent) {
                    let agent = agent.clone();
                    self.away.insert(agent.clone());
                    return Call::SetAvailable {
                        agent,
                        available: false,
                    };
                }
            }
        }
        match self.away.take_random(&mut self.dice) {
            Some(agent) => Call::SetAvailable {
                agent,
                available: true,
            },
            None => Call::Advance,
        }
    }

    /// Takes in what a call did: chats and contacts it started or ended, offers to answer.
    fn absorb(&mut self, call: &Call, decision: &Decision) {
        match call {
            Call::Enqueue { contact, .. } => self.contacts.insert(contact.clone()),
            Call::Accept(offer) => {
                self.chats.push(offer.agent_id.clone());
                self.contacts.remove(&offer.contact_id);
            }
            Call::TimedOut(offer) => self.away.insert(offer.agent_id.clone()),
            _ => {}
        }
        for offer in &decision.withdrawn {
            self.missing.retain(|o| o.contact_id != offer.contact_id);
            self.follow_ups.retain(|call| match call {
                Call::Accept(o) | Call::Reject(o) => o.contact_id != offer.contact_id,
                _ => true,
            });
        }
        for offer in &decision.offers {
            let roll = self.dice.below(100);
            if roll < REJECTED_PER_100 {
                self.follow_ups.push_back(Call::Reject(offer.clone()));
            } else if roll < REJECTED_PER_100 + MISSED_PER_100 {
                self.missing.push_back(offer.clone());
            } else {
                self.follow_ups.push_back(Call::Accept(offer.clone()));
            }
        }
    }
}

/// The set-up's calls: the profiles, every contact queued (those the agents will hold and
/// `queued` more, entered over the last ten minutes), then the agents, Available, idle since
/// some time in the last ten minutes.
fn set_up_calls(config: &Config, world: &mut World) -> Vec<Call> {
    let mut calls: Vec<Call> = PROFILES
        .iter()
        .map(|spec| Call::Profile {
            profile: spec.name,
            rules: spec.rules(),
        })
        .collect();
    let mut agents = Vec::new();
    for (spec, count) in PROFILES.iter().zip(agents_per_profile(config.agents)) {
        agents.extend((0..count).map(|_| spec));
    }
    for _ in 0..chat_slots(config.agents) + config.queued {
        let enqueued_ms = -(world.dice.below(600_000) as i64);
        calls.push(world.new_contact(enqueued_ms));
    }
    for (index, spec) in agents.into_iter().enumerate() {
        let agent = format!("agent-{index:04}");
        world.agents.push(agent.clone());
        let setup = NewAgent {
            routing_profile_id: spec.name.to_string(),
            available: true,
            missed: false,
            chats_in_progress: 0,
            idle_since_ms: -(world.dice.below(600_000) as i64),
        };
        calls.push(Call::AddAgent { agent, setup });
    }
    calls
}

/// Set-up offers are all accepted at once, so that every slot is taken when the run starts.
fn accept_all(decision: &Decision) -> impl Iterator<Item = Call> + '_ {
    decision.offers.iter().cloned().map(Call::Accept)
}

/// What one router's calls took.
pub struct Timings {
    /// Nanoseconds of each timed call, by kind, in `Kind::ALL` order.
    by_kind: Vec<Vec<u64>>,
}

impl Timings {
    fn new() -> Self {
        Timings {
            by_kind: vec![Vec::new(); Kind::ALL.len()],
        }
    }

    fn record(&mut self, kind: Kind, nanos: u64) {
        if let Some(at) = Kind::ALL.iter().position(|k| *k == kind)
            && let Some(samples) = self.by_kind.get_mut(at)
        {
            samples.push(nanos);
        }
    }

    fn of(&self, kind: Kind) -> &[u64] {
        Kind::ALL
            .iter()
            .position(|k| *k == kind)
            .and_then(|at| self.by_kind.get(at))
            .map_or(&[], |samples| samples.as_slice())
    }

    fn all(&self) -> Vec<u64> {
        self.by_kind.iter().flatten().copied().collect()
    }
}

/// Per kind and over all calls: count, percentiles, and calls per second of call time.
pub struct Figures {
    pub count: usize,
    pub percentiles: Percentiles,
    pub per_sec: f64,
}

impl Figures {
    fn of(samples: &[u64]) -> Figures {
        let total_ns: u64 = samples.iter().sum();
        Figures {
            count: samples.len(),
            percentiles: percentiles(samples.to_vec()),
            per_sec: samples.len() as f64 / (total_ns as f64 / 1e9).max(1e-12),
        }
    }
}

/// Everything one run measured.
pub struct Outcome {
    pub agents: usize,
    pub capacity: usize,
    pub setup_calls: usize,
    pub waiting_at_start: usize,
    pub waiting_min: usize,
    pub waiting_max: usize,
    pub offers_made: usize,
    pub offers_withdrawn: usize,
    pub router: Timings,
    pub baseline: Timings,
    pub router_setup_secs: f64,
    pub baseline_setup_secs: f64,
    /// Calls whose answers were compared, and the first difference found.
    pub compared: usize,
    pub disagreement: Option<String>,
}

fn waiting(router: &Router) -> usize {
    QUEUES
        .iter()
        .map(|(queue, _)| router.waiting_in(queue))
        .sum()
}

fn time(
    call: &Call,
    router: &mut impl Routes,
    now_ms: i64,
) -> (Result<Decision, RoutingError>, u64) {
    let started = Instant::now();
    let answer = call.apply(router, now_ms);
    (answer, started.elapsed().as_nanos() as u64)
}

/// Runs the calls on [`Router`] (timed), then replays them on [`ScanningRouter`] (timed) and
/// compares every answer.
pub fn run(config: &Config) -> Result<Outcome, String> {
    let mut world = World::new(config.seed);
    let mut router = Router::new(OFFER_TIMEOUT_MS);
    let mut recorded: Vec<Recorded> = Vec::new();
    let mut timings = Timings::new();

    let started = Instant::now();
    let mut pending: VecDeque<Call> = set_up_calls(config, &mut world).into();
    let capacity = chat_slots(config.agents);
    while let Some(call) = pending.pop_front() {
        let answer = call.apply(&mut router, 0);
        let decision = answer
            .clone()
            .map_err(|e| format!("set-up call {call:?} refused: {e}"))?;
        if let Call::Enqueue { contact, .. } = &call {
            world.contacts.insert(contact.clone());
        }
        if let Call::Accept(offer) = &call {
            world.chats.push(offer.agent_id.clone());
            world.contacts.remove(&offer.contact_id);
        }
        pending.extend(accept_all(&decision));
        recorded.push(Recorded {
            call,
            now_ms: 0,
            answer,
        });
    }
    let router_setup_secs = started.elapsed().as_secs_f64();
    let setup_calls = recorded.len();
    let waiting_at_start = waiting(&router);
    say(format!(
        "set up in {router_setup_secs:.2} s: {} agents holding {} chats, {waiting_at_start} waiting",
        world.agents.len(),
        world.chats.len()
    ));

    let (mut waiting_min, mut waiting_max) = (waiting_at_start, waiting_at_start);
    let (mut offers_made, mut offers_withdrawn) = (0, 0);
    let mut now_ms = 0;
    for _ in 0..config.decisions {
        now_ms += STEP_MS;
        let queue_now = waiting(&router);
        waiting_min = waiting_min.min(queue_now);
        waiting_max = waiting_max.max(queue_now);
        let call = world.next_call(now_ms, router.next_due_ms(), queue_now, config.queued);
        let (answer, nanos) = time(&call, &mut router, now_ms);
        let decision = answer
            .clone()
            .map_err(|e| format!("call {call:?} at {now_ms} ms refused: {e}"))?;
        if let Some(kind) = call.kind() {
            timings.record(kind, nanos);
        }
        offers_made += decision.offers.len();
        offers_withdrawn += decision.withdrawn.len();
        world.absorb(&call, &decision);
        recorded.push(Recorded {
            call,
            now_ms,
            answer,
        });
    }
    say(format!(
        "Router: {} calls; replaying them on the scanning baseline",
        config.decisions
    ));

    let mut baseline = ScanningRouter::new(OFFER_TIMEOUT_MS);
    let mut baseline_timings = Timings::new();
    let mut compared = 0;
    let mut disagreement = None;
    let started = Instant::now();
    let mut baseline_setup_secs = 0.0;
    for (index, record) in recorded.iter().enumerate() {
        if index == setup_calls {
            baseline_setup_secs = started.elapsed().as_secs_f64();
        }
        let (answer, nanos) = time(&record.call, &mut baseline, record.now_ms);
        if let Some(kind) = record.call.kind()
            && index >= setup_calls
        {
            baseline_timings.record(kind, nanos);
        }
        compared += 1;
        if answer != record.answer {
            disagreement = Some(format!(
                "call {index} {:?} at {} ms: Router answered {:?}, the baseline {:?}",
                record.call, record.now_ms, record.answer, answer
            ));
            break;
        }
    }
    Ok(Outcome {
        agents: world.agents.len(),
        capacity,
        setup_calls,
        waiting_at_start,
        waiting_min,
        waiting_max,
        offers_made,
        offers_withdrawn,
        router: timings,
        baseline: baseline_timings,
        router_setup_secs,
        baseline_setup_secs,
        compared,
        disagreement,
    })
}

/// How many agents each profile gets: its share, and the first one what rounding leaves.
fn agents_per_profile(agents: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = PROFILES
        .iter()
        .map(|spec| agents * spec.agents_per_100 / 100)
        .collect();
    let shared: usize = counts.iter().sum();
    if let Some(first) = counts.first_mut() {
        *first += agents.saturating_sub(shared);
    }
    counts
}

/// Chat slots of all agents at the start.
fn chat_slots(agents: usize) -> usize {
    PROFILES
        .iter()
        .zip(agents_per_profile(agents))
        .map(|(spec, count)| count * spec.concurrency as usize)
        .sum()
}

// ---------------------------------------------------------------------------------------------
// The report.

/// What the report describes besides the outcome.
pub struct Run<'a> {
    pub command_line: String,
    pub machine: &'a Machine,
    pub load_before: String,
    pub load_after: String,
    pub config: &'a Config,
    pub outcome: &'a Outcome,
}

/// Milliseconds as microseconds, for the table.
fn micros(ms: f64) -> String {
    format!("{:.1}", ms * 1000.0)
}

fn ratio(numerator: f64, denominator: f64) -> String {
    if denominator > 0.0 {
        format!("{:.0}×", numerator / denominator)
    } else {
        "—".into()
    }
}

fn queues_of(spec: &ProfileSpec) -> String {
    spec.queues
        .iter()
        .map(|(queue, priority, delay)| format!("{queue} ({priority}, {delay} s)"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Run<'_> {
    /// The target's verdict: every timed call of the run counts as a routing decision.
    pub fn met(&self) -> Option<bool> {
        let all = self.outcome.router.all();
        (!all.is_empty()).then(|| percentiles(all).p99 <= TARGET_P99_MS)
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let (m, c, o) = (self.machine, self.config, self.outcome);
        let _ = writeln!(out, "## Liaison routing benchmark\n");
        let _ = writeln!(out, "Command: `{}`\n", self.command_line);
        let _ = writeln!(
            out,
            "Machine: {} CPUs ({}), {} MiB RAM, Linux {}; load average {} before the run, {} after. \
             In process, one thread, no I/O: every call is timed alone with `Instant::now()`.\n",
            m.cpus, m.model, m.mem_total_mib, m.kernel, self.load_before, self.load_after
        );
        let _ = writeln!(
            out,
            "### Set-up\n\n{} agents, Available, in {} routing profiles over {} queues; {} chats offered and accepted so that \
             every one of their {} chat slots is taken, then {} more contacts queued (entered over the last 10 minutes, \
             so every delay has passed): {} waiting when the run starts. {} set-up calls, not timed (Router {:.2} s, \
             baseline {:.2} s).\n",
            o.agents,
            PROFILES.len(),
            QUEUES.len(),
            o.capacity,
            o.capacity,
            c.queued,
            o.waiting_at_start,
            o.setup_calls,
            o.router_setup_secs,
            o.baseline_setup_secs
        );
        let _ = writeln!(
            out,
            "| routing profile | agents | chat concurrency | queues (priority, delay) |\n|---|---:|---:|---|"
        );
        for (spec, count) in PROFILES.iter().zip(agents_per_profile(c.agents)) {
            let _ = writeln!(
                out,
                "| {} | {count} | {} | {} |",
                spec.name,
                spec.concurrency,
                queues_of(spec)
            );
        }
        let arrivals: Vec<String> = QUEUES
            .iter()
            .map(|(queue, share)| format!("{queue} {share}%"))
            .collect();
        let _ = writeln!(
            out,
            "\nThen {} calls on a virtual clock, {STEP_MS} ms apart (seed {}). Offers: {} of 100 accepted at once, \
             {REJECTED_PER_100} rejected, {MISSED_PER_100} left to time out ({} s; the agent is then missed until their status \
             changes). Of the other calls: {STATUS_CHANGES_PER_100}% status changes (aiming at {AWAY_PER_100_AGENTS}% of agents away), \
             {CUSTOMERS_LEAVING_PER_100}% customers leaving, {:.1}% agents moved to another profile, the rest a contact arriving \
             (queues: {}) while fewer than {} wait, a chat ending otherwise. Contacts waiting during the run: {} to {}; \
             {} offers made, {} withdrawn.\n",
            c.decisions,
            c.seed,
            100 - REJECTED_PER_100 - MISSED_PER_100,
            OFFER_TIMEOUT_MS / 1000,
            PROFILE_MOVES_PER_1000 as f64 / 10.0,
            arrivals.join(", "),
            c.queued,
            o.waiting_min,
            o.waiting_max,
            o.offers_made,
            o.offers_withdrawn
        );
        let _ = writeln!(
            out,
            "### Time per call (µs)\n\nRouter: `liaison_core::routing::Router` (ordered sets per queue and per profile). \
             Baseline: a router that scans every agent and every contact at each call, given the same calls in the same order.\n"
        );
        let _ = writeln!(
            out,
            "| call | count | Router p50 | Router p99 | Router max | baseline p50 | baseline p99 | baseline max | baseline p99 / Router p99 |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut row = |name: &str, router: &[u64], baseline: &[u64]| {
            let (r, b) = (Figures::of(router), Figures::of(baseline));
            let (rp, bp) = (&r.percentiles, &b.percentiles);
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.count,
                micros(rp.p50),
                micros(rp.p99),
                micros(rp.max),
                micros(bp.p50),
                micros(bp.p99),
                micros(bp.max),
                ratio(bp.p99, rp.p99)
            );
        };
        for kind in Kind::ALL {
            let router = o.router.of(kind);
            if !router.is_empty() {
                row(kind.label(), router, o.baseline.of(kind));
            }
        }
        let (router_all, baseline_all) = (o.router.all(), o.baseline.all());
        row("**all calls**", &router_all, &baseline_all);
        let (r, b) = (Figures::of(&router_all), Figures::of(&baseline_all));
        let over = |samples: &[u64]| {
            let limit_ns = (TARGET_P99_MS * 1e6) as u64;
            samples.iter().filter(|ns| **ns > limit_ns).count()
        };
        let _ = writeln!(
            out,
            "\nCalls per second of call time, one core: Router {:.0}, baseline {:.0} ({} faster). \
             Calls over {:.0} ms: Router {} of {}, baseline {} (a thread that loses its core for a scheduler slice \
             shows as a few ms whatever the call; compare the load average with the CPU count).\n",
            r.per_sec,
            b.per_sec,
            ratio(r.per_sec, b.per_sec),
            TARGET_P99_MS,
            over(&router_all),
            r.count,
            over(&baseline_all)
        );
        match &o.disagreement {
            None => {
                let _ = writeln!(
                    out,
                    "Agreement: the baseline was given all {} calls (set-up included) and every answer (offers, withdrawals, \
                     refusals) was compared with the Router's: **identical**.\n",
                    o.compared
                );
            }
            Some(difference) => {
                let _ = writeln!(
                    out,
                    "Agreement: **the routers disagree** at the {}th call compared: {difference}\n",
                    o.compared
                );
            }
        }
        let worst = Kind::ALL
            .iter()
            .filter(|kind| !o.router.of(**kind).is_empty())
            .map(|kind| (percentiles(o.router.of(*kind).to_vec()).p99, kind.label()))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let verdict = match self.met() {
            Some(true) => "**met**",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let _ = writeln!(
            out,
            "### Target\n\n| target | measured | verdict |\n|---|---:|---|\n\
             | routing decision p99 ≤ {:.0} ms with {} agents and {} chats queued | {} µs (all calls); worst kind: {} µs, {} | {verdict} |",
            TARGET_P99_MS,
            o.agents,
            c.queued,
            micros(r.percentiles.p99),
            worst.map_or("—".into(), |(p99, _)| micros(p99)),
            worst.map_or("—", |(_, label)| label),
        );
        out
    }

    pub fn json(&self) -> Value {
        let o = self.outcome;
        let figures = |samples: &[u64]| {
            let f = Figures::of(samples);
            json!({
                "count": f.count,
                "p50_us": f.percentiles.p50 * 1000.0,
                "p99_us": f.percentiles.p99 * 1000.0,
                "max_us": f.percentiles.max * 1000.0,
                "calls_per_sec": f.per_sec,
            })
        };
        let by_kind = |timings: &Timings| {
            Kind::ALL
                .iter()
                .map(|kind| (kind.slug().to_string(), figures(timings.of(*kind))))
                .collect::<serde_json::Map<String, Value>>()
        };
        json!({
            "command": self.command_line,
            "agents": o.agents,
            "chat_slots": o.capacity,
            "queued": self.config.queued,
            "decisions": self.config.decisions,
            "seed": self.config.seed,
            "waiting_at_start": o.waiting_at_start,
            "waiting_min": o.waiting_min,
            "waiting_max": o.waiting_max,
            "offers_made": o.offers_made,
            "router": { "all": figures(&o.router.all()), "by_call": by_kind(&o.router) },
            "baseline": { "all": figures(&o.baseline.all()), "by_call": by_kind(&o.baseline) },
            "compared": o.compared,
            "disagreement": o.disagreement,
            "target_p99_ms": TARGET_P99_MS,
            "met": self.met(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random calls, valid and not, on both routers: every answer must be the same.
    #[test]
    fn the_baseline_answers_as_the_router_does() {
        for seed in 1..=30 {
            let mut dice = Dice(seed);
            let mut router = Router::new(OFFER_TIMEOUT_MS);
            let mut baseline = ScanningRouter::new(OFFER_TIMEOUT_MS);
            let mut open: Vec<Offer> = Vec::new();
            let mut now_ms = 0;
            let queues = ["q0", "q1", "q2"];
            for step in 0..600 {
                now_ms += dice.below(4_000) as i64 - 500;
                let agent = format!("a{}", dice.below(7));
                let contact = format!("c{}", dice.below(60));
                let call = match dice.below(12) {
                    0 => {
                        let rules = RoutingRules {
                            chat_concurrency: dice.below(12) as u32,
                            queues: (0..dice.below(4))
                                .map(|_| QueueRule {
                                    queue_id: queues[dice.below(3)].to_string(),
                                    priority: dice.below(101) as u32,
                                    delay_ms: dice.below(12_000) as i64 - 1_000,
                                })
                                .collect(),
                        };
                        let profile = ["p0", "p1", "p2"][dice.below(3)];
                        Call::Profile { profile, rules }
                    }
                    1 => Call::AddAgent {
                        agent,
                        setup: NewAgent {
                            routing_profile_id: format!("p{}", dice.below(4)),
                            available: dice.below(4) > 0,
                            missed: false,
                            chats_in_progress: dice.below(3) as u32,
                            idle_since_ms: now_ms - dice.below(10_000) as i64,
                        },
                    },
                    2 | 3 => Call::Enqueue {
                        contact,
                        queue: ["q0", "q1", "q2", "nobody"][dice.below(4)],
                        enqueued_ms: now_ms - dice.below(20_000) as i64 + 1_000,
                    },
                    4 => Call::ContactLeft { contact },
                    5..=7 if !open.is_empty() => {
                        let offer = open[dice.below(open.len())].clone();
                        match dice.below(3) {
                            0 => Call::Accept(offer),
                            1 => Call::Reject(offer),
                            _ => {
                                now_ms = now_ms.max(offer.deadline_ms - 1 + dice.below(2) as i64);
                                Call::TimedOut(offer)
                            }
                        }
                    }
                    8 => Call::ChatEnded { agent },
                    9 => Call::SetAvailable {
                        agent,
                        available: dice.below(3) > 0,
                    },
                    10 => Call::SetProfile {
                        agent,
                        profile: ["p0", "p1", "p2", "p9"][dice.below(4)],
                    },
                    _ => Call::Advance,
                };
                let expected = call.apply(&mut router, now_ms);
                let got = call.apply(&mut baseline, now_ms);
                assert_eq!(got, expected, "seed {seed} step {step}: {call:?}");
                if let Ok(decision) = expected {
                    match &call {
                        Call::Accept(offer) | Call::Reject(offer) | Call::TimedOut(offer) => {
                            open.retain(|o| o != offer)
                        }
                        _ => {}
                    }
                    open.retain(|o| !decision.withdrawn.contains(o));
                    open.extend(decision.offers);
                }
            }
        }
    }

    #[test]
    fn a_small_run_agrees_and_keeps_the_queue_filled() {
        let config = Config {
            agents: 40,
            queued: 300,
            decisions: 3_000,
            seed: 7,
        };
        let outcome = run(&config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outcome.disagreement, None);
        assert_eq!(outcome.compared, outcome.setup_calls + config.decisions);
        assert_eq!(outcome.waiting_at_start, 300);
        assert!(outcome.waiting_min >= 250 && outcome.waiting_max <= 350);
        for kind in [Kind::ChatEnds, Kind::ContactArrives, Kind::OfferAccepted] {
            assert!(!outcome.router.of(kind).is_empty(), "{kind:?}");
        }
        for kind in Kind::ALL {
            let counts = (
                outcome.router.of(kind).len(),
                outcome.baseline.of(kind).len(),
            );
            assert_eq!(counts.0, counts.1, "{kind:?}: both time the same calls");
        }
        let machine = crate::sys::machine();
        let run = Run {
            command_line: "loadgen routing".into(),
            machine: &machine,
            load_before: String::new(),
            load_after: String::new(),
            config: &config,
            outcome: &outcome,
        };
        assert!(run.markdown().contains("**identical**"));
        assert_eq!(run.json()["agents"], 40);
    }
}
