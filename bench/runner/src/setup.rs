//! Tools, builds, sizes and the description of the machine.

use crate::{say, Figures, Options, Runtime};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TARGET: &str = "x86_64-unknown-linux-musl";

/// The repository root (this crate lives in `bench/runner`).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap_or(here).to_path_buf()
}

/// Where our builds go: the caller's `CARGO_TARGET_DIR` (passed on by
/// `bench/run` as `BENCH_OURS_TARGET_DIR`), else the repository's `target/`.
fn ours_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("BENCH_OURS_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    }
}

fn peer_target_dir(root: &Path, key: &str) -> PathBuf {
    root.join("bench/target").join(key)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// valgrind, strace and zip, from Debian's packages when missing.
pub fn tools(_ci: bool) -> Result<(), String> {
    let missing: Vec<&str> = ["valgrind", "strace", "zip"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    say(format!("installing {} (apt-get)", missing.join(" ")));
    let apt = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("apt-get {} failed ({status})", args.join(" ")))
        }
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args).map_err(|e| format!("{e}: install {} by hand (needs root)", missing.join(" ")))
}

extern "C" {
    fn setpriority(which: i32, who: u32, prio: i32) -> i32;
    fn sched_setscheduler(pid: i32, policy: i32, param: *const i32) -> i32;
}

/// Real-time (SCHED_FIFO) priority for the runner and, inherited, every
/// runtime it spawns, so that other work on a shared machine does not delay
/// the timed runs; nice -10 where that is refused. Needs root; without it the
/// timings are simply noisier.
pub fn raise_priority() -> &'static str {
    const SCHED_FIFO: i32 = 1;
    let priority: i32 = 10;
    if unsafe { sched_setscheduler(0, SCHED_FIFO, &priority) } == 0 {
        return "SCHED_FIFO";
    }
    // PRIO_PROCESS = 0; who = 0: this process.
    if unsafe { setpriority(0, 0, -10) } == 0 {
        return "nice -10";
    }
    say("could not raise priority (not root?): timings will be noisier");
    "normal priority"
}

fn runtime(key: &'static str, label: &'static str, path: PathBuf) -> Runtime {
    Runtime {
        key,
        label,
        path,
        skip: None,
        stale: false,
        concurrent: false,
        figures: Figures::default(),
    }
}

/// The binaries under test, in table order (the official runtime is the baseline).
pub fn runtimes(root: &Path, opts: &Options) -> Result<Vec<Runtime>, String> {
    let ours = ours_target_dir(root).join(TARGET);
    let test_function = runtime(
        "test-function",
        "bootstrap test-function",
        ours.join("release/examples/test-function"),
    );
    let mut list = if opts.ci {
        // CI gates the runtime, not the function: src/handler.rs is the file
        // users replace, and it must not be able to turn the gates red.
        vec![test_function]
    } else {
        let mut tiny = runtime("tiny", "bootstrap tiny", ours.join("tiny/bootstrap"));
        if !tiny.path.is_file() {
            tiny.skip = Some(format!(
                "{} not built: `make tiny` builds it (nightly)",
                tiny.path.display()
            ));
        }
        let peer = |key: &'static str, label: &'static str| {
            runtime(
                key,
                label,
                peer_target_dir(root, key).join(TARGET).join("release/bootstrap"),
            )
        };
        // Lambda Managed Instances: the runtime test suite's function (the
        // greeting handler has no concurrency to show) beside the official
        // runtime's `run_concurrent`, which answers the same events.
        let multi = |rt: Runtime| Runtime {
            concurrent: true,
            ..rt
        };
        vec![
            runtime("release", "bootstrap release", ours.join("release/bootstrap")),
            tiny,
            peer("official", "official lambda_runtime"),
            peer("blog", "blog-style ureq 2"),
            multi(test_function),
            multi(peer("official-concurrent", "official run_concurrent")),
        ]
    };
    if !opts.only.is_empty() {
        list.retain(|r| opts.only.iter().any(|k| k == r.key));
    }
    if !opts.build {
        for rt in list.iter_mut().filter(|r| r.skip.is_none() && !r.path.is_file()) {
            rt.skip = Some(format!("{} not built (--no-build)", rt.path.display()));
        }
    }
    Ok(list)
}

fn timed(mut cmd: Command, what: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(started.elapsed())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Our release build, as shipped: `make build` (the Makefile adds release-only
/// link flags to `cargo build --release`); plain cargo where there is no make.
/// `example`: that Cargo example (the test function) instead of the
/// built-in function.
fn build_ours(root: &Path, example: Option<&str>) -> Result<(Duration, String), String> {
    let target_dir = ours_target_dir(root);
    if root.join("Makefile").is_file() && on_path("make") {
        let mut cmd = Command::new("make");
        cmd.arg("-f")
            .arg(root.join("Makefile"))
            .args(["build", "ARCH=x86_64", "PROFILE=release"])
            .current_dir(root)
            .env("CARGO_TARGET_DIR", &target_dir);
        let mut what = "make build".to_owned();
        if let Some(name) = example {
            cmd.arg(format!("EXAMPLE={name}"));
            what = format!("make build EXAMPLE={name}");
        }
        let how = format!("`{what}` (cargo build --release plus the Makefile's release link flags)");
        return Ok((timed(cmd, &what)?, how));
    }
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "--target", TARGET])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target_dir);
    let mut what = "cargo build --release".to_owned();
    if let Some(name) = example {
        cmd.args(["--example", name]);
        what = format!("cargo build --release --example {name}");
    }
    let how = format!("`{what}` (no make here: without the Makefile's release link flags)");
    Ok((timed(cmd, &what)?, how))
}

/// A peer, with its own profile and lock file and nothing else: cargo runs
/// from `/`, so the repository's `.cargo/config.toml` (our linker and its
/// flags) does not apply. That is how a user of the crate builds it.
fn build_peer(root: &Path, key: &str) -> Result<(Duration, String), String> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir("/")
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("bench/peers").join(key).join("Cargo.toml"))
        .args(["--release", "--locked", "--target", TARGET])
        .env("CARGO_TARGET_DIR", peer_target_dir(root, key));
    // ring (under ureq 2's TLS) compiles C; without a musl cross compiler the
    // host gcc does: the objects are plain x86_64 code that uses no libc headers.
    if std::env::var_os("CC_x86_64_unknown_linux_musl").is_none() && !on_path("x86_64-linux-musl-gcc") {
        cmd.env("CC_x86_64_unknown_linux_musl", "gcc");
    }
    let how = format!(
        "`cargo build --release --locked` of `bench/peers/{key}`, outside the repository's cargo config"
    );
    Ok((timed(cmd, &format!("cargo build of bench/peers/{key}"))?, how))
}

/// Builds our release binary and the peers; returns (what, seconds, how).
pub fn build(root: &Path, runtimes: &mut [Runtime], ci: bool) -> Result<Vec<(String, f64, String)>, String> {
    let mut done = Vec::new();
    for rt in runtimes.iter_mut().filter(|r| r.skip.is_none()) {
        let result = match rt.key {
            "release" => {
                say("building bootstrap release");
                build_ours(root, None)
            }
            "test-function" => {
                say("building bootstrap's test function (the Cargo example test-function)");
                build_ours(root, Some("test-function"))
            }
            "official" | "blog" | "official-concurrent" => {
                say(format!("building peer {} (bench/peers/{})", rt.key, rt.key));
                build_peer(root, rt.key)
            }
            _ => continue,
        };
        match result {
            Ok((took, how)) => done.push((rt.label.to_owned(), took.as_secs_f64(), how)),
            Err(e) if ci => return Err(e),
            Err(e) => {
                say(format!("{}: SKIPPED: {e}", rt.label));
                rt.skip = Some(e);
            }
        }
    }
    if let Some(tiny) = runtimes.iter_mut().find(|r| r.key == "tiny" && r.skip.is_none()) {
        tiny.stale = stale(root, &tiny.path);
    }
    Ok(done)
}

/// Whether a binary is older than the newest file of the runtime's source.
fn stale(root: &Path, bin: &Path) -> bool {
    let built = match fs::metadata(bin).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(_) => return false,
    };
    let mut newest = None;
    let mut todo = vec![root.join("src")];
    todo.extend(["Cargo.toml", "Cargo.lock", ".cargo/config.toml"].map(|f| root.join(f)));
    while let Some(p) = todo.pop() {
        if let Ok(dir) = fs::read_dir(&p) {
            todo.extend(dir.flatten().map(|e| e.path()));
        } else if let Ok(t) = fs::metadata(&p).and_then(|m| m.modified()) {
            newest = newest.max(Some(t));
        }
    }
    newest.is_some_and(|n| n > built)
}

/// Size of a zip holding the binary as `bootstrap` (zip's default deflate, no extra fields).
pub fn zip_bytes(bin: &Path, out: &Path, key: &str) -> Result<u64, String> {
    let dir = out.join(format!("zip-{key}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::copy(bin, dir.join("bootstrap")).map_err(|e| format!("copy {}: {e}", bin.display()))?;
    let status = Command::new("zip")
        .current_dir(&dir)
        .args(["-q", "-X", "bootstrap.zip", "bootstrap"])
        .status()
        .map_err(|e| format!("zip: {e}"))?;
    if !status.success() {
        return Err(format!("zip failed ({status})"));
    }
    let len = fs::metadata(dir.join("bootstrap.zip"))
        .map_err(|e| e.to_string())?
        .len();
    let _ = fs::remove_dir_all(&dir);
    Ok(len)
}

/// First line a command prints, or "?" when it can't run.
pub fn first_line(dir: &Path, cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .current_dir(dir)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8(text).ok()?.lines().next().map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}

/// "Zip 3.0": the line of `zip -h` that names the version.
fn zip_version() -> String {
    Command::new("zip")
        .arg("-h")
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let line = text.lines().find(|l| l.starts_with("Zip "))?;
            Some(line.split(" (").next()?.to_owned())
        })
        .unwrap_or_else(|| "zip ?".into())
}

/// Versions of `names` in a Cargo.lock, as "name version" (several if locked twice).
fn locked(lock: &Path, names: &[&str]) -> Vec<String> {
    let text = fs::read_to_string(lock).unwrap_or_default();
    let mut found = Vec::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            current = Some(n.trim_matches('"'));
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), current) {
            if names.contains(&n) {
                found.push(format!("{n} {}", v.trim_matches('"')));
            }
            current = None;
        }
    }
    found
}

fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// Machine, toolchain and versions, as Markdown list items.
pub fn context(
    root: &Path,
    runtimes: &[Runtime],
    builds: &[(String, f64, String)],
    took: Duration,
    plan: &str,
) -> Vec<String> {
    let mut lines = Vec::new();
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|m| m.split_whitespace().next()?.parse::<u64>().ok())
        .map_or("?".into(), |kib| format!("{:.0} GiB", kib as f64 / 1048576.0));
    let os = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "?".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").map_or("?".into(), |k| k.trim().to_owned());
    lines.push(format!(
        "Date: {}",
        first_line(root, "date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    ));
    lines.push(format!(
        "Machine: {cpu}, {cores} cores, {mem} RAM; {os}, Linux {kernel}"
    ));
    let dirty = Command::new("git")
        .current_dir(root)
        .args([
            "status",
            "--porcelain",
            "--",
            "src",
            "Cargo.toml",
            "Cargo.lock",
            ".cargo",
        ])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    lines.push(format!(
        "Source: commit {}{}",
        first_line(root, "git", &["rev-parse", "--short", "HEAD"]),
        if dirty {
            " with uncommitted changes to the runtime"
        } else {
            ""
        }
    ));
    lines.push(format!(
        "Toolchain: {}; {}",
        first_line(root, "rustc", &["-V"]),
        first_line(root, "cargo", &["-V"])
    ));
    for (what, _, how) in builds {
        lines.push(format!("{what}: built by {how}"));
    }
    if let Some(tiny) = runtimes.iter().find(|r| r.key == "tiny" && r.skip.is_none()) {
        lines.push(format!(
            "bootstrap tiny: as found, built by `make tiny`{}; nightly here: {}",
            if tiny.stale {
                " (OLDER than the source: rerun `make tiny`)"
            } else {
                ""
            },
            first_line(root, "rustc", &["+nightly", "-V"])
        ));
    }
    lines.push(format!(
        "Tools: {}; {}; {}",
        first_line(root, "valgrind", &["--version"]),
        first_line(root, "strace", &["-V"]),
        zip_version()
    ));
    let crates = |lock: &str, names: &[&str]| locked(&root.join(lock), names).join(", ");
    lines.push(format!(
        "bootstrap: {}",
        crates("Cargo.lock", &["ureq", "serde_json"])
    ));
    lines.push(format!(
        "official peer (`bench/peers/official`): {}",
        crates(
            "bench/peers/official/Cargo.lock",
            &["lambda_runtime", "tokio", "hyper", "serde_json"]
        )
    ));
    lines.push(format!(
        "blog-style peer (`bench/peers/blog`): {}",
        crates("bench/peers/blog/Cargo.lock", &["ureq", "rustls", "ring"])
    ));
    if runtimes.iter().any(|r| r.key == "official-concurrent") {
        lines.push(format!(
            "official Managed Instances peer (`bench/peers/official-concurrent`, feature `concurrency-tokio`): {}",
            crates(
                "bench/peers/official-concurrent/Cargo.lock",
                &["lambda_runtime", "tokio", "hyper", "serde_json"]
            )
        ));
    }
    lines.push("Profile for every binary: `opt-level = \"z\"`, fat LTO, `codegen-units = 1`, `panic = \"abort\"`, `strip = true`, static musl".into());
    lines.push(format!("Method: {plan}"));
    if !builds.is_empty() {
        let b: Vec<String> = builds.iter().map(|(w, s, _)| format!("{w} {s:.0} s")).collect();
        lines.push(format!(
            "Build times in this run (near 0 s when up to date): {}",
            b.join(", ")
        ));
    }
    lines.push(format!("Whole run: {:.0} s", took.as_secs_f64()));
    lines
}
