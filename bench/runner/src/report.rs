//! The table, the goals, docs/bench.md and docs/bench.svg.

use crate::{Figures, Runtime};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The official runtime's figures in issue 4, for `--ci` (which builds no peer).
const REF_OFFICIAL_INSTR_PER_INV: f64 = 213_166.0;
const REF_OFFICIAL_STARTUP_INSTR: f64 = 206_000.0;
/// At most 2 writes and 2 reads per invocation: sequential HTTP/1.1 on one connection.
const MAX_SYSCALLS_PER_INV: f64 = 4.0;
/// `--ci` budgets for our release build, a few per cent over the figures
/// measured when they were set (139,300 and 83,100): a regression guard, not
/// a goal. Instruction counts hold for one compiler; on another the counts
/// are shown but not gated, until the budgets are measured again.
const BUDGET_INSTR_PER_INV: f64 = 146_000.0;
const BUDGET_STARTUP_INSTR: f64 = 88_000.0;
const BUDGET_TOOLCHAIN: &str = "rustc 1.95.";

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
    let base = official(runtimes);
    let mut t = String::from("| metric |");
    for rt in runtimes {
        let _ = write!(t, " {} |", rt.label);
    }
    t.push_str("\n|---|");
    for _ in runtimes {
        t.push_str("--:|");
    }
    for m in METRICS {
        if brief && runtimes.iter().all(|r| (m.get)(&r.figures).is_none()) {
            continue;
        }
        let _ = write!(t, "\n| {} |", m.name);
        for rt in runtimes {
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
    for rt in runtimes {
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

pub struct Goals {
    pub text: String,
}

/// The issue's goals for the release build, each with its measured ratio.
pub fn goals(runtimes: &[Runtime]) -> Goals {
    let mut text = String::from("| goal for `bootstrap release` | measured | met |\n|---|--:|:-:|\n");
    let Some(ours) = runtimes.iter().find(|r| r.key == "release" && r.skip.is_none()) else {
        text.push_str("| release build not measured | | no |\n");
        return Goals { text };
    };
    let f = &ours.figures;
    let base = official(runtimes);
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
    let r = |m: usize| ratio(&METRICS[m], f, base);
    row(
        "instructions per invocation <= 0.50x official",
        r(2).map(|x| format!("{x:.2}x")),
        r(2).map(|x| x <= 0.50),
    );
    row(
        "start-up instructions <= 0.50x official",
        r(3).map(|x| format!("{x:.2}x")),
        r(3).map(|x| x <= 0.50),
    );
    row(
        "peak memory <= 0.60x official",
        r(5).map(|x| format!("{x:.2}x")),
        r(5).map(|x| x <= 0.60),
    );
    row(
        "at most 4 system calls per invocation",
        f.syscalls_per_inv.map(two),
        f.syscalls_per_inv.map(|s| s <= MAX_SYSCALLS_PER_INV + 0.005),
    );
    row(
        "spawn to first /next no slower than official",
        r(6).map(|x| format!("{x:.2}x")),
        r(6).map(|x| x <= 1.0),
    );
    Goals { text }
}

/// `--ci`: the deterministic goals. Returns whether they hold.
pub fn ci_verdict(runtimes: &[Runtime]) -> bool {
    let Some(ours) = runtimes.iter().find(|r| r.key == "release") else {
        return false;
    };
    if let Some(why) = &ours.skip {
        println!("FAIL: release build not measured: {why}");
        return false;
    }
    let f = &ours.figures;
    let mut ok = true;
    // Two writes and two reads is the floor for sequential HTTP/1.1 on one
    // connection. Every other call counts too: the runtime's allocator keeps
    // its small blocks, so the loop has no reason to map or unmap memory.
    match f.syscalls_per_inv {
        Some(s) => {
            let met = s <= MAX_SYSCALLS_PER_INV + 0.005;
            ok &= met;
            println!(
                "{}: {s:.2} system calls per invocation (goal: at most 4): {}",
                if met { "ok" } else { "FAIL" },
                mix(f)
            );
        }
        None => {
            println!("FAIL: system calls per invocation not measured");
            ok = false;
        }
    }
    // Callgrind counts are deterministic for one toolchain and lock file, so
    // a budget a little over today's figure catches a regression without
    // flaking; the ratio to issue 4's official figure is shown beside it.
    let rustc = crate::setup::first_line(&crate::setup::repo_root(), "rustc", &["-V"]);
    let gated = rustc.starts_with(BUDGET_TOOLCHAIN);
    if !gated {
        println!(
            "info: {rustc} is not the {BUDGET_TOOLCHAIN}x the budgets were set with: counts shown, not gated"
        );
    }
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
                let label = match (v <= budget, gated) {
                    (true, _) => "ok",
                    (false, false) => "info, over budget",
                    (false, true) => "FAIL, over budget",
                };
                ok &= v <= budget || !gated;
                println!(
                    "{label}: {} {what} (budget {}): {:.2}x the official runtime's {} in issue 4 (goal: 0.50x)",
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
        println!("info: on /next 500 the release build {}", e.describe());
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

pub fn write_docs(root: &Path, runtimes: &[Runtime], table: &str, context: &[String]) -> Result<(), String> {
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
    md.push_str("\n## Goals (issue 4)\n\n");
    md.push_str(&goals(runtimes).text);
    md.push_str("\n## System calls per invocation, by call\n\n| runtime | per invocation |\n|---|---|\n");
    for rt in runtimes.iter().filter(|r| r.skip.is_none()) {
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
        _ => "#D55E00",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Horizontal bars, one group per metric, each bar the runtime's figure over
/// the official runtime's (so metrics share one axis; 1.0 = official).
pub fn svg(runtimes: &[Runtime], context: &[String]) -> String {
    const CAP: f64 = 2.5;
    let shown: Vec<&Runtime> = runtimes.iter().filter(|r| r.skip.is_none()).collect();
    let base = official(runtimes);
    let (w, label_w, plot_w) = (980.0, 250.0, 520.0);
    let x0 = label_w;
    let x = |r: f64| x0 + plot_w * r.min(CAP) / CAP;
    let (bar_h, bar_gap, group_gap) = (17.0, 4.0, 22.0);
    let group_h = shown.len() as f64 * (bar_h + bar_gap) - bar_gap;
    let top = 112.0;
    let h = top + METRICS.len() as f64 * (group_h + group_gap) + 52.0;
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
        r##"<text x="20" y="{}" font-size="11" fill="#666">{} · {} · docs/bench.md has the table and the method</text>"##,
        h - 8.0,
        esc(date),
        esc(machine)
    );
    // Legend.
    let mut lx = 20.0;
    for rt in &shown {
        let _ = writeln!(
            s,
            r##"<rect x="{lx}" y="64" width="14" height="14" fill="{}"/><text x="{}" y="76" fill="#222">{}</text>"##,
            colour(rt.key),
            lx + 20.0,
            esc(rt.label)
        );
        lx += 40.0 + 8.0 * rt.label.len() as f64;
    }
    // Grid and axis.
    let axis_bottom = h - 48.0;
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
    for m in METRICS {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" font-weight="bold" fill="#222">{}</text>"##,
            x0 - 12.0,
            y + group_h / 2.0 + 4.0,
            esc(m.chart)
        );
        for rt in &shown {
            let value = (m.get)(&rt.figures);
            let r = ratio(m, &rt.figures, base).map(|r| if m.higher_better { 1.0 / r } else { r });
            match (value, r) {
                (Some(v), Some(r)) => {
                    let end = x(r);
                    let _ = writeln!(
                        s,
                        r##"<rect x="{x0}" y="{y}" width="{:.1}" height="{bar_h}" fill="{}"/>"##,
                        (end - x0).max(1.0),
                        colour(rt.key)
                    );
                    let mut tx = end + 6.0;
                    if r > CAP {
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
                        tx = end + 6.0;
                    }
                    let _ = writeln!(
                        s,
                        r##"<text x="{tx}" y="{}" fill="#222" stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"><tspan font-weight="bold">{r:.2}x</tspan> ({}{})</text>"##,
                        y + bar_h - 4.0,
                        (m.fmt)(v),
                        m.unit
                    );
                }
                _ => {
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
