//! Shared helpers for the integration tests: run the real `bootstrap` binary
//! against a `fake_api::Server` and collect what happened, bounded in time.

// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

pub mod emulator;

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use fake_api::{Request, Route, Server};
use serde_json::Value;

/// How long one run of the runtime may take before it is killed and the test
/// fails. Generous: machines are shared and noisy, and no run needs seconds.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The binary with the project's own function (`src/handler.rs`, whatever
/// the user put there): `BOOTSTRAP_BIN` if set, else the one cargo built for
/// this test run.
pub fn bootstrap_bin() -> PathBuf {
    std::env::var_os("BOOTSTRAP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")))
}

/// The binary with the runtime tests' own function (`tests/function`),
/// which every runtime test runs so that none depends on the user's
/// function: `BOOTSTRAP_TEST_FUNCTION_BIN` if set, else built once per test
/// run (see [`build_example`]).
pub fn test_function_bin() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| match std::env::var_os("BOOTSTRAP_TEST_FUNCTION_BIN") {
        Some(prebuilt) => PathBuf::from(prebuilt),
        None => build_example("test-function"),
    })
}

/// Builds the Cargo example `name` (the test function, or one of
/// `examples/`) with the `test-function` profile (`panic = "abort"`, like
/// release, but quick to compile) into `target/test-function` (the outer
/// `cargo test` holds the lock on the main target directory), and returns
/// the binary.
pub fn build_example(name: &str) -> PathBuf {
    build(&["--example", name], "test-function")
        .join("examples")
        .join(name)
}

/// The test function built with `panic = "unwind"`, as `make build
/// PANIC=unwind` builds a function: panics are caught per invocation.
pub fn unwind_test_function_bin() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let args = [
            "--example",
            "test-function",
            "--config",
            "profile.test-function.panic=\"unwind\"",
        ];
        build(&args, "test-function-unwind").join("examples/test-function")
    })
}

/// The test function, and the built-in function (which has no shutdown
/// hook), built with the `shutdown` feature.
pub fn shutdown_bins() -> &'static (PathBuf, PathBuf) {
    static BINARIES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let args = [
            "--example",
            "test-function",
            "--bin",
            "bootstrap",
            "--features",
            "shutdown",
        ];
        let built = build(&args, "test-function-shutdown");
        (built.join("examples/test-function"), built.join("bootstrap"))
    })
}

/// The test function built with the `tracing` and `log-facade` features:
/// the records of the `tracing` and `log` crates are log lines.
pub fn log_crates_bin() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let args = ["--example", "test-function", "--features", "tracing,log-facade"];
        build(&args, "test-function-log-crates").join("examples/test-function")
    })
}

/// `cargo build --profile test-function` with `args` into `target/<dir>`,
/// one build at a time; the folder the binaries are in.
fn build(args: &[&str], dir: &str) -> PathBuf {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target_dir = root.join("target").join(dir);
    let mut all = vec!["build", "--profile", "test-function"];
    all.extend_from_slice(args);
    cargo(&root, &all, &target_dir);
    // `.cargo/config.toml` makes musl the default target.
    target_dir.join("x86_64-unknown-linux-musl/test-function")
}

/// Runs `cargo args` in `dir` with `target_dir`, bounded (15 minutes), as
/// a user would: none of the outer cargo's RUSTFLAGS or target. Panics with
/// what cargo said unless it succeeds; returns its output.
pub fn cargo(dir: &Path, args: &[&str], target_dir: &Path) -> String {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut child = Command::new(program)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cargo");
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let status = fake_api::wait_child(&mut child, Duration::from_secs(900));
    let output = out.join().unwrap_or_default() + &err.join().unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "cargo {} in {} failed ({status:?}):\n{output}",
        args.join(" "),
        dir.display()
    );
    output
}

/// Clears what a build or `make` must not inherit from the outer `cargo
/// test` or `make test`: their jobserver, RUSTFLAGS (which would replace
/// the size flags), a target, and the Makefile's variables.
pub fn fresh_build_env(command: &mut Command) {
    for name in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "CARGO_MAKEFLAGS",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "ARCH",
        "PROFILE",
        "PANIC",
        "FEATURES",
        "EXAMPLE",
        "EVENTS",
        "EVENT",
        "PORT",
        "GREETING",
    ] {
        command.env_remove(name);
    }
}

/// Straight to stderr: the harness swallows a passing test's `println!`.
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether a missing tool fails a test (`BOOTSTRAP_STRICT`: `make test`
/// and CI) rather than skipping it.
pub fn strict() -> bool {
    std::env::var_os("BOOTSTRAP_STRICT").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `Some(found)`, or `None` after a SKIPPED line (a failure when strict)
/// naming `what` is missing and how to get it.
pub fn require<T>(test: &str, what: &str, found: Option<T>, hint: &str) -> Option<T> {
    if found.is_some() {
        return found;
    }
    assert!(
        !strict(),
        "{test}: {what} is required (BOOTSTRAP_STRICT is set); {hint}"
    );
    note(&format!("SKIPPED {test}: no {what} ({hint})"));
    None
}

/// `name` on PATH, if it is an executable file there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A command for `bin` with nothing of the test's own Lambda environment:
/// every `AWS_*`, `LAMBDA_*` and `_X_AMZN_*` variable, `_HANDLER`,
/// `GREETING` and the test function's switches removed; then `api` as
/// `AWS_LAMBDA_RUNTIME_API` and `env`.
pub fn command(bin: &PathBuf, api: Option<&str>, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(bin);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if ["AWS_", "LAMBDA_", "_X_AMZN_", "TEST_FUNCTION_", "PANIC_PROBE_"]
            .iter()
            .any(|p| text.starts_with(p))
            || text == "_HANDLER"
            || text == "GREETING"
        {
            command.env_remove(&name);
        }
    }
    if let Some(api) = api {
        command.env("AWS_LAMBDA_RUNTIME_API", api);
    }
    command.envs(env.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))));
    command
}

/// Reads a child's pipe to the end on its own thread, so a chatty child never
/// blocks on a full pipe.
pub fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What one run of the runtime did.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Every request the server read, in order.
    pub requests: Vec<Request>,
    /// Requests the server could not parse (see `Server::errors`).
    pub server_errors: Vec<String>,
    pub elapsed: Duration,
}

/// Runs the test function's binary against `server` at `server.addr()`.
pub fn run(server: &Server, env: &[(&str, &str)]) -> Run {
    run_at(server, Some(&server.addr()), env)
}

/// Runs the test function's binary with `AWS_LAMBDA_RUNTIME_API` set to
/// `api` (unset for `None`), and collects what `server` saw. Panics, after
/// killing the child, if it runs longer than [`TIMEOUT`].
pub fn run_at(server: &Server, api: Option<&str>, env: &[(&str, &str)]) -> Run {
    run_bin(test_function_bin(), server, api, env)
}

pub fn run_bin(bin: &PathBuf, server: &Server, api: Option<&str>, env: &[(&str, &str)]) -> Run {
    start_bin(bin, api, env).wait(server)
}

/// A runtime process under test, started and not yet waited for: for tests
/// that act while it runs (push work, watch a stream arrive).
pub struct Started {
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
    started: Instant,
}

/// Starts the test function's binary against `server` at `server.addr()`.
pub fn start(server: &Server, env: &[(&str, &str)]) -> Started {
    start_bin(test_function_bin(), Some(&server.addr()), env)
}

pub fn start_bin(bin: &PathBuf, api: Option<&str>, env: &[(&str, &str)]) -> Started {
    let started = Instant::now();
    let mut child: Child = command(bin, api, env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Started {
        stdout: drain(child.stdout.take()),
        stderr: drain(child.stderr.take()),
        child,
        started,
    }
}

impl Started {
    /// Waits (at most [`TIMEOUT`]) for the runtime to exit, before
    /// [`Server::finish`] answers the polls it left waiting.
    pub fn wait_for_exit(&mut self) {
        let _ = fake_api::wait_child(&mut self.child, TIMEOUT);
    }

    /// Sends the runtime signal `name` (`TERM`, ...), as Lambda does.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "kill -{name} failed: {sent:?}"
        );
    }

    /// Waits for the runtime to exit (killing it after [`TIMEOUT`]: then
    /// the test fails) and collects what `server` saw.
    pub fn wait(mut self, server: &Server) -> Run {
        let status = fake_api::wait_child(&mut self.child, TIMEOUT);
        let elapsed = self.started.elapsed();
        // The child is gone, so its sockets are closed: let the server finish
        // reading whatever it sent last before the requests are looked at.
        let idle = server.wait_idle(Duration::from_secs(5));
        let stdout = self.stdout.join().unwrap_or_default();
        let stderr = self.stderr.join().unwrap_or_default();
        let requests = server.requests();
        let Some(status) = status else {
            panic!(
                "the runtime was still running after {TIMEOUT:?} and was killed\n\
                 requests: {:#?}\nstderr:\n{stderr}",
                steps(&requests)
            );
        };
        assert!(idle, "a connection stayed open after the runtime exited");
        Run {
            status,
            stdout,
            stderr,
            requests,
            server_errors: server.errors(),
            elapsed,
        }
    }
}

impl Run {
    /// The conversation, one short line per request (see [`steps`]).
    pub fn steps(&self) -> Vec<String> {
        steps(&self.requests)
    }

    /// The one request with this route; panics if there is not exactly one.
    pub fn only(&self, route: Route) -> &Request {
        let found: Vec<&Request> = self.requests.iter().filter(|r| r.route() == route).collect();
        assert_eq!(found.len(), 1, "expected one {route:?}\n{self}");
        found[0]
    }

    /// Asserts the runtime exited with a failure (non-zero or by a signal).
    pub fn assert_failed(&self) {
        assert!(!self.status.success(), "expected a failure exit\n{self}");
    }

    /// Asserts every request came on one connection (and there was one).
    pub fn assert_one_connection(&self) {
        let first = self.requests.first().map(|r| r.conn);
        assert!(
            first.is_some() && self.requests.iter().all(|r| Some(r.conn) == first),
            "expected every request on one keep-alive connection\n{self}"
        );
    }
}

/// Everything a failed assertion needs to say what the runtime did.
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit: {:?} after {:?}", self.status, self.elapsed)?;
        writeln!(f, "requests:")?;
        for r in &self.requests {
            writeln!(f, "  [conn {}] {}", r.conn, step(r))?;
        }
        if !self.server_errors.is_empty() {
            writeln!(f, "unparsable requests: {:?}", self.server_errors)?;
        }
        writeln!(f, "stderr:\n{}", self.stderr.trim_end())?;
        write!(f, "stdout:\n{}", self.stdout.trim_end())
    }
}

/// One request as a short line: `next`, `response ID`, `error ID`,
/// `init-error`, `extension-register`, `extension-next`, or `METHOD TARGET`
/// for anything else.
pub fn step(request: &Request) -> String {
    match request.route() {
        Route::Next => "next".to_owned(),
        Route::Response(id) => format!("response {id}"),
        Route::Error(id) => format!("error {id}"),
        Route::InitError => "init-error".to_owned(),
        Route::ExtensionRegister => "extension-register".to_owned(),
        Route::ExtensionNext => "extension-next".to_owned(),
        Route::Other => format!("{} {}", request.method, request.target),
    }
}

pub fn steps(requests: &[Request]) -> Vec<String> {
    requests.iter().map(step).collect()
}

/// The steps of `n` plain invocations `ids`, each answered with a response,
/// and the final `/next` that the exhausted script answers with 500.
pub fn happy_steps(ids: &[&str]) -> Vec<String> {
    let mut steps = Vec::new();
    for id in ids {
        steps.push("next".to_owned());
        steps.push(format!("response {id}"));
    }
    steps.push("next".to_owned());
    steps
}

/// A request body as JSON; panics with the body if it is not JSON.
pub fn json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_else(|e| {
        panic!(
            "body of {} is not JSON ({e}): {:?}",
            step(request),
            String::from_utf8_lossy(&request.body)
        )
    })
}

/// The test function's answer to invocation `id`: `{"requestId": id}` plus
/// the fields of `extra` (an object).
pub fn answer(id: &str, extra: Value) -> Value {
    let mut answer = serde_json::json!({ "requestId": id });
    if let Value::Object(fields) = extra {
        answer.as_object_mut().unwrap().extend(fields);
    }
    answer
}

/// Asserts `request` is a well-formed error report of type `error_type`:
/// a JSON object with a string `errorMessage` and that `errorType`, and the
/// same type in `Lambda-Runtime-Function-Error-Type`. Returns the message.
pub fn assert_error_report(request: &Request, error_type: &str) -> String {
    assert_error_report_with_header(request, error_type, error_type)
}

/// Like [`assert_error_report`], for a name whose header differs from it
/// (a name not of Lambda's shape: `NotFound` is `Function.NotFound` there).
pub fn assert_error_report_with_header(request: &Request, error_type: &str, header: &str) -> String {
    let body = json(request);
    assert_eq!(
        body["errorType"],
        error_type,
        "errorType of {}: {body}",
        step(request)
    );
    let message = body["errorMessage"]
        .as_str()
        .unwrap_or_else(|| panic!("errorMessage of {} is not a string: {body}", step(request)));
    assert!(!message.is_empty(), "empty errorMessage: {body}");
    assert_eq!(
        request.header("Lambda-Runtime-Function-Error-Type"),
        Some(header),
        "error type header of {}",
        step(request)
    );
    message.to_owned()
}

/// Asserts every request id that `/next` served got exactly one answer, a
/// `/response` or an `/error`, except ids in `faulted` (whose answer the
/// fake API dropped or that the runtime rightly never answered), and that
/// nothing was answered that was never served.
pub fn assert_answered_once(run: &Run, faulted: &[&str]) {
    let served: Vec<&str> = run.requests.iter().filter_map(|r| r.served.as_deref()).collect();
    for id in &served {
        if faulted.contains(id) {
            continue;
        }
        let answers = run
            .requests
            .iter()
            .filter(|r| matches!(r.route(), Route::Response(a) | Route::Error(a) if a == *id))
            .count();
        assert_eq!(answers, 1, "invocation {id:?} answered {answers} times\n{run}");
    }
    for request in &run.requests {
        if let Route::Response(id) | Route::Error(id) = request.route() {
            assert!(
                served.contains(&id),
                "answer for an id never served: {id:?}\n{run}"
            );
        }
    }
}

/// What the test function must answer to one event.
#[derive(Clone, Debug)]
pub enum Expect {
    /// Posted to `/response`: `{"requestId": <id>}` plus these fields.
    Answer(Value),
    /// Posted to `/error`: the body's `errorType`, as the function named it,
    /// and the `Lambda-Runtime-Function-Error-Type` header, in Lambda's
    /// shape.
    Error {
        error_type: &'static str,
        header: &'static str,
    },
}

/// One row of the runtime's table: a label for failure messages, the event
/// body, and what must come of it.
#[derive(Clone, Debug)]
pub struct Row {
    pub label: &'static str,
    pub event: Vec<u8>,
    pub expect: Expect,
}

/// The runtime's contract for events and answers, row by row, through the
/// test function: an event decodes into the function's typed `Event` or is
/// `Runtime.InvalidEvent` (bytes that are not JSON, or JSON of another
/// shape); what the function returns is encoded whole; its errors are posted
/// with the name the function chose (or its error type's), and a header of
/// Lambda's shape.
pub fn runtime_table() -> Vec<Row> {
    let answer = |extra: Value| Expect::Answer(extra);
    let echo = |value: Value| answer(serde_json::json!({ "echo": value }));
    let nothing = || answer(serde_json::json!({}));
    let error = |error_type, header| Expect::Error { error_type, header };
    let invalid_event = || error("Runtime.InvalidEvent", "Runtime.InvalidEvent");
    let row = |label, event: &[u8], expect| Row {
        label,
        event: event.to_vec(),
        expect,
    };
    vec![
        row("echo", br#"{"echo":"Ada"}"#, echo("Ada".into())),
        row(
            "echo needing escapes",
            br#"{"echo":"Zo\u00eb \"the\" \\ <b>\n\t\ud83d\ude00"}"#,
            echo("Zoë \"the\" \\ <b>\n\t😀".into()),
        ),
        row(
            "raw UTF-8",
            "{\"echo\":\"Åsa 李\"}".as_bytes(),
            echo("Åsa 李".into()),
        ),
        row(
            "nested echo",
            br#"{"echo":{"a":[1,2.5,null,true,{"b":"c"}]}}"#,
            echo(serde_json::json!({"a": [1, 2.5, null, true, {"b": "c"}]})),
        ),
        row("whitespace around", b" \r\n\t{\"echo\" : 7}\n ", echo(7.into())),
        row("empty object", b"{}", nothing()),
        row(
            "unknown fields are ignored",
            br#"{"name":"Ada","x":[1]}"#,
            nothing(),
        ),
        row(
            "function error",
            br#"{"fail":{"type":"Function.InvalidName","message":"no"}}"#,
            error("Function.InvalidName", "Function.InvalidName"),
        ),
        row(
            "a name of the function's own",
            br#"{"fail":{"type":"OrderNotFound","message":"no"}}"#,
            error("OrderNotFound", "Function.OrderNotFound"),
        ),
        row(
            "a dotted name",
            br#"{"fail":{"type":"Order.NotFound","message":"no"}}"#,
            error("Order.NotFound", "Function.Order.NotFound"),
        ),
        row(
            "a name with CR LF",
            b"{\"fail\":{\"type\":\"Bad\\r\\nX-Injected: 1\",\"message\":\"no\"}}",
            error("Bad\r\nX-Injected: 1", "Function.Error"),
        ),
        row(
            "a name with spaces",
            br#"{"fail":{"type":"order not found","message":"no"}}"#,
            error("order not found", "Function.Error"),
        ),
        row(
            "? on an io::Error with a cause",
            br#"{"fail_with":"io"}"#,
            error("io::Error", "Function.Error"),
        ),
        row(
            "? on a ParseIntError",
            br#"{"fail_with":"parse_int"}"#,
            error("ParseIntError", "Function.ParseIntError"),
        ),
        row(
            "? on a Utf8Error",
            br#"{"fail_with":"utf8"}"#,
            error("Utf8Error", "Function.Utf8Error"),
        ),
        row(
            "? on a boxed error",
            br#"{"fail_with":"boxed"}"#,
            error("Error", "Function.Error"),
        ),
        row(
            "? on a String",
            br#"{"fail_with":"message"}"#,
            error("Error", "Function.Error"),
        ),
        row("wrong field type", br#"{"sleep_ms":"soon"}"#, invalid_event()),
        row("number", b"42", invalid_event()),
        row("string", br#""Ada""#, invalid_event()),
        row("array", br#"[{"echo":1}]"#, invalid_event()),
        row("null", b"null", invalid_event()),
        row("not JSON", b"not json", invalid_event()),
        row("empty body", b"", invalid_event()),
        row("whitespace only", b" \n", invalid_event()),
        row("invalid UTF-8", b"\xff\xfe", invalid_event()),
        row(
            "invalid UTF-8 in a string",
            b"{\"echo\":\"\xff\"}",
            invalid_event(),
        ),
        row("truncated", br#"{"echo":"Ada""#, invalid_event()),
        row("trailing garbage", br#"{"echo":"Ada"} x"#, invalid_event()),
        row("single quotes", b"{'echo':'Ada'}", invalid_event()),
        row("NaN", b"NaN", invalid_event()),
    ]
}

/// Asserts that `answer`, the post for `row`'s invocation `id`, is what the
/// row expects. `context` goes into failure messages.
pub fn assert_row(row: &Row, id: &str, answer: &Request, context: &dyn fmt::Display) {
    match &row.expect {
        Expect::Answer(extra) => {
            assert!(
                matches!(answer.route(), Route::Response(_)),
                "row {:?}: expected a /response, got {}\n{context}",
                row.label,
                step(answer)
            );
            assert_eq!(
                json(answer),
                self::answer(id, extra.clone()),
                "row {:?}\n{context}",
                row.label
            );
            assert_eq!(
                answer.header("Lambda-Runtime-Function-Error-Type"),
                None,
                "row {:?}: error type header on a /response\n{context}",
                row.label
            );
        }
        Expect::Error { error_type, header } => {
            assert!(
                matches!(answer.route(), Route::Error(_)),
                "row {:?}: expected an /error, got {}\n{context}",
                row.label,
                step(answer)
            );
            assert_error_report_with_header(answer, error_type, header);
        }
    }
}
