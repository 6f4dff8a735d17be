//! Configuration: defaults, then a TOML file, then `LIAISON_*` environment variables, then
//! command-line flags.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything `liaison serve` can be told. Each field is also a TOML key and, upper-cased with a
/// `LIAISON_` prefix, an environment variable (`listen` = `LIAISON_LISTEN`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub listen: String,
    /// Directory for the database and generated credentials. Default `./liaison-data`.
    pub data_dir: PathBuf,
    /// Region used in ARNs. Any region is accepted in signatures. Default `us-east-1`.
    pub region: String,
    /// Account id used in ARNs. Default `000000000000`.
    pub account_id: String,
    /// URL clients reach Liaison at (e.g. `https://chat.example.com`); WebSocket URLs are built
    /// from it. Unset: from the request's host, as `ws://`.
    pub public_url: Option<String>,
    /// `postgres://…` to store everything in PostgreSQL instead of the embedded SQLite.
    pub database_url: Option<String>,
    /// Admin access key id for SigV4. Unset: generated on first start and kept in the data dir.
    pub access_key_id: Option<String>,
    /// Admin secret access key for SigV4.
    pub secret_access_key: Option<String>,
    /// Length of one minute of chat timers in milliseconds (shorten for tests and demos).
    pub timer_minute_ms: i64,
    /// HTTP endpoints standing in for Lambda functions: function ARN or name → URL. A flow's
    /// InvokeLambdaFunction POSTs Connect's event there.
    #[serde(default)]
    pub functions: std::collections::BTreeMap<String, String>,
    /// Write every block of every flow run to the flow logs (`liaison flow logs`), not only
    /// while a flow has logging enabled with UpdateFlowLoggingBehavior. Default `false`.
    pub log_every_flow_block: bool,
    /// Flow runs a node may have pending before StartChatContact answers
    /// LimitExceededException. Default 4096.
    pub max_pending_flow_runs: i64,
    /// How long an agent has to accept an offered chat, in timer seconds. Default 20.
    pub offer_seconds: i64,
    /// Chats one client address may start through widgets per minute. Default 30.
    pub widget_starts_per_client_minute: u32,
    /// Chats one widget may start per minute. Default 1200.
    pub widget_starts_per_widget_minute: u32,
    /// Addresses of reverse proxies in front of Liaison: behind them, the client of a widget
    /// start is the one their `X-Forwarded-For` names. Default none.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve the demo page at /demo, whose widget lets anyone reaching Liaison start a chat.
    /// Default `true`.
    pub demo_page: bool,
    /// Largest file a participant may share in a chat, in bytes. Default 20 MiB.
    pub max_attachment_bytes: i64,
    /// An HTTP endpoint that approves or rejects each shared file before it is shown: it gets
    /// the bytes in a POST and answers `{"Status": "APPROVED"}` or `{"Status": "REJECTED"}`.
    pub attachment_scanner_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("liaison-data"),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            public_url: None,
            database_url: None,
            access_key_id: None,
            secret_access_key: None,
            timer_minute_ms: 60_000,
            functions: Default::default(),
            log_every_flow_block: false,
            max_pending_flow_runs: 4_096,
            offer_seconds: 20,
            widget_starts_per_client_minute: 30,
            widget_starts_per_widget_minute: 1_200,
            trusted_proxies: Vec::new(),
            demo_page: true,
            max_attachment_bytes: liaison_core::attachment::DEFAULT_MAX_ATTACHMENT_BYTES,
            attachment_scanner_url: None,
        }
    }
}

/// Flags given on the command line; they win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, Box<figment::Error>> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file));
    }
    figment
        .merge(Env::prefixed("LIAISON_"))
        .merge(Serialized::defaults(overrides))
        .extract()
        .map_err(Box::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_flags_win() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../liaison.example.toml");
        let config = load(
            Some(&example),
            Overrides {
                listen: Some("127.0.0.1:9999".into()),
                data_dir: None,
                database_url: None,
            },
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9999");
        assert_eq!(config.timer_minute_ms, 60_000);
        assert_eq!(config.region, "us-east-1");
    }
}
