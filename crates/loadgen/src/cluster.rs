//! `loadgen cluster`: the throughput and latency phases against three configurations in one
//! run: one node on SQLite, one node on PostgreSQL, and several nodes sharing PostgreSQL with
//! the requests spread round-robin over them. Each PostgreSQL configuration gets a fresh schema,
//! dropped at the end even when the run fails.

use crate::bench::{self, Config, Percentiles, ServerProcess, TargetReport};
use crate::report::cell;
use crate::sys::Machine;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// What a cluster run needs besides the phase sizes.
pub struct ClusterSetup {
    pub liaison_bin: PathBuf,
    /// Where psql connects and whose database the nodes share (its `search_path` is set per
    /// configuration).
    pub database_url: String,
    pub nodes: usize,
    pub work: PathBuf,
}

/// Schemas made by this run and not dropped yet: (psql URL, schema). The watchdog drops them
/// before it ends the process.
static SCHEMAS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Runs `sql` with psql against `url`; returns its unaligned output.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .arg(url)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGOPTIONS", "-c statement_timeout=60000")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Drops every schema this run still holds (called by the watchdog before it exits).
pub fn drop_schemas_now() {
    let schemas = std::mem::take(&mut *SCHEMAS.lock().unwrap_or_else(|p| p.into_inner()));
    for (url, name) in schemas {
        let _ = psql(&url, &format!("drop schema if exists {name} cascade"));
    }
}

/// A schema that exists for one configuration and is dropped with this guard.
struct Schema {
    admin_url: String,
    name: String,
}

impl Schema {
    fn create(admin_url: &str) -> Result<Schema, String> {
        let name = format!("bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        psql(admin_url, &format!("create schema {name}"))?;
        SCHEMAS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((admin_url.to_string(), name.clone()));
        Ok(Schema {
            admin_url: admin_url.to_string(),
            name,
        })
    }

    /// The database URL with this schema as the connections' search_path.
    fn node_url(&self) -> String {
        let separator = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.admin_url, self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        SCHEMAS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(_, name)| name != &self.name);
        if let Err(e) = psql(
            &self.admin_url,
            &format!("drop schema if exists {} cascade", self.name),
        ) {
            eprintln!("[loadgen cluster] could not drop schema {}: {e}", self.name);
        }
    }
}

/// The database psql is connected to, for `pg_stat_database`.
fn current_database(url: &str) -> Result<String, String> {
    psql(url, "select current_database()")
}

/// Committed transactions of `database` so far, from `pg_stat_database`.
fn xact_commit(url: &str, database: &str) -> Option<u64> {
    let database = database.replace('\'', "''");
    psql(
        url,
        &format!("select xact_commit from pg_stat_database where datname = '{database}'"),
    )
    .ok()?
    .parse()
    .ok()
}

/// One configuration's outcome.
pub struct Outcome {
    pub name: String,
    pub nodes: usize,
    pub report: TargetReport,
}

/// Starts `count` nodes one after another (each healthy before the next), on SQLite when
/// `database_url` is `None`.
async fn start_nodes(
    setup: &ClusterSetup,
    tag: &str,
    count: usize,
    database_url: Option<&str>,
) -> Result<Vec<ServerProcess>, String> {
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        let data = setup.work.join(format!("{tag}-node{i}"));
        let log = setup.work.join(format!("{tag}-node{i}.log"));
        let node = bench::spawn_liaison_on(&setup.liaison_bin, &data, database_url, log)?;
        node.wait_healthy().await?;
        eprintln!(
            "[loadgen cluster] {tag} node {i}: pid {} on {}",
            node.pid, node.addr
        );
        nodes.push(node);
    }
    Ok(nodes)
}

async fn run_configuration(
    setup: &ClusterSetup,
    config: &Config,
    name: &str,
    tag: &str,
    nodes: usize,
    postgres: bool,
) -> Result<TargetReport, String> {
    let schema = if postgres {
        Some(Schema::create(&setup.database_url)?)
    } else {
        None
    };
    let node_url = schema.as_ref().map(Schema::node_url);
    let database = if postgres {
        Some(current_database(&setup.database_url)?)
    } else {
        None
    };
    let servers = start_nodes(setup, tag, nodes, node_url.as_deref()).await?;
    let refs: Vec<&ServerProcess> = servers.iter().collect();
    let admin_url = setup.database_url.clone();
    let counter = move || xact_commit(&admin_url, database.as_deref()?);
    let report = bench::run_nodes(
        name,
        &refs,
        config,
        if postgres { Some(&counter) } else { None },
    )
    .await;
    // Nodes first (they hold connections in the schema), then the schema.
    drop(refs);
    for server in servers {
        server.stop();
    }
    drop(schema);
    Ok(report)
}

/// Runs the three configurations one after another.
pub async fn run(setup: &ClusterSetup, config: &Config) -> Vec<Outcome> {
    let nodes = setup.nodes.max(1);
    let plan = [
        ("SQLite, 1 node".to_string(), "sqlite1", 1, false),
        ("PostgreSQL, 1 node".to_string(), "pg1", 1, true),
        (format!("PostgreSQL, {nodes} nodes"), "pgN", nodes, true),
    ];
    let mut outcomes = Vec::new();
    for (name, tag, count, postgres) in plan {
        let report = match run_configuration(setup, config, &name, tag, count, postgres).await {
            Ok(report) => report,
            Err(e) => {
                eprintln!("[loadgen cluster] {name}: {e}");
                TargetReport {
                    name: name.clone(),
                    errors: vec![e],
                    ..TargetReport::default()
                }
            }
        };
        outcomes.push(Outcome {
            name,
            nodes: count,
            report,
        });
    }
    outcomes
}

/// Share of the first `count` sends that went to another node than their chat's socket (send
/// `k` goes to node `k % n` for chat `k % chats`, whose socket is on node `(chat + 1) % n`).
fn cross_node_share(count: u64, chats: usize, nodes: usize) -> Option<f64> {
    if nodes < 2 || count == 0 {
        return None;
    }
    let chats = chats.max(1) as u64;
    let nodes = nodes as u64;
    let crossing = (0..count)
        .filter(|k| k % nodes != (k % chats + 1) % nodes)
        .count();
    Some(crossing as f64 / count as f64)
}

/// The Markdown report of a cluster run.
pub fn markdown(
    command_line: &str,
    machine: &Machine,
    config: &Config,
    outcomes: &[Outcome],
) -> String {
    let mut out = String::new();
    let c = config;
    let _ = writeln!(out, "## Liaison cluster comparison\n");
    let _ = writeln!(out, "Command: `{command_line}`\n");
    let _ = writeln!(
        out,
        "Machine: {} CPUs ({}), {} MiB RAM, Linux {}. The load generator, the nodes and \
         PostgreSQL share the machine.\n",
        machine.cpus, machine.model, machine.mem_total_mib, machine.kernel
    );
    let _ = write!(out, "| metric |");
    for o in outcomes {
        let _ = write!(out, " {} |", o.name);
    }
    let _ = write!(out, "\n|---|");
    for _ in outcomes {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out);
    let mut row = |name: String, values: Vec<Option<f64>>, decimals: usize| {
        let _ = write!(out, "| {name} |");
        for v in values {
            let _ = write!(out, " {} |", cell(v, decimals));
        }
        let _ = writeln!(out);
    };
    let tp = |f: &dyn Fn(&bench::ThroughputReport) -> Option<f64>| -> Vec<Option<f64>> {
        outcomes
            .iter()
            .map(|o| o.report.throughput.as_ref().and_then(f))
            .collect()
    };
    let lat = |f: &dyn Fn(&bench::LatencyReport) -> Option<f64>| -> Vec<Option<f64>> {
        outcomes
            .iter()
            .map(|o| o.report.latency.as_ref().and_then(f))
            .collect()
    };
    row(
        format!(
            "**Throughput**: acknowledged SendMessage/s ({} in flight, {} chats, {} s after {} s warm-up)",
            c.concurrency,
            c.throughput_chats,
            c.duration.as_secs_f64(),
            c.warmup.as_secs_f64()
        ),
        tp(&|t| Some(t.per_sec)),
        0,
    );
    row(
        "  failed requests".into(),
        tp(&|t| Some(t.failed as f64)),
        0,
    );
    row(
        "  aws/chat frames delivered per acknowledged message".into(),
        tp(&|t| Some(t.frames_delivered as f64 / t.acked_total.max(1) as f64)),
        3,
    );
    row(
        "  SendMessage response time p50 at saturation (ms)".into(),
        tp(&|t| Some(t.ack_latency.p50)),
        2,
    );
    row(
        "  SendMessage response time p99 at saturation (ms)".into(),
        tp(&|t| Some(t.ack_latency.p99)),
        2,
    );
    row(
        "  server CPU, all nodes (cores busy)".into(),
        tp(&|t| Some(t.cpu.server_cores)),
        2,
    );
    row(
        "  load generator CPU (cores busy)".into(),
        tp(&|t| Some(t.cpu.loadgen_cores)),
        2,
    );
    row(
        "  other CPU: PostgreSQL, kernel, other processes (cores busy)".into(),
        tp(&|t| Some(t.cpu.other_cores)),
        2,
    );
    row(
        "  whole machine busy (%)".into(),
        tp(&|t| Some(t.cpu.machine_busy * 100.0)),
        0,
    );
    row(
        "  PostgreSQL **transactions** (`xact_commit`, not round trips) per acknowledged SendMessage"
            .into(),
        tp(&|t| {
            t.db_transactions
                .map(|x| x as f64 / t.acked_total.max(1) as f64)
        }),
        2,
    );
    let cross: Vec<Option<f64>> = outcomes
        .iter()
        .map(|o| {
            let t = o.report.throughput.as_ref()?;
            cross_node_share(t.acked_total, t.chats, o.nodes).map(|s| s * 100.0)
        })
        .collect();
    row(
        "  sends to another node than the chat's socket (%)".into(),
        cross,
        0,
    );
    row(
        format!(
            "**Latency** at {} msgs/s over {} open chats for {} s: achieved send rate (msgs/s)",
            c.rate,
            c.latency_chats,
            c.latency_duration.as_secs_f64()
        ),
        lat(&|x| Some(x.achieved_rate)),
        0,
    );
    for (label, pick) in [
        ("p50", (|p: &Percentiles| p.p50) as fn(&Percentiles) -> f64),
        ("p90", |p: &Percentiles| p.p90),
        ("p99", |p: &Percentiles| p.p99),
        ("p99.9", |p: &Percentiles| p.p999),
        ("max", |p: &Percentiles| p.max),
    ] {
        row(
            format!("  send → own socket's aws/chat frame, {label} (ms)"),
            lat(&|x| Some(pick(&x.frame_latency))),
            2,
        );
    }
    row(
        "  send → HTTP 200, p99 (ms)".into(),
        lat(&|x| Some(x.ack_latency.p99)),
        2,
    );
    row(
        "  acknowledged, but no frame within 15 s".into(),
        lat(&|x| Some(x.lost as f64)),
        0,
    );
    row(
        "  failed (non-200 or transport error)".into(),
        lat(&|x| Some(x.failed as f64)),
        0,
    );
    row(
        "  not sent: --max-outstanding requests already in flight".into(),
        lat(&|x| Some(x.dropped as f64)),
        0,
    );
    row(
        "  generator lag behind schedule, p99 (ms)".into(),
        lat(&|x| Some(x.generator_lag.p99)),
        2,
    );
    row(
        "  server CPU, all nodes (cores busy)".into(),
        lat(&|x| Some(x.cpu.server_cores)),
        2,
    );
    row(
        "  other CPU: PostgreSQL, kernel, other processes (cores busy)".into(),
        lat(&|x| Some(x.cpu.other_cores)),
        2,
    );
    for o in outcomes {
        for e in &o.report.errors {
            let _ = writeln!(out, "\n{}: stopped early: {e}", o.name);
        }
        if let Some(t) = &o.report.throughput
            && let Some(f) = &t.first_failure
        {
            let _ = writeln!(out, "\n{}: first throughput failure: {f}", o.name);
        }
        if let Some(x) = &o.report.latency
            && let Some(f) = &x.first_failure
        {
            let _ = writeln!(out, "\n{}: first latency failure: {f}", o.name);
        }
    }
    let _ = writeln!(
        out,
        "\nRequests go round-robin over the nodes (SendMessage `k` to node `k mod n`); chat `i` \
         is started on node `i mod n` and its socket opened on node `(i + 1) mod n`. CPU is \
         summed over the nodes. PostgreSQL transactions are the `xact_commit` delta of the \
         database over the whole throughput phase (warm-up included, 11 s allowed for the \
         statistics to settle before and after), divided by all acknowledged messages of the \
         phase; reads outside an explicit transaction count as one each."
    );
    out
}

/// The figures as JSON.
pub fn json(outcomes: &[Outcome]) -> serde_json::Value {
    let p = |p: &Percentiles| serde_json::json!({"p50": p.p50, "p90": p.p90, "p99": p.p99, "p999": p.p999, "max": p.max});
    serde_json::Value::Array(
        outcomes
            .iter()
            .map(|o| {
                let t = o.report.throughput.as_ref();
                let l = o.report.latency.as_ref();
                serde_json::json!({
                    "configuration": o.name,
                    "nodes": o.nodes,
                    "errors": o.report.errors,
                    "throughput_per_sec": t.map(|t| t.per_sec),
                    "throughput_acked_total": t.map(|t| t.acked_total),
                    "throughput_failed": t.map(|t| t.failed),
                    "throughput_ack_latency_ms": t.map(|t| p(&t.ack_latency)),
                    "throughput_server_cores": t.map(|t| t.cpu.server_cores),
                    "throughput_other_cores": t.map(|t| t.cpu.other_cores),
                    "pg_transactions": t.and_then(|t| t.db_transactions),
                    "latency_achieved_rate": l.map(|x| x.achieved_rate),
                    "latency_frame_ms": l.map(|x| p(&x.frame_latency)),
                    "latency_ack_ms": l.map(|x| p(&x.ack_latency)),
                    "latency_lost": l.map(|x| x.lost),
                    "latency_failed": l.map(|x| x.failed),
                    "latency_server_cores": l.map(|x| x.cpu.server_cores),
                })
            })
            .collect(),
    )
}

/// Checks that psql reaches the database before anything starts.
pub fn preflight(url: &str, bin: &Path) -> Result<(), String> {
    if !bin.exists() {
        return Err(format!("{} does not exist", bin.display()));
    }
    psql(url, "select 1").map(|_| ())
}
