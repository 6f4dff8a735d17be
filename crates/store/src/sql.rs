//! What the SQLite and PostgreSQL stores share: row decoding and every statement.
//!
//! The statements are written once in the dialect both databases accept (`$N` placeholders,
//! `RETURNING`, `ON CONFLICT`), and [`chat_store!`] stamps them out for each backend's connection
//! type, together with the [`Store`](crate::Store) implementation. Each backend only supplies how
//! its three chat writes reach the database (`durable_create_chat`, `durable_append`,
//! `durable_insert_tokens`): SQLite groups them into shared commits, PostgreSQL commits each.

use crate::{
    AgentContact, AgentContactState, AgentRouting, AgentSession, QueuedContact, Result, StoreError,
};
use liaison_core::organisation::{
    AgentStatus, HoursOfOperation, Queue, RoutingProfile, RoutingProfileQueue, SecurityProfile,
    User, UserStatus,
};
use liaison_core::{
    ChatItem, Contact, ContactState, Flow, FlowModule, Instance, ItemType, NewItem, Participant,
    ParticipantRole, TokenKind, TokenRecord, View,
};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Decode, Postgres, Sqlite, Type};

/// The schema both backends share, in order; each backend adds its own steps after these.
const SHARED_MIGRATIONS: [(i64, &str, &str); 14] = [
    (
        1,
        "chat core",
        include_str!("../migrations/0001_chat_core.sql"),
    ),
    (
        2,
        "unique instance alias",
        include_str!("../migrations/0002_unique_instance_alias.sql"),
    ),
    (
        4,
        "custom participants and timers",
        include_str!("../migrations/0004_custom_participants_and_timers.sql"),
    ),
    (
        5,
        "unique flow names",
        include_str!("../migrations/0005_unique_flow_names.sql"),
    ),
    (
        6,
        "timers that watch messages",
        include_str!("../migrations/0006_timers_that_watch_messages.sql"),
    ),
    (
        7,
        "lambda functions",
        include_str!("../migrations/0007_lambda_functions.sql"),
    ),
    (
        9,
        "flow modules",
        include_str!("../migrations/0009_flow_modules.sql"),
    ),
    (
        10,
        "organisation",
        include_str!("../migrations/0010_organisation.sql"),
    ),
    (
        20,
        "contact data",
        include_str!("../migrations/0020_contact_data.sql"),
    ),
    (21, "views", include_str!("../migrations/0021_views.sql")),
    (
        22,
        "routing",
        include_str!("../migrations/0022_routing.sql"),
    ),
    (
        23,
        "whispers",
        include_str!("../migrations/0023_whispers.sql"),
    ),
    (
        24,
        "widgets",
        include_str!("../migrations/0024_widgets.sql"),
    ),
    (
        25,
        "attachments",
        include_str!("../migrations/0025_attachments.sql"),
    ),
];

/// The shared migrations and a backend's own, in version order, ready to run.
pub(crate) fn migrator(own: &[(i64, &'static str, &'static str)]) -> Migrator {
    let mut steps: Vec<&(i64, &str, &str)> = SHARED_MIGRATIONS.iter().chain(own).collect();
    steps.sort_by_key(|(version, _, _)| *version);
    let migrations = steps
        .into_iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                (*description).into(),
                MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(*sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// A column type both backends decode.
pub(crate) trait Column:
    Sized + for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where
    T: Sized
        + for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
{
}

/// Reading a named column, whichever backend the row came from.
pub(crate) trait Columns {
    fn column<T: Column>(&self, name: &str) -> Result<T>;
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn column<T: Column>(&self, name: &str) -> Result<T> {
        sqlx::Row::try_get(self, name).map_err(StoreError::from)
    }
}

impl Columns for sqlx::postgres::PgRow {
    fn column<T: Column>(&self, name: &str) -> Result<T> {
        sqlx::Row::try_get(self, name).map_err(StoreError::from)
    }
}

// The chat writes, shared by the PostgreSQL transaction code and the SQLite writer thread.
// Both databases read `$N` as the N-th parameter.

/// Records a client token unless it is known; one row changed means it was new.
pub(crate) const CLAIM_CLIENT_TOKEN: &str = "INSERT INTO client_tokens \
    (scope, token, request_hash, result, created_ms) VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT (scope, token) DO NOTHING";
pub(crate) const FIND_CLIENT_TOKEN: &str =
    "SELECT request_hash, result FROM client_tokens WHERE scope = $1 AND token = $2";
/// Reserves `$1` sequence numbers of an open contact and locks its row until commit, so that
/// no concurrent end (on any node) slips between the check and the append. No row: the contact
/// is closed or unknown.
pub(crate) const RESERVE_SEQUENCE: &str = "UPDATE contacts SET last_seq = last_seq + $1 WHERE id = $2 AND state = 'OPEN' RETURNING last_seq";
pub(crate) const INSERT_ITEM: &str = "INSERT INTO items (contact_id, seq, id, item_type, \
    content_type, content, participant_id, display_name, role, absolute_ms, extra, in_transcript, \
    visible_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
pub(crate) const INSERT_CONTACT: &str = "INSERT INTO contacts (id, instance_id, \
    initial_contact_id, related_contact_id, flow_id, state, attributes, segment_attributes, \
    customer_id, supported_content_types, initiated_ms, ended_ms, expires_ms, last_seq, \
    timer_config, watches_messages) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, 0)";
pub(crate) const INSERT_PARTICIPANT: &str = "INSERT INTO participants \
    (id, contact_id, role, display_name, joined_ms, left_ms, connected_ms) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const PARTICIPANT_CONNECTED: &str = "UPDATE participants SET connected_ms = $1 \
    WHERE id = $2 AND contact_id = $3 AND connected_ms IS NULL";
/// Locks an open contact's row until commit (no row: closed or unknown), so that checks made
/// afterwards in the transaction hold until it commits, on every node.
pub(crate) const LOCK_OPEN_CONTACT: &str =
    "UPDATE contacts SET last_seq = last_seq WHERE id = $1 AND state = 'OPEN' RETURNING last_seq";
pub(crate) const FIND_TIMER: &str = "SELECT name, due_ms, data, wants_messages FROM timers \
    WHERE contact_id = $1 AND name = $2";
pub(crate) const PUT_TIMER: &str = "INSERT INTO timers \
    (contact_id, name, due_ms, leased_until, data, wants_messages) VALUES ($1, $2, $3, 0, $4, $5) \
    ON CONFLICT (contact_id, name) DO UPDATE SET due_ms = excluded.due_ms, data = excluded.data, \
    leased_until = 0, wants_messages = excluded.wants_messages";
pub(crate) const DELETE_TIMER: &str = "DELETE FROM timers WHERE contact_id = $1 AND name = $2";
pub(crate) const DELETE_CONTACT_TIMERS: &str = "DELETE FROM timers WHERE contact_id = $1";
/// Whether any timer of contact `$1` wants to hear of its messages.
pub(crate) const INSERT_FLOW_LOG: &str =
    "INSERT INTO flow_logs (contact_id, at_ms, record) VALUES ($1, $2, $3)";
pub(crate) const SET_WATCHES_MESSAGES: &str = "UPDATE contacts SET watches_messages = \
    (CASE WHEN EXISTS (SELECT 1 FROM timers WHERE contact_id = $1 AND wants_messages = 1) \
    THEN 1 ELSE 0 END) WHERE id = $1";
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO tokens \
    (hash, kind, participant_id, contact_id, expires_ms) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const PARTICIPANT_LEFT: &str = "UPDATE participants SET left_ms = $1 \
    WHERE id = $2 AND contact_id = $3 AND left_ms IS NULL";
pub(crate) const END_CONTACT: &str = "UPDATE contacts SET state = 'ENDED', ended_ms = $1, \
    watches_messages = 0 WHERE id = $2";
pub(crate) const EVERYONE_LEFT: &str =
    "UPDATE participants SET left_ms = $1 WHERE contact_id = $2 AND left_ms IS NULL";

/// The stored text of a contact state.
pub(crate) fn state_text(state: ContactState) -> &'static str {
    match state {
        ContactState::Open => "OPEN",
        ContactState::Ended => "ENDED",
    }
}

/// The result recorded with an append's client token: its first item's id.
pub(crate) fn append_result(items: &[NewItem]) -> (String, i64) {
    items
        .first()
        .map(|item| (item.id.clone(), item.absolute_ms))
        .unwrap_or_default()
}

/// Columns read under a prefix, for rows that join several tables (`p_id`, `t_kind`, …).
pub(crate) struct Prefixed<'a, R>(pub &'a R, pub &'static str);

impl<R: Columns> Columns for Prefixed<'_, R> {
    fn column<T: Column>(&self, name: &str) -> Result<T> {
        self.0.column(&format!("{}{name}", self.1))
    }
}

/// A token with its participant and contact, in one round trip: what every participant call
/// needs before it can do anything.
pub(crate) const TOKEN_HOLDER_QUERY: &str = "SELECT c.*, \
     t.hash AS t_hash, t.kind AS t_kind, t.participant_id AS t_participant_id, \
     t.contact_id AS t_contact_id, t.expires_ms AS t_expires_ms, \
     p.id AS p_id, p.contact_id AS p_contact_id, p.role AS p_role, \
     p.display_name AS p_display_name, p.joined_ms AS p_joined_ms, p.left_ms AS p_left_ms, \
     p.connected_ms AS p_connected_ms \
     FROM tokens t JOIN participants p ON p.id = t.participant_id \
     JOIN contacts c ON c.id = t.contact_id WHERE t.hash = $1";

pub(crate) const ITEM_COLUMNS: &str = "contact_id, seq, id, item_type, content_type, content, participant_id, display_name, role, absolute_ms, extra, in_transcript, visible_to";

pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError(format!("unreadable {what} in the database"))
}

pub(crate) fn instance_from(row: &impl Columns) -> Result<Instance> {
    Ok(Instance {
        id: row.column("id")?,
        alias: row.column("alias")?,
        created_ms: row.column("created_ms")?,
    })
}

pub(crate) fn flow_from(row: &impl Columns) -> Result<Flow> {
    Ok(Flow {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        flow_type: row.column("flow_type")?,
        state: row.column("state")?,
        status: row.column("status")?,
        description: row.column("description")?,
        content: row.column("content")?,
        modified_ms: row.column("modified_ms")?,
    })
}

pub(crate) fn flow_module_from(row: &impl Columns) -> Result<FlowModule> {
    Ok(FlowModule {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        content: row.column("content")?,
        settings: row.column("settings")?,
        state: row.column("state")?,
        status: row.column("status")?,
        modified_ms: row.column("modified_ms")?,
    })
}

pub(crate) fn attachment_from(row: &impl Columns) -> Result<liaison_core::attachment::Attachment> {
    let status: String = row.column("status")?;
    Ok(liaison_core::attachment::Attachment {
        id: row.column("id")?,
        contact_id: row.column("contact_id")?,
        participant_id: row.column("participant_id")?,
        name: row.column("name")?,
        content_type: row.column("content_type")?,
        size_bytes: row.column("size_bytes")?,
        status: liaison_core::attachment::AttachmentStatus::parse(&status)
            .ok_or_else(|| corrupt("attachment status"))?,
        upload_token_hash: row.column("upload_token_hash")?,
        upload_expires_ms: row.column("upload_expires_ms")?,
        created_ms: row.column("created_ms")?,
        client_token: match (
            row.column::<Option<String>>("client_token")?,
            row.column::<Option<String>>("request_hash")?,
        ) {
            (Some(token), Some(hash)) => Some((token, hash)),
            _ => None,
        },
    })
}

pub(crate) fn widget_from(row: &impl Columns) -> Result<liaison_core::widget::Widget> {
    Ok(liaison_core::widget::Widget {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        config: json_column(row, "config")?,
        created_ms: row.column("created_ms")?,
        modified_ms: row.column("modified_ms")?,
    })
}

pub(crate) fn widget_key_from(row: &impl Columns) -> Result<liaison_core::widget::WidgetKey> {
    Ok(liaison_core::widget::WidgetKey {
        id: row.column("id")?,
        widget_id: row.column("widget_id")?,
        secret: row.column("secret")?,
        created_ms: row.column("created_ms")?,
    })
}

pub(crate) fn view_from(row: &impl Columns) -> Result<View> {
    Ok(View {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        status: row.column("status")?,
        template: row.column("template")?,
        actions: json_column(row, "actions")?,
        tags: json_column(row, "tags")?,
        created_ms: row.column("created_ms")?,
        modified_ms: row.column("modified_ms")?,
    })
}

/// A JSON document column, decoded.
fn json_column<T: serde::de::DeserializeOwned>(row: &impl Columns, name: &str) -> Result<T> {
    let text: String = row.column(name)?;
    serde_json::from_str(&text).map_err(|_| corrupt(name))
}

/// A nullable JSON document column, decoded.
fn optional_json_column<T: serde::de::DeserializeOwned>(
    row: &impl Columns,
    name: &str,
) -> Result<Option<T>> {
    let text: Option<String> = row.column(name)?;
    text.map(|text| serde_json::from_str(&text).map_err(|_| corrupt(name)))
        .transpose()
}

pub(crate) fn hours_of_operation_from(row: &impl Columns) -> Result<HoursOfOperation> {
    Ok(HoursOfOperation {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        time_zone: row.column("time_zone")?,
        config: json_column(row, "config")?,
        tags: json_column(row, "tags")?,
        modified_ms: row.column("modified_ms")?,
    })
}

pub(crate) fn queue_from(row: &impl Columns) -> Result<Queue> {
    // The queues table predates optional descriptions: an empty one is none (the model's
    // descriptions are at least one character long).
    let description: String = row.column("description")?;
    Ok(Queue {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        description: Some(description).filter(|text| !text.is_empty()),
        queue_type: row.column("queue_type")?,
        hours_of_operation_id: row.column("hours_of_operation_id")?,
        max_contacts: row.column("max_contacts")?,
        status: row.column("status")?,
        outbound_caller_config: optional_json_column(row, "outbound_caller_config")?,
        tags: json_column(row, "tags")?,
        modified_ms: row.column("modified_ms")?,
    })
}

pub(crate) fn routing_profile_from(row: &impl Columns) -> Result<RoutingProfile> {
    Ok(RoutingProfile {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        default_outbound_queue_id: row.column("default_outbound_queue_id")?,
        media_concurrencies: json_column(row, "media_concurrencies")?,
        agent_availability_timer: row.column("agent_availability_timer")?,
        is_default: row.column::<i64>("is_default")? != 0,
        tags: json_column(row, "tags")?,
        modified_ms: row.column("modified_ms")?,
    })
}

pub(crate) fn routing_profile_queue_from(row: &impl Columns) -> Result<RoutingProfileQueue> {
    Ok(RoutingProfileQueue {
        queue_id: row.column("queue_id")?,
        channel: row.column("channel")?,
        priority: row.column("priority")?,
        delay: row.column("delay")?,
    })
}

pub(crate) fn security_profile_from(row: &impl Columns) -> Result<SecurityProfile> {
    Ok(SecurityProfile {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        modified_ms: row.column("modified_ms")?,
    })
}

pub(crate) fn agent_status_from(row: &impl Columns) -> Result<AgentStatus> {
    Ok(AgentStatus {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        status_type: row.column("status_type")?,
        state: row.column("state")?,
        display_order: row.column("display_order")?,
        tags: json_column(row, "tags")?,
        modified_ms: row.column("modified_ms")?,
    })
}

/// The columns of a user, without its password hash (only a password check reads that).
pub(crate) const USER_COLUMNS: &str = "id, instance_id, username, identity_info, phone_config, \
    security_profile_ids, routing_profile_id, tags, modified_ms, agent_status_id, status_since_ms";

pub(crate) fn user_from(row: &impl Columns) -> Result<User> {
    let agent_status_id: Option<String> = row.column("agent_status_id")?;
    let since_ms: Option<i64> = row.column("status_since_ms")?;
    Ok(User {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        username: row.column("username")?,
        identity_info: json_column(row, "identity_info")?,
        phone_config: optional_json_column(row, "phone_config")?,
        security_profile_ids: json_column(row, "security_profile_ids")?,
        routing_profile_id: row.column("routing_profile_id")?,
        tags: json_column(row, "tags")?,
        modified_ms: row.column("modified_ms")?,
        status: match (agent_status_id, since_ms) {
            (Some(agent_status_id), Some(since_ms)) => Some(UserStatus {
                agent_status_id,
                since_ms,
            }),
            _ => None,
        },
    })
}

/// Queued contacts with the users who rejected them: one row per rejection (or one row with a
/// NULL `rejected_by`), which [`queued_contacts_from`] folds. The filter and order follow; an
/// order must keep each contact's rows together.
pub(crate) const QUEUED_CONTACTS: &str = "SELECT q.contact_id, q.instance_id, q.queue_id, \
    q.enqueued_ms, q.offered_to, q.offer_deadline_ms, r.user_id AS rejected_by \
    FROM queued_contacts q LEFT JOIN routing_rejections r ON r.contact_id = q.contact_id";

/// A queued contact without its rejections.
pub(crate) fn queued_contact_from(row: &impl Columns) -> Result<QueuedContact> {
    let offered_to: Option<String> = row.column("offered_to")?;
    let deadline_ms: Option<i64> = row.column("offer_deadline_ms")?;
    Ok(QueuedContact {
        contact_id: row.column("contact_id")?,
        instance_id: row.column("instance_id")?,
        queue_id: row.column("queue_id")?,
        enqueued_ms: row.column("enqueued_ms")?,
        offer: offered_to.zip(deadline_ms),
        rejected_by: Vec::new(),
    })
}

/// The contacts of [`QUEUED_CONTACTS`] rows, in row order.
pub(crate) fn queued_contacts_from<R: Columns>(rows: &[R]) -> Result<Vec<QueuedContact>> {
    let mut queued: Vec<QueuedContact> = Vec::new();
    for row in rows {
        let contact_id: String = row.column("contact_id")?;
        if queued
            .last()
            .is_none_or(|last| last.contact_id != contact_id)
        {
            queued.push(queued_contact_from(row)?);
        }
        if let (Some(last), Some(user_id)) = (
            queued.last_mut(),
            row.column::<Option<String>>("rejected_by")?,
        ) {
            last.rejected_by.push(user_id);
        }
    }
    // Sorted here, not in SQL, where PostgreSQL would follow the database's collation.
    for contact in &mut queued {
        contact.rejected_by.sort();
    }
    Ok(queued)
}

pub(crate) const AGENT_CONTACT_COLUMNS: &str = "contact_id, user_id, instance_id, participant_id, \
    queue_id, state, accepted_ms, ended_ms, after_contact_flow_id, guide_contact_id";

pub(crate) fn agent_contact_from(row: &impl Columns) -> Result<AgentContact> {
    let state: String = row.column("state")?;
    Ok(AgentContact {
        contact_id: row.column("contact_id")?,
        user_id: row.column("user_id")?,
        instance_id: row.column("instance_id")?,
        participant_id: row.column("participant_id")?,
        queue_id: row.column("queue_id")?,
        state: match state.as_str() {
            "CONNECTED" => AgentContactState::Connected,
            "AFTER_CONTACT_WORK" => AgentContactState::AfterContactWork,
            _ => return Err(corrupt("agent contact state")),
        },
        accepted_ms: row.column("accepted_ms")?,
        ended_ms: row.column("ended_ms")?,
        after_contact_flow_id: row.column("after_contact_flow_id")?,
        guide_contact_id: row.column("guide_contact_id")?,
    })
}

/// Routing's view of users; the filter and order follow.
pub(crate) const AGENT_ROUTING: &str = "SELECT u.id, u.instance_id, u.routing_profile_id, \
    u.status_since_ms, u.missed_ms, s.status_type, \
    (SELECT COUNT(*) FROM agent_contacts a WHERE a.user_id = u.id \
        AND a.state IN ('CONNECTED', 'AFTER_CONTACT_WORK')) AS open_contacts, \
    (SELECT MAX(a.cleared_ms) FROM agent_contacts a WHERE a.user_id = u.id) AS last_cleared_ms \
    FROM users u LEFT JOIN agent_statuses s ON s.id = u.agent_status_id";

pub(crate) fn agent_routing_from(row: &impl Columns) -> Result<AgentRouting> {
    let status_type: Option<String> = row.column("status_type")?;
    let missed_ms: Option<i64> = row.column("missed_ms")?;
    let open_contacts: i64 = row.column("open_contacts")?;
    let status_since_ms: Option<i64> = row.column("status_since_ms")?;
    let last_cleared_ms: Option<i64> = row.column("last_cleared_ms")?;
    Ok(AgentRouting {
        user_id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        routing_profile_id: row.column("routing_profile_id")?,
        available: status_type.as_deref() == Some("ROUTABLE"),
        missed: missed_ms.is_some(),
        open_contacts: u32::try_from(open_contacts).map_err(|_| corrupt("open contacts"))?,
        idle_since_ms: status_since_ms.max(last_cleared_ms).unwrap_or(0),
    })
}

pub(crate) fn agent_session_from(row: &impl Columns) -> Result<AgentSession> {
    Ok(AgentSession {
        token_hash: row.column("token_hash")?,
        instance_id: row.column("instance_id")?,
        user_id: row.column("user_id")?,
        expires_ms: row.column("expires_ms")?,
    })
}

pub(crate) fn contact_from(row: &impl Columns) -> Result<Contact> {
    let attributes: String = row.column("attributes")?;
    let segment_attributes: Option<String> = row.column("segment_attributes")?;
    let supported: String = row.column("supported_content_types")?;
    let state: String = row.column("state")?;
    let timer_config: String = row.column("timer_config")?;
    let watches_messages: i64 = row.column("watches_messages")?;
    let data: String = row.column("contact_data")?;
    Ok(Contact {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        initial_contact_id: row.column("initial_contact_id")?,
        related_contact_id: row.column("related_contact_id")?,
        flow_id: row.column("flow_id")?,
        state: match state.as_str() {
            "OPEN" => ContactState::Open,
            "ENDED" => ContactState::Ended,
            _ => return Err(corrupt("contact state")),
        },
        attributes: serde_json::from_str(&attributes).map_err(|_| corrupt("attributes"))?,
        segment_attributes: match segment_attributes {
            Some(text) => {
                Some(serde_json::from_str(&text).map_err(|_| corrupt("segment attributes"))?)
            }
            None => None,
        },
        customer_id: row.column("customer_id")?,
        data: serde_json::from_str(&data).map_err(|_| corrupt("contact data"))?,
        supported_content_types: serde_json::from_str(&supported)
            .map_err(|_| corrupt("content types"))?,
        initiated_ms: row.column("initiated_ms")?,
        ended_ms: row.column("ended_ms")?,
        expires_ms: row.column("expires_ms")?,
        last_seq: row.column("last_seq")?,
        timer_config: serde_json::from_str(&timer_config).map_err(|_| corrupt("timer config"))?,
        watches_messages: watches_messages != 0,
    })
}

pub(crate) fn participant_from(row: &impl Columns) -> Result<Participant> {
    let role: String = row.column("role")?;
    Ok(Participant {
        id: row.column("id")?,
        contact_id: row.column("contact_id")?,
        role: ParticipantRole::parse(&role).ok_or_else(|| corrupt("participant role"))?,
        display_name: row.column("display_name")?,
        joined_ms: row.column("joined_ms")?,
        left_ms: row.column("left_ms")?,
        connected_ms: row.column("connected_ms")?,
    })
}

pub(crate) fn token_from(row: &impl Columns) -> Result<TokenRecord> {
    let kind: String = row.column("kind")?;
    Ok(TokenRecord {
        hash: row.column("hash")?,
        kind: TokenKind::parse(&kind).ok_or_else(|| corrupt("token kind"))?,
        participant_id: row.column("participant_id")?,
        contact_id: row.column("contact_id")?,
        expires_ms: row.column("expires_ms")?,
    })
}

pub(crate) fn timer_from(row: &impl Columns) -> Result<crate::Timer> {
    Ok(crate::Timer {
        name: row.column("name")?,
        due_ms: row.column("due_ms")?,
        data: row.column("data")?,
        wants_messages: row.column::<i64>("wants_messages")? != 0,
    })
}

pub(crate) fn item_from(row: &impl Columns) -> Result<ChatItem> {
    let item_type: String = row.column("item_type")?;
    let role: Option<String> = row.column("role")?;
    let extra: Option<String> = row.column("extra")?;
    let in_transcript: i64 = row.column("in_transcript")?;
    let visible_to: Option<String> = row.column("visible_to")?;
    Ok(ChatItem {
        contact_id: row.column("contact_id")?,
        seq: row.column("seq")?,
        item: NewItem {
            id: row.column("id")?,
            item_type: ItemType::parse(&item_type).ok_or_else(|| corrupt("item type"))?,
            content_type: row.column("content_type")?,
            content: row.column("content")?,
            participant_id: row.column("participant_id")?,
            display_name: row.column("display_name")?,
            role: match role {
                Some(text) => {
                    Some(ParticipantRole::parse(&text).ok_or_else(|| corrupt("item role"))?)
                }
                None => None,
            },
            absolute_ms: row.column("absolute_ms")?,
            extra: match extra {
                Some(text) => Some(serde_json::from_str(&text).map_err(|_| corrupt("item extra"))?),
                None => None,
            },
            in_transcript: in_transcript != 0,
            visible_to: match visible_to {
                Some(text) => {
                    Some(ParticipantRole::parse(&text).ok_or_else(|| corrupt("item visibility"))?)
                }
                None => None,
            },
        },
    })
}

/// Stamps out the statements and the `Store` implementation for one backend:
/// `chat_store!(StoreType)`. The store type must have `reader` and `writer`
/// pools and the three `durable_*` write methods, and its module a `CLAIM_DUE_TIMERS`
/// statement (`$1` now, `$2` lease end, `$3` limit; returns `contact_id`, `name`).
macro_rules! chat_store {
    ($store:ty) => {
        #[async_trait]
        impl $crate::Store for $store {
            async fn insert_instance(&self, instance: &Instance) -> Result<()> {
                sqlx::query("INSERT INTO instances (id, alias, created_ms) VALUES ($1, $2, $3)")
                    .bind(&instance.id)
                    .bind(&instance.alias)
                    .bind(instance.created_ms)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn list_instances(&self) -> Result<Vec<Instance>> {
                let rows =
                    sqlx::query("SELECT id, alias, created_ms FROM instances ORDER BY created_ms, id")
                        .fetch_all(&self.reader)
                        .await?;
                rows.iter().map(instance_from).collect()
            }

            async fn get_instance(&self, id: &str) -> Result<Option<Instance>> {
                let row = sqlx::query("SELECT id, alias, created_ms FROM instances WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(instance_from).transpose()
            }

            async fn insert_flow(&self, flow: &Flow) -> Result<()> {
                sqlx::query(
                    "INSERT INTO flows (id, instance_id, name, flow_type, state, status, description, content, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&flow.id)
                .bind(&flow.instance_id)
                .bind(&flow.name)
                .bind(&flow.flow_type)
                .bind(&flow.state)
                .bind(&flow.status)
                .bind(&flow.description)
                .bind(&flow.content)
                .bind(flow.modified_ms)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn update_flow(&self, flow: &Flow) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE flows SET name = $1, flow_type = $2, state = $3, status = $4, \
                     description = $5, content = $6, modified_ms = $7 WHERE instance_id = $8 AND id = $9",
                )
                .bind(&flow.name)
                .bind(&flow.flow_type)
                .bind(&flow.state)
                .bind(&flow.status)
                .bind(&flow.description)
                .bind(&flow.content)
                .bind(flow.modified_ms)
                .bind(&flow.instance_id)
                .bind(&flow.id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn delete_flow(&self, instance_id: &str, flow_id: &str) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM flows WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(flow_id)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }

            async fn list_flows(&self, instance_id: &str) -> Result<Vec<Flow>> {
                let rows = sqlx::query("SELECT * FROM flows WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(flow_from).collect()
            }

            async fn get_flow(&self, instance_id: &str, flow_id: &str) -> Result<Option<Flow>> {
                let row = sqlx::query("SELECT * FROM flows WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(flow_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(flow_from).transpose()
            }

            async fn insert_flow_module(&self, module: &FlowModule) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO flow_modules (id, instance_id, name, description, content, settings, state, status, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&module.id)
                .bind(&module.instance_id)
                .bind(&module.name)
                .bind(&module.description)
                .bind(&module.content)
                .bind(&module.settings)
                .bind(&module.state)
                .bind(&module.status)
                .bind(module.modified_ms)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn list_flow_modules(&self, instance_id: &str) -> Result<Vec<FlowModule>> {
                let rows = sqlx::query("SELECT * FROM flow_modules WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(flow_module_from).collect()
            }

            async fn get_flow_module(&self, instance_id: &str, module_id: &str) -> Result<Option<FlowModule>> {
                let row = sqlx::query("SELECT * FROM flow_modules WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(module_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(flow_module_from).transpose()
            }

            async fn insert_view(&self, view: &View) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO views (id, instance_id, name, description, status, template, actions, tags, created_ms, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&view.id)
                .bind(&view.instance_id)
                .bind(&view.name)
                .bind(view.description.as_deref())
                .bind(&view.status)
                .bind(&view.template)
                .bind(json_text(&view.actions))
                .bind(json_text(&view.tags))
                .bind(view.created_ms)
                .bind(view.modified_ms)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn get_view(&self, instance_id: &str, view_id: &str) -> Result<Option<View>> {
                let row = sqlx::query("SELECT * FROM views WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(view_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(view_from).transpose()
            }

            async fn list_views(&self, instance_id: &str) -> Result<Vec<View>> {
                let rows = sqlx::query("SELECT * FROM views WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(view_from).collect()
            }

            async fn update_view(&self, view: &View) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE views SET name = $1, description = $2, status = $3, template = $4, actions = $5, \
                     tags = $6, modified_ms = $7 WHERE instance_id = $8 AND id = $9",
                )
                .bind(&view.name)
                .bind(view.description.as_deref())
                .bind(&view.status)
                .bind(&view.template)
                .bind(json_text(&view.actions))
                .bind(json_text(&view.tags))
                .bind(view.modified_ms)
                .bind(&view.instance_id)
                .bind(&view.id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn delete_view(&self, instance_id: &str, view_id: &str) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM views WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(view_id)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }

            async fn create_attachment(
                &self,
                attachment: &liaison_core::attachment::Attachment,
                max_per_contact: i64,
            ) -> Result<$crate::StartedAttachment> {
                // The contact's row is locked first: the count holds, and a closed contact
                // takes no attachment.
                let mut tx = self.writer.begin().await?;
                let open = sqlx::query("UPDATE contacts SET last_seq = last_seq WHERE id = $1 AND state = 'OPEN'")
                    .bind(&attachment.contact_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if open != 1 {
                    return Ok($crate::StartedAttachment::ContactClosed);
                }
                if let Some((token, _)) = &attachment.client_token {
                    let earlier = sqlx::query(
                        "SELECT * FROM attachments WHERE participant_id = $1 AND client_token = $2",
                    )
                    .bind(&attachment.participant_id)
                    .bind(token)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(row) = earlier {
                        return Ok($crate::StartedAttachment::Replayed(Box::new(
                            $crate::sql::attachment_from(&row)?,
                        )));
                    }
                }
                let inserted = sqlx::query(
                    "INSERT INTO attachments (id, contact_id, participant_id, name, content_type, size_bytes, \
                     status, upload_token_hash, upload_expires_ms, created_ms, client_token, request_hash) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $13 \
                     WHERE (SELECT COUNT(*) FROM attachments WHERE contact_id = $2) < $11",
                )
                .bind(&attachment.id)
                .bind(&attachment.contact_id)
                .bind(&attachment.participant_id)
                .bind(&attachment.name)
                .bind(&attachment.content_type)
                .bind(attachment.size_bytes)
                .bind(attachment.status.as_str())
                .bind(&attachment.upload_token_hash)
                .bind(attachment.upload_expires_ms)
                .bind(attachment.created_ms)
                .bind(max_per_contact)
                .bind(attachment.client_token.as_ref().map(|(token, _)| token))
                .bind(attachment.client_token.as_ref().map(|(_, hash)| hash))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(if inserted == 1 {
                    $crate::StartedAttachment::Started
                } else {
                    $crate::StartedAttachment::QuotaReached
                })
            }

            async fn renew_attachment_upload(
                &self,
                attachment_id: &str,
                upload_token_hash: &str,
                upload_expires_ms: i64,
            ) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE attachments SET upload_token_hash = $1, upload_expires_ms = $2 \
                     WHERE id = $3 AND status = 'AWAITING_UPLOAD'",
                )
                .bind(upload_token_hash)
                .bind(upload_expires_ms)
                .bind(attachment_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn get_attachment(
                &self,
                attachment_id: &str,
            ) -> Result<Option<liaison_core::attachment::Attachment>> {
                let row = sqlx::query("SELECT * FROM attachments WHERE id = $1")
                    .bind(attachment_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map($crate::sql::attachment_from).transpose()
            }

            async fn set_attachment_status(
                &self,
                attachment_id: &str,
                from: liaison_core::attachment::AttachmentStatus,
                to: liaison_core::attachment::AttachmentStatus,
            ) -> Result<bool> {
                let changed = sqlx::query("UPDATE attachments SET status = $1 WHERE id = $2 AND status = $3")
                    .bind(to.as_str())
                    .bind(attachment_id)
                    .bind(from.as_str())
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                Ok(changed == 1)
            }

            async fn add_attachment_download(
                &self,
                token_hash: &str,
                attachment_id: &str,
                expires_ms: i64,
                now_ms: i64,
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("DELETE FROM attachment_downloads WHERE expires_ms <= $1")
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO attachment_downloads (token_hash, attachment_id, expires_ms) VALUES ($1, $2, $3)",
                )
                .bind(token_hash)
                .bind(attachment_id)
                .bind(expires_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn attachment_download(&self, token_hash: &str) -> Result<Option<(String, i64)>> {
                let row = sqlx::query(
                    "SELECT attachment_id, expires_ms FROM attachment_downloads WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
                Ok(match row {
                    Some(row) => Some((
                        sqlx::Row::try_get(&row, "attachment_id")?,
                        sqlx::Row::try_get(&row, "expires_ms")?,
                    )),
                    None => None,
                })
            }

            fn blobs(&self) -> &dyn $crate::Blobs {
                &self.blobs
            }

            async fn delete_contact(&self, contact_id: &str) -> Result<$crate::DeletedContact> {
                let mut tx = self.writer.begin().await?;
                let state: Option<String> = sqlx::query_scalar("SELECT state FROM contacts WHERE id = $1")
                    .bind(contact_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                match state.as_deref() {
                    None => return Ok($crate::DeletedContact::NotFound),
                    Some("OPEN") => return Ok($crate::DeletedContact::StillOpen),
                    Some(_) => {}
                }
                let attachments: Vec<String> =
                    sqlx::query_scalar("SELECT id FROM attachments WHERE contact_id = $1")
                        .bind(contact_id)
                        .fetch_all(&mut *tx)
                        .await?;
                sqlx::query(
                    "DELETE FROM attachment_downloads WHERE attachment_id IN \
                     (SELECT id FROM attachments WHERE contact_id = $1)",
                )
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
                for table in [
                    "attachments",
                    "flow_logs",
                    "items",
                    "tokens",
                    "timers",
                    "participants",
                    "queued_contacts",
                    "routing_rejections",
                    "agent_contacts",
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE contact_id = $1"
                    )))
                    .bind(contact_id)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM contacts WHERE id = $1")
                    .bind(contact_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                // The files go after the records: a failure here leaves files nothing names,
                // never records naming no file.
                for attachment_id in attachments {
                    let key = liaison_core::attachment::blob_key(contact_id, &attachment_id);
                    $crate::Blobs::delete_blob(&self.blobs, &key)
                        .await?;
                }
                Ok($crate::DeletedContact::Deleted)
            }

            async fn create_widget(&self, widget: &liaison_core::widget::Widget) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO widgets (id, instance_id, name, config, created_ms, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&widget.id)
                .bind(&widget.instance_id)
                .bind(&widget.name)
                .bind(json_text(&widget.config))
                .bind(widget.created_ms)
                .bind(widget.modified_ms)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn get_widget(&self, widget_id: &str) -> Result<Option<liaison_core::widget::Widget>> {
                let row = sqlx::query("SELECT * FROM widgets WHERE id = $1")
                    .bind(widget_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map($crate::sql::widget_from).transpose()
            }

            async fn list_widgets(&self, instance_id: &str) -> Result<Vec<liaison_core::widget::Widget>> {
                let rows = sqlx::query("SELECT * FROM widgets WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map($crate::sql::widget_from).collect()
            }

            async fn update_widget(&self, widget: &liaison_core::widget::Widget) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE widgets SET name = $1, config = $2, modified_ms = $3 \
                     WHERE instance_id = $4 AND id = $5",
                )
                .bind(&widget.name)
                .bind(json_text(&widget.config))
                .bind(widget.modified_ms)
                .bind(&widget.instance_id)
                .bind(&widget.id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn delete_widget(&self, instance_id: &str, widget_id: &str) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                sqlx::query(
                    "DELETE FROM widget_keys WHERE widget_id IN \
                     (SELECT id FROM widgets WHERE instance_id = $1 AND id = $2)",
                )
                .bind(instance_id)
                .bind(widget_id)
                .execute(&mut *tx)
                .await?;
                let deleted = sqlx::query("DELETE FROM widgets WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(widget_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(deleted == 1)
            }

            async fn add_widget_key(&self, key: &liaison_core::widget::WidgetKey) -> Result<bool> {
                // The widget's row is updated first, so concurrent additions take turns and
                // the count holds.
                let mut tx = self.writer.begin().await?;
                let found = sqlx::query("UPDATE widgets SET modified_ms = modified_ms WHERE id = $1")
                    .bind(&key.widget_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if found != 1 {
                    return Ok(false);
                }
                let inserted = sqlx::query(
                    "INSERT INTO widget_keys (id, widget_id, secret, created_ms) \
                     SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM widget_keys WHERE widget_id = $2) < $5",
                )
                .bind(&key.id)
                .bind(&key.widget_id)
                .bind(&key.secret)
                .bind(key.created_ms)
                .bind(liaison_core::widget::MAX_ACTIVE_KEYS as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(inserted == 1)
            }

            async fn widget_keys(&self, widget_id: &str) -> Result<Vec<liaison_core::widget::WidgetKey>> {
                let rows = sqlx::query(
                    "SELECT * FROM widget_keys WHERE widget_id = $1 ORDER BY created_ms, id",
                )
                .bind(widget_id)
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map($crate::sql::widget_key_from).collect()
            }

            async fn delete_widget_key(&self, widget_id: &str, key_id: &str) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM widget_keys WHERE widget_id = $1 AND id = $2")
                    .bind(widget_id)
                    .bind(key_id)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }

            async fn create_hours_of_operation(
                &self,
                hours: &liaison_core::organisation::HoursOfOperation,
            ) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO hours_of_operation (id, instance_id, name, description, time_zone, config, tags, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&hours.id)
                .bind(&hours.instance_id)
                .bind(&hours.name)
                .bind(hours.description.as_deref())
                .bind(&hours.time_zone)
                .bind(json_text(&hours.config))
                .bind(json_text(&hours.tags))
                .bind(hours.modified_ms)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn get_hours_of_operation(
                &self,
                instance_id: &str,
                hours_id: &str,
            ) -> Result<Option<liaison_core::organisation::HoursOfOperation>> {
                let row = sqlx::query("SELECT * FROM hours_of_operation WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(hours_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map($crate::sql::hours_of_operation_from).transpose()
            }

            async fn list_hours_of_operations(
                &self,
                instance_id: &str,
            ) -> Result<Vec<liaison_core::organisation::HoursOfOperation>> {
                let rows = sqlx::query("SELECT * FROM hours_of_operation WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map($crate::sql::hours_of_operation_from).collect()
            }

            async fn create_queue(&self, queue: &liaison_core::organisation::Queue) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO queues (id, instance_id, name, description, created_ms, queue_type, \
                     hours_of_operation_id, max_contacts, status, outbound_caller_config, tags, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $5) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&queue.id)
                .bind(&queue.instance_id)
                .bind(&queue.name)
                .bind(queue.description.as_deref().unwrap_or(""))
                .bind(queue.modified_ms)
                .bind(&queue.queue_type)
                .bind(queue.hours_of_operation_id.as_deref())
                .bind(queue.max_contacts)
                .bind(&queue.status)
                .bind(queue.outbound_caller_config.as_ref().map(json_text))
                .bind(json_text(&queue.tags))
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn get_queue(
                &self,
                instance_id: &str,
                queue_id: &str,
            ) -> Result<Option<liaison_core::organisation::Queue>> {
                let row = sqlx::query("SELECT * FROM queues WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(queue_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map($crate::sql::queue_from).transpose()
            }

            async fn list_queue_details(
                &self,
                instance_id: &str,
            ) -> Result<Vec<liaison_core::organisation::Queue>> {
                let rows = sqlx::query("SELECT * FROM queues WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map($crate::sql::queue_from).collect()
            }

            async fn set_queue_status(
                &self,
                instance_id: &str,
                queue_id: &str,
                status: &str,
                now_ms: i64,
            ) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE queues SET status = $1, modified_ms = $2 WHERE instance_id = $3 AND id = $4",
                )
                .bind(status)
                .bind(now_ms)
                .bind(instance_id)
                .bind(queue_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn set_missing_queue_hours(&self, instance_id: &str, hours_id: &str) -> Result<u64> {
                let changed = sqlx::query(
                    "UPDATE queues SET hours_of_operation_id = $1 \
                     WHERE instance_id = $2 AND hours_of_operation_id IS NULL",
                )
                .bind(hours_id)
                .bind(instance_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed)
            }

            async fn create_routing_profile(
                &self,
                profile: &liaison_core::organisation::RoutingProfile,
                queues: &[liaison_core::organisation::RoutingProfileQueue],
            ) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO routing_profiles (id, instance_id, name, description, default_outbound_queue_id, \
                     media_concurrencies, agent_availability_timer, is_default, tags, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&profile.id)
                .bind(&profile.instance_id)
                .bind(&profile.name)
                .bind(&profile.description)
                .bind(&profile.default_outbound_queue_id)
                .bind(json_text(&profile.media_concurrencies))
                .bind(profile.agent_availability_timer.as_deref())
                .bind(i64::from(profile.is_default))
                .bind(json_text(&profile.tags))
                .bind(profile.modified_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(false);
                }
                for queue in queues {
                    sqlx::query(
                        "INSERT INTO routing_profile_queues (routing_profile_id, queue_id, channel, priority, delay) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&profile.id)
                    .bind(&queue.queue_id)
                    .bind(&queue.channel)
                    .bind(queue.priority)
                    .bind(queue.delay)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn get_routing_profile(
                &self,
                instance_id: &str,
                profile_id: &str,
            ) -> Result<Option<liaison_core::organisation::RoutingProfile>> {
                let row = sqlx::query("SELECT * FROM routing_profiles WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(profile_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map($crate::sql::routing_profile_from).transpose()
            }

            async fn list_routing_profiles(
                &self,
                instance_id: &str,
            ) -> Result<Vec<liaison_core::organisation::RoutingProfile>> {
                let rows = sqlx::query("SELECT * FROM routing_profiles WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map($crate::sql::routing_profile_from).collect()
            }

            async fn routing_profile_queues(
                &self,
                instance_id: &str,
                profile_id: &str,
            ) -> Result<Vec<liaison_core::organisation::RoutingProfileQueue>> {
                let rows = sqlx::query(
                    "SELECT q.queue_id, q.channel, q.priority, q.delay FROM routing_profile_queues q \
                     JOIN routing_profiles p ON p.id = q.routing_profile_id \
                     WHERE p.instance_id = $1 AND q.routing_profile_id = $2 \
                     ORDER BY q.priority, q.delay, q.queue_id, q.channel",
                )
                .bind(instance_id)
                .bind(profile_id)
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map($crate::sql::routing_profile_queue_from).collect()
            }

            async fn associate_routing_profile_queues(
                &self,
                instance_id: &str,
                profile_id: &str,
                queues: &[liaison_core::organisation::RoutingProfileQueue],
                now_ms: i64,
            ) -> Result<$crate::QueueChange> {
                let mut tx = self.writer.begin().await?;
                // A write first: it locks the profile (PostgreSQL) or the database (SQLite), so
                // concurrent changes to its queues see each other.
                let found = sqlx::query(
                    "UPDATE routing_profiles SET modified_ms = $1 WHERE instance_id = $2 AND id = $3",
                )
                .bind(now_ms)
                .bind(instance_id)
                .bind(profile_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if found == 0 {
                    return Ok($crate::QueueChange::NoSuchProfile);
                }
                for queue in queues {
                    let added = sqlx::query(
                        "INSERT INTO routing_profile_queues (routing_profile_id, queue_id, channel, priority, delay) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (routing_profile_id, queue_id, channel) DO NOTHING",
                    )
                    .bind(profile_id)
                    .bind(&queue.queue_id)
                    .bind(&queue.channel)
                    .bind(queue.priority)
                    .bind(queue.delay)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if added == 0 {
                        return Ok($crate::QueueChange::Refused {
                            queue_id: queue.queue_id.clone(),
                            channel: queue.channel.clone(),
                        });
                    }
                }
                tx.commit().await?;
                Ok($crate::QueueChange::Applied)
            }

            async fn update_routing_profile_queues(
                &self,
                instance_id: &str,
                profile_id: &str,
                queues: &[liaison_core::organisation::RoutingProfileQueue],
                now_ms: i64,
            ) -> Result<$crate::QueueChange> {
                let mut tx = self.writer.begin().await?;
                let found = sqlx::query(
                    "UPDATE routing_profiles SET modified_ms = $1 WHERE instance_id = $2 AND id = $3",
                )
                .bind(now_ms)
                .bind(instance_id)
                .bind(profile_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if found == 0 {
                    return Ok($crate::QueueChange::NoSuchProfile);
                }
                for queue in queues {
                    let changed = sqlx::query(
                        "UPDATE routing_profile_queues SET priority = $1, delay = $2 \
                         WHERE routing_profile_id = $3 AND queue_id = $4 AND channel = $5",
                    )
                    .bind(queue.priority)
                    .bind(queue.delay)
                    .bind(profile_id)
                    .bind(&queue.queue_id)
                    .bind(&queue.channel)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if changed == 0 {
                        return Ok($crate::QueueChange::Refused {
                            queue_id: queue.queue_id.clone(),
                            channel: queue.channel.clone(),
                        });
                    }
                }
                tx.commit().await?;
                Ok($crate::QueueChange::Applied)
            }

            async fn set_routing_profile_concurrency(
                &self,
                instance_id: &str,
                profile_id: &str,
                concurrencies: &[liaison_core::organisation::MediaConcurrency],
                now_ms: i64,
            ) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE routing_profiles SET media_concurrencies = $1, modified_ms = $2 \
                     WHERE instance_id = $3 AND id = $4",
                )
                .bind(json_text(&concurrencies))
                .bind(now_ms)
                .bind(instance_id)
                .bind(profile_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn count_routing_profile_users(&self, instance_id: &str, profile_id: &str) -> Result<i64> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS users FROM users WHERE instance_id = $1 AND routing_profile_id = $2",
                )
                .bind(instance_id)
                .bind(profile_id)
                .fetch_one(&self.reader)
                .await?;
                Ok(sqlx::Row::try_get(&row, "users")?)
            }

            async fn create_security_profile(
                &self,
                profile: &liaison_core::organisation::SecurityProfile,
            ) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO security_profiles (id, instance_id, name, description, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&profile.id)
                .bind(&profile.instance_id)
                .bind(&profile.name)
                .bind(profile.description.as_deref())
                .bind(profile.modified_ms)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn list_security_profiles(
                &self,
                instance_id: &str,
            ) -> Result<Vec<liaison_core::organisation::SecurityProfile>> {
                let rows = sqlx::query("SELECT * FROM security_profiles WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map($crate::sql::security_profile_from).collect()
            }

            async fn create_agent_status(
                &self,
                status: &liaison_core::organisation::AgentStatus,
            ) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO agent_statuses (id, instance_id, name, description, status_type, state, display_order, tags, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (instance_id, name) DO NOTHING",
                )
                .bind(&status.id)
                .bind(&status.instance_id)
                .bind(&status.name)
                .bind(status.description.as_deref())
                .bind(&status.status_type)
                .bind(&status.state)
                .bind(status.display_order)
                .bind(json_text(&status.tags))
                .bind(status.modified_ms)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn get_agent_status(
                &self,
                instance_id: &str,
                status_id: &str,
            ) -> Result<Option<liaison_core::organisation::AgentStatus>> {
                let row = sqlx::query("SELECT * FROM agent_statuses WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(status_id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map($crate::sql::agent_status_from).transpose()
            }

            async fn list_agent_statuses(
                &self,
                instance_id: &str,
            ) -> Result<Vec<liaison_core::organisation::AgentStatus>> {
                let rows = sqlx::query(
                    "SELECT * FROM agent_statuses WHERE instance_id = $1 \
                     ORDER BY CASE WHEN display_order IS NULL THEN 1 ELSE 0 END, display_order, name, id",
                )
                .bind(instance_id)
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map($crate::sql::agent_status_from).collect()
            }

            async fn create_user(
                &self,
                user: &liaison_core::organisation::User,
                password_hash: Option<&str>,
            ) -> Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO users (id, instance_id, username, password_hash, identity_info, phone_config, \
                     security_profile_ids, routing_profile_id, tags, modified_ms, agent_status_id, status_since_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (instance_id, username) DO NOTHING",
                )
                .bind(&user.id)
                .bind(&user.instance_id)
                .bind(&user.username)
                .bind(password_hash)
                .bind(json_text(&user.identity_info))
                .bind(user.phone_config.as_ref().map(json_text))
                .bind(json_text(&user.security_profile_ids))
                .bind(&user.routing_profile_id)
                .bind(json_text(&user.tags))
                .bind(user.modified_ms)
                .bind(user.status.as_ref().map(|status| status.agent_status_id.as_str()))
                .bind(user.status.as_ref().map(|status| status.since_ms))
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn get_user(
                &self,
                instance_id: &str,
                user_id: &str,
            ) -> Result<Option<liaison_core::organisation::User>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE instance_id = $1 AND id = $2",
                    $crate::sql::USER_COLUMNS
                )))
                .bind(instance_id)
                .bind(user_id)
                .fetch_optional(&self.reader)
                .await?;
                row.as_ref().map($crate::sql::user_from).transpose()
            }

            async fn list_users(&self, instance_id: &str) -> Result<Vec<liaison_core::organisation::User>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE instance_id = $1 ORDER BY username, id",
                    $crate::sql::USER_COLUMNS
                )))
                .bind(instance_id)
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map($crate::sql::user_from).collect()
            }

            async fn set_user_routing_profile(
                &self,
                instance_id: &str,
                user_id: &str,
                profile_id: &str,
                now_ms: i64,
            ) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE users SET routing_profile_id = $1, modified_ms = $2 WHERE instance_id = $3 AND id = $4",
                )
                .bind(profile_id)
                .bind(now_ms)
                .bind(instance_id)
                .bind(user_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn set_user_identity_info(
                &self,
                instance_id: &str,
                user_id: &str,
                identity_info: &liaison_core::organisation::IdentityInfo,
                now_ms: i64,
            ) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE users SET identity_info = $1, modified_ms = $2 WHERE instance_id = $3 AND id = $4",
                )
                .bind(json_text(identity_info))
                .bind(now_ms)
                .bind(instance_id)
                .bind(user_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn set_user_status(
                &self,
                instance_id: &str,
                user_id: &str,
                agent_status_id: &str,
                since_ms: i64,
            ) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let changed = sqlx::query(
                    "UPDATE users SET agent_status_id = $1, status_since_ms = $2, missed_ms = NULL \
                     WHERE instance_id = $3 AND id = $4",
                )
                .bind(agent_status_id)
                .bind(since_ms)
                .bind(instance_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM routing_rejections WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_user(&self, instance_id: &str, user_id: &str) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                // The user's row first, as in set_user_status, so the two cannot deadlock over
                // the user's rejections.
                let deleted = sqlx::query("DELETE FROM users WHERE instance_id = $1 AND id = $2")
                    .bind(instance_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    return Ok(false);
                }
                for statement in [
                    "DELETE FROM agent_sessions WHERE user_id = $1",
                    "DELETE FROM routing_rejections WHERE user_id = $1",
                ] {
                    sqlx::query(statement).bind(user_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn verify_user_password(
                &self,
                instance_id: &str,
                username: &str,
                password: &str,
            ) -> Result<Option<liaison_core::organisation::User>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {}, password_hash FROM users WHERE instance_id = $1 AND username = $2",
                    $crate::sql::USER_COLUMNS
                )))
                .bind(instance_id)
                .bind(username)
                .fetch_optional(&self.reader)
                .await?;
                let (user, stored_hash) = match &row {
                    Some(row) => (
                        Some($crate::sql::user_from(row)?),
                        sqlx::Row::try_get::<Option<String>, _>(row, "password_hash")?,
                    ),
                    None => (None, None),
                };
                // Argon2 runs whether or not the user exists (against a stand-in hash when not).
                let candidate = password.to_string();
                let matches = tokio::task::spawn_blocking(move || {
                    liaison_core::password::verify(stored_hash.as_deref(), &candidate)
                })
                .await
                .map_err(|e| $crate::StoreError(format!("the password check did not finish: {e}")))?;
                Ok(user.filter(|_| matches))
            }

            async fn enqueue_contact(
                &self,
                instance_id: &str,
                contact_id: &str,
                queue_id: &str,
                enqueued_ms: i64,
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                // Queued again where it waits, the contact keeps its place, offer and rejections.
                let changed = sqlx::query(
                    "INSERT INTO queued_contacts (contact_id, instance_id, queue_id, enqueued_ms, offered_to, offer_deadline_ms) \
                     VALUES ($1, $2, $3, $4, NULL, NULL) ON CONFLICT (contact_id) DO UPDATE SET \
                     instance_id = excluded.instance_id, queue_id = excluded.queue_id, enqueued_ms = excluded.enqueued_ms, \
                     offered_to = NULL, offer_deadline_ms = NULL \
                     WHERE queued_contacts.queue_id <> excluded.queue_id",
                )
                .bind(contact_id)
                .bind(instance_id)
                .bind(queue_id)
                .bind(enqueued_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 1 {
                    sqlx::query("DELETE FROM routing_rejections WHERE contact_id = $1")
                        .bind(contact_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn dequeue_contact(&self, contact_id: &str) -> Result<Option<$crate::QueuedContact>> {
                let mut tx = self.writer.begin().await?;
                let Some(row) = sqlx::query(
                    "DELETE FROM queued_contacts WHERE contact_id = $1 \
                     RETURNING contact_id, instance_id, queue_id, enqueued_ms, offered_to, offer_deadline_ms",
                )
                .bind(contact_id)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(None);
                };
                let mut removed = $crate::sql::queued_contact_from(&row)?;
                for row in sqlx::query("DELETE FROM routing_rejections WHERE contact_id = $1 RETURNING user_id")
                    .bind(contact_id)
                    .fetch_all(&mut *tx)
                    .await?
                {
                    removed.rejected_by.push(sqlx::Row::try_get(&row, "user_id")?);
                }
                removed.rejected_by.sort();
                tx.commit().await?;
                Ok(Some(removed))
            }

            async fn queued_contact(&self, contact_id: &str) -> Result<Option<$crate::QueuedContact>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{} WHERE q.contact_id = $1",
                    $crate::sql::QUEUED_CONTACTS
                )))
                .bind(contact_id)
                .fetch_all(&self.reader)
                .await?;
                Ok($crate::sql::queued_contacts_from(&rows)?.pop())
            }

            async fn queued_contacts(&self, instance_id: &str) -> Result<Vec<$crate::QueuedContact>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{} WHERE q.instance_id = $1 ORDER BY q.enqueued_ms, q.contact_id",
                    $crate::sql::QUEUED_CONTACTS
                )))
                .bind(instance_id)
                .fetch_all(&self.reader)
                .await?;
                $crate::sql::queued_contacts_from(&rows)
            }

            async fn offers_to(&self, user_id: &str) -> Result<Vec<$crate::QueuedContact>> {
                // Every offer lasts as long, so the earliest deadline is the oldest offer.
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{} WHERE q.offered_to = $1 ORDER BY q.offer_deadline_ms, q.contact_id",
                    $crate::sql::QUEUED_CONTACTS
                )))
                .bind(user_id)
                .fetch_all(&self.reader)
                .await?;
                $crate::sql::queued_contacts_from(&rows)
            }

            async fn open_offer(&self, contact_id: &str, user_id: &str, deadline_ms: i64) -> Result<bool> {
                let opened = sqlx::query(
                    "UPDATE queued_contacts SET offered_to = $1, offer_deadline_ms = $2 \
                     WHERE contact_id = $3 AND offered_to IS NULL",
                )
                .bind(user_id)
                .bind(deadline_ms)
                .bind(contact_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(opened == 1)
            }

            async fn close_offer(
                &self,
                contact_id: &str,
                user_id: &str,
                how: $crate::OfferClosed,
                deadline_ms: Option<i64>,
            ) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                // A write first: it locks the queued contact, so of a timeout and an acceptance
                // racing on two nodes, one finds the offer and the other does not.
                let Some(row) = sqlx::query(
                    "UPDATE queued_contacts SET offered_to = offered_to \
                     WHERE contact_id = $1 AND offered_to = $2 \
                     AND (offer_deadline_ms = $3 OR $3 IS NULL) RETURNING offer_deadline_ms",
                )
                .bind(contact_id)
                .bind(user_id)
                .bind(deadline_ms)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(false);
                };
                let deadline_ms: i64 = sqlx::Row::try_get(&row, "offer_deadline_ms")?;
                sqlx::query(
                    "UPDATE queued_contacts SET offered_to = NULL, offer_deadline_ms = NULL WHERE contact_id = $1",
                )
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
                match how {
                    $crate::OfferClosed::Withdrawn => {}
                    $crate::OfferClosed::Rejected => {
                        sqlx::query(
                            "INSERT INTO routing_rejections (contact_id, user_id) VALUES ($1, $2) \
                             ON CONFLICT (contact_id, user_id) DO NOTHING",
                        )
                        .bind(contact_id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    $crate::OfferClosed::Missed => {
                        // A status set as the offer ran out (after it was made) ends the
                        // missed state it would start.
                        sqlx::query(
                            "UPDATE users SET missed_ms = $1 WHERE id = $2 \
                             AND (status_since_ms IS NULL OR status_since_ms <= $1)",
                        )
                            .bind(deadline_ms)
                            .bind(user_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn take_offer(
                &self,
                contact_id: &str,
                user_id: &str,
                participant_id: &str,
                after_contact_flow_id: Option<&str>,
                now_ms: i64,
            ) -> Result<Option<$crate::AgentContact>> {
                let mut tx = self.writer.begin().await?;
                // Whatever its deadline: the router decides timeouts, through close_offer.
                let Some(row) = sqlx::query(
                    "DELETE FROM queued_contacts WHERE contact_id = $1 AND offered_to = $2 \
                     RETURNING instance_id, queue_id",
                )
                .bind(contact_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(None);
                };
                let instance_id: String = sqlx::Row::try_get(&row, "instance_id")?;
                let queue_id: String = sqlx::Row::try_get(&row, "queue_id")?;
                sqlx::query("DELETE FROM routing_rejections WHERE contact_id = $1")
                    .bind(contact_id)
                    .execute(&mut *tx)
                    .await?;
                // An agent who had the contact before takes it afresh; the time they cleared it
                // stays, for their idle time.
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO agent_contacts (contact_id, user_id, instance_id, participant_id, queue_id, \
                     state, accepted_ms, ended_ms, cleared_ms, after_contact_flow_id) \
                     VALUES ($1, $2, $3, $4, $5, 'CONNECTED', $6, NULL, NULL, $7) \
                     ON CONFLICT (contact_id, user_id) DO UPDATE SET instance_id = excluded.instance_id, \
                     participant_id = excluded.participant_id, queue_id = excluded.queue_id, \
                     state = excluded.state, accepted_ms = excluded.accepted_ms, ended_ms = NULL, \
                     after_contact_flow_id = excluded.after_contact_flow_id, guide_contact_id = NULL \
                     RETURNING {}",
                    $crate::sql::AGENT_CONTACT_COLUMNS
                )))
                .bind(contact_id)
                .bind(user_id)
                .bind(&instance_id)
                .bind(participant_id)
                .bind(&queue_id)
                .bind(now_ms)
                .bind(after_contact_flow_id)
                .fetch_one(&mut *tx)
                .await?;
                let taken = $crate::sql::agent_contact_from(&row)?;
                tx.commit().await?;
                Ok(Some(taken))
            }

            async fn agent_contacts(&self, user_id: &str) -> Result<Vec<$crate::AgentContact>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM agent_contacts WHERE user_id = $1 \
                     AND state IN ('CONNECTED', 'AFTER_CONTACT_WORK') ORDER BY accepted_ms, contact_id",
                    $crate::sql::AGENT_CONTACT_COLUMNS
                )))
                .bind(user_id)
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map($crate::sql::agent_contact_from).collect()
            }

            async fn contact_agents(&self, contact_id: &str) -> Result<Vec<$crate::AgentContact>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM agent_contacts WHERE contact_id = $1 \
                     AND state IN ('CONNECTED', 'AFTER_CONTACT_WORK') ORDER BY accepted_ms, user_id",
                    $crate::sql::AGENT_CONTACT_COLUMNS
                )))
                .bind(contact_id)
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map($crate::sql::agent_contact_from).collect()
            }

            async fn end_agent_contact(&self, contact_id: &str, user_id: &str, now_ms: i64) -> Result<bool> {
                let ended = sqlx::query(
                    "UPDATE agent_contacts SET state = 'AFTER_CONTACT_WORK', ended_ms = $1, \
                     guide_contact_id = CASE WHEN after_contact_flow_id IS NULL \
                     THEN guide_contact_id END \
                     WHERE contact_id = $2 AND user_id = $3 AND state = 'CONNECTED'",
                )
                .bind(now_ms)
                .bind(contact_id)
                .bind(user_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(ended == 1)
            }

            async fn set_agent_guide(
                &self,
                contact_id: &str,
                user_id: &str,
                guide_contact_id: &str,
            ) -> Result<bool> {
                let set = sqlx::query(
                    "UPDATE agent_contacts SET guide_contact_id = $1 \
                     WHERE contact_id = $2 AND user_id = $3 AND guide_contact_id IS NULL \
                     AND state IN ('CONNECTED', 'AFTER_CONTACT_WORK')",
                )
                .bind(guide_contact_id)
                .bind(contact_id)
                .bind(user_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(set == 1)
            }

            async fn get_timer(&self, contact_id: &str, name: &str) -> Result<Option<$crate::Timer>> {
                let row = sqlx::query(
                    "SELECT name, due_ms, data, wants_messages FROM timers WHERE contact_id = $1 AND name = $2",
                )
                .bind(contact_id)
                .bind(name)
                .fetch_optional(&self.reader)
                .await?;
                row.as_ref().map($crate::sql::timer_from).transpose()
            }

            async fn clear_agent_contact(&self, contact_id: &str, user_id: &str, now_ms: i64) -> Result<bool> {
                let cleared = sqlx::query(
                    "UPDATE agent_contacts SET state = 'CLEARED', cleared_ms = $1 \
                     WHERE contact_id = $2 AND user_id = $3 AND state IN ('CONNECTED', 'AFTER_CONTACT_WORK')",
                )
                .bind(now_ms)
                .bind(contact_id)
                .bind(user_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(cleared == 1)
            }

            async fn agent_routing(&self, instance_id: &str, user_id: &str) -> Result<Option<$crate::AgentRouting>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{} WHERE u.instance_id = $1 AND u.id = $2",
                    $crate::sql::AGENT_ROUTING
                )))
                .bind(instance_id)
                .bind(user_id)
                .fetch_optional(&self.reader)
                .await?;
                row.as_ref().map($crate::sql::agent_routing_from).transpose()
            }

            async fn agents_routing(&self, instance_id: &str) -> Result<Vec<$crate::AgentRouting>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{} WHERE u.instance_id = $1 ORDER BY u.id",
                    $crate::sql::AGENT_ROUTING
                )))
                .bind(instance_id)
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map($crate::sql::agent_routing_from).collect()
            }

            async fn claim_lease(&self, name: &str, holder: &str, now_ms: i64, until_ms: i64) -> Result<bool> {
                // One statement: of nodes claiming at once, the database lets one in.
                let claimed = sqlx::query(
                    "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
                     WHERE leases.holder = excluded.holder OR leases.until_ms <= $4",
                )
                .bind(name)
                .bind(holder)
                .bind(until_ms)
                .bind(now_ms)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(claimed == 1)
            }

            async fn create_agent_session(&self, session: &$crate::AgentSession, now_ms: i64) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("DELETE FROM agent_sessions WHERE expires_ms <= $1")
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO agent_sessions (token_hash, instance_id, user_id, expires_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(&session.token_hash)
                .bind(&session.instance_id)
                .bind(&session.user_id)
                .bind(session.expires_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn agent_session(&self, token_hash: &str, now_ms: i64) -> Result<Option<$crate::AgentSession>> {
                let row = sqlx::query(
                    "SELECT token_hash, instance_id, user_id, expires_ms FROM agent_sessions \
                     WHERE token_hash = $1 AND expires_ms > $2",
                )
                .bind(token_hash)
                .bind(now_ms)
                .fetch_optional(&self.reader)
                .await?;
                row.as_ref().map($crate::sql::agent_session_from).transpose()
            }

            async fn delete_agent_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM agent_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn associate_function(&self, instance_id: &str, function_arn: &str, now_ms: i64) -> Result<()> {
                sqlx::query(
                    "INSERT INTO lambda_functions (instance_id, function_arn, created_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (instance_id, function_arn) DO NOTHING",
                )
                .bind(instance_id)
                .bind(function_arn)
                .bind(now_ms)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn disassociate_function(&self, instance_id: &str, function_arn: &str) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM lambda_functions WHERE instance_id = $1 AND function_arn = $2")
                    .bind(instance_id)
                    .bind(function_arn)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }

            async fn list_functions(&self, instance_id: &str) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT function_arn FROM lambda_functions WHERE instance_id = $1 ORDER BY function_arn")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter()
                    .map(|row| sqlx::Row::try_get(row, "function_arn").map_err($crate::StoreError::from))
                    .collect()
            }

            async fn append_flow_logs(&self, contact_id: &str, records: &[$crate::FlowLogRecord]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for record in records {
                    sqlx::query($crate::sql::INSERT_FLOW_LOG)
                        .bind(contact_id)
                        .bind(record.at_ms)
                        .bind(&record.record)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn flow_logs(&self, contact_id: &str) -> Result<Vec<$crate::FlowLogRecord>> {
                let rows = sqlx::query("SELECT at_ms, record FROM flow_logs WHERE contact_id = $1 ORDER BY id")
                    .bind(contact_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::FlowLogRecord {
                            at_ms: sqlx::Row::try_get(row, "at_ms")?,
                            record: sqlx::Row::try_get(row, "record")?,
                        })
                    })
                    .collect()
            }

            async fn list_queues(&self, instance_id: &str) -> Result<Vec<(String, String)>> {
                let rows = sqlx::query("SELECT id, name FROM queues WHERE instance_id = $1 ORDER BY name, id")
                    .bind(instance_id)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter()
                    .map(|row| Ok((sqlx::Row::try_get(row, "id")?, sqlx::Row::try_get(row, "name")?)))
                    .collect()
            }

            async fn create_chat(&self, chat: NewChat) -> Result<CreateChat> {
                self.durable_create_chat(chat).await
            }

            async fn add_participant(
                &self,
                new: $crate::NewParticipant,
            ) -> Result<$crate::AddedParticipant> {
                use $crate::AddedParticipant;
                let mut tx = self.writer.begin().await?;
                let open = sqlx::query(LOCK_OPEN_CONTACT)
                    .bind(&new.participant.contact_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if open.is_none() {
                    return Ok(AddedParticipant::ContactClosed);
                }
                if let Some(key) = &new.client_token {
                    let claimed = sqlx::query(CLAIM_CLIENT_TOKEN)
                        .bind(&key.scope)
                        .bind(&key.token)
                        .bind(&key.request_hash)
                        .bind(&new.participant.id)
                        .bind(new.participant.joined_ms)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if claimed == 0 {
                        let row = sqlx::query(FIND_CLIENT_TOKEN)
                            .bind(&key.scope)
                            .bind(&key.token)
                            .fetch_one(&mut *tx)
                            .await?;
                        return Ok(AddedParticipant::Replayed($crate::Replay {
                            request_hash: sqlx::Row::try_get(&row, "request_hash")?,
                            result: sqlx::Row::try_get(&row, "result")?,
                        }));
                    }
                }
                let rows = sqlx::query("SELECT * FROM participants WHERE contact_id = $1")
                    .bind(&new.participant.contact_id)
                    .fetch_all(&mut *tx)
                    .await?;
                let present = rows.iter().map(participant_from).collect::<Result<Vec<_>>>()?;
                let refusal = (new.participant.role == liaison_core::ParticipantRole::CustomBot)
                    .then(|| {
                        liaison_core::idle::custom_participant_refusal(
                            &present,
                            new.connect_cutoff_ms,
                        )
                    })
                    .flatten();
                if let Some(refusal) = refusal {
                    return Ok(AddedParticipant::Refused(refusal));
                }
                let p = &new.participant;
                sqlx::query(INSERT_PARTICIPANT)
                    .bind(&p.id)
                    .bind(&p.contact_id)
                    .bind(p.role.as_str())
                    .bind(&p.display_name)
                    .bind(p.joined_ms)
                    .bind(p.left_ms)
                    .bind(p.connected_ms)
                    .execute(&mut *tx)
                    .await?;
                let t = &new.token;
                sqlx::query(INSERT_TOKEN)
                    .bind(&t.hash)
                    .bind(t.kind.as_str())
                    .bind(&t.participant_id)
                    .bind(&t.contact_id)
                    .bind(t.expires_ms)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(AddedParticipant::Added)
            }

            async fn set_timer_config(
                &self,
                contact_id: &str,
                config: &liaison_core::idle::TimerConfig,
            ) -> Result<bool> {
                let changed = sqlx::query(
                    "UPDATE contacts SET timer_config = $1 WHERE id = $2 AND state = 'OPEN'",
                )
                .bind(json_text(config))
                .bind(contact_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(changed == 1)
            }

            async fn claim_due_timers(
                &self,
                now_ms: i64,
                lease_until_ms: i64,
                limit: u32,
            ) -> Result<Vec<(String, String)>> {
                let rows = sqlx::query(CLAIM_DUE_TIMERS)
                    .bind(now_ms)
                    .bind(lease_until_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&self.writer)
                    .await?;
                rows.iter()
                    .map(|row| Ok((sqlx::Row::try_get(row, "contact_id")?, sqlx::Row::try_get(row, "name")?)))
                    .collect()
            }

            async fn append(&self, append: Append) -> Result<Appended> {
                self.durable_append(append).await
            }

            async fn insert_tokens(&self, tokens: &[TokenRecord]) -> Result<()> {
                self.durable_insert_tokens(tokens.to_vec()).await
            }

            async fn get_contact(&self, id: &str) -> Result<Option<Contact>> {
                let row = sqlx::query("SELECT * FROM contacts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(contact_from).transpose()
            }

            async fn list_participants(&self, contact_id: &str) -> Result<Vec<Participant>> {
                let rows =
                    sqlx::query("SELECT * FROM participants WHERE contact_id = $1 ORDER BY joined_ms, id")
                        .bind(contact_id)
                        .fetch_all(&self.reader)
                        .await?;
                rows.iter().map(participant_from).collect()
            }

            async fn token_holder(&self, hash: &str) -> Result<Option<$crate::TokenHolder>> {
                let row = sqlx::query(TOKEN_HOLDER_QUERY)
                    .bind(hash)
                    .fetch_optional(&self.reader)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::TokenHolder {
                    token: token_from(&Prefixed(&row, "t_"))?,
                    participant: participant_from(&Prefixed(&row, "p_"))?,
                    contact: contact_from(&row)?,
                }))
            }

            async fn merge_attributes(
                &self,
                contact_id: &str,
                updates: &BTreeMap<String, String>,
                max_bytes: usize,
            ) -> Result<MergedAttributes> {
                let mut tx = self.writer.begin().await?;
                // A write first: it locks the row (PostgreSQL) and takes SQLite's write lock
                // before reading, so a concurrent writer cannot slip between read and update.
                let Some(row) = sqlx::query(
                    "UPDATE contacts SET last_seq = last_seq WHERE id = $1 RETURNING attributes",
                )
                .bind(contact_id)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(MergedAttributes::NoSuchContact);
                };
                let text: String = sqlx::Row::try_get(&row, "attributes")?;
                let mut attributes: BTreeMap<String, String> =
                    serde_json::from_str(&text).map_err(|_| corrupt("attributes"))?;
                attributes.extend(updates.iter().map(|(k, v)| (k.clone(), v.clone())));
                let total_bytes = attributes_size(&attributes);
                if total_bytes > max_bytes {
                    return Ok(MergedAttributes::TooLarge { total_bytes });
                }
                sqlx::query("UPDATE contacts SET attributes = $1 WHERE id = $2")
                    .bind(json_text(&attributes))
                    .bind(contact_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(MergedAttributes::Merged)
            }

            async fn update_contact_data(
                &self,
                contact_id: &str,
                update: &ContactData,
                customer_id: Option<&str>,
            ) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                // A write first, as in merge_attributes: no writer slips between read and update.
                let Some(row) = sqlx::query(
                    "UPDATE contacts SET last_seq = last_seq WHERE id = $1 RETURNING contact_data",
                )
                .bind(contact_id)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(false);
                };
                let text: String = sqlx::Row::try_get(&row, "contact_data")?;
                let mut data: ContactData =
                    serde_json::from_str(&text).map_err(|_| corrupt("contact data"))?;
                data.apply(update.clone());
                sqlx::query(
                    "UPDATE contacts SET contact_data = $1, customer_id = COALESCE($2, customer_id) WHERE id = $3",
                )
                .bind(json_text(&data))
                .bind(customer_id)
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn items_after(
                &self,
                contact_id: &str,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<ChatItem>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE contact_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                )))
                .bind(contact_id)
                .bind(after_seq)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map(item_from).collect()
            }

            async fn find_item(&self, contact_id: &str, item_id: &str) -> Result<Option<ChatItem>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE contact_id = $1 AND id = $2"
                )))
                .bind(contact_id)
                .bind(item_id)
                .fetch_optional(&self.reader)
                .await?;
                row.as_ref().map(item_from).transpose()
            }

            async fn transcript_anchor(
                &self,
                contact_id: &str,
                anchor: &Anchor,
                direction: ScanDirection,
                viewer: ParticipantRole,
            ) -> Result<Option<i64>> {
                let query = match (anchor, direction) {
                    (Anchor::Id(id), _) => sqlx::query(
                        "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 AND (visible_to IS NULL OR visible_to = $3) AND id = $2",
                    )
                    .bind(contact_id)
                    .bind(id.clone()),
                    (Anchor::Time(at_ms), ScanDirection::Forward) => sqlx::query(
                        "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 AND (visible_to IS NULL OR visible_to = $3) AND absolute_ms >= $2 ORDER BY seq LIMIT 1",
                    )
                    .bind(contact_id)
                    .bind(*at_ms),
                    (Anchor::Time(at_ms), ScanDirection::Backward) => sqlx::query(
                        "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 AND (visible_to IS NULL OR visible_to = $3) AND absolute_ms <= $2 ORDER BY seq DESC LIMIT 1",
                    )
                    .bind(contact_id)
                    .bind(*at_ms),
                    (Anchor::MostRecent(offset), _) => sqlx::query(
                        "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 AND (visible_to IS NULL OR visible_to = $3) ORDER BY seq DESC LIMIT 1 OFFSET $2",
                    )
                    .bind(contact_id)
                    .bind(i64::from(*offset)),
                };
                let row = query
                    .bind(viewer.as_str())
                    .fetch_optional(&self.reader)
                    .await?;
                row.map(|row| sqlx::Row::try_get(&row, "seq").map_err($crate::StoreError::from))
                    .transpose()
            }

            async fn transcript_page(
                &self,
                contact_id: &str,
                direction: ScanDirection,
                from_seq: Option<i64>,
                limit: u32,
                viewer: ParticipantRole,
            ) -> Result<Vec<ChatItem>> {
                let (comparison, order, open_end) = match direction {
                    ScanDirection::Forward => (">=", "ASC", i64::MIN),
                    ScanDirection::Backward => ("<=", "DESC", i64::MAX),
                };
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE contact_id = $1 AND in_transcript = 1 AND seq {comparison} $2 \
                     AND (visible_to IS NULL OR visible_to = $4) ORDER BY seq {order} LIMIT $3"
                )))
                .bind(contact_id)
                .bind(from_seq.unwrap_or(open_end))
                .bind(i64::from(limit))
                .bind(viewer.as_str())
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map(item_from).collect()
            }

            async fn last_seqs(&self, contact_ids: &[String]) -> Result<Vec<(String, i64)>> {
                let mut found = Vec::with_capacity(contact_ids.len());
                for chunk in contact_ids.chunks(500) {
                    let placeholders: Vec<String> =
                        (1..=chunk.len()).map(|n| format!("${n}")).collect();
                    let sql = format!(
                        "SELECT id, last_seq FROM contacts WHERE id IN ({})",
                        placeholders.join(", ")
                    );
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for id in chunk {
                        query = query.bind(id);
                    }
                    for row in query.fetch_all(&self.reader).await? {
                        found.push((
                            sqlx::Row::try_get(&row, "id")?,
                            sqlx::Row::try_get(&row, "last_seq")?,
                        ));
                    }
                }
                Ok(found)
            }

            async fn count_open_contacts(&self) -> Result<i64> {
                let row = sqlx::query("SELECT COUNT(*) AS open FROM contacts WHERE state = 'OPEN'")
                    .fetch_one(&self.reader)
                    .await?;
                Ok(sqlx::Row::try_get(&row, "open")?)
            }

            async fn due_contacts(&self, now_ms: i64, limit: u32) -> Result<Vec<String>> {
                let rows = sqlx::query(
                    "SELECT id FROM contacts WHERE state = 'OPEN' AND expires_ms <= $1 \
                     ORDER BY expires_ms LIMIT $2",
                )
                .bind(now_ms)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await?;
                rows.iter()
                    .map(|row| sqlx::Row::try_get(row, "id").map_err($crate::StoreError::from))
                    .collect()
            }

            async fn announce(&self, node: &str, hints: &[(String, i64)]) -> Result<()> {
                self.announce_hints(node, hints).await
            }

            async fn listen(
                &self,
                node: &str,
            ) -> Result<Option<tokio::sync::mpsc::Receiver<$crate::Hint>>> {
                self.listen_hints(node).await
            }

            async fn open_contact_deadlines(&self) -> Result<Vec<(String, i64)>> {
                let rows = sqlx::query("SELECT id, expires_ms FROM contacts WHERE state = 'OPEN'")
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter()
                    .map(|row| Ok((sqlx::Row::try_get(row, "id")?, sqlx::Row::try_get(row, "expires_ms")?)))
                    .collect()
            }
        }

    };
}

pub(crate) use chat_store;
