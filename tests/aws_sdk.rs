//! The AWS SDK example (`examples/dynamodb`, a crate of its own) end to
//! end: built by `make build EXAMPLE=dynamodb` for both architectures
//! (installing the C compilers its TLS needs), run under `cargo lambda
//! watch` against moto's DynamoDB server, a real local AWS endpoint this
//! test starts: the function writes a note and reads it back, the test
//! finds it in the table with a request of its own, the SDK's `tracing`
//! records come out as the runtime's lines, and a call that fails is
//! answered with the service's error code as its name. The arm64 build runs
//! under qemu-aarch64.
//!
//! Slow (two clean SDK builds take minutes), so plain `cargo test` skips
//! it; `make test` runs it, with moto in `.venv-moto` (`make setup-test`).
//! Without moto, cargo-lambda or qemu it prints a skip line, unless
//! `BOOTSTRAP_STRICT` is set: then it fails.

mod common;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::emulator::{Emulator, Process, cargo_lambda, root, shown};
use common::{drain, note, on_path, require};
use fake_api::client;
use serde_json::{Value, json};

/// Two clean builds of the SDK on two cores.
const BUILD: Duration = Duration::from_secs(1500);

/// moto's server on a free port, with its DynamoDB API.
struct Moto {
    _server: Process,
    endpoint: String,
}

impl Moto {
    fn start(python: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Command::new(python);
        server.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut server = Process::spawn("moto", server);
        let address = format!("127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = client::request(&address, "GET", "/moto-api/", &[], b"", Duration::from_secs(5));
            if ready.is_ok_and(|answer| answer.status == 200) {
                break;
            }
            if !server.running() || started.elapsed() > Duration::from_secs(60) {
                panic!("moto never answered on {address}\n{}", server.stop());
            }
            thread::sleep(Duration::from_millis(100));
        }
        Moto {
            _server: server,
            endpoint: format!("http://{address}"),
        }
    }

    /// One DynamoDB call (`operation`, e.g. `GetItem`), as the SDK sends it
    /// but unsigned: moto reads only the region from the credential scope.
    fn dynamodb(&self, operation: &str, body: Value) -> Value {
        let target = format!("DynamoDB_20120810.{operation}");
        let headers = [
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.0"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ];
        let address = self.endpoint.trim_start_matches("http://");
        let answer = client::request(
            address,
            "POST",
            "/",
            &headers,
            body.to_string().as_bytes(),
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("{operation}: {e}"));
        assert_eq!(answer.status, 200, "{operation}: {}", shown(&answer));
        serde_json::from_slice(&answer.body).unwrap()
    }
}

/// `make build EXAMPLE=dynamodb ARCH=<arch>` into `target/sdk`; the binary.
fn build(arch: &str) -> PathBuf {
    let target_dir = root().join("target").join("sdk");
    let mut make = Command::new("make");
    common::fresh_build_env(&mut make);
    let mut make = make
        .arg("-s")
        .arg("-f")
        .arg(root().join("Makefile"))
        .args(["build", "EXAMPLE=dynamodb", &format!("ARCH={arch}")])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run make");
    let log = drain(make.stderr.take());
    let started = Instant::now();
    let status = fake_api::wait_child(&mut make, BUILD);
    let log = log.join().unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "make build EXAMPLE=dynamodb ARCH={arch} failed ({status:?}):\n{log}"
    );
    let triple = if arch == "arm64" { "aarch64" } else { "x86_64" };
    let binary = target_dir.join(format!("{triple}-unknown-linux-musl/release/dynamodb"));
    let bytes = std::fs::metadata(&binary).unwrap().len();
    note(&format!(
        "size: examples/dynamodb {arch}: {bytes} bytes, built in {:?}",
        started.elapsed()
    ));
    binary
}

/// A program that runs `binary` under qemu-aarch64.
fn under_qemu(qemu: &Path, binary: &Path) -> PathBuf {
    let script = binary.with_file_name("dynamodb-under-qemu");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
            qemu.display(),
            binary.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The function `program` (either architecture's) against moto, through
/// cargo lambda: a note written and read back, found in the table, the
/// SDK's records as JSON lines with the request id; and, with a table
/// that does not exist, an error named after the service's code.
fn writes_and_reads_back(test: &str, program: &Path) {
    let Some(cargo_lambda) = cargo_lambda(test) else {
        return;
    };
    let python = root().join(".venv-moto/bin/python");
    let Some(python) = require(
        test,
        "moto",
        Some(python).filter(|p| p.is_file()),
        "make setup-test installs it into .venv-moto",
    ) else {
        return;
    };
    let moto = Moto::start(&python);
    let table = json!({
        "TableName": "notes",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    moto.dynamodb("CreateTable", table);
    let aws = |table: &'static str| {
        [
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("TABLE_NAME", table.to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_owned()),
        ]
    };
    let env = aws("notes");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let emulator = Emulator::start(&cargo_lambda, program, &env);
    let note_event = json!({"id": "note-1", "text": "two apples"}).to_string();
    let answer = emulator.invoke(note_event.as_bytes());
    let logs = emulator.stop();
    let answer = answer.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    assert_eq!(
        (answer.status, &body),
        (200, &json!({"id": "note-1", "text": "two apples"})),
        "{}\n{logs}",
        shown(&answer)
    );
    let stored = moto.dynamodb(
        "GetItem",
        json!({"TableName": "notes", "Key": {"id": {"S": "note-1"}}}),
    );
    assert_eq!(stored["Item"]["text"], json!({"S": "two apples"}), "{stored}");
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let request_id = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("note note-1 stored"))
        })
        .and_then(|l| l["requestId"].as_str())
        .unwrap_or_else(|| panic!("no INFO line of the function's\n{logs}"));
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "DEBUG" && l["requestId"] == request_id),
        "no DEBUG line of the SDK's with the request id\n{logs}"
    );

    let env = aws("no-such-table");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let emulator = Emulator::start(&cargo_lambda, program, &env);
    let answer = emulator.invoke(note_event.as_bytes());
    let logs = emulator.stop();
    let answer = answer.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    assert_eq!(
        (answer.status, &body["errorType"]),
        (500, &json!("ResourceNotFoundException")),
        "{}\n{logs}",
        shown(&answer)
    );
}

#[test]
#[ignore = "slow, needs moto and cargo-lambda: make test runs it"]
fn the_sdk_example_writes_to_dynamodb_and_reads_back() {
    let test = "the_sdk_example_writes_to_dynamodb_and_reads_back";
    writes_and_reads_back(test, &build("x86_64"));
}

#[test]
#[ignore = "slow, needs moto, cargo-lambda and qemu: make test runs it"]
fn the_sdk_example_for_arm64_does_the_same_under_qemu() {
    let test = "the_sdk_example_for_arm64_does_the_same_under_qemu";
    let binary = build("arm64");
    let Some(qemu) = require(
        test,
        "qemu-aarch64",
        on_path("qemu-aarch64"),
        "make setup-test installs qemu-user",
    ) else {
        return;
    };
    writes_and_reads_back(test, &under_qemu(&qemu, &binary));
}
