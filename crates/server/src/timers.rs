//! The task that owns every deadline of this node.
//!
//! Deadlines are persisted (a contact's `expires_ms`, the store's `timers` table), so this task
//! only keeps the ones this node set in a timing wheel ([`DelayQueue`]) to fire them on time:
//! one entry per contact, at the earliest of its deadlines, so the timers a chat arms take no
//! entries of their own.
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
use tokio::time::Instant;
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

/// How many kinds of deadline a contact can have.
const KINDS: usize = 3;

impl TimerKind {
    const ALL: [TimerKind; KINDS] = [
        TimerKind::ChatDuration,
        TimerKind::ParticipantTimers,
        TimerKind::FlowRun,
    ];

    fn index(self) -> usize {
        match self {
            TimerKind::ChatDuration => 0,
            TimerKind::ParticipantTimers => 1,
            TimerKind::FlowRun => 2,
        }
    }

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

    pub fn contact(&self) -> [u8; 16] {
        self.contact
    }

    pub fn kind(&self) -> TimerKind {
        self.kind
    }
}

fn contact_id(contact: [u8; 16]) -> String {
    uuid::Uuid::from_bytes(contact).to_string()
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

/// Deadlines by contact and kind in a timing wheel. A contact has one entry in the wheel, at its
/// earliest deadline; arming a kind again moves that kind's deadline.
pub struct Wheel<C> {
    /// Deadlines are kept as whole milliseconds since this instant, rounded up.
    epoch: Instant,
    queue: DelayQueue<C>,
    contacts: HashMap<C, Deadlines>,
    /// Deadlines armed, over all contacts and kinds.
    armed: usize,
}

/// A contact's entry: where it is in the wheel, and each kind's deadline.
struct Deadlines {
    slot: delay_queue::Key,
    /// By [`TimerKind::index`]; [`UNSET`] when the kind is not armed.
    at_ms: [u64; KINDS],
}

const UNSET: u64 = u64::MAX;

impl Deadlines {
    fn next_ms(&self) -> u64 {
        self.at_ms.iter().copied().min().unwrap_or(UNSET)
    }
}

impl<C: Copy + Eq + Hash> Default for Wheel<C> {
    fn default() -> Self {
        Wheel {
            epoch: Instant::now(),
            queue: DelayQueue::new(),
            contacts: HashMap::new(),
            armed: 0,
        }
    }
}

impl<C: Copy + Eq + Hash> Wheel<C> {
    /// Fires `kind` for `contact` after `wait`, replacing that kind's earlier deadline.
    pub fn arm(&mut self, contact: C, kind: TimerKind, wait: Duration) {
        let since_epoch = (Instant::now() + wait).saturating_duration_since(self.epoch);
        let at_ms = since_epoch.as_nanos().div_ceil(1_000_000) as u64;
        let epoch = self.epoch;
        match self.contacts.get_mut(&contact) {
            Some(deadlines) => {
                let earliest = deadlines.next_ms();
                let slot = &mut deadlines.at_ms[kind.index()];
                if *slot == UNSET {
                    self.armed += 1;
                }
                *slot = at_ms;
                let next = deadlines.next_ms();
                if next != earliest {
                    self.queue.reset_at(&deadlines.slot, instant(epoch, next));
                }
            }
            None => {
                let mut deadlines = [UNSET; KINDS];
                deadlines[kind.index()] = at_ms;
                let slot = self.queue.insert_at(contact, instant(epoch, at_ms));
                self.contacts.insert(
                    contact,
                    Deadlines {
                        slot,
                        at_ms: deadlines,
                    },
                );
                self.armed += 1;
            }
        }
    }

    /// Nothing runs for `kind` of `contact` any more.
    pub fn forget(&mut self, contact: C, kind: TimerKind) {
        let Some(deadlines) = self.contacts.get_mut(&contact) else {
            return;
        };
        let earliest = deadlines.next_ms();
        let slot = &mut deadlines.at_ms[kind.index()];
        if *slot == UNSET {
            return;
        }
        *slot = UNSET;
        self.armed -= 1;
        match deadlines.next_ms() {
            UNSET => self.forget_contact(contact),
            next if next != earliest => {
                self.queue
                    .reset_at(&deadlines.slot, instant(self.epoch, next));
            }
            _ => {}
        }
    }

    /// Drops every deadline of `contact`.
    pub fn forget_contact(&mut self, contact: C) {
        if let Some(deadlines) = self.contacts.remove(&contact) {
            self.queue.remove(&deadlines.slot);
            self.armed -= deadlines.at_ms.iter().filter(|at| **at != UNSET).count();
        }
    }

    /// Deadlines armed, over all contacts and kinds.
    pub fn len(&self) -> usize {
        self.armed
    }

    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }

    /// The next contact with deadlines that passed, and their kinds; waits for it. Pending
    /// forever while empty.
    pub async fn expired(&mut self) -> (C, Vec<TimerKind>) {
        loop {
            if self.queue.is_empty() {
                std::future::pending::<()>().await;
            }
            let Some(expired) = self.queue.next().await else {
                continue;
            };
            let contact = expired.into_inner();
            let Some(deadlines) = self.contacts.get_mut(&contact) else {
                continue;
            };
            let now_ms = Instant::now()
                .saturating_duration_since(self.epoch)
                .as_millis() as u64;
            let mut due = Vec::new();
            for kind in TimerKind::ALL {
                let at = &mut deadlines.at_ms[kind.index()];
                if *at <= now_ms {
                    *at = UNSET;
                    due.push(kind);
                }
            }
            self.armed -= due.len();
            // The wheel let go of the entry's slot when it expired.
            match deadlines.next_ms() {
                UNSET => {
                    self.contacts.remove(&contact);
                }
                next => deadlines.slot = self.queue.insert_at(contact, instant(self.epoch, next)),
            }
            if !due.is_empty() {
                return (contact, due);
            }
        }
    }
}

/// The instant `at_ms` milliseconds after `epoch`.
fn instant(epoch: Instant, at_ms: u64) -> Instant {
    epoch + Duration::from_millis(at_ms)
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
    let mut wheel: Wheel<[u8; 16]> = Wheel::default();
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
                    wheel.arm(key.contact, key.kind, Duration::from_millis(wait));
                }
                Some(TimerCommand::Forget { key }) => wheel.forget(key.contact, key.kind),
                Some(TimerCommand::ForgetContact { contact }) => wheel.forget_contact(contact),
                None => return,
            },
            (contact, kinds) = wheel.expired(), if !wheel.is_empty() => {
                for kind in kinds {
                    fire(&state, contact_id(contact), kind);
                }
            }
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
    use tokio::time::advance;

    /// Collects what expires within `within`: contact, kind and the virtual time it fired at.
    async fn expire_for(
        wheel: &mut Wheel<u32>,
        start: Instant,
        within: Duration,
    ) -> Vec<(u32, TimerKind, u64)> {
        let mut fired = Vec::new();
        let end = start + within;
        loop {
            tokio::select! {
                (contact, kinds) = wheel.expired(), if !wheel.is_empty() => {
                    let at = (Instant::now() - start).as_millis() as u64;
                    fired.extend(kinds.into_iter().map(|kind| (contact, kind, at)));
                }
                _ = tokio::time::sleep_until(end) => return fired,
            }
        }
    }

    const SESSION: TimerKind = TimerKind::ParticipantTimers;

    #[tokio::test(start_paused = true)]
    async fn deadlines_fire_on_virtual_time_moved_and_forgotten() {
        let start = Instant::now();
        let mut wheel = Wheel::default();
        wheel.arm(1, SESSION, Duration::from_secs(120));
        wheel.arm(2, SESSION, Duration::from_secs(60));
        wheel.arm(3, SESSION, Duration::from_secs(30));
        // Re-arming moves a deadline (a message resetting an idle timer).
        wheel.arm(2, SESSION, Duration::from_secs(180));
        wheel.forget(3, SESSION);
        assert_eq!(wheel.len(), 2);
        let fired = expire_for(&mut wheel, start, Duration::from_secs(600)).await;
        assert_eq!(fired, vec![(1, SESSION, 120_000), (2, SESSION, 180_000)]);
        assert!(wheel.is_empty());
        assert_eq!(wheel.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_contacts_deadlines_share_one_entry_and_each_fires_on_time() {
        let start = Instant::now();
        let mut wheel = Wheel::default();
        wheel.arm(7, TimerKind::ChatDuration, Duration::from_secs(300));
        wheel.arm(7, SESSION, Duration::from_secs(60));
        wheel.arm(7, TimerKind::FlowRun, Duration::from_secs(60));
        wheel.arm(8, TimerKind::FlowRun, Duration::from_secs(90));
        assert_eq!(
            (wheel.len(), wheel.contacts.len(), wheel.queue.len()),
            (4, 2, 2)
        );
        // Moving the earliest later, and another earlier, moves the entry with them.
        wheel.arm(7, SESSION, Duration::from_secs(240));
        wheel.arm(7, TimerKind::FlowRun, Duration::from_secs(30));
        wheel.forget(8, TimerKind::FlowRun);
        assert_eq!(
            (wheel.len(), wheel.contacts.len(), wheel.queue.len()),
            (3, 1, 1)
        );
        let fired = expire_for(&mut wheel, start, Duration::from_secs(600)).await;
        assert_eq!(
            fired,
            vec![
                (7, TimerKind::FlowRun, 30_000),
                (7, SESSION, 240_000),
                (7, TimerKind::ChatDuration, 300_000),
            ]
        );
        assert!(wheel.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_due_together_fire_together_and_a_forgotten_contact_never_fires() {
        let start = Instant::now();
        let mut wheel = Wheel::default();
        wheel.arm(1, SESSION, Duration::from_secs(10));
        wheel.arm(1, TimerKind::FlowRun, Duration::from_secs(10));
        wheel.arm(2, SESSION, Duration::from_secs(5));
        wheel.arm(2, TimerKind::ChatDuration, Duration::from_secs(20));
        wheel.forget_contact(2);
        wheel.forget_contact(3);
        assert_eq!(wheel.len(), 2);
        let fired = expire_for(&mut wheel, start, Duration::from_secs(60)).await;
        assert_eq!(
            fired,
            vec![(1, SESSION, 10_000), (1, TimerKind::FlowRun, 10_000)]
        );
        // Forgetting the last kind of a contact drops its entry.
        wheel.arm(4, SESSION, Duration::from_secs(10));
        wheel.forget(4, SESSION);
        assert!(wheel.is_empty() && wheel.queue.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn many_deadlines_fire_in_order_on_their_millisecond() {
        let start = Instant::now();
        let mut wheel = Wheel::default();
        for key in 0..100_000u32 {
            wheel.arm(
                key,
                SESSION,
                Duration::from_millis(u64::from(key % 10_000) + 1),
            );
        }
        advance(Duration::from_millis(1)).await;
        let fired = expire_for(&mut wheel, start, Duration::from_secs(11)).await;
        assert_eq!(fired.len(), 100_000);
        assert!(
            fired
                .iter()
                .all(|(key, _, at)| at.abs_diff(u64::from(key % 10_000) + 1) <= 1),
            "every deadline fires at its millisecond"
        );
    }
}
