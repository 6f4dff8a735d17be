//! Where attachment bytes are kept: files in the data directory for the embedded store, a
//! table for PostgreSQL (so every node of a cluster reaches them).

use crate::{Result, StoreError};
use async_trait::async_trait;
use std::path::PathBuf;

/// Bytes under a key (`contact/attachment`: letters, digits, `-`, `_` and one `/`).
#[async_trait]
pub trait Blobs: Send + Sync {
    async fn put_blob(&self, key: &str, data: Vec<u8>) -> Result<()>;
    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Deletes the bytes under `key`, if there are any.
    async fn delete_blob(&self, key: &str) -> Result<()>;
}

fn checked(key: &str) -> Result<&str> {
    let parts: Vec<&str> = key.split('/').collect();
    let fine = parts.len() == 2
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if fine {
        Ok(key)
    } else {
        Err(StoreError(format!("not a blob key: {key:?}")))
    }
}

/// Blobs as files under a directory.
#[derive(Debug, Clone)]
pub struct FileBlobs {
    root: PathBuf,
}

impl FileBlobs {
    pub fn new(root: PathBuf) -> Self {
        FileBlobs { root }
    }
}

#[async_trait]
impl Blobs for FileBlobs {
    async fn put_blob(&self, key: &str, data: Vec<u8>) -> Result<()> {
        let path = self.root.join(checked(key)?);
        tokio::task::spawn_blocking(move || write_durably(&path, &data))
            .await
            .map_err(|e| StoreError(format!("blob storage: {e}")))?
            .map_err(io_error)
    }

    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.root.join(checked(key)?)).await {
            Ok(data) => Ok(Some(data)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(error)),
        }
    }

    async fn delete_blob(&self, key: &str) -> Result<()> {
        match tokio::fs::remove_file(self.root.join(checked(key)?)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error(error)),
        }
    }
}

/// Written under a name of its own, flushed to disk, then renamed into place (and the rename
/// flushed): a reader never sees half a file, and a stored file survives a power loss.
fn write_durably(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a blob path has a directory"))?;
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(format!(
        ".{}.{}.partial",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("blob"),
        liaison_core::new_token()
    ));
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(data)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    std::fs::File::open(dir)?.sync_all()
}

fn io_error(error: std::io::Error) -> StoreError {
    StoreError(format!("blob storage: {error}"))
}

/// Blobs in PostgreSQL's `attachment_blobs` table.
#[derive(Debug, Clone)]
pub struct PostgresBlobs {
    pool: sqlx::PgPool,
}

impl PostgresBlobs {
    pub fn new(pool: sqlx::PgPool) -> Self {
        PostgresBlobs { pool }
    }
}

#[async_trait]
impl Blobs for PostgresBlobs {
    async fn put_blob(&self, key: &str, data: Vec<u8>) -> Result<()> {
        sqlx::query(
            "INSERT INTO attachment_blobs (blob_key, data) VALUES ($1, $2) \
             ON CONFLICT (blob_key) DO UPDATE SET data = EXCLUDED.data",
        )
        .bind(checked(key)?)
        .bind(data)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT data FROM attachment_blobs WHERE blob_key = $1")
            .bind(checked(key)?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(sqlx::Row::try_get(&row, "data")?),
            None => None,
        })
    }

    async fn delete_blob(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM attachment_blobs WHERE blob_key = $1")
            .bind(checked(key)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
