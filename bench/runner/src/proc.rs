//! Running one runtime binary against the fake API, natively or under
//! callgrind or strace, one invocation at a time or with several workers
//! (`AWS_LAMBDA_MAX_CONCURRENCY`), and ending it robustly whatever it does
//! after the 500.

use crate::driver::{self, Tally};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How the binary is run.
pub enum Wrap<'a> {
    Native,
    /// `valgrind --tool=callgrind`, writing its counts to this file.
    Callgrind(&'a Path),
    /// `strace -f -c`, writing its summary to this file.
    Strace(&'a Path),
    /// `strace -f`, writing every call to this file.
    Trace(&'a Path),
}

impl Wrap<'_> {
    fn slow(&self) -> bool {
        !matches!(self, Wrap::Native)
    }
}

/// How the process ended after the API's 500.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Exited by itself with this code.
    Exited(i32),
    /// Died of this signal by itself (e.g. SIGABRT from a panic).
    Signaled(i32),
    /// Still running after the grace period: the runner stopped it.
    Killed { nexts_after_end: usize },
}

impl Ending {
    pub fn describe(&self) -> String {
        match self {
            Ending::Exited(code) => format!("exits ({code})"),
            Ending::Signaled(6) => "aborts (SIGABRT)".into(),
            Ending::Signaled(sig) => format!("dies (signal {sig})"),
            Ending::Killed { nexts_after_end: 0 } => "hangs: killed".into(),
            Ending::Killed { nexts_after_end } => {
                format!("retries /next ({nexts_after_end}x): killed")
            }
        }
    }
}

/// One run's outcome.
pub struct Run {
    pub tally: Tally,
    pub ending: Ending,
    /// Just before `spawn`.
    pub spawned: Instant,
    /// Read while the process was alive (when asked for).
    pub memory: Option<Memory>,
    /// When the invocations of a [`run_workers`] run were queued.
    pub pushed: Option<Instant>,
}

impl Run {
    /// Spawn to the first `/next`, in milliseconds.
    pub fn start_ms(&self) -> Option<f64> {
        let first = self.tally.first_next?;
        Some(first.duration_since(self.spawned).as_secs_f64() * 1e3)
    }

    /// Invocations per second between the first `/next` and the one answered 500.
    pub fn rate(&self) -> Option<f64> {
        let secs = self
            .tally
            .end_next?
            .duration_since(self.tally.first_next?)
            .as_secs_f64();
        (secs > 0.0).then(|| self.tally.served as f64 / secs)
    }

    /// For [`run_workers`]: from queueing the invocations to the last answer,
    /// in milliseconds.
    pub fn answered_ms(&self) -> Option<f64> {
        let secs = self.tally.last_answer?.duration_since(self.pushed?).as_secs_f64();
        Some(secs * 1e3)
    }

    /// For [`run_workers`]: invocations answered per second, from queueing
    /// them to the last answer.
    pub fn answered_rate(&self) -> Option<f64> {
        let ms = self.answered_ms()?;
        (ms > 0.0).then(|| self.tally.responses as f64 * 1e3 / ms)
    }
}

/// The environment Lambda gives a custom runtime, with the fake API's address.
fn lambda_env(cmd: &mut Command, api: &str) {
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]0123456789abcdef",
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .env("_HANDLER", "bootstrap")
        .env("TZ", ":UTC");
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

const SIGTERM: i32 = 15;

fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Direct children of a process (all its threads').
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let list = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            found.extend(list.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    found
}

/// Memory of a live process, from `/proc/<pid>/status`, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// `VmHWM`: the peak resident set.
    pub peak: u64,
    /// `RssAnon` and `RssFile` now: heap and stacks, and mapped binary pages.
    pub anon: u64,
    pub file: u64,
    /// `VmRSS`: the resident set now.
    pub now: u64,
    /// `Threads`: the process's threads now.
    pub threads: u64,
}

fn memory(pid: u32) -> Option<Memory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some(Memory {
        peak: field("VmHWM:")?,
        anon: field("RssAnon:").unwrap_or(0),
        file: field("RssFile:").unwrap_or(0),
        now: field("VmRSS:").unwrap_or(0),
        threads: field("Threads:").unwrap_or(0),
    })
}

/// The last lines a runtime printed, for an error message.
pub fn log_tail(log: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(log) {
        let _ = f.seek(SeekFrom::Start(from));
        let _ = f.take(64 * 1024).read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n    ")
}

/// Serves `n` invocations to `bin` and waits for it to end. With `peak_at`,
/// reads VmHWM once `peak_at` invocations were answered, while the process is
/// still being served (so `n` must be larger). Output goes to `log`.
pub fn run(bin: &Path, wrap: &Wrap, n: usize, peak_at: Option<usize>, log: &Path) -> Result<Run, String> {
    let server = driver::serve(n).map_err(|e| format!("fake API: {e}"))?;
    run_on(server, bin, wrap, n, peak_at, log)
}

/// A runtime process being served, and where its output goes.
struct Spawned {
    child: Child,
    /// Just before `spawn`.
    at: Instant,
    /// Length of the log before this run: its own lines follow.
    log_start: u64,
}

/// Starts `bin` (under `wrap`) with Lambda's environment and the API at
/// `api`; `workers` sets `AWS_LAMBDA_MAX_CONCURRENCY`.
fn spawn(bin: &Path, wrap: &Wrap, api: &str, workers: Option<usize>, log: &Path) -> Result<Spawned, String> {
    let mut cmd = match wrap {
        Wrap::Native => Command::new(bin),
        Wrap::Callgrind(out) => {
            let mut c = Command::new("valgrind");
            c.arg("--tool=callgrind")
                .arg("-q")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(bin);
            c
        }
        Wrap::Strace(out) => {
            let mut c = Command::new("strace");
            c.args(["-f", "-c", "-o"]).arg(out).arg("--").arg(bin);
            c
        }
        Wrap::Trace(out) => {
            let mut c = Command::new("strace");
            c.arg("-f");
            // Stacks of every call (needs a binary with unwind tables).
            if std::env::var_os("BENCH_STRACE_STACKS").is_some() {
                c.arg("-k");
            }
            c.arg("-o").arg(out).arg("--").arg(bin);
            c
        }
    };
    lambda_env(&mut cmd, api);
    if let Some(n) = workers {
        cmd.env("AWS_LAMBDA_MAX_CONCURRENCY", n.to_string());
    }
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let log_start = out.metadata().map(|m| m.len()).unwrap_or(0);
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out);
    // Have the whole binary in the page cache, as after a cold start's
    // download: which of its pages the kernel maps at a fault (and so the
    // resident set and the start time) must not depend on what the machine
    // evicted meanwhile.
    let _ = fs::read(bin);
    let at = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    Ok(Spawned { child, at, log_start })
}

/// Waits for a runtime that was told to end (the API's 500). A correct
/// runtime exits promptly; give one that does not a grace period, then
/// SIGTERM (so that valgrind and strace still write their results: under
/// strace it goes to the traced runtime, not to strace), then SIGKILL.
/// Returns the status and whether the runner had to stop it.
fn stop(child: &mut Child, wrap: &Wrap) -> Result<(ExitStatus, bool), String> {
    let grace = Duration::from_secs(if wrap.slow() { 15 } else { 3 });
    if let Some(status) = wait_until(child, Instant::now() + grace).map_err(|e| e.to_string())? {
        return Ok((status, false));
    }
    let targets = match wrap {
        Wrap::Strace(_) | Wrap::Trace(_) => children(child.id()),
        _ => vec![child.id()],
    };
    for pid in targets {
        unsafe { kill(pid as i32, SIGTERM) };
    }
    let status =
        match wait_until(child, Instant::now() + Duration::from_secs(10)).map_err(|e| e.to_string())? {
            Some(status) => status,
            None => {
                let _ = child.kill();
                child.wait().map_err(|e| e.to_string())?
            }
        };
    Ok((status, true))
}

fn ending(status: ExitStatus, killed: bool, tally: &Tally) -> Ending {
    if killed {
        Ending::Killed {
            nexts_after_end: tally.nexts_after_end,
        }
    } else if let Some(code) = status.code() {
        Ending::Exited(code)
    } else {
        Ending::Signaled(status.signal().unwrap_or(0))
    }
}

/// [`run`] on a server already scripted for `n` invocations.
pub fn run_on(
    server: fake_api::Server,
    bin: &Path,
    wrap: &Wrap,
    n: usize,
    peak_at: Option<usize>,
    log: &Path,
) -> Result<Run, String> {
    let Spawned {
        mut child,
        at: spawned,
        log_start,
    } = spawn(bin, wrap, &server.addr(), None, log)?;
    let timeout = Duration::from_secs(if wrap.slow() { 300 } else { 60 });

    let mut mem = None;
    if let Some(k) = peak_at {
        assert!(k < n, "peak memory is read while invocations are still served");
        // Invocation k's answer is request 2k (from 1) when the runtime makes
        // no other request; wait for the k-th answer however many it makes.
        let deadline = Instant::now() + timeout;
        let mut want = 2 * k;
        let tally = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let seen = server.wait_for_requests(want, left);
            let tally = driver::tally(&seen);
            if tally.responses >= k || tally.end_next.is_some() || left.is_zero() {
                break tally;
            }
            want = seen.len() + 1;
        };
        if tally.responses >= k {
            mem = memory(child.id());
        }
        let ended = driver::tally(&server.requests()).end_next.is_some();
        if mem.is_none() || ended {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "could not read peak memory after {k} invocations ({} answered{})\n    {}",
                tally.responses,
                if ended { ", script already ended" } else { "" },
                log_tail(log, log_start)
            ));
        }
    }

    let reached_end = driver::wait_end(&server, n, timeout);
    let (status, killed) = stop(&mut child, wrap)?;
    server.wait_idle(Duration::from_secs(2));
    let tally = driver::tally(&server.requests());
    if !reached_end {
        return Err(format!(
            "never reached the end of the script: {} of {n} invocations served, {} answered, {} errors, process {}\n    {}",
            tally.served,
            tally.responses,
            tally.errors,
            status,
            log_tail(log, log_start)
        ));
    }
    Ok(Run {
        ending: ending(status, killed, &tally),
        tally,
        spawned,
        memory: mem,
        pushed: None,
    })
}

/// Waits until `n` `/next` polls wait at once; gives up early when the
/// process has ended. Returns the most polls seen waiting.
fn wait_polls(server: &fake_api::Server, child: &mut Child, n: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    let mut most = 0;
    loop {
        let now = server.waiting_polls();
        most = most.max(now);
        if now >= n || Instant::now() >= deadline || !matches!(child.try_wait(), Ok(None)) {
            return most;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// A Lambda Managed Instances run: `bin` with `AWS_LAMBDA_MAX_CONCURRENCY =
/// workers`. Once `workers` `/next` polls wait at once (every worker is up and
/// free; init is over), all of `events` are queued, so that a poll finds an
/// invocation as soon as a worker is free, as with `workers` callers that
/// never pause: the runtime's workers, not the driver, bound what is in flight
/// (the tally shows the most at once). Once every event is answered and the
/// workers poll again, memory is read (when asked for); then the API answers
/// the polls 500 and the runtime should exit. With no events this measures
/// start-up: exec until every worker polls, then the exit.
pub fn run_workers(
    bin: &Path,
    wrap: &Wrap,
    workers: usize,
    events: Vec<fake_api::Invocation>,
    read_memory: bool,
    log: &Path,
) -> Result<Run, String> {
    let server = driver::serve_waiting().map_err(|e| format!("fake API: {e}"))?;
    let n = events.len();
    let Spawned {
        mut child,
        at: spawned,
        log_start,
    } = spawn(bin, wrap, &server.addr(), Some(workers), log)?;
    let timeout = Duration::from_secs(if wrap.slow() { 300 } else { 60 });
    let fail = |child: &mut Child, server: &fake_api::Server, why: String| -> Result<Run, String> {
        server.finish();
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("{why}\n    {}", log_tail(log, log_start)))
    };

    // A runtime that opens fewer polls never gets there: after a few seconds
    // it is not going to.
    let ready_timeout = if wrap.slow() {
        timeout
    } else {
        Duration::from_secs(5)
    };
    let most = wait_polls(&server, &mut child, workers, ready_timeout);
    if most < workers {
        let why = format!("{most} of {workers} /next polls open at once: not {workers} workers");
        return fail(&mut child, &server, why);
    }
    let pushed = Instant::now();
    for event in events {
        server.push(event);
    }
    let tally = driver::wait_answered(&server, n, timeout);
    if tally.responses + tally.errors < n {
        let why = format!(
            "{} of {n} invocations answered ({} served) within {} s",
            tally.responses + tally.errors,
            tally.served,
            timeout.as_secs()
        );
        return fail(&mut child, &server, why);
    }
    let mut mem = None;
    if read_memory {
        // Every worker back at `/next`: the process is idle and alive.
        wait_polls(&server, &mut child, workers, timeout);
        mem = memory(child.id());
        // Where the memory is, mapping by mapping, to read.
        if std::env::var_os("BENCH_DEBUG").is_some() {
            let _ = fs::copy(
                format!("/proc/{}/smaps", child.id()),
                log.with_extension(format!("workers{workers}.smaps")),
            );
        }
        if mem.is_none() {
            return fail(
                &mut child,
                &server,
                "could not read memory: the process is gone".into(),
            );
        }
    }
    server.finish();
    let (status, killed) = stop(&mut child, wrap)?;
    server.wait_idle(Duration::from_secs(2));
    let tally = driver::tally(&server.requests());
    Ok(Run {
        ending: ending(status, killed, &tally),
        tally,
        spawned,
        memory: mem,
        pushed: Some(pushed),
    })
}

/// Total instructions (Ir) in a callgrind output file.
pub fn callgrind_total(out: &Path) -> Result<u64, String> {
    let text = fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", out.display()))
}

/// Calls per system call name in an `strace -c` summary.
pub fn strace_counts(out: &Path) -> Result<Vec<(String, u64)>, String> {
    let text = fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut counts = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // "% time  seconds  usecs/call  calls  [errors]  syscall"
        if cols.len() < 5 || cols.last() == Some(&"total") || cols[0].parse::<f64>().is_err() {
            continue;
        }
        if let Ok(calls) = cols[3].parse::<u64>() {
            counts.push((cols[cols.len() - 1].to_owned(), calls));
        }
    }
    if counts.is_empty() {
        return Err(format!("no system calls in {}", out.display()));
    }
    Ok(counts)
}

pub fn scratch(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let _ = fs::remove_file(&p);
    p
}
