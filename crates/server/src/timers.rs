//! The task that owns every deadline of this node.
//!
//! Deadlines are persisted (a contact's `expires_ms`, the store's `timers` table), so this task
//! only keeps the ones this node set in a timing wheel ([`DelayQueue`]) to fire them on time.
//! Once a second it also asks the store for deadlines nobody fired: chats and timers of a node
//! that died, or that fell due while no node ran. Firing is a transaction that re-reads the
//! deadline under the contact's lock, so a deadline fires once however many nodes try.
//! Other tasks talk to this one through a channel; nobody spawns a task per timer.

use crate::state::AppState;
use futures_util::StreamExt;
use liaison_core::flow::FLOW_TIMER;
use liaison_core::idle::SESSION_TIMER;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::time::{DelayQueue, delay_queue};

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The chat's `ChatDurationInMinutes` ends it.
    ChatDuration,
    /// The contact's idle session (participant idle / auto-disconnect timers).
    ParticipantTimers,
    /// The contact's flow run: a wait's time limit, or the lease of the node driving it.
    FlowRun,
}

impl TimerKind {
    /// The kind of a stored timer, by its name.
    fn of_stored(name: &str) -> Option<Self> {
        match name {
            SESSION_TIMER => Some(TimerKind::ParticipantTimers),
            FLOW_TIMER => Some(TimerKind::FlowRun),
            _ => None,
        }
    }
}

/// A deadline in the wheel: the contact (a UUID, kept as 16 bytes, byte-aligned so a key
/// takes 17 bytes rather than the 32 of a `u128` and a tag) and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    contact: [u8; 16],
    kind: TimerKind,
}

impl TimerKey {
    /// `None` for ids Liaison did not make (they are still fired by the store sweep).
    pub fn new(contact_id: &str, kind: TimerKind) -> Option<Self> {
        let contact = uuid::Uuid::parse_str(contact_id).ok()?.into_bytes();
        Some(TimerKey { contact, kind })
    }

    fn contact_id(&self) -> String {
        uuid::Uuid::from_bytes(self.contact).to_string()
    }
}

pub enum TimerCommand {
    /// Fire `key` at `due_ms` (epoch ms), replacing its earlier deadline.
    Arm { key: TimerKey, due_ms: i64 },
    /// The contact ended; drop its deadlines.
    ForgetContact { contact: [u8; 16] },
    /// Nothing runs for `key` any more.
    Forget { key: TimerKey },
}

/// Sends commands to the timer task.
#[derive(Clone)]
pub struct Timers {
    sender: mpsc::UnboundedSender<TimerCommand>,
}

impl Timers {
    pub fn channel() -> (Timers, mpsc::UnboundedReceiver<TimerCommand>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Timers { sender }, receiver)
    }

    pub fn arm_chat_deadline(&self, contact_id: &str, deadline_ms: i64) {
        self.arm(contact_id, TimerKind::ChatDuration, Some(deadline_ms));
    }

    /// Fires `kind` for the contact at `due_ms`; `None` stops it.
    pub fn arm(&self, contact_id: &str, kind: TimerKind, due_ms: Option<i64>) {
        let Some(key) = TimerKey::new(contact_id, kind) else {
            return;
        };
        let _ = self.sender.send(match due_ms {
            Some(due_ms) => TimerCommand::Arm { key, due_ms },
            None => TimerCommand::Forget { key },
        });
    }

    pub fn forget(&self, contact_id: &str) {
        if let Ok(id) = uuid::Uuid::parse_str(contact_id) {
            let _ = self.sender.send(TimerCommand::ForgetContact {
                contact: id.into_bytes(),
            });
        }
    }
}

/// Deadlines by key in a timing wheel: arming a key again moves its deadline.
pub struct Wheel<K> {
    queue: DelayQueue<K>,
    keys: HashMap<K, delay_queue::Key>,
}

impl<K: Copy + Eq + Hash> Default for Wheel<K> {
    fn default() -> Self {
        Wheel {
            queue: DelayQueue::new(),
            keys: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Wheel<K> {
    pub fn arm(&mut self, key: K, wait: Duration) {
        match self.keys.get(&key) {
            Some(slot) => self.queue.reset(slot, wait),
            None => {
                let slot = self.queue.insert(key, wait);
                self.keys.insert(key, slot);
            }
        }
    }

    pub fn forget(&mut self, key: &K) {
        if let Some(slot) = self.keys.remove(key) {
            self.queue.remove(&slot);
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The next key whose deadline passed; waits for it. Pending forever while empty.
    pub async fn expired(&mut self) -> K {
        loop {
            if self.queue.is_empty() {
                std::future::pending::<()>().await;
            }
            if let Some(expired) = self.queue.next().await {
                let key = expired.into_inner();
                self.keys.remove(&key);
                return key;
            }
        }
    }
}

/// How often the store is asked for deadlines nobody fired.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Deadlines taken per sweep.
const SWEEP_BATCH: u32 = 100;
/// A stored timer is left to the wheel of the node that set it for this long after it fell
/// due; the sweep takes it after that.
const SWEEP_GRACE_MS: i64 = 1_000;
/// How long a claimed timer is kept from other nodes' sweeps.
const LEASE_MS: i64 = 10_000;

/// Runs until every [`Timers`] handle is gone.
pub async fn run(state: AppState, mut commands: mpsc::UnboundedReceiver<TimerCommand>) {
    let mut wheel: Wheel<TimerKey> = Wheel::default();
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        state
            .metrics
            .armed_timers
            .store(wheel.len() as i64, std::sync::atomic::Ordering::Relaxed);
        tokio::select! {
            _ = sweep.tick() => sweep_store(&state).await,
            command = commands.recv() => match command {
                Some(TimerCommand::Arm { key, due_ms }) => {
                    let wait = (due_ms - state.clock.now_ms()).max(0) as u64;
                    wheel.arm(key, Duration::from_millis(wait));
                }
                Some(TimerCommand::Forget { key }) => wheel.forget(&key),
                Some(TimerCommand::ForgetContact { contact }) => {
                    for kind in [TimerKind::ChatDuration, TimerKind::ParticipantTimers, TimerKind::FlowRun] {
                        wheel.forget(&TimerKey { contact, kind });
                    }
                }
                None => return,
            },
            key = wheel.expired(), if !wheel.is_empty() => fire(&state, key.contact_id(), key.kind),
        }
    }
}

fn fire(state: &AppState, contact_id: String, kind: TimerKind) {
    let state = state.clone();
    tokio::spawn(async move {
        match kind {
            TimerKind::ChatDuration => state.expire_chat(&contact_id).await,
            TimerKind::ParticipantTimers => state.fire_participant_timers(&contact_id).await,
            TimerKind::FlowRun => state.run_flow(&contact_id, crate::flows::Trigger::Due),
        }
    });
}

async fn sweep_store(state: &AppState) {
    let now = state.clock.now_ms();
    match state.store.due_contacts(now, SWEEP_BATCH).await {
        Ok(due) => {
            for contact_id in due {
                fire(state, contact_id, TimerKind::ChatDuration);
            }
        }
        Err(error) => tracing::warn!(%error, "could not look for overdue chats"),
    }
    match state
        .store
        .claim_due_timers(now - SWEEP_GRACE_MS, now + LEASE_MS, SWEEP_BATCH)
        .await
    {
        Ok(due) => {
            for (contact_id, name) in due {
                match TimerKind::of_stored(&name) {
                    Some(kind) => fire(state, contact_id, kind),
                    None => tracing::warn!(contact_id, name, "a stored timer of an unknown kind"),
                }
            }
        }
        Err(error) => tracing::warn!(%error, "could not claim due timers"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::{Instant, advance};

    /// Collects what expires within `within`, with the virtual time each expired at.
    async fn expire_for(
        wheel: &mut Wheel<u32>,
        start: Instant,
        within: Duration,
    ) -> Vec<(u32, u64)> {
        let mut fired = Vec::new();
        let end = start + within;
        loop {
            tokio::select! {
                key = wheel.expired(), if !wheel.is_empty() => {
                    fired.push((key, (Instant::now() - start).as_millis() as u64));
                }
                _ = tokio::time::sleep_until(end) => return fired,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_fire_on_virtual_time_moved_and_forgotten() {
        let start = Instant::now();
        let mut wheel = Wheel::default();
        wheel.arm(1, Duration::from_secs(120));
        wheel.arm(2, Duration::from_secs(60));
        wheel.arm(3, Duration::from_secs(30));
        // Re-arming moves a deadline (a message resetting an idle timer).
        wheel.arm(2, Duration::from_secs(180));
        wheel.forget(&3);
        assert_eq!(wheel.len(), 2);
        let fired = expire_for(&mut wheel, start, Duration::from_secs(600)).await;
        assert_eq!(fired, vec![(1, 120_000), (2, 180_000)]);
        assert!(wheel.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn many_deadlines_fire_in_order_on_their_millisecond() {
        let start = Instant::now();
        let mut wheel = Wheel::default();
        for key in 0..100_000u32 {
            wheel.arm(key, Duration::from_millis(u64::from(key % 10_000) + 1));
        }
        advance(Duration::from_millis(1)).await;
        let fired = expire_for(&mut wheel, start, Duration::from_secs(11)).await;
        assert_eq!(fired.len(), 100_000);
        assert!(
            fired
                .iter()
                .all(|(key, at)| at.abs_diff(u64::from(key % 10_000) + 1) <= 1),
            "every deadline fires at its millisecond"
        );
    }
}
