//! The task that owns every chat deadline.
//!
//! Deadlines are persisted with the contact (`expires_ms`), so this task only keeps them in a
//! timing wheel ([`DelayQueue`]) and is rebuilt from the store at start-up. Other tasks talk to it
//! through a channel; nobody spawns a task per timer.

use crate::state::AppState;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::time::{DelayQueue, delay_queue};

pub enum TimerCommand {
    /// End the chat at `deadline_ms` (epoch ms) unless it ended before.
    ChatDeadline {
        contact_id: String,
        deadline_ms: i64,
    },
    /// The chat ended; forget its deadline.
    Forget { contact_id: String },
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
        let _ = self.sender.send(TimerCommand::ChatDeadline {
            contact_id: contact_id.to_string(),
            deadline_ms,
        });
    }

    pub fn forget(&self, contact_id: &str) {
        let _ = self.sender.send(TimerCommand::Forget {
            contact_id: contact_id.to_string(),
        });
    }
}

/// How often the store is asked for overdue chats. Deadlines this node armed fire from the
/// wheel on time; the sweep ends the rest: chats of a node that died, or whose deadline passed
/// while no node was running. Ending is atomic in the store, so a chat ends once however many
/// nodes find it due.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Overdue chats ended per sweep.
const SWEEP_BATCH: u32 = 100;

/// Runs until every [`Timers`] handle is gone.
pub async fn run(state: AppState, mut commands: mpsc::UnboundedReceiver<TimerCommand>) {
    let mut queue: DelayQueue<String> = DelayQueue::new();
    let mut keys: HashMap<String, delay_queue::Key> = HashMap::new();
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        state
            .metrics
            .armed_timers
            .store(keys.len() as i64, std::sync::atomic::Ordering::Relaxed);
        tokio::select! {
            _ = sweep.tick() => {
                match state.store.due_contacts(state.clock.now_ms(), SWEEP_BATCH).await {
                    Ok(due) => {
                        for contact_id in due {
                            let state = state.clone();
                            tokio::spawn(async move { state.expire_chat(&contact_id).await });
                        }
                    }
                    Err(error) => tracing::warn!(%error, "could not look for overdue chats"),
                }
            }
            command = commands.recv() => match command {
                Some(TimerCommand::ChatDeadline { contact_id, deadline_ms }) => {
                    let wait = Duration::from_millis((deadline_ms - state.clock.now_ms()).max(0) as u64);
                    match keys.get(&contact_id) {
                        Some(key) => queue.reset(key, wait),
                        None => {
                            let key = queue.insert(contact_id.clone(), wait);
                            keys.insert(contact_id, key);
                        }
                    }
                }
                Some(TimerCommand::Forget { contact_id }) => {
                    if let Some(key) = keys.remove(&contact_id) {
                        queue.remove(&key);
                    }
                }
                None => return,
            },
            Some(expired) = queue.next(), if !queue.is_empty() => {
                let contact_id = expired.into_inner();
                keys.remove(&contact_id);
                let state = state.clone();
                tokio::spawn(async move { state.expire_chat(&contact_id).await });
            }
        }
    }
}
