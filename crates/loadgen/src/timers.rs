//! `loadgen timers`: what chat timers cost, in three measurements made in one run.
//!
//! 1. **The wheel alone.** `liaison_server::timers::Wheel` arms, then re-arms, a million keys;
//!    a plain `HashMap` of deadlines (what remembering deadlines costs without a wheel) does the
//!    same. Each runs in a fresh child process (`loadgen timer-store`), so memory one of them
//!    freed cannot hide what the other takes.
//! 2. **Armed sessions in the server.** A Liaison whose chats have customer idle and
//!    auto-disconnect timers running (a custom bot connected), against a Liaison with the same
//!    chats set up the same way but no timer configuration: heap in use (the server's
//!    `liaison_heap_in_use_bytes`, the allocator's own count), RSS, `liaison_armed_timers`, and
//!    the CPU each uses at rest.
//! 3. **Lateness.** On the server with the armed sessions, further chats are set up so that their
//!    idle deadlines fall due over a short window, once with no other traffic and once while
//!    SendMessage load on the armed chats resets their timers. Lateness (deadline → commit of
//!    the idle event) is read from `liaison_timer_lateness_seconds` before and after each window.

use crate::bench::{self, Percentiles, ServerProcess};
use crate::client::{Api, Contact};
use crate::report::{Measured, cell, closing, verdict};
use crate::sys::{self, CpuUse, StateSampler};
use clap::ValueEnum;
use futures_util::StreamExt;
use liaison_server::timers::{TimerKey, TimerKind, Wheel};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write;
use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Targets from the issue.
pub const TARGET_BYTES_PER_TIMER: f64 = 100.0;
/// "CPU while idle ~0": counted as met at or below this share of one core.
pub const TARGET_IDLE_CORE_PERCENT: f64 = 1.0;
pub const TARGET_LATENESS_P99_MS: f64 = 20.0;

/// Chats last the longest StartChatContact allows, so no chat ends during the run.
const CHAT_MINUTES: u32 = 10_080;
/// The longest timer UpdateParticipantRoleConfig accepts: the armed sessions' deadlines, beyond
/// the run, and the firing chats' auto-disconnect.
const LONGEST_TIMER_MINUTES: u32 = 480;
const SHORTEST_TIMER_MINUTES: u32 = 2;
/// A custom participant must connect within this many timer seconds of CreateParticipant.
const BOT_CONNECT_TIMER_SECONDS: u64 = 15;

/// What to run.
#[derive(Clone)]
pub struct Config {
    pub liaison_bin: PathBuf,
    pub wheel_keys: usize,
    pub chats: usize,
    pub minute_ms: u64,
    pub setup_concurrency: usize,
    pub idle: Duration,
    pub firing_chats: usize,
    pub fire_window: Duration,
    pub rate: u64,
    pub max_outstanding: usize,
}

fn say(message: impl AsRef<str>) {
    eprintln!("[loadgen timers] {}", message.as_ref());
}

fn rss(pid: u32) -> u64 {
    sys::rss_kib(pid).map(|(rss, _)| rss).unwrap_or(0)
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------------------------------------
// 1. The wheel alone.

/// Where the in-process measurement keeps its deadlines.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Store {
    /// `liaison_server::timers::Wheel`, keyed by contact as the timer task holds it.
    Wheel,
    /// `HashMap<TimerKey, u64>`: deadlines remembered, nothing to fire them.
    Map,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::Wheel => "wheel",
            Store::Map => "map",
        }
    }
}

/// A deadline between one minute and six hours away, scattered over the keys; `round` moves
/// every key's deadline for the re-arming pass.
fn scattered_wait(index: usize, round: u64) -> Duration {
    const SIX_HOURS_MS: u64 = 6 * 3600 * 1000;
    let ms = (index as u64)
        .wrapping_add(round.wrapping_mul(1_000_003))
        .wrapping_mul(2_654_435_761)
        % SIX_HOURS_MS;
    Duration::from_millis(60_000 + ms)
}

/// `loadgen timer-store`: arms `keys` distinct keys in `store`, re-arms every one, and prints
/// this process's RSS before, after arming and after re-arming, with the times, as JSON.
pub fn store_child(store: Store, keys: usize) -> Result<(), String> {
    // The wheel's delay queue needs a tokio timer to arm against; it is never polled here.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let _context = runtime.enter();
    let ids: Vec<TimerKey> = (0..keys)
        .map(|_| {
            TimerKey::new(
                &uuid::Uuid::new_v4().to_string(),
                TimerKind::ParticipantTimers,
            )
            .ok_or_else(|| "a v4 UUID was refused as a timer key".to_string())
        })
        .collect::<Result<_, _>>()?;
    let me = std::process::id();
    let rss_start_kib = rss(me);
    let (arm, rss_armed_kib, reset, rss_reset_kib, len) = match store {
        Store::Wheel => {
            let mut wheel: Wheel<[u8; 16]> = Wheel::default();
            let started = Instant::now();
            for (i, key) in ids.iter().enumerate() {
                wheel.arm(key.contact(), key.kind(), scattered_wait(i, 0));
            }
            let arm = started.elapsed();
            let armed = rss(me);
            let started = Instant::now();
            for (i, key) in ids.iter().enumerate() {
                wheel.arm(key.contact(), key.kind(), scattered_wait(i, 1));
            }
            let reset = started.elapsed();
            let len = std::hint::black_box(&wheel).len();
            (arm, armed, reset, rss(me), len)
        }
        Store::Map => {
            let mut map: HashMap<TimerKey, u64> = HashMap::new();
            let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() as u64 * 1000;
            let due = |i: usize, round: u64| now_ms + scattered_wait(i, round).as_millis() as u64;
            let started = Instant::now();
            for (i, key) in ids.iter().enumerate() {
                map.insert(*key, due(i, 0));
            }
            let arm = started.elapsed();
            let armed = rss(me);
            let started = Instant::now();
            for (i, key) in ids.iter().enumerate() {
                map.insert(*key, due(i, 1));
            }
            let reset = started.elapsed();
            let len = std::hint::black_box(&map).len();
            (arm, armed, reset, rss(me), len)
        }
    };
    println!(
        "{}",
        json!({
            "store": store.name(),
            "keys": keys,
            "len": len,
            "key_size": std::mem::size_of::<TimerKey>(),
            "rss_start_kib": rss_start_kib,
            "rss_armed_kib": rss_armed_kib,
            "rss_reset_kib": rss_reset_kib,
            "arm_secs": arm.as_secs_f64(),
            "reset_secs": reset.as_secs_f64(),
        })
    );
    Ok(())
}

/// One store's figures from its child process.
#[derive(Clone, Default)]
pub struct StoreFigures {
    pub store: String,
    pub keys: usize,
    pub len: usize,
    pub key_size: usize,
    pub rss_start_kib: u64,
    pub rss_armed_kib: u64,
    pub rss_reset_kib: u64,
    pub arm_secs: f64,
    pub reset_secs: f64,
}

impl StoreFigures {
    pub fn bytes_per_key(&self) -> f64 {
        self.rss_armed_kib.saturating_sub(self.rss_start_kib) as f64 * 1024.0
            / self.keys.max(1) as f64
    }

    pub fn bytes_per_key_after_reset(&self) -> f64 {
        self.rss_reset_kib.saturating_sub(self.rss_start_kib) as f64 * 1024.0
            / self.keys.max(1) as f64
    }

    pub fn arm_ns(&self) -> f64 {
        self.arm_secs * 1e9 / self.keys.max(1) as f64
    }

    pub fn reset_ns(&self) -> f64 {
        self.reset_secs * 1e9 / self.keys.max(1) as f64
    }
}

/// Runs `loadgen timer-store` for `store` and reads its figures.
fn measure_store(store: Store, keys: usize) -> Result<StoreFigures, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let mut command = Command::new(exe);
    command
        .arg("timer-store")
        .arg("--store")
        .arg(store.name())
        .arg("--keys")
        .arg(keys.to_string())
        .stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe; the child dies with the load generator.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let output = command.output().map_err(|e| format!("timer-store: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "timer-store --store {} failed: {}",
            store.name(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("timer-store printed no JSON ({e}): {text}"))?;
    let u = |name: &str| value.get(name).and_then(Value::as_u64).unwrap_or(0);
    let f = |name: &str| value.get(name).and_then(Value::as_f64).unwrap_or(0.0);
    Ok(StoreFigures {
        store: store.name().into(),
        keys: u("keys") as usize,
        len: u("len") as usize,
        key_size: u("key_size") as usize,
        rss_start_kib: u("rss_start_kib"),
        rss_armed_kib: u("rss_armed_kib"),
        rss_reset_kib: u("rss_reset_kib"),
        arm_secs: f("arm_secs"),
        reset_secs: f("reset_secs"),
    })
}

// ---------------------------------------------------------------------------------------------
// What /metrics says about timers.

#[derive(Clone, Default)]
struct TimerMetrics {
    armed: Option<i64>,
    /// `liaison_heap_in_use_bytes`: the allocator's count, where the server can read it.
    heap: Option<i64>,
    /// Cumulative lateness buckets: (upper bound in seconds, count); the last bound is +Inf.
    buckets: Vec<(f64, u64)>,
    sum_secs: f64,
}

fn parse_metrics(text: &str) -> TimerMetrics {
    let mut metrics = TimerMetrics::default();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("liaison_armed_timers ") {
            metrics.armed = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("liaison_heap_in_use_bytes ") {
            metrics.heap = value.trim().parse().ok();
        } else if let Some(rest) = line.strip_prefix("liaison_timer_lateness_seconds_bucket{le=\"")
            && let Some((bound, count)) = rest.split_once("\"} ")
        {
            let bound = if bound == "+Inf" {
                Some(f64::INFINITY)
            } else {
                bound.parse().ok()
            };
            if let (Some(bound), Ok(count)) = (bound, count.trim().parse()) {
                metrics.buckets.push((bound, count));
            }
        } else if let Some(value) = line.strip_prefix("liaison_timer_lateness_seconds_sum ") {
            metrics.sum_secs = value.trim().parse().unwrap_or(0.0);
        }
    }
    metrics
}

async fn read_metrics(http: &reqwest::Client, addr: SocketAddr) -> Result<TimerMetrics, String> {
    let response = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .map_err(|e| format!("/metrics: {e}"))?;
    let text = response
        .text()
        .await
        .map_err(|e| format!("/metrics: {e}"))?;
    let metrics = parse_metrics(&text);
    if metrics.buckets.is_empty() {
        return Err("/metrics has no liaison_timer_lateness_seconds histogram".into());
    }
    Ok(metrics)
}

/// Timer lateness over one window, from the histogram's change across it.
#[derive(Clone, Default)]
pub struct Lateness {
    /// Cumulative counts of the window: (upper bound in seconds, count).
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub mean_ms: f64,
}

impl Lateness {
    fn between(before: &TimerMetrics, after: &TimerMetrics) -> Lateness {
        let buckets: Vec<(f64, u64)> = after
            .buckets
            .iter()
            .map(|&(bound, count)| {
                let earlier = before
                    .buckets
                    .iter()
                    .find(|(b, _)| *b == bound)
                    .map(|(_, c)| *c)
                    .unwrap_or(0);
                (bound, count.saturating_sub(earlier))
            })
            .collect();
        let count = buckets.last().map(|(_, c)| *c).unwrap_or(0);
        let sum = (after.sum_secs - before.sum_secs).max(0.0);
        Lateness {
            buckets,
            count,
            mean_ms: if count > 0 {
                sum * 1e3 / count as f64
            } else {
                0.0
            },
        }
    }

    /// The `q` quantile in ms, interpolated linearly inside its bucket (as Prometheus'
    /// `histogram_quantile` does), with the bucket's upper bound, which it cannot exceed. Past
    /// the last finite bound only that bound is known (the estimate is then a lower bound).
    pub fn quantile_ms(&self, q: f64) -> Option<(f64, f64)> {
        if self.count == 0 {
            return None;
        }
        let rank = q * self.count as f64;
        let (mut lower, mut below) = (0.0, 0u64);
        for &(bound, cumulative) in &self.buckets {
            if cumulative as f64 >= rank && cumulative > below {
                if bound.is_infinite() {
                    return Some((lower * 1e3, f64::INFINITY));
                }
                let share = (rank - below as f64) / (cumulative - below) as f64;
                return Some(((lower + (bound - lower) * share) * 1e3, bound * 1e3));
            }
            lower = bound;
            below = cumulative;
        }
        None
    }

    /// The share of the window's timers committed within `ms` of their deadline (`ms` must be
    /// one of the bucket bounds).
    pub fn share_within_ms(&self, ms: f64) -> Option<f64> {
        let (_, within) = self
            .buckets
            .iter()
            .find(|(bound, _)| (bound * 1e3 - ms).abs() < 1e-9)?;
        (self.count > 0).then(|| *within as f64 / self.count as f64)
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Setting chats up.

/// How the chats of one setup get their timers.
#[derive(Clone, Copy)]
enum Timing {
    /// No UpdateParticipantRoleConfig: the bot joins and no timer runs.
    Untimed,
    /// Idle and auto-disconnect after these minutes.
    Fixed { idle: u32, disconnect: u32 },
    /// Chat `i` of `n` gets the idle timer (in whole minutes) that makes its deadline fall
    /// nearest `from + window × i / n`.
    Spread {
        from: Instant,
        window: Duration,
        disconnect: u32,
    },
}

struct Setup {
    contacts: Vec<Contact>,
    secs: f64,
    retries: u64,
    /// Spread chats set up too late for their place in the window (their idle timer is the
    /// shortest, and falls due after it).
    late: u64,
}

/// Calls `call` up to `attempts` times, pausing `pause` between them.
async fn retried<T, F, Fut>(
    attempts: u32,
    pause: Duration,
    retries: &AtomicU64,
    mut call: F,
) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut last = String::new();
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(pause).await;
        }
        match call().await {
            Ok(value) => return Ok(value),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Sets up `count` chats, `concurrency` at a time: StartChatContact and the customer's
/// ConnectionToken, the timers (per `timing`), then a custom bot that connects, which starts
/// the timers.
async fn set_up(
    api: &Api,
    count: usize,
    timing: Timing,
    minute_ms: u64,
    concurrency: usize,
) -> Result<Setup, String> {
    let retries = AtomicU64::new(0);
    let late = AtomicU64::new(0);
    // A bot that failed to connect in time holds its place until its window closes. The window
    // is short with short timer minutes (250 ms at 1000 ms), so a busy machine misses it now and
    // then: try again a few times more than other calls.
    let bot_pause = Duration::from_millis(BOT_CONNECT_TIMER_SECONDS * minute_ms / 60 * 2 + 50);
    let started = Instant::now();
    let (retries_ref, late_ref) = (&retries, &late);
    let results: Vec<Result<Contact, String>> = futures_util::stream::iter(0..count)
        .map(|i| async move {
            let pause = Duration::from_millis(200);
            let contact = retried(3, pause, retries_ref, || api.new_contact(CHAT_MINUTES)).await?;
            let timers = match timing {
                Timing::Untimed => None,
                Timing::Fixed { idle, disconnect } => Some((idle, disconnect)),
                Timing::Spread {
                    from,
                    window,
                    disconnect,
                } => {
                    let target = from + window.mul_f64(i as f64 / count.max(1) as f64);
                    let wait = target.saturating_duration_since(Instant::now());
                    let minutes = (wait.as_secs_f64() * 1e3 / minute_ms as f64).round() as u32;
                    if minutes < SHORTEST_TIMER_MINUTES {
                        late_ref.fetch_add(1, Ordering::Relaxed);
                    }
                    let minutes = minutes.clamp(SHORTEST_TIMER_MINUTES, LONGEST_TIMER_MINUTES);
                    Some((minutes, disconnect))
                }
            };
            if let Some((idle, disconnect)) = timers {
                retried(3, pause, retries_ref, || {
                    api.set_customer_timers(&contact.contact_id, idle, disconnect)
                })
                .await?;
            }
            retried(10, bot_pause, retries_ref, || {
                api.connect_bot(&contact.contact_id)
            })
            .await?;
            Ok(contact)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let contacts = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Setup {
        contacts,
        secs: started.elapsed().as_secs_f64(),
        retries: retries.load(Ordering::Relaxed),
        late: late.load(Ordering::Relaxed),
    })
}

/// One server with its chats set up, at rest.
#[derive(Clone, Default)]
pub struct ServerFigures {
    pub name: String,
    pub timed: bool,
    pub chats: usize,
    pub setup_secs: f64,
    pub setup_retries: u64,
    pub rss_start_kib: u64,
    /// After the chats are set up and the server has rested (end of the idle window).
    pub rss_chats_kib: u64,
    pub armed_timers: Option<i64>,
    /// Heap in use as the server's allocator counts it, at start and at rest with the chats:
    /// unlike RSS, not raised by memory the allocator kept after the setup freed it.
    pub heap_start_bytes: Option<i64>,
    pub heap_chats_bytes: Option<i64>,
    pub idle_secs: f64,
    pub idle_cpu: CpuUse,
    pub hwm_kib: u64,
}

impl ServerFigures {
    fn growth_kib(&self) -> i64 {
        self.rss_chats_kib as i64 - self.rss_start_kib as i64
    }

    pub fn bytes_per_chat(&self) -> f64 {
        self.growth_kib() as f64 * 1024.0 / self.chats.max(1) as f64
    }

    fn heap_growth(&self) -> Option<i64> {
        Some(self.heap_chats_bytes? - self.heap_start_bytes?)
    }

    pub fn heap_bytes_per_chat(&self) -> Option<f64> {
        Some(self.heap_growth()? as f64 / self.chats.max(1) as f64)
    }
}

/// Sets up `config.chats` chats (timed or not), then measures RSS, armed timers and CPU at rest.
async fn server_phase(
    name: &str,
    server: &ServerProcess,
    api: &Api,
    config: &Config,
    timed: bool,
) -> Result<(ServerFigures, Vec<Contact>), String> {
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut figures = ServerFigures {
        name: name.into(),
        timed,
        rss_start_kib: rss(server.pid),
        heap_start_bytes: read_metrics(&http, server.addr).await?.heap,
        ..ServerFigures::default()
    };
    let timing = if timed {
        Timing::Fixed {
            idle: LONGEST_TIMER_MINUTES,
            disconnect: LONGEST_TIMER_MINUTES,
        }
    } else {
        Timing::Untimed
    };
    say(format!("{name}: setting up {} chats", config.chats));
    let setup = set_up(
        api,
        config.chats,
        timing,
        config.minute_ms,
        config.setup_concurrency,
    )
    .await?;
    figures.chats = setup.contacts.len();
    figures.setup_secs = setup.secs;
    figures.setup_retries = setup.retries;
    say(format!(
        "{name}: {} chats in {:.1} s; resting {:.0} s",
        figures.chats,
        setup.secs,
        config.idle.as_secs_f64() + 2.0
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    figures.armed_timers = read_metrics(&http, server.addr).await?.armed;
    let before = sys::cpu_snap(server.pid);
    tokio::time::sleep(config.idle).await;
    let after = sys::cpu_snap(server.pid);
    figures.idle_cpu = sys::cpu_use(&before, &after, &sys::StateSamples::default());
    figures.idle_secs = config.idle.as_secs_f64();
    figures.rss_chats_kib = rss(server.pid);
    figures.heap_chats_bytes = read_metrics(&http, server.addr).await?.heap;
    figures.hwm_kib = sys::rss_kib(server.pid).map(|(_, hwm)| hwm).unwrap_or(0);
    say(format!(
        "{name}: RSS {:.1} → {:.1} MiB, {:?} armed timers, {:.2}% of a core at rest",
        figures.rss_start_kib as f64 / 1024.0,
        figures.rss_chats_kib as f64 / 1024.0,
        figures.armed_timers,
        figures.idle_cpu.server_cores * 100.0
    ));
    Ok((figures, setup.contacts))
}

// ---------------------------------------------------------------------------------------------
// 3. Lateness with and without message load.

/// The SendMessage load of the loaded window.
#[derive(Clone, Default)]
pub struct LoadFigures {
    pub rate: u64,
    pub chats: usize,
    pub scheduled: usize,
    pub achieved_rate: f64,
    pub acked: usize,
    pub failed: u64,
    pub first_failure: Option<String>,
    pub dropped: u64,
    pub ack_latency: Percentiles,
    /// Response times of the messages sent in each second.
    pub per_second: Vec<Percentiles>,
}

/// Sends SendMessage at `rate` on the customers of `tokens` (round robin) until `until`, on an
/// open-loop schedule; sends beyond `max_outstanding` in flight are dropped, not queued.
async fn send_load(
    api: &Arc<Api>,
    tokens: &Arc<Vec<String>>,
    rate: u64,
    until: Instant,
    max_outstanding: usize,
) -> LoadFigures {
    let mut figures = LoadFigures {
        rate,
        chats: tokens.len(),
        ..LoadFigures::default()
    };
    if tokens.is_empty() || rate == 0 {
        tokio::time::sleep_until(until.into()).await;
        return figures;
    }
    let interval = 1e9 / rate as f64;
    let outstanding = Arc::new(Semaphore::new(max_outstanding.max(1)));
    let failures = Arc::new((AtomicU64::new(0), Mutex::new(None::<String>)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut index = 0usize;
    loop {
        let due = started + Duration::from_nanos((index as f64 * interval) as u64);
        if due >= until {
            break;
        }
        if Instant::now() < due {
            tokio::time::sleep_until(due.into()).await;
        }
        let Ok(permit) = outstanding.clone().try_acquire_owned() else {
            figures.dropped += 1;
            index += 1;
            continue;
        };
        let (api, tokens, failures) = (api.clone(), tokens.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let token = &tokens[index % tokens.len()];
            let sent = Instant::now();
            let outcome = api.send_message(token, &format!("R{index}")).await;
            let failure = match outcome {
                Ok(200) => {
                    let second = sent.duration_since(started).as_secs() as usize;
                    return Some((second, sent.elapsed().as_nanos() as u64));
                }
                Ok(status) => format!("HTTP {status}"),
                Err(e) => e,
            };
            failures.0.fetch_add(1, Ordering::Relaxed);
            failures
                .1
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(failure);
            None
        }));
        index += 1;
    }
    figures.scheduled = index;
    figures.achieved_rate = tasks.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let done = tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(tasks),
    )
    .await
    .unwrap_or_default();
    let acked: Vec<(usize, u64)> = done.into_iter().flatten().flatten().collect();
    let mut by_second: Vec<Vec<u64>> = Vec::new();
    for &(second, latency) in &acked {
        if by_second.len() <= second {
            by_second.resize_with(second + 1, Vec::new);
        }
        by_second[second].push(latency);
    }
    figures.per_second = by_second.into_iter().map(bench::percentiles).collect();
    figures.acked = acked.len();
    figures.ack_latency = bench::percentiles(acked.into_iter().map(|(_, l)| l).collect());
    figures.failed = failures.0.load(Ordering::Relaxed);
    figures.first_failure = failures.1.lock().unwrap_or_else(|p| p.into_inner()).clone();
    figures
}

/// One lateness window.
#[derive(Clone, Default)]
pub struct LatenessFigures {
    pub label: String,
    pub firing_chats: usize,
    pub setup_secs: f64,
    /// Chats set up too late to have their deadline in the window.
    pub late_setups: u64,
    /// The setup ran past the window's start.
    pub setup_overran: bool,
    pub window_secs: f64,
    pub measured_secs: f64,
    pub armed_before: Option<i64>,
    pub lateness: Lateness,
    /// The same, second by second (from `/metrics` read once a second), to tell a stall from a
    /// spread.
    pub per_second: Vec<Lateness>,
    pub load: Option<LoadFigures>,
    pub cpu: CpuUse,
    /// Size of the SQLite write-ahead log at the window's start and end (bytes).
    pub wal_bytes: (u64, u64),
    /// The same at each second of the window.
    pub wal_per_second: Vec<u64>,
}

/// Sets up `config.firing_chats` chats whose idle deadlines fall due over `config.fire_window`,
/// starting once their setup is expected to be over; then waits through the window (sending
/// `load` msgs/s on `armed` meanwhile when given) and reads the lateness of what fired.
async fn lateness_phase(
    label: &str,
    server: &ServerProcess,
    data: &Path,
    api: &Arc<Api>,
    config: &Config,
    setup_rate: f64,
    load: Option<&Arc<Vec<String>>>,
) -> Result<LatenessFigures, String> {
    let http = reqwest::Client::new();
    let expected_setup = config.firing_chats as f64 / setup_rate.max(1.0);
    let window_start = Instant::now() + Duration::from_secs_f64(expected_setup * 2.0 + 5.0);
    say(format!(
        "{label}: setting up {} chats whose idle timers fall due over {:.0} s, in {:.0} s",
        config.firing_chats,
        config.fire_window.as_secs_f64(),
        window_start
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    ));
    let setup = set_up(
        api,
        config.firing_chats,
        Timing::Spread {
            from: window_start,
            window: config.fire_window,
            disconnect: LONGEST_TIMER_MINUTES,
        },
        config.minute_ms,
        config.setup_concurrency,
    )
    .await?;
    let mut figures = LatenessFigures {
        label: label.into(),
        firing_chats: setup.contacts.len(),
        setup_secs: setup.secs,
        late_setups: setup.late,
        setup_overran: Instant::now() > window_start,
        window_secs: config.fire_window.as_secs_f64(),
        ..LatenessFigures::default()
    };
    let before = read_metrics(&http, server.addr).await?;
    figures.armed_before = before.armed;
    let wal = data.join("liaison.db-wal");
    let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let wal_before = wal_size();
    let cpu_before = sys::cpu_snap(server.pid);
    let measured_from = Instant::now();
    // Deadlines land within half a timer minute of their place; the commit follows.
    let end = window_start
        + config.fire_window
        + Duration::from_millis(config.minute_ms)
        + Duration::from_secs(2);
    let sampler = StateSampler::start(
        server.pid,
        Duration::from_millis(5),
        end.saturating_duration_since(Instant::now()) * 2,
    );
    let poller = {
        let (http, addr, wal) = (http.clone(), server.addr, wal.clone());
        tokio::spawn(async move {
            let (mut seen, mut wal_sizes) = (Vec::new(), Vec::new());
            let mut tick = measured_from + Duration::from_secs(1);
            while tick < end {
                tokio::time::sleep_until(tick.into()).await;
                if let Ok(metrics) = read_metrics(&http, addr).await {
                    seen.push(metrics);
                }
                wal_sizes.push(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
                tick += Duration::from_secs(1);
            }
            (seen, wal_sizes)
        })
    };
    match load {
        Some(tokens) => {
            say(format!(
                "{label}: {} msgs/s on {} other chats until the window closes",
                config.rate,
                tokens.len()
            ));
            figures.load =
                Some(send_load(api, tokens, config.rate, end, config.max_outstanding).await);
        }
        None => tokio::time::sleep_until(end.into()).await,
    }
    let after = read_metrics(&http, server.addr).await?;
    let cpu_after = sys::cpu_snap(server.pid);
    let samples = sampler.finish();
    figures.wal_bytes = (wal_before, wal_size());
    figures.measured_secs = measured_from.elapsed().as_secs_f64();
    figures.cpu = sys::cpu_use(&cpu_before, &cpu_after, &samples);
    figures.lateness = Lateness::between(&before, &after);
    let (polled, wal_sizes) = poller.await.unwrap_or_default();
    figures.wal_per_second = wal_sizes;
    let mut seen = vec![before];
    seen.extend(polled);
    seen.push(after);
    figures.per_second = seen
        .windows(2)
        .map(|pair| Lateness::between(&pair[0], &pair[1]))
        .collect();
    let quantile = |q| figures.lateness.quantile_ms(q).map(|(ms, _)| ms);
    say(format!(
        "{label}: {} timers fired; lateness p50 ≈ {:?} ms, p99 ≈ {:?} ms",
        figures.lateness.count,
        quantile(0.5),
        quantile(0.99)
    ));
    Ok(figures)
}

// ---------------------------------------------------------------------------------------------
// The run.

/// Everything one run measured.
#[derive(Default)]
pub struct Outcome {
    pub stores: Vec<StoreFigures>,
    pub untimed: Option<ServerFigures>,
    pub timed: Option<ServerFigures>,
    pub quiet: Option<LatenessFigures>,
    pub loaded: Option<LatenessFigures>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

fn spawn_server(config: &Config, work: &Path, name: &str) -> Result<ServerProcess, String> {
    let mut command = bench::liaison_command(&config.liaison_bin, &work.join(name));
    command.env("LIAISON_TIMER_MINUTE_MS", config.minute_ms.to_string());
    bench::ServerProcess::spawn(command, work.join(format!("{name}.log")))
}

pub async fn run(config: &Config, work: &Path) -> Outcome {
    let mut outcome = Outcome::default();
    for store in [Store::Map, Store::Wheel] {
        say(format!(
            "{}: arming {} keys in a fresh process",
            store.name(),
            config.wheel_keys
        ));
        let keys = config.wheel_keys;
        match tokio::task::spawn_blocking(move || measure_store(store, keys)).await {
            Ok(Ok(figures)) => outcome.stores.push(figures),
            Ok(Err(e)) => outcome.errors.push(e),
            Err(e) => outcome.errors.push(format!("timer-store: {e}")),
        }
    }
    if config.chats > 0 {
        if let Err(e) = untimed_server(config, work, &mut outcome).await {
            say(format!("untimed server: stopped early: {e}"));
            outcome.errors.push(format!("untimed server: {e}"));
        }
        if let Err(e) = timed_server(config, work, &mut outcome).await {
            say(format!("timed server: stopped early: {e}"));
            outcome.errors.push(format!("timed server: {e}"));
        }
    }
    outcome
}

async fn untimed_server(config: &Config, work: &Path, outcome: &mut Outcome) -> Result<(), String> {
    let server = spawn_server(config, work, "untimed")?;
    server.wait_healthy().await?;
    say(format!(
        "untimed server: pid {} on {}",
        server.pid, server.addr
    ));
    let mut api = Api::discover(server.addr).await?;
    api.use_quiet_flow().await?;
    let (figures, _) = server_phase("untimed server", &server, &api, config, false).await?;
    outcome.untimed = Some(figures);
    server.stop();
    Ok(())
}

async fn timed_server(config: &Config, work: &Path, outcome: &mut Outcome) -> Result<(), String> {
    let server = spawn_server(config, work, "timed")?;
    server.wait_healthy().await?;
    say(format!(
        "timed server: pid {} on {}",
        server.pid, server.addr
    ));
    let mut api = Api::discover(server.addr).await?;
    api.use_quiet_flow().await?;
    let api = Arc::new(api);
    let armed_at = Instant::now();
    let (figures, contacts) = server_phase("timed server", &server, &api, config, true).await?;
    let setup_rate = figures.chats as f64 / figures.setup_secs.max(1e-9);
    outcome.timed = Some(figures);
    if config.firing_chats == 0 {
        server.stop();
        return Ok(());
    }
    let data = work.join("timed");
    let tokens: Arc<Vec<String>> =
        Arc::new(contacts.into_iter().map(|c| c.connection_token).collect());
    outcome.quiet = Some(
        lateness_phase(
            "no message load",
            &server,
            &data,
            &api,
            config,
            setup_rate,
            None,
        )
        .await?,
    );
    outcome.loaded = Some(
        lateness_phase(
            "message load",
            &server,
            &data,
            &api,
            config,
            setup_rate,
            Some(&tokens),
        )
        .await?,
    );
    // The armed sessions' own deadlines are the longest timer away from their setup; past that
    // they fire too and are no longer only armed.
    let armed_for = Duration::from_millis(u64::from(LONGEST_TIMER_MINUTES) * config.minute_ms);
    if armed_at.elapsed() >= armed_for {
        outcome.notes.push(format!(
            "the run outlasted the armed sessions' {} s timers: some of them fired in the lateness windows (raise --minute-ms)",
            armed_for.as_secs()
        ));
    }
    server.stop();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The report.

/// What the report describes besides the outcome.
pub type Run<'a> = Measured<'a, Config, Outcome>;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Timers per armed session in this benchmark: the customer's idle and auto-disconnect timers
/// (a custom bot has none of its own).
const TIMERS_PER_SESSION: f64 = 2.0;

impl Run<'_> {
    /// Bytes of server RSS per armed session beyond the same chats untimed.
    pub fn bytes_per_session(&self) -> Option<f64> {
        let (t, u) = (self.outcome.timed.as_ref()?, self.outcome.untimed.as_ref()?);
        let extra_kib = t.growth_kib() - u.growth_kib();
        Some(extra_kib as f64 * 1024.0 / t.chats.max(1) as f64)
    }

    /// Bytes of server heap in use per armed session beyond the same chats untimed: the
    /// allocator's own count, so what it keeps after the setup does not count.
    pub fn heap_bytes_per_session(&self) -> Option<f64> {
        let (t, u) = (self.outcome.timed.as_ref()?, self.outcome.untimed.as_ref()?);
        let extra = t.heap_growth()? - u.heap_growth()?;
        Some(extra as f64 / t.chats.max(1) as f64)
    }

    fn store(&self, store: Store) -> Option<&StoreFigures> {
        self.outcome.stores.iter().find(|s| s.store == store.name())
    }

    /// The wheel's bytes per key beyond the plain map's.
    pub fn wheel_beyond_map(&self) -> Option<f64> {
        Some(self.store(Store::Wheel)?.bytes_per_key() - self.store(Store::Map)?.bytes_per_key())
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let (c, o) = (self.config, self.outcome);
        self.heading(
            &mut out,
            "Liaison chat timers benchmark",
            &format!(" Timer minute: {} ms.", c.minute_ms),
        );

        let _ = writeln!(
            out,
            "### The wheel alone ({} distinct contacts with one deadline each, keys of {} bytes, deadlines 1 min – 6 h away, each store in a fresh process)\n",
            c.wheel_keys,
            o.stores.first().map(|s| s.key_size).unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "| store | RSS growth, armed (MiB) | bytes per key | after re-arming every key (bytes per key) | arm (ns per key) | re-arm (ns per key) |\n|---|---:|---:|---:|---:|---:|"
        );
        for (store, name) in [
            (
                Store::Wheel,
                "`Wheel` (DelayQueue + HashMap, an entry per contact)",
            ),
            (Store::Map, "baseline: `HashMap<TimerKey, u64>`"),
        ] {
            if let Some(s) = self.store(store) {
                let _ = writeln!(
                    out,
                    "| {name} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} |",
                    mib(s.rss_armed_kib.saturating_sub(s.rss_start_kib)),
                    s.bytes_per_key(),
                    s.bytes_per_key_after_reset(),
                    s.arm_ns(),
                    s.reset_ns()
                );
            }
        }
        let _ = writeln!(
            out,
            "\nThe wheel costs {} bytes per key beyond the plain map of deadlines.\n",
            cell(self.wheel_beyond_map(), 1)
        );

        let (t, u) = (o.timed.as_ref(), o.untimed.as_ref());
        let _ = writeln!(
            out,
            "### Armed sessions in the server (SQLite, each chat: StartChatContact, customer ConnectionToken, custom bot connected)\n"
        );
        let _ = writeln!(
            out,
            "| metric | customer idle + auto-disconnect timers ({} min) | baseline: same chats, no timers |\n|---|---:|---:|",
            LONGEST_TIMER_MINUTES
        );
        let mut row = |name: &str, f: &dyn Fn(&ServerFigures) -> Option<f64>, decimals| {
            let _ = writeln!(
                out,
                "| {name} | {} | {} |",
                cell(t.and_then(f), decimals),
                cell(u.and_then(f), decimals)
            );
        };
        row("chats", &|s| Some(s.chats as f64), 0);
        row(
            "chat setups per s (incl. UpdateParticipantRoleConfig when timed)",
            &|s| Some(s.chats as f64 / s.setup_secs.max(1e-9)),
            0,
        );
        row("setup retries", &|s| Some(s.setup_retries as f64), 0);
        row(
            "server RSS at start (MiB)",
            &|s| Some(mib(s.rss_start_kib)),
            1,
        );
        row(
            "server RSS with the chats, at rest (MiB)",
            &|s| Some(mib(s.rss_chats_kib)),
            1,
        );
        row(
            "RSS growth per chat (bytes)",
            &|s| Some(s.bytes_per_chat()),
            0,
        );
        row(
            "server heap in use at start (MiB; the allocator's count)",
            &|s| s.heap_start_bytes.map(|b| b as f64 / 1048576.0),
            1,
        );
        row(
            "server heap in use with the chats, at rest (MiB)",
            &|s| s.heap_chats_bytes.map(|b| b as f64 / 1048576.0),
            1,
        );
        row(
            "heap growth per chat (bytes)",
            &|s| s.heap_bytes_per_chat(),
            0,
        );
        row(
            "`liaison_armed_timers` (wheel entries)",
            &|s| s.armed_timers.map(|v| v as f64),
            0,
        );
        row(
            "server CPU at rest (% of one core)",
            &|s| Some(s.idle_cpu.server_cores * 100.0),
            2,
        );
        row("peak RSS, VmHWM (MiB)", &|s| Some(mib(s.hwm_kib)), 1);
        let per_session = self.bytes_per_session();
        let heap_per_session = self.heap_bytes_per_session();
        let _ = writeln!(
            out,
            "\nPer armed session, beyond the same chat untimed: {} bytes of heap in use ({} bytes per timer, {} timers per session); \
             {} bytes of RSS ({} per timer), which also holds what the allocator kept. CPU was measured over {} s at rest.\n",
            cell(heap_per_session, 0),
            cell(heap_per_session.map(|b| b / TIMERS_PER_SESSION), 0),
            TIMERS_PER_SESSION,
            cell(per_session, 0),
            cell(per_session.map(|b| b / TIMERS_PER_SESSION), 0),
            c.idle.as_secs_f64()
        );

        let (q, l) = (o.quiet.as_ref(), o.loaded.as_ref());
        let _ = writeln!(
            out,
            "### Lateness (deadline → commit of the idle event), with the {} sessions above armed\n",
            t.map(|s| s.chats).unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "| metric | baseline: no message load | {} SendMessage/s on the armed chats |\n|---|---:|---:|",
            c.rate
        );
        let mut row = |name: String, f: &dyn Fn(&LatenessFigures) -> Option<f64>, decimals| {
            let _ = writeln!(
                out,
                "| {name} | {} | {} |",
                cell(q.and_then(f), decimals),
                cell(l.and_then(f), decimals)
            );
        };
        row(
            format!(
                "idle deadlines set to fall due over {} s",
                c.fire_window.as_secs_f64()
            ),
            &|x| Some(x.firing_chats as f64),
            0,
        );
        row(
            "  of which set up too late for their place".into(),
            &|x| Some(x.late_setups as f64),
            0,
        );
        row(
            "timers fired in the measured window (histogram count)".into(),
            &|x| Some(x.lateness.count as f64),
            0,
        );
        row(
            "`liaison_armed_timers` at the window's start".into(),
            &|x| x.armed_before.map(|v| v as f64),
            0,
        );
        for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
            row(
                format!("lateness {name}, interpolated in its bucket (ms)"),
                &move |x| x.lateness.quantile_ms(q).map(|(ms, _)| ms),
                2,
            );
            row(
                format!("  {name} at most (bucket bound, ms)"),
                &move |x| x.lateness.quantile_ms(q).map(|(_, bound)| bound),
                1,
            );
        }
        row(
            "lateness mean (ms)".into(),
            &|x| (x.lateness.count > 0).then_some(x.lateness.mean_ms),
            2,
        );
        row(
            "committed within 20 ms (%)".into(),
            &|x| x.lateness.share_within_ms(20.0).map(|s| s * 100.0),
            2,
        );
        row(
            "SendMessage sent per s".into(),
            &|x| x.load.as_ref().map(|d| d.achieved_rate),
            0,
        );
        row(
            "  acknowledged".into(),
            &|x| x.load.as_ref().map(|d| d.acked as f64),
            0,
        );
        row(
            "  failed".into(),
            &|x| x.load.as_ref().map(|d| d.failed as f64),
            0,
        );
        row(
            "  not sent (too many in flight)".into(),
            &|x| x.load.as_ref().map(|d| d.dropped as f64),
            0,
        );
        row(
            "  SendMessage response time p50 (ms)".into(),
            &|x| x.load.as_ref().map(|d| d.ack_latency.p50),
            2,
        );
        row(
            "  SendMessage response time p99 (ms)".into(),
            &|x| x.load.as_ref().map(|d| d.ack_latency.p99),
            2,
        );
        row(
            "server CPU over the window (cores)".into(),
            &|x| Some(x.cpu.server_cores),
            2,
        );
        row(
            "load generator CPU over the window (cores)".into(),
            &|x| Some(x.cpu.loadgen_cores),
            2,
        );
        row(
            "whole machine busy (%)".into(),
            &|x| Some(x.cpu.machine_busy * 100.0),
            0,
        );
        for x in [q, l].into_iter().flatten() {
            let buckets: Vec<String> = x
                .lateness
                .buckets
                .iter()
                .map(|(bound, count)| {
                    if bound.is_infinite() {
                        format!("+Inf: {count}")
                    } else {
                        format!("≤{} ms: {count}", bound * 1e3)
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "\n{}: cumulative lateness buckets over {:.1} s: {}{}",
                x.label,
                x.measured_secs,
                buckets.join(", "),
                if x.setup_overran {
                    " (the setup ran into the window)"
                } else {
                    ""
                }
            );
            let seconds: Vec<String> = x
                .per_second
                .iter()
                .filter(|second| second.count > 0)
                .map(|second| {
                    let p99 = second.quantile_ms(0.99).map(|(ms, _)| ms);
                    format!("{}: {}", second.count, cell(p99, 1))
                })
                .collect();
            let _ = writeln!(
                out,
                "\n{}: timers fired: p99 lateness (ms), in each second that fired any: {}",
                x.label,
                seconds.join(" · ")
            );
            if let Some(load) = &x.load {
                let seconds: Vec<String> = load
                    .per_second
                    .iter()
                    .map(|p| format!("{:.1}", p.p99))
                    .collect();
                let _ = writeln!(
                    out,
                    "\n{}: SendMessage response time p99 (ms) of the messages sent in each second: {}",
                    x.label,
                    seconds.join(" ")
                );
            }
        }

        for x in [q, l].into_iter().flatten() {
            let sizes: Vec<String> = x
                .wal_per_second
                .iter()
                .map(|bytes| format!("{:.0}", *bytes as f64 / 1048576.0))
                .collect();
            let _ = writeln!(
                out,
                "\n{}: SQLite write-ahead log {:.1} MiB at the window's start, {:.1} MiB at its end; each second (MiB): {}",
                x.label,
                x.wal_bytes.0 as f64 / 1048576.0,
                x.wal_bytes.1 as f64 / 1048576.0,
                sizes.join(" ")
            );
            crate::report::threads_table(&mut out, "Timed server", &x.label, &x.cpu);
        }

        let _ = writeln!(out, "\n### Targets\n");
        let wheel = self.store(Store::Wheel).map(StoreFigures::bytes_per_key);
        // The heap count when the server gives one: RSS varies with what the allocator keeps.
        let (server_bytes, measure) = match heap_per_session {
            Some(bytes) => (Some(bytes), "heap in use"),
            None => (per_session, "RSS"),
        };
        let _ = writeln!(
            out,
            "- ≤ {TARGET_BYTES_PER_TIMER:.0} B per armed timer beyond the chat: {} ({} B of {measure} per session of {} timers \
             beyond the same chat untimed); the wheel holds one entry per contact, which all its deadlines share \
             ({} B per entry alone, {} B beyond a plain map)",
            verdict(server_bytes.map(|b| b / TIMERS_PER_SESSION <= TARGET_BYTES_PER_TIMER)),
            cell(server_bytes, 0),
            TIMERS_PER_SESSION,
            cell(wheel, 1),
            cell(self.wheel_beyond_map(), 1),
        );
        let idle = t.map(|s| s.idle_cpu.server_cores * 100.0);
        let _ = writeln!(
            out,
            "- CPU at rest ~0 (≤ {TARGET_IDLE_CORE_PERCENT}% of a core): {} ({}% with timers, {}% without)",
            verdict(idle.map(|p| p <= TARGET_IDLE_CORE_PERCENT)),
            cell(idle, 2),
            cell(u.map(|s| s.idle_cpu.server_cores * 100.0), 2)
        );
        let p99 = l.and_then(|x| x.lateness.quantile_ms(0.99));
        let _ = writeln!(
            out,
            "- p99 lateness ≤ {TARGET_LATENESS_P99_MS:.0} ms under message load: {} (≈ {} ms, at most {} ms; {}% within 20 ms)",
            verdict(
                l.and_then(|x| x.lateness.share_within_ms(TARGET_LATENESS_P99_MS))
                    .map(|s| s >= 0.99)
            ),
            cell(p99.map(|(ms, _)| ms), 2),
            cell(p99.map(|(_, bound)| bound), 1),
            cell(
                l.and_then(|x| x.lateness.share_within_ms(TARGET_LATENESS_P99_MS))
                    .map(|s| s * 100.0),
                2
            )
        );
        for x in [q, l].into_iter().flatten() {
            if let Some(failure) = x.load.as_ref().and_then(|d| d.first_failure.clone()) {
                let _ = writeln!(out, "\n{}: first SendMessage failure: {failure}", x.label);
            }
        }
        closing(&mut out, &o.notes, &o.errors);
        out
    }

    pub fn json(&self) -> Value {
        let o = self.outcome;
        let server = |s: &ServerFigures| {
            json!({
                "name": s.name,
                "timed": s.timed,
                "chats": s.chats,
                "setup_secs": s.setup_secs,
                "setup_retries": s.setup_retries,
                "rss_start_kib": s.rss_start_kib,
                "rss_chats_kib": s.rss_chats_kib,
                "bytes_per_chat": s.bytes_per_chat(),
                "heap_start_bytes": s.heap_start_bytes,
                "heap_chats_bytes": s.heap_chats_bytes,
                "heap_bytes_per_chat": s.heap_bytes_per_chat(),
                "armed_timers": s.armed_timers,
                "idle_secs": s.idle_secs,
                "idle_server_cores": s.idle_cpu.server_cores,
                "hwm_kib": s.hwm_kib,
            })
        };
        let lateness = |x: &LatenessFigures| {
            let quantile = |q| x.lateness.quantile_ms(q);
            json!({
                "label": x.label,
                "firing_chats": x.firing_chats,
                "setup_secs": x.setup_secs,
                "late_setups": x.late_setups,
                "setup_overran": x.setup_overran,
                "window_secs": x.window_secs,
                "measured_secs": x.measured_secs,
                "armed_before": x.armed_before,
                "fired": x.lateness.count,
                "mean_ms": x.lateness.mean_ms,
                "p50_ms": quantile(0.5).map(|(ms, _)| ms),
                "p99_ms": quantile(0.99).map(|(ms, _)| ms),
                "p99_bound_ms": quantile(0.99).map(|(_, b)| if b.is_finite() { json!(b) } else { json!("+Inf") }),
                "share_within_20ms": x.lateness.share_within_ms(20.0),
                "per_second": x.per_second.iter().map(|second| json!({
                    "fired": second.count,
                    "p99_ms": second.quantile_ms(0.99).map(|(ms, _)| ms),
                })).collect::<Vec<_>>(),
                "buckets": x.lateness.buckets.iter().map(|(b, c)| json!([if b.is_finite() { json!(b) } else { json!("+Inf") }, c])).collect::<Vec<_>>(),
                "server_cores": x.cpu.server_cores,
                "loadgen_cores": x.cpu.loadgen_cores,
                "wal_bytes": [x.wal_bytes.0, x.wal_bytes.1],
                "wal_bytes_per_second": x.wal_per_second,
                "threads": x.cpu.threads.iter().take(8).map(|t| json!({
                    "comm": t.comm, "cores": t.cores, "runq_wait": t.runq_wait,
                    "write_syscalls": t.write_syscalls, "disk_wait": t.disk_wait,
                })).collect::<Vec<_>>(),
                "load": x.load.as_ref().map(|d| json!({
                    "rate": d.rate,
                    "chats": d.chats,
                    "scheduled": d.scheduled,
                    "achieved_rate": d.achieved_rate,
                    "acked": d.acked,
                    "failed": d.failed,
                    "first_failure": d.first_failure,
                    "dropped": d.dropped,
                    "ack_p50_ms": d.ack_latency.p50,
                    "ack_p99_ms": d.ack_latency.p99,
                    "ack_p99_ms_per_second": d.per_second.iter().map(|p| p.p99).collect::<Vec<_>>(),
                })),
            })
        };
        json!({
            "command": self.command_line,
            "machine": {
                "cpus": self.machine.cpus,
                "model": self.machine.model,
                "mem_total_mib": self.machine.mem_total_mib,
                "kernel": self.machine.kernel,
                "data_fs": self.data_fs,
                "fdatasync_per_sec": self.fdatasync_per_sec,
                "load_before": self.load_before,
                "load_after": self.load_after,
            },
            "minute_ms": self.config.minute_ms,
            "stores": o.stores.iter().map(|s| json!({
                "store": s.store,
                "keys": s.keys,
                "len": s.len,
                "key_size": s.key_size,
                "rss_start_kib": s.rss_start_kib,
                "rss_armed_kib": s.rss_armed_kib,
                "rss_reset_kib": s.rss_reset_kib,
                "bytes_per_key": s.bytes_per_key(),
                "bytes_per_key_after_reset": s.bytes_per_key_after_reset(),
                "arm_ns": s.arm_ns(),
                "reset_ns": s.reset_ns(),
            })).collect::<Vec<_>>(),
            "wheel_beyond_map_bytes": self.wheel_beyond_map(),
            "timed": o.timed.as_ref().map(server),
            "untimed": o.untimed.as_ref().map(server),
            "bytes_per_session": self.bytes_per_session(),
            "heap_bytes_per_session": self.heap_bytes_per_session(),
            "quiet": o.quiet.as_ref().map(lateness),
            "loaded": o.loaded.as_ref().map(lateness),
            "notes": o.notes,
            "errors": o.errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = "\
# TYPE liaison_armed_timers gauge
liaison_armed_timers 40000
liaison_heap_in_use_bytes 52428800
liaison_timer_lateness_seconds_bucket{le=\"0.001\"} 10
liaison_timer_lateness_seconds_bucket{le=\"0.0025\"} 50
liaison_timer_lateness_seconds_bucket{le=\"0.005\"} 90
liaison_timer_lateness_seconds_bucket{le=\"0.01\"} 100
liaison_timer_lateness_seconds_bucket{le=\"+Inf\"} 100
liaison_timer_lateness_seconds_sum 0.25
liaison_timer_lateness_seconds_count 100
";

    #[test]
    fn lateness_quantiles_come_from_the_histogram_change() {
        let after = parse_metrics(EXPOSITION);
        assert_eq!(after.armed, Some(40_000));
        assert_eq!(after.heap, Some(52_428_800));
        assert_eq!(after.buckets.len(), 5);
        let before = TimerMetrics {
            armed: None,
            heap: None,
            buckets: vec![
                (0.001, 10),
                (0.0025, 10),
                (0.005, 10),
                (0.01, 10),
                (f64::INFINITY, 10),
            ],
            sum_secs: 0.05,
        };
        let window = Lateness::between(&before, &after);
        assert_eq!(window.count, 90);
        assert!((window.mean_ms - 200.0 / 90.0).abs() < 1e-9);
        // The 45th of 90 is the 5th of the 40 in (2.5, 5] ms (the 40 before are in (1, 2.5]).
        let (p50, bound) = window.quantile_ms(0.5).unwrap_or_default();
        assert!((p50 - (2.5 + 2.5 * 5.0 / 40.0)).abs() < 1e-9, "{p50}");
        assert_eq!(bound, 5.0);
        let (_, bound) = window.quantile_ms(0.99).unwrap_or_default();
        assert_eq!(bound, 10.0);
        assert_eq!(window.share_within_ms(5.0), Some(80.0 / 90.0));
        assert_eq!(Lateness::default().quantile_ms(0.5), None);
    }

    #[test]
    fn what_falls_past_the_last_bound_is_only_bounded_below() {
        let window = Lateness {
            buckets: vec![(0.001, 1), (2.5, 1), (f64::INFINITY, 3)],
            count: 3,
            mean_ms: 0.0,
        };
        assert_eq!(window.quantile_ms(0.99), Some((2500.0, f64::INFINITY)));
    }
}
