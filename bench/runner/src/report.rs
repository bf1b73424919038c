//! The table, the goals, docs/bench.md and docs/bench.svg.

use crate::{Conc, Figures, Runtime};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The official runtime's figures in issue 4, for `--ci` (which builds no peer).
const REF_OFFICIAL_INSTR_PER_INV: f64 = 213_166.0;
const REF_OFFICIAL_STARTUP_INSTR: f64 = 206_000.0;
/// At most 2 writes and 2 reads per invocation: sequential HTTP/1.1 on one connection.
const MAX_SYSCALLS_PER_INV: f64 = 4.0;
/// The calls an allocator makes to get memory from the kernel and give it back.
const MEMORY_SYSCALLS: &[&str] = &["mmap", "munmap", "mremap", "madvise", "brk"];
/// `--ci`: musl's malloc maps and unmaps a group of small blocks now and then
/// (0.04 per invocation when this was set); a buffer mapped for every
/// invocation would make 2.
const MAX_MEMORY_SYSCALLS_PER_INV: f64 = 0.5;
/// `--ci` budgets for the test-function build (musl's malloc): a quarter over
/// the figures measured when they were set (176,297 and 140,828 with rustc
/// 1.95; 176,416 and 141,648 with 1.97 nightly), so a regression guard with
/// room for compiler updates, not a goal.
const BUDGET_INSTR_PER_INV: f64 = 220_000.0;
const BUDGET_STARTUP_INSTR: f64 = 176_000.0;

struct Metric {
    name: &'static str,
    /// Shorter name for the chart.
    chart: &'static str,
    get: fn(&Figures) -> Option<f64>,
    fmt: fn(f64) -> String,
    /// Higher is better (the chart plots its inverse so that every bar reads
    /// "lower is better").
    higher_better: bool,
    /// Unit after the value in the chart.
    unit: &'static str,
}

/// 1234567 -> "1,234,567".
pub fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn two(v: f64) -> String {
    format!("{v:.2}")
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

const METRICS: &[Metric] = &[
    Metric {
        name: "binary bytes",
        chart: "binary size",
        get: |f| f.bytes,
        fmt: thousands,
        higher_better: false,
        unit: " B",
    },
    Metric {
        name: "zip bytes",
        chart: "zip size",
        get: |f| f.zip_bytes,
        fmt: thousands,
        higher_better: false,
        unit: " B",
    },
    Metric {
        name: "instructions per invocation",
        chart: "instructions / invocation",
        get: |f| f.instr_per_inv,
        fmt: thousands,
        higher_better: false,
        unit: "",
    },
    Metric {
        name: "instructions exec to exit, 0 invocations",
        chart: "start-up instructions",
        get: |f| f.startup_instr,
        fmt: thousands,
        higher_better: false,
        unit: "",
    },
    Metric {
        name: "system calls per invocation",
        chart: "system calls / invocation",
        get: |f| f.syscalls_per_inv,
        fmt: two,
        higher_better: false,
        unit: "",
    },
    Metric {
        name: "peak RSS after 2,000 invocations, KiB (mean)",
        chart: "peak memory (VmHWM)",
        get: |f| f.peak_kib,
        fmt: thousands,
        higher_better: false,
        unit: " KiB",
    },
    Metric {
        name: "spawn to first /next, ms (median)",
        chart: "spawn to first /next",
        get: |f| f.start_ms,
        fmt: ms,
        higher_better: false,
        unit: " ms",
    },
    Metric {
        name: "invocations per second (median; higher is better)",
        chart: "time per invocation",
        get: |f| f.rate,
        fmt: thousands,
        higher_better: true,
        unit: "/s",
    },
    Metric {
        name: "peak RSS with one 5 MB event, KiB (mean)",
        chart: "peak memory, 5 MB event",
        get: |f| f.big_peak_kib,
        fmt: thousands,
        higher_better: false,
        unit: " KiB",
    },
    Metric {
        name: "RSS 250 invocations after it, KiB (mean)",
        chart: "memory kept after it",
        get: |f| f.big_kept_kib,
        fmt: thousands,
        higher_better: false,
        unit: " KiB",
    },
];

fn official(runtimes: &[Runtime]) -> Option<&Figures> {
    runtimes
        .iter()
        .find(|r| r.key == "official" && r.skip.is_none())
        .map(|r| &r.figures)
}

fn ratio(m: &Metric, f: &Figures, base: Option<&Figures>) -> Option<f64> {
    let v = (m.get)(f)?;
    let b = (m.get)(base?)?;
    (b != 0.0).then(|| v / b)
}

/// The Markdown table, printed and written to docs/bench.md.
/// `brief` leaves out rows that nothing was measured for (`--ci`).
pub fn table(runtimes: &[Runtime], brief: bool) -> String {
    let runtimes: Vec<&Runtime> = runtimes.iter().filter(|r| !r.concurrent).collect();
    if runtimes.is_empty() {
        return String::new();
    }
    let base = runtimes
        .iter()
        .find(|r| r.key == "official" && r.skip.is_none())
        .map(|r| &r.figures);
    let mut t = String::from("| metric |");
    for rt in &runtimes {
        let _ = write!(t, " {} |", rt.label);
    }
    t.push_str("\n|---|");
    for _ in &runtimes {
        t.push_str("--:|");
    }
    for m in METRICS {
        if brief && runtimes.iter().all(|r| (m.get)(&r.figures).is_none()) {
            continue;
        }
        let _ = write!(t, "\n| {} |", m.name);
        for rt in &runtimes {
            let cell = match (m.get)(&rt.figures) {
                None => "n/a".to_owned(),
                Some(v) => match ratio(m, &rt.figures, base) {
                    Some(r) => format!("{} ({r:.2}x)", (m.fmt)(v)),
                    None => (m.fmt)(v),
                },
            };
            let _ = write!(t, " {} |", if rt.skip.is_some() { "not run" } else { &cell });
        }
    }
    t.push_str("\n| on /next 500 |");
    for rt in &runtimes {
        let cell = rt.figures.on_500.as_ref().map_or("n/a".into(), |e| e.describe());
        let _ = write!(
            t,
            " {} |",
            if rt.skip.is_some() { "not run".into() } else { cell }
        );
    }
    t.push('\n');
    let skipped: Vec<String> = runtimes
        .iter()
        .filter_map(|r| r.skip.as_ref().map(|why| format!("- {} not run: {why}", r.label)))
        .collect();
    let mut skipped = skipped;
    skipped.extend(runtimes.iter().filter(|r| r.stale && r.skip.is_none()).map(|r| {
        format!(
            "- {}: the binary is older than the source; rerun `make tiny` for current figures",
            r.label
        )
    }));
    if !skipped.is_empty() {
        let _ = write!(t, "\n{}\n", skipped.join("\n"));
    }
    if base.is_some() {
        t.push_str("\nRatios are to the official runtime (1.00x).\n");
    }
    t
}

/// A figure of the Managed Instances table, one row per worker count.
struct ConcMetric {
    name: &'static str,
    chart: &'static str,
    get: fn(&Conc) -> Option<f64>,
    fmt: fn(f64) -> String,
    higher_better: bool,
    unit: &'static str,
    /// Compared with the official runtime (a ratio beside it, a bar in the
    /// chart); the others are checks, shown as they are.
    compared: bool,
}

const CONC_METRICS: &[ConcMetric] = &[
    ConcMetric {
        name: "invocations per second (median; higher is better)",
        chart: "time / invocation",
        get: |c| c.rate,
        fmt: thousands,
        higher_better: true,
        unit: "/s",
        compared: true,
    },
    ConcMetric {
        name: "peak RSS after 2,000 invocations, KiB (mean)",
        chart: "peak memory",
        get: |c| c.peak_kib,
        fmt: thousands,
        higher_better: false,
        unit: " KiB",
        compared: true,
    },
    ConcMetric {
        name: "instructions exec to exit, 0 invocations",
        chart: "start-up instructions",
        get: |c| c.startup_instr,
        fmt: thousands,
        higher_better: false,
        unit: "",
        compared: true,
    },
    ConcMetric {
        name: "threads at the memory reading",
        chart: "",
        get: |c| c.threads.map(|t| t as f64),
        fmt: thousands,
        higher_better: false,
        unit: "",
        compared: false,
    },
    ConcMetric {
        name: "N invocations of 100 ms at once: ms to the last answer",
        chart: "",
        get: |c| c.sleep_ms,
        fmt: thousands,
        higher_better: false,
        unit: " ms",
        compared: false,
    },
    ConcMetric {
        name: "most invocations in flight at once",
        chart: "",
        get: |c| c.in_flight.map(|k| k as f64),
        fmt: thousands,
        higher_better: false,
        unit: "",
        compared: false,
    },
];

fn conc_of(rt: &Runtime, n: usize) -> Option<&Conc> {
    rt.figures.conc.iter().find(|c| c.n == n)
}

/// The official runtime's figures with `n` workers.
fn conc_base(runtimes: &[Runtime], n: usize) -> Option<&Conc> {
    runtimes
        .iter()
        .find(|r| r.key == "official-concurrent" && r.skip.is_none())
        .and_then(|r| conc_of(r, n))
        .filter(|c| c.skip.is_none())
}

fn conc_ratio(m: &ConcMetric, c: &Conc, base: Option<&Conc>) -> Option<f64> {
    let v = (m.get)(c)?;
    let b = (m.get)(base?)?;
    (m.compared && b != 0.0).then(|| v / b)
}

/// The Managed Instances table (empty when no runtime was measured so).
pub fn conc_table(runtimes: &[Runtime], workers: &[usize]) -> String {
    let multi: Vec<&Runtime> = runtimes.iter().filter(|r| r.concurrent).collect();
    if multi.is_empty() || workers.is_empty() {
        return String::new();
    }
    let mut t = String::from("| AWS_LAMBDA_MAX_CONCURRENCY = N |");
    for rt in &multi {
        let _ = write!(t, " {} |", rt.label);
    }
    t.push_str("\n|---|");
    for _ in &multi {
        t.push_str("--:|");
    }
    let mut notes = Vec::new();
    for &n in workers {
        let base = conc_base(runtimes, n);
        for m in CONC_METRICS {
            let _ = write!(t, "\n| N = {n}: {} |", m.name);
            for rt in &multi {
                let cell = match (rt.skip.is_some(), conc_of(rt, n)) {
                    (true, _) | (_, None) => "not run".to_owned(),
                    (_, Some(c)) if c.skip.is_some() => "not run".to_owned(),
                    (_, Some(c)) => match ((m.get)(c), conc_ratio(m, c, base)) {
                        (None, _) => "n/a".to_owned(),
                        (Some(v), Some(r)) => format!("{} ({r:.2}x)", (m.fmt)(v)),
                        (Some(v), None) => (m.fmt)(v),
                    },
                };
                let _ = write!(t, " {cell} |");
            }
        }
        for rt in &multi {
            if let Some(why) = conc_of(rt, n).and_then(|c| c.skip.as_ref()) {
                notes.push(format!("- {}, N = {n} not run: {why}", rt.label));
            }
        }
    }
    t.push_str("\n| on /next 500 |");
    for rt in &multi {
        let cell = match (&rt.skip, &rt.figures.on_500) {
            (Some(_), _) => "not run".to_owned(),
            (None, Some(e)) => e.describe(),
            (None, None) => "n/a".to_owned(),
        };
        let _ = write!(t, " {cell} |");
    }
    t.push('\n');
    notes.extend(
        multi
            .iter()
            .filter_map(|r| r.skip.as_ref().map(|why| format!("- {} not run: {why}", r.label))),
    );
    if !notes.is_empty() {
        let _ = write!(t, "\n{}\n", notes.join("\n"));
    }
    t.push_str("\nRatios are to the official runtime's `run_concurrent` with the same N (1.00x).\n");
    t
}

pub struct Goals {
    pub text: String,
}

/// The issue's goals for the release build, and the Managed Instances goals
/// for the test-function build, each with its measured ratio.
pub fn goals(runtimes: &[Runtime]) -> Goals {
    let mut text = String::from("| goal | measured | met |\n|---|--:|:-:|\n");
    let mut row = |goal: &str, measured: Option<String>, met: Option<bool>| {
        let _ = writeln!(
            text,
            "| {goal} | {} | {} |",
            measured.unwrap_or_else(|| "n/a".into()),
            match met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "?",
            }
        );
    };
    let times = |x: f64| format!("{x:.2}x");
    match runtimes.iter().find(|r| r.key == "release") {
        None => {}
        Some(ours) if ours.skip.is_some() => row("bootstrap release: not measured", None, Some(false)),
        Some(ours) => {
            let f = &ours.figures;
            let base = official(runtimes);
            let r = |m: usize| ratio(&METRICS[m], f, base);
            // Instructions per invocation are reported, no longer a goal:
            // the 0.50x target was retired (ureq's request path alone is
            // more than half the official runtime's whole figure).
            for (goal, metric, limit) in [
                ("start-up instructions <= 0.50x official", 3, 0.50),
                ("peak memory <= 0.60x official", 5, 0.60),
            ] {
                row(goal, r(metric).map(times), r(metric).map(|x| x <= limit));
            }
            row(
                "at most 4 system calls per invocation",
                f.syscalls_per_inv.map(two),
                f.syscalls_per_inv.map(|s| s <= MAX_SYSCALLS_PER_INV + 0.005),
            );
            let memory: f64 = f
                .syscall_mix
                .iter()
                .filter(|(name, _)| MEMORY_SYSCALLS.contains(&name.as_str()))
                .map(|(_, v)| v)
                .sum();
            let rest = f.syscalls_per_inv.map(|s| s - memory);
            row(
                "at most 4 system calls per invocation besides the allocator's mmap/munmap",
                rest.map(two),
                rest.map(|s| s <= MAX_SYSCALLS_PER_INV + 0.005),
            );
            row(
                "spawn to first /next no slower than official",
                r(6).map(times),
                r(6).map(|x| x <= 1.0),
            );
        }
    }
    // Managed Instances: the test-function build against `run_concurrent`.
    if let Some(ours) = runtimes.iter().find(|r| r.key == "test-function" && r.concurrent) {
        for (n, metric, goal, limit) in [
            (
                8,
                0,
                "Managed Instances, N = 8: more invocations per second than official",
                None,
            ),
            (
                64,
                0,
                "Managed Instances, N = 64: more invocations per second than official",
                None,
            ),
            (
                64,
                1,
                "Managed Instances, N = 64: peak memory <= 0.50x official",
                Some(0.50),
            ),
        ] {
            let m = &CONC_METRICS[metric];
            let x = conc_of(ours, n)
                .filter(|c| c.skip.is_none() && ours.skip.is_none())
                .and_then(|c| conc_ratio(m, c, conc_base(runtimes, n)));
            let met = x.map(|x| match limit {
                Some(limit) => x <= limit,
                None => x > 1.0,
            });
            row(goal, x.map(times), met);
        }
    }
    Goals { text }
}

/// `--ci`: the deterministic gates, on the test-function build. Returns
/// whether they hold.
pub fn ci_verdict(runtimes: &[Runtime]) -> bool {
    let Some(ours) = runtimes.iter().find(|r| r.key == "test-function") else {
        return false;
    };
    if let Some(why) = &ours.skip {
        println!("FAIL: {} not measured: {why}", ours.label);
        return false;
    }
    let f = &ours.figures;
    let mut ok = true;
    // Two writes and two reads is the floor for sequential HTTP/1.1 on one
    // connection, and every call but the allocator's counts against it: a
    // loop of small events has no reason to poll, wait on a thread, or open
    // anything. musl's malloc gives an emptied group of small blocks back to
    // the kernel and maps it again later, now and then: those calls have an
    // allowance of their own, which a buffer mapped afresh for every
    // invocation (2 calls each) still breaks.
    match f.syscalls_per_inv {
        Some(total) => {
            let memory: f64 = f
                .syscall_mix
                .iter()
                .filter(|(name, _)| MEMORY_SYSCALLS.contains(&name.as_str()))
                .map(|(_, v)| v)
                .sum();
            let rest = total - memory;
            let met = rest <= MAX_SYSCALLS_PER_INV + 0.005;
            ok &= met;
            println!(
                "{}: {rest:.2} system calls per invocation besides memory mapping (gate: at most 4): {}",
                if met { "ok" } else { "FAIL" },
                mix(f)
            );
            let met = memory <= MAX_MEMORY_SYSCALLS_PER_INV;
            ok &= met;
            println!(
                "{}: {memory:.2} memory-mapping calls per invocation ({}; gate: at most {MAX_MEMORY_SYSCALLS_PER_INV:.2})",
                if met { "ok" } else { "FAIL" },
                MEMORY_SYSCALLS.join(", ")
            );
        }
        None => {
            println!("FAIL: system calls per invocation not measured");
            ok = false;
        }
    }
    // Callgrind counts are deterministic for one compiler and lock file, but
    // move with either: the budgets sit well over today's figures, so that a
    // compiler update does not trip them and a real regression does. The
    // ratio to issue 4's figure for the official runtime is shown beside them.
    for (what, v, budget, reference) in [
        (
            "instructions per invocation",
            f.instr_per_inv,
            BUDGET_INSTR_PER_INV,
            REF_OFFICIAL_INSTR_PER_INV,
        ),
        (
            "start-up instructions",
            f.startup_instr,
            BUDGET_STARTUP_INSTR,
            REF_OFFICIAL_STARTUP_INSTR,
        ),
    ] {
        match v {
            Some(v) => {
                let met = v <= budget;
                ok &= met;
                println!(
                    "{}: {} {what} (gate: at most {}): {:.2}x the official runtime's {} in issue 4",
                    if met { "ok" } else { "FAIL" },
                    thousands(v),
                    thousands(budget),
                    v / reference,
                    thousands(reference)
                );
            }
            None => {
                println!("FAIL: {what} not measured");
                ok = false;
            }
        }
    }
    if let Some(e) = &f.on_500 {
        println!("info: on /next 500 the {} {}", ours.label, e.describe());
    }
    println!(
        "{}",
        if ok {
            "bench --ci: ok"
        } else {
            "bench --ci: FAILED"
        }
    );
    ok
}

fn mix(f: &Figures) -> String {
    let parts: Vec<String> = f.syscall_mix.iter().map(|(n, v)| format!("{n} {v:.2}")).collect();
    if parts.is_empty() {
        "n/a".into()
    } else {
        parts.join(", ")
    }
}

pub fn write_docs(
    root: &Path,
    runtimes: &[Runtime],
    table: &str,
    conc_table: &str,
    context: &[String],
) -> Result<(), String> {
    let docs = root.join("docs");
    fs::create_dir_all(&docs).map_err(|e| format!("{}: {e}", docs.display()))?;
    let mut md = String::new();
    md.push_str("# Benchmark: `bootstrap` beside its peers\n\n");
    md.push_str(
        "Written by `make bench` (`bench/run`); rerun it rather than editing this file. \
These machines are shared and noisy: absolute times drift between runs, ratios and instruction \
counts hold.\n\n",
    );
    md.push_str("![Each figure as a ratio to the official runtime](bench.svg)\n\n");
    md.push_str(table);
    md.push_str("\n## Goals\n\n");
    md.push_str(&goals(runtimes).text);
    if !conc_table.is_empty() {
        md.push_str("\n## Lambda Managed Instances\n\n");
        md.push_str(
            "With `AWS_LAMBDA_MAX_CONCURRENCY = N` a runtime serves up to N invocations at once, one per worker, \
each worker its own `/next` long poll. Here: `bootstrap` with the runtime test suite's own function (the Cargo \
example `test-function`: `{\"requestId\": \"<id>\"}` for a JSON object, after sleeping `sleep_ms` when the event \
asks) and the official runtime's `run_concurrent`, whose handler answers the same events. The fake API waits \
until N polls are open, then queues all of a run's invocations at once, so a free worker never waits for work \
and the workers themselves bound what is in flight (the last check row). This machine has 2 cores: N workers \
share them with each other and with the fake API's threads, so throughput measures each runtime's own cost per \
invocation under contention; single runs spread by about 10% either way, so a ratio within a few hundredths of \
1.00 is a tie.\n\n",
        );
        md.push_str(conc_table);
    }
    md.push_str("\n## System calls per invocation, by call\n\n| runtime | per invocation |\n|---|---|\n");
    for rt in runtimes.iter().filter(|r| r.skip.is_none() && !r.concurrent) {
        let _ = writeln!(md, "| {} | {} |", rt.label, mix(&rt.figures));
    }
    md.push_str(
        "\n## Resident memory at the peak reading (mean of runs)\n\n\
| runtime | VmHWM (peak) | lowest to highest | RssAnon (heap, stacks) | RssFile (binary pages) |\n\
|---|--:|--:|--:|--:|\n",
    );
    for rt in runtimes.iter().filter(|r| r.skip.is_none()) {
        if let (Some(p), Some((anon, file)), Some((lo, hi))) =
            (rt.figures.peak_kib, rt.figures.rss_split, rt.figures.peak_range)
        {
            let k = |v: u64| thousands(v as f64);
            let _ = writeln!(
                md,
                "| {} | {} KiB | {} to {} KiB | {} KiB | {} KiB |",
                rt.label,
                thousands(p),
                k(lo),
                k(hi),
                k(anon),
                k(file)
            );
        }
    }
    md.push_str(
        "\nRssFile is the binary's own pages: the kernel maps a file in blocks around each page \
fault (fault-around), so a static binary ends up mostly resident and peak memory follows binary size. \
The blocks are aligned in the address space and ASLR moves the binary, so one run maps a block more \
than the next: hence the mean of several runs.\n",
    );
    md.push_str("\n## What each runtime printed last, after the 500\n\n");
    for rt in runtimes.iter().filter(|r| r.skip.is_none()) {
        let said = rt.figures.last_words.as_deref().unwrap_or("(nothing)");
        let _ = writeln!(
            md,
            "- {}: {}: `{}`",
            rt.label,
            rt.figures.on_500.as_ref().map_or("?".into(), |e| e.describe()),
            said.replace('`', "'")
        );
    }
    md.push_str("\n## The runtimes\n\n");
    md.push_str("- **bootstrap release**: this repository as shipped, `make build` (`cargo build --release` plus the Makefile's release link flags; ureq 3 without default features, serde_json), the built-in handler answering `{\"message\":\"Hello, Ada!\"}`.\n");
    md.push_str(
        "- **bootstrap tiny**: the same source, `make tiny` (nightly, `build-std`, the `tiny` profile).\n",
    );
    md.push_str("- **official lambda_runtime**: `bench/peers/official`, AWS's `lambda_runtime` crate with tokio and serde_json, a hello-world handler answering the same JSON.\n");
    md.push_str("- The peers are built as a user of those crates builds them: the same size-tuned profile, static musl, each its own Cargo project with a locked `Cargo.lock`, outside the repository's cargo configuration (our linker flags are ours).\n");
    md.push_str("- **blog-style ureq 2**: `bench/peers/blog`, ureq 2 with its default features (rustls, gzip) and the loop small-runtime blog posts show: GET `/next`, read the event, POST a fixed string to `/response`; any error ends it.\n");
    md.push_str("- **bootstrap test-function**: this repository built by `make build EXAMPLE=test-function`: the runtime with the test suite's function (the Cargo example `test-function`) instead of `src/handler.rs`; what `bench/run --ci` gates, and the Managed Instances column.\n");
    md.push_str("- **official run_concurrent**: `bench/peers/official-concurrent`, `lambda_runtime` with its `concurrency-tokio` feature and `run_concurrent` (N tokio tasks, each its own `/next` loop, on tokio's multi-threaded runtime), a handler answering as the test function does (`tokio::time::sleep` for `sleep_ms`).\n");
    md.push_str("\n## How it is measured\n\n");
    md.push_str("- One driver for all: the in-repo fake Runtime API (`tests/fake-api`) on loopback, keep-alive HTTP/1.1, serving the event `{\"name\":\"Ada\"}` with request id, deadline, ARN, trace id, client context, Cognito identity, tenant id and invocation id headers; after N invocations it answers `/next` with 500, on which a correct runtime exits. Each runtime gets the environment Lambda sets; its output goes to `bench/out/<runtime>.log`.\n");
    md.push_str(
        "- Sizes: the stripped binary, and a zip holding it as `bootstrap` (`zip -X`, default deflate).\n",
    );
    md.push_str("- Instructions: `valgrind --tool=callgrind`, all threads. Per invocation = (I(N2) - I(N1)) / (N2 - N1), so start-up cancels out; start-up = a run that is answered 500 at the first `/next` (exec to exit).\n");
    md.push_str("- System calls: `strace -f -c`, the same difference, every thread counted. A thread pool's count (futex, epoll) changes from run to run with how its threads happen to wake, so the official runtime's figure is the median of repeats; a single-threaded runtime counts the same every time.\n");
    md.push_str("- Peak memory: `VmHWM` from `/proc/<pid>/status`, read while the runtime is alive, once 2,000 invocations were answered, with the binary read into the page cache first; mean of runs (see the memory section).\n");
    md.push_str("- Start: wall time from just before `spawn` to the fake API having read the first `/next`; median over spawns, runtimes interleaved A B C D A B C D. The runner and the runtimes run at real-time priority (SCHED_FIFO, as root; nice -10 where refused), so that other work on a shared machine does not delay them.\n");
    md.push_str("- Throughput: invocations between the first `/next` and the one answered 500, over that time; median of runs, interleaved. The chart plots its inverse (time per invocation) so that every bar reads lower is better.\n");
    md.push_str("- Managed Instances: the runtime starts with `AWS_LAMBDA_MAX_CONCURRENCY = N`; once N `/next` polls wait at once, the run's invocations are queued together and the polls served in arrival order; once all are answered, memory is read (every worker polling again), then the polls are answered 500. A worker count is measured only after N invocations that each sleep 100 ms were each answered once, without error (a runtime that handles them in turn takes N times as long: the check row shows it). Start-up: callgrind from exec until all N workers poll, then the exit; throughput: invocations from queueing them to the last answer.\n");
    md.push_str("\n## Machine and versions\n\n");
    for line in context {
        let _ = writeln!(md, "- {line}");
    }
    fs::write(docs.join("bench.md"), md).map_err(|e| format!("docs/bench.md: {e}"))?;
    fs::write(docs.join("bench.svg"), svg(runtimes, context)).map_err(|e| format!("docs/bench.svg: {e}"))?;
    Ok(())
}

/// One colour per runtime (Okabe-Ito: tells apart under colour blindness).
fn colour(key: &str) -> &'static str {
    match key {
        "release" => "#0072B2",
        "tiny" => "#56B4E9",
        "official" => "#7F7F7F",
        "official-concurrent" => "#5A5A5A",
        "test-function" => "#009E73",
        _ => "#D55E00",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One bar of the chart: a runtime's figure as a ratio (already inverted
/// where higher is better) and the value it labels; `None` draws "n/a".
struct Bar {
    key: &'static str,
    shown: Option<(f64, String)>,
}

/// A group of bars under one label; a heading starts a new section.
enum Row {
    Heading(String),
    Group(String, Vec<Bar>),
}

/// The chart's rows: the one-at-a-time metrics for those runtimes, then the
/// Managed Instances metrics per worker count.
fn chart_rows(runtimes: &[Runtime]) -> Vec<Row> {
    let mut rows = Vec::new();
    let single: Vec<&Runtime> = runtimes.iter().filter(|r| r.single()).collect();
    let base = official(runtimes);
    if !single.is_empty() {
        rows.push(Row::Heading("One invocation at a time".into()));
    }
    for m in METRICS.iter().filter(|_| !single.is_empty()) {
        let bars = single
            .iter()
            .map(|rt| Bar {
                key: rt.key,
                shown: (m.get)(&rt.figures)
                    .zip(ratio(m, &rt.figures, base))
                    .map(|(v, r)| {
                        let r = if m.higher_better { 1.0 / r } else { r };
                        (r, format!("{}{}", (m.fmt)(v), m.unit))
                    }),
            })
            .collect();
        rows.push(Row::Group(m.chart.to_owned(), bars));
    }
    let multi: Vec<&Runtime> = runtimes.iter().filter(|r| r.multi()).collect();
    let mut ns: Vec<usize> = multi
        .iter()
        .flat_map(|r| r.figures.conc.iter().map(|c| c.n))
        .collect();
    ns.sort_unstable();
    ns.dedup();
    if !ns.is_empty() {
        rows.push(Row::Heading(
            "Lambda Managed Instances: N workers (AWS_LAMBDA_MAX_CONCURRENCY), over official run_concurrent"
                .into(),
        ));
    }
    for n in ns {
        let base = conc_base(runtimes, n);
        for m in CONC_METRICS.iter().filter(|m| m.compared) {
            let bars = multi
                .iter()
                .map(|rt| Bar {
                    key: rt.key,
                    shown: conc_of(rt, n)
                        .filter(|c| c.skip.is_none())
                        .and_then(|c| (m.get)(c).zip(conc_ratio(m, c, base)))
                        .map(|(v, r)| {
                            let r = if m.higher_better { 1.0 / r } else { r };
                            (r, format!("{}{}", (m.fmt)(v), m.unit))
                        }),
                })
                .collect();
            rows.push(Row::Group(format!("N={n}: {}", m.chart), bars));
        }
    }
    rows
}

/// Horizontal bars, one group per metric, each bar the runtime's figure over
/// the official runtime's (so metrics share one axis; 1.0 = official).
pub fn svg(runtimes: &[Runtime], context: &[String]) -> String {
    const CAP: f64 = 2.5;
    let rows = chart_rows(runtimes);
    let shown: Vec<&Runtime> = runtimes.iter().filter(|r| r.skip.is_none()).collect();
    let (w, label_w, plot_w) = (980.0, 250.0, 520.0);
    let x0 = label_w;
    let x = |r: f64| x0 + plot_w * r.min(CAP) / CAP;
    let (bar_h, bar_gap, group_gap, heading_h) = (17.0, 4.0, 22.0, 30.0);
    let group_h = |bars: usize| bars as f64 * (bar_h + bar_gap) - bar_gap;
    // Legend entries, wrapped to the chart's width.
    let mut legend = Vec::new();
    let (mut lx, mut ly) = (20.0, 64.0);
    for rt in &shown {
        let width = 36.0 + 7.2 * rt.label.len() as f64;
        if lx + width > w - 20.0 && lx > 20.0 {
            (lx, ly) = (20.0, ly + 22.0);
        }
        legend.push((lx, ly, *rt));
        lx += width;
    }
    let top = ly + 48.0;
    let body: f64 = rows
        .iter()
        .map(|row| match row {
            Row::Heading(_) => heading_h,
            Row::Group(_, bars) => group_h(bars.len()) + group_gap,
        })
        .sum();
    let h = top + body + 64.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Verdana, Helvetica, Arial, sans-serif" font-size="13">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="20" y="30" font-size="18" font-weight="bold" fill="#222">bootstrap beside its peers: each figure over the official runtime's</text>"##
    );
    let machine = context
        .iter()
        .find(|l| l.starts_with("Machine:"))
        .map_or("", |l| l.trim_start_matches("Machine: "));
    let date = context
        .iter()
        .find(|l| l.starts_with("Date:"))
        .map_or("", |l| l.trim_start_matches("Date: "));
    let _ = writeln!(
        s,
        r##"<text x="20" y="50" font-size="13" fill="#444">Lower is better on every row (throughput is drawn as time per invocation). Official = 1.0; labels: ratio (value).</text>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="20" y="{}" font-size="11" fill="#666">{} · {}</text>"##,
        h - 20.0,
        esc(date),
        esc(machine)
    );
    let _ = writeln!(
        s,
        r##"<text x="20" y="{}" font-size="11" fill="#666">docs/bench.md has the tables and the method</text>"##,
        h - 6.0
    );
    for (lx, ly, rt) in legend {
        let _ = writeln!(
            s,
            r##"<rect x="{lx}" y="{ly}" width="14" height="14" fill="{}"/><text x="{}" y="{}" fill="#222">{}</text>"##,
            colour(rt.key),
            lx + 20.0,
            ly + 12.0,
            esc(rt.label)
        );
    }
    // Grid and axis.
    let axis_bottom = h - 60.0;
    for i in 0..=(CAP * 2.0) as usize {
        let r = i as f64 * 0.5;
        let gx = x(r);
        let (stroke, dash, width) = if r == 1.0 {
            ("#333", "5 3", 1.5)
        } else {
            ("#ddd", "", 1.0)
        };
        let _ = writeln!(
            s,
            r##"<line x1="{gx}" y1="{}" x2="{gx}" y2="{axis_bottom}" stroke="{stroke}" stroke-width="{width}" stroke-dasharray="{dash}"/>"##,
            top - 14.0
        );
        let label = if r == 1.0 {
            "1.0 = official".to_owned()
        } else {
            format!("{r:.1}")
        };
        for y in [top - 18.0, axis_bottom + 16.0] {
            let _ = writeln!(
                s,
                r##"<text x="{gx}" y="{y}" text-anchor="middle" font-size="11" fill="#555">{label}</text>"##
            );
        }
    }
    let mut y = top;
    for row in &rows {
        let (label, bars) = match row {
            Row::Heading(text) => {
                let _ = writeln!(
                    s,
                    r##"<text x="20" y="{}" font-weight="bold" font-style="italic" fill="#222" stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke">{}</text>"##,
                    y + 16.0,
                    esc(text)
                );
                y += heading_h;
                continue;
            }
            Row::Group(label, bars) => (label, bars),
        };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" font-weight="bold" fill="#222">{}</text>"##,
            x0 - 12.0,
            y + group_h(bars.len()) / 2.0 + 4.0,
            esc(label)
        );
        for bar in bars {
            match &bar.shown {
                Some((r, value)) => {
                    let end = x(*r);
                    let _ = writeln!(
                        s,
                        r##"<rect x="{x0}" y="{y}" width="{:.1}" height="{bar_h}" fill="{}"/>"##,
                        (end - x0).max(1.0),
                        colour(bar.key)
                    );
                    if *r > CAP {
                        // A break in the bar: it goes on past the axis.
                        let bx = end - 14.0;
                        let _ = writeln!(
                            s,
                            r##"<path d="M{bx} {} l6 {} M{} {} l6 {}" stroke="#fff" stroke-width="3"/>"##,
                            y + bar_h + 1.0,
                            -(bar_h + 2.0),
                            bx + 5.0,
                            y + bar_h + 1.0,
                            -(bar_h + 2.0)
                        );
                    }
                    let _ = writeln!(
                        s,
                        r##"<text x="{}" y="{}" fill="#222" stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"><tspan font-weight="bold">{r:.2}x</tspan> ({})</text>"##,
                        end + 6.0,
                        y + bar_h - 4.0,
                        esc(value)
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        r##"<text x="{}" y="{}" fill="#777">n/a</text>"##,
                        x0 + 6.0,
                        y + bar_h - 4.0
                    );
                }
            }
            y += bar_h + bar_gap;
        }
        y += group_gap - bar_gap;
    }
    s.push_str("</svg>\n");
    s
}
