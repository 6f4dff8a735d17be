//! The embedded SQLite store: one file in the data directory, WAL mode.
//!
//! Writes go through a pool of exactly one connection, so transactions never contend for
//! SQLite's single write lock; reads use their own small pool and see every committed write.
//! `synchronous=FULL` makes every commit reach the disk before the call returns.

use crate::sql::{
    ITEM_COLUMNS, Prefixed, TOKEN_HOLDER_QUERY, chat_store, contact_from, corrupt, flow_from,
    instance_from, item_from, json_text, migrator, participant_from, token_from,
};
use crate::{
    Append, Appended, ClientTokenKey, CreateChat, MergedAttributes, NewChat, Replay, Result,
    StoreError, attributes_size,
};
use async_trait::async_trait;
use liaison_core::transcript::{Anchor, ScanDirection};
use liaison_core::{
    ChatItem, Contact, ContactState, Flow, Instance, NewItem, Participant, ParticipantRole,
    TokenRecord,
};
use sqlx::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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
        migrator()
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
        self.submit(Work::Append(append), Reply::Append(reply), result)
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

chat_store!(SqliteStore, SqliteConnection);
