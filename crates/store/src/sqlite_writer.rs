//! The SQLite chat writer: one OS thread owning one connection, committing chat writes in groups.
//!
//! Chat writes arrive from many requests at once, and each commit of a `synchronous=FULL`
//! database waits for the disk. The writer takes every write that is queued, runs them in one
//! transaction (each in its own savepoint, so a failing or replayed write undoes only itself)
//! and pays for one disk flush per group instead of one per write. Nobody is answered before the
//! group's commit returns. The thread calls SQLite directly with cached prepared statements:
//! a statement costs microseconds, where a hop to an async driver's worker thread costs tens.

use crate::sql::{
    CLAIM_CLIENT_TOKEN, DELETE_CONTACT_TIMERS, DELETE_TIMER, END_CONTACT, EVERYONE_LEFT,
    FIND_CLIENT_TOKEN, FIND_TIMER, INSERT_CONTACT, INSERT_FLOW_LOG, INSERT_ITEM,
    INSERT_PARTICIPANT, INSERT_TOKEN, PARTICIPANT_CONNECTED, PARTICIPANT_LEFT, PUT_TIMER,
    RESERVE_SEQUENCE, SET_WATCHES_MESSAGES, append_result, json_text, state_text,
};
use crate::{
    Append, Appended, ClientTokenKey, CreateChat, NewChat, Replay, Result, StoreError, Timer,
    TimerEffect,
};
use liaison_core::{ChatItem, NewItem, ParticipantRole, TokenRecord};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// Most writes a group commit takes at once.
const MAX_GROUP: usize = 256;

/// A chat write waiting for the next group commit.
pub(crate) enum Work {
    CreateChat(Box<NewChat>),
    Append(Box<Append>),
    InsertTokens(Vec<TokenRecord>),
}

/// Where a write's result goes once its group has committed.
pub(crate) enum Reply {
    CreateChat(oneshot::Sender<Result<CreateChat>>),
    Append(oneshot::Sender<Result<Appended>>),
    InsertTokens(oneshot::Sender<Result<()>>),
}

enum Outcome {
    CreateChat(Result<CreateChat>),
    Append(Result<Appended>),
    InsertTokens(Result<()>),
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

/// Opens the writer's connection and starts its thread; the queue it returns feeds it.
pub(crate) fn start(path: &Path) -> Result<mpsc::Sender<(Work, Reply)>> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(WRITER_BUSY_TIMEOUT)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.set_prepared_statement_cache_capacity(32);
    // Checkpoints copy the log into the database file and wait for the disk; the checkpointer
    // thread does that beside the writer instead of inside one of its commits.
    connection.pragma_update(None, "wal_autocheckpoint", 0)?;
    let checkpointer = Connection::open(path)?;
    checkpointer.busy_timeout(Duration::from_secs(10))?;
    let (writer_alive, writer_gone) = std::sync::mpsc::channel::<()>();
    let restart_wanted = Arc::new(AtomicBool::new(false));
    let wanted = restart_wanted.clone();
    std::thread::Builder::new()
        .name("liaison-sqlite-checkpoint".into())
        .spawn(move || checkpoint(checkpointer, writer_gone, &wanted))
        .map_err(|e| StoreError(format!("cannot start the SQLite checkpoint thread: {e}")))?;
    let (queue, pending) = mpsc::channel(4 * MAX_GROUP);
    std::thread::Builder::new()
        .name("liaison-sqlite-writer".into())
        .spawn(move || run(connection, pending, writer_alive, &restart_wanted))
        .map_err(|e| StoreError(format!("cannot start the SQLite writer thread: {e}")))?;
    Ok(queue)
}

/// How long the writer waits for the database when something else holds it.
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// A log this long (64 MiB of 4 KiB pages), once copied, is started anew by the writer. Copying
/// alone never shortens it while reads go on all the time, and an ever longer log fills the
/// disk.
const RESTART_AT_FRAMES: i64 = 16_384;
/// How long the writer waits for readers of older snapshots when it restarts the log; if they
/// are not done by then, it tries again after a later commit.
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// Checkpoints the log until the writer thread has stopped, and asks the writer to restart a
/// long log once it is all copied.
fn checkpoint(
    connection: Connection,
    writer_gone: std::sync::mpsc::Receiver<()>,
    restart_wanted: &AtomicBool,
) {
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
        writer_gone.recv_timeout(CHECKPOINT_EVERY)
    {
        let copied = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match copied {
            Ok((frames, done)) if frames >= RESTART_AT_FRAMES && done == frames => {
                restart_wanted.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "SQLite checkpoint failed; retrying"),
        }
    }
}

/// Restarts the copied log from its beginning. The writer does it between two commits, so no
/// writer waits on it: only readers of older snapshots, for at most [`RESTART_WAIT`].
fn restart_log(connection: &Connection, restart_wanted: &AtomicBool) {
    if connection.busy_timeout(RESTART_WAIT).is_err() {
        return;
    }
    let restarted = connection.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| {
        row.get::<_, i64>(0)
    });
    match restarted {
        Ok(0) => restart_wanted.store(false, Ordering::Relaxed),
        Ok(_) => {}
        Err(error) => tracing::debug!(%error, "SQLite log restart postponed"),
    }
    if let Err(error) = connection.busy_timeout(WRITER_BUSY_TIMEOUT) {
        tracing::warn!(%error, "cannot restore the SQLite writer's busy timeout");
    }
}

/// Runs until every sender is gone; `_alive` keeps the checkpointer running meanwhile.
fn run(
    connection: Connection,
    mut pending: mpsc::Receiver<(Work, Reply)>,
    _alive: std::sync::mpsc::Sender<()>,
    restart_wanted: &AtomicBool,
) {
    while let Some(first) = pending.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match pending.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        commit_group(&connection, group);
        if restart_wanted.load(Ordering::Relaxed) {
            restart_log(&connection, restart_wanted);
        }
    }
}

fn commit_group(connection: &Connection, group: Vec<(Work, Reply)>) {
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        let message = error.to_string();
        for (_, reply) in group {
            reply.fail(&message);
        }
        return;
    }
    let mut done = Vec::with_capacity(group.len());
    for (work, reply) in group {
        if let Err(error) = connection.execute_batch("SAVEPOINT write") {
            reply.fail(&error.to_string());
            continue;
        }
        let outcome = match work {
            Work::CreateChat(chat) => Outcome::CreateChat(create_chat(connection, *chat)),
            Work::Append(append) => Outcome::Append(append_to(connection, *append)),
            Work::InsertTokens(tokens) => Outcome::InsertTokens(insert_tokens(connection, &tokens)),
        };
        // Only complete writes stay: a replay or a closed contact leaves nothing behind.
        let keep = matches!(
            outcome,
            Outcome::CreateChat(Ok(CreateChat::Created(_)))
                | Outcome::Append(Ok(Appended::Written(_)))
                | Outcome::InsertTokens(Ok(()))
        );
        let finish = if keep {
            connection.execute_batch("RELEASE write")
        } else {
            connection.execute_batch("ROLLBACK TO write; RELEASE write")
        };
        match finish {
            Ok(()) => done.push((reply, outcome)),
            Err(error) => reply.fail(&error.to_string()),
        }
    }
    match connection.execute_batch("COMMIT") {
        Ok(()) => {
            for (reply, outcome) in done {
                reply.send(outcome);
            }
        }
        Err(error) => {
            let message = error.to_string();
            let _ = connection.execute_batch("ROLLBACK");
            for (reply, _) in done {
                reply.fail(&message);
            }
        }
    }
}

/// Records the client token, or returns what it recorded before.
fn claim_client_token(
    connection: &Connection,
    key: &ClientTokenKey,
    result: &str,
    now_ms: i64,
) -> Result<Option<Replay>> {
    let claimed = connection
        .prepare_cached(CLAIM_CLIENT_TOKEN)?
        .execute(params![
            key.scope,
            key.token,
            key.request_hash,
            result,
            now_ms
        ])?;
    if claimed == 1 {
        return Ok(None);
    }
    let replay = connection.prepare_cached(FIND_CLIENT_TOKEN)?.query_row(
        params![key.scope, key.token],
        |row| {
            Ok(Replay {
                request_hash: row.get(0)?,
                result: row.get(1)?,
            })
        },
    )?;
    Ok(Some(replay))
}

/// Reserves sequence numbers for `items` (`None` if the contact is not open) and writes them.
fn append_items(
    connection: &Connection,
    contact_id: &str,
    items: Vec<NewItem>,
) -> Result<Option<Vec<ChatItem>>> {
    let last: Option<i64> = connection
        .prepare_cached(RESERVE_SEQUENCE)?
        .query_row(params![items.len() as i64, contact_id], |row| row.get(0))
        .optional()?;
    let Some(last) = last else {
        return Ok(None);
    };
    let first = last - items.len() as i64 + 1;
    let mut insert = connection.prepare_cached(INSERT_ITEM)?;
    let mut written = Vec::with_capacity(items.len());
    for (offset, item) in items.into_iter().enumerate() {
        let seq = first + offset as i64;
        insert.execute(params![
            contact_id,
            seq,
            item.id,
            item.item_type.as_str(),
            item.content_type,
            item.content,
            item.participant_id,
            item.display_name,
            item.role.map(ParticipantRole::as_str),
            item.absolute_ms,
            item.extra.as_ref().map(json_text),
            i64::from(item.in_transcript),
            item.visible_to.map(ParticipantRole::as_str),
        ])?;
        written.push(ChatItem {
            contact_id: contact_id.to_string(),
            seq,
            item,
        });
    }
    Ok(Some(written))
}

fn insert_tokens(connection: &Connection, tokens: &[TokenRecord]) -> Result<()> {
    let mut insert = connection.prepare_cached(INSERT_TOKEN)?;
    for token in tokens {
        insert.execute(params![
            token.hash,
            token.kind.as_str(),
            token.participant_id,
            token.contact_id,
            token.expires_ms
        ])?;
    }
    Ok(())
}

fn create_chat(connection: &Connection, chat: NewChat) -> Result<CreateChat> {
    let contact = &chat.contact;
    if let Some(key) = &chat.client_token
        && let Some(replay) =
            claim_client_token(connection, key, &contact.id, contact.initiated_ms)?
    {
        return Ok(CreateChat::Replayed(replay));
    }
    connection.prepare_cached(INSERT_CONTACT)?.execute(params![
        contact.id,
        contact.instance_id,
        contact.initial_contact_id,
        contact.related_contact_id,
        contact.flow_id,
        state_text(contact.state),
        json_text(&contact.attributes),
        contact.segment_attributes.as_ref().map(json_text),
        contact.customer_id,
        json_text(&contact.supported_content_types),
        contact.initiated_ms,
        contact.ended_ms,
        contact.expires_ms,
        json_text(&contact.timer_config),
    ])?;
    let customer = &chat.customer;
    connection
        .prepare_cached(INSERT_PARTICIPANT)?
        .execute(params![
            customer.id,
            customer.contact_id,
            customer.role.as_str(),
            customer.display_name,
            customer.joined_ms,
            customer.left_ms,
            customer.connected_ms,
        ])?;
    insert_tokens(connection, std::slice::from_ref(&chat.customer_token))?;
    let items = append_items(connection, &contact.id, chat.items)?.unwrap_or_default();
    for timer in &chat.timers {
        connection.prepare_cached(PUT_TIMER)?.execute(params![
            contact.id,
            timer.name,
            timer.due_ms,
            timer.data,
            i64::from(timer.wants_messages)
        ])?;
    }
    if !chat.timers.is_empty() {
        connection
            .prepare_cached(SET_WATCHES_MESSAGES)?
            .execute(params![contact.id])?;
    }
    for record in &chat.flow_logs {
        connection
            .prepare_cached(INSERT_FLOW_LOG)?
            .execute(params![contact.id, record.at_ms, record.record])?;
    }
    Ok(CreateChat::Created(items))
}

fn append_to(connection: &Connection, append: Append) -> Result<Appended> {
    let (result, now_ms) = append_result(&append.items);
    let mut items = append.items;
    let mut left: Vec<(String, i64)> = append.participant_left.into_iter().collect();
    // The whole group is one transaction on the only writer: the timer read here cannot change
    // before this write commits.
    let timer = match &append.timer {
        Some(update) => {
            let stored = connection
                .prepare_cached(FIND_TIMER)?
                .query_row(params![append.contact_id, update.name], |row| {
                    Ok(Timer {
                        name: row.get(0)?,
                        due_ms: row.get(1)?,
                        data: row.get(2)?,
                        wants_messages: row.get::<_, i64>(3)? != 0,
                    })
                })
                .optional()?;
            let effect: TimerEffect = (update.apply)(stored.as_ref());
            items.extend(effect.items);
            left.extend(effect.participants_left);
            Some((update.name.as_str(), effect.timer))
        }
        None => None,
    };
    let Some(written) = append_items(connection, &append.contact_id, items)? else {
        return Ok(Appended::ContactClosed);
    };
    if let Some(key) = &append.client_token
        && let Some(replay) = claim_client_token(connection, key, &result, now_ms)?
    {
        return Ok(Appended::Replayed(replay));
    }
    for (participant_id, at_ms) in &left {
        connection
            .prepare_cached(PARTICIPANT_LEFT)?
            .execute(params![at_ms, participant_id, append.contact_id])?;
    }
    if let Some((participant_id, at_ms)) = &append.participant_connected {
        connection
            .prepare_cached(PARTICIPANT_CONNECTED)?
            .execute(params![at_ms, participant_id, append.contact_id])?;
    }
    if let Some(at_ms) = append.end_contact_at {
        for statement in [END_CONTACT, EVERYONE_LEFT] {
            connection
                .prepare_cached(statement)?
                .execute(params![at_ms, append.contact_id])?;
        }
        connection
            .prepare_cached(DELETE_CONTACT_TIMERS)?
            .execute(params![append.contact_id])?;
    } else if let Some((name, timer)) = timer {
        match &timer {
            Some(timer) => connection.prepare_cached(PUT_TIMER)?.execute(params![
                append.contact_id,
                name,
                timer.due_ms,
                timer.data,
                i64::from(timer.wants_messages)
            ])?,
            None => connection
                .prepare_cached(DELETE_TIMER)?
                .execute(params![append.contact_id, name])?,
        };
        connection
            .prepare_cached(SET_WATCHES_MESSAGES)?
            .execute(params![append.contact_id])?;
    }
    Ok(Appended::Written(written))
}
