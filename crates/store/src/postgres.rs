//! The PostgreSQL store, for cluster mode: several Liaison nodes share one database.
//!
//! Every chat write is its own transaction; PostgreSQL already groups concurrent commits into
//! shared WAL flushes. Per-contact sequence numbers come from a row-locked counter on the
//! contact, so appends through different nodes still get gapless, ordered numbers.

use crate::sql::{
    ITEM_COLUMNS, chat_store, contact_from, corrupt, flow_from, instance_from, item_from,
    json_text, participant_from, token_from,
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
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::collections::BTreeMap;
use std::str::FromStr;

const MIGRATIONS: [(i64, &str, &str); 1] = [(
    1,
    "chat core",
    include_str!("../migrations/postgres/0001_chat_core.sql"),
)];

const CONNECTIONS: u32 = 16;

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

    async fn durable_insert_tokens(&self, tokens: Vec<TokenRecord>) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        insert_tokens_in(&mut tx, tokens).await?;
        tx.commit().await?;
        Ok(())
    }
}

chat_store!(PostgresStore, PgConnection);
