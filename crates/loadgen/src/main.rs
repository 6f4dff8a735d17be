//! `loadgen`: Liaison's benchmark load generator.
//!
//! By default it starts Liaison (`--liaison-bin`) and a bare in-memory relay (`loadgen relay`,
//! the baseline) as child processes on free 127.0.0.1 ports, runs the same phases against each
//! (idle sockets and RSS, durable SendMessage throughput, latency at a fixed rate), stops them and
//! prints a Markdown table. All traffic stays on 127.0.0.1 and every loop is bounded.

mod bench;
mod client;
mod cluster;
mod flows;
mod relay;
mod report;
mod routing;
mod sys;
mod timers;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Benchmark Liaison against a bare in-memory WebSocket relay",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the baseline relay (what the benchmark starts as its second server).
    Relay {
        /// Address to listen on; port 0 picks a free one. The address is printed on stdout.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
    /// Compare one SQLite node, one PostgreSQL node and several PostgreSQL nodes sharing one
    /// database (throughput and latency phases only; --sockets, --targets are ignored).
    Cluster {
        /// PostgreSQL database the nodes share; each configuration gets a fresh schema in it.
        #[arg(long, env = "LIAISON_DATABASE_URL")]
        database_url: String,
        /// Nodes of the multi-node configuration.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        #[command(flatten)]
        bench: Box<BenchArgs>,
    },
    /// What chat timers cost: the timer wheel alone against a plain map of deadlines, a Liaison
    /// with timed chats against one with the same chats untimed (RSS, CPU at rest), and timer
    /// lateness with and without SendMessage load.
    Timers(Box<TimersArgs>),
    /// What contact flows cost: the flow interpreter alone (blocks per second on one core)
    /// against bare identifier lookups, and StartChatContact on a 10-block flow against the
    /// same load on a 1-block flow, each on a fresh Liaison.
    Flows(Box<FlowsArgs>),
    /// How long a routing decision takes: the router with 1,000 agents and 10,000 chats queued,
    /// in process, against a router that scans every agent and contact at every call.
    Routing(RoutingArgs),
    /// Arms keys in one timer store and prints its RSS and timings as JSON (`timers` runs it in
    /// a process of its own).
    #[command(hide = true)]
    TimerStore {
        #[arg(long, value_enum)]
        store: timers::Store,
        #[arg(long)]
        keys: usize,
    },
}

#[derive(Args)]
struct TimersArgs {
    /// The Liaison binary to benchmark.
    #[arg(long, default_value = "target/release/liaison")]
    liaison_bin: PathBuf,
    /// Keys armed, then re-armed, in the in-process wheel and map.
    #[arg(long, default_value_t = 1_000_000)]
    wheel_keys: usize,
    /// Chats with armed timers (and as many without, on the baseline server); 0 skips the servers.
    #[arg(long, default_value_t = 20_000)]
    chats: usize,
    /// One timer minute on the servers, in ms (LIAISON_TIMER_MINUTE_MS). The armed sessions'
    /// 480-minute timers must outlast the run, and a custom bot has 15 timer seconds to connect.
    #[arg(long, default_value_t = 1000)]
    minute_ms: u64,
    /// Chat setups in flight.
    #[arg(long, default_value_t = 64)]
    setup_concurrency: usize,
    /// Seconds at rest over which the servers' CPU is measured.
    #[arg(long, default_value_t = 10.0)]
    idle_secs: f64,
    /// Chats whose idle timers fall due in each lateness window.
    #[arg(long, default_value_t = 5_000)]
    firing_chats: usize,
    /// Seconds over which their deadlines are spread.
    #[arg(long, default_value_t = 10.0)]
    fire_window: f64,
    /// SendMessage rate (msgs/s) on the armed chats during the loaded lateness window.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Most SendMessage requests in flight before sends count as not sent.
    #[arg(long, default_value_t = 4096)]
    max_outstanding: usize,
    /// Where the temporary data directories are made (default: the system temp dir).
    #[arg(long)]
    data_parent: Option<PathBuf>,
    /// Keep the data directories and server logs instead of deleting them.
    #[arg(long)]
    keep_data: bool,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Give up (and stop the servers) after this many seconds in all.
    #[arg(long, default_value_t = 1800)]
    max_run_secs: u64,
}

impl TimersArgs {
    fn config(&self) -> timers::Config {
        let secs = |v: f64| Duration::from_secs_f64(v.max(0.0));
        timers::Config {
            liaison_bin: self.liaison_bin.clone(),
            wheel_keys: self.wheel_keys,
            chats: self.chats,
            minute_ms: self.minute_ms.max(1),
            setup_concurrency: self.setup_concurrency,
            idle: secs(self.idle_secs),
            firing_chats: self.firing_chats,
            fire_window: secs(self.fire_window),
            rate: self.rate,
            max_outstanding: self.max_outstanding,
        }
    }
}

#[derive(Args)]
struct FlowsArgs {
    /// The Liaison binary to benchmark.
    #[arg(long, default_value = "target/release/liaison")]
    liaison_bin: PathBuf,
    /// Seconds the interpreter runs in process, and as many for its baseline; 0 skips them.
    #[arg(long, default_value_t = 3.0)]
    interpreter_secs: f64,
    /// StartChatContact calls in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of StartChatContact load on each server; 0 skips the servers.
    #[arg(long, default_value_t = 20.0)]
    secs: f64,
    /// Most chats started on one server, whatever --secs says.
    #[arg(long, default_value_t = 1_000_000)]
    max_chats: u64,
    /// Seconds the server's counters must stand still after the load for its flows to be done.
    #[arg(long, default_value_t = 3.0)]
    quiet_secs: f64,
    /// Most seconds after the load given to the flows to finish.
    #[arg(long, default_value_t = 120.0)]
    settle_secs: f64,
    /// Where the temporary data directories are made (default: the system temp dir).
    #[arg(long)]
    data_parent: Option<PathBuf>,
    /// Keep the data directories and server logs instead of deleting them.
    #[arg(long)]
    keep_data: bool,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Give up (and stop the servers) after this many seconds in all.
    #[arg(long, default_value_t = 900)]
    max_run_secs: u64,
}

impl FlowsArgs {
    fn config(&self) -> flows::Config {
        let secs = |v: f64| Duration::from_secs_f64(if v.is_finite() { v.max(0.0) } else { 0.0 });
        flows::Config {
            liaison_bin: self.liaison_bin.clone(),
            interpreter: secs(self.interpreter_secs),
            concurrency: self.concurrency.max(1),
            duration: secs(self.secs),
            max_chats: self.max_chats,
            quiet: secs(self.quiet_secs),
            settle_limit: secs(self.settle_secs),
        }
    }
}

#[derive(Args)]
struct RoutingArgs {
    /// Agents, spread over the benchmark's four routing profiles.
    #[arg(long, default_value_t = 1_000)]
    agents: usize,
    /// Chats waiting beyond those the agents hold.
    #[arg(long, default_value_t = 10_000)]
    queued: usize,
    /// Timed calls after the set-up.
    #[arg(long, default_value_t = 100_000)]
    decisions: usize,
    /// Seed of the run's random choices (the same seed makes the same calls).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Give up after this many seconds in all.
    #[arg(long, default_value_t = 900)]
    max_run_secs: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Targets {
    Both,
    Liaison,
    Relay,
}

#[derive(Args)]
struct BenchArgs {
    /// The Liaison binary to benchmark.
    #[arg(long, default_value = "target/release/liaison")]
    liaison_bin: PathBuf,
    /// Which servers to run the load against.
    #[arg(long, value_enum, default_value = "both")]
    targets: Targets,
    /// Small numbers for a smoke run (overrides the sizes below unless they are given too).
    #[arg(long)]
    quick: bool,
    /// Chats SendMessage is spread over in the throughput phase (one socket each).
    #[arg(long)]
    chats: Option<usize>,
    /// SendMessage requests in flight in the throughput phase.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Measured seconds of the throughput phase.
    #[arg(long)]
    duration: Option<f64>,
    /// Unmeasured seconds before the throughput phase's window.
    #[arg(long)]
    warmup: Option<f64>,
    /// Most SendMessage requests the throughput phase sends (warm-up included).
    #[arg(long, default_value_t = 2_000_000)]
    max_messages: u64,
    /// Offered SendMessage rate of the latency phase (msgs/s).
    #[arg(long)]
    rate: Option<u64>,
    /// Open chats the latency phase spreads its messages over.
    #[arg(long)]
    latency_chats: Option<usize>,
    /// Seconds of the latency phase.
    #[arg(long)]
    latency_duration: Option<f64>,
    /// Idle sockets opened in the memory phase.
    #[arg(long)]
    sockets: Option<usize>,
    /// Sockets per chat in the memory phase (Liaison allows at most 5 per participant).
    #[arg(long, default_value_t = 5)]
    sockets_per_chat: usize,
    /// Chat setups and socket opens in flight while preparing.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// Most latency-phase requests in flight before the generator counts sends as dropped.
    #[arg(long, default_value_t = 4096)]
    max_outstanding: usize,
    /// Where the temporary Liaison data directory is made (default: the system temp dir).
    #[arg(long)]
    data_parent: Option<PathBuf>,
    /// Keep the data directory and server logs instead of deleting them.
    #[arg(long)]
    keep_data: bool,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Give up (and stop the servers) after this many seconds in all.
    #[arg(long, default_value_t = 1800)]
    max_run_secs: u64,
}

impl BenchArgs {
    fn config(&self) -> bench::Config {
        let q = self.quick;
        let secs = |v: Option<f64>, full: f64, quick: f64| {
            Duration::from_secs_f64(v.unwrap_or(if q { quick } else { full }).max(0.0))
        };
        bench::Config {
            throughput_chats: self.chats.unwrap_or(if q { 100 } else { 1000 }),
            concurrency: self.concurrency.unwrap_or(if q { 32 } else { 128 }),
            warmup: secs(self.warmup, 3.0, 1.0),
            duration: secs(self.duration, 15.0, 3.0),
            max_messages: self.max_messages,
            rate: self.rate.unwrap_or(if q { 200 } else { 2000 }),
            latency_chats: self.latency_chats.unwrap_or(if q { 100 } else { 1000 }),
            latency_duration: secs(self.latency_duration, 15.0, 3.0),
            max_outstanding: self.max_outstanding,
            sockets: self.sockets.unwrap_or(if q { 500 } else { 10_000 }),
            sockets_per_chat: self.sockets_per_chat.max(1),
            setup_concurrency: self.setup_concurrency,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Relay { listen }) = cli.command {
        return match relay::run(&listen) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("relay: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::TimerStore { store, keys }) = cli.command {
        return match timers::store_child(store, keys) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("timer-store: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Timers(args)) = cli.command {
        watchdog(Duration::from_secs(args.max_run_secs));
        return match runtime().and_then(|runtime| runtime.block_on(timers_main(*args))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Routing(args)) = cli.command {
        watchdog(Duration::from_secs(args.max_run_secs));
        return match routing_main(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Flows(args)) = cli.command {
        watchdog(Duration::from_secs(args.max_run_secs));
        return match runtime().and_then(|runtime| runtime.block_on(flows_main(*args))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (args, cluster) = match cli.command {
        Some(Command::Cluster {
            database_url,
            nodes,
            bench,
        }) => (*bench, Some((database_url, nodes))),
        _ => (cli.bench, None),
    };
    watchdog(Duration::from_secs(args.max_run_secs));
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cluster {
        Some((database_url, nodes)) => runtime.block_on(cluster_main(args, database_url, nodes)),
        None => runtime.block_on(bench_main(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole run is bounded: a watchdog ends it (the servers die with it).
fn watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!(
            "loadgen: gave up after {} s (--max-run-secs)",
            limit.as_secs()
        );
        cluster::drop_schemas_now();
        std::process::exit(3);
    });
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Where a benchmark run works and what it reports of the machine around it.
struct Workplace {
    name: &'static str,
    work: PathBuf,
    machine: sys::Machine,
    data_fs: String,
    fdatasync_per_sec: Option<f64>,
    load_before: String,
}

impl Workplace {
    /// Makes the run's work dir under `parent` and measures the machine before the run.
    fn prepare(name: &'static str, parent: Option<&PathBuf>) -> Result<Workplace, String> {
        let load_before = timers::load_average();
        // Every connection holds a descriptor on both ends.
        let nofile = sys::raise_nofile(65_536);
        let machine = sys::machine();
        let parent = parent.cloned().unwrap_or_else(std::env::temp_dir);
        let work = parent.join(format!(
            "liaison-loadgen-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        let data_fs = sys::filesystem_of(&work);
        let fdatasync_per_sec = sys::fdatasync_rate(&work, Duration::from_secs(2));
        eprintln!(
            "[loadgen {name}] {} CPUs ({}), load average {load_before}, RLIMIT_NOFILE {nofile}, work dir {} on {data_fs}, fdatasync {:.0}/s",
            machine.cpus,
            machine.model,
            work.display(),
            fdatasync_per_sec.unwrap_or(0.0)
        );
        Ok(Workplace {
            name,
            work,
            machine,
            data_fs,
            fdatasync_per_sec,
            load_before,
        })
    }

    /// What the run's report says of how it ran, beside its `config` and `outcome`.
    fn measured<'a, C, O>(&'a self, config: &'a C, outcome: &'a O) -> report::Measured<'a, C, O> {
        report::Measured {
            command_line: std::env::args().collect::<Vec<_>>().join(" "),
            machine: &self.machine,
            data_fs: self.data_fs.clone(),
            fdatasync_per_sec: self.fdatasync_per_sec,
            load_before: self.load_before.clone(),
            load_after: timers::load_average(),
            config,
            outcome,
        }
    }

    /// Prints the report, writes its JSON if asked, and removes the work dir unless kept.
    fn finish(
        self,
        markdown: String,
        json: serde_json::Value,
        json_path: Option<&PathBuf>,
        keep_data: bool,
        errors: &[String],
    ) -> Result<(), String> {
        println!("{markdown}");
        if let Some(path) = json_path {
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        if keep_data {
            eprintln!("[loadgen {}] kept {}", self.name, self.work.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.work);
        }
        if !errors.is_empty() {
            return Err("some measurements stopped early (see the report)".into());
        }
        Ok(())
    }
}

async fn timers_main(args: TimersArgs) -> Result<(), String> {
    let config = args.config();
    let place = Workplace::prepare("timers", args.data_parent.as_ref())?;
    let outcome = timers::run(&config, &place.work).await;
    let run = place.measured(&config, &outcome);
    let (markdown, json) = (run.markdown(), run.json());
    place.finish(
        markdown,
        json,
        args.json.as_ref(),
        args.keep_data,
        &outcome.errors,
    )
}

async fn flows_main(args: FlowsArgs) -> Result<(), String> {
    let config = args.config();
    let place = Workplace::prepare("flows", args.data_parent.as_ref())?;
    let outcome = flows::run(&config, &place.work).await;
    let run = place.measured(&config, &outcome);
    let (markdown, json) = (run.markdown(), run.json());
    place.finish(
        markdown,
        json,
        args.json.as_ref(),
        args.keep_data,
        &outcome.errors,
    )
}

async fn bench_main(args: BenchArgs) -> Result<(), String> {
    let config = args.config();
    // Sockets on both ends of every connection count against our limit and the server's.
    let nofile = sys::raise_nofile(65_536);
    let needed = (config.sockets + config.throughput_chats.max(config.latency_chats)) as u64 + 1024;
    if nofile < needed {
        eprintln!(
            "loadgen: warning: RLIMIT_NOFILE is {nofile}, the run needs about {needed}; raise it (ulimit -n 65536)"
        );
    }
    let machine = sys::machine();
    let parent = args.data_parent.clone().unwrap_or_else(std::env::temp_dir);
    let work = parent.join(format!("liaison-loadgen-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let data_fs = sys::filesystem_of(&work);
    let fdatasync_per_sec = sys::fdatasync_rate(&work, Duration::from_secs(2));
    eprintln!(
        "[loadgen] {} CPUs ({}), RLIMIT_NOFILE {nofile}, work dir {} on {data_fs}, fdatasync {:.0}/s",
        machine.cpus,
        machine.model,
        work.display(),
        fdatasync_per_sec.unwrap_or(0.0)
    );

    let mut liaison = None;
    if args.targets != Targets::Relay {
        let data = work.join("liaison-data");
        let server = bench::spawn_liaison(&args.liaison_bin, &data, work.join("liaison.log"))?;
        server.wait_healthy().await?;
        eprintln!("[loadgen liaison] pid {} on {}", server.pid, server.addr);
        liaison = Some(bench::run("Liaison", &server, &config).await);
        server.stop();
    }
    let mut relay = None;
    if args.targets != Targets::Liaison {
        let server = bench::spawn_relay(work.join("relay.log"))?;
        server.wait_healthy().await?;
        eprintln!("[loadgen relay] pid {} on {}", server.pid, server.addr);
        relay = Some(bench::run("baseline relay", &server, &config).await);
        server.stop();
    }

    let run = report::Run {
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        machine: &machine,
        nofile,
        data_fs,
        fdatasync_per_sec,
        config: &config,
        liaison: liaison.as_ref(),
        relay: relay.as_ref(),
    };
    println!("{}", run.markdown());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&run.json()).unwrap_or_default();
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if args.keep_data {
        eprintln!("[loadgen] kept {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(())
}

async fn cluster_main(args: BenchArgs, database_url: String, nodes: usize) -> Result<(), String> {
    let mut config = args.config();
    config.sockets = 0;
    let nofile = sys::raise_nofile(65_536);
    cluster::preflight(&database_url, &args.liaison_bin)?;
    let machine = sys::machine();
    let parent = args.data_parent.clone().unwrap_or_else(std::env::temp_dir);
    let work = parent.join(format!(
        "liaison-loadgen-cluster-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    eprintln!(
        "[loadgen cluster] {} CPUs ({}), RLIMIT_NOFILE {nofile}, work dir {}",
        machine.cpus,
        machine.model,
        work.display()
    );
    let setup = cluster::ClusterSetup {
        liaison_bin: args.liaison_bin.clone(),
        database_url,
        nodes,
        work: work.clone(),
    };
    let outcomes = cluster::run(&setup, &config).await;
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    println!(
        "{}",
        cluster::markdown(&command_line, &machine, &config, &outcomes)
    );
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&cluster::json(&outcomes)).unwrap_or_default();
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if args.keep_data {
        eprintln!("[loadgen cluster] kept {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    if outcomes.iter().any(|o| !o.report.errors.is_empty()) {
        return Err("some configurations stopped early (see the table)".into());
    }
    Ok(())
}

fn routing_main(args: &RoutingArgs) -> Result<(), String> {
    let config = routing::Config {
        agents: args.agents.max(1),
        queued: args.queued,
        decisions: args.decisions,
        seed: args.seed,
    };
    let load_before = timers::load_average();
    let machine = sys::machine();
    eprintln!(
        "[loadgen routing] {} CPUs ({}), load average {load_before}",
        machine.cpus, machine.model
    );
    let outcome = routing::run(&config)?;
    let run = routing::Run {
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        machine: &machine,
        load_before,
        load_after: timers::load_average(),
        config: &config,
        outcome: &outcome,
    };
    println!("{}", run.markdown());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&run.json()).unwrap_or_default();
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if outcome.disagreement.is_some() {
        return Err("the routers disagree (see the report)".into());
    }
    Ok(())
}
