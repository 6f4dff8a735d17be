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
