//! The PostgreSQL store, for cluster mode: several Liaison nodes share one database.
//!
//! Every chat write is its own transaction; PostgreSQL already groups concurrent commits into
//! shared WAL flushes. Per-contact sequence numbers come from a row-locked counter on the
//! contact, so appends through different nodes still get gapless, ordered numbers.

use crate::sql::{
    ITEM_COLUMNS, Prefixed, TOKEN_HOLDER_QUERY, chat_store, contact_from, corrupt, flow_from,
    instance_from, item_from, json_text, migrator, participant_from, token_from,
};
use crate::{
    Append, Appended, ClientTokenKey, CreateChat, Hint, MergedAttributes, NewChat, Replay, Result,
    StoreError, attributes_size,
};
use async_trait::async_trait;
use liaison_core::transcript::{Anchor, ScanDirection};
use liaison_core::{
    ChatItem, Contact, ContactState, Flow, Instance, NewItem, Participant, ParticipantRole,
    TokenRecord,
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

/// The PostgreSQL implementation of [`Store`](crate::Store).
#[derive(Clone)]
pub struct PostgresStore {
    /// One pool serves both; the names match the SQLite store's so the shared code reads the same.
    writer: PgPool,
    reader: PgPool,
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
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError(format!("migration failed: {e}")))?;
        Ok(PostgresStore {
            writer: pool.clone(),
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
        let mut tx = self.writer.begin().await?;
        let outcome = append_in(&mut tx, append).await?;
        tx.commit().await?;
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

    async fn durable_insert_tokens(&self, tokens: Vec<TokenRecord>) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        insert_tokens_in(&mut tx, tokens).await?;
        tx.commit().await?;
        Ok(())
    }
}

chat_store!(PostgresStore, PgConnection);

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
