//! Graceful shutdown (feature `shutdown`): a function with a
//! `Function::SHUTDOWN` hook registers an internal extension before its
//! first `/next`, asks for the extension's next event (which never comes),
//! and on SIGTERM runs the hook once and exits; a function without one
//! registers nothing. The real binaries, built with the feature, against
//! the fake Runtime API (which serves the Extensions API too).

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::*;
use fake_api::{EXTENSION_ID, Invocation, Reply, Route, Script, Server};
use serde_json::json;

fn fake(script: Script) -> Server {
    Server::start(script).expect("start the fake API")
}

/// Registration before the first `/next`, the extension's poll, an
/// invocation served, then SIGTERM: the hook runs once, the process exits 0.
#[test]
fn a_hook_is_registered_and_runs_once_on_sigterm() {
    for env in [&[][..], &[("AWS_LAMBDA_MAX_CONCURRENCY", "2")]] {
        let (function, _) = shutdown_bins();
        let server = fake(Script::new().wait_when_empty());
        let mut started = start_bin(function, Some(&server.addr()), env);
        let polls = if env.is_empty() { 1 } else { 2 };
        assert!(server.wait_for_polls(polls, Duration::from_secs(10)), "{env:?}");
        server.push(Invocation::new("req-1", r#"{"echo":1}"#));
        let seen = server.wait_for_requests(4, Duration::from_secs(10));
        assert_eq!(seen.len(), 4, "{env:?}: {:?}", steps(&seen));
        started.signal("TERM");
        started.wait_for_exit();
        server.finish();
        let run = started.wait(&server);
        let context = format!("{env:?}\n{run}");
        assert!(
            run.status.success(),
            "the hook ends the process with 0\n{context}"
        );
        // Registered before anything else; its poll runs beside the loop.
        let steps = run.steps();
        assert_eq!(steps[0], "extension-register", "\n{context}");
        assert!(steps.contains(&"extension-next".to_owned()), "\n{context}");
        let register = run.only(Route::ExtensionRegister);
        assert!(
            register
                .header("Lambda-Extension-Name")
                .is_some_and(|n| !n.is_empty()),
            "\n{context}"
        );
        assert_eq!(json(register), json!({"events": []}), "\n{context}");
        let poll = run.only(Route::ExtensionNext);
        assert_eq!(
            poll.header("Lambda-Extension-Identifier"),
            Some(EXTENSION_ID),
            "\n{context}"
        );
        assert_eq!(
            json(run.only(Route::Response("req-1"))),
            answer("req-1", json!({"echo": 1}))
        );
        let ran = run.stderr.matches("the shutdown hook ran").count();
        assert_eq!(ran, 1, "\n{context}");
    }
}

/// A function without a hook, built with the feature all the same,
/// registers nothing: the conversation is the Runtime API's alone, and
/// SIGTERM ends the process as it would any program.
#[test]
fn without_a_hook_nothing_is_registered() {
    let (_, greeter) = shutdown_bins();
    let server = fake(Script::new().wait_when_empty());
    let mut started = start_bin(greeter, Some(&server.addr()), &[]);
    assert!(server.wait_for_polls(1, Duration::from_secs(10)));
    server.push(Invocation::new("req-1", r#"{"name":"Ada"}"#));
    assert_eq!(server.wait_for_requests(2, Duration::from_secs(10)).len(), 2);
    assert!(server.wait_for_polls(1, Duration::from_secs(10)));
    started.signal("TERM");
    started.wait_for_exit();
    server.finish();
    let run = started.wait(&server);
    // The last `/next` was still waiting: `finish` answered it.
    assert_eq!(run.steps(), ["next", "response req-1", "next"], "\n{run}");
    assert_eq!(run.status.signal(), Some(15), "ended by SIGTERM itself\n{run}");
    assert!(!run.stderr.contains("shutdown"), "\n{run}");
}

/// A registration the API refuses is a WARN line and no hook: the function
/// serves on, and SIGTERM ends it at once, as it would without the feature.
#[test]
fn a_refused_registration_leaves_sigterm_as_it_was() {
    let (function, _) = shutdown_bins();
    let server = fake(
        Script::new()
            .wait_when_empty()
            .on_extension_register(Reply::Status(404)),
    );
    let mut started = start_bin(function, Some(&server.addr()), &[]);
    assert!(server.wait_for_polls(1, Duration::from_secs(10)));
    server.push(Invocation::new("req-1", r#"{"echo":1}"#));
    assert_eq!(server.wait_for_requests(3, Duration::from_secs(10)).len(), 3);
    assert!(server.wait_for_polls(1, Duration::from_secs(10)));
    started.signal("TERM");
    started.wait_for_exit();
    server.finish();
    let run = started.wait(&server);
    assert_eq!(
        run.steps(),
        ["extension-register", "next", "response req-1", "next"],
        "\n{run}"
    );
    assert_eq!(run.status.signal(), Some(15), "ended by SIGTERM itself\n{run}");
    assert!(run.stderr.contains("not armed"), "\n{run}");
    assert!(!run.stderr.contains("the shutdown hook ran"), "\n{run}");
}
