//! The real `bootstrap` binary, built with the runtime tests' own function
//! (`tests/function`), against the fake Runtime API: the address forms,
//! init, the invocation loop, events and answers, logs, and the runtime's
//! answer to every fault the API can throw at it.
//!
//! Each test scripts the API, runs the binary to its exit (the exhausted
//! script answers `/next` with 500, so a correct runtime always exits; a
//! stuck one is killed after `common::TIMEOUT`), then asserts the whole
//! conversation, request by request. Counting requests exactly is what shows
//! that the runtime neither spins nor retries.

mod common;

use std::time::Duration;

use common::*;
use fake_api::{Invocation, REQUEST_ID, Reply, Route, Script, Server};
use serde_json::{Value, json};

/// An event the test function echoes: `{"requestId": <id>, "echo": "Ada"}`.
const ADA: &str = r#"{"echo":"Ada"}"#;

/// The test function's answer to [`ADA`] for invocation `id`.
fn ada(id: &str) -> Value {
    answer(id, json!({"echo": "Ada"}))
}

/// Largest event the runtime must read whole: 6 MiB + 100 bytes.
const MAX_EVENT: usize = 6 * 1024 * 1024 + 100;

fn fake(script: Script) -> Server {
    Server::start(script).expect("start the fake API")
}

fn strings(steps: &[&str]) -> Vec<String> {
    steps.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------- address

/// The plain Lambda form, and the happy path in full detail.
#[test]
fn host_port_address() {
    let server = fake(Script::new().invoke("req-1", ADA));
    let run = run(&server, &[]);
    assert_eq!(run.steps(), happy_steps(&["req-1"]), "\n{run}");
    run.assert_failed(); // The exhausted script's 500.
    run.assert_one_connection();
    let response = run.only(Route::Response("req-1"));
    assert_eq!(json(response), ada("req-1"), "\n{run}");
    assert_eq!(response.header("Lambda-Runtime-Function-Error-Type"), None);
    assert_eq!(response.header("Lambda-Runtime-Invocation-Id"), None);
    assert!(run.requests.iter().all(|r| !r.outside_prefix));
    assert!(run.server_errors.is_empty(), "\n{run}");
}

/// The `cargo lambda` form: a URL with a path prefix, with or without more
/// path segments or a trailing slash, and a URL without any path.
#[test]
fn url_address_with_and_without_prefix() {
    for (prefix, slash) in [("/.rt", ""), ("/.rt/my-function", ""), ("", ""), ("/.rt", "/")] {
        let server = Server::start_with_prefix(prefix, Script::new().invoke("req-1", ADA)).unwrap();
        let url = format!("{}{slash}", server.url());
        let run = run_at(&server, Some(&url), &[]);
        let context = format!("AWS_LAMBDA_RUNTIME_API={url}\n{run}");
        assert_eq!(run.steps(), happy_steps(&["req-1"]), "\n{context}");
        for request in &run.requests {
            assert!(!request.outside_prefix, "request outside {prefix:?}\n{context}");
            assert!(
                request.target.starts_with(&format!("{prefix}/2018-06-01/")),
                "\n{context}"
            );
        }
        run.assert_failed();
        run.assert_one_connection();
        assert_eq!(json(run.only(Route::Response("req-1"))), ada("req-1"));
    }
}

/// Set but unusable: the same as missing, and nothing is sent anywhere.
#[test]
fn unusable_address_is_reported_without_any_request() {
    let server = fake(Script::new().invoke("req-1", ADA));
    for api in [
        String::new(),
        format!("https://{}", server.addr()),
        format!("ftp://{}", server.addr()),
        // No port: the API never listens on HTTP's default port 80.
        "127.0.0.1".to_owned(),
        "http://127.0.0.1/.rt".to_owned(),
    ] {
        let run = run_at(&server, Some(&api), &[]);
        run.assert_failed();
        assert!(run.stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{api:?}\n{run}");
        assert!(
            run.requests.is_empty() && run.server_errors.is_empty(),
            "{api:?}\n{run}"
        );
    }
}

/// Nothing listening: the error names the address that was tried.
#[test]
fn a_refused_connection_names_the_address() {
    let server = fake(Script::new());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let run = run_at(&server, Some(&address), &[]);
    run.assert_failed();
    assert!(run.stderr.contains(&address), "{address} not named\n{run}");
    assert!(run.stderr.contains("GET /invocation/next"), "\n{run}");
}

#[test]
fn missing_address_is_reported_without_any_request() {
    let server = fake(Script::new().invoke("req-1", ADA));
    let run = run_at(&server, None, &[]);
    run.assert_failed();
    assert!(run.stderr.contains("AWS_LAMBDA_RUNTIME_API"), "\n{run}");
    assert!(run.requests.is_empty(), "\n{run}");
}

// ------------------------------------------------------------------- init

#[test]
fn failed_init_is_reported_and_next_never_called() {
    let server = fake(Script::new().invoke("req-1", ADA));
    let run = run(&server, &[("TEST_FUNCTION_INIT_FAIL", "no database")]);
    assert_eq!(run.steps(), ["init-error"], "\n{run}");
    run.assert_failed();
    let message = assert_error_report(&run.requests[0], "Function.InitFailed");
    assert_eq!(message, "no database");
    assert!(run.stderr.contains("no database"), "\n{run}");
}

#[test]
fn bad_concurrency_is_an_init_error() {
    for value in ["0", "x", "1001", "", "-2"] {
        let server = fake(Script::new().invoke("req-1", ADA));
        let run = run(&server, &[("AWS_LAMBDA_MAX_CONCURRENCY", value)]);
        let context = format!("AWS_LAMBDA_MAX_CONCURRENCY={value:?}\n{run}");
        assert_eq!(run.steps(), ["init-error"], "\n{context}");
        run.assert_failed();
        let message = assert_error_report(&run.requests[0], "Runtime.InvalidConfig");
        assert!(message.contains("1 to 1000"), "\n{context}");
    }
}

/// Whatever the API says to the init error, the runtime exits without
/// asking for work.
#[test]
fn init_error_faults_still_end_the_runtime() {
    for reply in [Reply::Status(500), Reply::Status(403), Reply::Drop] {
        let server = fake(Script::new().invoke("req-1", ADA).on_init_error(reply.clone()));
        let run = run(&server, &[("TEST_FUNCTION_INIT_FAIL", "x")]);
        assert_eq!(
            run.steps(),
            ["init-error"],
            "init error answered {reply:?}\n{run}"
        );
        run.assert_failed();
    }
}

// ------------------------------------------------------------------- loop

#[test]
fn runtime_table() {
    let rows = common::runtime_table();
    let mut script = Script::new();
    for (i, row) in rows.iter().enumerate() {
        script = script.invoke(&format!("row-{i}"), &row.event);
    }
    let server = fake(script);
    let run = run(&server, &[]);
    let ids: Vec<String> = (0..rows.len()).map(|i| format!("row-{i}")).collect();
    assert_eq!(run.requests.len(), 2 * rows.len() + 1, "\n{run}");
    for (i, (row, id)) in rows.iter().zip(&ids).enumerate() {
        assert_eq!(step(&run.requests[2 * i]), "next", "\n{run}");
        let answer = &run.requests[2 * i + 1];
        assert!(
            matches!(answer.route(), Route::Response(a) | Route::Error(a) if a == id),
            "row {:?} ({id}) answered by {}\n{run}",
            row.label,
            step(answer)
        );
        assert_row(row, id, answer, &run);
    }
    assert_eq!(step(run.requests.last().unwrap()), "next");
    run.assert_failed();
    run.assert_one_connection();
    assert_answered_once(&run, &[]);
    assert!(run.server_errors.is_empty(), "\n{run}");
}

#[test]
fn many_invocations_on_one_connection() {
    let ids: Vec<String> = (0..300)
        .map(|i| format!("{i:08x}-0000-4000-8000-{i:012x}"))
        .collect();
    let names = ["Ada", "Grace", "Alan", "Edsger", "Barbara"];
    let mut script = Script::new();
    for (i, id) in ids.iter().enumerate() {
        script = script.invoke(id, json!({ "echo": names[i % names.len()] }).to_string());
    }
    let server = fake(script);
    let run = run(&server, &[]);
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(run.steps(), happy_steps(&id_refs), "\n{run}");
    run.assert_one_connection();
    assert_answered_once(&run, &[]);
    for (i, id) in ids.iter().enumerate() {
        let body = json(run.only(Route::Response(id)));
        assert_eq!(body, answer(id, json!({"echo": names[i % names.len()]})), "{id}");
    }
}

#[test]
fn invocation_id_is_echoed_when_given() {
    let with = |id: &str, body: &str, invocation_id: &str| {
        Invocation::new(id, body).header("Lambda-Runtime-Invocation-Id", invocation_id)
    };
    let server = fake(
        Script::new()
            .then(with("ok-with", ADA, "inv-1"))
            .then(with("err-with", "not json", "inv-2"))
            .invoke("ok-without", ADA)
            .invoke("err-without", "not json"),
    );
    let run = run(&server, &[]);
    assert_eq!(
        run.steps(),
        strings(&[
            "next",
            "response ok-with",
            "next",
            "error err-with",
            "next",
            "response ok-without",
            "next",
            "error err-without",
            "next"
        ]),
        "\n{run}"
    );
    let echoed = |route| run.only(route).header("Lambda-Runtime-Invocation-Id");
    assert_eq!(echoed(Route::Response("ok-with")), Some("inv-1"), "\n{run}");
    assert_eq!(echoed(Route::Error("err-with")), Some("inv-2"), "\n{run}");
    assert_eq!(echoed(Route::Response("ok-without")), None, "\n{run}");
    assert_eq!(echoed(Route::Error("err-without")), None, "\n{run}");
}

/// A failed invocation's report carries X-Ray's error cause, in the shape
/// aws-lambda-go sends and AWS's emulator reads: JSON in visible ASCII,
/// whatever the message holds (a control byte such as DEL, which a caller
/// can put in serde's messages, included), and the loop goes on.
#[test]
fn error_reports_carry_an_xray_cause() {
    let event = json!({"fail": {"type": "Order.NotFound", "message": "no order for Zoë\u{7f}"}}).to_string();
    let server = fake(Script::new().invoke("bad", &event).invoke("good", ADA));
    let run = run(&server, &[]);
    let report = run.only(Route::Error("bad"));
    assert_error_report_with_header(report, "Order.NotFound", "Function.Order.NotFound");
    let cause = report
        .header("Lambda-Runtime-Function-XRay-Error-Cause")
        .unwrap_or_else(|| panic!("no X-Ray cause\n{run}"));
    assert!(
        cause.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
        "{cause:?}"
    );
    let cause: Value = serde_json::from_str(cause).unwrap();
    assert_eq!(
        cause["exceptions"],
        json!([{"type": "Order.NotFound", "message": "no order for Zoë\u{7f}", "stack": []}]),
        "\n{run}"
    );
    assert!(cause["working_directory"].is_string() && cause["paths"] == json!([]));
    let response = run.only(Route::Response("good"));
    assert_eq!(response.header("Lambda-Runtime-Function-XRay-Error-Cause"), None);
}

// ------------------------------------------------------------ request ids

#[test]
fn valid_request_ids_are_used() {
    let ids = [
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_owned(),
        "a".to_owned(),
        "Z9".to_owned(),
        "-".to_owned(),
        "x".repeat(128),
    ];
    let mut script = Script::new();
    for id in &ids {
        script = script.invoke(id, ADA);
    }
    let server = fake(script);
    let run = run(&server, &[]);
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(run.steps(), happy_steps(&id_refs), "\n{run}");
    assert_answered_once(&run, &[]);
}

/// Asserts the runtime stopped at the `/next` that carried a bad id: a line
/// on stderr, a failure exit, and no request after it, so the id never went
/// into a URL.
fn assert_rejected_at_next(run: &Run, what: &str) {
    assert_eq!(run.steps(), ["next"], "{what}\n{run}");
    run.assert_failed();
    assert!(!run.stderr.trim().is_empty(), "{what}: nothing on stderr\n{run}");
}

#[test]
fn invalid_request_ids_are_refused() {
    let ids = [
        "../x".to_owned(),
        "..".to_owned(),
        "a b".to_owned(),
        "%2e%2e".to_owned(),
        "a/b".to_owned(),
        "a?b".to_owned(),
        "a#b".to_owned(),
        "a.b".to_owned(),
        "a_b".to_owned(),
        "a:b".to_owned(),
        "a;b".to_owned(),
        "a+b".to_owned(),
        "a\tb".to_owned(),
        "é".to_owned(),
        "٣".to_owned(), // A digit, but not an ASCII one.
        "x".repeat(129),
        String::new(),
    ];
    for id in &ids {
        // An invocation after it, in case the runtime skips the bad one.
        let server = fake(Script::new().invoke(id, ADA).invoke("good", ADA));
        let run = run(&server, &[]);
        // Only the `/next`: so the id went into no URL.
        assert_rejected_at_next(&run, &format!("request id {id:?}"));
    }
}

#[test]
fn missing_request_id_is_refused() {
    let server = fake(
        Script::new()
            .then(Invocation::new("unused", ADA).without_header(REQUEST_ID))
            .invoke("good", ADA),
    );
    let run = run(&server, &[]);
    assert_rejected_at_next(&run, "no request id header");
}

/// Bytes no well-formed header value can hold: a malformed answer is a
/// broken API, and the runtime must exit without another request.
#[test]
fn request_ids_with_raw_control_bytes_are_refused() {
    for id in [&b"a\rb"[..], b"a\nb", b"a\0b", b"a\x7fb", b"a\xffb"] {
        let server = fake(Script::new().then(raw_invocation(id, ADA)).invoke("good", ADA));
        let run = run(&server, &[]);
        assert_rejected_at_next(&run, &format!("request id bytes {id:?}"));
    }
}

/// A `200` answer to `/next` with the request id header's value as given.
fn raw_invocation(id: &[u8], body: &str) -> Reply {
    let mut raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_vec();
    raw.extend(format!("{REQUEST_ID}: ").bytes());
    raw.extend(id);
    raw.extend(format!("\r\nContent-Length: {}\r\n\r\n{body}", body.len()).bytes());
    Reply::Raw(raw)
}

// ------------------------------------------------- answers to the runtime

/// Runs `first` (answered by `reply` on its post), then a plain `second`.
fn with_post_answered(event: &str, on_error: bool, reply: Reply) -> Run {
    let script = Script::new().invoke("first", event).invoke("second", ADA);
    let script = if on_error {
        script.on_error("first", reply)
    } else {
        script.on_response("first", reply)
    };
    run(&fake(script), &[])
}

#[test]
fn any_2xx_on_response_goes_on() {
    for status in [200, 202, 204] {
        let run = with_post_answered(ADA, false, Reply::Status(status));
        assert_eq!(run.steps(), happy_steps(&["first", "second"]), "{status}\n{run}");
        run.assert_one_connection();
    }
}

/// The API refusing an answer is about that answer, not the sandbox: 413
/// (Lambda already answered the caller), 410 (timed out), 400 and 403 are
/// logged, then `/next`. Never an `/error` after them: it would get 403.
#[test]
fn refused_responses_are_logged_then_next() {
    for status in [413, 410, 400, 403] {
        let run = with_post_answered(ADA, false, Reply::Status(status));
        assert_eq!(run.steps(), happy_steps(&["first", "second"]), "{status}\n{run}");
        assert!(
            run.stderr.contains(&status.to_string()),
            "{status} not logged\n{run}"
        );
        assert_answered_once(&run, &[]);
        run.assert_one_connection();
    }
}

#[test]
fn error_4xx_and_2xx_go_on() {
    for status in [400, 403, 200, 202] {
        let run = with_post_answered("not json", true, Reply::Status(status));
        let expected = strings(&["next", "error first", "next", "response second", "next"]);
        assert_eq!(run.steps(), expected, "{status}\n{run}");
        if status >= 400 {
            assert!(
                run.stderr.contains(&status.to_string()),
                "{status} not logged\n{run}"
            );
        }
        assert_answered_once(&run, &[]);
    }
}

/// 500 means the container is broken, and a dropped connection means the
/// API is gone: exit at once, whichever post got it.
#[test]
fn post_500_or_drop_ends_the_runtime() {
    for reply in [Reply::Status(500), Reply::Drop] {
        let run = with_post_answered(ADA, false, reply.clone());
        assert_eq!(run.steps(), ["next", "response first"], "{reply:?}\n{run}");
        run.assert_failed();
        assert_answered_once(&run, &[]);

        let on_error = with_post_answered("not json", true, reply.clone());
        assert_eq!(on_error.steps(), ["next", "error first"], "{reply:?}\n{on_error}");
        on_error.assert_failed();
    }
}

#[test]
fn next_403_and_500_end_the_runtime() {
    for status in [403, 500] {
        let server = fake(Script::new().then(Reply::Status(status)).invoke("unused", ADA));
        let first = run(&server, &[]);
        assert_eq!(first.steps(), ["next"], "{status}\n{first}");
        first.assert_failed();

        // The same after a served invocation.
        let server = fake(
            Script::new()
                .invoke("first", ADA)
                .then(Reply::Status(status))
                .invoke("unused", ADA),
        );
        let after = run(&server, &[]);
        assert_eq!(after.steps(), happy_steps(&["first"]), "{status}\n{after}");
        after.assert_failed();
    }
}

/// `cargo lambda` may answer `/next` with 204, "nothing yet": ask again,
/// once per 204 (no spinning), and serve what comes.
#[test]
fn next_204_is_asked_again() {
    let server = fake(
        Script::new()
            .then(Reply::Status(204))
            .then(Reply::Status(204))
            .invoke("late", ADA),
    );
    let run = run(&server, &[]);
    let expected = strings(&["next", "next", "next", "response late", "next"]);
    assert_eq!(run.steps(), expected, "\n{run}");
    run.assert_one_connection();
    assert_answered_once(&run, &[]);
    // Asking again at once would be a busy loop against an API that keeps
    // saying 204. A lower bound only, so a slow machine can't fail it.
    for pair in run.requests[..3].windows(2) {
        let pause = pair[1].at - pair[0].at;
        assert!(
            pause >= Duration::from_millis(10),
            "asked again after {pause:?}\n{run}"
        );
    }
}

/// Dropped, cut short or garbled answers to `/next`: exit at once.
#[test]
fn broken_next_answers_end_the_runtime() {
    let cases: [(&str, Reply); 8] = [
        ("dropped", Reply::Drop),
        ("half a status line", Reply::Raw(b"HTTP/1.1 20".to_vec())),
        (
            "half the headers",
            Reply::Raw(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: cut\r\nContent-Le".to_vec()),
        ),
        (
            "body cut short",
            Reply::Raw(
                b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: cut\r\nContent-Length: 100\r\n\r\n{\"name\":"
                    .to_vec(),
            ),
        ),
        (
            "chunked body cut short",
            Reply::Raw(
                b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: cut\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n{\"name\":"
                    .to_vec(),
            ),
        ),
        ("not HTTP", Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec())),
        ("bad status code", Reply::Raw(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n".to_vec())),
        (
            "header without a colon",
            Reply::Raw(
                b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id cut\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
            ),
        ),
    ];
    for (what, reply) in cases {
        let server = fake(Script::new().then(reply).invoke("unused", ADA));
        let run = run(&server, &[]);
        assert_eq!(run.steps(), ["next"], "{what}\n{run}");
        run.assert_failed();
    }
}

/// A complete answer that closes the connection (as any HTTP/1.1 server may)
/// is not a fault: the runtime answers on a new connection and goes on.
#[test]
fn connection_close_after_a_complete_answer_is_not_a_fault() {
    let raw = format!(
        "HTTP/1.1 200 OK\r\n{REQUEST_ID}: closing\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{ADA}",
        ADA.len()
    );
    let server = fake(
        Script::new()
            .then(Reply::Raw(raw.into_bytes()))
            .invoke("after", ADA),
    );
    let run = run(&server, &[]);
    assert_eq!(run.steps(), happy_steps(&["closing", "after"]), "\n{run}");
    assert_eq!(json(run.only(Route::Response("closing"))), ada("closing"));
    assert_ne!(run.requests[0].conn, run.requests[1].conn, "\n{run}");
}

/// HTTP/1.1 lets the API send the event chunked; it must arrive whole.
/// (`Connection: close` because a raw reply closes the connection after it.)
#[test]
fn chunked_event_is_read_whole() {
    let raw = format!(
        "HTTP/1.1 200 OK\r\n{REQUEST_ID}: chunked\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         4\r\n{{\"ec\r\na;ext=1\r\nho\":\"Ada\"}}\r\n0\r\n\r\n"
    );
    let server = fake(Script::new().then(Reply::Raw(raw.into_bytes())));
    let run = run(&server, &[]);
    assert_eq!(run.steps(), happy_steps(&["chunked"]), "\n{run}");
    assert_eq!(json(run.only(Route::Response("chunked"))), ada("chunked"));
}

// ------------------------------------------------------------ event sizes

/// `{"echo":"Ada","pad":"xxx…"}`, exactly `size` bytes.
fn padded_event(size: usize) -> Vec<u8> {
    let mut event = br#"{"echo":"Ada","pad":""#.to_vec();
    event.resize(size - 2, b'x');
    event.extend(br#""}"#);
    assert_eq!(event.len(), size);
    event
}

#[test]
fn largest_event_is_read_whole() {
    let server = fake(
        Script::new()
            .invoke("largest", padded_event(MAX_EVENT))
            .invoke("small", ADA),
    );
    let run = run(&server, &[]);
    assert_eq!(run.steps(), happy_steps(&["largest", "small"]), "\n{run}");
    assert_eq!(json(run.only(Route::Response("largest"))), ada("largest"));
    run.assert_one_connection();
}

#[test]
fn larger_event_is_refused_and_the_loop_goes_on() {
    let server = fake(
        Script::new()
            .invoke("too-large", padded_event(MAX_EVENT + 1))
            .invoke("small", ADA),
    );
    let run = run(&server, &[]);
    let expected = strings(&["next", "error too-large", "next", "response small", "next"]);
    assert_eq!(run.steps(), expected, "\n{run}");
    assert_error_report(run.only(Route::Error("too-large")), "Runtime.EventTooLarge");
    assert_answered_once(&run, &[]);
}

/// Nesting deep enough to overflow a recursive parser's stack: the runtime
/// must answer it (as an error or an echo) and go on, not crash.
#[test]
fn deeply_nested_event_does_not_crash_the_runtime() {
    let depth = 100_000;
    let event = format!(r#"{{"echo":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    let server = fake(Script::new().invoke("deep", event).invoke("small", ADA));
    let run = run(&server, &[]);
    assert_eq!(run.requests.len(), 5, "\n{run}");
    assert!(
        matches!(
            run.requests[1].route(),
            Route::Response("deep") | Route::Error("deep")
        ),
        "\n{run}"
    );
    assert_eq!(run.steps()[2..], happy_steps(&["small"]), "\n{run}");
    assert_answered_once(&run, &[]);
}

// ------------------------------------------------------------------ panic

/// With `panic = "abort"` nothing can catch the panic: the hook must report
/// it on `/error` before the process goes down.
#[test]
fn panic_is_reported_before_the_process_dies() {
    for reply in [Reply::Status(202), Reply::Drop, Reply::Status(500)] {
        let server = fake(
            Script::new()
                .invoke("before", ADA)
                .then(
                    Invocation::new("boom-id", r#"{"panic":"boom"}"#)
                        .header("Lambda-Runtime-Invocation-Id", "inv-boom"),
                )
                .invoke("after", ADA)
                .on_error("boom-id", reply.clone()),
        );
        let run = run(&server, &[]);
        let context = format!("panic report answered {reply:?}\n{run}");
        let expected = strings(&["next", "response before", "next", "error boom-id"]);
        assert_eq!(run.steps(), expected, "\n{context}");
        run.assert_failed();
        let report = run.only(Route::Error("boom-id"));
        let message = assert_error_report(report, "Runtime.Panic");
        assert!(message.contains("boom"), "message {message:?}\n{context}");
        assert!(
            message.contains("tests/function/function.rs:"),
            "no source location in {message:?}\n{context}"
        );
        assert_eq!(
            report.header("Lambda-Runtime-Invocation-Id"),
            Some("inv-boom"),
            "\n{context}"
        );
        assert_eq!(json(run.only(Route::Response("before"))), ada("before"));
        assert_answered_once(&run, &[]);
    }
}

/// A panic on a thread the function started (a scoped thread, rayon's)
/// is reported against the invocation in flight, whose own thread waits on
/// it forever: reported once, then the process ends.
#[test]
fn a_panic_on_a_thread_of_the_functions_is_reported() {
    let event = json!({"on_thread": true, "panic": "boom on a thread"}).to_string();
    let server = fake(Script::new().invoke("boom", &event).invoke("never", ADA));
    let run = run(&server, &[]);
    assert_eq!(run.steps(), ["next", "error boom"], "\n{run}");
    run.assert_failed();
    let message = assert_error_report(run.only(Route::Error("boom")), "Runtime.Panic");
    assert!(message.contains("boom on a thread"), "{message}\n{run}");
    assert!(run.elapsed < Duration::from_secs(5), "\n{run}");
}

/// In Lambda's classic mode one invocation is in flight, so a line the
/// function writes from a thread of its own belongs to it too.
#[test]
fn log_lines_from_the_functions_threads_carry_the_request_id() {
    let event = json!({"on_thread": true, "log": [["INFO", "from a thread"]]}).to_string();
    for format in ["Text", "JSON"] {
        let server = fake(Script::new().invoke("req-7", &event));
        let run = run(&server, &[("AWS_LAMBDA_LOG_FORMAT", format)]);
        assert_eq!(run.steps(), happy_steps(&["req-7"]), "{format}\n{run}");
        let line = run
            .stderr
            .lines()
            .find(|line| line.contains("from a thread"))
            .unwrap_or_else(|| panic!("no line\n{run}"));
        if format == "JSON" {
            let line: Value = serde_json::from_str(line).unwrap();
            assert_eq!(line["requestId"], "req-7", "{line}");
        } else {
            assert!(line.contains("\treq-7\tINFO\tfrom a thread"), "{line:?}");
        }
    }
}

/// A function's `main` may log before it calls `run`: that line is plain,
/// and the configuration still applies from `run` on.
#[test]
fn logging_before_run_leaves_the_configuration_to_run() {
    let event = json!({"log": [["INFO", "inside"]]}).to_string();
    let server = fake(Script::new().invoke("req-1", &event));
    let env = [
        ("TEST_FUNCTION_LOG_BEFORE_RUN", "1"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ];
    let run = run(&server, &env);
    assert_eq!(run.steps(), happy_steps(&["req-1"]), "\n{run}");
    assert!(run.stderr.contains("\tINFO\ta line before run"), "\n{run}");
    let inside = run.stderr.lines().find(|l| l.contains("inside")).unwrap();
    let inside: Value = serde_json::from_str(inside).unwrap_or_else(|e| panic!("not JSON ({e}): {inside}"));
    assert_eq!(
        (&inside["requestId"], &inside["level"]),
        (&json!("req-1"), &json!("INFO"))
    );
}

/// The function's own serde code runs while the event is decoded: a panic
/// there is the function's panic too, and is reported the same way.
#[test]
fn a_panic_while_decoding_is_reported() {
    let server = fake(
        Script::new()
            .invoke("boom-id", r#"{"panic_in_decode":true}"#)
            .invoke("never", ADA),
    );
    let run = run(&server, &[]);
    assert_eq!(run.steps(), ["next", "error boom-id"], "\n{run}");
    run.assert_failed();
    let message = assert_error_report(run.only(Route::Error("boom-id")), "Runtime.Panic");
    assert!(message.contains("while decoding"), "{message}\n{run}");
}

/// A panic in `Function::init` goes to `/init/error`, and `/next` is never
/// called.
#[test]
fn init_panic_is_reported_before_the_process_dies() {
    let server = fake(Script::new().invoke("never", ADA));
    let run = run(&server, &[("PANIC_PROBE_INIT", "config exploded")]);
    assert_eq!(run.steps(), strings(&["init-error"]), "\n{run}");
    run.assert_failed();
    let message = assert_error_report(run.only(Route::InitError), "Runtime.Panic");
    assert!(message.contains("config exploded"), "message {message:?}\n{run}");
}

/// ureq reads proxy variables from the environment; a function may set them
/// for its own outbound calls, and the Runtime API must still be reached
/// directly.
#[test]
fn proxy_variables_do_not_divert_the_api() {
    let server = fake(Script::new().invoke("req-1", ADA));
    let proxy = "http://127.0.0.1:9";
    let env = [
        ("HTTPS_PROXY", proxy),
        ("HTTP_PROXY", proxy),
        ("ALL_PROXY", proxy),
        ("http_proxy", proxy),
    ];
    let run = run(&server, &env);
    assert_eq!(run.steps(), happy_steps(&["req-1"]), "\n{run}");
    assert_eq!(json(run.only(Route::Response("req-1"))), ada("req-1"));
}

/// Go's `net/http`, which serves the Runtime API, answers 413 to an
/// oversized response before reading it and closes the connection while the
/// runtime is still writing. The write fails, but the answer is there to
/// read: the runtime must see the 413 and go on, not exit.
#[test]
fn response_refused_before_it_is_read_goes_on() {
    // An answer one byte over the limit.
    let event = json!({ "repeat": MAX_EVENT + 1 }).to_string();
    let script = Script::new()
        .invoke("big", &event)
        .on_response("big", Reply::Early(413))
        .invoke("after", ADA);
    let run = run(&fake(script), &[]);
    assert_eq!(run.steps(), happy_steps(&["big", "after"]), "\n{run}");
    assert!(run.stderr.contains("413"), "413 not logged\n{run}");
    assert_eq!(json(run.only(Route::Response("after"))), ada("after"));
}

// ------------------------------------------------------------ connections

/// The connection each request came on, in order.
fn connections(run: &Run) -> Vec<usize> {
    run.requests.iter().map(|r| r.conn).collect()
}

/// A peer that closes the keep-alive connection after a 202, without
/// `Connection: close` (a proxy's idle timeout): the next `/next` goes out on
/// a new connection and the runtime keeps serving.
#[test]
fn a_connection_closed_after_an_answer_is_replaced() {
    let script = Script::new()
        .invoke("first", ADA)
        .on_response("first", Reply::Status(202).then_close())
        .invoke("second", ADA);
    let run = run(&fake(script), &[]);
    assert_eq!(run.steps(), happy_steps(&["first", "second"]), "\n{run}");
    assert_eq!(connections(&run), [0, 0, 1, 1, 1], "\n{run}");
    assert_answered_once(&run, &[]);
    assert_eq!(json(run.only(Route::Response("second"))), ada("second"));
}

/// The peer closes right after handing out an invocation, while the
/// function still runs: the answer goes out on a new connection, once.
#[test]
fn a_connection_closed_while_the_function_runs_loses_no_answer() {
    let slow = r#"{"sleep_ms":200,"echo":"Ada"}"#;
    for on_error in [false, true] {
        let event = if on_error {
            r#"{"sleep_ms":200,"fail":{"type":"Function.Slow","message":"no"}}"#
        } else {
            slow
        };
        let script = Script::new()
            .invoke("warm", ADA)
            .then(Reply::from(Invocation::new("slow", event)).then_close())
            .invoke("after", ADA);
        let run = run(&fake(script), &[]);
        let answer = if on_error { "error slow" } else { "response slow" };
        let expected = strings(&[
            "next",
            "response warm",
            "next",
            answer,
            "next",
            "response after",
            "next",
        ]);
        assert_eq!(run.steps(), expected, "\n{run}");
        assert_eq!(connections(&run), [0, 0, 0, 1, 1, 1, 1], "\n{run}");
        assert_answered_once(&run, &[]);
        if on_error {
            assert_error_report(run.only(Route::Error("slow")), "Function.Slow");
        } else {
            assert_eq!(json(run.only(Route::Response("slow"))), ada("slow"));
        }
    }
}

/// The peer closes right after reading a request's head, without an
/// answer: a `/next` is asked again on a new connection (no invocation was
/// handed out); a post whose body the peer never read is sent again.
#[test]
fn a_connection_closed_after_the_request_head_is_asked_again() {
    let script = Script::new()
        .invoke("first", ADA)
        .then(Reply::CloseAfterHead)
        .invoke("second", ADA);
    let run = run(&fake(script), &[]);
    let expected = strings(&[
        "next",
        "response first",
        "next",
        "next",
        "response second",
        "next",
    ]);
    assert_eq!(run.steps(), expected, "\n{run}");
    assert_eq!(connections(&run), [0, 0, 0, 1, 1, 1], "\n{run}");
    assert_answered_once(&run, &[]);

    let script = Script::new()
        .invoke("first", ADA)
        .invoke("second", ADA)
        .on_response("second", Reply::Once(Box::new(Reply::CloseAfterHead)))
        .invoke("third", ADA);
    let run = common::run(&fake(script), &[]);
    let second: Vec<&fake_api::Request> = run
        .requests
        .iter()
        .filter(|r| r.route() == Route::Response("second"))
        .collect();
    assert_eq!(second.len(), 2, "the post is sent again once\n{run}");
    assert!(second[0].cut && !second[1].cut, "\n{run}");
    assert_ne!(second[0].conn, second[1].conn, "\n{run}");
    assert_eq!(json(second[1]), ada("second"), "\n{run}");
    assert_eq!(
        json(run.only(Route::Response("third"))),
        ada("third"),
        "the runtime kept serving\n{run}"
    );
}

/// A post the peer read whole and then dropped without an answer may have
/// been taken: it is not sent again (answering twice is worse than a
/// restart), and the runtime exits.
#[test]
fn a_post_read_whole_then_dropped_is_not_sent_again() {
    let script = Script::new()
        .invoke("first", ADA)
        .invoke("second", ADA)
        .on_response("second", Reply::Drop)
        .invoke("third", ADA);
    let run = run(&fake(script), &[]);
    let expected = strings(&["next", "response first", "next", "response second"]);
    assert_eq!(run.steps(), expected, "\n{run}");
    run.assert_failed();
}

// ------------------------------------------------------------ head sizes

/// `/next` with a client context of `bytes` bytes.
fn with_client_context(id: &str, bytes: usize) -> Invocation {
    let context = format!(r#"{{"custom":{{"pad":"{}"}}}}"#, "x".repeat(bytes - 21));
    assert_eq!(context.len(), bytes);
    Invocation::new(id, r#"{"context":true}"#).header("Lambda-Runtime-Client-Context", &context)
}

#[test]
fn heads_up_to_64_kib_are_read() {
    let script = Script::new()
        .then(with_client_context("big-head", 16 * 1024))
        .then(with_client_context("bigger-head", 60 * 1024))
        .invoke("after", ADA);
    let run = run(&fake(script), &[]);
    assert_eq!(
        run.steps(),
        happy_steps(&["big-head", "bigger-head", "after"]),
        "\n{run}"
    );
    for (id, bytes) in [("big-head", 16 * 1024), ("bigger-head", 60 * 1024)] {
        let context = &json(run.only(Route::Response(id)))["context"];
        assert_eq!(
            context["clientContext"].as_str().map(str::len),
            Some(bytes),
            "\n{run}"
        );
    }
    run.assert_one_connection();
}

/// A head over 64 KiB can't be parsed, but its request id can still be
/// found: that invocation is answered with an error and the loop goes on.
/// Without a request id in what was read, the runtime can only exit.
#[test]
fn a_head_over_64_kib_is_answered_as_an_error() {
    let script = Script::new()
        .then(with_client_context("huge-head", 80 * 1024))
        .invoke("after", ADA);
    let run = run(&fake(script), &[]);
    let expected = strings(&["next", "error huge-head", "next", "response after", "next"]);
    assert_eq!(run.steps(), expected, "\n{run}");
    let message = assert_error_report(run.only(Route::Error("huge-head")), "Runtime.HeadersTooLarge");
    assert!(message.contains("65536"), "{message}");
    assert_answered_once(&run, &[]);

    let mut raw = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 200 * 1024));
    raw.extend(format!("\r\n{REQUEST_ID}: late\r\nContent-Length: 2\r\n\r\n{{}}").bytes());
    let run = common::run(
        &fake(Script::new().then(Reply::Raw(raw)).invoke("unused", ADA)),
        &[],
    );
    assert_eq!(run.steps(), ["next"], "\n{run}");
    run.assert_failed();
    assert!(run.stderr.contains("GET /invocation/next"), "\n{run}");
}

// -------------------------------------------------------- context and logs

/// Every `Lambda-Runtime-*` header, and Lambda's variables, reach the
/// function; the trace id is also in `_X_AMZN_TRACE_ID` for that invocation
/// only (Lambda's classic mode).
#[test]
fn the_function_sees_its_context_and_configuration() {
    let full = Invocation::new("full", r#"{"context":true,"env":"_X_AMZN_TRACE_ID"}"#)
        .header("Lambda-Runtime-Deadline-Ms", "4102444800000")
        .header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:eu-west-1:1:function:f:live",
        )
        .header("Lambda-Runtime-Trace-Id", "Root=1-a-b;Parent=c;Sampled=1")
        .header("Lambda-Runtime-Client-Context", r#"{"client":{}}"#)
        .header("Lambda-Runtime-Cognito-Identity", r#"{"cognitoIdentityId":"x"}"#)
        .header("Lambda-Runtime-Aws-Tenant-Id", "tenant-7");
    let bare = Invocation::new("bare", r#"{"context":true,"env":"_X_AMZN_TRACE_ID"}"#)
        .without_header("Lambda-Runtime-Deadline-Ms")
        .without_header("Lambda-Runtime-Trace-Id")
        .without_header("Lambda-Runtime-Invoked-Function-Arn");
    let env = [
        ("AWS_LAMBDA_FUNCTION_NAME", "greeter"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/greeter"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/30/[$LATEST]abc"),
    ];
    let run = run(&fake(Script::new().then(full).then(bare)), &env);
    assert_eq!(run.steps(), happy_steps(&["full", "bare"]), "\n{run}");
    let full = json(run.only(Route::Response("full")));
    let remaining = full["context"]["remainingMs"].as_u64().unwrap();
    assert!(remaining > 1_000_000, "{full}");
    let mut context = full["context"].clone();
    context["remainingMs"] = Value::Null;
    assert_eq!(
        context,
        json!({
            "requestId": "full",
            "deadlineMs": 4102444800000u64,
            "remainingMs": null,
            "invokedFunctionArn": "arn:aws:lambda:eu-west-1:1:function:f:live",
            "traceId": "Root=1-a-b;Parent=c;Sampled=1",
            "tenantId": "tenant-7",
            "clientContext": r#"{"client":{}}"#,
            "cognitoIdentity": r#"{"cognitoIdentityId":"x"}"#,
            "functionName": "greeter",
            "functionVersion": "$LATEST",
            "memoryMb": 128,
            "logGroup": "/aws/lambda/greeter",
            "logStream": "2026/11/30/[$LATEST]abc",
            "maxConcurrency": null,
        }),
        "\n{run}"
    );
    assert_eq!(full["env"], "Root=1-a-b;Parent=c;Sampled=1", "\n{run}");
    let bare = json(run.only(Route::Response("bare")));
    assert_eq!(
        bare["env"],
        Value::Null,
        "the trace variable of the last invocation\n{run}"
    );
    assert_eq!(bare["context"]["deadlineMs"], Value::Null);
    assert_eq!(bare["context"]["remainingMs"], Value::Null);
}

/// The lines of one `{"log": ...}` invocation, parsed, as written to stderr.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}")))
        .collect()
}

const LOGS: &str =
    r#"{"log":[["TRACE","t"],["DEBUG","d"],["INFO","i"],["WARN","w\nsecond line"],["ERROR","e"]]}"#;

#[test]
fn json_logs_carry_level_and_request_id_and_honour_the_level() {
    for (level, expected) in [
        (None, &["INFO", "WARN", "ERROR"][..]),
        (Some("TRACE"), &["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]),
        (Some("WARN"), &["WARN", "ERROR"]),
        (Some("FATAL"), &[]),
    ] {
        let mut env = vec![("AWS_LAMBDA_LOG_FORMAT", "JSON")];
        env.extend(level.map(|level| ("AWS_LAMBDA_LOG_LEVEL", level)));
        let run = run(&fake(Script::new().invoke("logs-1", LOGS)), &env);
        let context = format!("level {level:?}\n{run}");
        assert_eq!(run.steps(), happy_steps(&["logs-1"]), "\n{context}");
        let lines = json_lines(&run.stderr);
        // The last line is the runtime's own: the script's 500 on `/next`.
        let (last, function) = lines.split_last().expect("the runtime's last line");
        let levels: Vec<&str> = function.iter().map(|l| l["level"].as_str().unwrap()).collect();
        assert_eq!(levels, expected, "\n{context}");
        for line in function {
            assert_eq!(line["requestId"], "logs-1", "\n{context}");
            assert!(
                line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
                "\n{context}"
            );
            let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                ["level", "message", "requestId", "timestamp"],
                "\n{context}"
            );
        }
        if let Some(warn) = function.iter().find(|l| l["level"] == "WARN") {
            assert_eq!(warn["message"], "w\nsecond line");
        }
        assert_eq!(last["level"], "FATAL", "\n{context}");
        assert!(last["message"].as_str().unwrap().contains("500"), "\n{context}");
    }
}

#[test]
fn text_logs_are_one_line_each_with_level_and_request_id() {
    let run = run(&fake(Script::new().invoke("logs-1", LOGS)), &[]);
    assert_eq!(run.steps(), happy_steps(&["logs-1"]), "\n{run}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "INFO, WARN, ERROR and the runtime's exit\n{run}");
    for (line, (level, message)) in
        lines
            .iter()
            .zip([("INFO", "i"), ("WARN", "w\rsecond line"), ("ERROR", "e")])
    {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[1..], ["logs-1", level, message], "{line:?}\n{run}");
        assert!(fields[0].ends_with('Z'), "{line:?}");
    }
    assert!(lines[3].contains("\tFATAL\t"), "\n{run}");
}
