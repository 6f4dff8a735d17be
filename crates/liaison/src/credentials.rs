//! Admin SigV4 credentials: from the configuration, or generated once and kept in the data dir.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

const FILE_NAME: &str = "admin-credentials.json";

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
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(
        serde_json::to_string_pretty(&credentials)
            .map_err(std::io::Error::other)?
            .as_bytes(),
    )?;
    file.sync_all()?;
    Ok((credentials, true))
}
