//! The embedded SQLite store: one file in the data directory, WAL mode.
//!
//! Writes go through a pool of exactly one connection, so transactions never contend for
//! SQLite's single write lock; reads use their own small pool and see every committed write.
//! `synchronous=FULL` makes every commit reach the disk before the call returns.

use crate::{
    Append, Appended, ClientTokenKey, CreateChat, MergedAttributes, NewChat, Replay, Result, Store,
    StoreError, attributes_size,
};
use async_trait::async_trait;
use liaison_core::transcript::{Anchor, ScanDirection};
use liaison_core::{
    ChatItem, Contact, ContactState, Flow, Instance, ItemType, NewItem, Participant,
    ParticipantRole, TokenKind, TokenRecord,
};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const MIGRATIONS: [(i64, &str, &str); 1] = [(
    1,
    "chat core",
    include_str!("../migrations/sqlite/0001_chat_core.sql"),
)];

const READ_CONNECTIONS: u32 = 4;

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Chat writes, committed in groups by [`group_commit`].
    chat_writes: mpsc::Sender<(Work, Reply)>,
}

impl SqliteStore {
    /// Opens (creating if needed) `liaison.db` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("liaison.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let migrations = MIGRATIONS
            .iter()
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
            .run(&writer)
            .await
            .map_err(|e| StoreError(format!("migration failed: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.read_only(true))
            .await?;
        let (chat_writes, queue) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(group_commit(writer.clone(), queue));
        Ok(SqliteStore {
            writer,
            reader,
            chat_writes,
        })
    }

    /// Queues a chat write for the next group commit and waits until it is durable.
    async fn submit<T>(
        &self,
        work: Work,
        reply: Reply,
        result: oneshot::Receiver<Result<T>>,
    ) -> Result<T> {
        self.chat_writes
            .send((work, reply))
            .await
            .map_err(|_| StoreError("the database writer has stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError("the database writer dropped a write".into()))?
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn corrupt(what: &str) -> StoreError {
    StoreError(format!("unreadable {what} in the database"))
}

fn instance_from(row: &SqliteRow) -> Result<Instance> {
    Ok(Instance {
        id: row.try_get("id")?,
        alias: row.try_get("alias")?,
        created_ms: row.try_get("created_ms")?,
    })
}

fn flow_from(row: &SqliteRow) -> Result<Flow> {
    Ok(Flow {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        name: row.try_get("name")?,
        flow_type: row.try_get("flow_type")?,
        state: row.try_get("state")?,
        status: row.try_get("status")?,
        description: row.try_get("description")?,
        content: row.try_get("content")?,
        modified_ms: row.try_get("modified_ms")?,
    })
}

fn contact_from(row: &SqliteRow) -> Result<Contact> {
    let attributes: String = row.try_get("attributes")?;
    let segment_attributes: Option<String> = row.try_get("segment_attributes")?;
    let supported: String = row.try_get("supported_content_types")?;
    let state: String = row.try_get("state")?;
    Ok(Contact {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        initial_contact_id: row.try_get("initial_contact_id")?,
        related_contact_id: row.try_get("related_contact_id")?,
        flow_id: row.try_get("flow_id")?,
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
        customer_id: row.try_get("customer_id")?,
        supported_content_types: serde_json::from_str(&supported)
            .map_err(|_| corrupt("content types"))?,
        initiated_ms: row.try_get("initiated_ms")?,
        ended_ms: row.try_get("ended_ms")?,
        expires_ms: row.try_get("expires_ms")?,
        last_seq: row.try_get("last_seq")?,
    })
}

fn participant_from(row: &SqliteRow) -> Result<Participant> {
    let role: String = row.try_get("role")?;
    Ok(Participant {
        id: row.try_get("id")?,
        contact_id: row.try_get("contact_id")?,
        role: ParticipantRole::parse(&role).ok_or_else(|| corrupt("participant role"))?,
        display_name: row.try_get("display_name")?,
        joined_ms: row.try_get("joined_ms")?,
        left_ms: row.try_get("left_ms")?,
    })
}

fn token_from(row: &SqliteRow) -> Result<TokenRecord> {
    let kind: String = row.try_get("kind")?;
    Ok(TokenRecord {
        hash: row.try_get("hash")?,
        kind: TokenKind::parse(&kind).ok_or_else(|| corrupt("token kind"))?,
        participant_id: row.try_get("participant_id")?,
        contact_id: row.try_get("contact_id")?,
        expires_ms: row.try_get("expires_ms")?,
    })
}

fn item_from(row: &SqliteRow) -> Result<ChatItem> {
    let item_type: String = row.try_get("item_type")?;
    let role: Option<String> = row.try_get("role")?;
    let extra: Option<String> = row.try_get("extra")?;
    let in_transcript: i64 = row.try_get("in_transcript")?;
    Ok(ChatItem {
        contact_id: row.try_get("contact_id")?,
        seq: row.try_get("seq")?,
        item: NewItem {
            id: row.try_get("id")?,
            item_type: ItemType::parse(&item_type).ok_or_else(|| corrupt("item type"))?,
            content_type: row.try_get("content_type")?,
            content: row.try_get("content")?,
            participant_id: row.try_get("participant_id")?,
            display_name: row.try_get("display_name")?,
            role: match role {
                Some(text) => {
                    Some(ParticipantRole::parse(&text).ok_or_else(|| corrupt("item role"))?)
                }
                None => None,
            },
            absolute_ms: row.try_get("absolute_ms")?,
            extra: match extra {
                Some(text) => Some(serde_json::from_str(&text).map_err(|_| corrupt("item extra"))?),
                None => None,
            },
            in_transcript: in_transcript != 0,
        },
    })
}

async fn find_replay(tx: &mut SqliteConnection, key: &ClientTokenKey) -> Result<Option<Replay>> {
    let row = sqlx::query(
        "SELECT request_hash, result FROM client_tokens WHERE scope = $1 AND token = $2",
    )
    .bind(&key.scope)
    .bind(&key.token)
    .fetch_optional(&mut *tx)
    .await?;
    match row {
        Some(row) => Ok(Some(Replay {
            request_hash: row.try_get("request_hash")?,
            result: row.try_get("result")?,
        })),
        None => Ok(None),
    }
}

async fn record_client_token(
    tx: &mut SqliteConnection,
    key: &ClientTokenKey,
    result: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO client_tokens (scope, token, request_hash, result, created_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(&key.scope)
        .bind(&key.token)
        .bind(&key.request_hash)
        .bind(result)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn insert_token_in(tx: &mut SqliteConnection, token: &TokenRecord) -> Result<()> {
    sqlx::query("INSERT INTO tokens (hash, kind, participant_id, contact_id, expires_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(&token.hash)
        .bind(token.kind.as_str())
        .bind(&token.participant_id)
        .bind(&token.contact_id)
        .bind(token.expires_ms)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Writes `items` after the contact's current last sequence number and advances it.
async fn append_items(
    tx: &mut SqliteConnection,
    contact_id: &str,
    items: Vec<NewItem>,
) -> Result<Vec<ChatItem>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let last: i64 = sqlx::query(
        "UPDATE contacts SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq",
    )
    .bind(items.len() as i64)
    .bind(contact_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("last_seq")?;
    let first = last - items.len() as i64 + 1;
    let mut written = Vec::with_capacity(items.len());
    for (offset, item) in items.into_iter().enumerate() {
        let seq = first + offset as i64;
        sqlx::query(
            "INSERT INTO items (contact_id, seq, id, item_type, content_type, content, participant_id, \
             display_name, role, absolute_ms, extra, in_transcript) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(contact_id)
        .bind(seq)
        .bind(&item.id)
        .bind(item.item_type.as_str())
        .bind(&item.content_type)
        .bind(&item.content)
        .bind(&item.participant_id)
        .bind(&item.display_name)
        .bind(item.role.map(ParticipantRole::as_str))
        .bind(item.absolute_ms)
        .bind(item.extra.as_ref().map(json_text))
        .bind(i64::from(item.in_transcript))
        .execute(&mut *tx)
        .await?;
        written.push(ChatItem {
            contact_id: contact_id.to_string(),
            seq,
            item,
        });
    }
    Ok(written)
}

async fn commit(tx: Transaction<'_, Sqlite>) -> Result<()> {
    tx.commit().await.map_err(StoreError::from)
}

async fn create_chat_in(tx: &mut SqliteConnection, chat: NewChat) -> Result<CreateChat> {
    if let Some(key) = &chat.client_token
        && let Some(replay) = find_replay(&mut *tx, key).await?
    {
        return Ok(CreateChat::Replayed(replay));
    }
    let contact = &chat.contact;
    sqlx::query(
        "INSERT INTO contacts (id, instance_id, initial_contact_id, related_contact_id, flow_id, state, \
         attributes, segment_attributes, customer_id, supported_content_types, initiated_ms, ended_ms, \
         expires_ms, last_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0)",
    )
    .bind(&contact.id)
    .bind(&contact.instance_id)
    .bind(&contact.initial_contact_id)
    .bind(&contact.related_contact_id)
    .bind(&contact.flow_id)
    .bind(match contact.state {
        ContactState::Open => "OPEN",
        ContactState::Ended => "ENDED",
    })
    .bind(json_text(&contact.attributes))
    .bind(contact.segment_attributes.as_ref().map(json_text))
    .bind(&contact.customer_id)
    .bind(json_text(&contact.supported_content_types))
    .bind(contact.initiated_ms)
    .bind(contact.ended_ms)
    .bind(contact.expires_ms)
    .execute(&mut *tx)
    .await?;
    let customer = &chat.customer;
    sqlx::query(
        "INSERT INTO participants (id, contact_id, role, display_name, joined_ms, left_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&customer.id)
    .bind(&customer.contact_id)
    .bind(customer.role.as_str())
    .bind(&customer.display_name)
    .bind(customer.joined_ms)
    .bind(customer.left_ms)
    .execute(&mut *tx)
    .await?;
    insert_token_in(&mut *tx, &chat.customer_token).await?;
    let items = append_items(&mut *tx, &contact.id, chat.items).await?;
    if let Some(key) = &chat.client_token {
        record_client_token(&mut *tx, key, &contact.id, contact.initiated_ms).await?;
    }
    Ok(CreateChat::Created(items))
}

async fn append_in(tx: &mut SqliteConnection, append: Append) -> Result<Appended> {
    if let Some(key) = &append.client_token
        && let Some(replay) = find_replay(&mut *tx, key).await?
    {
        return Ok(Appended::Replayed(replay));
    }
    let state: Option<String> = sqlx::query("SELECT state FROM contacts WHERE id = $1")
        .bind(&append.contact_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("state"))
        .transpose()?;
    if state.as_deref() != Some("OPEN") {
        return Ok(Appended::ContactClosed);
    }
    if let Some((participant_id, at_ms)) = &append.participant_left {
        sqlx::query("UPDATE participants SET left_ms = $1 WHERE id = $2 AND contact_id = $3 AND left_ms IS NULL")
            .bind(at_ms)
            .bind(participant_id)
            .bind(&append.contact_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(at_ms) = append.end_contact_at {
        sqlx::query("UPDATE contacts SET state = 'ENDED', ended_ms = $1 WHERE id = $2")
            .bind(at_ms)
            .bind(&append.contact_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE participants SET left_ms = $1 WHERE contact_id = $2 AND left_ms IS NULL",
        )
        .bind(at_ms)
        .bind(&append.contact_id)
        .execute(&mut *tx)
        .await?;
    }
    let now_ms = append
        .items
        .first()
        .map(|i| i.absolute_ms)
        .unwrap_or_default();
    let written = append_items(&mut *tx, &append.contact_id, append.items).await?;
    if let Some(key) = &append.client_token {
        let result = written
            .first()
            .map(|i| i.item.id.clone())
            .unwrap_or_default();
        record_client_token(&mut *tx, key, &result, now_ms).await?;
    }
    Ok(Appended::Written(written))
}

async fn insert_tokens_in(tx: &mut SqliteConnection, tokens: Vec<TokenRecord>) -> Result<()> {
    for token in &tokens {
        insert_token_in(tx, token).await?;
    }
    Ok(())
}

/// Most writes a group commit takes at once.
const MAX_GROUP: usize = 256;

/// A chat write waiting for the next group commit.
enum Work {
    CreateChat(Box<NewChat>),
    Append(Append),
    InsertTokens(Vec<TokenRecord>),
}

/// Where a write's result goes once its group has committed.
enum Reply {
    CreateChat(oneshot::Sender<Result<CreateChat>>),
    Append(oneshot::Sender<Result<Appended>>),
    InsertTokens(oneshot::Sender<Result<()>>),
}

enum Outcome {
    CreateChat(Result<CreateChat>),
    Append(Result<Appended>),
    InsertTokens(Result<()>),
}

impl Outcome {
    fn is_ok(&self) -> bool {
        match self {
            Outcome::CreateChat(r) => r.is_ok(),
            Outcome::Append(r) => r.is_ok(),
            Outcome::InsertTokens(r) => r.is_ok(),
        }
    }
}

impl Reply {
    fn send(self, outcome: Outcome) {
        let _ = match (self, outcome) {
            (Reply::CreateChat(to), Outcome::CreateChat(result)) => to.send(result).map_err(drop),
            (Reply::Append(to), Outcome::Append(result)) => to.send(result).map_err(drop),
            (Reply::InsertTokens(to), Outcome::InsertTokens(result)) => {
                to.send(result).map_err(drop)
            }
            (reply, _) => {
                reply.fail("internal mix-up of write results");
                Ok(())
            }
        };
    }

    fn fail(self, message: &str) {
        let error = StoreError(message.to_string());
        let _ = match self {
            Reply::CreateChat(to) => to.send(Err(error)).map_err(drop),
            Reply::Append(to) => to.send(Err(error)).map_err(drop),
            Reply::InsertTokens(to) => to.send(Err(error)).map_err(drop),
        };
    }
}

/// The group-commit writer. Chat writes arrive from many requests at once; each commit of a
/// `synchronous=FULL` database waits for the disk, so the writer runs every write that is
/// queued in one transaction (each in its own savepoint, so one failing write undoes only
/// itself) and pays for one disk flush per group instead of one per write. Nobody is answered
/// before the group's commit returns.
async fn group_commit(pool: SqlitePool, mut queue: mpsc::Receiver<(Work, Reply)>) {
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        commit_group(&pool, group).await;
    }
}

async fn commit_group(pool: &SqlitePool, group: Vec<(Work, Reply)>) {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(error) => {
            let message = error.to_string();
            for (_, reply) in group {
                reply.fail(&message);
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(group.len());
    for (work, reply) in group {
        let mut savepoint = match sqlx::Connection::begin(&mut *tx).await {
            Ok(savepoint) => savepoint,
            Err(error) => {
                reply.fail(&error.to_string());
                continue;
            }
        };
        let mut outcome = match work {
            Work::CreateChat(chat) => {
                Outcome::CreateChat(create_chat_in(&mut savepoint, *chat).await)
            }
            Work::Append(append) => Outcome::Append(append_in(&mut savepoint, append).await),
            Work::InsertTokens(tokens) => {
                Outcome::InsertTokens(insert_tokens_in(&mut savepoint, tokens).await)
            }
        };
        if outcome.is_ok()
            && let Err(error) = savepoint.commit().await
        {
            outcome = match outcome {
                Outcome::CreateChat(_) => Outcome::CreateChat(Err(error.into())),
                Outcome::Append(_) => Outcome::Append(Err(error.into())),
                Outcome::InsertTokens(_) => Outcome::InsertTokens(Err(error.into())),
            };
        }
        done.push((reply, outcome));
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, outcome) in done {
                reply.send(outcome);
            }
        }
        Err(error) => {
            let message = error.to_string();
            for (reply, _) in done {
                reply.fail(&message);
            }
        }
    }
}

const ITEM_COLUMNS: &str = "contact_id, seq, id, item_type, content_type, content, participant_id, display_name, role, absolute_ms, extra, in_transcript";

#[async_trait]
impl Store for SqliteStore {
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

    async fn insert_queue(
        &self,
        instance_id: &str,
        id: &str,
        name: &str,
        description: &str,
        created_ms: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO queues (id, instance_id, name, description, created_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(instance_id)
            .bind(name)
            .bind(description)
            .bind(created_ms)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn list_queue_names(&self, instance_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT name FROM queues WHERE instance_id = $1 ORDER BY name")
            .bind(instance_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| row.try_get("name").map_err(StoreError::from))
            .collect()
    }

    async fn create_chat(&self, chat: NewChat) -> Result<CreateChat> {
        let (reply, result) = oneshot::channel();
        self.submit(
            Work::CreateChat(Box::new(chat)),
            Reply::CreateChat(reply),
            result,
        )
        .await
    }

    async fn append(&self, append: Append) -> Result<Appended> {
        let (reply, result) = oneshot::channel();
        self.submit(Work::Append(append), Reply::Append(reply), result)
            .await
    }

    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> Result<()> {
        let (reply, result) = oneshot::channel();
        self.submit(
            Work::InsertTokens(tokens.to_vec()),
            Reply::InsertTokens(reply),
            result,
        )
        .await
    }

    async fn get_contact(&self, id: &str) -> Result<Option<Contact>> {
        let row = sqlx::query("SELECT * FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(contact_from).transpose()
    }

    async fn get_participant(&self, id: &str) -> Result<Option<Participant>> {
        let row = sqlx::query("SELECT * FROM participants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(participant_from).transpose()
    }

    async fn list_participants(&self, contact_id: &str) -> Result<Vec<Participant>> {
        let rows =
            sqlx::query("SELECT * FROM participants WHERE contact_id = $1 ORDER BY joined_ms, id")
                .bind(contact_id)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(participant_from).collect()
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn merge_attributes(
        &self,
        contact_id: &str,
        updates: &BTreeMap<String, String>,
        max_bytes: usize,
    ) -> Result<MergedAttributes> {
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query("SELECT attributes FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(MergedAttributes::NoSuchContact);
        };
        let text: String = row.try_get("attributes")?;
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
        commit(tx).await?;
        Ok(MergedAttributes::Merged)
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
    ) -> Result<Option<i64>> {
        let query = match (anchor, direction) {
            (Anchor::Id(id), _) => sqlx::query(
                "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 AND id = $2",
            )
            .bind(contact_id)
            .bind(id.clone()),
            (Anchor::Time(at_ms), ScanDirection::Forward) => sqlx::query(
                "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 AND absolute_ms >= $2 ORDER BY seq LIMIT 1",
            )
            .bind(contact_id)
            .bind(*at_ms),
            (Anchor::Time(at_ms), ScanDirection::Backward) => sqlx::query(
                "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 AND absolute_ms <= $2 ORDER BY seq DESC LIMIT 1",
            )
            .bind(contact_id)
            .bind(*at_ms),
            (Anchor::MostRecent(offset), _) => sqlx::query(
                "SELECT seq FROM items WHERE contact_id = $1 AND in_transcript = 1 ORDER BY seq DESC LIMIT 1 OFFSET $2",
            )
            .bind(contact_id)
            .bind(i64::from(*offset)),
        };
        let row = query.fetch_optional(&self.reader).await?;
        row.map(|row| row.try_get("seq").map_err(StoreError::from))
            .transpose()
    }

    async fn transcript_page(
        &self,
        contact_id: &str,
        direction: ScanDirection,
        from_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatItem>> {
        let (comparison, order, open_end) = match direction {
            ScanDirection::Forward => (">=", "ASC", i64::MIN),
            ScanDirection::Backward => ("<=", "DESC", i64::MAX),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE contact_id = $1 AND in_transcript = 1 AND seq {comparison} $2 \
             ORDER BY seq {order} LIMIT $3"
        )))
        .bind(contact_id)
        .bind(from_seq.unwrap_or(open_end))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(item_from).collect()
    }

    async fn open_contact_deadlines(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT id, expires_ms FROM contacts WHERE state = 'OPEN'")
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("expires_ms")?)))
            .collect()
    }
}
