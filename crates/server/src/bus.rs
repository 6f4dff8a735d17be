//! The in-process event bus: "contact X has reached sequence number N".
//!
//! Items themselves never travel on the bus. They are in the store before anyone is told about
//! them, and each socket reads what it has not sent yet from there. A hint that is coalesced,
//! or that arrives after the socket already caught up, therefore costs nothing and loses nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

#[derive(Default)]
pub struct Bus {
    contacts: Mutex<HashMap<String, watch::Sender<i64>>>,
}

impl Bus {
    /// A receiver that changes whenever the contact's log grows.
    pub fn subscribe(&self, contact_id: &str) -> watch::Receiver<i64> {
        let mut contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        contacts
            .entry(contact_id.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Tells the contact's sockets that its log now reaches `seq`.
    pub fn publish(&self, contact_id: &str, seq: i64) {
        let mut contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sender) = contacts.get(contact_id) else {
            return;
        };
        if sender.receiver_count() == 0 {
            contacts.remove(contact_id);
            return;
        }
        sender.send_if_modified(|current| {
            if seq > *current {
                *current = seq;
                true
            } else {
                false
            }
        });
    }
}

impl Bus {
    /// The contacts local sockets follow.
    pub fn watched(&self) -> Vec<String> {
        let contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        contacts
            .iter()
            .filter(|(_, sender)| sender.receiver_count() > 0)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Wakes every local socket to look for new items: after cluster hints may have been lost.
    pub fn poke_all(&self) {
        let contacts = self.contacts.lock().unwrap_or_else(|p| p.into_inner());
        for sender in contacts.values() {
            sender.send_modify(|_| {});
        }
    }
}

/// Carries this node's "contact X reached seq N" hints to the other nodes of a cluster, and
/// theirs to this node's sockets.
pub mod cluster {
    use super::Bus;
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
    ) -> Result<Option<Announcer>, liaison_store::StoreError> {
        let Some(mut hints) = store.listen(&node).await? else {
            return Ok(None);
        };
        tokio::spawn(reconcile(store.clone(), bus.clone()));
        tokio::spawn(async move {
            while let Some(hint) = hints.recv().await {
                match hint {
                    Hint::Reached { contact_id, seq } => bus.publish(&contact_id, seq),
                    Hint::Resync => bus.poke_all(),
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
}
