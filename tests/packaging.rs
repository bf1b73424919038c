//! What `make` ships, checked the way it is built: every binary here comes
//! from the Makefile's own recipes (`make build`, `make tiny`, `make zip`),
//! built into `target/packaging` (the outer `cargo test` holds the lock on
//! the main target directory).
//!
//! - Size guards: release x86_64 and arm64 at most 720,000 bytes, tiny
//!   (nightly) at most 360,000. Sizes are deterministic, so they are tests.
//! - The binaries are static (no interpreter, no shared libraries) and carry
//!   no unwind tables (the release-only flags were applied).
//! - Each build serves the handler table against the fake Runtime API: the
//!   arm64 builds under `qemu-aarch64`; a release build still reports a
//!   panic on `/error` without unwind tables.
//! - `bootstrap.zip`: one entry `bootstrap` at the root, mode 0755, fixed
//!   date; the same bytes from two zips and from a rebuild from scratch.
//! - `sam validate --lint`, and `sam build` (no Docker) puts the very bytes
//!   of `make build` into `.aws-sam/build/BootstrapFunction/bootstrap`.
//! - `scripts/run-local.sh` (`make run`) against `cargo lambda watch`.
//!
//! A test whose tool is missing (qemu-aarch64, sam, cargo-lambda, a nightly
//! toolchain) prints a `SKIPPED` line and passes; with `BOOTSTRAP_STRICT=1`
//! (`make test`, CI) a missing tool fails it. The one exception is a missing
//! nightly toolchain, which `make setup` cannot install and the tiny guard is
//! only defined where one exists: that skips even when strict.

mod common;

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use common::{Run, assert_answered_once, assert_error_report, assert_row, handler_table, run_bin, step};
use fake_api::{Route, Script, Server};

const RELEASE_GUARD: u64 = 720_000;
const RELEASE_GOAL: u64 = 650_000;
const TINY_GUARD: u64 = 360_000;
const TINY_GOAL: u64 = 280_000;

/// A fat-LTO build (or std rebuilt for tiny) on two busy cores.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1200);
const TOOL_TIMEOUT: Duration = Duration::from_secs(600);

// ------------------------------------------------------------------ helpers

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn packaging_dir() -> PathBuf {
    root().join("target").join("packaging")
}

fn strict() -> bool {
    std::env::var_os("BOOTSTRAP_STRICT").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Straight to stderr: the harness swallows `println!` of passing tests.
fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `Some(path)` of a tool, or `None` after a SKIPPED line (or a failure when
/// strict).
fn require(test: &str, tool: &str, found: Option<PathBuf>, hint: &str) -> Option<PathBuf> {
    if found.is_some() {
        return found;
    }
    assert!(
        !strict(),
        "{test}: {tool} is required (BOOTSTRAP_STRICT is set); {hint}"
    );
    note(&format!("SKIPPED {test}: no {tool} ({hint})"));
    None
}

/// `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// A tool from the project's `.venv` (`make setup`), else from PATH.
fn venv_tool(name: &str) -> Option<PathBuf> {
    let local = root().join(".venv/bin").join(name);
    if is_executable(&local) {
        Some(local)
    } else {
        on_path(name)
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.starts_with("nightly"))
        })
}

/// A command with the environment of a fresh shell as far as builds go:
/// nothing of the outer make's jobserver, no RUSTFLAGS (which would replace
/// the size flags), and the packaging target directory.
fn quiet_command(program: impl Into<OsString>) -> Command {
    let mut command = Command::new(program.into());
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
        "FEATURES",
    ] {
        command.env_remove(name);
    }
    command
        .current_dir(root())
        .env("CARGO_TARGET_DIR", packaging_dir())
        .env("SAM_CLI_TELEMETRY", "0")
        .stdin(Stdio::null());
    command
}

/// Runs `command` to its end; panics with its output unless it succeeds.
/// After `timeout` its whole process group is killed (a build's compilers,
/// `make run`'s emulator), so nothing outlives a failed test. Returns stdout
/// and stderr together.
fn run_ok(what: &str, mut command: Command, timeout: Duration) -> String {
    let mut child = command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let stdout = common::drain(child.stdout.take());
    let stderr = common::drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let output = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "{what} failed ({}):\n{output}",
        status.map_or("timed out".to_owned(), |s| s.to_string())
    );
    output
}

/// `make ARGS` in the project root, with the packaging target directory.
fn make(args: &[&str]) -> String {
    let mut command = quiet_command("make");
    command
        .arg("-s")
        .arg("-f")
        .arg(root().join("Makefile"))
        .args(args);
    if let Some(cargo) = std::env::var_os("CARGO") {
        command.env("CARGO", cargo);
    }
    run_ok(&format!("make {}", args.join(" ")), command, BUILD_TIMEOUT)
}

/// One build at a time: they share `target/packaging`, and the determinism
/// test cleans part of it.
static BUILDS: Mutex<()> = Mutex::new(());

fn lock_builds() -> std::sync::MutexGuard<'static, ()> {
    BUILDS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    fn triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Arm64 => "aarch64-unknown-linux-musl",
        }
    }

    /// ELF `e_machine`.
    fn machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Arm64 => 183,
        }
    }
}

/// Where `make build` leaves a build.
fn build_output(arch: Arch, profile: &str) -> PathBuf {
    packaging_dir()
        .join(arch.triple())
        .join(profile)
        .join("bootstrap")
}

/// Builds with `make build` and copies the binary to `target/packaging/out`,
/// where later builds can't touch it.
fn make_build(arch: Arch, profile: &str, features: &str) -> PathBuf {
    let _guard = lock_builds();
    let mut args = vec![
        "build".to_owned(),
        format!("ARCH={}", arch.name()),
        format!("PROFILE={profile}"),
    ];
    if !features.is_empty() {
        args.push(format!("FEATURES={features}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    make(&args);
    let built = build_output(arch, profile);
    assert!(
        built.is_file(),
        "make build left no binary at {}",
        built.display()
    );
    let tag = if features.is_empty() {
        String::new()
    } else {
        format!("-{features}")
    };
    let copy = packaging_dir()
        .join("out")
        .join(format!("{profile}-{}{tag}", arch.name()))
        .join("bootstrap");
    fs::create_dir_all(copy.parent().unwrap()).unwrap();
    fs::copy(&built, &copy).unwrap();
    copy
}

/// Each build once per test run, shared by the tests that need it.
fn shared_build(arch: Arch, profile: &'static str, features: &'static str) -> PathBuf {
    type Cell = OnceLock<PathBuf>;
    static CELLS: [Cell; 5] = [const { OnceLock::new() }; 5];
    let index = match (arch, profile, features) {
        (Arch::X86_64, "release", "") => 0,
        (Arch::Arm64, "release", "") => 1,
        (Arch::X86_64, "tiny", "") => 2,
        (Arch::Arm64, "tiny", "") => 3,
        (Arch::X86_64, "release", "panic-probe") => 4,
        other => unreachable!("no cell for {other:?}"),
    };
    CELLS[index]
        .get_or_init(|| make_build(arch, profile, features))
        .clone()
}

fn release(arch: Arch) -> PathBuf {
    shared_build(arch, "release", "")
}

fn qemu(test: &str) -> Option<PathBuf> {
    require(
        test,
        "qemu-aarch64",
        on_path("qemu-aarch64"),
        "make setup installs Debian's qemu-user",
    )
}

/// A program that runs `binary`, under `runner` when given: an executable
/// script beside the binary, so the shared `run_bin` helper can start it.
fn runnable(binary: &Path, runner: Option<&Path>) -> PathBuf {
    let Some(runner) = runner else {
        return binary.to_owned();
    };
    let script = binary.with_file_name("run-under-qemu");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
            runner.display(),
            binary.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Every row of the built-in handler's table through the fake Runtime API,
/// on one keep-alive connection, each answered exactly once.
fn serves_handler_table(program: &Path, what: &str) {
    let rows = handler_table();
    let mut script = Script::new();
    for (i, row) in rows.iter().enumerate() {
        script = script.invoke(&format!("row-{i}"), &row.event);
    }
    let server = Server::start(script).expect("start the fake API");
    let run = run_bin(&program.to_owned(), &server, Some(&server.addr()), &[]);
    let context = format!("{what}\n{run}");
    assert_eq!(run.requests.len(), 2 * rows.len() + 1, "\n{context}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(step(&run.requests[2 * i]), "next", "\n{context}");
        assert_row(row, &run.requests[2 * i + 1], &context);
    }
    run.assert_failed();
    run.assert_one_connection();
    assert_answered_once(&run, &[]);
}

fn report_size(what: &str, bytes: u64, guard: u64, goal: u64) {
    let verdict = if bytes <= goal {
        "meets the goal".to_owned()
    } else {
        format!("{} over the goal", bytes - goal)
    };
    note(&format!(
        "size: {what}: {bytes} bytes (guard {guard}, goal {goal}: {verdict})"
    ));
}

fn check_size(what: &str, binary: &Path, guard: u64, goal: u64) {
    let bytes = fs::metadata(binary).unwrap().len();
    report_size(what, bytes, guard, goal);
    assert!(
        bytes <= guard,
        "{what} is {bytes} bytes, over its guard of {guard} bytes"
    );
}

// ---------------------------------------------------------------------- ELF

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Section names of an ELF64 little-endian file.
fn section_names(elf: &[u8]) -> Vec<String> {
    let shoff = u64_at(elf, 40) as usize;
    let shentsize = u16_at(elf, 58) as usize;
    let shnum = u16_at(elf, 60) as usize;
    let shstrndx = u16_at(elf, 62) as usize;
    if shoff == 0 || shnum == 0 {
        return Vec::new();
    }
    let header = |i: usize| &elf[shoff + i * shentsize..shoff + (i + 1) * shentsize];
    let strtab = u64_at(header(shstrndx), 24) as usize;
    (0..shnum)
        .map(|i| {
            let start = strtab + u32_at(header(i), 0) as usize;
            let end = start + elf[start..].iter().position(|&c| c == 0).unwrap();
            String::from_utf8_lossy(&elf[start..end]).into_owned()
        })
        .collect()
}

/// A static Linux executable for `arch`: no program interpreter and no
/// shared library (a static PIE has a dynamic section, but no DT_NEEDED),
/// stripped, and without unwind tables (the release-only flags).
fn assert_static_release_elf(binary: &Path, arch: Arch) {
    let elf = fs::read(binary).unwrap();
    let what = binary.display();
    assert_eq!(&elf[..4], b"\x7fELF", "{what} is not ELF");
    assert_eq!((elf[4], elf[5]), (2, 1), "{what}: not ELF64 little-endian");
    let kind = u16_at(&elf, 16);
    assert!(
        kind == 2 || kind == 3,
        "{what}: e_type {kind} is not an executable"
    );
    assert_eq!(u16_at(&elf, 18), arch.machine(), "{what}: wrong machine");
    let phoff = u64_at(&elf, 32) as usize;
    let phentsize = u16_at(&elf, 54) as usize;
    for i in 0..u16_at(&elf, 56) as usize {
        let ph = &elf[phoff + i * phentsize..];
        let p_type = u32_at(ph, 0);
        assert_ne!(p_type, 3, "{what} has a PT_INTERP: it is not static");
        if p_type == 2 {
            let (offset, size) = (u64_at(ph, 8) as usize, u64_at(ph, 32) as usize);
            for entry in elf[offset..offset + size].chunks_exact(16) {
                assert_ne!(u64_at(entry, 0), 1, "{what} needs a shared library (DT_NEEDED)");
            }
        }
    }
    let sections = section_names(&elf);
    for gone in [
        ".eh_frame",
        ".eh_frame_hdr",
        ".gcc_except_table",
        ".symtab",
        ".debug_info",
    ] {
        assert!(
            !sections.iter().any(|s| s == gone),
            "{what} has a {gone} section: {sections:?}"
        );
    }
}

// ---------------------------------------------------------------------- zip

/// CRC-32 (IEEE), as zip stores it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// The one entry of a zip, read from its central directory.
#[derive(Debug)]
struct Entry {
    name: String,
    made_on: u8,
    method: u16,
    dos_time: u16,
    dos_date: u16,
    crc: u32,
    size: u32,
    mode: u32,
    local_offset: u32,
}

fn only_entry(zip: &[u8]) -> Entry {
    assert!(zip.len() >= 22, "not a zip: {} bytes", zip.len());
    let end = &zip[zip.len() - 22..];
    assert_eq!(
        u32_at(end, 0),
        0x0605_4b50,
        "no end-of-central-directory record (or a comment)"
    );
    assert_eq!(u16_at(end, 10), 1, "the zip must hold exactly one entry");
    let cd = u32_at(end, 16) as usize;
    let header = &zip[cd..];
    assert_eq!(u32_at(header, 0), 0x0201_4b50, "bad central directory header");
    let name_len = u16_at(header, 28) as usize;
    assert_eq!(
        u16_at(header, 30),
        0,
        "the entry has extra fields (times, owners)"
    );
    assert_eq!(u16_at(header, 32), 0, "the entry has a comment");
    Entry {
        name: String::from_utf8_lossy(&header[46..46 + name_len]).into_owned(),
        made_on: header[5],
        method: u16_at(header, 10),
        dos_time: u16_at(header, 12),
        dos_date: u16_at(header, 14),
        crc: u32_at(header, 16),
        size: u32_at(header, 24),
        mode: u32_at(header, 38) >> 16,
        local_offset: u32_at(header, 42),
    }
}

fn make_zip(out: &Path) -> Vec<u8> {
    let _guard = lock_builds();
    make(&["zip", "ARCH=x86_64", &format!("ZIP_OUT={}", out.display())]);
    fs::read(out).unwrap()
}

// -------------------------------------------------------------------- tests

#[test]
fn release_x86_64_is_static_within_guard_and_serves() {
    let binary = release(Arch::X86_64);
    check_size("release x86_64", &binary, RELEASE_GUARD, RELEASE_GOAL);
    assert_static_release_elf(&binary, Arch::X86_64);
    serves_handler_table(&binary, "release x86_64");
}

/// Static for real: the binary serves the handler table from a root that
/// holds nothing but itself (no libc, no loader, no /etc), as in a bare
/// container. chroot needs root, which CI has.
#[test]
fn release_x86_64_serves_from_an_empty_root() {
    let test = "release_x86_64_serves_from_an_empty_root";
    let root_user = quiet_command("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout == b"0\n");
    let found = on_path("chroot").filter(|_| root_user);
    let Some(chroot) = require(test, "chroot as root", found, "run the tests as root") else {
        return;
    };
    let binary = release(Arch::X86_64);
    let empty_root = packaging_dir().join("empty-root");
    let _ = fs::remove_dir_all(&empty_root);
    fs::create_dir_all(&empty_root).unwrap();
    fs::copy(&binary, empty_root.join("bootstrap")).unwrap();
    let entries: Vec<_> = fs::read_dir(&empty_root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["bootstrap"], "the root must hold the binary alone");
    let script = packaging_dir().join("run-in-empty-root");
    let body = format!(
        "#!/bin/sh\nexec '{}' '{}' /bootstrap\n",
        chroot.display(),
        empty_root.display()
    );
    fs::write(&script, body).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    serves_handler_table(&script, "release x86_64 in an empty root");
}

#[test]
fn release_arm64_is_static_within_guard_and_serves_under_qemu() {
    let binary = release(Arch::Arm64);
    check_size("release arm64", &binary, RELEASE_GUARD, RELEASE_GOAL);
    assert_static_release_elf(&binary, Arch::Arm64);
    let Some(qemu) = qemu("release_arm64_serves_under_qemu") else {
        return;
    };
    serves_handler_table(
        &runnable(&binary, Some(&qemu)),
        "release arm64 under qemu-aarch64",
    );
}

/// No unwind tables, `panic = "abort"`: the panic hook still reports the
/// panic on `/error` before the process goes down.
#[test]
fn release_build_reports_panics_without_unwind_tables() {
    let binary = shared_build(Arch::X86_64, "release", "panic-probe");
    let server = Server::start(
        Script::new()
            .invoke("before", r#"{"name":"Ada"}"#)
            .invoke("boom-id", r#"{"panic":"boom"}"#)
            .invoke("never", r#"{"name":"Ada"}"#),
    )
    .expect("start the fake API");
    let run: Run = run_bin(&binary, &server, Some(&server.addr()), &[]);
    let steps: Vec<String> = run.steps();
    assert_eq!(
        steps,
        ["next", "response before", "next", "error boom-id"],
        "\n{run}"
    );
    run.assert_failed();
    let message = assert_error_report(run.only(Route::Error("boom-id")), "Runtime.Panic");
    assert!(message.contains("boom"), "{message:?}\n{run}");
}

#[test]
fn tiny_is_within_guard_and_serves() {
    if !has_nightly() {
        note("SKIPPED tiny_is_within_guard_and_serves: no nightly toolchain (make tiny needs one)");
        return;
    }
    let binary = shared_build(Arch::X86_64, "tiny", "");
    check_size("tiny x86_64", &binary, TINY_GUARD, TINY_GOAL);
    assert_static_release_elf(&binary, Arch::X86_64);
    serves_handler_table(&binary, "tiny x86_64");
}

#[test]
fn tiny_arm64_is_within_guard_and_serves_under_qemu() {
    if !has_nightly() {
        note("SKIPPED tiny_arm64_is_within_guard_and_serves_under_qemu: no nightly toolchain");
        return;
    }
    let binary = shared_build(Arch::Arm64, "tiny", "");
    check_size("tiny arm64", &binary, TINY_GUARD, TINY_GOAL);
    assert_static_release_elf(&binary, Arch::Arm64);
    let Some(qemu) = qemu("tiny_arm64_serves_under_qemu") else {
        return;
    };
    serves_handler_table(&runnable(&binary, Some(&qemu)), "tiny arm64 under qemu-aarch64");
}

/// `make zip`: one entry, `bootstrap`, at the root, mode 0755, made on Unix,
/// dated 1980-01-01 00:00, deflated; the same bytes for the same binary, and
/// for a rebuild of the binary from scratch.
#[test]
fn zip_is_deterministic_with_one_executable_entry() {
    let binary = release(Arch::X86_64);
    let dir = packaging_dir().join("zip");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();

    let first = make_zip(&dir.join("first.zip"));
    let entry = only_entry(&first);
    let bytes = fs::read(&binary).unwrap();
    assert_eq!(entry.name, "bootstrap", "{entry:?}");
    assert_eq!(entry.local_offset, 0, "{entry:?}");
    assert_eq!(
        entry.made_on, 3,
        "not made on Unix, so Lambda ignores the mode: {entry:?}"
    );
    assert_eq!(entry.mode, 0o100755, "mode {:o}: {entry:?}", entry.mode);
    assert_eq!(
        (entry.dos_date, entry.dos_time),
        (0x21, 0),
        "not 1980-01-01 00:00: {entry:?}"
    );
    assert_eq!(entry.method, 8, "not deflated: {entry:?}");
    assert_eq!(entry.size as usize, bytes.len(), "{entry:?}");
    assert_eq!(
        entry.crc,
        crc32(&bytes),
        "the entry is not the release binary: {entry:?}"
    );
    let local_name_len = u16_at(&first, 26) as usize;
    assert_eq!(&first[30..30 + local_name_len], b"bootstrap", "local header name");

    // Different mtime on the binary, same bytes: same zip.
    let built = build_output(Arch::X86_64, "release");
    fs::File::options()
        .append(true)
        .open(&built)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .unwrap();
    let second = make_zip(&dir.join("second.zip"));
    assert!(first == second, "two zips of the same binary differ");

    // The binary rebuilt from scratch (the crate cleaned, every flag the same).
    {
        let _guard = lock_builds();
        let mut clean = quiet_command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        clean.args([
            "clean",
            "-p",
            "bootstrap",
            "--release",
            "--target",
            Arch::X86_64.triple(),
        ]);
        run_ok("cargo clean -p bootstrap", clean, TOOL_TIMEOUT);
    }
    let rebuilt = make_zip(&dir.join("rebuilt.zip"));
    assert!(
        first == rebuilt,
        "the zip of a rebuilt binary differs: the build is not reproducible"
    );
    note(&format!(
        "size: bootstrap.zip (release x86_64): {} bytes",
        first.len()
    ));
}

#[test]
fn sam_template_validates() {
    let Some(sam) = require(
        "sam_template_validates",
        "sam",
        venv_tool("sam"),
        "make setup installs aws-sam-cli into .venv",
    ) else {
        return;
    };
    let mut validate = quiet_command(sam);
    validate.args(["validate", "--lint", "--template-file", "template.yaml"]);
    let output = run_ok("sam validate --lint", validate, TOOL_TIMEOUT);
    assert!(output.contains("is a valid SAM Template"), "{output}");
}

/// `sam build` (the makefile build method, no Docker) runs `make
/// build-BootstrapFunction`: its artifact is executable and byte for byte
/// what `make build` gives, for both architectures.
#[test]
fn sam_build_ships_the_make_build() {
    let Some(sam) = require(
        "sam_build_ships_the_make_build",
        "sam",
        venv_tool("sam"),
        "make setup installs aws-sam-cli into .venv",
    ) else {
        return;
    };
    for arch in [Arch::X86_64, Arch::Arm64] {
        let expected = fs::read(release(arch)).unwrap();
        let build_dir = packaging_dir().join(format!("sam-{}", arch.name()));
        let _ = fs::remove_dir_all(&build_dir);
        let output = {
            let _guard = lock_builds();
            let mut build = quiet_command(&sam);
            build
                .args([
                    "build",
                    "--build-in-source",
                    "--template-file",
                    "template.yaml",
                    "--build-dir",
                ])
                .arg(&build_dir)
                .args(["--parameter-overrides", &format!("Architecture={}", arch.name())])
                .env("ARCH", arch.name());
            if let Some(cargo) = std::env::var_os("CARGO") {
                build.env("CARGO", cargo);
            }
            run_ok(&format!("sam build ({})", arch.name()), build, BUILD_TIMEOUT)
        };
        let artifact = build_dir.join("BootstrapFunction/bootstrap");
        assert!(
            is_executable(&artifact),
            "{} is missing or not executable\n{output}",
            artifact.display()
        );
        let shipped = fs::read(&artifact).unwrap();
        assert!(
            shipped == expected,
            "sam build's {} bootstrap ({} bytes) is not make build's ({} bytes)\n{output}",
            arch.name(),
            shipped.len(),
            expected.len()
        );
        let template = fs::read_to_string(build_dir.join("template.yaml")).unwrap();
        assert!(template.contains("provided.al2023"), "{template}");
    }
}

/// README's first command after the build: `make run` runs this script.
#[test]
fn make_run_answers_every_sample_event() {
    let Some(cargo_lambda) = require(
        "make_run_answers_every_sample_event",
        "cargo-lambda",
        venv_tool("cargo-lambda"),
        "make setup installs it into .venv",
    ) else {
        return;
    };
    let Some(_curl) = require(
        "make_run_answers_every_sample_event",
        "curl",
        on_path("curl"),
        "make setup installs it",
    ) else {
        return;
    };
    let binary = release(Arch::X86_64);
    let mut run = quiet_command(root().join("scripts/run-local.sh"));
    run.env("BIN", &binary)
        .env("CARGO_LAMBDA", cargo_lambda)
        .env("LOG_DIR", packaging_dir().join("run"))
        .env_remove("PORT")
        .env_remove("GREETING");
    let output = run_ok("scripts/run-local.sh", run, TOOL_TIMEOUT);
    for expected in [
        r#"events/1-name.json  {"name":"Ada"}"#,
        r#"-> 200 {"message":"Hello, Ada!"}"#,
        r#"-> 200 {"message":"Hello, World!"}"#,
        r#""errorType":"Function.InvalidName""#,
        r#""errorType":"Runtime.InvalidEvent""#,
    ] {
        assert!(output.contains(expected), "no {expected:?} in:\n{output}");
    }
    let answers = output
        .lines()
        .filter(|l| l.trim_start().starts_with("-> "))
        .count();
    let events = fs::read_dir(root().join("events")).unwrap().count();
    assert_eq!(answers, events, "one answer per event:\n{output}");
}
