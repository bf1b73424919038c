//! `make build PANIC=unwind`: the runtime catches a panic per invocation,
//! answers it `Runtime.Panic` (with its message and location), and goes on
//! serving, in Lambda's classic mode and under Managed Instances. The real
//! binary is the test function built with `panic = "unwind"`, against the
//! fake Runtime API.

mod common;

use std::time::Duration;

use common::*;
use fake_api::{Invocation, Route, Script, Server};
use serde_json::json;

fn fake(script: Script) -> Server {
    Server::start(script).expect("start the fake API")
}

fn run_unwinding(server: &Server, env: &[(&str, &str)]) -> Run {
    run_bin(unwind_test_function_bin(), server, Some(&server.addr()), env)
}

const ADA: &str = r#"{"echo":"Ada"}"#;

/// Each kind of panic is that invocation's `Runtime.Panic`, and the next
/// invocation is served by the same process.
#[test]
fn a_caught_panic_answers_its_invocation_and_the_loop_goes_on() {
    let panics = [
        ("plain", json!({"panic": "boom"})),
        (
            "on-thread",
            json!({"on_thread": true, "panic": "boom on a thread"}),
        ),
        ("in-decode", json!({"panic_in_decode": true})),
        // The function catches a panic of its own first: that one is not
        // what the invocation reports.
        (
            "caught-first",
            json!({"caught_panic": true, "on_thread": true, "panic": "boom after a caught one"}),
        ),
    ];
    let mut script = Script::new();
    for (id, event) in &panics {
        script = script
            .invoke(id, event.to_string())
            .invoke(&format!("after-{id}"), ADA);
    }
    let server = fake(script);
    let run = run_unwinding(&server, &[]);
    let mut expected = Vec::new();
    for (id, _) in &panics {
        expected.extend(["next".to_owned(), format!("error {id}")]);
        expected.extend(["next".to_owned(), format!("response after-{id}")]);
    }
    expected.push("next".to_owned());
    assert_eq!(run.steps(), expected, "\n{run}");
    run.assert_one_connection();
    assert_answered_once(&run, &[]);
    for (id, _) in &panics {
        let message = assert_error_report(run.only(Route::Error(id)), "Runtime.Panic");
        assert!(
            message.contains("panic") || message.contains("boom"),
            "{id}: {message}\n{run}"
        );
        assert!(
            message.contains("function.rs:"),
            "{id}: no location in {message:?}"
        );
        assert!(
            !message.contains("caught by the function"),
            "{id}: another panic's description in {message:?}"
        );
        assert_eq!(
            json(run.only(Route::Response(&format!("after-{id}")))),
            answer(&format!("after-{id}"), json!({"echo": "Ada"}))
        );
    }
    assert!(run.stderr.contains("ERROR\tpanicked: boom"), "\n{run}");
    let message = assert_error_report(run.only(Route::Error("caught-first")), "Runtime.Panic");
    assert!(message.contains("boom after a caught one"), "{message}\n{run}");
}

/// A panic mid-stream ends the stream with the `Runtime.Panic` trailers,
/// and the loop goes on.
#[test]
fn a_caught_panic_mid_stream_is_in_the_trailers() {
    let event = json!({"stream": {"chunks": ["partial"], "panic": "boom"}}).to_string();
    let server = fake(Script::new().invoke("s-1", &event).invoke("after", ADA));
    let run = run_unwinding(&server, &[]);
    assert_eq!(run.steps(), happy_steps(&["s-1", "after"]), "\n{run}");
    let answer = run.only(Route::Response("s-1"));
    assert_eq!(answer.body, b"partial");
    let error_type = answer
        .trailers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Lambda-Runtime-Function-Error-Type"));
    assert_eq!(
        error_type.map(|(_, value)| value.as_str()),
        Some("Runtime.Panic"),
        "\n{run}"
    );
}

/// Under Managed Instances a panic fails only its own invocation: the
/// other worker's goes on, and both workers serve again.
#[test]
fn a_caught_panic_under_managed_instances_fails_only_its_invocation() {
    let server = fake(Script::new().wait_when_empty());
    let started = start_bin(
        unwind_test_function_bin(),
        Some(&server.addr()),
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "2")],
    );
    assert!(server.wait_for_polls(2, Duration::from_secs(10)));
    server.push(Invocation::new("slow", r#"{"sleep_ms":500,"echo":"slow"}"#));
    server.push(Invocation::new("boom", r#"{"on_thread":true,"panic":"boom"}"#));
    // Both answered, then both workers poll again: nothing stopped.
    let answered = server.wait_for_requests(4, Duration::from_secs(10));
    assert_eq!(answered.len(), 4, "{:?}", steps(&answered));
    assert!(
        server.wait_for_polls(2, Duration::from_secs(10)),
        "the workers poll again"
    );
    server.push(Invocation::new("after", ADA));
    assert!(server.wait_for_requests(6, Duration::from_secs(10)).len() >= 6);
    server.finish();
    let run = started.wait(&server);
    assert_answered_once(&run, &[]);
    assert_error_report(run.only(Route::Error("boom")), "Runtime.Panic");
    assert_eq!(
        json(run.only(Route::Response("slow"))),
        answer("slow", json!({"echo": "slow"}))
    );
    assert_eq!(
        json(run.only(Route::Response("after"))),
        answer("after", json!({"echo": "Ada"}))
    );
}

/// A panic in `init` can't be served past: reported, then the process ends.
#[test]
fn a_caught_panic_in_init_is_reported_and_ends_the_process() {
    let server = fake(Script::new().invoke("never", ADA));
    let run = run_unwinding(&server, &[("PANIC_PROBE_INIT", "no config")]);
    assert_eq!(run.steps(), ["init-error"], "\n{run}");
    run.assert_failed();
    let message = assert_error_report(&run.requests[0], "Runtime.Panic");
    assert!(message.contains("no config"), "{message}");
}
