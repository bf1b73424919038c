//! `make bench`: our `bootstrap` beside its peers, measured in one run.
//!
//! Usage (from anywhere; `bench/run` is the entry point):
//!   bench/run          full benchmark: builds, measures, prints the table,
//!                      writes docs/bench.md and docs/bench.svg
//!   bench/run --ci     our build of the test function only (so
//!                      that what a user puts in src/handler.rs cannot turn
//!                      CI red): size, instructions per invocation, start-up
//!                      instructions, system calls per invocation; no peers,
//!                      no timing, no files written; exits non-zero if a gate
//!                      is broken
//!   --quick            fewer rounds (for trying the bench itself)
//!   --no-build         measure the binaries as they are
//!   --no-docs          print the table only
//!   --only a,b         measure only these (release, tiny, official, blog,
//!                      test-function, official-concurrent)
//!   --profile BIN [N]  for finding where the cost goes: run BIN (best an
//!                      unstripped build) under callgrind for 0 and N
//!                      invocations (default 1000) and under `strace -f` for 3,
//!                      leaving the outputs in bench/out for callgrind_annotate

mod concurrent;
mod driver;
mod proc;
mod report;
mod setup;

use proc::{Ending, Wrap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The figures of one runtime; `None` where not measured.
#[derive(Default, Clone)]
pub struct Figures {
    pub bytes: Option<f64>,
    pub zip_bytes: Option<f64>,
    pub instr_per_inv: Option<f64>,
    pub startup_instr: Option<f64>,
    pub syscalls_per_inv: Option<f64>,
    /// Per-invocation system calls by name.
    pub syscall_mix: Vec<(String, f64)>,
    pub peak_kib: Option<f64>,
    /// RssAnon and RssFile (KiB) at the peak reading.
    pub rss_split: Option<(u64, u64)>,
    /// Lowest and highest peak of the runs.
    pub peak_range: Option<(u64, u64)>,
    /// VmHWM with one 5 MB event, and VmRSS some invocations after it.
    pub big_peak_kib: Option<f64>,
    pub big_kept_kib: Option<f64>,
    pub start_ms: Option<f64>,
    pub rate: Option<f64>,
    /// What the process did on the API's 500.
    pub on_500: Option<Ending>,
    /// Its answer to `{"name":"Ada"}`.
    pub answer: Option<String>,
    /// The last line it printed, after the 500.
    pub last_words: Option<String>,
    /// Lambda Managed Instances figures, one per worker count.
    pub conc: Vec<Conc>,
}

/// One runtime's figures with `AWS_LAMBDA_MAX_CONCURRENCY = n`.
#[derive(Default, Clone)]
pub struct Conc {
    pub n: usize,
    /// Why this worker count was not measured, if it wasn't.
    pub skip: Option<String>,
    /// Exec until all n workers poll, then the exit.
    pub startup_instr: Option<f64>,
    pub peak_kib: Option<f64>,
    /// Threads of the process at the peak reading.
    pub threads: Option<u64>,
    pub rate: Option<f64>,
    /// Most invocations in flight at once over the throughput runs.
    pub in_flight: Option<usize>,
    /// n invocations that each sleep [`driver::SLEEP_MS`]: from queueing them
    /// to the last answer, in milliseconds.
    pub sleep_ms: Option<f64>,
}

/// One binary under test.
pub struct Runtime {
    pub key: &'static str,
    pub label: &'static str,
    pub path: PathBuf,
    /// Why it is not measured, if it isn't.
    pub skip: Option<String>,
    /// Built before the last change to the source (the `tiny` build, which
    /// the bench does not build itself).
    pub stale: bool,
    /// Measured only with several workers (the Managed Instances table),
    /// not in the one-at-a-time table.
    pub concurrent: bool,
    pub figures: Figures,
}

impl Runtime {
    /// Measured in the one-at-a-time table.
    fn single(&self) -> bool {
        self.skip.is_none() && !self.concurrent
    }

    /// Measured in the Managed Instances table.
    fn multi(&self) -> bool {
        self.skip.is_none() && self.concurrent
    }
}

pub struct Options {
    pub ci: bool,
    pub quick: bool,
    pub build: bool,
    pub docs: bool,
    /// Runtime keys to measure (all when empty).
    pub only: Vec<String>,
}

/// Invocation counts and rounds.
struct Plan {
    n1: usize,
    n2: usize,
    peak_after: usize,
    spawns: usize,
    rate_runs: usize,
    rate_n: usize,
    /// Repeats of the callgrind and strace measurements (median).
    reps: usize,
    /// Runs of the memory measurement (mean).
    peak_runs: usize,
    /// `AWS_LAMBDA_MAX_CONCURRENCY` values of the Managed Instances table.
    workers: &'static [usize],
    /// Its throughput runs (median) of so many invocations, its memory runs
    /// (mean) of so many, and its start-up repeats (median).
    conc_rate_runs: usize,
    conc_rate_n: usize,
    conc_peak_runs: usize,
    conc_peak_n: usize,
    conc_reps: usize,
}

/// Lambda Managed Instances: the worker counts measured.
const WORKERS: &[usize] = &[8, 64];

fn main() -> ExitCode {
    let mut opts = Options {
        ci: false,
        quick: false,
        build: true,
        docs: true,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => {
                let Some(bin) = args.next() else {
                    eprintln!("bench: --profile needs a binary");
                    return ExitCode::from(2);
                };
                let n = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
                return match profile(Path::new(&bin), n) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("bench: {e}");
                        ExitCode::FAILURE
                    }
                };
            }
            "--only" => {
                opts.only = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned)
                    .collect();
                // A partial run must not replace the published figures.
                opts.docs = false;
            }
            "--ci" => opts.ci = true,
            "--quick" => opts.quick = true,
            "--no-build" => opts.build = false,
            "--no-docs" => opts.docs = false,
            "-h" | "--help" => {
                println!("usage: bench/run [--ci] [--quick] [--no-build] [--no-docs] [--only release,tiny,official,blog,test-function,official-concurrent]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("bench: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    match bench(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

fn bench(opts: &Options) -> Result<bool, String> {
    let started = Instant::now();
    let root = setup::repo_root();
    let out = root.join("bench/out");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    setup::tools(opts.ci)?;

    let plan = if opts.quick {
        Plan {
            n1: 20,
            n2: 120,
            peak_after: 2_000,
            spawns: 7,
            rate_runs: 3,
            rate_n: 2_000,
            reps: 1,
            peak_runs: 3,
            workers: WORKERS,
            conc_rate_runs: 2,
            conc_rate_n: 2_000,
            conc_peak_runs: 2,
            conc_peak_n: 2_000,
            conc_reps: 1,
        }
    } else if opts.ci {
        Plan {
            n1: 100,
            n2: 1_100,
            peak_after: 2_000,
            spawns: 0,
            rate_runs: 0,
            rate_n: 0,
            reps: 1,
            peak_runs: 0,
            workers: &[],
            conc_rate_runs: 0,
            conc_rate_n: 0,
            conc_peak_runs: 0,
            conc_peak_n: 0,
            conc_reps: 0,
        }
    } else {
        Plan {
            n1: 100,
            n2: 1_100,
            peak_after: 2_000,
            spawns: 31,
            rate_runs: 7,
            rate_n: 5_000,
            reps: 3,
            peak_runs: 9,
            workers: WORKERS,
            conc_rate_runs: 7,
            conc_rate_n: 10_000,
            conc_peak_runs: 5,
            conc_peak_n: 2_000,
            conc_reps: 3,
        }
    };

    let mut runtimes = setup::runtimes(&root, opts)?;
    let builds = if opts.build {
        setup::build(&root, &mut runtimes, opts.ci)?
    } else {
        Vec::new()
    };

    for rt in runtimes.iter_mut().filter(|r| r.single()) {
        sanity(rt, &out);
    }
    for rt in runtimes.iter_mut().filter(|r| r.multi()) {
        concurrent::sanity(rt, &out, plan.workers);
    }
    for rt in runtimes.iter_mut().filter(|r| r.single()) {
        sizes(rt, &out)?;
    }
    for rt in runtimes.iter_mut().filter(|r| r.single()) {
        if let Err(e) = instructions(rt, &out, &plan) {
            say(format!("{}: instructions not measured: {e}", rt.label));
        }
        if let Err(e) = syscalls(rt, &out, &plan) {
            say(format!("{}: system calls not measured: {e}", rt.label));
        }
    }
    let mut priority = "normal priority";
    if !opts.ci {
        for rt in runtimes.iter_mut().filter(|r| r.multi()) {
            concurrent::startup(rt, &out, &plan);
            concurrent::peak(rt, &out, &plan);
        }
        for rt in runtimes.iter_mut().filter(|r| r.single()) {
            if let Err(e) = peak(rt, &out, &plan) {
                say(format!("{}: peak memory not measured: {e}", rt.label));
            }
            if let Err(e) = big_event_memory(rt, &out, &plan) {
                say(format!(
                    "{}: memory with a 5 MB event not measured: {e}",
                    rt.label
                ));
            }
        }
        // Only for the timed runs: the rest counts, and need not crowd out other work.
        priority = setup::raise_priority();
        timing(&mut runtimes, &out, &plan);
        concurrent::timing(&mut runtimes, &out, &plan);
    }

    let elapsed = started.elapsed();
    let context = setup::context(&root, &runtimes, &builds, elapsed, &plan_text(&plan, priority));
    let table = report::table(&runtimes, opts.ci);
    if !table.is_empty() {
        println!("\n{table}");
    }
    let ok = if opts.ci {
        report::ci_verdict(&runtimes)
    } else {
        let conc = report::conc_table(&runtimes, plan.workers);
        if !conc.is_empty() {
            println!("{conc}");
        }
        println!("{}", report::goals(&runtimes).text);
        if opts.docs {
            report::write_docs(&root, &runtimes, &table, &conc, &context)?;
            say("wrote docs/bench.md and docs/bench.svg");
        }
        true
    };
    say(format!("done in {:.0} s", elapsed.as_secs_f64()));
    Ok(ok)
}

/// Callgrind outputs and a full system call trace of one binary, to read.
fn profile(bin: &Path, n: usize) -> Result<(), String> {
    let out = setup::repo_root().join("bench/out");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    setup::tools(false)?;
    let bin = std::fs::canonicalize(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let log = out.join("profile.log");
    for k in [0, n] {
        let file = proc::scratch(&out, &format!("profile.callgrind.{k}"));
        let run = proc::run(&bin, &Wrap::Callgrind(&file), k, None, &log)?;
        println!(
            "{k} invocations: {} instructions, {} served, {}; {}",
            report::thousands(proc::callgrind_total(&file)? as f64),
            run.tally.served,
            run.ending.describe(),
            file.display()
        );
    }
    let trace = proc::scratch(&out, "profile.strace.3");
    proc::run(&bin, &Wrap::Trace(&trace), 3, None, &log)?;
    println!("3 invocations, every system call: {}", trace.display());
    println!(
        "read with: callgrind_annotate --inclusive=yes {}",
        out.join(format!("profile.callgrind.{n}")).display()
    );
    Ok(())
}

fn plan_text(p: &Plan, priority: &str) -> String {
    format!(
        "instructions and system calls: runs of N1 = {} and N2 = {} invocations (and 0 for start-up), \
         median of {} repeats; peak memory: VmHWM after {} invocations, mean of {} runs; 5 MB event: \
         VmHWM and VmRSS {AFTER_BIG} invocations after it, mean of {} runs; start: median of {} \
         spawns per runtime, interleaved; throughput: median of {} runs of {} invocations, interleaved; \
         Managed Instances (N = {}): start-up median of {} repeats, peak memory after {} invocations \
         mean of {} runs, throughput median of {} runs of {} invocations, interleaved; \
         runner and runtimes at {priority}",
        p.n1,
        p.n2,
        p.reps,
        p.peak_after,
        p.peak_runs,
        p.peak_runs.min(BIG_RUNS),
        p.spawns,
        p.rate_runs,
        p.rate_n,
        p.workers
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        p.conc_reps,
        p.conc_peak_n,
        p.conc_peak_runs,
        p.conc_rate_runs,
        p.conc_rate_n
    )
}

fn log_of(out: &Path, rt: &Runtime) -> PathBuf {
    out.join(format!("{}.log", rt.key))
}

/// Three invocations, natively: every one answered once, then an end on the 500.
/// A runtime that fails this is not measured further.
fn sanity(rt: &mut Runtime, out: &Path) {
    let log = log_of(out, rt);
    let _ = std::fs::remove_file(&log);
    match proc::run(&rt.path, &Wrap::Native, 3, None, &log) {
        Ok(run)
            if run.tally.served == 3
                && run.tally.responses == 3
                && run.tally.unanswered == 0
                && run.tally.errors == 0 =>
        {
            rt.figures.answer = run
                .tally
                .first_response
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            say(format!(
                "{}: answers {} to {}; on /next 500 it {}",
                rt.label,
                rt.figures.answer.as_deref().unwrap_or("?"),
                driver::EVENT,
                run.ending.describe()
            ));
            rt.figures.on_500 = Some(run.ending);
            rt.figures.last_words = last_words(&log);
        }
        Ok(run) => {
            rt.skip = Some(format!(
                "did not answer 3 invocations correctly ({} served, {} responses, {} errors, {} unanswered)",
                run.tally.served, run.tally.responses, run.tally.errors, run.tally.unanswered
            ));
        }
        Err(e) => rt.skip = Some(format!("does not work against the fake API: {e}")),
    }
    if let Some(why) = &rt.skip {
        say(format!("{}: SKIPPED: {why}", rt.label));
    }
}

/// The last line a runtime printed that is not a hint.
fn last_words(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with("note:"))?;
    // The fake API's port changes from run to run: keep it out of the docs.
    let line = match line.find("127.0.0.1:") {
        Some(at) => {
            let rest = &line[at + 10..];
            let port_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            format!("{}127.0.0.1:PORT{}", &line[..at], &rest[port_end..])
        }
        None => line.to_owned(),
    };
    // Nor the time of the line (a log line's leading timestamp, or a JSON
    // line's "timestamp" field).
    let line = match line.split_once('\t') {
        Some((stamp, rest)) if stamp.starts_with("20") && stamp.ends_with('Z') => rest.to_owned(),
        _ => line,
    };
    let line = match line.find(r#""timestamp":""#) {
        Some(at) => {
            let value = at + r#""timestamp":""#.len();
            match line[value..].find('"') {
                Some(len) => format!("{}TIME{}", &line[..value], &line[value + len..]),
                None => line,
            }
        }
        None => line,
    };
    Some(line.chars().take(160).collect())
}

fn sizes(rt: &mut Runtime, out: &Path) -> Result<(), String> {
    let bytes = std::fs::metadata(&rt.path).map_err(|e| e.to_string())?.len();
    rt.figures.bytes = Some(bytes as f64);
    rt.figures.zip_bytes = Some(setup::zip_bytes(&rt.path, out, rt.key)? as f64);
    Ok(())
}

fn instructions(rt: &mut Runtime, out: &Path, plan: &Plan) -> Result<(), String> {
    let log = log_of(out, rt);
    let total = |n: usize| -> Result<u64, String> {
        let file = proc::scratch(out, &format!("callgrind.{}.{n}", rt.key));
        proc::run(&rt.path, &Wrap::Callgrind(&file), n, None, &log)?;
        proc::callgrind_total(&file)
    };
    // A single thread counts the same every time; a thread pool does not
    // quite, hence the median of a few repeats.
    let (mut starts, mut pers) = (Vec::new(), Vec::new());
    for _ in 0..plan.reps {
        starts.push(total(0)? as f64);
        let i1 = total(plan.n1)?;
        let i2 = total(plan.n2)?;
        pers.push((i2 as f64 - i1 as f64) / (plan.n2 - plan.n1) as f64);
    }
    let (i0, per) = (
        median(&mut starts).unwrap_or(0.0),
        median(&mut pers).unwrap_or(0.0),
    );
    rt.figures.startup_instr = Some(i0);
    rt.figures.instr_per_inv = Some(per);
    say(format!(
        "{}: {} instructions exec to exit, {} per invocation",
        rt.label,
        report::thousands(i0),
        report::thousands(per)
    ));
    Ok(())
}

fn syscalls(rt: &mut Runtime, out: &Path, plan: &Plan) -> Result<(), String> {
    let log = log_of(out, rt);
    let counts = |n: usize| -> Result<Vec<(String, u64)>, String> {
        let file = proc::scratch(out, &format!("strace.{}.{n}", rt.key));
        proc::run(&rt.path, &Wrap::Strace(&file), n, None, &log)?;
        proc::strace_counts(&file)
    };
    let dn = (plan.n2 - plan.n1) as f64;
    let mut runs: Vec<(f64, Vec<(String, f64)>)> = Vec::new();
    for _ in 0..plan.reps {
        let c1 = counts(plan.n1)?;
        let c2 = counts(plan.n2)?;
        let get = |c: &[(String, u64)], name: &str| c.iter().find(|(n, _)| n == name).map_or(0, |x| x.1);
        let mut names: Vec<&String> = c1.iter().chain(c2.iter()).map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        let mut mix: Vec<(String, f64)> = names
            .into_iter()
            .map(|n| (n.clone(), (get(&c2, n) as f64 - get(&c1, n) as f64) / dn))
            .filter(|(_, v)| v.abs() >= 0.005)
            .collect();
        mix.sort_by(|a, b| b.1.total_cmp(&a.1));
        let sum = |c: &[(String, u64)]| c.iter().map(|x| x.1).sum::<u64>() as f64;
        runs.push(((sum(&c2) - sum(&c1)) / dn, mix));
    }
    // The median run, with its mix of calls.
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (per, mix) = runs.swap_remove(runs.len() / 2);
    rt.figures.syscalls_per_inv = Some(per);
    rt.figures.syscall_mix = mix;
    say(format!("{}: {per:.2} system calls per invocation", rt.label));
    Ok(())
}

/// Peak memory depends on where ASLR puts the binary: the kernel maps file
/// pages in aligned blocks around each fault (fault-around), so the same
/// binary maps one block more or less from run to run. Hence a mean of runs.
fn peak(rt: &mut Runtime, out: &Path, plan: &Plan) -> Result<(), String> {
    let mut readings = Vec::new();
    let mut failures = Vec::new();
    for _ in 0..plan.peak_runs {
        // Keep serving past the reading, so the process is surely alive at it.
        match proc::run(
            &rt.path,
            &Wrap::Native,
            plan.peak_after + 500,
            Some(plan.peak_after),
            &log_of(out, rt),
        ) {
            Ok(run) => readings.extend(run.memory),
            Err(e) => failures.push(e),
        }
    }
    if let Some(e) = failures.first() {
        say(format!(
            "{}: {} of {} memory runs failed, first: {e}",
            rt.label,
            failures.len(),
            plan.peak_runs
        ));
    }
    if readings.is_empty() {
        return Err("no reading".into());
    }
    let n = readings.len() as f64;
    let mean = |f: fn(&proc::Memory) -> u64| readings.iter().map(|m| f(m) as f64).sum::<f64>() / n;
    let (peak, anon, file) = (mean(|m| m.peak), mean(|m| m.anon), mean(|m| m.file));
    let lo = readings.iter().map(|m| m.peak).min().unwrap_or(0);
    let hi = readings.iter().map(|m| m.peak).max().unwrap_or(0);
    let f = &mut rt.figures;
    f.peak_kib = Some(peak);
    f.peak_range = Some((lo, hi));
    f.rss_split = Some((anon.round() as u64, file.round() as u64));
    say(format!(
        "{}: peak {peak:.0} KiB resident after {} invocations (mean of {}, {lo} to {hi}; {anon:.0} KiB anonymous, {file:.0} KiB file)",
        rt.label, plan.peak_after, readings.len()
    ));
    Ok(())
}

/// Invocations after the 5 MB one before memory is read again.
const AFTER_BIG: usize = 250;
/// Runs with the 5 MB event: each parses 5 MB, a mean of few is enough.
const BIG_RUNS: usize = 3;

/// One 5 MB event, then small ones: the peak it causes, and how much of it
/// is still resident [`AFTER_BIG`] invocations later (what an allocator keeps).
fn big_event_memory(rt: &mut Runtime, out: &Path, plan: &Plan) -> Result<(), String> {
    let mut readings = Vec::new();
    let n = AFTER_BIG + 1 + 50;
    for _ in 0..plan.peak_runs.min(BIG_RUNS) {
        let server = driver::serve_big_first(n).map_err(|e| format!("fake API: {e}"))?;
        let run = proc::run_on(
            server,
            &rt.path,
            &Wrap::Native,
            n,
            Some(AFTER_BIG + 1),
            &log_of(out, rt),
        )?;
        readings.extend(run.memory);
    }
    if readings.is_empty() {
        return Err("no reading".into());
    }
    let n = readings.len() as f64;
    let mean = |f: fn(&proc::Memory) -> u64| readings.iter().map(|m| f(m) as f64).sum::<f64>() / n;
    let (peak, kept) = (mean(|m| m.peak), mean(|m| m.now));
    rt.figures.big_peak_kib = Some(peak);
    rt.figures.big_kept_kib = Some(kept);
    say(format!(
        "{}: peak {peak:.0} KiB with a 5 MB event, {kept:.0} KiB resident {AFTER_BIG} invocations later (mean of {})",
        rt.label,
        readings.len()
    ));
    Ok(())
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Wall-clock figures, runtimes interleaved A B C A B C so that drift in the
/// machine's load falls on all of them alike.
fn timing(runtimes: &mut [Runtime], out: &Path, plan: &Plan) {
    let live: Vec<usize> = (0..runtimes.len()).filter(|&i| runtimes[i].single()).collect();
    let mut starts: Vec<Vec<f64>> = vec![Vec::new(); runtimes.len()];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); runtimes.len()];
    say(format!(
        "timing: {} spawns and {} throughput runs per runtime",
        plan.spawns, plan.rate_runs
    ));
    for round in 0..plan.spawns {
        for &i in &live {
            let rt = &runtimes[i];
            match proc::run(&rt.path, &Wrap::Native, 0, None, &log_of(out, rt)) {
                Ok(run) => starts[i].extend(run.start_ms()),
                Err(e) if round == 0 => say(format!("{}: start time not measured: {e}", rt.label)),
                Err(_) => {}
            }
        }
    }
    for _ in 0..plan.rate_runs {
        for &i in &live {
            let rt = &runtimes[i];
            match proc::run(&rt.path, &Wrap::Native, plan.rate_n, None, &log_of(out, rt)) {
                Ok(run) => rates[i].extend(run.rate()),
                Err(e) => say(format!("{}: throughput run failed: {e}", rt.label)),
            }
        }
    }
    if std::env::var_os("BENCH_DEBUG").is_some() {
        for &i in &live {
            let v: Vec<String> = starts[i].iter().map(|x| format!("{x:.2}")).collect();
            say(format!(
                "{} start samples (ms): {}",
                runtimes[i].label,
                v.join(" ")
            ));
        }
    }
    for &i in &live {
        let f = &mut runtimes[i].figures;
        f.start_ms = median(&mut starts[i]);
        f.rate = median(&mut rates[i]);
        say(format!(
            "{}: start {:.2} ms, {:.0} invocations/s",
            runtimes[i].label,
            f.start_ms.unwrap_or(f64::NAN),
            f.rate.unwrap_or(f64::NAN)
        ));
    }
}
