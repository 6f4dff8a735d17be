//! The PostgreSQL store, for cluster mode: several Liaison nodes share one database.
//!
//! Every chat write is its own transaction; PostgreSQL already groups concurrent commits into
//! shared WAL flushes. Per-contact sequence numbers come from a row-locked counter on the
//! contact, so appends through different nodes still get gapless, ordered numbers.

use crate::sql::{
    CLAIM_CLIENT_TOKEN, DELETE_CONTACT_TIMERS, DELETE_TIMER, END_CONTACT, EVERYONE_LEFT,
    FIND_CLIENT_TOKEN, FIND_TIMER, INSERT_CONTACT, INSERT_FLOW_LOG, INSERT_ITEM,
    INSERT_PARTICIPANT, INSERT_TOKEN, ITEM_COLUMNS, LOCK_OPEN_CONTACT, PARTICIPANT_CONNECTED,
    PARTICIPANT_LEFT, PUT_TIMER, Prefixed, RESERVE_SEQUENCE, SET_WATCHES_MESSAGES,
    TOKEN_HOLDER_QUERY, append_result, chat_store, contact_from, corrupt, flow_from,
    flow_module_from, instance_from, item_from, json_text, migrator, participant_from, state_text,
    timer_from, token_from, view_from,
};
use crate::{
    Append, Appended, ClientTokenKey, CreateChat, Hint, MergedAttributes, NewChat, Replay, Result,
    StoreError, attributes_size,
};
use async_trait::async_trait;
use liaison_core::transcript::{Anchor, ScanDirection};
use liaison_core::{
    ChatItem, Contact, ContactData, Flow, FlowModule, Instance, NewItem, Participant,
    ParticipantRole, TokenRecord, View,
};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::collections::BTreeMap;
use std::str::FromStr;
use tokio::sync::mpsc;

const CONNECTIONS: u32 = 16;
/// The `LISTEN`/`NOTIFY` channel nodes wake each other on.
const HINT_CHANNEL: &str = "liaison_chat";
/// PostgreSQL refuses `NOTIFY` payloads of 8,000 bytes or more.
const MAX_NOTIFY_PAYLOAD: usize = 7_900;

/// [`PostgresStore::append_one`]'s statement. Parameters: `$1`–`$3` the client token's scope,
/// token and request hash (all NULL without a token), `$4` the item's time, `$5` the contact,
/// `$6`–`$14` the item's other columns. The token is claimed only while
/// the contact is open, the sequence number reserved only if the claim succeeded (or no token
/// was given), and the item written only with a reserved number; `seq` is NULL when nothing was
/// written.
const APPEND_ONE: &str = "WITH claimed AS ( \
        INSERT INTO client_tokens (scope, token, request_hash, result, created_ms) \
        SELECT $1, $2, $3, $6, $4 WHERE $1::text IS NOT NULL \
        AND EXISTS (SELECT 1 FROM contacts WHERE id = $5 AND state = 'OPEN') \
        ON CONFLICT (scope, token) DO NOTHING RETURNING 1), \
    reserved AS ( \
        UPDATE contacts SET last_seq = last_seq + 1 \
        WHERE id = $5 AND state = 'OPEN' AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM claimed)) \
        RETURNING last_seq), \
    written AS ( \
        INSERT INTO items (contact_id, seq, id, item_type, content_type, content, participant_id, \
            display_name, role, absolute_ms, extra, in_transcript, visible_to) \
        SELECT $5, last_seq, $6, $7, $8, $9, $10, $11, $12, $4, $13, $14, $15 FROM reserved \
        RETURNING seq) \
    SELECT (SELECT seq FROM written) AS seq";

/// `node|contact:seq,contact:seq` → hints; malformed entries are skipped.
fn parse_hints(payload: &str) -> Vec<Hint> {
    let Some((_, entries)) = payload.split_once('|') else {
        return Vec::new();
    };
    entries
        .split(',')
        .filter_map(|entry| {
            let (contact_id, seq) = entry.rsplit_once(':')?;
            Some(Hint::Reached {
                contact_id: contact_id.to_string(),
                seq: seq.parse().ok()?,
            })
        })
        .collect()
}

/// Claims due timers: rows another node is claiming at the same moment are skipped, not waited
/// for, so concurrent sweeps on several nodes divide the due timers between them.
const CLAIM_DUE_TIMERS: &str = "UPDATE timers SET leased_until = $2 \
    WHERE (contact_id, name) IN (SELECT contact_id, name FROM timers \
    WHERE due_ms <= $1 AND leased_until <= $1 ORDER BY due_ms LIMIT $3 FOR UPDATE SKIP LOCKED) \
    RETURNING contact_id, name";

/// This backend's own migrations, after the shared ones.
const MIGRATIONS: [(i64, &str, &str); 3] = [
    (
        3,
        "compact chat writes",
        include_str!("../migrations/postgres/0003_compact_chat_writes.sql"),
    ),
    (
        8,
        "flow logs",
        include_str!("../migrations/postgres/0008_flow_logs.sql"),
    ),
    (
        26,
        "attachment blobs",
        include_str!("../migrations/postgres/0026_attachment_blobs.sql"),
    ),
];

/// The PostgreSQL implementation of [`Store`](crate::Store).
#[derive(Clone)]
pub struct PostgresStore {
    /// One pool serves both; the names match the SQLite store's so the shared code reads the same.
    writer: PgPool,
    reader: PgPool,
    /// Attachment bytes, in a table every node reaches.
    blobs: crate::PostgresBlobs,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and applies pending migrations. With `schema`, every
    /// table lives in that schema (created if missing), so several deployments or test runs can
    /// share one database.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?;
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError(format!(
                    "schema name {schema:?} may contain only letters, digits and '_'"
                )));
            }
            let mut setup = options.connect().await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&mut setup)
            .await?;
            setup.close().await?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .connect_with(options)
            .await?;
        migrator(&MIGRATIONS)
            .run(&pool)
            .await
            .map_err(|e| StoreError(format!("migration failed: {e}")))?;
        Ok(PostgresStore {
            writer: pool.clone(),
            blobs: crate::PostgresBlobs::new(pool.clone()),
            reader: pool,
        })
    }

    async fn durable_create_chat(&self, chat: NewChat) -> Result<CreateChat> {
        let mut tx = self.writer.begin().await?;
        let outcome = create_chat_in(&mut tx, chat).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn durable_append(&self, append: Append) -> Result<Appended> {
        if append.items.len() == 1
            && append.participant_left.is_none()
            && append.participant_connected.is_none()
            && append.end_contact_at.is_none()
            && append.timer.is_none()
        {
            return self.append_one(append).await;
        }
        let mut tx = self.writer.begin().await?;
        let outcome = append_in(&mut tx, append).await?;
        if matches!(outcome, Appended::Written(_)) {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    /// Sends the hints as `NOTIFY` payloads of the form `node|contact:seq,contact:seq,…`, as few
    /// as fit in PostgreSQL's payload limit. Sent after the writes committed, outside their
    /// transactions, so writers never queue behind the notification lock.
    async fn announce_hints(&self, node: &str, hints: &[(String, i64)]) -> Result<()> {
        let mut payload = String::new();
        for (contact_id, seq) in hints {
            let entry = format!("{contact_id}:{seq}");
            if !payload.is_empty() && payload.len() + entry.len() + 1 > MAX_NOTIFY_PAYLOAD {
                self.notify(&payload).await?;
                payload.clear();
            }
            if payload.is_empty() {
                payload.push_str(node);
                payload.push('|');
            } else {
                payload.push(',');
            }
            payload.push_str(&entry);
        }
        if !payload.is_empty() {
            self.notify(&payload).await?;
        }
        Ok(())
    }

    async fn notify(&self, payload: &str) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(HINT_CHANNEL)
            .bind(payload)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Listens for other nodes' hints. When the listening connection drops, sqlx reconnects
    /// and listens again at once; the hints sent in between are lost, so a `Resync` follows.
    async fn listen_hints(&self, node: &str) -> Result<Option<mpsc::Receiver<Hint>>> {
        let mut listener = PgListener::connect_with(&self.reader).await?;
        listener.listen(HINT_CHANNEL).await?;
        let (sender, receiver) = mpsc::channel(1024);
        let own_prefix = format!("{node}|");
        tokio::spawn(async move {
            loop {
                let hints = match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        let payload = notification.payload();
                        if payload.starts_with(&own_prefix) {
                            continue;
                        }
                        parse_hints(payload)
                    }
                    Ok(None) => vec![Hint::Resync],
                    Err(error) => {
                        tracing::warn!(%error, "lost the cluster hint listener; reconnecting");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        vec![Hint::Resync]
                    }
                };
                for hint in hints {
                    if sender.send(hint).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Some(receiver))
    }

    /// A single message or event, the bulk of chat traffic, as one statement: one round trip
    /// and an implicit transaction instead of five round trips.
    async fn append_one(&self, append: Append) -> Result<Appended> {
        let Some(item) = append.items.into_iter().next() else {
            return Ok(Appended::Written(Vec::new()));
        };
        let key = append.client_token;
        let row = sqlx::query(APPEND_ONE)
            .bind(key.as_ref().map(|k| &k.scope))
            .bind(key.as_ref().map(|k| &k.token))
            .bind(key.as_ref().map(|k| &k.request_hash))
            .bind(item.absolute_ms)
            .bind(&append.contact_id)
            .bind(&item.id)
            .bind(item.item_type.as_str())
            .bind(&item.content_type)
            .bind(&item.content)
            .bind(&item.participant_id)
            .bind(&item.display_name)
            .bind(item.role.map(ParticipantRole::as_str))
            .bind(item.extra.as_ref().map(json_text))
            .bind(i64::from(item.in_transcript))
            .bind(item.visible_to.map(ParticipantRole::as_str))
            .fetch_one(&self.writer)
            .await?;
        let seq: Option<i64> = sqlx::Row::try_get(&row, "seq")?;
        if let Some(seq) = seq {
            return Ok(Appended::Written(vec![ChatItem {
                contact_id: append.contact_id,
                seq,
                item,
            }]));
        }
        // Nothing written: the token was used before, or the contact is not open.
        let Some(key) = key else {
            return Ok(Appended::ContactClosed);
        };
        let replay = sqlx::query(FIND_CLIENT_TOKEN)
            .bind(&key.scope)
            .bind(&key.token)
            .fetch_optional(&self.reader)
            .await?;
        match replay {
            Some(row) => Ok(Appended::Replayed(Replay {
                request_hash: sqlx::Row::try_get(&row, "request_hash")?,
                result: sqlx::Row::try_get(&row, "result")?,
            })),
            None => Ok(Appended::ContactClosed),
        }
    }

    async fn durable_insert_tokens(&self, tokens: Vec<TokenRecord>) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for token in &tokens {
            insert_token_in(&mut tx, token).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

chat_store!(PostgresStore);

fn bind_item<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    contact_id: &'q str,
    seq: i64,
    item: &'q NewItem,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
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
        .bind(item.visible_to.map(ParticipantRole::as_str))
}

/// Records the client token, or returns what it recorded before.
async fn claim_client_token(
    tx: &mut PgConnection,
    key: &ClientTokenKey,
    result: &str,
    now_ms: i64,
) -> Result<Option<Replay>> {
    let claimed = sqlx::query(CLAIM_CLIENT_TOKEN)
        .bind(&key.scope)
        .bind(&key.token)
        .bind(&key.request_hash)
        .bind(result)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed == 1 {
        return Ok(None);
    }
    let row = sqlx::query(FIND_CLIENT_TOKEN)
        .bind(&key.scope)
        .bind(&key.token)
        .fetch_one(&mut *tx)
        .await?;
    Ok(Some(Replay {
        request_hash: sqlx::Row::try_get(&row, "request_hash")?,
        result: sqlx::Row::try_get(&row, "result")?,
    }))
}

async fn insert_token_in(tx: &mut PgConnection, token: &TokenRecord) -> Result<()> {
    sqlx::query(INSERT_TOKEN)
        .bind(&token.hash)
        .bind(token.kind.as_str())
        .bind(&token.participant_id)
        .bind(&token.contact_id)
        .bind(token.expires_ms)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Reserves sequence numbers for `items` (failing if the contact is not open) and writes them.
async fn append_items(
    tx: &mut PgConnection,
    contact_id: &str,
    items: Vec<NewItem>,
) -> Result<Option<Vec<ChatItem>>> {
    let Some(row) = sqlx::query(RESERVE_SEQUENCE)
        .bind(items.len() as i64)
        .bind(contact_id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let last: i64 = sqlx::Row::try_get(&row, "last_seq")?;
    let first = last - items.len() as i64 + 1;
    let mut written = Vec::with_capacity(items.len());
    for (offset, item) in items.into_iter().enumerate() {
        let seq = first + offset as i64;
        bind_item(sqlx::query(INSERT_ITEM), contact_id, seq, &item)
            .execute(&mut *tx)
            .await?;
        written.push(ChatItem {
            contact_id: contact_id.to_string(),
            seq,
            item,
        });
    }
    Ok(Some(written))
}

/// Writes a new chat; `None` when its client token was seen before (then with that replay).
async fn create_chat_in(tx: &mut PgConnection, chat: NewChat) -> Result<CreateChat> {
    let contact = &chat.contact;
    if let Some(key) = &chat.client_token
        && let Some(replay) =
            claim_client_token(&mut *tx, key, &contact.id, contact.initiated_ms).await?
    {
        return Ok(CreateChat::Replayed(replay));
    }
    sqlx::query(INSERT_CONTACT)
        .bind(&contact.id)
        .bind(&contact.instance_id)
        .bind(&contact.initial_contact_id)
        .bind(&contact.related_contact_id)
        .bind(&contact.flow_id)
        .bind(state_text(contact.state))
        .bind(json_text(&contact.attributes))
        .bind(contact.segment_attributes.as_ref().map(json_text))
        .bind(&contact.customer_id)
        .bind(json_text(&contact.supported_content_types))
        .bind(contact.initiated_ms)
        .bind(contact.ended_ms)
        .bind(contact.expires_ms)
        .bind(json_text(&contact.timer_config))
        .execute(&mut *tx)
        .await?;
    let customer = &chat.customer;
    sqlx::query(INSERT_PARTICIPANT)
        .bind(&customer.id)
        .bind(&customer.contact_id)
        .bind(customer.role.as_str())
        .bind(&customer.display_name)
        .bind(customer.joined_ms)
        .bind(customer.left_ms)
        .bind(customer.connected_ms)
        .execute(&mut *tx)
        .await?;
    insert_token_in(&mut *tx, &chat.customer_token).await?;
    let items = append_items(&mut *tx, &contact.id, chat.items)
        .await?
        .unwrap_or_default();
    for timer in &chat.timers {
        sqlx::query(PUT_TIMER)
            .bind(&contact.id)
            .bind(&timer.name)
            .bind(timer.due_ms)
            .bind(&timer.data)
            .bind(i64::from(timer.wants_messages))
            .execute(&mut *tx)
            .await?;
    }
    if !chat.timers.is_empty() {
        sqlx::query(SET_WATCHES_MESSAGES)
            .bind(&contact.id)
            .execute(&mut *tx)
            .await?;
    }
    for record in &chat.flow_logs {
        sqlx::query(INSERT_FLOW_LOG)
            .bind(&contact.id)
            .bind(record.at_ms)
            .bind(&record.record)
            .execute(&mut *tx)
            .await?;
    }
    Ok(CreateChat::Created(items))
}

/// Appends to an open contact. A replay or a closed contact leaves changes behind (the
/// reserved sequence numbers, the claimed token), so the caller commits only `Written`.
async fn append_in(tx: &mut PgConnection, append: Append) -> Result<Appended> {
    let (result, now_ms) = append_result(&append.items);
    let mut items = append.items;
    let mut left: Vec<(String, i64)> = append.participant_left.into_iter().collect();
    let timer = match &append.timer {
        Some(update) => {
            // The contact's row lock comes first, as in every write to it, then the timer:
            // whoever else updates this timer on any node waits for this commit.
            if sqlx::query(LOCK_OPEN_CONTACT)
                .bind(&append.contact_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_none()
            {
                return Ok(Appended::ContactClosed);
            }
            let stored = sqlx::query(FIND_TIMER)
                .bind(&append.contact_id)
                .bind(&update.name)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| timer_from(&row))
                .transpose()?;
            let effect = (update.apply)(stored.as_ref());
            items.extend(effect.items);
            left.extend(effect.participants_left);
            Some((update.name.as_str(), effect.timer))
        }
        None => None,
    };
    let Some(written) = append_items(&mut *tx, &append.contact_id, items).await? else {
        return Ok(Appended::ContactClosed);
    };
    if let Some(key) = &append.client_token
        && let Some(replay) = claim_client_token(&mut *tx, key, &result, now_ms).await?
    {
        return Ok(Appended::Replayed(replay));
    }
    for (participant_id, at_ms) in &left {
        sqlx::query(PARTICIPANT_LEFT)
            .bind(at_ms)
            .bind(participant_id)
            .bind(&append.contact_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some((participant_id, at_ms)) = &append.participant_connected {
        sqlx::query(PARTICIPANT_CONNECTED)
            .bind(at_ms)
            .bind(participant_id)
            .bind(&append.contact_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(at_ms) = append.end_contact_at {
        for statement in [END_CONTACT, EVERYONE_LEFT] {
            sqlx::query(statement)
                .bind(at_ms)
                .bind(&append.contact_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(DELETE_CONTACT_TIMERS)
            .bind(&append.contact_id)
            .execute(&mut *tx)
            .await?;
    } else if let Some((name, timer)) = timer {
        match &timer {
            Some(timer) => sqlx::query(PUT_TIMER)
                .bind(&append.contact_id)
                .bind(name)
                .bind(timer.due_ms)
                .bind(&timer.data)
                .bind(i64::from(timer.wants_messages)),
            None => sqlx::query(DELETE_TIMER)
                .bind(&append.contact_id)
                .bind(name),
        }
        .execute(&mut *tx)
        .await?;
        sqlx::query(SET_WATCHES_MESSAGES)
            .bind(&append.contact_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(Appended::Written(written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_payloads_parse_and_skip_garbage() {
        assert_eq!(
            parse_hints("node-1|c1:5,c2:17,bad,c3:x"),
            vec![
                Hint::Reached {
                    contact_id: "c1".into(),
                    seq: 5
                },
                Hint::Reached {
                    contact_id: "c2".into(),
                    seq: 17
                },
            ]
        );
        assert_eq!(parse_hints("no separator"), Vec::new());
    }
}
