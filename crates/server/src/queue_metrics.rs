//! A queue's current metrics for the flow blocks that read them (CheckMetricData,
//! GetMetricData), counted from the routing facts in the store, so any node answers alike.
//!
//! - Contacts in queue: the contacts queued there, offered to an agent or not; the oldest
//!   one's age is in flow seconds (they scale with the timer minute, as flow waits do).
//! - The queue's agents: users whose routing profile serves the queue on the chat channel.
//!   Online: in a status that is not of type `OFFLINE` (a user whose status was never set is
//!   offline); Staffed: the same agents (Connect counts agents online whether on a contact,
//!   in after-contact work, available or not); NonProductive: in a status of type `CUSTOM`;
//!   Available: in a `ROUTABLE` status, not in the missed state, and with a chat slot free
//!   (contacts not cleared plus open offers below the profile's chat concurrency); Busy: with a
//!   connected contact; AfterContactWork: with a contact in after-contact work; Missed: in the
//!   missed state. Busy and AfterContactWork count contacts from any queue.
//! - Estimated wait time: always 0; Liaison keeps no history to estimate from.
//! - `QueueChannel` changes nothing: every Liaison contact is a chat.

use crate::connect::id_from_arn;
use crate::routing::chat_concurrency;
use crate::state::AppState;
use liaison_core::flow::{AgentCounts, QueueMetrics};
use liaison_store::{AgentContactState, StoreError};
use std::collections::HashMap;

/// What counting needs of one of the queue's agents.
#[derive(Debug, Clone, Default)]
struct AgentFacts {
    /// The type of the agent's status (`ROUTABLE`, `OFFLINE`, `CUSTOM`); `None` if never set.
    status_type: Option<String>,
    missed: bool,
    /// Contacts taken and not cleared, plus contacts offered and not answered.
    slots_taken: u32,
    concurrency: u32,
    connected: bool,
    after_contact_work: bool,
}

fn count(agents: &[AgentFacts]) -> AgentCounts {
    let mut counts = AgentCounts::default();
    for agent in agents {
        let status_type = agent.status_type.as_deref();
        let online = status_type.is_some_and(|t| t != "OFFLINE");
        counts.online += u64::from(online);
        counts.staffed += u64::from(online);
        counts.non_productive += u64::from(status_type == Some("CUSTOM"));
        counts.available += u64::from(
            status_type == Some("ROUTABLE")
                && !agent.missed
                && agent.slots_taken < agent.concurrency,
        );
        counts.busy += u64::from(agent.connected);
        counts.after_contact_work += u64::from(agent.after_contact_work);
        counts.missed += u64::from(agent.missed);
    }
    counts
}

impl AppState {
    /// The metrics of the instance's queue `queue_ref` (an id or ARN) now; `None` when the
    /// instance has no such queue.
    pub(crate) async fn queue_metrics(
        &self,
        instance_id: &str,
        queue_ref: &str,
    ) -> Result<Option<QueueMetrics>, StoreError> {
        let store = &self.store;
        let Some(queue) = store.get_queue(instance_id, id_from_arn(queue_ref)).await? else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        let queued = store.queued_contacts(instance_id).await?;
        let mut offers: HashMap<&str, u32> = HashMap::new();
        for (user_id, _) in queued.iter().filter_map(|q| q.offer.as_ref()) {
            *offers.entry(user_id.as_str()).or_default() += 1;
        }
        let waiting: Vec<_> = queued.iter().filter(|q| q.queue_id == queue.id).collect();
        let oldest_ms = waiting.iter().map(|q| q.enqueued_ms).min();
        let oldest_contact_age_seconds = oldest_ms.map_or(0, |enqueued| {
            (now - enqueued).max(0) * 60 / self.config.timer_minute_ms.max(1)
        });

        // The profiles that take chats from the queue, with their chat concurrency.
        let mut serving = HashMap::new();
        for profile in store.list_routing_profiles(instance_id).await? {
            let queues = store
                .routing_profile_queues(instance_id, &profile.id)
                .await?;
            if queues
                .iter()
                .any(|q| q.queue_id == queue.id && q.channel == "CHAT")
            {
                serving.insert(profile.id.clone(), chat_concurrency(&profile));
            }
        }
        let status_types: HashMap<String, String> = store
            .list_agent_statuses(instance_id)
            .await?
            .into_iter()
            .map(|status| (status.id, status.status_type))
            .collect();
        let statuses: HashMap<String, String> = store
            .list_users(instance_id)
            .await?
            .into_iter()
            .filter_map(|user| Some((user.id, user.status?.agent_status_id)))
            .collect();
        let mut agents = Vec::new();
        for routing in store.agents_routing(instance_id).await? {
            let Some(&concurrency) = serving.get(&routing.routing_profile_id) else {
                continue;
            };
            let contacts = if routing.open_contacts > 0 {
                store.agent_contacts(&routing.user_id).await?
            } else {
                Vec::new()
            };
            let has = |state| contacts.iter().any(|c| c.state == state);
            agents.push(AgentFacts {
                status_type: statuses
                    .get(&routing.user_id)
                    .and_then(|status| status_types.get(status))
                    .cloned(),
                missed: routing.missed,
                slots_taken: routing.open_contacts
                    + offers.get(routing.user_id.as_str()).copied().unwrap_or(0),
                concurrency,
                connected: has(AgentContactState::Connected),
                after_contact_work: has(AgentContactState::AfterContactWork),
            });
        }
        Ok(Some(QueueMetrics {
            arn: format!(
                "{}/queue/{}",
                self.config.instance_arn(instance_id),
                queue.id
            ),
            name: queue.name,
            contacts_in_queue: waiting.len() as u64,
            oldest_contact_age_seconds,
            estimated_wait_seconds: 0,
            agents: count(&agents),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(status_type: Option<&str>) -> AgentFacts {
        AgentFacts {
            status_type: status_type.map(str::to_string),
            concurrency: 2,
            ..AgentFacts::default()
        }
    }

    #[test]
    fn agents_count_by_status_slots_and_contacts() {
        let agents = [
            // Available with a slot free, on one chat.
            AgentFacts {
                slots_taken: 1,
                connected: true,
                ..agent(Some("ROUTABLE"))
            },
            // Available but full: one chat and one offer.
            AgentFacts {
                slots_taken: 2,
                connected: true,
                ..agent(Some("ROUTABLE"))
            },
            // Missed an offer.
            AgentFacts {
                missed: true,
                ..agent(Some("ROUTABLE"))
            },
            // On a break, still finishing a chat.
            AgentFacts {
                slots_taken: 1,
                after_contact_work: true,
                ..agent(Some("CUSTOM"))
            },
            agent(Some("OFFLINE")),
            agent(None),
        ];
        assert_eq!(
            count(&agents),
            AgentCounts {
                online: 4,
                available: 1,
                staffed: 4,
                after_contact_work: 1,
                busy: 2,
                missed: 1,
                non_productive: 1,
            }
        );
        assert_eq!(count(&[]), AgentCounts::default());
    }
}
