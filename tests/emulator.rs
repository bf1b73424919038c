//! End to end against an emulator nobody here wrote: `cargo lambda watch
//! --only-lambda-apis` serves the Runtime API under `/.rt` and the invoke
//! API beside it; the real `bootstrap` connects with the URL form of
//! `AWS_LAMBDA_RUNTIME_API`, and every row of the handler table goes through
//! `POST /2015-03-31/functions/_/invocations` as a caller would send it.
//!
//! The emulator is installed on first use into a project-local, git-ignored
//! virtualenv (`.venv`; `pip install cargo-lambda` ships the binary). Without
//! python3 or pip the test prints a skip line, unless `BOOTSTRAP_STRICT` is
//! set (`make test` and CI set it): then a missing tool is a failure.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{Expect, Row, bootstrap_bin, command, drain, handler_table};
use fake_api::client;
use serde_json::Value;

/// The version whose behaviour these assertions were written against.
const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";

/// Generous bounds: a first start of the emulator, an invoke, a shutdown.
const START: Duration = Duration::from_secs(60);
const INVOKE: Duration = Duration::from_secs(30);

fn strict() -> bool {
    std::env::var_os("BOOTSTRAP_STRICT").is_some_and(|v| !v.is_empty() && v != "0")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a setup command; `Err` says what failed and what it printed.
fn setup(program: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{} {} failed ({}):\n{}{}",
        program.display(),
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// `.venv/bin/cargo-lambda`, installed if missing. This file holds a single
/// test, so one process at a time gets here: no install runs twice at once.
fn install_cargo_lambda() -> Result<PathBuf, String> {
    let venv = root().join(".venv");
    let binary = venv.join("bin/cargo-lambda");
    if binary.is_file() {
        return Ok(binary);
    }
    let pip = venv.join("bin/pip");
    if !pip.is_file() {
        setup(Path::new("python3"), &["-m", "venv", ".venv"])?;
    }
    setup(
        &pip,
        &["install", "--quiet", "--disable-pip-version-check", CARGO_LAMBDA],
    )?;
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "pip installed {CARGO_LAMBDA} but there is no {}",
            binary.display()
        ))
    }
}

/// A child process that is killed and reaped when dropped, test passed or
/// not, with its output collected for failure messages.
struct Process {
    name: &'static str,
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Process {
    fn spawn(name: &'static str, mut command: Command) -> Process {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process {
            name,
            stdout: Some(drain(child.stdout.take())),
            stderr: Some(drain(child.stderr.take())),
            child,
        }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process (if still running) and returns all it printed.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let status = self.child.wait();
        let mut output = format!("--- {} ({status:?})\n", self.name);
        for pipe in [self.stdout.take(), self.stderr.take()].into_iter().flatten() {
            output.push_str(&pipe.join().unwrap_or_default());
        }
        output
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// What a caller of the invoke API must see for `row`: `None` if it does.
fn check(row: &Row, answer: &client::Response) -> Option<String> {
    let body: Result<Value, _> = serde_json::from_slice(&answer.body);
    let shown = format!("{} {}", answer.status, String::from_utf8_lossy(&answer.body));
    let ok = match (&row.expect, &body) {
        (Expect::Message(expected), Ok(body)) => answer.status == 200 && body == expected,
        (Expect::Error(error_type), Ok(body)) => {
            answer.status == 500 && body["errorType"] == *error_type && body["errorMessage"].is_string()
        }
        (_, Err(_)) => false,
    };
    (!ok).then(|| format!("row {:?}: expected {:?}, got {shown}", row.label, row.expect))
}

#[test]
fn handler_table_through_cargo_lambda() {
    let cargo_lambda = match install_cargo_lambda() {
        Ok(binary) => binary,
        Err(why) if !strict() => {
            // Straight to stderr: the test harness would swallow a println!.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED handler_table_through_cargo_lambda: no cargo-lambda ({why})"
            );
            return;
        }
        Err(why) => panic!("cargo-lambda is required (BOOTSTRAP_STRICT is set): {why}"),
    };

    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut emulator = command(&cargo_lambda, None, &[]);
    emulator
        .current_dir(root())
        .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P"])
        .arg(port.to_string());
    let mut emulator = Process::spawn("cargo lambda watch", emulator);

    let started = Instant::now();
    while TcpStream::connect(&address).is_err() {
        if !emulator.running() || started.elapsed() > START {
            panic!("the emulator never listened on {address}\n{}", emulator.stop());
        }
        thread::sleep(Duration::from_millis(50));
    }

    let api = format!("http://{address}/.rt");
    let mut runtime = Process::spawn("bootstrap", command(&bootstrap_bin(), Some(&api), &[]));

    let mut failures = Vec::new();
    for row in handler_table() {
        // Without a runtime every invoke would wait out its timeout.
        if !runtime.running() {
            failures.push(format!("the runtime exited before row {:?}", row.label));
            break;
        }
        let answer = client::request(
            &address,
            "POST",
            "/2015-03-31/functions/_/invocations",
            &[("Content-Type", "application/json")],
            &row.event,
            INVOKE,
        );
        match answer {
            Ok(answer) => failures.extend(check(&row, &answer)),
            Err(e) => {
                failures.push(format!("row {:?}: invoke failed: {e}", row.label));
                break; // A stuck emulator or runtime: don't wait once per row.
            }
        }
    }
    // The emulator long-polls `/next`: a correct runtime is still waiting.
    if !runtime.running() {
        failures.push("the runtime exited while the emulator was up".to_owned());
    }

    let logs = format!("{}{}", runtime.stop(), emulator.stop());
    assert!(
        failures.is_empty(),
        "{} of {} rows failed through cargo lambda:\n{}\n{logs}",
        failures.len(),
        handler_table().len(),
        failures.join("\n")
    );
}
