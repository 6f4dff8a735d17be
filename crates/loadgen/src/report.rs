//! The Markdown table (and JSON) the run ends with.

use crate::bench::{Config, LatencyReport, Percentiles, TargetReport, ThroughputReport};
use crate::sys::{CpuUse, Machine};
use serde_json::{Value, json};
use std::fmt::Write;

/// Targets Liaison is meant to meet.
pub const TARGET_MSGS_PER_SEC: f64 = 10_000.0;
pub const TARGET_FRACTION_OF_BASELINE: f64 = 0.5;
pub const TARGET_P99_MS: f64 = 10.0;
pub const TARGET_RSS_MIB: f64 = 300.0;

/// What a `timers` or `flows` run reports besides its own figures: how it was started, on what
/// machine, and its configuration and outcome.
pub struct Measured<'a, C, O> {
    pub command_line: String,
    pub machine: &'a Machine,
    pub data_fs: String,
    pub fdatasync_per_sec: Option<f64>,
    pub load_before: String,
    pub load_after: String,
    pub config: &'a C,
    pub outcome: &'a O,
}

impl<C, O> Measured<'_, C, O> {
    /// The report's title, command and machine; `more` ends the machine's paragraph.
    pub fn heading(&self, out: &mut String, title: &str, more: &str) {
        let m = self.machine;
        let _ = writeln!(out, "## {title}\n");
        let _ = writeln!(out, "Command: `{}`\n", self.command_line);
        let _ = writeln!(
            out,
            "Machine: {} CPUs ({}), {} MiB RAM, Linux {}; data dirs on {}; 4 KiB append+fdatasync: {} /s; \
             load average {} before the run, {} after. Load generator and servers share the machine.{more}\n",
            m.cpus,
            m.model,
            m.mem_total_mib,
            m.kernel,
            self.data_fs,
            cell(self.fdatasync_per_sec, 0),
            self.load_before,
            self.load_after,
        );
    }
}

/// The notes and errors that close a report.
pub fn closing(out: &mut String, notes: &[String], errors: &[String]) {
    for note in notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    for error in errors {
        let _ = writeln!(out, "\nError: {error}");
    }
}

/// Everything the report describes.
pub struct Run<'a> {
    pub command_line: String,
    pub machine: &'a Machine,
    pub nofile: u64,
    pub data_fs: String,
    pub fdatasync_per_sec: Option<f64>,
    pub config: &'a Config,
    pub liaison: Option<&'a TargetReport>,
    pub relay: Option<&'a TargetReport>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A figure for a Markdown table: `—` when not measured, `∞` when unbounded.
pub fn cell(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        Some(_) => "∞".into(),
        None => "—".into(),
    }
}

fn ratio(liaison: Option<f64>, baseline: Option<f64>) -> String {
    match (liaison, baseline) {
        (Some(l), Some(b)) if b > 0.0 => format!("{:.0}%", l / b * 100.0),
        _ => "—".into(),
    }
}

/// How a target fared, for the report's list of targets.
pub fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn tp(report: Option<&TargetReport>) -> Option<&ThroughputReport> {
    report?.throughput.as_ref()
}

fn lat(report: Option<&TargetReport>) -> Option<&LatencyReport> {
    report?.latency.as_ref()
}

impl Run<'_> {
    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = self.machine;
        let c = self.config;
        let _ = writeln!(out, "## Liaison load benchmark\n");
        let _ = writeln!(out, "Command: `{}`\n", self.command_line);
        let _ = writeln!(
            out,
            "Machine: {} CPUs ({}), {} MiB RAM, Linux {}; RLIMIT_NOFILE {}; data dir on {}; \
             4 KiB append+fdatasync: {} /s. Load generator and servers share the machine.\n",
            m.cpus,
            m.model,
            m.mem_total_mib,
            m.kernel,
            self.nofile,
            self.data_fs,
            cell(self.fdatasync_per_sec, 0)
        );
        let (l, b) = (self.liaison, self.relay);
        let _ = writeln!(
            out,
            "| metric | Liaison | baseline relay | Liaison / baseline |\n|---|---:|---:|---:|"
        );
        let mut row =
            |name: String, lv: Option<f64>, bv: Option<f64>, decimals: usize, rel: bool| {
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} |",
                    cell(lv, decimals),
                    cell(bv, decimals),
                    if rel { ratio(lv, bv) } else { String::new() }
                );
            };
        let tp_name = format!(
            "**Throughput**: acknowledged SendMessage/s ({} in flight, {} chats, {} s after {} s warm-up)",
            c.concurrency,
            c.throughput_chats,
            c.duration.as_secs_f64(),
            c.warmup.as_secs_f64()
        );
        row(
            tp_name,
            tp(l).map(|t| t.per_sec),
            tp(b).map(|t| t.per_sec),
            0,
            true,
        );
        row(
            "  failed requests".into(),
            tp(l).map(|t| t.failed as f64),
            tp(b).map(|t| t.failed as f64),
            0,
            false,
        );
        row(
            "  aws/chat frames delivered per acknowledged message".into(),
            tp(l).map(|t| t.frames_delivered as f64 / t.acked_total.max(1) as f64),
            tp(b).map(|t| t.frames_delivered as f64 / t.acked_total.max(1) as f64),
            3,
            false,
        );
        for (label, pick) in [
            ("p50", (|p: &Percentiles| p.p50) as fn(&Percentiles) -> f64),
            ("p99", |p: &Percentiles| p.p99),
        ] {
            row(
                format!("  SendMessage response time {label} at saturation (ms)"),
                tp(l).map(|t| pick(&t.ack_latency)),
                tp(b).map(|t| pick(&t.ack_latency)),
                2,
                false,
            );
        }
        row(
            "  server CPU (cores busy)".into(),
            tp(l).map(|t| t.cpu.server_cores),
            tp(b).map(|t| t.cpu.server_cores),
            2,
            false,
        );
        row(
            "  load generator CPU (cores busy)".into(),
            tp(l).map(|t| t.cpu.loadgen_cores),
            tp(b).map(|t| t.cpu.loadgen_cores),
            2,
            false,
        );
        row(
            "  server disk writes per acknowledged message (KiB)".into(),
            tp(l).map(|t| t.cpu.server_disk_bytes as f64 / 1024.0 / t.acked.max(1) as f64),
            tp(b).map(|t| t.cpu.server_disk_bytes as f64 / 1024.0 / t.acked.max(1) as f64),
            1,
            false,
        );
        row(
            "  whole machine busy (%)".into(),
            tp(l).map(|t| t.cpu.machine_busy * 100.0),
            tp(b).map(|t| t.cpu.machine_busy * 100.0),
            0,
            false,
        );
        row(
            "  other CPU on the machine: kernel I/O threads, other processes (cores)".into(),
            tp(l).map(|t| t.cpu.other_cores),
            tp(b).map(|t| t.cpu.other_cores),
            2,
            false,
        );
        let lat_name = format!(
            "**Latency** at {} msgs/s over {} open chats for {} s: achieved send rate (msgs/s)",
            c.rate,
            c.latency_chats,
            c.latency_duration.as_secs_f64()
        );
        row(
            lat_name,
            lat(l).map(|x| x.achieved_rate),
            lat(b).map(|x| x.achieved_rate),
            0,
            false,
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
                lat(l).map(|x| pick(&x.frame_latency)),
                lat(b).map(|x| pick(&x.frame_latency)),
                2,
                false,
            );
        }
        for (label, pick) in [
            ("p50", (|p: &Percentiles| p.p50) as fn(&Percentiles) -> f64),
            ("p99", |p: &Percentiles| p.p99),
        ] {
            row(
                format!("  send → HTTP 200, {label} (ms)"),
                lat(l).map(|x| pick(&x.ack_latency)),
                lat(b).map(|x| pick(&x.ack_latency)),
                2,
                false,
            );
        }
        for (label, pick) in [
            (
                "acknowledged, but no frame within 15 s",
                (|x: &LatencyReport| x.lost as f64) as fn(&LatencyReport) -> f64,
            ),
            (
                "failed (non-200 or transport error)",
                |x: &LatencyReport| x.failed as f64,
            ),
            (
                "not sent: --max-outstanding requests already in flight",
                |x: &LatencyReport| x.dropped as f64,
            ),
        ] {
            row(
                format!("  {label}"),
                lat(l).map(pick),
                lat(b).map(pick),
                0,
                false,
            );
        }
        row(
            "  generator lag behind schedule, p99 (ms)".into(),
            lat(l).map(|x| x.generator_lag.p99),
            lat(b).map(|x| x.generator_lag.p99),
            2,
            false,
        );
        row(
            "  server CPU (cores busy)".into(),
            lat(l).map(|x| x.cpu.server_cores),
            lat(b).map(|x| x.cpu.server_cores),
            2,
            false,
        );
        let mem = |r: Option<&TargetReport>| r.and_then(|r| r.memory.clone());
        let (lm, bm) = (mem(l), mem(b));
        row(
            "**Memory**: server RSS at idle (MiB)".into(),
            lm.as_ref().map(|m| mib(m.rss_idle_kib)),
            bm.as_ref().map(|m| mib(m.rss_idle_kib)),
            1,
            false,
        );
        row(
            format!(
                "  RSS with {} chats, no socket (MiB)",
                lm.as_ref().or(bm.as_ref()).map(|m| m.chats).unwrap_or(0)
            ),
            lm.as_ref().map(|m| mib(m.rss_chats_kib)),
            bm.as_ref().map(|m| mib(m.rss_chats_kib)),
            1,
            false,
        );
        row(
            format!(
                "  RSS with {} idle sockets open, {} per chat (MiB)",
                c.sockets, c.sockets_per_chat
            ),
            lm.as_ref().map(|m| mib(m.rss_sockets_kib)),
            bm.as_ref().map(|m| mib(m.rss_sockets_kib)),
            1,
            true,
        );
        row(
            "  sockets actually open (server fds)".into(),
            lm.as_ref().map(|m| m.sockets_open as f64),
            bm.as_ref().map(|m| m.sockets_open as f64),
            0,
            false,
        );
        row(
            "  RSS per socket (KiB)".into(),
            lm.as_ref().map(|m| m.per_socket_kib()),
            bm.as_ref().map(|m| m.per_socket_kib()),
            1,
            true,
        );
        row(
            "  peak RSS over the whole run, VmHWM (MiB)".into(),
            l.map(|r| mib(r.hwm_kib)),
            b.map(|r| mib(r.hwm_kib)),
            1,
            false,
        );
        row(
            "  chat setup (StartChatContact + CreateParticipantConnection) per s".into(),
            lm.as_ref().map(|m| m.chat_setup_per_sec),
            bm.as_ref().map(|m| m.chat_setup_per_sec),
            0,
            true,
        );
        row(
            "  socket open + subscribe per s".into(),
            lm.as_ref().map(|m| m.socket_open_per_sec),
            bm.as_ref().map(|m| m.socket_open_per_sec),
            0,
            true,
        );

        let _ = writeln!(out, "\n### Targets (Liaison)\n");
        let lt = tp(l).map(|t| t.per_sec);
        let bt = tp(b).map(|t| t.per_sec);
        let _ = writeln!(
            out,
            "- ≥ {TARGET_MSGS_PER_SEC:.0} durable msgs/s: {} ({})",
            verdict(lt.map(|v| v >= TARGET_MSGS_PER_SEC)),
            cell(lt, 0)
        );
        let _ = writeln!(
            out,
            "- ≥ {:.0}% of the baseline's throughput: {} ({})",
            TARGET_FRACTION_OF_BASELINE * 100.0,
            verdict(
                lt.zip(bt)
                    .map(|(l, b)| l >= TARGET_FRACTION_OF_BASELINE * b)
            ),
            ratio(lt, bt)
        );
        let lp = lat(l).filter(|x| x.frame_latency.count > 0);
        let _ = writeln!(
            out,
            "- p99 ≤ {TARGET_P99_MS:.0} ms at {} msgs/s over {} chats: {} ({} ms; {} of {} scheduled messages measured)",
            c.rate,
            c.latency_chats,
            verdict(
                lp.map(|x| x.frame_latency.p99 <= TARGET_P99_MS && x.lost == 0 && x.dropped == 0)
            ),
            cell(lp.map(|x| x.frame_latency.p99), 2),
            lp.map(|x| x.frame_latency.count).unwrap_or(0),
            lp.map(|x| x.scheduled).unwrap_or(0)
        );
        let rss_sockets = lm
            .as_ref()
            .filter(|m| m.sockets_open >= 10_000)
            .map(|m| mib(m.rss_sockets_kib));
        let _ = writeln!(
            out,
            "- 10,000 open sockets under {TARGET_RSS_MIB:.0} MB RSS: {} ({} MiB with {} sockets)",
            verdict(rss_sockets.map(|v| v * 1.048_576 < TARGET_RSS_MIB)),
            cell(lm.as_ref().map(|m| mib(m.rss_sockets_kib)), 1),
            lm.as_ref().map(|m| m.sockets_open).unwrap_or(0)
        );

        for report in [l, b].into_iter().flatten() {
            if let Some(x) = lat(Some(report)) {
                let seconds: Vec<String> = x
                    .per_second
                    .iter()
                    .map(|p| format!("{:.1}", p.p99))
                    .collect();
                let _ = writeln!(
                    out,
                    "\n{}, latency phase, p99 (ms) of the messages sent in each second: {}",
                    report.name,
                    seconds.join(" ")
                );
            }
        }
        for report in [l, b].into_iter().flatten() {
            for (phase, cpu) in [
                ("throughput", tp(Some(report)).map(|t| &t.cpu)),
                ("latency", lat(Some(report)).map(|x| &x.cpu)),
            ] {
                if let Some(cpu) = cpu {
                    threads_table(&mut out, &report.name, phase, cpu);
                }
            }
        }
        for report in [l, b].into_iter().flatten() {
            let mut notes: Vec<String> = report.errors.clone();
            if let Some(f) = tp(Some(report)).and_then(|t| t.first_failure.clone()) {
                notes.push(format!("throughput: first failure: {f}"));
            }
            if let Some(f) = lat(Some(report)).and_then(|x| x.first_failure.clone()) {
                notes.push(format!("latency: first failure: {f}"));
            }
            if let Some(m) = &report.memory
                && m.closed_by_server > 0
            {
                notes.push(format!(
                    "{} idle sockets were closed by the server",
                    m.closed_by_server
                ));
            }
            for note in notes {
                let _ = writeln!(out, "\n{}: {note}", report.name);
            }
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "command": self.command_line,
            "machine": {
                "cpus": self.machine.cpus,
                "model": self.machine.model,
                "mem_total_mib": self.machine.mem_total_mib,
                "kernel": self.machine.kernel,
                "nofile": self.nofile,
                "data_fs": self.data_fs,
                "fdatasync_per_sec": self.fdatasync_per_sec,
            },
            "liaison": self.liaison.map(target_json),
            "baseline": self.relay.map(target_json),
        })
    }
}

pub fn threads_table(out: &mut String, name: &str, phase: &str, cpu: &CpuUse) {
    let _ = writeln!(
        out,
        "\n{name}, {phase} phase: server {:.2} cores, load generator {:.2} cores, others {:.2} cores, machine {:.0}% busy. Busiest server threads:\n",
        cpu.server_cores,
        cpu.loadgen_cores,
        cpu.other_cores,
        cpu.machine_busy * 100.0
    );
    let _ = writeln!(
        out,
        "| thread (tid) | CPU (cores) | waiting for a CPU (fraction of wall time) | write syscalls | sampled in disk wait (D) |\n|---|---:|---:|---:|---:|"
    );
    for thread in cpu
        .threads
        .iter()
        .filter(|t| t.cores > 0.005 || t.disk_wait > 0.01)
        .take(8)
    {
        let _ = writeln!(
            out,
            "| {} ({}) | {:.2} | {:.2} | {} | {:.0}% |",
            thread.comm,
            thread.tid,
            thread.cores,
            thread.runq_wait,
            thread.write_syscalls,
            thread.disk_wait * 100.0
        );
    }
}

fn percentiles_json(p: &Percentiles) -> Value {
    json!({"count": p.count, "p50_ms": p.p50, "p90_ms": p.p90, "p99_ms": p.p99, "p999_ms": p.p999, "max_ms": p.max})
}

fn cpu_json(cpu: &CpuUse) -> Value {
    json!({
        "server_cores": cpu.server_cores,
        "loadgen_cores": cpu.loadgen_cores,
        "machine_busy": cpu.machine_busy,
        "other_cores": cpu.other_cores,
        "server_disk_bytes": cpu.server_disk_bytes,
        "threads": cpu.threads.iter().take(12).map(|t| json!({
            "tid": t.tid, "comm": t.comm, "cores": t.cores, "runq_wait": t.runq_wait,
            "write_syscalls": t.write_syscalls, "disk_wait": t.disk_wait, "samples": t.samples,
        })).collect::<Vec<_>>(),
    })
}

fn target_json(report: &TargetReport) -> Value {
    json!({
        "name": report.name,
        "errors": report.errors,
        "rss_end_kib": report.rss_end_kib,
        "hwm_kib": report.hwm_kib,
        "memory": report.memory.as_ref().map(|m| json!({
            "chats": m.chats,
            "sockets_wanted": m.sockets_wanted,
            "sockets_open": m.sockets_open,
            "rss_idle_kib": m.rss_idle_kib,
            "rss_chats_kib": m.rss_chats_kib,
            "rss_sockets_kib": m.rss_sockets_kib,
            "per_socket_kib": m.per_socket_kib(),
            "fds_with_sockets": m.fds_with_sockets,
            "chat_setup_per_sec": m.chat_setup_per_sec,
            "socket_open_per_sec": m.socket_open_per_sec,
            "closed_by_server": m.closed_by_server,
        })),
        "throughput": report.throughput.as_ref().map(|t| json!({
            "chats": t.chats,
            "concurrency": t.concurrency,
            "window_secs": t.window_secs,
            "acked": t.acked,
            "acked_total": t.acked_total,
            "failed": t.failed,
            "first_failure": t.first_failure,
            "per_sec": t.per_sec,
            "ack_latency": percentiles_json(&t.ack_latency),
            "frames_delivered": t.frames_delivered,
            "cpu": cpu_json(&t.cpu),
        })),
        "latency": report.latency.as_ref().map(|x| json!({
            "chats": x.chats,
            "offered_rate": x.offered_rate,
            "scheduled": x.scheduled,
            "sent": x.sent,
            "achieved_rate": x.achieved_rate,
            "acked": x.acked,
            "failed": x.failed,
            "first_failure": x.first_failure,
            "dropped": x.dropped,
            "lost": x.lost,
            "frame_latency": percentiles_json(&x.frame_latency),
            "ack_latency": percentiles_json(&x.ack_latency),
            "generator_lag": percentiles_json(&x.generator_lag),
            "per_second": x.per_second.iter().map(percentiles_json).collect::<Vec<_>>(),
            "cpu": cpu_json(&x.cpu),
        })),
    })
}
