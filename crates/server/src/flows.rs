//! Runs contact flows for chats: the pure interpreter of `liaison_core::flow`, driven with the
//! chat's effects.
//!
//! A run's state is stored with its contact as the timer `flow`. A node claims the run (a lease
//! written into the state) before it drives it, stores it after every effect, and leaves it
//! waiting (due at the wait's time limit) or finished. Claims and stores happen under the
//! contact's lock, so an event and a time limit cannot both resume one wait, on any node. If a
//! node dies while driving, its lease runs out and any node's timer sweep resumes the run from
//! the action it was at. A new chat's first blocks run before the chat is stored and commit
//! with it ([`AppState::first_segment`]); nobody can claim a run that is not stored yet.

use crate::bootstrap::DEFAULT_CUSTOMER_QUEUE_FLOW_NAME;
use crate::connect::describe_contact_flow::flow_arn;
use crate::connect::describe_contact_flow_module::module_arn;
use crate::connect::id_from_arn;
use crate::state::AppState;
use crate::timers::TimerKind;
use liaison_core::clock::format_iso_millis;
use liaison_core::content::TEXT_PLAIN;
use liaison_core::flow::{
    Effect, Ended, FLOW_TIMER, FlowDocument, FlowState, Interpreter, MODULE_FLOW_TYPE, Outcome,
    ShownView, Step, Surroundings, TraceEntry, WaitEvent, Whisper, validate,
};
use liaison_core::organisation::HoursOfOperation;
use liaison_core::{Contact, Flow, FlowModule, ItemType, NewItem, ParticipantRole};
use liaison_store::{
    Append, Appended, FlowLogRecord, MergedAttributes, StoreError, Timer, TimerEffect, TimerUpdate,
    attributes_size,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Flow runs one node drives at the same time (the others wait their turn).
pub const CONCURRENT_DRIVES: usize = 16;
/// How long a node may drive a run before others consider it dead.
const LEASE_MS: i64 = 30_000;
/// The display name Connect gives flow messages.
const SYSTEM_DISPLAY_NAME: &str = "SYSTEM_MESSAGE";

/// What sets a run going.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// Go on in another flow of the same contact (its queue's flow, a hook) once the run has
    /// finished, or at once when it `takes_over` a run that nobody drives.
    Continue { flow_id: String, takes_over: bool },
    /// The customer sent a message (Wait `CustomerReturned`, GetParticipantInput).
    CustomerMessage { text: String },
    /// The custom bot participant left: a Wait `BotParticipantDisconnected` takes its branch;
    /// otherwise the `CustomerRemaining` hook's flow, if set, takes over the chat.
    BotLeft,
    /// The agent left (or was auto-disconnected): the `CustomerRemaining` hook's flow, if set,
    /// takes over the chat; otherwise the chat ends.
    AgentLeft,
    /// The stored run fell due: it is ready to go (a new contact's run, or the rest of one
    /// whose first segment StartChatContact ran), a wait's time limit passed, or a lease ran
    /// out.
    Due,
    /// The agent answered the view a ShowView showed them.
    ViewAnswered { action: String, data: Value },
}

/// What storing a run came to.
enum Stored {
    /// Stored as given.
    Held,
    /// Another node holds the run now; this node stops.
    Lost,
    /// The run was about to wait for the customer, who wrote meanwhile: it goes on with this
    /// message.
    Resume(String),
}

/// The flow or module a run is in, as the flow logs name it.
struct Source {
    name: String,
    arn: String,
}

impl Source {
    fn flow(state: &AppState, flow: &Flow) -> Self {
        Source {
            arn: flow_arn(state, flow),
            name: flow.name.clone(),
        }
    }
}

/// A claimed run and how its waiting action ended, if it was waiting.
struct Claimed {
    state: FlowState,
    outcome: Option<Outcome>,
}

/// What a trigger came to under the contact's lock.
enum Claim {
    Claimed(Box<Claimed>),
    /// The run does not wait for the bot that left: this flow (the `CustomerRemaining` hook)
    /// takes over.
    StartHook(String),
    /// The agent left and no flow takes the chat over: it ends.
    EndChat,
    /// The trigger does not concern the run (nothing waits for it, or another node drives it).
    Nothing,
}

fn stored_state(timer: Option<&Timer>) -> Option<FlowState> {
    let timer = timer?;
    serde_json::from_str(&timer.data)
        .inspect_err(|error| tracing::error!(%error, "unreadable flow run; dropping it"))
        .ok()
}

/// Leaves the stored run as it is.
fn unchanged(stored: Option<&Timer>) -> TimerEffect {
    TimerEffect {
        timer: stored.cloned(),
        ..TimerEffect::default()
    }
}

/// The run as stored. A run being driven or about to start hears of customer messages too: one
/// that comes before the Wait that takes it is kept for that Wait.
fn timer_of(state: &FlowState) -> Timer {
    Timer {
        name: FLOW_TIMER.to_string(),
        due_ms: state.due_ms(),
        data: serde_json::to_string(state).unwrap_or_default(),
        wants_messages: state.wants_customer_messages()
            || (state.runner.is_some() && !state.finished)
            || state.is_ready(),
    }
}

/// A run stored with a new contact (an after-contact guide): ready to start `flow` at once.
pub fn ready_run(flow: &Flow, document: &FlowDocument, initiation: &str, now_ms: i64) -> Timer {
    let mut state = FlowState::new(&flow.id, &document.start_action, initiation).ready(now_ms);
    state.flow_type = flow.flow_type.clone();
    timer_of(&state)
}

/// A new chat's run after its first segment, to be stored with the chat in one transaction.
pub struct FirstSegment {
    /// The run: waiting, or ready to go on at the first action the segment left to a drive.
    pub run: Timer,
    /// The flow's messages.
    pub items: Vec<NewItem>,
    pub flow_logs: Vec<FlowLogRecord>,
    /// Blocks the segment passed through.
    pub blocks: u64,
}

/// The system's message to the chat.
fn system_message(text: String, now_ms: i64) -> NewItem {
    let mut item = NewItem::new(ItemType::Message, TEXT_PLAIN, None, now_ms).with_content(text);
    item.role = Some(ParticipantRole::System);
    item.display_name = Some(SYSTEM_DISPLAY_NAME.to_string());
    item
}

impl AppState {
    /// Runs the contact's flow for `trigger` in the background.
    pub fn run_flow(&self, contact_id: &str, trigger: Trigger) {
        let state = self.clone();
        let contact_id = contact_id.to_string();
        state
            .metrics
            .pending_flow_runs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::spawn(async move {
            if let Ok(_turn) = state.flow_drives.acquire().await
                && let Err(error) = Box::pin(state.drive_flow(&contact_id, trigger)).await
            {
                tracing::error!(%error, contact_id, "flow run failed on storage; the sweep resumes it");
            }
            state
                .metrics
                .pending_flow_runs
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
    }

    pub(crate) async fn drive_flow(
        &self,
        contact_id: &str,
        trigger: Trigger,
    ) -> Result<(), StoreError> {
        let Some(contact) = self.store.get_contact(contact_id).await? else {
            return Ok(());
        };
        if !contact.is_open() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        // The run a new flow follows tells the contact's initiation.
        let starting = match &trigger {
            Trigger::Continue { flow_id, .. } => Some(flow_id),
            _ => None,
        };
        let mut first_document = None;
        let fresh = match starting {
            Some(flow_id) => match self.flow_document(&contact, flow_id).await? {
                Some((flow, document)) => {
                    let mut state = FlowState::new(&flow.id, &document.start_action, "");
                    state.flow_type = flow.flow_type.clone();
                    let key = (flow.flow_type.clone(), flow.id.clone());
                    first_document = Some((key, Source::flow(self, &flow), document));
                    Some(state)
                }
                None => {
                    tracing::warn!(
                        contact_id,
                        flow_id,
                        "the chat's flow does not exist or cannot run"
                    );
                    return Ok(());
                }
            },
            None => None,
        };
        let token = uuid::Uuid::new_v4().to_string();
        let claimed = match self
            .claim_flow(&contact, trigger, fresh, &token, now)
            .await?
        {
            Claim::Claimed(claimed) => *claimed,
            Claim::StartHook(flow_id) => {
                tracing::info!(
                    contact_id,
                    flow_id,
                    "the bot left; the disconnect flow takes over"
                );
                let start = Trigger::Continue {
                    flow_id,
                    takes_over: true,
                };
                return Box::pin(self.drive_flow(contact_id, start)).await;
            }
            Claim::EndChat => {
                tracing::info!(contact_id, "the agent left; the chat ends");
                return self.end_for_customer(&contact).await;
            }
            Claim::Nothing => return Ok(()),
        };
        let mut state = claimed.state;
        let mut outcome = claimed.outcome;
        let mut dice = || (rand_u32() % 100) + 1;
        // The flow or module being run, read once per drive (a flow updated meanwhile applies
        // to the next contact, as in Connect), keyed by what the run is in.
        let mut running: Option<((String, String), Source, FlowDocument)> = first_document;
        let mut surroundings: Option<Surroundings> = None;
        // The contact as read before the claim serves the first round.
        let mut first_contact = Some(contact);
        loop {
            let contact = match first_contact.take() {
                Some(contact) => contact,
                None => match self.store.get_contact(contact_id).await? {
                    Some(contact) => contact,
                    None => return Ok(()),
                },
            };
            if !contact.is_open() {
                return Ok(());
            }
            if state.whisper_expired(self.clock.now_ms()) {
                tracing::info!(contact_id, "the whisper ran out of time");
                return self
                    .finish_flow(&contact, state, &token, Ended::EndOfFlow)
                    .await;
            }
            let key = (state.flow_type.clone(), state.flow_id.clone());
            if running.as_ref().is_none_or(|(held, _, _)| *held != key) {
                running = self
                    .running_document(&contact, &state)
                    .await?
                    .map(|(source, document)| (key, source, document));
            }
            let Some((_, flow, document)) = &running else {
                let why = format!("flow {} is gone or cannot be read", state.flow_id);
                if state.leave_module() {
                    tracing::warn!(contact_id, why, "flow module stopped");
                    outcome = Some(Outcome::Failed("NoMatchingError".into()));
                    continue;
                }
                return self
                    .finish_flow(&contact, state, &token, Ended::Broken(why))
                    .await;
            };
            // The participants are read afresh each round: effects (a function adding a bot)
            // change them; the rest holds for the drive.
            let surroundings = match surroundings.as_mut() {
                Some(known) => {
                    known.custom_bot_present = self.custom_bot_present(&contact).await?;
                    &*known
                }
                None => &*surroundings.insert(self.surroundings(&contact).await?),
            };
            let interpreter = Interpreter {
                document,
                minute_ms: self.config.timer_minute_ms,
                log_everything: self.config.log_every_flow_block,
            };
            let now = self.clock.now_ms();
            let mut trace = Vec::new();
            if let Some(outcome) = outcome.take() {
                interpreter.settle(&mut state, outcome, now, &mut trace);
            }
            let step = interpreter.advance(
                &mut state,
                &contact,
                surroundings,
                now,
                &mut dice,
                &mut trace,
            );
            self.record_blocks(&contact, flow, &mut trace).await?;
            let effect = match step {
                Step::Waiting => {
                    state.runner = None;
                    match self
                        .store_flow(&contact.id, &state, &token, Vec::new())
                        .await?
                    {
                        Stored::Resume(text) => {
                            state.runner = Some(token.clone());
                            outcome = Some(if state.waits_for(WaitEvent::CustomerInput) {
                                Outcome::Input(text)
                            } else {
                                Outcome::Event(WaitEvent::CustomerReturned)
                            });
                            continue;
                        }
                        Stored::Held => {
                            if state.waits_for(WaitEvent::ViewResult) {
                                self.wake_guide_agents(&contact).await;
                            }
                            return Ok(());
                        }
                        Stored::Lost => return Ok(()),
                    }
                }
                // A module that ends returns to the action that invoked it.
                Step::Ended(Ended::EndOfFlow) if state.leave_module() => {
                    outcome = Some(Outcome::Done);
                    continue;
                }
                Step::Ended(Ended::Broken(why)) if state.leave_module() => {
                    tracing::warn!(contact_id, why, "flow module stopped");
                    outcome = Some(Outcome::Failed("NoMatchingError".into()));
                    continue;
                }
                Step::Ended(ended) => {
                    return self.finish_flow(&contact, state, &token, ended).await;
                }
                Step::Effect(effect) => effect,
            };
            match effect {
                Effect::Message { text } => {
                    interpreter.settle(&mut state, Outcome::Done, now, &mut trace);
                    self.record_blocks(&contact, flow, &mut trace).await?;
                    state.lease_until_ms = now + LEASE_MS;
                    let mut item = system_message(text, now);
                    // A whisper's messages are for its side of the chat only.
                    item.visible_to = state.whisper.as_ref().map(|w| w.to);
                    if let Stored::Lost = self
                        .store_flow(&contact.id, &state, &token, vec![item])
                        .await?
                    {
                        return Ok(());
                    }
                }
                Effect::UpdateAttributes {
                    related,
                    attributes,
                } => {
                    let target = if related {
                        contact.related_contact_id.clone()
                    } else {
                        Some(contact.id.clone())
                    };
                    outcome = Some(match target {
                        Some(target) => match self
                            .store
                            .merge_attributes(
                                &target,
                                &attributes,
                                crate::connect::MAX_ATTRIBUTES_BYTES,
                            )
                            .await?
                        {
                            MergedAttributes::Merged => Outcome::Done,
                            _ => Outcome::Failed("NoMatchingError".into()),
                        },
                        None => Outcome::Failed("NoMatchingError".into()),
                    });
                    if !related {
                        self.holders.forget_contact(&contact.id);
                    }
                }
                Effect::UpdateContactData {
                    related,
                    data,
                    customer_id,
                } => {
                    let target = if related {
                        contact.related_contact_id.clone()
                    } else {
                        Some(contact.id.clone())
                    };
                    let updated = match target {
                        Some(target) => {
                            self.store
                                .update_contact_data(&target, &data, customer_id.as_deref())
                                .await?
                        }
                        None => false,
                    };
                    outcome = Some(if updated {
                        Outcome::Done
                    } else {
                        Outcome::Failed("NoMatchingError".into())
                    });
                }
                Effect::Disconnect => {
                    interpreter.settle(&mut state, Outcome::Done, now, &mut trace);
                    self.record_blocks(&contact, flow, &mut trace).await?;
                    self.end_for_customer(&contact).await?;
                    state.finished = true;
                    state.runner = None;
                    self.store_flow(&contact.id, &state, &token, Vec::new())
                        .await?;
                    return Ok(());
                }
                Effect::InvokeLambda(call) => {
                    let queue = surroundings.working_queue(&state).map(|(id, name)| {
                        (
                            name.clone(),
                            format!("{}/queue/{id}", surroundings.queue_arn_prefix),
                        )
                    });
                    outcome = Some(
                        self.invoke_function(&contact, &call, &state.initiation_method, queue)
                            .await,
                    );
                }
                Effect::TransferToFlow { flow: target } => {
                    match self.flow_document(&contact, &target).await? {
                        Some((target, document)) => {
                            interpreter.settle(&mut state, Outcome::Done, now, &mut trace);
                            self.record_blocks(&contact, flow, &mut trace).await?;
                            state.transfer(&target.id, &document.start_action);
                            state.flow_type = target.flow_type;
                            state.lease_until_ms = now + LEASE_MS;
                            if let Stored::Lost = self
                                .store_flow(&contact.id, &state, &token, Vec::new())
                                .await?
                            {
                                return Ok(());
                            }
                        }
                        None => outcome = Some(Outcome::Failed("NoMatchingError".into())),
                    }
                }
                // Whispers cannot queue the contact: its agent has it already.
                Effect::TransferToQueue { .. } if state.whisper.is_some() => {
                    outcome = Some(Outcome::Failed("NoMatchingError".into()));
                }
                Effect::TransferToQueue { queue } => {
                    match self.find_queue(&contact, queue.as_deref()).await? {
                        Some((queue_id, _)) => {
                            interpreter.settle(&mut state, Outcome::Done, now, &mut trace);
                            self.record_blocks(&contact, flow, &mut trace).await?;
                            state.queue = Some(queue_id);
                            return self
                                .finish_flow(&contact, state, &token, Ended::Queued)
                                .await;
                        }
                        None => outcome = Some(Outcome::Failed("NoMatchingError".into())),
                    }
                }
                Effect::CheckHours { hours } => {
                    outcome = Some(
                        match self.hours_for(&contact, hours.as_deref(), &state).await? {
                            Some(hours) => match hours.is_open_at(self.clock.now_ms()) {
                                Some(open) => {
                                    Outcome::Result(if open { "True" } else { "False" }.to_string())
                                }
                                None => {
                                    tracing::warn!(
                                        contact_id,
                                        time_zone = hours.time_zone,
                                        "hours of operation in an unknown time zone"
                                    );
                                    Outcome::Failed("NoMatchingError".into())
                                }
                            },
                            None => Outcome::Failed("NoMatchingError".into()),
                        },
                    );
                }
                Effect::QueueMetrics { queue } => {
                    outcome = Some(
                        match self.queue_metrics(&contact.instance_id, &queue).await? {
                            Some(metrics) => Outcome::Metrics(metrics),
                            None => Outcome::Failed("NoMatchingError".into()),
                        },
                    );
                }
                Effect::InvokeModule { module } => {
                    match self.module_document(&contact, &module).await? {
                        Some((module, document)) => {
                            // The InvokeFlowModule block is settled when the module returns.
                            state.enter_module(&module.id, &document.start_action);
                            state.lease_until_ms = now + LEASE_MS;
                            if let Stored::Lost = self
                                .store_flow(&contact.id, &state, &token, Vec::new())
                                .await?
                            {
                                return Ok(());
                            }
                        }
                        None => outcome = Some(Outcome::Failed("NoMatchingError".into())),
                    }
                }
                Effect::ShowView { view, data } => {
                    // The interpreter waits for the answer next; the agent's workspace renders
                    // the view from the stored run meanwhile.
                    tracing::debug!(contact_id, view, "ShowView waits for the agent workspace");
                    state.shown_view = Some(ShownView { view, data });
                    outcome = Some(Outcome::Done);
                }
            }
        }
    }

    /// Runs a new chat's flow, before the chat is stored, up to its first wait or its first
    /// action that needs the store or the outside: messages and attribute updates of those
    /// blocks go onto `contact` and into the result, so the chat, its greeting and its waiting
    /// run commit together (one write instead of one per effect). An action the segment does
    /// not perform is left unsettled in the run, which is stored ready for a drive to perform it.
    pub(crate) async fn first_segment(
        &self,
        flow: &Flow,
        document: &FlowDocument,
        contact: &mut Contact,
        initial_message: Option<String>,
        now: i64,
    ) -> Result<FirstSegment, StoreError> {
        let instance_arn = self.config.instance_arn(&contact.instance_id);
        let surroundings = Surroundings {
            queue_arn_prefix: instance_arn.clone(),
            instance_arn,
            region: self.config.region.clone(),
            queues: self.store.list_queues(&contact.instance_id).await?,
            initial_message,
            custom_bot_present: false,
        };
        let interpreter = Interpreter {
            document,
            minute_ms: self.config.timer_minute_ms,
            log_everything: self.config.log_every_flow_block,
        };
        let mut state = FlowState::new(&flow.id, &document.start_action, "API");
        state.flow_type = flow.flow_type.clone();
        let mut items = Vec::new();
        let mut trace = Vec::new();
        let mut dice = || (rand_u32() % 100) + 1;
        loop {
            let before = (state.clone(), trace.len());
            match interpreter.advance(
                &mut state,
                contact,
                &surroundings,
                now,
                &mut dice,
                &mut trace,
            ) {
                Step::Waiting => break,
                Step::Effect(Effect::Message { text }) => {
                    interpreter.settle(&mut state, Outcome::Done, now, &mut trace);
                    items.push(system_message(text, now));
                }
                Step::Effect(Effect::UpdateAttributes {
                    related: false,
                    attributes,
                }) => {
                    let mut merged = contact.attributes.clone();
                    merged.extend(attributes);
                    let outcome =
                        if attributes_size(&merged) <= crate::connect::MAX_ATTRIBUTES_BYTES {
                            contact.attributes = merged;
                            Outcome::Done
                        } else {
                            Outcome::Failed("NoMatchingError".into())
                        };
                    interpreter.settle(&mut state, outcome, now, &mut trace);
                }
                // Performed by a drive, from this action on.
                Step::Effect(_) => {
                    state = state.ready(now);
                    break;
                }
                // How a flow ends (queued, the chat ended) is a drive's: it goes again from
                // the blocks since the last effect, which changed nothing outside the run.
                Step::Ended(_) => {
                    let (previous, traced) = before;
                    state = previous.ready(now);
                    trace.truncate(traced);
                    break;
                }
            }
        }
        let blocks = trace.len() as u64;
        let flow_logs = if trace.iter().any(|entry| entry.logged) {
            self.flow_log_records(contact, &Source::flow(self, flow), trace)
        } else {
            Vec::new()
        };
        Ok(FirstSegment {
            run: timer_of(&state),
            items,
            flow_logs,
            blocks,
        })
    }

    /// Changes the contact's stored run with `apply`, under the contact's lock.
    async fn update_run(
        &self,
        contact_id: &str,
        apply: impl Fn(Option<&Timer>) -> TimerEffect + Send + Sync + 'static,
    ) -> Result<Appended, StoreError> {
        self.append(Append {
            contact_id: contact_id.to_string(),
            timer: Some(TimerUpdate {
                name: FLOW_TIMER.to_string(),
                apply: Arc::new(apply),
            }),
            ..Append::default()
        })
        .await
    }

    /// Decides under the contact's lock what `trigger` does to the contact's run, and claims the
    /// run when it goes on here.
    async fn claim_flow(
        &self,
        contact: &Contact,
        trigger: Trigger,
        fresh: Option<FlowState>,
        token: &str,
        now: i64,
    ) -> Result<Claim, StoreError> {
        let claimed = Arc::new(Mutex::new(None));
        let seen = claimed.clone();
        let hook = Arc::new(Mutex::new(None));
        let hook_seen = hook.clone();
        let trigger_is_agent = matches!(trigger, Trigger::AgentLeft);
        let token = token.to_string();
        let apply = move |stored: Option<&Timer>| {
            let previous = stored_state(stored);
            let decided = match (&trigger, previous.clone()) {
                (Trigger::Continue { takes_over, .. }, Some(previous))
                    if previous.finished || (*takes_over && previous.runner.is_none()) =>
                {
                    fresh.clone().map(|mut state| {
                        // Hooks, queue and initiation stay with the contact from one flow to
                        // the next.
                        state.hooks = previous.hooks;
                        state.queue = previous.queue;
                        state.initiation_method = previous.initiation_method;
                        (state, None)
                    })
                }
                (Trigger::CustomerMessage { text }, Some(mut state))
                    if state.runner.is_some() || state.is_ready() =>
                {
                    // Mid-drive or about to start: the run's next customer wait takes the
                    // message.
                    state.pending_message = Some(text.clone());
                    return TimerEffect {
                        timer: Some(timer_of(&state)),
                        ..TimerEffect::default()
                    };
                }
                (Trigger::CustomerMessage { text }, Some(state)) if state.runner.is_none() => {
                    if state.waits_for(WaitEvent::CustomerInput) {
                        Some((state, Some(Outcome::Input(text.clone()))))
                    } else if state.waits_for(WaitEvent::CustomerReturned) {
                        Some((state, Some(Outcome::Event(WaitEvent::CustomerReturned))))
                    } else {
                        None
                    }
                }
                (Trigger::BotLeft, Some(state))
                    if state.runner.is_none()
                        && state.waits_for(WaitEvent::BotParticipantDisconnected) =>
                {
                    Some((
                        state,
                        Some(Outcome::Event(WaitEvent::BotParticipantDisconnected)),
                    ))
                }
                (Trigger::BotLeft | Trigger::AgentLeft, Some(state)) if state.runner.is_none() => {
                    *hook_seen.lock().unwrap_or_else(|p| p.into_inner()) =
                        state.hooks.get("CustomerRemaining").cloned();
                    None
                }
                (Trigger::ViewAnswered { action, data }, Some(mut state))
                    if state.runner.is_none() && state.waits_for(WaitEvent::ViewResult) =>
                {
                    state.shown_view = None;
                    Some((
                        state,
                        Some(Outcome::View {
                            action: action.clone(),
                            data: data.clone(),
                        }),
                    ))
                }
                (Trigger::Due, Some(state)) if !state.finished => match &state.runner {
                    Some(_) if state.lease_until_ms <= now => Some((state, None)),
                    None if state.is_ready() || state.whisper_expired(now) => Some((state, None)),
                    None if state
                        .waiting
                        .as_ref()
                        .and_then(|w| w.until_ms)
                        .is_some_and(|until| until <= now) =>
                    {
                        Some((state, Some(Outcome::TimedOut)))
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some((mut state, outcome)) = decided else {
                return unchanged(stored);
            };
            state.runner = Some(token.clone());
            state.lease_until_ms = now + LEASE_MS;
            let timer = timer_of(&state);
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(Claimed { state, outcome });
            TimerEffect {
                timer: Some(timer),
                ..TimerEffect::default()
            }
        };
        let appended = self.update_run(&contact.id, apply).await?;
        if !matches!(appended, Appended::Written(_)) {
            return Ok(Claim::Nothing);
        }
        let claimed = claimed.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(claimed) = claimed {
            self.timers
                .arm(&contact.id, TimerKind::FlowRun, claimed.state.due_ms());
            return Ok(Claim::Claimed(Box::new(claimed)));
        }
        let hook = hook.lock().unwrap_or_else(|p| p.into_inner()).take();
        Ok(match (hook, trigger_is_agent) {
            (Some(hook), _) => Claim::StartHook(hook),
            (None, true) => Claim::EndChat,
            (None, false) => Claim::Nothing,
        })
    }

    /// Stores the run (with `items`, in one transaction) if this node still holds it. A run
    /// about to wait for the customer, who wrote meanwhile, is kept instead and resumes at once.
    async fn store_flow(
        &self,
        contact_id: &str,
        state: &FlowState,
        token: &str,
        items: Vec<NewItem>,
    ) -> Result<Stored, StoreError> {
        let outcome = Arc::new(Mutex::new(Stored::Lost));
        let seen = outcome.clone();
        let token = token.to_string();
        let next = state.clone();
        let apply = move |stored: Option<&Timer>| {
            let Some(previous) =
                stored_state(stored).filter(|s| s.runner.as_deref() == Some(token.as_str()))
            else {
                return unchanged(stored);
            };
            let mut next = next.clone();
            let releasing = next.runner.is_none();
            // Still holding the run (`runner` set) or letting it go (`None`).
            if !releasing {
                next.runner = Some(token.clone());
            }
            let mut decided = Stored::Held;
            match previous.pending_message {
                Some(text) if releasing && next.wants_customer_messages() => {
                    next.runner = Some(token.clone());
                    next.lease_until_ms = previous.lease_until_ms;
                    decided = Stored::Resume(text);
                }
                Some(text) if !releasing => next.pending_message = Some(text),
                _ => next.pending_message = None,
            }
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = decided;
            TimerEffect {
                timer: Some(timer_of(&next)),
                items: items.clone(),
                participants_left: Vec::new(),
            }
        };
        let appended = self.update_run(contact_id, apply).await?;
        let stored = if matches!(appended, Appended::Written(_)) {
            std::mem::replace(
                &mut *outcome.lock().unwrap_or_else(|p| p.into_inner()),
                Stored::Lost,
            )
        } else {
            Stored::Lost
        };
        match &stored {
            Stored::Lost => {
                tracing::warn!(
                    contact_id,
                    "another node took over this flow run; stopping here"
                )
            }
            Stored::Held => {
                self.timers
                    .arm(contact_id, TimerKind::FlowRun, state.due_ms());
                // Whether the contact watches messages may have changed.
                self.holders.forget_contact(contact_id);
            }
            Stored::Resume(_) => {}
        }
        Ok(stored)
    }

    /// Ends the run: a queued chat starts its customer-queue flow; an inbound flow that ends
    /// otherwise ends the chat, as Connect does.
    async fn finish_flow(
        &self,
        contact: &Contact,
        mut state: FlowState,
        token: &str,
        ended: Ended,
    ) -> Result<(), StoreError> {
        state.finished = true;
        state.runner = None;
        state.waiting = None;
        // Flows that run while the chat waits for an agent: their end does not end the chat.
        let in_queue_flow = matches!(
            state.flow_type.as_str(),
            "CUSTOMER_QUEUE" | "QUEUE_TRANSFER" | "AGENT_TRANSFER"
        );
        // Queued before the run is stored as finished, so a crash in between runs the transfer
        // again rather than leaving the chat in no queue.
        if let (Ended::Queued, Some(queue_id)) = (&ended, &state.queue) {
            self.enqueue_contact(&contact.instance_id, &contact.id, queue_id)
                .await?;
        }
        // The agent gets in (or the customer whisper is stored to follow) before the whisper is
        // stored as over: a crash in between replays the end, which lets the agent in once.
        let whisper = state.whisper.clone();
        if let Some(whisper) = &whisper
            && !matches!(ended, Ended::Disconnected)
        {
            if let Ended::Broken(why) = &ended {
                tracing::warn!(contact_id = contact.id, why, "whisper flow stopped");
            }
            self.whisper_ended(contact, whisper.clone()).await?;
        }
        if let Stored::Lost = self
            .store_flow(&contact.id, &state, token, Vec::new())
            .await?
        {
            return Ok(());
        }
        if whisper.is_some() {
            return Ok(());
        }
        match ended {
            Ended::Queued => {
                let queue_flow = match state.hooks.get("CustomerQueue") {
                    Some(hook) => Some(hook.clone()),
                    None => self
                        .store
                        .list_flows(&contact.instance_id)
                        .await?
                        .into_iter()
                        .find(|f| f.name == DEFAULT_CUSTOMER_QUEUE_FLOW_NAME)
                        .map(|f| f.id),
                };
                tracing::info!(contact_id = contact.id, queue = ?state.queue, "chat queued");
                if let Some(flow_id) = queue_flow {
                    Box::pin(self.drive_flow(
                        &contact.id,
                        Trigger::Continue {
                            flow_id,
                            takes_over: false,
                        },
                    ))
                    .await?;
                }
            }
            Ended::Disconnected => {}
            Ended::EndOfFlow | Ended::Broken(_) if in_queue_flow => {
                if let Ended::Broken(why) = &ended {
                    tracing::warn!(contact_id = contact.id, why, "customer-queue flow stopped");
                }
            }
            Ended::EndOfFlow | Ended::Broken(_) => {
                if let Ended::Broken(why) = &ended {
                    tracing::warn!(
                        contact_id = contact.id,
                        why,
                        "flow stopped; ending the chat"
                    );
                }
                self.end_for_customer(contact).await?;
            }
        }
        Ok(())
    }

    /// Ends the chat on the customer's behalf (the flow disconnected it, or nobody is left to
    /// talk to it).
    async fn end_for_customer(&self, contact: &Contact) -> Result<(), StoreError> {
        let customer = self
            .store
            .list_participants(&contact.id)
            .await?
            .into_iter()
            .find(|p| p.role == ParticipantRole::Customer);
        self.end_chat(&contact.id, customer.as_ref()).await?;
        Ok(())
    }

    /// A transfer moves the chat to `queue_id`: it waits there for an agent while the transfer
    /// flow runs (its working queue is the new queue), then whatever that flow decides.
    pub async fn transfer_to_queue(
        &self,
        contact: &Contact,
        queue_id: &str,
        flow_id: &str,
    ) -> Result<(), StoreError> {
        let queue = queue_id.to_string();
        let apply = move |stored: Option<&Timer>| {
            let Some(mut state) = stored_state(stored) else {
                return unchanged(stored);
            };
            state.queue = Some(queue.clone());
            state.initiation_method = "TRANSFER".to_string();
            TimerEffect {
                timer: Some(timer_of(&state)),
                ..TimerEffect::default()
            }
        };
        self.update_run(&contact.id, apply).await?;
        self.enqueue_contact(&contact.instance_id, &contact.id, queue_id)
            .await?;
        self.run_flow(
            &contact.id,
            Trigger::Continue {
                flow_id: flow_id.to_string(),
                takes_over: true,
            },
        );
        Ok(())
    }

    /// Stores `flow_id` as the contact's run, ready to play as `whisper`, in place of the run
    /// there (an agent took the chat, so its queue flow ends; its hooks stay). Any node's timer
    /// sweep starts it, even if this one stops now. `false` when the flow cannot run.
    pub(crate) async fn queue_whisper(
        &self,
        contact: &Contact,
        flow_id: &str,
        whisper: Whisper,
    ) -> Result<bool, StoreError> {
        let Some((flow, document)) = self.flow_document(contact, flow_id).await? else {
            return Ok(false);
        };
        let now = self.clock.now_ms();
        let apply = move |stored: Option<&Timer>| {
            let previous = stored_state(stored);
            let initiation = previous
                .as_ref()
                .map_or(String::new(), |p| p.initiation_method.clone());
            let mut state =
                FlowState::new(&flow.id, &document.start_action, &initiation).ready(now);
            state.flow_type = flow.flow_type.clone();
            state.whisper = Some(whisper.clone());
            if let Some(previous) = previous {
                state.hooks = previous.hooks;
                state.queue = previous.queue;
            }
            TimerEffect {
                timer: Some(timer_of(&state)),
                ..TimerEffect::default()
            }
        };
        self.update_run(&contact.id, apply).await?;
        self.timers.arm(&contact.id, TimerKind::FlowRun, Some(now));
        self.holders.forget_contact(&contact.id);
        Ok(true)
    }

    /// Stops the contact's flow run where it is (an agent took the chat, so its queue flow
    /// ends), keeping its hooks for when the agent leaves. A node driving the run loses it at
    /// its next store.
    pub async fn stop_flow(&self, contact_id: &str) -> Result<(), StoreError> {
        let apply = |stored: Option<&Timer>| {
            let Some(mut state) = stored_state(stored) else {
                return unchanged(stored);
            };
            state.finished = true;
            state.runner = None;
            state.waiting = None;
            state.pending_message = None;
            TimerEffect {
                timer: Some(timer_of(&state)),
                ..TimerEffect::default()
            }
        };
        self.update_run(contact_id, apply).await?;
        self.timers.arm(contact_id, TimerKind::FlowRun, None);
        self.holders.forget_contact(contact_id);
        Ok(())
    }

    /// The flow or module the run is in, parsed; `None` when it is gone or cannot be read.
    async fn running_document(
        &self,
        contact: &Contact,
        state: &FlowState,
    ) -> Result<Option<(Source, FlowDocument)>, StoreError> {
        if state.flow_type == MODULE_FLOW_TYPE {
            let module = self.module_document(contact, &state.flow_id).await?;
            return Ok(module.map(|(module, document)| {
                let source = Source {
                    arn: module_arn(self, &module),
                    name: module.name,
                };
                (source, document)
            }));
        }
        let flow = self.flow_document(contact, &state.flow_id).await?;
        Ok(flow.map(|(flow, document)| (Source::flow(self, &flow), document)))
    }

    /// A flow module of the contact's instance by id or ARN, parsed; `None` when there is none
    /// or it cannot be read.
    async fn module_document(
        &self,
        contact: &Contact,
        module_ref: &str,
    ) -> Result<Option<(FlowModule, FlowDocument)>, StoreError> {
        let id = id_from_arn(module_ref);
        let Some(module) = self.store.get_flow_module(&contact.instance_id, id).await? else {
            return Ok(None);
        };
        let Some(document) = validate(&module.content).document else {
            return Ok(None);
        };
        Ok(Some((module, document)))
    }

    /// A flow of the contact's instance by id or ARN, parsed; `None` when there is none or it
    /// cannot be read.
    pub(crate) async fn flow_document(
        &self,
        contact: &Contact,
        flow_ref: &str,
    ) -> Result<Option<(Flow, FlowDocument)>, StoreError> {
        let id = id_from_arn(flow_ref);
        let id = id.split_once(':').map_or(id, |(id, _)| id);
        let Some(flow) = self.store.get_flow(&contact.instance_id, id).await? else {
            return Ok(None);
        };
        let Some(document) = validate(&flow.content).document else {
            return Ok(None);
        };
        Ok(Some((flow, document)))
    }

    /// The hours of operation a CheckHoursOfOperation block names, or else those of the
    /// working queue.
    async fn hours_for(
        &self,
        contact: &Contact,
        hours_ref: Option<&str>,
        state: &FlowState,
    ) -> Result<Option<HoursOfOperation>, StoreError> {
        let hours_id = match hours_ref {
            Some(hours_ref) => Some(id_from_arn(hours_ref).to_string()),
            None => match state.queue.as_deref() {
                Some(queue_ref) => self
                    .store
                    .get_queue(&contact.instance_id, id_from_arn(queue_ref))
                    .await?
                    .and_then(|queue| queue.hours_of_operation_id),
                None => None,
            },
        };
        let Some(hours_id) = hours_id else {
            return Ok(None);
        };
        self.store
            .get_hours_of_operation(&contact.instance_id, &hours_id)
            .await
    }

    async fn find_queue(
        &self,
        contact: &Contact,
        queue_ref: Option<&str>,
    ) -> Result<Option<(String, String)>, StoreError> {
        let Some(queue_ref) = queue_ref else {
            return Ok(None);
        };
        let id = id_from_arn(queue_ref);
        let found = self
            .store
            .list_queues(&contact.instance_id)
            .await?
            .into_iter()
            .find(|(queue_id, _)| queue_id == id);
        if found.is_some() {
            return Ok(found);
        }
        // An agent (UpdateContactTargetQueue `AgentId`) whose agent queue was never used yet.
        let Some(user) = self.store.get_user(&contact.instance_id, id).await? else {
            return Ok(None);
        };
        let queue_id = self.agent_queue(&user).await?;
        Ok(self
            .store
            .get_queue(&contact.instance_id, &queue_id)
            .await?
            .map(|queue| (queue.id, queue.name)))
    }

    /// Counts the blocks a drive passed through and adds the logged ones to the contact's flow
    /// logs.
    async fn record_blocks(
        &self,
        contact: &Contact,
        flow: &Source,
        trace: &mut Vec<TraceEntry>,
    ) -> Result<(), StoreError> {
        self.metrics
            .flow_blocks
            .fetch_add(trace.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let records = self.flow_log_records(contact, flow, std::mem::take(trace));
        if records.is_empty() {
            return Ok(());
        }
        self.store.append_flow_logs(&contact.id, &records).await
    }

    /// The flow log records of the logged blocks among `trace`.
    fn flow_log_records(
        &self,
        contact: &Contact,
        flow: &Source,
        trace: Vec<TraceEntry>,
    ) -> Vec<FlowLogRecord> {
        let mut records = Vec::new();
        for entry in trace {
            tracing::debug!(
                contact_id = contact.id,
                flow_id = entry.flow_id,
                action = entry.action,
                action_type = entry.action_type,
                results = entry.results,
                "flow block"
            );
            if entry.logged {
                records.push(FlowLogRecord {
                    at_ms: entry.at_ms,
                    record: self.flow_log_record(contact, flow, entry).to_string(),
                });
            }
        }
        records
    }

    /// A flow log entry as Connect writes them to CloudWatch, plus where the run went.
    fn flow_log_record(&self, contact: &Contact, flow: &Source, entry: TraceEntry) -> Value {
        let mut record = json!({
            "Timestamp": format_iso_millis(entry.at_ms),
            "ContactId": contact.id,
            "ContactFlowId": flow.arn,
            "ContactFlowName": flow.name,
            "ContactFlowModuleType": entry.action_type,
            "Identifier": entry.action,
            "Parameters": entry.parameters,
            "Results": entry.results,
        });
        if let Some(external) = entry.external_results {
            record["ExternalResults"] = external;
        }
        if let Some(next) = entry.next_action {
            record["NextAction"] = Value::String(next);
        }
        record
    }

    async fn custom_bot_present(&self, contact: &Contact) -> Result<bool, StoreError> {
        let participants = self.store.list_participants(&contact.id).await?;
        Ok(participants
            .iter()
            .any(|p| p.role == ParticipantRole::CustomBot && !p.has_left()))
    }

    async fn surroundings(&self, contact: &Contact) -> Result<Surroundings, StoreError> {
        let custom_bot_present = self.custom_bot_present(contact).await?;
        let initial_message = self
            .store
            .items_after(&contact.id, 0, 4)
            .await?
            .into_iter()
            .find(|item| item.item.item_type == ItemType::Message)
            .and_then(|item| item.item.content);
        let instance_arn = self.config.instance_arn(&contact.instance_id);
        let queues = self.store.list_queues(&contact.instance_id).await?;
        Ok(Surroundings {
            queue_arn_prefix: instance_arn.clone(),
            instance_arn,
            region: self.config.region.clone(),
            queues,
            initial_message,
            custom_bot_present,
        })
    }
}

/// A random number for DistributeByPercentage.
fn rand_u32() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}
