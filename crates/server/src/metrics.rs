//! Prometheus metrics, rendered by hand in the text exposition format: a few counters and
//! gauges do not justify a metrics framework. Operation names come from the operation table.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the store write latency histogram.
const WRITE_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Upper bounds (seconds) of the timer lateness histogram.
const LATENESS_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 2.5];

/// A cumulative histogram of durations.
struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(self.bounds) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bucket, bound) in self.buckets.iter().zip(self.bounds) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

pub struct Metrics {
    /// (api, operation, outcome code) → count; outcome is `OK` or the AWS error code.
    requests: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>>,
    pub open_sockets: AtomicI64,
    pub armed_timers: AtomicI64,
    /// Flow blocks executed on this node.
    pub flow_blocks: AtomicU64,
    /// Flow runs this node was asked to drive and has not finished driving (running or
    /// waiting their turn); StartChatContact refuses new chats past a limit.
    pub pending_flow_runs: AtomicI64,
    writes: Histogram,
    timer_lateness: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Mutex::default(),
            open_sockets: AtomicI64::new(0),
            armed_timers: AtomicI64::new(0),
            flow_blocks: AtomicU64::new(0),
            pending_flow_runs: AtomicI64::new(0),
            writes: Histogram::new(&WRITE_BUCKETS),
            timer_lateness: Histogram::new(&LATENESS_BUCKETS),
        }
    }
}

impl Metrics {
    pub fn count_request(&self, api: &'static str, operation: &'static str, outcome: &'static str) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry((api, operation, outcome)).or_default() += 1;
    }

    pub fn observe_write(&self, took: Duration) {
        self.writes.observe(took);
    }

    /// How long after its deadline a chat timer's effect was committed.
    pub fn observe_timer_lateness(&self, late: Duration) {
        self.timer_lateness.observe(late);
    }

    /// The exposition text; `active_chats` is read from the store by the caller.
    pub fn render(&self, active_chats: Option<i64>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP liaison_requests_total API requests by operation and outcome (OK or the AWS error code)."
        );
        let _ = writeln!(out, "# TYPE liaison_requests_total counter");
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for ((api, operation, outcome), count) in requests.iter() {
            let _ = writeln!(
                out,
                "liaison_requests_total{{api=\"{api}\",operation=\"{operation}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        drop(requests);
        let _ = writeln!(
            out,
            "# HELP liaison_flow_blocks_total Contact flow blocks executed on this node.\n# TYPE liaison_flow_blocks_total counter\nliaison_flow_blocks_total {}",
            self.flow_blocks.load(Ordering::Relaxed)
        );
        let gauges = [
            (
                "liaison_open_sockets",
                "WebSocket connections open on this node.",
                Some(self.open_sockets.load(Ordering::Relaxed)),
            ),
            (
                "liaison_armed_timers",
                "Chat deadlines armed in this node's timer wheel.",
                Some(self.armed_timers.load(Ordering::Relaxed)),
            ),
            (
                "liaison_pending_flow_runs",
                "Flow runs this node is driving or about to drive.",
                Some(self.pending_flow_runs.load(Ordering::Relaxed)),
            ),
            (
                "liaison_active_chats",
                "Open chat contacts in the store.",
                active_chats,
            ),
            (
                "liaison_heap_in_use_bytes",
                "Heap memory the process holds, as the allocator counts it (unlike RSS, without what it keeps after frees).",
                heap_in_use_bytes(),
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
                );
            }
        }
        self.writes.render(
            &mut out,
            "liaison_store_write_duration_seconds",
            "Time to durably write chat items.",
        );
        self.timer_lateness.render(
            &mut out,
            "liaison_timer_lateness_seconds",
            "Time from a chat timer's deadline to the commit of what it did.",
        );
        out
    }
}

/// Bytes allocated and not yet freed, from glibc's statistics over all its arenas, mmapped
/// blocks included. Benchmarks compare memory with it, since RSS also holds what the allocator
/// keeps for later. Locks each arena for a moment, so it is read per scrape only.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use_bytes() -> Option<i64> {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's own bookkeeping.
    let info = unsafe { libc::mallinfo2() };
    i64::try_from(info.uordblks.saturating_add(info.hblkhd)).ok()
}

/// Other allocators keep no count this can read.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use_bytes() -> Option<i64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.count_request("connect", "StartChatContact", "OK");
        metrics.count_request("connect", "StartChatContact", "OK");
        metrics.count_request("connectparticipant", "SendMessage", "ValidationException");
        metrics.open_sockets.store(3, Ordering::Relaxed);
        metrics.observe_write(Duration::from_micros(700));
        metrics.observe_write(Duration::from_millis(30));
        let text = metrics.render(Some(5));
        assert!(text.contains("liaison_requests_total{api=\"connect\",operation=\"StartChatContact\",outcome=\"OK\"} 2"));
        assert!(text.contains("outcome=\"ValidationException\"} 1"));
        assert!(text.contains("liaison_open_sockets 3"));
        assert!(text.contains("liaison_active_chats 5"));
        assert!(text.contains("liaison_store_write_duration_seconds_bucket{le=\"0.0005\"} 0"));
        assert!(text.contains("liaison_store_write_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("liaison_store_write_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("liaison_store_write_duration_seconds_count 2"));
        metrics.observe_timer_lateness(Duration::from_millis(3));
        let text = metrics.render(None);
        assert!(text.contains("liaison_timer_lateness_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("liaison_timer_lateness_seconds_bucket{le=\"0.005\"} 1"));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_heap_gauge_follows_allocations() {
        let gauge = || {
            let text = Metrics::default().render(None);
            text.lines()
                .find_map(|line| line.strip_prefix("liaison_heap_in_use_bytes "))
                .and_then(|value| value.parse::<i64>().ok())
                .expect("the heap gauge")
        };
        let before = gauge();
        let block = vec![1u8; 64 << 20];
        let holding = gauge();
        assert!(holding - before >= 64 << 20, "{before} → {holding}");
        drop(block);
        assert!(gauge() < holding - (32 << 20));
    }
}
