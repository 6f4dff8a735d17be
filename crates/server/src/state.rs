//! What every request handler shares, and the chat actions more than one of them performs.

use crate::bus::Bus;
use crate::timers::Timers;
use crate::ws::SocketRegistry;
use liaison_core::content::{EVENT_CHAT_ENDED, EVENT_PARTICIPANT_LEFT};
use liaison_core::{Clock, ItemType, NewItem, Participant};
use liaison_store::{Append, Appended, Store, StoreError};
use std::sync::Arc;

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
        }
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

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }

    /// Writes to a contact's log, then tells its sockets. Ending the contact also drops its
    /// deadline.
    pub async fn append(&self, append: Append) -> Result<Appended, StoreError> {
        let contact_id = append.contact_id.clone();
        let ends = append.end_contact_at.is_some();
        let changes_participants = ends || append.participant_left.is_some();
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
            client_token: None,
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
}
