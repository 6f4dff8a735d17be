//! Liaison's durable storage.
//!
//! One narrow [`Store`] trait describes everything the server persists. Each mutating method is
//! one transaction, and returns only after it committed: an HTTP 200 is never sent for a write
//! that a crash could lose. Chat items get their per-contact sequence number inside the same
//! transaction that writes them, so the log has no gaps and sockets can catch up from it.

mod blobs;
mod postgres;
mod sql;
mod sqlite;
mod sqlite_writer;

use async_trait::async_trait;
use liaison_core::idle::{CustomParticipantRefusal, TimerConfig};
use liaison_core::organisation::{
    AgentStatus, HoursOfOperation, IdentityInfo, MediaConcurrency, Queue, RoutingProfile,
    RoutingProfileQueue, SecurityProfile, User,
};
use liaison_core::transcript::{Anchor, ScanDirection};
use liaison_core::widget::{Widget, WidgetKey};
use liaison_core::{
    ChatItem, Contact, Flow, FlowModule, Instance, NewItem, Participant, ParticipantRole,
    TokenRecord, View,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use blobs::{Blobs, FileBlobs, PostgresBlobs};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A storage failure; the server answers it with the API's internal error.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An idempotency key: a client token within the scope it was sent in.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientTokenKey {
    /// E.g. `StartChatContact:<instance id>` or `SendMessage:<participant id>`.
    pub scope: String,
    pub token: String,
    /// A digest of the request's other members, to tell a retry from a reuse.
    pub request_hash: String,
}

/// What a previous request with the same client token produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub request_hash: String,
    /// The operation's own record of its result (a contact id, an item id, …).
    pub result: String,
}

/// Everything StartChatContact writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewChat {
    pub contact: Contact,
    pub customer: Participant,
    pub customer_token: TokenRecord,
    pub items: Vec<NewItem>,
    /// Recorded with the contact id as its result.
    pub client_token: Option<ClientTokenKey>,
    /// Timers the chat starts with (its flow run, ready to go), so a crash right after the
    /// commit loses nothing.
    pub timers: Vec<Timer>,
    /// Flow log records of the blocks the flow ran before the chat was stored.
    pub flow_logs: Vec<FlowLogRecord>,
}

/// Result of [`Store::create_chat`].
#[derive(Debug, Clone, PartialEq)]
pub enum CreateChat {
    Created(Vec<ChatItem>),
    /// The client token was seen before; nothing was written.
    Replayed(Replay),
}

/// An append to a contact's event log, with the state changes that go with it.
#[derive(Debug, Clone, Default)]
pub struct Append {
    pub contact_id: String,
    pub items: Vec<NewItem>,
    /// Marks this participant as gone at the given time.
    pub participant_left: Option<(String, i64)>,
    /// Marks this (custom) participant as connected at the given time.
    pub participant_connected: Option<(String, i64)>,
    /// Ends the contact at the given time; its timers go with it.
    pub end_contact_at: Option<i64>,
    /// Recorded with the first item's id as its result.
    pub client_token: Option<ClientTokenKey>,
    /// Rewrites one of the contact's timers in the same transaction.
    pub timer: Option<TimerUpdate>,
}

/// One entry of a contact's flow logs: a block a flow ran, as the JSON record the API returns.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowLogRecord {
    pub at_ms: i64,
    pub record: String,
}

/// A stored timer of a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    /// What the timer is for; one timer per name and contact.
    pub name: String,
    /// When it next needs attention; `None` while nothing is running.
    pub due_ms: Option<i64>,
    /// The timer's own state, as its owner serialized it.
    pub data: String,
    /// Whether the contact's messages concern it (the contact's `watches_messages` follows).
    pub wants_messages: bool,
}

/// What a timer update decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimerEffect {
    /// The timer to keep (`None` deletes it).
    pub timer: Option<Timer>,
    /// Items to append after the append's own items.
    pub items: Vec<NewItem>,
    /// Further participants who leave, with the time.
    pub participants_left: Vec<(String, i64)>,
}

/// A read-modify-write of the timer `name`: `apply` gets the stored timer (if any) while the
/// contact is locked, so concurrent updates on any node see each other's results, and a timer
/// that fires does so once.
#[derive(Clone)]
pub struct TimerUpdate {
    pub name: String,
    pub apply: TimerFn,
}

/// Decides a timer's next state from its stored one.
pub type TimerFn = Arc<dyn Fn(Option<&Timer>) -> TimerEffect + Send + Sync>;

impl std::fmt::Debug for TimerUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerUpdate")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Everything adding a participant (CreateParticipant, an agent taking a chat) writes, in one
/// transaction.
#[derive(Debug, Clone)]
pub struct NewParticipant {
    pub participant: Participant,
    pub token: TokenRecord,
    /// Recorded with the participant id as its result.
    pub client_token: Option<ClientTokenKey>,
    /// Custom participants added at or before this time that never connected have lost their
    /// place in the contact (a new custom participant's refusal rules look at the others).
    pub connect_cutoff_ms: i64,
}

/// Result of [`Store::add_participant`].
#[derive(Debug, Clone, PartialEq)]
pub enum AddedParticipant {
    Added,
    Replayed(Replay),
    ContactClosed,
    /// The contact's participants forbid it; nothing was written.
    Refused(CustomParticipantRefusal),
}

/// What a bearer token unlocks.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenHolder {
    pub token: TokenRecord,
    pub participant: Participant,
    pub contact: Contact,
}

/// Result of [`Store::append`].
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    Written(Vec<ChatItem>),
    Replayed(Replay),
    /// The contact has ended (or does not exist); nothing was written.
    ContactClosed,
}

/// Result of [`Store::delete_contact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedContact {
    Deleted,
    /// The chat is still going on; it is deleted only once it ended.
    StillOpen,
    NotFound,
}

/// Result of [`Store::create_attachment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartedAttachment {
    Started,
    /// The participant started an attachment with the same ClientToken before: that one.
    Replayed(Box<liaison_core::attachment::Attachment>),
    /// The contact has as many attachments as it may.
    QuotaReached,
    /// The contact has ended (or does not exist).
    ContactClosed,
}

/// Result of [`Store::merge_attributes`].
#[derive(Debug, Clone, PartialEq)]
pub enum MergedAttributes {
    Merged,
    /// The merged map would exceed the byte limit; nothing was written.
    TooLarge {
        total_bytes: usize,
    },
    NoSuchContact,
}

/// Result of changing the queues a routing profile serves.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueChange {
    Applied,
    NoSuchProfile,
    /// Nothing was written: the profile already serves this (queue, channel) pair when adding,
    /// or does not serve it when updating.
    Refused {
        queue_id: String,
        channel: String,
    },
}

/// A cross-node wake-up: another node wrote to a contact's log.
#[derive(Debug, Clone, PartialEq)]
pub enum Hint {
    /// The contact's log now reaches `seq`.
    Reached { contact_id: String, seq: i64 },
    /// Hints may have been missed (the listening connection was re-established): every local
    /// socket should look for new items.
    Resync,
}

/// A contact waiting in a queue for an agent: routing's durable record of it, from the flow's
/// TransferContactToQueue until an agent accepts it or it leaves the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedContact {
    pub contact_id: String,
    pub instance_id: String,
    pub queue_id: String,
    /// When it entered the queue: its place among the queue's contacts.
    pub enqueued_ms: i64,
    /// Its open offer, if any: the user it is offered to and the offer's deadline.
    pub offer: Option<(String, i64)>,
    /// Users who rejected it since their status last changed, sorted.
    pub rejected_by: Vec<String>,
}

/// How an offer closed without being accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferClosed {
    /// Routing took it back (the agent left Available, or was removed).
    Withdrawn,
    /// The agent declined it: the contact is not offered to them again until their status
    /// changes.
    Rejected,
    /// Its deadline passed: the agent is in the missed state until their status changes.
    Missed,
}

/// Where a contact an agent took stands for that agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentContactState {
    /// The agent is in the chat.
    Connected,
    /// The chat ended for the agent, who has not cleared after-contact work yet.
    AfterContactWork,
}

/// A contact an agent accepted and has not cleared yet; it takes one of their chat slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentContact {
    pub contact_id: String,
    pub user_id: String,
    pub instance_id: String,
    /// The agent's `AGENT` participant in the chat.
    pub participant_id: String,
    /// The queue the contact was accepted from.
    pub queue_id: String,
    pub state: AgentContactState,
    pub accepted_ms: i64,
    /// When the chat ended for the agent (after-contact work began).
    pub ended_ms: Option<i64>,
    /// The flow that guides the agent's after-contact work: the contact's `DisconnectAgentUI`
    /// hook when the agent took it.
    pub after_contact_flow_id: Option<String>,
    /// The after-contact-work guide running for the agent (a contact related to this one).
    pub guide_contact_id: Option<String>,
}

/// What routing needs to know of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRouting {
    pub user_id: String,
    pub instance_id: String,
    pub routing_profile_id: String,
    /// The user's current status is of type `ROUTABLE`.
    pub available: bool,
    /// An offer to the user timed out since their status last changed.
    pub missed: bool,
    /// Contacts the user accepted and has not cleared (connected or in after-contact work).
    pub open_contacts: u32,
    /// When the user last became idle: their last status change or last cleared contact,
    /// whichever is later (0 when neither happened).
    pub idle_since_ms: i64,
}

/// A signed-in agent workspace: its bearer token's hash and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSession {
    pub token_hash: String,
    pub instance_id: String,
    pub user_id: String,
    pub expires_ms: i64,
}

/// Total size of an attribute map as Connect counts it: the UTF-8 bytes of keys and values.
pub fn attributes_size(attributes: &BTreeMap<String, String>) -> usize {
    attributes.iter().map(|(k, v)| k.len() + v.len()).sum()
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn insert_instance(&self, instance: &Instance) -> Result<()>;
    async fn list_instances(&self) -> Result<Vec<Instance>>;
    async fn get_instance(&self, id: &str) -> Result<Option<Instance>>;

    async fn insert_flow(&self, flow: &Flow) -> Result<()>;
    /// Flows of an instance, ordered by name.
    async fn list_flows(&self, instance_id: &str) -> Result<Vec<Flow>>;
    async fn get_flow(&self, instance_id: &str, flow_id: &str) -> Result<Option<Flow>>;
    /// Replaces a flow's fields (found by instance and id); `false` when there is no such flow.
    async fn update_flow(&self, flow: &Flow) -> Result<bool>;
    /// `false` when there was no such flow.
    async fn delete_flow(&self, instance_id: &str, flow_id: &str) -> Result<bool>;

    /// Adds a flow module; `false` when the instance has a module of that name.
    async fn insert_flow_module(&self, module: &FlowModule) -> Result<bool>;
    /// The instance's flow modules, by name.
    async fn list_flow_modules(&self, instance_id: &str) -> Result<Vec<FlowModule>>;
    async fn get_flow_module(
        &self,
        instance_id: &str,
        module_id: &str,
    ) -> Result<Option<FlowModule>>;

    /// Adds a customer-managed view; `false`, writing nothing, when the instance has a view of
    /// that name.
    async fn insert_view(&self, view: &View) -> Result<bool>;
    async fn get_view(&self, instance_id: &str, view_id: &str) -> Result<Option<View>>;
    /// The instance's customer-managed views, by name.
    async fn list_views(&self, instance_id: &str) -> Result<Vec<View>>;
    /// Replaces a view's fields (found by instance and id; its creation time stays); `false`
    /// when there is no such view. A name another view of the instance has is a store error.
    async fn update_view(&self, view: &View) -> Result<bool>;

    /// Records an attachment being started, unless its contact is closed or has
    /// `max_per_contact` attachments already ([`StartedAttachment`]).
    async fn create_attachment(
        &self,
        attachment: &liaison_core::attachment::Attachment,
        max_per_contact: i64,
    ) -> Result<StartedAttachment>;
    async fn get_attachment(
        &self,
        attachment_id: &str,
    ) -> Result<Option<liaison_core::attachment::Attachment>>;
    /// Gives a started attachment a new upload token (a retried start); `false` once its
    /// bytes have arrived.
    async fn renew_attachment_upload(
        &self,
        attachment_id: &str,
        upload_token_hash: &str,
        upload_expires_ms: i64,
    ) -> Result<bool>;
    /// Moves the attachment from status `from` to `to`; `false` when it was not at `from`
    /// (another request moved it first).
    async fn set_attachment_status(
        &self,
        attachment_id: &str,
        from: liaison_core::attachment::AttachmentStatus,
        to: liaison_core::attachment::AttachmentStatus,
    ) -> Result<bool>;
    /// Records a download URL's token (hashed) until `expires_ms`, dropping those expired by
    /// `now_ms`.
    async fn add_attachment_download(
        &self,
        token_hash: &str,
        attachment_id: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<()>;
    /// The attachment a download token is for and when it expires.
    async fn attachment_download(&self, token_hash: &str) -> Result<Option<(String, i64)>>;
    /// Where attachment bytes are kept.
    fn blobs(&self) -> &dyn Blobs;
    /// Deletes an ended contact and everything of it: its log, participants, tokens, timers,
    /// flow logs, routing records and attachments, files included.
    async fn delete_contact(&self, contact_id: &str) -> Result<DeletedContact>;

    /// `false` when the instance has a widget of that name.
    async fn create_widget(&self, widget: &Widget) -> Result<bool>;
    /// A widget by id, of whichever instance (browsers name only the widget).
    async fn get_widget(&self, widget_id: &str) -> Result<Option<Widget>>;
    /// The instance's widgets, by name.
    async fn list_widgets(&self, instance_id: &str) -> Result<Vec<Widget>>;
    /// Replaces a widget's name and configuration (found by instance and id); `false` when there
    /// is no such widget. A name another widget of the instance has is a store error.
    async fn update_widget(&self, widget: &Widget) -> Result<bool>;
    /// Deletes the widget and its keys; `false` when there is no such widget.
    async fn delete_widget(&self, instance_id: &str, widget_id: &str) -> Result<bool>;
    /// Adds a security key unless the widget has [`liaison_core::widget::MAX_ACTIVE_KEYS`]
    /// already, or does not exist (`false`).
    async fn add_widget_key(&self, key: &WidgetKey) -> Result<bool>;
    /// The widget's security keys, oldest first.
    async fn widget_keys(&self, widget_id: &str) -> Result<Vec<WidgetKey>>;
    /// `false` when the widget has no such key.
    async fn delete_widget_key(&self, widget_id: &str, key_id: &str) -> Result<bool>;
    /// `false` when there was no such view.
    async fn delete_view(&self, instance_id: &str, view_id: &str) -> Result<bool>;

    /// `(id, name)` of an instance's queues, by name.
    async fn list_queues(&self, instance_id: &str) -> Result<Vec<(String, String)>>;

    // The organisation: hours of operation, queues, routing profiles, security profiles, agent
    // statuses and users. Every `create_*` returns `false`, writing nothing, when the instance
    // has one of that name already; every `set_*` returns `false` when there is no such record.

    async fn create_hours_of_operation(&self, hours: &HoursOfOperation) -> Result<bool>;
    async fn get_hours_of_operation(
        &self,
        instance_id: &str,
        hours_id: &str,
    ) -> Result<Option<HoursOfOperation>>;
    /// The instance's hours of operation, by name.
    async fn list_hours_of_operations(&self, instance_id: &str) -> Result<Vec<HoursOfOperation>>;

    async fn create_queue(&self, queue: &Queue) -> Result<bool>;
    async fn get_queue(&self, instance_id: &str, queue_id: &str) -> Result<Option<Queue>>;
    /// The instance's queues with every detail, by name.
    async fn list_queue_details(&self, instance_id: &str) -> Result<Vec<Queue>>;
    async fn set_queue_status(
        &self,
        instance_id: &str,
        queue_id: &str,
        status: &str,
        now_ms: i64,
    ) -> Result<bool>;
    /// Gives the instance's queues that have no hours of operation (queues from before hours
    /// existed) these; how many it changed.
    async fn set_missing_queue_hours(&self, instance_id: &str, hours_id: &str) -> Result<u64>;

    /// Adds a routing profile and the queues it serves, in one transaction.
    async fn create_routing_profile(
        &self,
        profile: &RoutingProfile,
        queues: &[RoutingProfileQueue],
    ) -> Result<bool>;
    async fn get_routing_profile(
        &self,
        instance_id: &str,
        profile_id: &str,
    ) -> Result<Option<RoutingProfile>>;
    /// The instance's routing profiles, by name.
    async fn list_routing_profiles(&self, instance_id: &str) -> Result<Vec<RoutingProfile>>;
    /// The queues a routing profile serves, by priority, then delay.
    async fn routing_profile_queues(
        &self,
        instance_id: &str,
        profile_id: &str,
    ) -> Result<Vec<RoutingProfileQueue>>;
    /// Adds queues to a routing profile; refused, writing nothing, if one of the (queue,
    /// channel) pairs is served already.
    async fn associate_routing_profile_queues(
        &self,
        instance_id: &str,
        profile_id: &str,
        queues: &[RoutingProfileQueue],
        now_ms: i64,
    ) -> Result<QueueChange>;
    /// Changes the priority and delay of queues a routing profile serves; refused, writing
    /// nothing, if one of the (queue, channel) pairs is not served.
    async fn update_routing_profile_queues(
        &self,
        instance_id: &str,
        profile_id: &str,
        queues: &[RoutingProfileQueue],
        now_ms: i64,
    ) -> Result<QueueChange>;
    async fn set_routing_profile_concurrency(
        &self,
        instance_id: &str,
        profile_id: &str,
        concurrencies: &[MediaConcurrency],
        now_ms: i64,
    ) -> Result<bool>;
    /// How many users have the routing profile.
    async fn count_routing_profile_users(&self, instance_id: &str, profile_id: &str)
    -> Result<i64>;

    async fn create_security_profile(&self, profile: &SecurityProfile) -> Result<bool>;
    /// The instance's security profiles, by name.
    async fn list_security_profiles(&self, instance_id: &str) -> Result<Vec<SecurityProfile>>;

    async fn create_agent_status(&self, status: &AgentStatus) -> Result<bool>;
    async fn get_agent_status(
        &self,
        instance_id: &str,
        status_id: &str,
    ) -> Result<Option<AgentStatus>>;
    /// The instance's agent statuses in display order (statuses without one last), then by name.
    async fn list_agent_statuses(&self, instance_id: &str) -> Result<Vec<AgentStatus>>;

    /// Adds a user (`false`: the username is taken) with the Argon2id hash of its password.
    async fn create_user(&self, user: &User, password_hash: Option<&str>) -> Result<bool>;
    async fn get_user(&self, instance_id: &str, user_id: &str) -> Result<Option<User>>;
    /// The instance's users, by username.
    async fn list_users(&self, instance_id: &str) -> Result<Vec<User>>;
    async fn set_user_routing_profile(
        &self,
        instance_id: &str,
        user_id: &str,
        profile_id: &str,
        now_ms: i64,
    ) -> Result<bool>;
    async fn set_user_identity_info(
        &self,
        instance_id: &str,
        user_id: &str,
        identity_info: &IdentityInfo,
        now_ms: i64,
    ) -> Result<bool>;
    /// Puts the user in an agent status as of `since_ms`. A status change also ends the user's
    /// missed state and lifts their rejections of queued contacts.
    async fn set_user_status(
        &self,
        instance_id: &str,
        user_id: &str,
        agent_status_id: &str,
        since_ms: i64,
    ) -> Result<bool>;
    /// `false` when there was no such user.
    async fn delete_user(&self, instance_id: &str, user_id: &str) -> Result<bool>;
    /// The user `username` names if `password` is theirs. The hash check runs on a blocking
    /// thread, and costs the same when there is no such user, so the time taken does not tell
    /// whether the username exists.
    async fn verify_user_password(
        &self,
        instance_id: &str,
        username: &str,
        password: &str,
    ) -> Result<Option<User>>;

    /// Puts a contact in a queue as of `enqueued_ms`. A contact already queued in another queue
    /// moves to the new one at the new time, losing its open offer and its rejections; queued
    /// again in the queue it waits in, it keeps its place, offer and rejections.
    async fn enqueue_contact(
        &self,
        instance_id: &str,
        contact_id: &str,
        queue_id: &str,
        enqueued_ms: i64,
    ) -> Result<()>;
    /// Takes a contact out of its queue without an agent (the customer left, a flow moved it);
    /// what was removed, if it was queued.
    async fn dequeue_contact(&self, contact_id: &str) -> Result<Option<QueuedContact>>;
    async fn queued_contact(&self, contact_id: &str) -> Result<Option<QueuedContact>>;
    /// The instance's queued contacts, oldest first.
    async fn queued_contacts(&self, instance_id: &str) -> Result<Vec<QueuedContact>>;
    /// Contacts offered to a user and not answered yet, oldest offer first.
    async fn offers_to(&self, user_id: &str) -> Result<Vec<QueuedContact>>;
    /// Opens an offer of a queued contact to a user until `deadline_ms`; `false`, writing
    /// nothing, when the contact is not queued or already has an open offer.
    async fn open_offer(&self, contact_id: &str, user_id: &str, deadline_ms: i64) -> Result<bool>;
    /// Closes the contact's open offer to `user_id` without a taker (see [`OfferClosed`]); with
    /// `deadline_ms`, only the offer with that deadline (a router closes its own offers, never
    /// a newer one of the same contact to the same agent). `false`, writing nothing, when there
    /// is no such open offer.
    async fn close_offer(
        &self,
        contact_id: &str,
        user_id: &str,
        how: OfferClosed,
        deadline_ms: Option<i64>,
    ) -> Result<bool>;
    /// The user accepts the contact's open offer: in one transaction the contact leaves its
    /// queue and becomes the user's connected [`AgentContact`] with `participant_id` and the
    /// flow that will guide their after-contact work, if any. `None`, writing nothing, when the
    /// contact has no open offer to the user (already answered, withdrawn or timed out).
    async fn take_offer(
        &self,
        contact_id: &str,
        user_id: &str,
        participant_id: &str,
        after_contact_flow_id: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<AgentContact>>;
    /// The user's contacts not cleared yet, oldest first.
    async fn agent_contacts(&self, user_id: &str) -> Result<Vec<AgentContact>>;
    /// The agents a contact has or had and has not cleared, oldest first.
    async fn contact_agents(&self, contact_id: &str) -> Result<Vec<AgentContact>>;
    /// The chat ended for the user: their connected contact goes to after-contact work as of
    /// `now_ms`. With an after-contact flow its guide is due: the record of the guide running
    /// so far is cleared (a contact in after-contact work with a flow and no guide awaits its
    /// guide). `false` when it was not connected.
    async fn end_agent_contact(&self, contact_id: &str, user_id: &str, now_ms: i64)
    -> Result<bool>;
    /// Records the guide running for the user's contact (connected or in after-contact work);
    /// `false` when they have no such contact or a guide is recorded already (two nodes
    /// starting the same guide: one wins).
    async fn set_agent_guide(
        &self,
        contact_id: &str,
        user_id: &str,
        guide_contact_id: &str,
    ) -> Result<bool>;
    /// One of a contact's stored timers (its flow run, its idle session).
    async fn get_timer(&self, contact_id: &str, name: &str) -> Result<Option<Timer>>;
    /// The user clears a contact (connected or in after-contact work): it no longer takes a
    /// slot, and their idle time starts at `now_ms`. `false` when they had no such contact.
    async fn clear_agent_contact(
        &self,
        contact_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<bool>;
    /// Routing's view of one user.
    async fn agent_routing(&self, instance_id: &str, user_id: &str)
    -> Result<Option<AgentRouting>>;
    /// Routing's view of every user of the instance, by user id.
    async fn agents_routing(&self, instance_id: &str) -> Result<Vec<AgentRouting>>;

    /// Holds the lease `name` for `holder` until `until_ms` if it is free, expired (at or
    /// before `now_ms`) or already the holder's; `false` when another holder has it. One node of
    /// a cluster does a job (routing) while it holds the job's lease.
    async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool>;

    /// Stores a new session; sessions expired by `now_ms` go in the same transaction, so they do
    /// not pile up.
    async fn create_agent_session(&self, session: &AgentSession, now_ms: i64) -> Result<()>;
    /// The session with that token hash, if it has not expired by `now_ms`.
    async fn agent_session(&self, token_hash: &str, now_ms: i64) -> Result<Option<AgentSession>>;
    async fn delete_agent_session(&self, token_hash: &str) -> Result<()>;

    /// Lets the instance's flows invoke a function (idempotent).
    async fn associate_function(
        &self,
        instance_id: &str,
        function_arn: &str,
        now_ms: i64,
    ) -> Result<()>;
    /// `false` when the function was not associated.
    async fn disassociate_function(&self, instance_id: &str, function_arn: &str) -> Result<bool>;
    /// The instance's associated function ARNs, sorted.
    async fn list_functions(&self, instance_id: &str) -> Result<Vec<String>>;

    /// Adds records to the end of a contact's flow logs.
    async fn append_flow_logs(&self, contact_id: &str, records: &[FlowLogRecord]) -> Result<()>;
    /// A contact's flow logs, oldest first.
    async fn flow_logs(&self, contact_id: &str) -> Result<Vec<FlowLogRecord>>;

    async fn create_chat(&self, chat: NewChat) -> Result<CreateChat>;
    /// Adds a participant to an open contact; a custom participant only when the contact's
    /// participants allow it (checked while the contact is locked, so two nodes cannot both add
    /// one).
    async fn add_participant(&self, new: NewParticipant) -> Result<AddedParticipant>;
    /// Replaces an open contact's timer configuration; `false` when it is not open.
    async fn set_timer_config(&self, contact_id: &str, config: &TimerConfig) -> Result<bool>;
    async fn get_contact(&self, id: &str) -> Result<Option<Contact>>;
    async fn list_participants(&self, contact_id: &str) -> Result<Vec<Participant>>;

    /// Stores tokens in one transaction.
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> Result<()>;
    /// The token with that hash, with its participant and contact as they are now.
    async fn token_holder(&self, hash: &str) -> Result<Option<TokenHolder>>;

    /// Appends items with the next sequence numbers, applying the state changes atomically.
    async fn append(&self, append: Append) -> Result<Appended>;
    /// Merges `updates` into the contact's attributes unless the result exceeds `max_bytes`.
    /// Applies contact data (and the customer id, when given) to a contact; `false` when there
    /// is no such contact.
    async fn update_contact_data(
        &self,
        contact_id: &str,
        update: &liaison_core::ContactData,
        customer_id: Option<&str>,
    ) -> Result<bool>;
    async fn merge_attributes(
        &self,
        contact_id: &str,
        updates: &BTreeMap<String, String>,
        max_bytes: usize,
    ) -> Result<MergedAttributes>;

    /// Items with `seq > after_seq`, oldest first, at most `limit`.
    async fn items_after(
        &self,
        contact_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChatItem>>;
    async fn find_item(&self, contact_id: &str, item_id: &str) -> Result<Option<ChatItem>>;
    /// The sequence number a transcript scan starts at, if the anchor names an item `viewer`
    /// sees.
    async fn transcript_anchor(
        &self,
        contact_id: &str,
        anchor: &Anchor,
        direction: ScanDirection,
        viewer: ParticipantRole,
    ) -> Result<Option<i64>>;
    /// Transcript items `viewer` sees, in scan order from `from_seq` (inclusive; `None` = the
    /// end the scan starts from), at most `limit`.
    async fn transcript_page(
        &self,
        contact_id: &str,
        direction: ScanDirection,
        from_seq: Option<i64>,
        limit: u32,
        viewer: ParticipantRole,
    ) -> Result<Vec<ChatItem>>;

    /// `(contact id, expires_ms)` of every open contact: the deadlines to re-arm after a restart.
    async fn open_contact_deadlines(&self) -> Result<Vec<(String, i64)>>;
    /// The last sequence number of each of these contacts (unknown ids are left out).
    async fn last_seqs(&self, contact_ids: &[String]) -> Result<Vec<(String, i64)>>;
    /// How many contacts are open (a gauge for monitoring).
    async fn count_open_contacts(&self) -> Result<i64>;
    /// Open contacts whose deadline is at or before `now_ms`, oldest first, at most `limit`:
    /// what any node of a cluster ends, whichever node armed them.
    async fn due_contacts(&self, now_ms: i64, limit: u32) -> Result<Vec<String>>;
    /// Timers due at or before `now_ms` that no node holds, oldest first, at most `limit`,
    /// each held for this caller until `lease_until_ms`: `(contact id, timer name)`. Nodes that
    /// claim at the same time get different timers.
    async fn claim_due_timers(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<(String, String)>>;

    /// Tells the other nodes sharing this store that these contacts' logs grew. `node` is the
    /// sender, so it can ignore its own hints. A store that only one node uses does nothing.
    async fn announce(&self, node: &str, hints: &[(String, i64)]) -> Result<()>;
    /// Hints from the other nodes sharing this store, or `None` when no other node can write.
    async fn listen(&self, node: &str) -> Result<Option<tokio::sync::mpsc::Receiver<Hint>>>;
}
