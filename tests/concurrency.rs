//! Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY=N` the real
//! binary (with the runtime tests' own function) serves N invocations at
//! once, each worker on its own connection, and when the environment breaks
//! it stops taking work but lets the answers in flight go out.
//!
//! The order of requests across workers is not fixed, so these tests assert
//! what is: which invocations were served, that each was answered exactly
//! once, on which connection, and what came after a fault.

mod common;

use std::time::Duration;

use common::*;
use fake_api::{Invocation, Reply, Route, Script, Server};
use serde_json::{Value, json};

fn fake(script: Script) -> Server {
    Server::start(script).expect("start the fake API")
}

fn concurrency(n: &str) -> [(&str, &str); 1] {
    [("AWS_LAMBDA_MAX_CONCURRENCY", n)]
}

/// The route of every request, as a sorted list of short lines.
fn sorted_steps(run: &Run) -> Vec<String> {
    let mut steps = run.steps();
    steps.sort();
    steps
}

/// A function that waits until four invocations are inside it at once can
/// only finish if four run in parallel.
#[test]
fn n_invocations_run_at_once_each_on_its_own_connection() {
    let ids = ["a", "b", "c", "d"];
    let script = ids
        .iter()
        .fold(Script::new(), |s, id| s.invoke(id, r#"{"barrier":4}"#));
    let server = fake(script);
    let run = run(&server, &concurrency("4"));
    assert_answered_once(&run, &[]);
    for id in ids {
        let posted = run.only(Route::Response(id));
        assert_eq!(json(posted), answer(id, json!({"inside": 4})), "\n{run}");
        let next = run
            .requests
            .iter()
            .find(|r| r.served.as_deref() == Some(id))
            .unwrap();
        assert_eq!(
            posted.conn, next.conn,
            "{id} answered on its worker's connection\n{run}"
        );
    }
    let mut conns: Vec<usize> = run.requests.iter().map(|r| r.conn).collect();
    conns.sort();
    conns.dedup();
    assert_eq!(conns.len(), 4, "one connection per worker\n{run}");
    run.assert_failed(); // The exhausted script's 500.
}

/// Each worker keeps a `/next` open: N free slots at once.
#[test]
fn every_worker_polls_at_once() {
    let server = fake(Script::new().wait_when_empty());
    let started = start(&server, &concurrency("8"));
    assert!(
        server.wait_for_polls(8, Duration::from_secs(10)),
        "{} of 8 polls open",
        server.waiting_polls()
    );
    for k in 0..8 {
        server.push(Invocation::new(&format!("id-{k}"), r#"{"echo":1}"#));
    }
    // Eight polls and eight answers, then every worker polls again at once.
    let answered = server.wait_for_requests(16, Duration::from_secs(10));
    assert_eq!(answered.len(), 16, "{:?}", steps(&answered));
    assert!(
        server.wait_for_polls(8, Duration::from_secs(10)),
        "workers polled again"
    );
    server.finish();
    let run = started.wait(&server);
    assert_answered_once(&run, &[]);
    for k in 0..8 {
        run.only(Route::Response(&format!("id-{k}")));
    }
}

/// A worker whose `/next` fails ends the process, but only after the
/// answer another worker is computing has gone out.
#[test]
fn a_failed_next_lets_the_answers_in_flight_go_out() {
    for fault in [Reply::Status(500), Reply::Drop, Reply::Status(403)] {
        let server = fake(Script::new().wait_when_empty());
        let started = start(&server, &concurrency("2"));
        assert!(server.wait_for_polls(2, Duration::from_secs(10)));
        server.push(Invocation::new("slow", r#"{"sleep_ms":800,"echo":"done"}"#));
        // The other worker's poll fails while "slow" runs. (Time for the
        // worker to take it in: one still on its way when the process
        // stops is refused with `Runtime.Stopping`, as tested below.)
        std::thread::sleep(Duration::from_millis(200));
        server.push(fault.clone());
        let run = started.wait(&server);
        let context = format!("fault {fault:?}\n{run}");
        run.assert_failed();
        assert_eq!(
            json(run.only(Route::Response("slow"))),
            answer("slow", json!({"echo": "done"})),
            "\n{context}"
        );
        assert_answered_once(&run, &[]);
        assert_eq!(
            sorted_steps(&run),
            ["next", "next", "response slow"],
            "no poll after the fault\n{context}"
        );
    }
}

/// A panic under `panic = "abort"` reports that invocation's
/// `Runtime.Panic`, lets the other invocations' answers go out, answers an
/// invocation that arrives meanwhile with `Runtime.Stopping` (without
/// running the function), and then ends the process.
#[test]
fn a_panic_stops_new_work_and_drains_the_rest() {
    let server = fake(Script::new().wait_when_empty());
    let started = start(&server, &concurrency("3"));
    assert!(server.wait_for_polls(3, Duration::from_secs(10)));
    server.push(Invocation::new("slow", r#"{"sleep_ms":1500,"echo":"slow"}"#));
    server.push(Invocation::new("boom", r#"{"sleep_ms":300,"panic":"boom"}"#));
    // The third worker is polling; once the panic is reported, it gets one.
    let reported = server.wait_for_requests(3, Duration::from_secs(10));
    assert!(
        reported.iter().any(|r| r.route() == Route::Error("boom")),
        "{:?}",
        steps(&reported)
    );
    server.push(Invocation::new("late", r#"{"echo":"late"}"#));
    let run = started.wait(&server);
    run.assert_failed();
    assert_answered_once(&run, &[]);
    let message = assert_error_report(run.only(Route::Error("boom")), "Runtime.Panic");
    assert!(message.contains("boom"), "{message}");
    assert_eq!(
        json(run.only(Route::Response("slow"))),
        answer("slow", json!({"echo": "slow"}))
    );
    assert_error_report(run.only(Route::Error("late")), "Runtime.Stopping");
    assert_eq!(
        sorted_steps(&run),
        [
            "error boom",
            "error late",
            "next",
            "next",
            "next",
            "response slow"
        ],
        "no worker polls again\n{run}"
    );
}

/// A worker has the stack the main thread has in Lambda's classic mode
/// (8 MiB): a function that is fine there is fine here.
#[test]
fn workers_have_the_stack_of_the_classic_main_thread() {
    let event = r#"{"stack_kib":2048,"echo":"deep"}"#;
    for env in [&concurrency("2")[..], &[]] {
        let script = Script::new().invoke("a", event).invoke("b", event);
        let run = run(&fake(script), env);
        assert_answered_once(&run, &[]);
        for id in ["a", "b"] {
            assert_eq!(
                json(run.only(Route::Response(id))),
                answer(id, json!({"echo": "deep"})),
                "{env:?}\n{run}"
            );
        }
    }
}

/// A panic on a thread of the function's own can belong to any invocation
/// in flight, and the worker that started it would wait on it forever:
/// every invocation in flight is answered `Runtime.Panic`, at once, and the
/// process ends without waiting out the drain.
#[test]
fn a_panic_on_a_thread_of_the_functions_answers_every_invocation_in_flight() {
    let server = fake(Script::new().wait_when_empty());
    let started = start(&server, &concurrency("2"));
    assert!(server.wait_for_polls(2, Duration::from_secs(10)));
    server.push(Invocation::new("slow", r#"{"sleep_ms":4000,"echo":"slow"}"#));
    server.push(Invocation::new(
        "boom",
        r#"{"sleep_ms":300,"on_thread":true,"panic":"boom on a thread"}"#,
    ));
    let run = started.wait(&server);
    run.assert_failed();
    assert_answered_once(&run, &[]);
    for id in ["slow", "boom"] {
        let message = assert_error_report(run.only(Route::Error(id)), "Runtime.Panic");
        assert!(message.contains("boom on a thread"), "{message}\n{run}");
    }
    assert!(
        run.elapsed < Duration::from_secs(3),
        "exited after {:?}: the drain waited\n{run}",
        run.elapsed
    );
}

/// Two panics, one invocation: a thread of the function's panics, which
/// answers every invocation in flight, and then the invocation's own
/// worker panics too. The invocation is counted out of those in flight
/// once, so the process still waits for one whose event is arriving.
#[test]
fn a_second_panic_of_an_answered_invocation_does_not_cut_the_drain_short() {
    let server = fake(Script::new().wait_when_empty());
    let started = start(&server, &concurrency("2"));
    assert!(server.wait_for_polls(2, Duration::from_secs(10)));
    server.push(Invocation::new(
        "boom",
        r#"{"thread_panics_after_ms":100,"sleep_ms":400,"panic":"boom"}"#,
    ));
    let arriving = Invocation::new("arriving", r#"{"echo":"arrived"}"#);
    server.push(Reply::SlowBody(arriving, Duration::from_millis(1200)));
    let run = started.wait(&server);
    run.assert_failed();
    assert_answered_once(&run, &[]);
    let message = assert_error_report(run.only(Route::Error("boom")), "Runtime.Panic");
    assert!(
        message.contains("a thread of the function's panicked"),
        "{message}\n{run}"
    );
    let answers = run
        .requests
        .iter()
        .filter(|r| matches!(r.route(), Route::Response("arriving") | Route::Error("arriving")))
        .count();
    assert_eq!(answers, 1, "the invocation still arriving went unanswered\n{run}");
    assert!(
        run.elapsed < Duration::from_secs(8),
        "exited after {:?}\n{run}",
        run.elapsed
    );
}

/// An invocation is the worker's from the moment its head arrives: while
/// its event is still on its way, a process that must stop waits for it
/// and answers it.
#[test]
fn an_invocation_whose_event_is_still_arriving_is_answered() {
    let server = fake(Script::new().wait_when_empty());
    let started = start(&server, &concurrency("2"));
    assert!(server.wait_for_polls(2, Duration::from_secs(10)));
    let event = Invocation::new("arriving", r#"{"echo":"arrived"}"#);
    server.push(Reply::SlowBody(event, Duration::from_millis(1000)));
    std::thread::sleep(Duration::from_millis(200));
    server.push(Reply::Status(500));
    let run = started.wait(&server);
    run.assert_failed();
    assert_eq!(
        json(run.only(Route::Response("arriving"))),
        answer("arriving", json!({"echo": "arrived"})),
        "\n{run}"
    );
    assert_answered_once(&run, &[]);
}

/// An answer that never comes does not hold the process forever: the
/// drain is bounded (5 s).
#[test]
fn the_drain_is_bounded() {
    let server = fake(Script::new().wait_when_empty());
    let started = start(&server, &concurrency("2"));
    assert!(server.wait_for_polls(2, Duration::from_secs(10)));
    server.push(Invocation::new("stuck", r#"{"sleep_ms":60000}"#));
    std::thread::sleep(Duration::from_millis(200));
    server.push(Reply::Status(500));
    let run = started.wait(&server);
    run.assert_failed();
    assert!(
        run.elapsed >= Duration::from_secs(4) && run.elapsed < Duration::from_secs(15),
        "exited after {:?}\n{run}",
        run.elapsed
    );
    assert_eq!(sorted_steps(&run), ["next", "next"], "\n{run}");
}

/// The trace variable is process-wide, so in this mode the runtime leaves
/// it alone: the trace id reaches the function through its `Context`.
/// Logs are JSON whatever the format variable says: lines of concurrent
/// invocations interleave, and each names its request.
#[test]
fn no_trace_variable_and_json_logs() {
    let event = r#"{"env":"_X_AMZN_TRACE_ID","context":true,"log":[["INFO","hello"]]}"#;
    let script = Script::new().invoke("one", event).invoke("two", event);
    let run = run(&fake(script), &concurrency("2"));
    for id in ["one", "two"] {
        let body = json(run.only(Route::Response(id)));
        assert_eq!(body["env"], Value::Null, "\n{run}");
        assert!(
            body["context"]["traceId"]
                .as_str()
                .is_some_and(|t| t.starts_with("Root=")),
            "\n{run}"
        );
        assert_eq!(body["context"]["maxConcurrency"], 2);
    }
    let lines: Vec<Value> = run
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{run}")))
        .collect();
    let mut hellos: Vec<&str> = lines
        .iter()
        .filter(|l| l["message"] == "hello")
        .map(|l| l["requestId"].as_str().unwrap())
        .collect();
    hellos.sort();
    assert_eq!(hellos, ["one", "two"], "\n{run}");
}

/// Without the variable, exactly today's behaviour: one connection, one
/// thread, the trace variable set.
#[test]
fn without_the_variable_one_invocation_at_a_time() {
    let script = Script::new()
        .invoke("one", r#"{"env":"_X_AMZN_TRACE_ID"}"#)
        .invoke("two", r#"{"echo":2}"#);
    let run = run(&fake(script), &[]);
    assert_eq!(run.steps(), happy_steps(&["one", "two"]), "\n{run}");
    run.assert_one_connection();
    assert!(
        json(run.only(Route::Response("one")))["env"]
            .as_str()
            .is_some_and(|t| t.starts_with("Root="))
    );
}
