//! `liaison`: a self-hosted chat contact center that speaks the Amazon Connect chat wire API.

mod config;
mod credentials;
mod widget;

use clap::{Parser, Subcommand};
use liaison_core::SystemClock;
use liaison_server::state::ServerConfig;
use liaison_store::{PostgresStore, SqliteStore, Store};
use liaison_wire::{Api, catalog};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "liaison",
    version,
    about = "Chat contact center speaking the Amazon Connect chat wire API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on (env LIAISON_LISTEN; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Data directory (env LIAISON_DATA_DIR; default ./liaison-data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// `postgres://…` to use PostgreSQL instead of SQLite (env LIAISON_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Print every operation of both AWS models and whether Liaison implements it.
    Operations,
    /// Work with exported Amazon Connect flows (Flow language JSON) offline.
    Flow {
        #[command(subcommand)]
        command: FlowCommand,
    },
    /// Work with stored contacts (chats). Works on the store `serve` uses.
    Contact {
        #[command(subcommand)]
        command: ContactCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage chat widgets and their security keys (the same as the admin API
    /// /liaison/widgets/…). Works on the store `serve` uses; prints JSON.
    Widget {
        #[command(subcommand)]
        command: widget::WidgetCommand,
        /// The instance (id or alias); default: the first one.
        #[arg(long, global = true)]
        instance: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ContactCommand {
    /// Delete an ended chat and everything of it: its transcript, participants, flow logs,
    /// routing records and shared files. Exits 1 if it is still going on or unknown.
    Delete {
        /// The contact (chat) id.
        contact_id: String,
    },
}

/// Where a command finds the store `serve` uses.
#[derive(clap::Args)]
struct StoreArgs {
    /// Data directory (env LIAISON_DATA_DIR; default ./liaison-data).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// `postgres://…` when the server stores in PostgreSQL (env LIAISON_DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum FlowCommand {
    /// Check flow files as CreateContactFlow would: prints each problem with its block; blocks
    /// Liaison does not run are warnings. Exits 1 when a file has errors.
    Validate {
        /// Exported flow JSON files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a contact's flow logs, one JSON record per line: the blocks its flows ran, their
    /// resolved parameters, results and next blocks. Flows log while UpdateFlowLoggingBehavior
    /// has logging on, or always with `log_every_flow_block`. Reads the store `serve` uses.
    Logs {
        /// The contact (chat) id.
        contact_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Operations => {
            print_operations();
            ExitCode::SUCCESS
        }
        Command::Flow {
            command: FlowCommand::Validate { files },
        } => validate_flows(&files),
        Command::Flow {
            command: FlowCommand::Logs { contact_id, store },
        } => on_store(store, async |store| {
            print_flow_logs(store, &contact_id).await
        }),
        Command::Contact {
            command: ContactCommand::Delete { contact_id },
            store,
        } => on_store(store, async |store| {
            Ok(match store.delete_contact(&contact_id).await? {
                liaison_store::DeletedContact::Deleted => {
                    println!("Deleted contact {contact_id} and its files.");
                    ExitCode::SUCCESS
                }
                liaison_store::DeletedContact::StillOpen => {
                    eprintln!(
                        "Contact {contact_id} is still going on; end it first (StopContact)."
                    );
                    ExitCode::FAILURE
                }
                liaison_store::DeletedContact::NotFound => {
                    eprintln!("No contact {contact_id}.");
                    ExitCode::FAILURE
                }
            })
        }),
        Command::Widget {
            command,
            instance,
            store,
        } => on_store(store, async |store| {
            widget::run(store, instance.as_deref(), command).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Serve {
            listen,
            data,
            config,
            database_url,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .init();
            let overrides = config::Overrides {
                listen,
                data_dir: data,
                database_url,
            };
            let (config, runtime) = match configured(config.as_deref(), overrides) {
                Ok(ready) => ready,
                Err(code) => return code,
            };
            match runtime.block_on(serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("liaison: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve(config: config::Config) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", config.data_dir.display()))?;
    let admin = match (&config.access_key_id, &config.secret_access_key) {
        (Some(id), Some(secret)) => (id.clone(), secret.clone()),
        (None, None) => {
            let (stored, created) = credentials::load_or_generate(&config.data_dir)?;
            if created {
                println!(
                    "Generated admin credentials (kept in {}):",
                    config.data_dir.display()
                );
                println!("  AWS_ACCESS_KEY_ID={}", stored.access_key_id);
                println!("  AWS_SECRET_ACCESS_KEY={}", stored.secret_access_key);
            } else {
                println!(
                    "Admin credentials: access key {} (see {}/admin-credentials.json)",
                    stored.access_key_id,
                    config.data_dir.display()
                );
            }
            (stored.access_key_id, stored.secret_access_key)
        }
        _ => {
            return Err(
                "set both LIAISON_ACCESS_KEY_ID and LIAISON_SECRET_ACCESS_KEY, or neither".into(),
            );
        }
    };
    if config.database_url.is_some() {
        println!("Storing data in PostgreSQL");
    }
    let store = open_store(&config).await?;
    let mut server_config = ServerConfig::new(vec![admin]);
    server_config.region = config.region.clone();
    server_config.account_id = config.account_id.clone();
    server_config.public_url = config.public_url.clone();
    server_config.timer_minute_ms = config.timer_minute_ms.max(1);
    server_config.functions = config.functions.clone();
    server_config.log_every_flow_block = config.log_every_flow_block;
    server_config.max_pending_flow_runs = config.max_pending_flow_runs;
    server_config.offer_seconds = config.offer_seconds.max(1);
    server_config.widget_starts_per_client_minute = config.widget_starts_per_client_minute;
    server_config.widget_starts_per_widget_minute = config.widget_starts_per_widget_minute;
    server_config.trusted_proxies = config.trusted_proxies.clone();
    server_config.demo_page = config.demo_page;
    server_config.max_attachment_bytes = config.max_attachment_bytes.max(1);
    server_config.attachment_scanner_url = config.attachment_scanner_url.clone();
    let state = liaison_server::start(store, Arc::new(SystemClock), server_config).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr()?;
    println!("Liaison listening on http://{address}");
    announce_workspace(&state, &config, address).await?;
    liaison_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// Creates the workspace administrator on the first start (password from
/// `LIAISON_ADMIN_PASSWORD`, or generated and kept in the data dir) and says where to sign in.
async fn announce_workspace(
    state: &liaison_server::state::AppState,
    config: &config::Config,
    address: std::net::SocketAddr,
) -> Result<(), Box<dyn std::error::Error>> {
    let base = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{address}"),
    };
    println!("Agent workspace: {base}/workspace/");
    if config.demo_page {
        println!("Try a chat as a customer: {base}/demo");
    }
    let chosen = std::env::var("LIAISON_ADMIN_PASSWORD").ok();
    let password = match &chosen {
        Some(password) => password.clone(),
        None => credentials::new_workspace_password()?,
    };
    let created = liaison_server::bootstrap::create_first_admin(
        state.store.as_ref(),
        state.clock.as_ref(),
        &password,
    )
    .await?;
    let username = liaison_server::bootstrap::FIRST_ADMIN_USERNAME;
    let kept = credentials::workspace_admin_file(&config.data_dir);
    if created && chosen.is_none() {
        credentials::keep_workspace_admin(
            &config.data_dir,
            &credentials::WorkspaceAdmin {
                username: username.into(),
                password: password.clone(),
            },
        )?;
        println!(
            "  sign in as {username} with password {password} (kept in {})",
            kept.display()
        );
    } else if created {
        println!("  sign in as {username} with the password in LIAISON_ADMIN_PASSWORD");
    } else if kept.is_file() {
        println!("  first sign-in: see {}", kept.display());
    }
    Ok(())
}

/// Opens the store the configuration names, as `serve` does.
async fn open_store(config: &config::Config) -> Result<Arc<dyn Store>, Box<dyn std::error::Error>> {
    Ok(match &config.database_url {
        Some(url) => Arc::new(PostgresStore::connect(url, None).await?),
        None => Arc::new(SqliteStore::open(&config.data_dir).await?),
    })
}

/// The configuration and a runtime to run a command in; the exit code when either fails.
fn configured(
    file: Option<&std::path::Path>,
    overrides: config::Overrides,
) -> Result<(config::Config, tokio::runtime::Runtime), ExitCode> {
    let config = config::load(file, overrides).map_err(|error| {
        eprintln!("liaison: configuration error: {error}");
        ExitCode::from(2)
    })?;
    let runtime = tokio::runtime::Runtime::new().map_err(|error| {
        eprintln!("liaison: cannot start the runtime: {error}");
        ExitCode::FAILURE
    })?;
    Ok((config, runtime))
}

/// Runs a command on the store `serve` uses, as the configuration and flags name it.
fn on_store(
    args: StoreArgs,
    command: impl AsyncFnOnce(&dyn Store) -> Result<ExitCode, Box<dyn std::error::Error>>,
) -> ExitCode {
    let overrides = config::Overrides {
        listen: None,
        data_dir: args.data,
        database_url: args.database_url,
    };
    let (config, runtime) = match configured(args.config.as_deref(), overrides) {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let outcome = runtime.block_on(async {
        if config.database_url.is_none() && !config.data_dir.is_dir() {
            return Err(format!("no data directory at {}", config.data_dir.display()).into());
        }
        let store = open_store(&config).await?;
        command(&*store).await
    });
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("liaison: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `liaison flow logs CONTACT_ID`: exits 1 when the contact has none.
async fn print_flow_logs(
    store: &dyn Store,
    contact_id: &str,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let records = store.flow_logs(contact_id).await?;
    if records.is_empty() {
        eprintln!(
            "No flow logs for contact {contact_id}: its flows have not turned logging on \
             (UpdateFlowLoggingBehavior), or the contact does not exist."
        );
        return Ok(ExitCode::FAILURE);
    }
    for record in records {
        println!("{}", record.record);
    }
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `liaison flow validate FILE…`.
fn validate_flows(files: &[PathBuf]) -> ExitCode {
    use liaison_core::flow::{ProblemKind, validate};
    let mut failed = false;
    for file in files {
        let content = match std::fs::read_to_string(file) {
            Ok(content) => content,
            Err(error) => {
                println!("{}: cannot read: {error}", file.display());
                failed = true;
                continue;
            }
        };
        let validation = validate(&content);
        let errors = validation
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::Invalid)
            .count();
        let warnings = validation.problems.len() - errors;
        println!(
            "{}: {}",
            file.display(),
            match (errors, warnings) {
                (0, 0) => "ok".to_string(),
                (0, w) => format!("ok, {w} block(s) Liaison does not run"),
                (e, w) => format!("{e} error(s), {w} block(s) Liaison does not run"),
            }
        );
        for problem in &validation.problems {
            let label = match problem.kind {
                ProblemKind::Invalid => "error",
                ProblemKind::Unsupported => "warning",
            };
            println!("  {label}: {problem}");
        }
        failed |= errors > 0;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_operations() {
    let operations = &catalog().operations;
    let mut implemented = [0usize; 2];
    let mut total = [0usize; 2];
    println!(
        "{:<20} {:<36} {:<7} {:<62} status",
        "api", "operation", "method", "path"
    );
    for op in operations {
        let index = usize::from(op.api == Api::Participant);
        total[index] += 1;
        let built = liaison_server::routes::handler(op.api, &op.name).is_some();
        if built {
            implemented[index] += 1;
        }
        println!(
            "{:<20} {:<36} {:<7} {:<62} {}",
            op.api.name(),
            op.name,
            op.method,
            op.path,
            if built { "implemented" } else { "not yet" }
        );
    }
    println!(
        "\nconnect: {}/{} implemented; connectparticipant: {}/{} implemented",
        implemented[0], total[0], implemented[1], total[1]
    );
}
