//! `loadgen`: Liaison's benchmark load generator.
//!
//! By default it starts Liaison (`--liaison-bin`) and a bare in-memory relay (`loadgen relay`,
//! the baseline) as child processes on free 127.0.0.1 ports, runs the same phases against each
//! (idle sockets and RSS, durable SendMessage throughput, latency at a fixed rate), stops them and
//! prints a Markdown table. All traffic stays on 127.0.0.1 and every loop is bounded.

mod bench;
mod client;
mod cluster;
mod relay;
mod report;
mod sys;

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
    let (args, cluster) = match cli.command {
        Some(Command::Cluster {
            database_url,
            nodes,
            bench,
        }) => (*bench, Some((database_url, nodes))),
        _ => (cli.bench, None),
    };
    // The whole run is bounded: a watchdog ends it (the servers die with it).
    let limit = Duration::from_secs(args.max_run_secs);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!(
            "loadgen: gave up after {} s (--max-run-secs)",
            limit.as_secs()
        );
        cluster::drop_schemas_now();
        std::process::exit(3);
    });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
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
