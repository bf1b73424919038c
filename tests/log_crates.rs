//! The `tracing` and `log-facade` features: events of the `tracing` crate
//! and records of the `log` crate, from the function and its libraries,
//! come out as the runtime's own lines (JSON with the request id and
//! level, or text), filtered by `AWS_LAMBDA_LOG_LEVEL`. The test function,
//! built with the features, against the fake Runtime API.

mod common;

use common::*;
use fake_api::{Script, Server};
use serde_json::{Value, json};

fn fake(script: Script) -> Server {
    Server::start(script).expect("start the fake API")
}

/// One `tracing` event and one `log` record at each of INFO and WARN.
fn event() -> String {
    json!({
        "tracing": [["INFO", "tracing info"], ["WARN", "tracing warn"]],
        "log_crate": [["INFO", "log info"], ["WARN", "log warn"]],
    })
    .to_string()
}

fn json_lines(run: &Run) -> Vec<Value> {
    run.stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{run}")))
        .collect()
}

#[test]
fn records_of_both_crates_are_json_lines_with_the_request_id() {
    let server = fake(Script::new().invoke("req-1", event()));
    let run = run_bin(
        log_crates_bin(),
        &server,
        Some(&server.addr()),
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
    );
    assert_eq!(run.steps(), happy_steps(&["req-1"]), "\n{run}");
    let lines = json_lines(&run);
    let line = |message: &str| {
        lines
            .iter()
            .find(|l| l["message"] == message)
            .unwrap_or_else(|| panic!("no line {message:?}\n{run}"))
            .clone()
    };
    for (message, level) in [
        ("tracing info order=7", "INFO"),
        ("tracing warn order=7", "WARN"),
        ("log info", "INFO"),
        ("log warn", "WARN"),
    ] {
        let found = line(message);
        assert_eq!(
            (&found["level"], &found["requestId"]),
            (&json!(level), &json!("req-1")),
            "{found}"
        );
        assert!(found["timestamp"].is_string(), "{found}");
    }
}

#[test]
fn the_log_level_filters_both_crates() {
    let server = fake(Script::new().invoke("req-1", event()));
    let run = run_bin(
        log_crates_bin(),
        &server,
        Some(&server.addr()),
        &[("AWS_LAMBDA_LOG_LEVEL", "WARN")],
    );
    assert!(
        run.stderr.contains("\treq-1\tWARN\ttracing warn order=7"),
        "\n{run}"
    );
    assert!(run.stderr.contains("\treq-1\tWARN\tlog warn"), "\n{run}");
    assert!(!run.stderr.contains("info"), "INFO is below WARN\n{run}");
}
