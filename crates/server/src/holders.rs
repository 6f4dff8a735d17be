//! Remembered token lookups, for a node that is the only writer of its store (SQLite).
//!
//! Every participant call starts by resolving its bearer token to the participant and the
//! contact. What changes about them afterwards (the contact ending, the participant leaving)
//! only ever happens through this node's own writes, which forget the affected entries right
//! after they commit. The stored contact is a snapshot: callers rely on its identity, its
//! content types and its state, which are kept true, and read anything else from the store.
//! A node that shares its store with other nodes does not remember anything.

use liaison_store::TokenHolder;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Entries kept at most; past that the cache starts again empty (cheap, and rare).
const CAPACITY: usize = 100_000;

#[derive(Default)]
struct Entries {
    by_hash: HashMap<String, TokenHolder>,
    by_contact: HashMap<String, HashSet<String>>,
    /// Counts forgets. A lookup that read the store while something was forgotten may have
    /// read what is already stale, so it is not remembered.
    epoch: u64,
}

pub struct HolderCache {
    entries: Option<Mutex<Entries>>,
}

impl HolderCache {
    /// `enabled` only when no other node writes to the store.
    pub fn new(enabled: bool) -> Self {
        HolderCache {
            entries: enabled.then(Mutex::default),
        }
    }

    /// The remembered holder, or the epoch to pass to [`HolderCache::remember`] after reading
    /// the store.
    pub fn get(&self, hash: &str) -> Result<TokenHolder, u64> {
        let Some(entries) = &self.entries else {
            return Err(0);
        };
        let entries = entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.by_hash.get(hash).cloned().ok_or(entries.epoch)
    }

    /// Remembers a holder read from the store, unless something was forgotten since `epoch`.
    pub fn remember(&self, holder: &TokenHolder, epoch: u64) {
        let Some(entries) = &self.entries else { return };
        let mut entries = entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.epoch != epoch {
            return;
        }
        if entries.by_hash.len() >= CAPACITY {
            entries.by_hash.clear();
            entries.by_contact.clear();
        }
        entries
            .by_contact
            .entry(holder.contact.id.clone())
            .or_default()
            .insert(holder.token.hash.clone());
        entries
            .by_hash
            .insert(holder.token.hash.clone(), holder.clone());
    }

    /// Forgets every token of a contact whose state or participants just changed.
    pub fn forget_contact(&self, contact_id: &str) {
        let Some(entries) = &self.entries else { return };
        let mut entries = entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.epoch += 1;
        if let Some(hashes) = entries.by_contact.remove(contact_id) {
            for hash in hashes {
                entries.by_hash.remove(&hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_core::{
        Contact, ContactState, Participant, ParticipantRole, TokenKind, TokenRecord,
    };

    fn holder(hash: &str, contact_id: &str) -> TokenHolder {
        TokenHolder {
            token: TokenRecord {
                hash: hash.into(),
                kind: TokenKind::Connection,
                participant_id: "p".into(),
                contact_id: contact_id.into(),
                expires_ms: None,
            },
            participant: Participant {
                id: "p".into(),
                contact_id: contact_id.into(),
                role: ParticipantRole::Customer,
                display_name: "C".into(),
                joined_ms: 0,
                left_ms: None,
                connected_ms: Some(0),
            },
            contact: Contact {
                id: contact_id.into(),
                instance_id: "i".into(),
                initial_contact_id: contact_id.into(),
                related_contact_id: None,
                flow_id: "f".into(),
                state: ContactState::Open,
                attributes: Default::default(),
                segment_attributes: None,
                customer_id: None,
                supported_content_types: vec!["text/plain".into()],
                initiated_ms: 0,
                ended_ms: None,
                expires_ms: 0,
                last_seq: 0,
                timer_config: Default::default(),
                data: Default::default(),
                watches_messages: false,
            },
        }
    }

    #[test]
    fn remembers_forgets_and_refuses_lookups_that_raced_a_forget() {
        let cache = HolderCache::new(true);
        let epoch = cache.get("h1").unwrap_err();
        cache.remember(&holder("h1", "c1"), epoch);
        assert_eq!(cache.get("h1").unwrap().contact.id, "c1");

        cache.forget_contact("c1");
        let epoch = cache.get("h1").unwrap_err();
        // A lookup reads the store, then the contact ends and is forgotten, then the lookup
        // tries to remember what it read: that would be stale, so it is dropped.
        cache.forget_contact("c1");
        cache.remember(&holder("h1", "c1"), epoch);
        assert!(cache.get("h1").is_err());

        let off = HolderCache::new(false);
        off.remember(&holder("h2", "c2"), 0);
        assert!(off.get("h2").is_err(), "a shared store is never cached");
    }
}
