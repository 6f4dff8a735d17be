//! What the load generator reads from the operating system: file-descriptor limits, the
//! machine's description, a process's memory and CPU time from `/proc`, and how fast the disk
//! under the data directory makes small appends durable.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Raises RLIMIT_NOFILE for this process (and so for the servers it spawns afterwards).
/// Tries `wanted` for both limits (root may raise the hard limit), else the current hard limit.
/// Returns the soft limit in force afterwards.
pub fn raise_nofile(wanted: u64) -> u64 {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) != 0 {
            return 0;
        }
        if current.rlim_cur >= wanted {
            return current.rlim_cur;
        }
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: wanted.max(current.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
            let to_hard = libc::rlimit {
                rlim_cur: current.rlim_max,
                rlim_max: current.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &to_hard);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut current);
    }
    current.rlim_cur
}

/// nproc, CPU model, memory, kernel.
pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub mem_total_mib: u64,
    pub kernel: String,
}

pub fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total_kib = status_field(&meminfo, "MemTotal:").unwrap_or(0);
    Machine {
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        model,
        mem_total_mib: mem_total_kib / 1024,
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The filesystem type and device a path lives on, from /proc/mounts (longest matching mount).
pub fn filesystem_of(path: &Path) -> String {
    let Ok(path) = path.canonicalize() else {
        return "unknown".into();
    };
    let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut best: Option<(usize, String)> = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        let mount_point = Path::new(fields[1]);
        if path.starts_with(mount_point) {
            let depth = fields[1].len();
            if best.as_ref().is_none_or(|(d, _)| depth > *d) {
                best = Some((
                    depth,
                    format!("{} on {} ({})", fields[2], fields[1], fields[0]),
                ));
            }
        }
    }
    best.map(|(_, s)| s).unwrap_or_else(|| "unknown".into())
}

fn status_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resident memory of a process: (VmRSS, VmHWM) in KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some((
        status_field(&status, "VmRSS:")?,
        status_field(&status, "VmHWM:").unwrap_or(0),
    ))
}

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

pub fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Fields of a `/proc/.../stat` line after the `(comm)` part, which may contain spaces.
fn stat_fields(text: &str) -> Option<(String, Vec<&str>)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    Some((comm, text[close + 1..].split_whitespace().collect()))
}

/// utime + stime of a process or thread, in clock ticks.
fn cpu_ticks(stat_path: &str) -> Option<(String, char, u64)> {
    let text = fs::read_to_string(stat_path).ok()?;
    let (comm, fields) = stat_fields(&text)?;
    // After the comm: state is field 3 of the line (index 0 here); utime 14 (index 11); stime 15 (index 12).
    let state = fields.first()?.chars().next()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, state, utime + stime))
}

/// One thread's counters.
#[derive(Clone, Default)]
pub struct ThreadSnap {
    pub comm: String,
    pub ticks: u64,
    /// Nanoseconds spent waiting on a run queue (from schedstat).
    pub runq_wait_ns: u64,
    /// write-class syscalls (write, fsync count as calls that write) from /proc/.../io.
    pub syscw: u64,
}

fn thread_snaps(pid: u32) -> BTreeMap<u32, ThreadSnap> {
    let mut out = BTreeMap::new();
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let base = format!("/proc/{pid}/task/{tid}");
        let Some((comm, _, ticks)) = cpu_ticks(&format!("{base}/stat")) else {
            continue;
        };
        let runq_wait_ns = fs::read_to_string(format!("{base}/schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0);
        let syscw = fs::read_to_string(format!("{base}/io"))
            .ok()
            .and_then(|s| status_field(&s, "syscw:"))
            .unwrap_or(0);
        out.insert(
            tid,
            ThreadSnap {
                comm,
                ticks,
                runq_wait_ns,
                syscw,
            },
        );
    }
    out
}

/// Busy and total jiffies of the whole machine, from the `cpu` line of /proc/stat.
fn machine_jiffies() -> (u64, u64) {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// CPU counters of the server, this process and the machine at one instant.
pub struct CpuSnap {
    at: Instant,
    server: u64,
    me: u64,
    machine_busy: u64,
    machine_total: u64,
    server_write_bytes: u64,
    threads: BTreeMap<u32, ThreadSnap>,
}

pub fn cpu_snap(server_pid: u32) -> CpuSnap {
    let (machine_busy, machine_total) = machine_jiffies();
    CpuSnap {
        at: Instant::now(),
        server: cpu_ticks(&format!("/proc/{server_pid}/stat"))
            .map(|(_, _, t)| t)
            .unwrap_or(0),
        me: cpu_ticks("/proc/self/stat").map(|(_, _, t)| t).unwrap_or(0),
        machine_busy,
        machine_total,
        server_write_bytes: fs::read_to_string(format!("/proc/{server_pid}/io"))
            .ok()
            .and_then(|s| status_field(&s, "write_bytes:"))
            .unwrap_or(0),
        threads: thread_snaps(server_pid),
    }
}

/// One server thread's share of a phase.
#[derive(Clone)]
pub struct ThreadUse {
    pub tid: u32,
    pub comm: String,
    /// CPU time / wall time.
    pub cores: f64,
    /// Run-queue wait / wall time: how much it wanted a CPU and had none.
    pub runq_wait: f64,
    pub write_syscalls: u64,
    /// Fraction of samples in uninterruptible sleep (D: waiting for the disk).
    pub disk_wait: f64,
    pub samples: u64,
}

/// CPU use over a phase.
#[derive(Clone, Default)]
pub struct CpuUse {
    pub server_cores: f64,
    pub loadgen_cores: f64,
    pub machine_busy: f64,
    /// CPU the machine spent outside the server and the load generator (kernel I/O threads,
    /// other processes), in cores.
    pub other_cores: f64,
    /// Bytes the server caused to be written to storage.
    pub server_disk_bytes: u64,
    pub threads: Vec<ThreadUse>,
}

pub fn cpu_use(before: &CpuSnap, after: &CpuSnap, states: &StateSamples) -> CpuUse {
    let wall = after.at.duration_since(before.at).as_secs_f64().max(1e-9);
    let hz = clock_ticks_per_sec();
    let cores = |a: u64, b: u64| b.saturating_sub(a) as f64 / hz / wall;
    let mut threads: Vec<ThreadUse> = after
        .threads
        .iter()
        .map(|(tid, snap)| {
            let old = before.threads.get(tid).cloned().unwrap_or_default();
            let (disk, samples) = states.get(*tid);
            ThreadUse {
                tid: *tid,
                comm: snap.comm.clone(),
                cores: cores(old.ticks, snap.ticks),
                runq_wait: snap.runq_wait_ns.saturating_sub(old.runq_wait_ns) as f64 / 1e9 / wall,
                write_syscalls: snap.syscw.saturating_sub(old.syscw),
                disk_wait: if samples > 0 {
                    disk as f64 / samples as f64
                } else {
                    0.0
                },
                samples,
            }
        })
        .collect();
    threads.sort_by(|a, b| b.cores.total_cmp(&a.cores));
    let machine_total = after.machine_total.saturating_sub(before.machine_total);
    let machine_busy = if machine_total > 0 {
        after.machine_busy.saturating_sub(before.machine_busy) as f64 / machine_total as f64
    } else {
        0.0
    };
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let server_cores = cores(before.server, after.server);
    let loadgen_cores = cores(before.me, after.me);
    CpuUse {
        server_cores,
        loadgen_cores,
        machine_busy,
        other_cores: (machine_busy * cpus - server_cores - loadgen_cores).max(0.0),
        server_disk_bytes: after
            .server_write_bytes
            .saturating_sub(before.server_write_bytes),
        threads,
    }
}

/// Per-thread counts of (samples in state D, all samples), gathered by a [`StateSampler`].
#[derive(Default)]
pub struct StateSamples(BTreeMap<u32, (u64, u64)>);

impl StateSamples {
    fn get(&self, tid: u32) -> (u64, u64) {
        self.0.get(&tid).copied().unwrap_or((0, 0))
    }
}

/// Samples the scheduler state of every server thread every few milliseconds on its own OS
/// thread, to see how often a thread sits in uninterruptible (disk) sleep.
pub struct StateSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<StateSamples>,
}

impl StateSampler {
    pub fn start(pid: u32, every: Duration, limit: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut samples = StateSamples::default();
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) && started.elapsed() < limit {
                if let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) {
                    for entry in dir.flatten() {
                        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok())
                        else {
                            continue;
                        };
                        if let Some((_, state, _)) =
                            cpu_ticks(&format!("/proc/{pid}/task/{tid}/stat"))
                        {
                            let slot = samples.0.entry(tid).or_default();
                            slot.1 += 1;
                            if state == 'D' {
                                slot.0 += 1;
                            }
                        }
                    }
                }
                std::thread::sleep(every);
            }
            samples
        });
        StateSampler { stop, handle }
    }

    pub fn finish(self) -> StateSamples {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// How many 4 KiB appends per second the disk under `dir` makes durable with fdatasync
/// (what a SQLite WAL commit with synchronous=FULL costs at least once per transaction).
pub fn fdatasync_rate(dir: &Path, duration: Duration) -> Option<f64> {
    let path = dir.join(format!("loadgen-fsync-probe-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .ok()?;
    let block = [0x5au8; 4096];
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < duration && count < 1_000_000 {
        if file.write_all(&block).is_err() || file.sync_data().is_err() {
            break;
        }
        count += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(file);
    let _ = fs::remove_file(&path);
    (count > 0).then(|| count as f64 / elapsed)
}
