//! Response streaming: the real binary (with the runtime tests' own
//! function) streams an answer as a chunked `POST /response` on its own
//! connection, each write a chunk sent at once, and reports a failure after
//! the first byte in HTTP trailers. The fake API records each chunk as it
//! arrives and the trailers.

mod common;

use std::time::Duration;

use common::*;
use fake_api::{Invocation, Reply, Route, Script, Server};
use serde_json::{Value, json};

const ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
const ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";

fn fake(script: Script) -> Server {
    Server::start(script).expect("start the fake API")
}

fn stream(command: Value) -> String {
    json!({ "stream": command }).to_string()
}

fn trailer<'a>(request: &'a fake_api::Request, name: &str) -> Option<&'a str> {
    request
        .trailers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// RFC 4648 base64, for the error body trailer.
fn unbase64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {text:?}"),
    };
    let (mut out, mut bits, mut count) = (Vec::new(), 0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        bits = bits << 6 | u32::from(value(c));
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// Runs `event` as invocation `s-1`, then a plain invocation `after`.
fn stream_then_another(event: &str) -> Run {
    run(
        &fake(Script::new().invoke("s-1", event).invoke("after", "{}")),
        &[],
    )
}

/// The error type trailer of a streamed answer, and the error body trailer
/// decoded.
fn error_trailers(answer: &fake_api::Request) -> (Option<&str>, Option<Value>) {
    let body = trailer(answer, ERROR_BODY).map(|b| serde_json::from_slice(&unbase64(b)).unwrap());
    (trailer(answer, ERROR_TYPE), body)
}

/// Asserts `request` is a streamed answer as the Runtime API specifies it.
fn assert_streamed(request: &fake_api::Request, content_type: &str) {
    assert!(request.chunked, "not chunked: {request:?}");
    assert_eq!(
        request.header("Lambda-Runtime-Function-Response-Mode"),
        Some("streaming")
    );
    assert_eq!(request.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(
        request.header("Trailer"),
        Some("Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
    );
    assert_eq!(request.header("Content-Type"), Some(content_type));
}

/// Each write reaches the API when the function makes it: the first chunk
/// is there while the function is still pausing before the second.
#[test]
fn chunks_arrive_as_the_function_writes_them() {
    let event = stream(json!({"chunks": ["one", "two", "three"], "pause_ms": 400}));
    let server = fake(
        Script::new()
            .invoke("s-1", &event)
            .invoke("after", r#"{"echo":1}"#)
            .invoke("later", r#"{"echo":2}"#),
    );
    let started = start(&server, &[]);
    let early = server.wait_for_chunks(1, Duration::from_secs(10));
    assert_eq!(early.len(), 1, "no stream in progress");
    assert_eq!(early[0].route(), Route::Response("s-1"));
    let first_seen = early[0].chunks[0];
    let run = started.wait(&server);
    assert_eq!(
        run.steps(),
        [
            "next",
            "response s-1",
            "next",
            "response after",
            "next",
            "response later",
            "next"
        ],
        "\n{run}"
    );
    let answer = run.only(Route::Response("s-1"));
    assert_streamed(answer, "application/octet-stream");
    assert_eq!(answer.body, b"onetwothree", "\n{run}");
    let lengths: Vec<usize> = answer.chunks.iter().map(|c| c.len).collect();
    assert_eq!(lengths, [3, 3, 5], "one chunk per write\n{run}");
    assert_eq!(answer.chunks[0], first_seen);
    assert!(
        answer.chunks[1].at - answer.chunks[0].at >= Duration::from_millis(300),
        "\n{run}"
    );
    assert!(answer.trailers.is_empty(), "no error trailers on success\n{run}");
    // AWS asks for the connection to be closed after a stream: the next
    // `/next` comes on a new one, which then carries every later call.
    assert_eq!(
        run.requests[1].conn, run.requests[0].conn,
        "streamed on its own connection\n{run}"
    );
    assert_ne!(run.requests[2].conn, run.requests[1].conn, "\n{run}");
    assert!(
        run.requests[2..].iter().all(|r| r.conn == run.requests[2].conn),
        "one keep-alive connection after the stream\n{run}"
    );
    assert_answered_once(&run, &[]);
}

/// A failure after the first byte goes in the trailers: the type, and the
/// error body in base64. Not a second answer on `/error`.
#[test]
fn a_failure_after_the_first_byte_is_in_the_trailers() {
    let event =
        stream(json!({"chunks": ["partial"], "fail": {"type": "Function.Broke", "message": "mid-stream"}}));
    let run = stream_then_another(&event);
    assert_eq!(run.steps(), happy_steps(&["s-1", "after"]), "\n{run}");
    let answer = run.only(Route::Response("s-1"));
    assert_eq!(answer.body, b"partial");
    let body = json!({"errorMessage": "mid-stream", "errorType": "Function.Broke"});
    assert_eq!(
        error_trailers(answer),
        (Some("Function.Broke"), Some(body)),
        "\n{run}"
    );
}

/// Before the first byte nothing has gone out: the error is an ordinary
/// `/error`, and the stream is never started.
#[test]
fn a_failure_before_the_first_byte_goes_to_error() {
    let event = stream(json!({"fail": {"type": "Function.Early", "message": "no data"}}));
    let run = stream_then_another(&event);
    assert_eq!(
        run.steps(),
        ["next", "error s-1", "next", "response after", "next"],
        "\n{run}"
    );
    assert_error_report(run.only(Route::Error("s-1")), "Function.Early");
    run.assert_one_connection();
}

/// A panic mid-stream (`panic = "abort"`) still ends the stream with the
/// `Runtime.Panic` trailers before the process goes down.
#[test]
fn a_panic_mid_stream_is_in_the_trailers() {
    let event = stream(json!({"chunks": ["partial"], "panic": "boom"}));
    let run = run(
        &fake(Script::new().invoke("s-1", &event).invoke("never", "{}")),
        &[],
    );
    assert_eq!(run.steps(), ["next", "response s-1"], "\n{run}");
    run.assert_failed();
    let answer = run.only(Route::Response("s-1"));
    assert_eq!(answer.body, b"partial");
    let (error_type, body) = error_trailers(answer);
    assert_eq!(error_type, Some("Runtime.Panic"), "\n{run}");
    let body = body.expect("an error body trailer");
    assert!(body["errorMessage"].as_str().unwrap().contains("boom"), "{body}");
}

/// A function URL answer: the JSON prelude, eight NUL bytes, the body.
#[test]
fn an_http_stream_starts_with_its_prelude() {
    let http = json!({"status": 201, "headers": [["content-type", "text/event-stream"]], "cookies": ["a=b"]});
    let event = stream(json!({"http": http, "chunks": ["data: 1\n\n", "data: 2\n\n"]}));
    let run = run(&fake(Script::new().invoke("s-1", &event)), &[]);
    let answer = run.only(Route::Response("s-1"));
    assert_streamed(answer, "application/vnd.awslambda.http-integration-response");
    let split = answer
        .body
        .windows(8)
        .position(|w| w == [0; 8])
        .expect("eight NUL bytes");
    let sent: Value = serde_json::from_slice(&answer.body[..split]).unwrap();
    assert_eq!(
        sent,
        json!({"statusCode": 201, "headers": {"content-type": "text/event-stream"}, "cookies": ["a=b"]})
    );
    assert_eq!(&answer.body[split + 8..], b"data: 1\n\ndata: 2\n\n");
    // The prelude and the separator in a chunk each (`cargo lambda watch`
    // reads them as one frame each), then one chunk per write.
    let lengths: Vec<usize> = answer.chunks.iter().map(|c| c.len).collect();
    assert_eq!(lengths, [split, 8, 9, 9], "\n{run}");
}

/// A stream the function opens and closes without a byte: an empty body.
#[test]
fn an_empty_stream_is_an_empty_answer() {
    let run = stream_then_another(&stream(json!({})));
    assert_eq!(run.steps(), happy_steps(&["s-1", "after"]), "\n{run}");
    let answer = run.only(Route::Response("s-1"));
    assert_streamed(answer, "application/octet-stream");
    assert!(answer.body.is_empty() && answer.chunks.is_empty(), "\n{run}");
}

/// Over the 6 MB buffered limit: 20 MB stream through, in order.
#[test]
fn a_20_mb_stream() {
    let bytes = 20 * 1000 * 1000;
    let run = run(
        &fake(Script::new().invoke("big", stream(json!({"bytes": bytes})))),
        &[],
    );
    let answer = run.only(Route::Response("big"));
    assert_eq!(answer.body.len(), bytes, "\n{run}");
    assert!(answer.body.iter().all(|&b| b == b'x'));
    assert_eq!(answer.chunks.len(), bytes.div_ceil(64 * 1024));
}

/// The API refusing the stream (a 4xx before it is read) is logged, and the
/// runtime goes on with the next invocation.
#[test]
fn a_refused_stream_is_logged_and_the_loop_goes_on() {
    let event = stream(json!({"bytes": 4 * 1024 * 1024}));
    let script = Script::new()
        .invoke("refused", &event)
        .on_response("refused", Reply::Early(413))
        .invoke("after", r#"{"echo":1}"#);
    let run = run(&fake(script), &[]);
    assert_eq!(
        run.steps(),
        ["next", "response refused", "next", "response after", "next"],
        "\n{run}"
    );
    assert!(run.stderr.contains("413"), "\n{run}");
    assert_answered_once(&run, &[]);
}

/// Under Managed Instances every worker streams on its own connection.
#[test]
fn concurrent_workers_stream_side_by_side() {
    let event = stream(json!({"chunks": ["a", "b"], "pause_ms": 300}));
    let script = Script::new().invoke("s-1", &event).invoke("s-2", &event);
    let run = run(&fake(script), &[("AWS_LAMBDA_MAX_CONCURRENCY", "2")]);
    assert_answered_once(&run, &[]);
    let (one, two) = (run.only(Route::Response("s-1")), run.only(Route::Response("s-2")));
    assert_eq!(
        (one.body.as_slice(), two.body.as_slice()),
        (&b"ab"[..], &b"ab"[..])
    );
    assert_ne!(one.conn, two.conn, "\n{run}");
    // Both were under way at once.
    assert!(
        one.chunks[0].at < two.chunks[1].at && two.chunks[0].at < one.chunks[1].at,
        "\n{run}"
    );
}

/// The stream is the invocation's, not a thread's: a function may write it
/// from a thread of its own.
#[test]
fn a_stream_written_from_a_thread_of_the_functions() {
    let event = json!({"on_thread": true, "stream": {"chunks": ["from ", "a thread"]}}).to_string();
    let run = stream_then_another(&event);
    assert_eq!(run.steps(), happy_steps(&["s-1", "after"]), "\n{run}");
    let answer = run.only(Route::Response("s-1"));
    assert_streamed(answer, "application/octet-stream");
    assert_eq!(answer.body, b"from a thread", "\n{run}");
}

/// A streaming function answers through its stream: a value it returns
/// beside it is not dropped unnoticed but makes the answer
/// `Runtime.InvalidResponse`, in the trailers after the first byte, on
/// `/error` before it.
#[test]
fn a_value_returned_beside_a_stream_is_an_invalid_response() {
    let after_a_byte = stream(json!({"chunks": ["partial"], "also_return": true}));
    let run = stream_then_another(&after_a_byte);
    assert_eq!(run.steps(), happy_steps(&["s-1", "after"]), "\n{run}");
    let answer = run.only(Route::Response("s-1"));
    assert_eq!(answer.body, b"partial");
    let (error_type, body) = error_trailers(answer);
    assert_eq!(error_type, Some("Runtime.InvalidResponse"), "\n{run}");
    assert!(
        body.unwrap()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("returned a value"),
        "\n{run}"
    );

    let before_a_byte = stream(json!({"also_return": true}));
    let run = stream_then_another(&before_a_byte);
    assert_eq!(
        run.steps(),
        ["next", "error s-1", "next", "response after", "next"],
        "\n{run}"
    );
    assert_error_report(run.only(Route::Error("s-1")), "Runtime.InvalidResponse");
}

/// One `write!` is one chunk, however many pieces its format has.
#[test]
fn one_write_macro_is_one_chunk() {
    let run = stream_then_another(&stream(json!({"events": 3})));
    let answer = run.only(Route::Response("s-1"));
    let events: Vec<String> = (1..=3)
        .map(|k| format!("id: {k}\ndata: {{\"tick\":{k},\"of\":3}}\n\n"))
        .collect();
    assert_eq!(answer.body, events.concat().as_bytes(), "\n{run}");
    let lengths: Vec<usize> = answer.chunks.iter().map(|c| c.len).collect();
    let expected: Vec<usize> = events.iter().map(String::len).collect();
    assert_eq!(lengths, expected, "one chunk per write!\n{run}");
}

/// `examples/stream`, the server-sent events example, sends one chunk per
/// event after its prelude and separator.
#[test]
fn the_sse_example_sends_one_chunk_per_event() {
    let example = build_example("stream");
    let event = json!({"queryStringParameters": {"count": "4"}}).to_string();
    let server = fake(Script::new().invoke("sse", &event));
    let run = run_bin(&example, &server, Some(&server.addr()), &[]);
    let answer = run.only(Route::Response("sse"));
    assert_streamed(answer, "application/vnd.awslambda.http-integration-response");
    let lengths: Vec<usize> = answer.chunks.iter().map(|c| c.len).collect();
    assert_eq!(lengths.len(), 2 + 4, "prelude, separator, four events\n{run}");
    assert_eq!(lengths[1], 8, "\n{run}");
    let body = String::from_utf8_lossy(&answer.body);
    for k in 1..=4 {
        assert!(body.contains(&format!("id: {k}\n")), "{body}");
    }
}

/// One large write goes out as it is: one chunk, and no copy of it (the
/// process's peak memory is the function's buffer and little more).
#[test]
fn a_64_mib_write_is_one_chunk_without_a_copy() {
    let mib = 64;
    let run = stream_then_another(&stream(json!({"one_write_mib": mib})));
    let answer = run.only(Route::Response("s-1"));
    assert_eq!(answer.body.len(), mib << 20, "\n{}", run.stderr);
    assert_eq!(answer.chunks.len(), 1);
    let peak_kib: usize = run
        .stderr
        .lines()
        .find_map(|line| line.split("peak rss: ").nth(1))
        .and_then(|rest| rest.trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS line:\n{}", run.stderr));
    let budget_kib = (mib + 2) << 10;
    assert!(
        peak_kib <= budget_kib,
        "peak RSS {peak_kib} KiB for a {mib} MiB write (budget {budget_kib} KiB)"
    );
    eprintln!("peak RSS with one {mib} MiB write: {peak_kib} KiB");
}

/// A stream belongs to its invocation alone: a thread of the function's
/// that keeps its `Context` and opens the stream after the invocation was
/// answered, while the next one runs, writes nothing, answers nothing, and
/// takes nothing from the next one.
#[test]
fn a_context_kept_past_its_invocation_streams_nothing() {
    let script = Script::new()
        .invoke("first", r#"{"late_stream":true,"echo":1}"#)
        .invoke("second", r#"{"late_stream_check":true,"echo":2}"#);
    let run = run(&fake(script), &[]);
    assert_eq!(run.steps(), happy_steps(&["first", "second"]), "\n{run}");
    assert_answered_once(&run, &[]);
    assert_eq!(
        json(run.only(Route::Response("second"))),
        answer("second", json!({"echo": 2}))
    );
    assert!(run.requests.iter().all(|r| !r.chunked), "\n{run}");
    assert!(run.stderr.contains("late write refused"), "\n{run}");
}

/// The same when the next invocation has the *same* request id, as an
/// asynchronous retry landing on the same worker does: the kept `Context`
/// is of an invocation that is over, whatever its id, so the retry is
/// answered by its own function alone, buffered, once.
#[test]
fn a_context_kept_past_its_invocation_streams_nothing_into_its_retry() {
    let script = Script::new()
        .invoke("retried", r#"{"late_stream":true,"echo":1}"#)
        .invoke("retried", r#"{"late_stream_check":true,"echo":2}"#);
    let run = run(&fake(script), &[]);
    assert_eq!(run.steps(), happy_steps(&["retried", "retried"]), "\n{run}");
    let answers: Vec<Value> = run
        .requests
        .iter()
        .filter(|r| r.route() == Route::Response("retried"))
        .map(json)
        .collect();
    assert_eq!(
        answers,
        [
            answer("retried", json!({"echo": 1})),
            answer("retried", json!({"echo": 2}))
        ],
        "\n{run}"
    );
    assert!(run.requests.iter().all(|r| !r.chunked), "\n{run}");
    assert!(run.stderr.contains("late write refused"), "\n{run}");
}

/// A stream on an invocation with an invocation id echoes it.
#[test]
fn the_invocation_id_is_echoed_on_a_stream() {
    let invocation = Invocation::new("s-1", stream(json!({"chunks": ["x"]})))
        .header("Lambda-Runtime-Invocation-Id", "inv-7");
    let run = run(&fake(Script::new().then(invocation)), &[]);
    let answer = run.only(Route::Response("s-1"));
    assert_eq!(answer.header("Lambda-Runtime-Invocation-Id"), Some("inv-7"));
}
