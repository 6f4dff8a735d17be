//! The embedded SQLite store: one file in the data directory, WAL mode, `synchronous=FULL`.
//!
//! Chat writes (new chats, items, tokens) go to the writer thread in `sqlite_writer`, which
//! commits them in groups. The few other writes (instances, flows, attributes) use a pool of one
//! connection; reads use their own small pool and see every committed write.

use crate::sql::{
    CLAIM_CLIENT_TOKEN, FIND_CLIENT_TOKEN, INSERT_PARTICIPANT, INSERT_TOKEN, ITEM_COLUMNS,
    LOCK_OPEN_CONTACT, Prefixed, TOKEN_HOLDER_QUERY, chat_store, contact_from, corrupt, flow_from,
    flow_module_from, instance_from, item_from, json_text, migrator, participant_from, token_from,
    view_from,
};
use crate::sqlite_writer::{self, Reply, Work};
use crate::{
    Append, Appended, CreateChat, MergedAttributes, NewChat, Result, StoreError, attributes_size,
};
use async_trait::async_trait;
use liaison_core::transcript::{Anchor, ScanDirection};
use liaison_core::{
    ChatItem, Contact, ContactData, Flow, FlowModule, Instance, Participant, ParticipantRole,
    TokenRecord, View,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const READ_CONNECTIONS: u32 = 4;

/// Claims due timers. The only node writes alone, so no row locks are needed.
const CLAIM_DUE_TIMERS: &str = "UPDATE timers SET leased_until = $2 \
    WHERE (contact_id, name) IN (SELECT contact_id, name FROM timers \
    WHERE due_ms <= $1 AND leased_until <= $1 ORDER BY due_ms LIMIT $3) \
    RETURNING contact_id, name";

/// This backend's own migrations, after the shared ones.
const MIGRATIONS: [(i64, &str, &str); 2] = [
    (
        3,
        "compact chat writes",
        include_str!("../migrations/sqlite/0003_compact_chat_writes.sql"),
    ),
    (
        8,
        "flow logs",
        include_str!("../migrations/sqlite/0008_flow_logs.sql"),
    ),
];

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Chat writes, committed in groups by the writer thread.
    chat_writes: mpsc::Sender<(Work, Reply)>,
    /// Attachment bytes, as files in the data directory.
    blobs: crate::FileBlobs,
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
        migrator(&MIGRATIONS)
            .run(&writer)
            .await
            .map_err(|e| StoreError(format!("migration failed: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.read_only(true))
            .await?;
        let chat_writes = sqlite_writer::start(&data_dir.join("liaison.db"))?;
        Ok(SqliteStore {
            writer,
            reader,
            chat_writes,
            blobs: crate::FileBlobs::new(data_dir.join("attachments")),
        })
    }

    async fn durable_create_chat(&self, chat: NewChat) -> Result<CreateChat> {
        let (reply, result) = oneshot::channel();
        self.submit(
            Work::CreateChat(Box::new(chat)),
            Reply::CreateChat(reply),
            result,
        )
        .await
    }

    async fn durable_append(&self, append: Append) -> Result<Appended> {
        let (reply, result) = oneshot::channel();
        self.submit(Work::Append(Box::new(append)), Reply::Append(reply), result)
            .await
    }

    async fn durable_insert_tokens(&self, tokens: Vec<TokenRecord>) -> Result<()> {
        let (reply, result) = oneshot::channel();
        self.submit(
            Work::InsertTokens(tokens),
            Reply::InsertTokens(reply),
            result,
        )
        .await
    }

    /// One process owns a SQLite database, so there is nobody to tell.
    async fn announce_hints(&self, _node: &str, _hints: &[(String, i64)]) -> Result<()> {
        Ok(())
    }

    async fn listen_hints(&self, _node: &str) -> Result<Option<mpsc::Receiver<crate::Hint>>> {
        Ok(None)
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

chat_store!(SqliteStore);
