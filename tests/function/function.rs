//! The runtime tests' own function, the Cargo example `test-function`
//! (`cargo build --example test-function`). The protocol suites, the size
//! guards and the benchmark run it, so they never depend on the function a
//! user writes in `src/handler.rs`; each event is a command saying what to
//! do.
//!
//! The answer is `{"requestId": "<id>"}`, plus what the command asked for:
//!
//! | event field | effect |
//! |---|---|
//! | `"echo": any` | `"echo"` in the answer, the same value |
//! | `"sleep_ms": n` | sleeps first |
//! | `"barrier": n` | waits (10 s at most) until `n` invocations are inside at once; `"inside": n` |
//! | `"repeat": n` | `"repeat"`: a string of `n` `x`s |
//! | `"context": true` | `"context"`: every field of the `Context` and `Config` |
//! | `"env": "NAME"` | `"env"`: that variable's value, or null |
//! | `"log": [["INFO", "text"], ...]` | writes those lines with `lambda_bootstrap::log` |
//! | `"log_crate": [["INFO", "text"], ...]` | logs them through the `log` crate (feature `log-facade`) |
//! | `"tracing": [["INFO", "text"], ...]` | emits them as `tracing` events, with a field `order = 7` (feature `tracing`) |
//! | `"fail": {"type": "...", "message": "..."}` | fails with that error instead |
//! | `"fail_with": "kind"` | fails with `?` on an error of that kind: see [`converted`] |
//! | `"panic": "text"` | panics with that text |
//! | `"panic_in_decode": true` | panics while the event is decoded |
//! | `"stream": {...}` | streams instead of answering: see [`StreamCommand`] |
//! | `"stack_kib": n` | uses `n` KiB of stack first |
//! | `"late_stream": true` | leaves a thread that, once an invocation with `"late_stream_check"` has begun, opens this (long answered) invocation's stream and writes to it, logging `late write refused` when that fails |
//! | `"late_stream_check": true` | lets that thread go, and waits (10 s at most) until it has written |
//! | `"thread_panics_after_ms": n` | first leaves a thread of its own that panics `n` ms later |
//! | `"caught_panic": true` | first panics and catches it itself (with `panic = "unwind"` only) |
//! | `"on_thread": true` | then does the rest on a scoped thread of its own |
//!
//! Built with the `shutdown` feature, it has a shutdown hook that logs
//! `the shutdown hook ran`.
//!
//! An event that is not a JSON object of these fields (unknown fields are
//! ignored) is the runtime's `Runtime.InvalidEvent`. `main` logs a line
//! before `run` when `TEST_FUNCTION_LOG_BEFORE_RUN` is set. Init fails when
//! `TEST_FUNCTION_INIT_FAIL` is set, and panics when `PANIC_PROBE_INIT` is.

use std::io::Write;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use lambda_bootstrap::{Config, Context, Error, Function, Level};
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn main() -> std::process::ExitCode {
    if std::env::var_os("TEST_FUNCTION_LOG_BEFORE_RUN").is_some() {
        lambda_bootstrap::info!("a line before run");
    }
    lambda_bootstrap::run::<Handler>()
}

pub struct Handler;

#[derive(Deserialize)]
pub struct Command {
    echo: Option<Value>,
    sleep_ms: Option<u64>,
    barrier: Option<usize>,
    repeat: Option<usize>,
    #[serde(default)]
    context: bool,
    env: Option<String>,
    #[serde(default)]
    log: Vec<(String, String)>,
    #[serde(default)]
    #[cfg_attr(not(feature = "log-facade"), allow(dead_code))]
    log_crate: Vec<(String, String)>,
    #[serde(default)]
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    tracing: Vec<(String, String)>,
    fail: Option<Failure>,
    fail_with: Option<String>,
    panic: Option<String>,
    stream: Option<StreamCommand>,
    stack_kib: Option<usize>,
    #[serde(default)]
    on_thread: bool,
    #[serde(default)]
    late_stream: bool,
    #[serde(default)]
    late_stream_check: bool,
    thread_panics_after_ms: Option<u64>,
    #[serde(default)]
    caught_panic: bool,
    /// `true`: panics while the event is decoded, in serde code of the
    /// function's own, which the runtime must report like any panic.
    #[serde(rename = "panic_in_decode", default, deserialize_with = "panic_if_true")]
    _panic_in_decode: bool,
}

fn panic_if_true<'de, D: serde::Deserializer<'de>>(from: D) -> Result<bool, D::Error> {
    let value = bool::deserialize(from)?;
    assert!(!value, "asked to panic while decoding");
    Ok(value)
}

#[derive(Deserialize)]
struct Failure {
    r#type: String,
    message: String,
}

/// A streamed answer: the HTTP prelude if given (`{"status": 200,
/// "headers": [["name", "value"]], "cookies": ["a=b"]}`), each chunk with a pause
/// before all but the first, then `bytes` more bytes of `x` in 64 KiB
/// writes, then `events` server-sent events with one `write!` each, then
/// `one_write_mib` MiB of `x` in one write (logging the process's peak RSS
/// after it, `peak rss: N kB`), then a failure or a panic if asked, or a
/// value returned beside the stream (`also_return`).
#[derive(Deserialize)]
struct StreamCommand {
    http: Option<HttpPrelude>,
    #[serde(default)]
    chunks: Vec<String>,
    #[serde(default)]
    pause_ms: u64,
    #[serde(default)]
    bytes: usize,
    #[serde(default)]
    events: usize,
    #[serde(default)]
    one_write_mib: usize,
    fail: Option<Failure>,
    panic: Option<String>,
    #[serde(default)]
    also_return: bool,
}

#[derive(Deserialize)]
struct HttpPrelude {
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    cookies: Vec<String>,
}

#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    echo: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inside: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    env: Option<Option<String>>,
}

impl Handler {
    /// The shutdown hook (with the `shutdown` feature): a line to count.
    #[cfg(feature = "shutdown")]
    fn shutdown(&self) {
        lambda_bootstrap::info!("the shutdown hook ran");
    }
}

impl Function for Handler {
    #[cfg(feature = "shutdown")]
    const SHUTDOWN: Option<fn(&Self)> = Some(Handler::shutdown);

    type Event = Command;
    /// `None` when the answer was streamed.
    type Output = Option<Answer>;

    fn init(_config: &Config) -> Result<Handler, Error> {
        if let Some(message) = std::env::var_os("PANIC_PROBE_INIT") {
            panic!("{}", message.to_string_lossy());
        }
        if let Ok(message) = std::env::var("TEST_FUNCTION_INIT_FAIL") {
            return Err(Error::new("Function.InitFailed", message));
        }
        Ok(Handler)
    }

    fn handle(&self, mut command: Command, context: &Context) -> Result<Option<Answer>, Error> {
        if let Some(ms) = command.thread_panics_after_ms.take() {
            thread_panics_after(ms);
        }
        if std::mem::take(&mut command.caught_panic) {
            caught_panic();
        }
        if std::mem::take(&mut command.on_thread) {
            return on_thread(|| self.handle(command, context));
        }
        if let Some(kib) = command.stack_kib {
            use_stack(kib);
        }
        if command.late_stream {
            late_stream(context.clone());
        }
        if command.late_stream_check {
            late_stream_check()?;
        }
        if let Some(ms) = command.sleep_ms {
            std::thread::sleep(Duration::from_millis(ms));
        }
        for (level, message) in &command.log {
            let level = Level::parse(level).ok_or_else(|| Error::new("Function.BadLevel", level))?;
            lambda_bootstrap::log::write(level, format_args!("{message}"));
        }
        #[cfg(feature = "log-facade")]
        log_crate_records(&command.log_crate)?;
        #[cfg(feature = "tracing")]
        tracing_events(&command.tracing)?;
        let inside = command.barrier.map(barrier).transpose()?;
        if let Some(message) = command.panic {
            panic!("{message}");
        }
        if let Some(failure) = command.fail {
            return Err(Error::new(failure.r#type, failure.message));
        }
        if let Some(kind) = command.fail_with {
            return converted(&kind);
        }
        if let Some(stream) = command.stream {
            let also_return = stream.also_return;
            stream_answer(stream, context)?;
            return Ok(also_return.then(Answer::default));
        }
        Ok(Some(Answer {
            request_id: context.request_id.clone(),
            echo: command.echo,
            inside,
            repeat: command.repeat.map(|n| "x".repeat(n)),
            context: command.context.then(|| describe(context)),
            env: command.env.map(|name| std::env::var(name).ok()),
        }))
    }
}

/// Logs through the `log` crate, as libraries do; with `log-facade` its
/// records are the runtime's lines. (Not built in without the feature: the
/// size guards build this function.)
#[cfg(feature = "log-facade")]
#[inline(never)]
fn log_crate_records(records: &[(String, String)]) -> Result<(), Error> {
    for (level, message) in records {
        let level: log::Level = level
            .parse()
            .map_err(|_| Error::new("Function.BadLevel", level))?;
        log::log!(level, "{message}");
    }
    Ok(())
}

/// Emits `tracing` events, as libraries do; with `tracing` they are the
/// runtime's lines. (Not built in without the feature.)
#[cfg(feature = "tracing")]
#[inline(never)]
fn tracing_events(events: &[(String, String)]) -> Result<(), Error> {
    for (level, message) in events {
        match level.as_str() {
            "TRACE" => tracing::trace!(order = 7, "{message}"),
            "DEBUG" => tracing::debug!(order = 7, "{message}"),
            "INFO" => tracing::info!(order = 7, "{message}"),
            "WARN" => tracing::warn!(order = 7, "{message}"),
            "ERROR" => tracing::error!(order = 7, "{message}"),
            other => return Err(Error::new("Function.BadLevel", other)),
        }
    }
    Ok(())
}

/// Runs `work` on a scoped thread, as functions that fan out do. Its panic
/// (under `panic = "unwind"`) is the caller's, as `std::thread::scope` has it.
#[inline(never)]
fn on_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(work)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Whether the late thread may go, and whether it has written.
static LATE: Mutex<(bool, bool)> = Mutex::new((false, false));
static LATE_CHANGED: Condvar = Condvar::new();

/// A thread that outlives the invocation: once a later invocation lets it
/// go ([`late_stream_check`]), it opens the stream of `context`'s
/// invocation, long answered, and writes to it.
#[inline(never)]
fn late_stream(context: Context) {
    std::thread::spawn(move || {
        let late = LATE.lock().unwrap_or_else(|e| e.into_inner());
        let (mut late, _) = LATE_CHANGED
            .wait_timeout_while(late, Duration::from_secs(10), |(go, _)| !*go)
            .unwrap_or_else(|e| e.into_inner());
        if context.stream().write_all(b"late bytes").is_err() {
            lambda_bootstrap::info!("late write refused");
        }
        late.1 = true;
        LATE_CHANGED.notify_all();
    });
}

/// Lets the late thread go, and waits (10 s at most) until it has written.
#[inline(never)]
fn late_stream_check() -> Result<(), Error> {
    let mut late = LATE.lock().unwrap_or_else(|e| e.into_inner());
    late.0 = true;
    LATE_CHANGED.notify_all();
    let (late, timeout) = LATE_CHANGED
        .wait_timeout_while(late, Duration::from_secs(10), |(_, done)| !*done)
        .unwrap_or_else(|e| e.into_inner());
    drop(late);
    if timeout.timed_out() {
        return Err(Error::new("Function.LateTimeout", "the late thread never wrote"));
    }
    Ok(())
}

/// A thread of the function's own, left to panic `ms` from now.
#[inline(never)]
fn thread_panics_after(ms: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms));
        panic!("a thread of the function's panicked");
    });
}

/// A panic the function catches itself (it can only with `panic =
/// "unwind"`): not the invocation's to report.
#[inline(never)]
fn caught_panic() {
    let _ = std::panic::catch_unwind(|| panic!("caught by the function"));
}

/// Uses `kib` KiB of stack, a KiB a frame.
#[inline(never)]
fn use_stack(kib: usize) -> u8 {
    let mut frame = [0u8; 1024];
    std::hint::black_box(&mut frame);
    if kib <= 1 {
        frame[7]
    } else {
        use_stack(kib - 1).wrapping_add(frame[3])
    }
}

/// Waits until `n` invocations have arrived here; returns how many had.
// Out of line, like the other commands' helpers: inlined, their frames
// would make every invocation's stack deeper, which the benchmark counts.
#[inline(never)]
fn barrier(n: usize) -> Result<usize, Error> {
    static ARRIVED: Mutex<usize> = Mutex::new(0);
    static CHANGED: Condvar = Condvar::new();
    let mut arrived = ARRIVED.lock().unwrap_or_else(|e| e.into_inner());
    *arrived += 1;
    CHANGED.notify_all();
    let (arrived, timeout) = CHANGED
        .wait_timeout_while(arrived, Duration::from_secs(10), |arrived| *arrived < n)
        .unwrap_or_else(|e| e.into_inner());
    if timeout.timed_out() {
        return Err(Error::new(
            "Function.BarrierTimeout",
            format!("{} of {n} arrived", *arrived),
        ));
    }
    Ok(*arrived)
}

/// Fails with `?` on an error of `kind`, as functions do: `io` (an
/// `io::Error` with a cause), `parse_int`, `utf8`, `boxed` (a
/// `Box<dyn Error + Send + Sync>`), `message` (a `String`). (`anyhow::Error`
/// is not among them: src/error.rs tests it, and anyhow's backtraces would
/// weigh on the size guards, which build this function.)
#[inline(never)]
fn converted(kind: &str) -> Result<Option<Answer>, Error> {
    match kind {
        "io" => Err(std::io::Error::other("x".parse::<u8>().unwrap_err()))?,
        "parse_int" => Err("x".parse::<u8>().unwrap_err())?,
        "utf8" => Err(std::str::from_utf8(std::hint::black_box(&[0xff])).unwrap_err())?,
        "boxed" => Err(Box::<dyn std::error::Error + Send + Sync>::from("boxed"))?,
        "message" => Err(format!("message {}", 1))?,
        other => Err(Error::new("Function.UnknownKind", other)),
    }
}

#[inline(never)]
fn stream_answer(command: StreamCommand, context: &Context) -> Result<(), Error> {
    let mut out = match &command.http {
        Some(http) => {
            let headers: Vec<(&str, &str)> = http
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let cookies: Vec<&str> = http.cookies.iter().map(String::as_str).collect();
            context.stream_http(http.status, &headers, &cookies)
        }
        None => context.stream(),
    };
    for (k, chunk) in command.chunks.iter().enumerate() {
        if k > 0 {
            std::thread::sleep(Duration::from_millis(command.pause_ms));
        }
        out.write_all(chunk.as_bytes())?;
    }
    let block = [b'x'; 64 * 1024];
    let mut left = command.bytes;
    while left > 0 {
        let n = left.min(block.len());
        out.write_all(&block[..n])?;
        left -= n;
    }
    for k in 1..=command.events {
        write!(
            out,
            "id: {k}\ndata: {{\"tick\":{k},\"of\":{}}}\n\n",
            command.events
        )?;
    }
    if command.one_write_mib > 0 {
        let whole = vec![b'x'; command.one_write_mib << 20];
        out.write_all(&whole)?;
        drop(whole);
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let peak = status.lines().find_map(|line| line.strip_prefix("VmHWM:"));
        lambda_bootstrap::info!("peak rss: {}", peak.unwrap_or("unknown").trim());
    }
    if let Some(message) = command.panic {
        panic!("{message}");
    }
    match command.fail {
        Some(failure) => Err(Error::new(failure.r#type, failure.message)),
        None => Ok(()),
    }
}

#[inline(never)]
fn describe(context: &Context) -> Value {
    let config = context.config();
    serde_json::json!({
        "requestId": context.request_id,
        "deadlineMs": context.deadline.and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64),
        "remainingMs": context.remaining().map(|d| d.as_millis() as u64),
        "invokedFunctionArn": context.invoked_function_arn,
        "traceId": context.trace_id,
        "tenantId": context.tenant_id,
        "clientContext": context.client_context,
        "cognitoIdentity": context.cognito_identity,
        "functionName": config.function_name,
        "functionVersion": config.function_version,
        "memoryMb": config.memory_mb,
        "logGroup": config.log_group,
        "logStream": config.log_stream,
        "maxConcurrency": config.max_concurrency,
    })
}
