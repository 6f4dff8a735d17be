//! The in-process event bus: "contact X has reached sequence number N".
//!
//! Items are in the store before anyone is told about them; the bus carries only the news that
//! a contact's log grew, and each socket fetches what it has not sent yet. For the contacts this
//! node's sockets follow, the bus also keeps the last few items this node committed, so that a
//! socket usually finds them in memory; whatever the memory does not cover contiguously is read
//! from the store. A hint that is coalesced, or that arrives after the socket already caught up,
//! therefore costs nothing and loses nothing.

use liaison_core::ChatItem;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use tokio::sync::watch;

/// Recent items kept per followed contact: enough for a burst, small enough for 10,000 chats.
const RECENT_ITEMS: usize = 16;

/// A contact that local sockets follow.
struct Followed {
    /// The highest sequence number this node has heard of; sockets wait on changes.
    reached: watch::Sender<i64>,
    /// The newest items committed through this node, by sequence number.
    recent: BTreeMap<i64, ChatItem>,
}

#[derive(Default)]
pub struct Bus {
    contacts: Mutex<HashMap<String, Followed>>,
}

impl Bus {
    /// A receiver that changes whenever the contact's log grows.
    pub fn subscribe(&self, contact_id: &str) -> watch::Receiver<i64> {
        let mut contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        contacts
            .entry(contact_id.to_string())
            .or_insert_with(|| Followed {
                reached: watch::channel(0).0,
                recent: BTreeMap::new(),
            })
            .reached
            .subscribe()
    }

    /// Tells the contact's sockets that its log now reaches `seq` (a hint from another node).
    pub fn publish(&self, contact_id: &str, seq: i64) {
        self.update(contact_id, |followed| {
            followed.reached.send_if_modified(|current| {
                if seq > *current {
                    *current = seq;
                    true
                } else {
                    false
                }
            });
        });
    }

    /// Hands items this node has just committed to the contact's sockets. Always wakes them:
    /// concurrent commits may be published out of order, and a socket must look again when a
    /// missing item arrives.
    pub fn publish_items(&self, contact_id: &str, items: &[ChatItem]) {
        self.update(contact_id, |followed| {
            for item in items {
                followed.recent.insert(item.seq, item.clone());
            }
            while followed.recent.len() > RECENT_ITEMS {
                followed.recent.pop_first();
            }
            let newest = items.iter().map(|item| item.seq).max().unwrap_or_default();
            followed
                .reached
                .send_modify(|current| *current = (*current).max(newest));
        });
    }

    /// The items after `after_seq` that memory holds without a gap, or `None` when memory does
    /// not hold the very next one (then the store has it).
    pub fn recent_after(&self, contact_id: &str, after_seq: i64) -> Option<Vec<ChatItem>> {
        let contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        let followed = contacts.get(contact_id)?;
        let items: Vec<ChatItem> = (after_seq + 1..)
            .zip(followed.recent.range(after_seq + 1..))
            .take_while(|(expected, (seq, _))| *seq == expected)
            .map(|(_, (_, item))| item.clone())
            .collect();
        (!items.is_empty()).then_some(items)
    }

    /// Runs `change` on a followed contact; forgets contacts nobody follows any more.
    fn update(&self, contact_id: &str, change: impl FnOnce(&mut Followed)) {
        let mut contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        let Some(followed) = contacts.get_mut(contact_id) else {
            return;
        };
        if followed.reached.receiver_count() == 0 {
            contacts.remove(contact_id);
            return;
        }
        change(followed);
    }

    /// The contacts local sockets follow.
    pub fn watched(&self) -> Vec<String> {
        let contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        contacts
            .iter()
            .filter(|(_, followed)| followed.reached.receiver_count() > 0)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Wakes every local socket to look for new items: after cluster hints may have been lost.
    pub fn poke_all(&self) {
        let contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        for followed in contacts.values() {
            followed.reached.send_modify(|_| {});
        }
    }
}

/// Carries this node's "contact X reached seq N" hints to the other nodes of a cluster, and
/// theirs to this node's sockets.
pub mod cluster {
    use super::Bus;
    use crate::routing::{EVENT_HINT_PREFIX, RoutingInbox};
    use liaison_store::{Hint, Store};
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::sync::mpsc;

    /// How often a node compares the logs its sockets follow with the store. Hints are sent
    /// after commit, so a node that dies between its commit and its `NOTIFY` leaves the other
    /// nodes unaware of its last writes; this bounds how long they stay unaware.
    const RECONCILE_EVERY: Duration = Duration::from_secs(1);

    /// Queues hints for the announcer task; each hint is tiny and they coalesce there.
    #[derive(Clone)]
    pub struct Announcer {
        queue: mpsc::UnboundedSender<(String, i64)>,
    }

    impl Announcer {
        pub fn announce(&self, contact_id: &str, seq: i64) {
            let _ = self.queue.send((contact_id.to_string(), seq));
        }
    }

    /// Starts the fan-out if the store is shared with other nodes: returns the announcer for
    /// local writes, and feeds other nodes' hints into `bus`.
    pub async fn start(
        store: Arc<dyn Store>,
        bus: Arc<Bus>,
        node: String,
        routing: RoutingInbox,
    ) -> Result<Option<Announcer>, liaison_store::StoreError> {
        let Some(mut hints) = store.listen(&node).await? else {
            return Ok(None);
        };
        tokio::spawn(reconcile(store.clone(), bus.clone()));
        tokio::spawn(async move {
            while let Some(hint) = hints.recv().await {
                match hint {
                    Hint::Reached { contact_id, .. }
                        if contact_id.starts_with(EVENT_HINT_PREFIX) =>
                    {
                        routing.receive_hint(&contact_id)
                    }
                    Hint::Reached { contact_id, seq } => bus.publish(&contact_id, seq),
                    Hint::Resync => {
                        bus.poke_all();
                        routing.resync();
                    }
                }
            }
        });
        let (queue, mut pending) = mpsc::unbounded_channel::<(String, i64)>();
        tokio::spawn(async move {
            while let Some(first) = pending.recv().await {
                // Everything queued meanwhile goes out together, one entry per contact.
                let mut latest: HashMap<String, i64> = HashMap::from([first]);
                while let Ok((contact_id, seq)) = pending.try_recv() {
                    let entry = latest.entry(contact_id).or_insert(seq);
                    *entry = (*entry).max(seq);
                }
                let batch: Vec<(String, i64)> = latest.into_iter().collect();
                if let Err(error) = store.announce(&node, &batch).await {
                    tracing::warn!(%error, "could not announce chat items to the other nodes; retrying once");
                    if let Err(error) = store.announce(&node, &batch).await {
                        tracing::error!(%error, "other nodes will see these chat items on their next hint or reconnect");
                    }
                }
            }
        });
        Ok(Some(Announcer { queue }))
    }

    /// Wakes local sockets whose contact's log grew without a hint reaching this node.
    async fn reconcile(store: Arc<dyn Store>, bus: Arc<Bus>) {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let watched = bus.watched();
            if watched.is_empty() {
                continue;
            }
            match store.last_seqs(&watched).await {
                Ok(stored) => {
                    for (contact_id, seq) in stored {
                        bus.publish(&contact_id, seq);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not compare followed chats with the store")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_the_highest_sequence_and_idle_contacts_are_dropped() {
        let bus = Bus::default();
        let mut rx = bus.subscribe("c1");
        bus.publish("c1", 3);
        bus.publish("c1", 2);
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow_and_update(), 3);
        drop(rx);
        bus.publish("c1", 4);
        assert!(bus.contacts.lock().unwrap().is_empty());
    }

    fn item(seq: i64) -> ChatItem {
        ChatItem {
            contact_id: "c1".into(),
            seq,
            item: liaison_core::NewItem::new(
                liaison_core::ItemType::Message,
                "text/plain",
                None,
                0,
            ),
        }
    }

    #[tokio::test]
    async fn recent_items_are_served_only_without_gaps() {
        let bus = Bus::default();
        bus.publish_items("c1", &[item(1)]);
        assert_eq!(
            bus.recent_after("c1", 0),
            None,
            "nobody follows c1 yet, so nothing is kept"
        );

        let mut rx = bus.subscribe("c1");
        bus.publish_items("c1", &[item(3)]);
        rx.changed().await.unwrap();
        assert_eq!(
            bus.recent_after("c1", 1),
            None,
            "item 2 is missing: read the store"
        );
        bus.publish_items("c1", &[item(2)]);
        rx.changed().await.unwrap();
        let seqs: Vec<i64> = bus
            .recent_after("c1", 1)
            .unwrap()
            .iter()
            .map(|i| i.seq)
            .collect();
        assert_eq!(
            seqs,
            vec![2, 3],
            "a late item still wakes the sockets and closes the gap"
        );
        assert_eq!(bus.recent_after("c1", 3), None);

        let burst: Vec<ChatItem> = (4..40).map(item).collect();
        bus.publish_items("c1", &burst);
        assert_eq!(
            bus.recent_after("c1", 3),
            None,
            "only the newest items are kept"
        );
        assert_eq!(bus.recent_after("c1", 38).unwrap().len(), 1);
    }
}
