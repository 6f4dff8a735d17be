//! Admin SigV4 credentials, and the workspace administrator's first password: from the
//! configuration, or generated once and kept in the data dir.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

const FILE_NAME: &str = "admin-credentials.json";
const WORKSPACE_ADMIN_FILE_NAME: &str = "workspace-admin.json";

#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

fn random_text(alphabet: &[u8], length: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; length];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect())
}

/// Reads the stored pair, or creates one (readable by the owner only). The flag says whether
/// it was created now.
pub fn load_or_generate(data_dir: &Path) -> std::io::Result<(Credentials, bool)> {
    let path = data_dir.join(FILE_NAME);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let credentials = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::other(format!("{} is not valid: {e}", path.display())))?;
        return Ok((credentials, false));
    }
    let credentials = Credentials {
        access_key_id: format!(
            "LIAISON{}",
            random_text(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 13)?
        ),
        secret_access_key: random_text(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            40,
        )?,
    };
    write_private(&path, &credentials)?;
    Ok((credentials, true))
}

/// The workspace administrator's sign-in, as first created.
#[derive(Serialize, Deserialize)]
pub struct WorkspaceAdmin {
    pub username: String,
    pub password: String,
}

/// A first password for the workspace administrator that meets Connect's password policy
/// (upper and lower case letters and a digit).
pub fn new_workspace_password() -> std::io::Result<String> {
    let body = random_text(
        b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
        16,
    )?;
    Ok(format!("Lz{body}7"))
}

/// Keeps the workspace administrator's first sign-in in the data dir (readable by the owner
/// only), so it can be looked up after the first start's output is gone.
pub fn keep_workspace_admin(data_dir: &Path, admin: &WorkspaceAdmin) -> std::io::Result<()> {
    write_private(&data_dir.join(WORKSPACE_ADMIN_FILE_NAME), admin)
}

/// Where [`keep_workspace_admin`] keeps it.
pub fn workspace_admin_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(WORKSPACE_ADMIN_FILE_NAME)
}

/// Writes a new file only the owner can read.
fn write_private(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(
        serde_json::to_string_pretty(value)
            .map_err(std::io::Error::other)?
            .as_bytes(),
    )?;
    file.sync_all()
}
