//! The phases run against one server: idle sockets and memory, durable SendMessage throughput,
//! and latency at a fixed offered rate. Every loop is bounded by a count and a time limit.

use crate::client::{self, Api, Chat, LatencyBook, Sink, Sockets, URL_REUSE_LIMIT};
use crate::sys::{self, CpuSnap, CpuUse, StateSampler};
use futures_util::StreamExt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What to run against each server.
#[derive(Clone)]
pub struct Config {
    pub throughput_chats: usize,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub max_messages: u64,
    pub rate: u64,
    pub latency_chats: usize,
    pub latency_duration: Duration,
    pub max_outstanding: usize,
    pub sockets: usize,
    pub sockets_per_chat: usize,
    pub setup_concurrency: usize,
}

/// A server started as a child process.
pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts `command`, whose stdout must print a line containing `listening on http://ADDR`;
    /// everything it prints goes to `log`.
    pub fn spawn(mut command: Command, log: PathBuf) -> Result<ServerProcess, String> {
        let log_file = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let stderr = log_file.try_clone().map_err(|e| e.to_string())?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        // SAFETY: prctl is async-signal-safe; the child dies with the load generator.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        let log_path = log.clone();
        std::thread::spawn(move || {
            let mut out = OpenOptions::new().append(true).open(&log_path).ok();
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on http://").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.trim().to_string());
                }
                if let Some(out) = out.as_mut() {
                    let _ = writeln!(out, "{line}");
                }
            }
        });
        let mut process = ServerProcess {
            child,
            pid,
            addr: "127.0.0.1:0".parse().map_err(|_| "address")?,
            log,
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| {
                format!(
                    "the server did not print its address within 60 s; see {}",
                    process.log.display()
                )
            })?
            .parse()
            .map_err(|e| format!("unparsable server address: {e}"))?;
        process.addr = addr;
        Ok(process)
    }

    /// Waits until `GET /health` answers 200 (at most 30 s).
    pub async fn wait_healthy(&self) -> Result<(), String> {
        let http = reqwest::Client::new();
        let url = format!("http://{}/health", self.addr);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("{url} did not answer 200 within 30 s"))
    }

    /// SIGTERM, then SIGKILL if it has not exited after 10 s.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: signals our own child by its pid.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Percentiles of a set of durations, in milliseconds.
#[derive(Clone, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Nearest-rank percentiles of nanosecond samples.
pub fn percentiles(mut samples: Vec<u64>) -> Percentiles {
    if samples.is_empty() {
        return Percentiles::default();
    }
    samples.sort_unstable();
    let at = |p: f64| {
        let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[rank.clamp(1, samples.len()) - 1] as f64 / 1e6
    };
    Percentiles {
        count: samples.len(),
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        p999: at(99.9),
        max: *samples.last().unwrap_or(&0) as f64 / 1e6,
    }
}

#[derive(Clone, Default)]
pub struct MemoryReport {
    pub chats: usize,
    pub sockets_wanted: usize,
    pub sockets_open: usize,
    pub chat_setup_per_sec: f64,
    pub socket_open_per_sec: f64,
    pub rss_idle_kib: u64,
    pub rss_chats_kib: u64,
    pub rss_sockets_kib: u64,
    pub fds_with_sockets: usize,
    pub closed_by_server: u64,
}

impl MemoryReport {
    pub fn per_socket_kib(&self) -> f64 {
        if self.sockets_open == 0 {
            return 0.0;
        }
        self.rss_sockets_kib.saturating_sub(self.rss_chats_kib) as f64 / self.sockets_open as f64
    }
}

#[derive(Clone, Default)]
pub struct ThroughputReport {
    pub chats: usize,
    pub concurrency: usize,
    pub window_secs: f64,
    pub acked: u64,
    pub acked_total: u64,
    pub failed: u64,
    pub first_failure: Option<String>,
    pub per_sec: f64,
    pub ack_latency: Percentiles,
    pub frames_delivered: u64,
    pub cpu: CpuUse,
    /// Committed PostgreSQL transactions (`pg_stat_database.xact_commit`) over the phase, when
    /// the servers share a PostgreSQL database.
    pub db_transactions: Option<u64>,
}

#[derive(Clone, Default)]
pub struct LatencyReport {
    pub chats: usize,
    pub offered_rate: u64,
    pub scheduled: usize,
    pub sent: usize,
    pub achieved_rate: f64,
    pub acked: usize,
    pub failed: u64,
    pub first_failure: Option<String>,
    pub dropped: u64,
    pub lost: usize,
    pub frame_latency: Percentiles,
    pub ack_latency: Percentiles,
    pub generator_lag: Percentiles,
    /// Frame latency of the messages sent in each second of the phase.
    pub per_second: Vec<Percentiles>,
    pub cpu: CpuUse,
}

#[derive(Clone, Default)]
pub struct TargetReport {
    pub name: String,
    pub errors: Vec<String>,
    pub memory: Option<MemoryReport>,
    pub throughput: Option<ThroughputReport>,
    pub latency: Option<LatencyReport>,
    pub rss_end_kib: u64,
    pub hwm_kib: u64,
}

fn rss(pid: u32) -> u64 {
    sys::rss_kib(pid).map(|(rss, _)| rss).unwrap_or(0)
}

fn say(name: &str, message: impl AsRef<str>) {
    eprintln!("[loadgen {name}] {}", message.as_ref());
}

/// Creates `count` chats with `concurrency` setups in flight; chat `i` is started on node
/// `i % apis.len()`.
async fn create_chats(apis: &[Api], count: usize, concurrency: usize) -> Result<Vec<Chat>, String> {
    let results: Vec<Result<Chat, String>> = futures_util::stream::iter(0..count)
        .map(|i| async move {
            let api = &apis[i % apis.len()];
            let mut last = String::new();
            for _ in 0..3 {
                match api.new_chat().await {
                    Ok(chat) => return Ok(chat),
                    Err(e) => last = e,
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(last)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// Opens `per_chat[i]` sockets on each chat (renewing stale URLs), `concurrency` chats at a time.
/// Chat `i`'s URLs come from CreateParticipantConnection on node `(i + 1) % apis.len()`, so with
/// several nodes its socket is not on the node that started it.
async fn open_sockets(
    apis: &[Api],
    chats: &mut [Chat],
    per_chat: &[usize],
    concurrency: usize,
    sink: &Arc<Sink>,
    sockets: &mut Sockets,
    always_renew: bool,
) -> Result<(), String> {
    let closer = sockets.closer();
    let results: Vec<Result<Vec<_>, String>> =
        futures_util::stream::iter(chats.iter_mut().zip(per_chat).enumerate())
            .map(|(i, (chat, &wanted))| {
                let closer = closer.clone();
                let api = &apis[(i + 1) % apis.len()];
                async move {
                    if always_renew || chat.url_issued.elapsed() > URL_REUSE_LIMIT {
                        api.reconnect(chat).await?;
                    }
                    let mut opened = Vec::with_capacity(wanted);
                    for _ in 0..wanted {
                        let mut last = String::new();
                        let mut done = false;
                        for attempt in 0..4 {
                            if attempt > 0 {
                                tokio::time::sleep(Duration::from_millis(250 * attempt)).await;
                                api.reconnect(chat).await?;
                            }
                            match client::open_socket(&chat.ws_url, sink.clone(), closer.clone())
                                .await
                            {
                                Ok(task) => {
                                    opened.push(task);
                                    done = true;
                                    break;
                                }
                                Err(e) => last = e,
                            }
                        }
                        if !done {
                            return Err(last);
                        }
                    }
                    Ok(opened)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let mut first_error = None;
    for result in results {
        match result {
            Ok(tasks) => sockets.tasks.extend(tasks),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs every phase against `server`.
pub async fn run(name: &str, server: &ServerProcess, config: &Config) -> TargetReport {
    run_nodes(name, &[server], config, None).await
}

/// Reads a counter of committed database transactions (for [`ThroughputReport::db_transactions`]).
pub type TransactionCounter<'a> = &'a (dyn Fn() -> Option<u64> + Sync);

/// Runs every phase against `servers` (nodes sharing one database): chat `i` is started on node
/// `i % n`, its socket opened on node `(i + 1) % n`, and SendMessage `k` goes to node `k % n`.
/// CPU is summed over the nodes; memory is measured on the first node only.
pub async fn run_nodes(
    name: &str,
    servers: &[&ServerProcess],
    config: &Config,
    transactions: Option<TransactionCounter<'_>>,
) -> TargetReport {
    let mut report = TargetReport {
        name: name.to_string(),
        ..TargetReport::default()
    };
    if servers.is_empty() {
        report.errors.push("no server".into());
        return report;
    }
    if let Err(e) = run_phases(name, servers, config, transactions, &mut report).await {
        say(name, format!("stopped early: {e}"));
        report.errors.push(e);
    }
    if let Some((rss, hwm)) = sys::rss_kib(servers[0].pid) {
        report.rss_end_kib = rss;
        report.hwm_kib = hwm;
    }
    report
}

async fn run_phases(
    name: &str,
    servers: &[&ServerProcess],
    config: &Config,
    transactions: Option<TransactionCounter<'_>>,
    report: &mut TargetReport,
) -> Result<(), String> {
    let pid = servers[0].pid;
    let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
    let mut apis = Vec::with_capacity(servers.len());
    for server in servers {
        apis.push(Api::discover(server.addr).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut memory = MemoryReport {
        rss_idle_kib: rss(pid),
        sockets_wanted: config.sockets,
        ..MemoryReport::default()
    };

    // Phase 1: chats, then idle sockets on them.
    let per_chat = config.sockets_per_chat.max(1);
    let memory_chats = config.sockets.div_ceil(per_chat);
    let live_chats = config.throughput_chats.max(config.latency_chats);
    let total_chats = memory_chats.max(live_chats);
    say(name, format!("creating {total_chats} chats"));
    let started = Instant::now();
    let mut chats = create_chats(&apis, total_chats, config.setup_concurrency).await?;
    memory.chats = chats.len();
    memory.chat_setup_per_sec = chats.len() as f64 / started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    memory.rss_chats_kib = rss(pid);

    let sink = Arc::new(Sink::default());
    if config.sockets > 0 {
        say(name, format!("opening {} idle sockets", config.sockets));
        let wanted: Vec<usize> = (0..memory_chats)
            .map(|i| per_chat.min(config.sockets - i * per_chat))
            .collect();
        let mut idle = Sockets::new();
        let started = Instant::now();
        let opened = open_sockets(
            &apis,
            &mut chats[..memory_chats],
            &wanted,
            config.setup_concurrency,
            &sink,
            &mut idle,
            false,
        )
        .await;
        memory.socket_open_per_sec = idle.len() as f64 / started.elapsed().as_secs_f64();
        memory.sockets_open = idle.len();
        tokio::time::sleep(Duration::from_secs(3)).await;
        memory.rss_sockets_kib = rss(pid);
        memory.fds_with_sockets = sys::fd_count(pid).unwrap_or(0);
        memory.closed_by_server = sink.closed_by_server.load(Ordering::Relaxed);
        say(
            name,
            format!(
                "{} sockets open; RSS {} MiB (idle {} MiB, with chats {} MiB); closing them",
                memory.sockets_open,
                memory.rss_sockets_kib / 1024,
                memory.rss_idle_kib / 1024,
                memory.rss_chats_kib / 1024
            ),
        );
        report.memory = Some(memory);
        idle.close_all(Duration::from_secs(60)).await;
        opened?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    } else {
        report.memory = Some(memory);
    }

    // Phase 2: one socket on each live chat, then SendMessage as fast as the server acknowledges.
    say(
        name,
        format!("opening one socket on each of {live_chats} chats"),
    );
    let mut live = Sockets::new();
    let one = vec![1; live_chats];
    open_sockets(
        &apis,
        &mut chats[..live_chats],
        &one,
        config.setup_concurrency,
        &sink,
        &mut live,
        true,
    )
    .await?;
    let tokens: Arc<Vec<String>> = Arc::new(
        chats[..live_chats]
            .iter()
            .map(|c| c.connection_token.clone())
            .collect(),
    );
    let apis = Arc::new(apis);
    if config.throughput_chats > 0 && !config.duration.is_zero() {
        say(
            name,
            format!(
                "throughput: {} in flight over {} chats for {:?} (+{:?} warm-up)",
                config.concurrency, config.throughput_chats, config.duration, config.warmup
            ),
        );
        // Idle backends may hold their statistics up to 10 s before PostgreSQL counts them.
        let settle = Duration::from_secs(11);
        let before = match transactions {
            Some(count) => {
                tokio::time::sleep(settle).await;
                count()
            }
            None => None,
        };
        let mut phase = throughput(&pids, &apis, &tokens, &sink, config).await;
        if let (Some(count), Some(before)) = (transactions, before) {
            tokio::time::sleep(settle).await;
            phase.db_transactions = count().map(|after| after.saturating_sub(before));
        }
        report.throughput = Some(phase);
    }

    // Phase 3: a fixed offered rate, timing each message to its frame on the sender's socket.
    if config.latency_chats > 0 && config.rate > 0 && !config.latency_duration.is_zero() {
        say(
            name,
            format!(
                "latency: {} msgs/s over {} chats for {:?}",
                config.rate, config.latency_chats, config.latency_duration
            ),
        );
        report.latency = Some(latency(&pids, &apis, &tokens, &sink, config).await);
    }
    live.close_all(Duration::from_secs(60)).await;
    Ok(())
}

struct Failures {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Failures {
    fn new() -> Self {
        Failures {
            count: AtomicU64::new(0),
            first: Mutex::new(None),
        }
    }

    fn record(&self, what: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.first
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(what);
    }

    fn first(&self) -> Option<String> {
        self.first.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn throughput(
    pids: &[u32],
    apis: &Arc<Vec<Api>>,
    tokens: &Arc<Vec<String>>,
    sink: &Arc<Sink>,
    config: &Config,
) -> ThroughputReport {
    let chats = config.throughput_chats.min(tokens.len()).max(1);
    let frames_before = sink.chat_frames.load(Ordering::Relaxed);
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Failures::new());
    let started = Instant::now();
    let measure_from = started + config.warmup;
    let end = measure_from + config.duration;
    let mut workers = Vec::with_capacity(config.concurrency);
    for _ in 0..config.concurrency.max(1) {
        let (apis, tokens, next, failures) =
            (apis.clone(), tokens.clone(), next.clone(), failures.clone());
        let max = config.max_messages;
        workers.push(tokio::spawn(async move {
            // (acknowledged in the window, acknowledged in all, ack latencies in ns, last ack)
            let mut counted = 0u64;
            let mut all = 0u64;
            let mut latencies = Vec::new();
            let mut last_done = measure_from;
            loop {
                if Instant::now() >= end {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= max {
                    break;
                }
                let token = &tokens[index as usize % chats];
                let api = &apis[index as usize % apis.len()];
                let sent = Instant::now();
                let outcome = api.send_message(token, &format!("T{index}")).await;
                let done = Instant::now();
                match outcome {
                    Ok(200) => {
                        all += 1;
                        if done >= measure_from && done <= end {
                            counted += 1;
                            latencies.push(done.duration_since(sent).as_nanos() as u64);
                            last_done = last_done.max(done);
                        }
                    }
                    Ok(status) => failures.record(format!("HTTP {status}")),
                    Err(e) => failures.record(e),
                }
            }
            (counted, all, latencies, last_done)
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let before = cpu_snaps(pids);
    let sampler = StateSampler::start(pids[0], Duration::from_millis(5), config.duration * 2);
    let results = futures_util::future::join_all(workers).await;
    let samples = sampler.finish();
    let after = cpu_snaps(pids);
    let mut report = ThroughputReport {
        chats,
        concurrency: config.concurrency,
        cpu: cpu_use(&before, &after, &samples),
        ..ThroughputReport::default()
    };
    let mut latencies = Vec::new();
    let mut last_done = measure_from;
    for (counted, all, lat, last) in results.into_iter().flatten() {
        report.acked += counted;
        report.acked_total += all;
        latencies.extend(lat);
        last_done = last_done.max(last);
    }
    let window_end = if report.acked_total >= config.max_messages {
        last_done
    } else {
        end
    };
    report.window_secs = window_end.duration_since(measure_from).as_secs_f64();
    report.per_sec = report.acked as f64 / report.window_secs.max(1e-9);
    report.ack_latency = percentiles(latencies);
    report.failed = failures.count.load(Ordering::Relaxed);
    report.first_failure = failures.first();
    // Let the sockets catch up before counting deliveries.
    let waited = Instant::now();
    while sink.chat_frames.load(Ordering::Relaxed) - frames_before < report.acked_total
        && waited.elapsed() < Duration::from_secs(15)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    report.frames_delivered = sink.chat_frames.load(Ordering::Relaxed) - frames_before;
    report
}

async fn latency(
    pids: &[u32],
    apis: &Arc<Vec<Api>>,
    tokens: &Arc<Vec<String>>,
    sink: &Arc<Sink>,
    config: &Config,
) -> LatencyReport {
    let chats = config.latency_chats.min(tokens.len()).max(1);
    let scheduled = (config.rate as f64 * config.latency_duration.as_secs_f64()) as usize;
    let book = Arc::new(LatencyBook::new(scheduled));
    sink.set_book(Some(book.clone()));
    let failures = Arc::new(Failures::new());
    let outstanding = Arc::new(Semaphore::new(config.max_outstanding.max(1)));
    let interval_ns = 1e9 / config.rate as f64;
    let mut tasks = Vec::with_capacity(scheduled);
    let mut lags = Vec::with_capacity(scheduled);
    let mut dropped = 0u64;
    let before = cpu_snaps(pids);
    let sampler = StateSampler::start(
        pids[0],
        Duration::from_millis(5),
        config.latency_duration * 2,
    );
    let started = Instant::now();
    for index in 0..scheduled {
        let due = started + Duration::from_nanos((index as f64 * interval_ns) as u64);
        if Instant::now() < due {
            tokio::time::sleep_until(due.into()).await;
        }
        lags.push(Instant::now().saturating_duration_since(due).as_nanos() as u64);
        let Ok(permit) = outstanding.clone().try_acquire_owned() else {
            dropped += 1;
            continue;
        };
        let (apis, tokens, book, failures) =
            (apis.clone(), tokens.clone(), book.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let token = &tokens[index % chats];
            let api = &apis[index % apis.len()];
            book.stamp(&book.sent, index);
            match api
                .send_message(token, &client::latency_marker(index))
                .await
            {
                Ok(200) => book.stamp(&book.acked, index),
                Ok(status) => failures.record(format!("HTTP {status}")),
                Err(e) => failures.record(e),
            }
        }));
    }
    let schedule_secs = started.elapsed().as_secs_f64();
    let sent = tasks.len();
    let _ = tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(tasks),
    )
    .await;
    let samples = sampler.finish();
    let after = cpu_snaps(pids);
    let stamped = |slots: &[AtomicU64]| {
        slots
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) > 0)
            .count()
    };
    let acked = stamped(&book.acked);
    let waited = Instant::now();
    while stamped(&book.arrived) < acked && waited.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink.set_book(None);
    let mut frame = Vec::with_capacity(acked);
    let mut ack = Vec::with_capacity(acked);
    let mut by_second: Vec<Vec<u64>> = Vec::new();
    let mut lost = 0;
    for index in 0..scheduled {
        let sent_at = book.sent[index].load(Ordering::Relaxed);
        let acked_at = book.acked[index].load(Ordering::Relaxed);
        let arrived_at = book.arrived[index].load(Ordering::Relaxed);
        if sent_at == 0 || acked_at == 0 {
            continue;
        }
        ack.push(acked_at - sent_at);
        if arrived_at == 0 {
            lost += 1;
        } else {
            let latency = arrived_at.saturating_sub(sent_at);
            frame.push(latency);
            let second = (sent_at / 1_000_000_000) as usize;
            if by_second.len() <= second {
                by_second.resize_with(second + 1, Vec::new);
            }
            by_second[second].push(latency);
        }
    }
    LatencyReport {
        chats,
        offered_rate: config.rate,
        scheduled,
        sent,
        achieved_rate: sent as f64 / schedule_secs.max(1e-9),
        acked,
        failed: failures.count.load(Ordering::Relaxed),
        first_failure: failures.first(),
        dropped,
        lost,
        frame_latency: percentiles(frame),
        ack_latency: percentiles(ack),
        generator_lag: percentiles(lags),
        per_second: by_second.into_iter().map(percentiles).collect(),
        cpu: cpu_use(&before, &after, &samples),
    }
}

fn cpu_snaps(pids: &[u32]) -> Vec<CpuSnap> {
    pids.iter().map(|&pid| sys::cpu_snap(pid)).collect()
}

/// CPU use over a phase, summed over the nodes (threads and disk-wait samples are the first
/// node's only).
fn cpu_use(before: &[CpuSnap], after: &[CpuSnap], samples: &sys::StateSamples) -> CpuUse {
    let mut all = CpuUse::default();
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        let node = sys::cpu_use(b, a, samples);
        if i == 0 {
            all = node;
        } else {
            all.server_cores += node.server_cores;
            all.server_disk_bytes += node.server_disk_bytes;
            all.other_cores = (all.other_cores - node.server_cores).max(0.0);
        }
    }
    all
}

/// Starts Liaison with a fresh data directory and the load generator's admin keys.
pub fn spawn_liaison(bin: &Path, data: &Path, log: PathBuf) -> Result<ServerProcess, String> {
    spawn_liaison_on(bin, data, None, log)
}

/// Starts Liaison on SQLite in `data`, or on the PostgreSQL `database_url` when given.
pub fn spawn_liaison_on(
    bin: &Path,
    data: &Path,
    database_url: Option<&str>,
    log: PathBuf,
) -> Result<ServerProcess, String> {
    let mut command = liaison_command(bin, data);
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    ServerProcess::spawn(command, log)
}

/// `liaison serve` on a free port with `data` as its data directory and the load generator's
/// admin keys; callers may add arguments and environment before [`ServerProcess::spawn`].
pub fn liaison_command(bin: &Path, data: &Path) -> Command {
    let mut command = Command::new(bin);
    command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data")
        .arg(data)
        .env_remove("LIAISON_DATABASE_URL")
        .env("LIAISON_ACCESS_KEY_ID", client::ACCESS_KEY_ID)
        .env("LIAISON_SECRET_ACCESS_KEY", client::SECRET_ACCESS_KEY);
    command
}

/// Starts the baseline relay: this same binary, `relay` subcommand.
pub fn spawn_relay(log: PathBuf) -> Result<ServerProcess, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let mut command = Command::new(exe);
    command.arg("relay").arg("--listen").arg("127.0.0.1:0");
    ServerProcess::spawn(command, log)
}
