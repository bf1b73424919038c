//! End to end against an emulator nobody here wrote: `cargo lambda watch
//! --only-lambda-apis` serves the Runtime API under `/.rt` and the invoke
//! API beside it; the real `bootstrap` connects with the URL form of
//! `AWS_LAMBDA_RUNTIME_API`, and events go through
//! `POST /2015-03-31/functions/_/invocations` as a caller would send them.
//!
//! - the runtime's table and Managed Instances, with the runtime tests' own
//!   function, so they hold whatever function the project has;
//! - a streamed answer, arriving piece by piece;
//! - every function of the project (`src/handler.rs` and each example)
//!   against its sample events: each answered, and, where an
//!   `expected/<event file name>` sits beside the events, answered so.
//!
//! The emulator is installed on first use into a project-local, git-ignored
//! virtualenv (`.venv`; `pip install --no-deps cargo-lambda` ships the
//! binary). Without python3 or pip the tests print a skip line, unless
//! `BOOTSTRAP_STRICT` is set (`make test` and CI set it): then a missing
//! tool is a failure. Slow and networked: `cargo test` skips them, `make
//! test` runs them (`--include-ignored`).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::emulator::{Emulator, INVOKE, cargo_lambda, root, shown};
use common::{Expect, bootstrap_bin, build_example, cargo, runtime_table, shutdown_bins, test_function_bin};
use fake_api::client;
use serde_json::{Value, json};

#[test]
#[ignore = "slow, needs cargo-lambda: make test runs it"]
fn runtime_table_through_cargo_lambda() {
    let Some(cargo_lambda) = cargo_lambda("runtime_table_through_cargo_lambda") else {
        return;
    };
    let mut emulator = Emulator::start(&cargo_lambda, test_function_bin(), &[]);
    let mut failures = Vec::new();
    for row in runtime_table() {
        // Without a runtime every invoke would wait out its timeout.
        if !emulator.runtime.running() {
            failures.push(format!("the runtime exited before row {:?}", row.label));
            break;
        }
        let answer = match emulator.invoke(&row.event) {
            Ok(answer) => answer,
            Err(e) => {
                failures.push(format!("row {:?}: {e}", row.label));
                break; // A stuck emulator or runtime: don't wait once per row.
            }
        };
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let ok = match &row.expect {
            // The emulator makes up the request id.
            Expect::Answer(extra) => {
                let mut expected = extra.clone();
                expected["requestId"] = body["requestId"].clone();
                answer.status == 200 && body["requestId"].is_string() && body == expected
            }
            // cargo lambda passes the body on as the runtime wrote it.
            Expect::Error { error_type, .. } => {
                answer.status == 500 && body["errorType"] == *error_type && body["errorMessage"].is_string()
            }
        };
        if !ok {
            failures.push(format!(
                "row {:?}: expected {:?}, got {}",
                row.label,
                row.expect,
                shown(&answer)
            ));
        }
    }
    // The emulator long-polls `/next`: a correct runtime is still waiting.
    if !emulator.runtime.running() {
        failures.push("the runtime exited while the emulator was up".to_owned());
    }
    let logs = emulator.stop();
    assert!(
        failures.is_empty(),
        "through cargo lambda:\n{}\n{logs}",
        failures.join("\n")
    );
}

/// cargo lambda hands concurrent invokes to concurrent `/next` polls of one
/// process: three invocations that can only finish together do.
#[test]
#[ignore = "slow, needs cargo-lambda: make test runs it"]
fn managed_instances_through_cargo_lambda() {
    let Some(cargo_lambda) = cargo_lambda("managed_instances_through_cargo_lambda") else {
        return;
    };
    let emulator = Emulator::start(
        &cargo_lambda,
        test_function_bin(),
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "3")],
    );
    let answers: Vec<Result<client::Response, String>> = thread::scope(|scope| {
        let invokes: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| emulator.invoke(br#"{"barrier":3}"#)))
            .collect();
        invokes.into_iter().map(|i| i.join().unwrap()).collect()
    });
    let logs = emulator.stop();
    for answer in answers {
        let answer = answer.unwrap_or_else(|e| panic!("{e}\n{logs}"));
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        assert_eq!(
            (answer.status, &body["inside"]),
            (200, &json!(3)),
            "{}\n{logs}",
            shown(&answer)
        );
    }
}

/// cargo lambda passes a streamed function URL answer on as it comes (it
/// needs the prelude: it has no plain streams, and it drops the error
/// trailers): the first event arrives well before the last.
#[test]
#[ignore = "slow, needs cargo-lambda: make test runs it"]
fn a_stream_through_cargo_lambda() {
    let Some(cargo_lambda) = cargo_lambda("a_stream_through_cargo_lambda") else {
        return;
    };
    let emulator = Emulator::start(&cargo_lambda, test_function_bin(), &[]);
    let event = json!({"stream": {
        "http": {"status": 201, "headers": [["content-type", "text/event-stream"]]},
        "chunks": ["data: 1\n\n", "data: 2\n\n"],
        "pause_ms": 700,
    }})
    .to_string();
    let mut socket = TcpStream::connect(&emulator.address).unwrap();
    socket.set_read_timeout(Some(INVOKE)).unwrap();
    write!(
        socket,
        "POST /2015-03-31/functions/_/invocations HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
        emulator.address,
        event.len()
    )
    .unwrap();
    let started = Instant::now();
    let (mut received, mut seen) = (Vec::new(), Vec::new());
    let mut piece = [0; 4096];
    while let Ok(n @ 1..) = socket.read(&mut piece) {
        received.extend_from_slice(&piece[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        for marker in ["data: 1", "data: 2"] {
            if text.contains(marker) && !seen.iter().any(|(m, _)| *m == marker) {
                seen.push((marker, started.elapsed()));
            }
        }
    }
    let logs = emulator.stop();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}\n{logs}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{text}\n{logs}"
    );
    assert_eq!(seen.len(), 2, "{text}\n{logs}");
    assert!(
        seen[1].1 - seen[0].1 >= Duration::from_millis(400),
        "the first event came with the last: {seen:?}\n{logs}"
    );
}

/// A function that opened a stream (a function URL's, with its prelude) but
/// returned a value before writing a byte is answered
/// `Runtime.InvalidResponse` on `/error`, which cargo lambda passes on.
#[test]
#[ignore = "slow, needs cargo-lambda: make test runs it"]
fn a_value_beside_a_stream_through_cargo_lambda() {
    let Some(cargo_lambda) = cargo_lambda("a_value_beside_a_stream_through_cargo_lambda") else {
        return;
    };
    let emulator = Emulator::start(&cargo_lambda, test_function_bin(), &[]);
    let event = json!({"stream": {"http": {"status": 200}, "also_return": true}});
    let answer = emulator.invoke(event.to_string().as_bytes());
    let logs = emulator.stop();
    let answer = answer.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    assert_eq!(
        (answer.status, &body["errorType"]),
        (500, &json!("Runtime.InvalidResponse")),
        "{}\n{logs}",
        shown(&answer)
    );
}

/// A shutdown hook through cargo lambda, which serves the Extensions API:
/// the extension registers, the function serves, and SIGTERM runs the hook.
#[test]
#[ignore = "slow, needs cargo-lambda: make test runs it"]
fn a_shutdown_hook_through_cargo_lambda() {
    let Some(cargo_lambda) = cargo_lambda("a_shutdown_hook_through_cargo_lambda") else {
        return;
    };
    let (function, _) = shutdown_bins();
    let mut emulator = Emulator::start(&cargo_lambda, function, &[]);
    let answer = emulator.invoke(br#"{"echo":"before"}"#);
    let status = emulator.runtime.terminate();
    let logs = emulator.stop();
    let answer = answer.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    assert_eq!(answer.status, 200, "{}\n{logs}", shown(&answer));
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{logs}");
    assert!(!logs.contains("not armed"), "{logs}");
    assert_eq!(logs.matches("the shutdown hook ran").count(), 1, "{logs}");
}

/// The functions of this project: the default one and each Cargo example, with
/// the folder of its sample events.
fn functions() -> Vec<(String, PathBuf, PathBuf)> {
    let mut functions = vec![(
        "src/handler.rs".to_owned(),
        bootstrap_bin(),
        root().join("events"),
    )];
    // The Cargo examples; an example crate of its own (the AWS SDK's,
    // which needs a DynamoDB endpoint) has a suite of its own.
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .map(|dir| dir.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    examples.retain(|example| example.join("main.rs").is_file());
    examples.sort();
    for example in examples {
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        functions.push((
            format!("examples/{name}"),
            build_example(&name),
            example.join("events"),
        ));
    }
    functions
}

/// Whether `answer` is what `expected` (an `expected/<event>` file) says
/// a caller must see: judged by scripts/same-answer.py, as `make run`
/// judges it (the same JSON, an error as cargo lambda's 500; or the same
/// text). `Some(why)` when it is not.
fn check(expected: &Path, answer: &client::Response) -> Option<String> {
    static ANSWERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = ANSWERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let answer_file = root().join("target").join(format!("emulator-answer-{n}"));
    std::fs::write(&answer_file, &answer.body).unwrap();
    let judged = Command::new("python3")
        .arg(root().join("scripts/same-answer.py"))
        .arg(expected)
        .arg(answer.status.to_string())
        .arg(&answer_file)
        .status();
    let _ = std::fs::remove_file(&answer_file);
    match judged {
        Ok(status) if status.success() => None,
        Ok(_) => Some(format!(
            "expected {}, got {}",
            String::from_utf8_lossy(&std::fs::read(expected).unwrap_or_default()).trim_end(),
            shown(answer)
        )),
        Err(e) => Some(format!("cannot run scripts/same-answer.py: {e}")),
    }
}

#[test]
#[ignore = "slow, needs cargo-lambda: make test runs it"]
fn every_function_answers_its_sample_events() {
    let Some(cargo_lambda) = cargo_lambda("every_function_answers_its_sample_events") else {
        return;
    };
    let mut failures = Vec::new();
    for (function, bin, events) in functions() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&events)
            .map(|dir| {
                dir.flatten()
                    .map(|entry| entry.path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        assert!(
            !files.is_empty(),
            "{function}: no sample events in {}",
            events.display()
        );
        let mut emulator = Emulator::start(&cargo_lambda, &bin, &[]);
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let label = format!("{function}: {name}");
            if !emulator.runtime.running() {
                failures.push(format!("{label}: the runtime had exited"));
                break;
            }
            let event = std::fs::read(&file).unwrap();
            match emulator.invoke(&event) {
                Ok(answer) => {
                    // No expected answer: any answer will do, a function error included.
                    let answered = matches!(answer.status, 200 | 500);
                    if !answered {
                        failures.push(format!("{label}: {}", shown(&answer)));
                    }
                    let expected = events.join("expected").join(&name);
                    if expected.is_file() {
                        failures.extend(check(&expected, &answer).map(|why| format!("{label}: {why}")));
                    } else {
                        let _ = writeln!(
                            std::io::stderr(),
                            "NOT CHECKED {label}: no expected/{name} beside it"
                        );
                    }
                }
                Err(e) => {
                    failures.push(format!("{label}: {e}"));
                    break;
                }
            }
        }
        let logs = emulator.stop();
        if !failures.is_empty() {
            panic!("through cargo lambda:\n{}\n{logs}", failures.join("\n"));
        }
    }
}

/// The fenced block that follows the line `marker` begins with, in README's
/// section "Use it from your own crate".
fn readme_block(readme: &str, marker: &str) -> String {
    let section = readme
        .split("\n## Use it from your own crate\n")
        .nth(1)
        .expect("README has a section \"Use it from your own crate\"");
    let after = section
        .lines()
        .skip_while(|line| !line.starts_with(marker))
        .skip(1)
        .skip_while(|line| !line.starts_with("```"));
    let mut lines = after.skip(1);
    let block: Vec<&str> = lines
        .by_ref()
        .take_while(|line| !line.starts_with("```"))
        .collect();
    assert!(!block.is_empty(), "README: no block after {marker:?}");
    block.join("\n") + "\n"
}

/// README's "Use it from your own crate", done as a user would: its
/// `Cargo.toml`, `.cargo/config.toml` and `src/main.rs` in a crate outside
/// the repository that depends on the runtime by path, built as a release
/// musl binary with that profile, answering through cargo lambda.
#[test]
#[ignore = "slow, needs cargo-lambda: make test runs it"]
fn a_crate_of_its_own_answers_through_cargo_lambda() {
    let Some(cargo_lambda) = cargo_lambda("a_crate_of_its_own_answers_through_cargo_lambda") else {
        return;
    };
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let manifest = readme_block(&readme, "`Cargo.toml`:");
    let dependency = r#"lambda-bootstrap = { path = "../bootstrap" }"#;
    assert!(manifest.contains(dependency), "README's Cargo.toml:\n{manifest}");
    let manifest = manifest.replace(
        dependency,
        &format!(
            "lambda-bootstrap = {{ path = {:?} }}",
            root().display().to_string()
        ),
    );
    let crate_dir = std::env::temp_dir().join("lambda-bootstrap-own-crate");
    let _ = std::fs::remove_dir_all(&crate_dir);
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    std::fs::create_dir_all(crate_dir.join(".cargo")).unwrap();
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(
        crate_dir.join(".cargo/config.toml"),
        readme_block(&readme, "`.cargo/config.toml`"),
    )
    .unwrap();
    let main = readme_block(&readme, "`src/main.rs`, complete")
        + "\n"
        + &readme_block(&readme, "`src/main.rs`, continued");
    std::fs::write(crate_dir.join("src/main.rs"), main).unwrap();
    // The runtime's own lock: the same versions, nothing new to fetch.
    std::fs::copy(root().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();

    // Outside the repository, its `.cargo/config.toml` does not apply: the
    // crate's own does. The build output is kept under target/ between runs.
    let target_dir = root().join("target").join("own-crate");
    let musl = ["--target", "x86_64-unknown-linux-musl"];
    cargo(
        &crate_dir,
        &[&["build", "--release"][..], &musl].concat(),
        &target_dir,
    );
    let binary = target_dir.join("x86_64-unknown-linux-musl/release/orders");
    // README's unit test, as `cargo test` runs it in that crate.
    let tested = cargo(&crate_dir, &[&["test"][..], &musl].concat(), &target_dir);
    assert!(
        tested.contains("test tests::an_order_is_totalled ... ok"),
        "README's unit test did not run:\n{tested}"
    );

    let emulator = Emulator::start(&cargo_lambda, &binary, &[]);
    let receipt = emulator.invoke(br#"{"id":7,"items":[2,3]}"#);
    let wrong = emulator.invoke(br#"{"id":"seven"}"#);
    let logs = emulator.stop();
    let receipt = receipt.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    let body: Value = serde_json::from_slice(&receipt.body).unwrap_or(Value::Null);
    assert_eq!(
        (receipt.status, body),
        (200, json!({"id": 7, "total": 5})),
        "{}\n{logs}",
        shown(&receipt)
    );
    let wrong = wrong.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    let body: Value = serde_json::from_slice(&wrong.body).unwrap_or(Value::Null);
    assert_eq!(
        (wrong.status, &body["errorType"]),
        (500, &json!("Runtime.InvalidEvent")),
        "{}\n{logs}",
        shown(&wrong)
    );
    assert!(logs.contains("order 7: 2 items"), "no log line:\n{logs}");
    let _ = std::fs::remove_dir_all(&crate_dir);
}
