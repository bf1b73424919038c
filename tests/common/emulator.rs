//! `cargo lambda watch`, the emulator nobody here wrote, for the suites
//! that run a function against it: installed on first use into `.venv`,
//! started on a free port with a runtime attached, killed when dropped.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use fake_api::client;

use super::{command, drain, strict};

/// The version whose behaviour these assertions were written against.
pub const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";

/// Generous bounds: a first start of the emulator, an invoke, a shutdown.
pub const START: Duration = Duration::from_secs(60);
pub const INVOKE: Duration = Duration::from_secs(30);

pub fn root() -> PathBuf {
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

/// `.venv/bin/cargo-lambda`, installed if missing (one test at a time).
/// `--no-deps`: its `ziglang` dependency (411 MB) is only for its build
/// command, which nothing here uses.
fn install_cargo_lambda() -> Result<PathBuf, String> {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
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
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            CARGO_LAMBDA,
        ],
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

/// The emulator's binary, or `None` (after a skip line) when it can't be
/// had and `BOOTSTRAP_STRICT` is not set.
pub fn cargo_lambda(test: &str) -> Option<PathBuf> {
    match install_cargo_lambda() {
        Ok(binary) => Some(binary),
        Err(why) if !strict() => {
            // Straight to stderr: the test harness would swallow a println!.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: no cargo-lambda ({why})");
            None
        }
        Err(why) => panic!("cargo-lambda is required (BOOTSTRAP_STRICT is set): {why}"),
    }
}

/// A child process that is killed and reaped when dropped, test passed or
/// not, with its output collected for failure messages.
pub struct Process {
    name: &'static str,
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Process {
    pub fn spawn(name: &'static str, mut command: Command) -> Process {
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

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM, as Lambda does at shutdown, and waits (bounded) for
    /// the process to end; its exit status, if it did.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        fake_api::wait_child(&mut self.child, INVOKE)
    }

    /// Kills the process (if still running) and returns all it printed.
    pub fn stop(&mut self) -> String {
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

/// `cargo lambda watch` on a free port, with a runtime attached to it.
pub struct Emulator {
    pub emulator: Process,
    pub runtime: Process,
    /// `127.0.0.1:port`: where to invoke.
    pub address: String,
}

impl Emulator {
    pub fn start(cargo_lambda: &Path, bin: &Path, env: &[(&str, &str)]) -> Emulator {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let mut watch = command(&cargo_lambda.to_path_buf(), None, &[]);
        watch
            .current_dir(root())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string());
        let mut emulator = Process::spawn("cargo lambda watch", watch);
        let started = Instant::now();
        while TcpStream::connect(&address).is_err() {
            if !emulator.running() || started.elapsed() > START {
                panic!("the emulator never listened on {address}\n{}", emulator.stop());
            }
            thread::sleep(Duration::from_millis(50));
        }
        let api = format!("http://{address}/.rt");
        let runtime = Process::spawn("bootstrap", command(&bin.to_path_buf(), Some(&api), env));
        Emulator {
            emulator,
            runtime,
            address,
        }
    }

    pub fn invoke(&self, event: &[u8]) -> Result<client::Response, String> {
        client::request(
            &self.address,
            "POST",
            "/2015-03-31/functions/_/invocations",
            &[("Content-Type", "application/json")],
            event,
            INVOKE,
        )
        .map_err(|e| format!("invoke failed: {e}"))
    }

    /// Stops both; the logs, for failure messages.
    pub fn stop(mut self) -> String {
        format!("{}{}", self.runtime.stop(), self.emulator.stop())
    }
}

/// The answer as `status body`, for failure messages.
pub fn shown(answer: &client::Response) -> String {
    format!("{} {}", answer.status, String::from_utf8_lossy(&answer.body))
}
