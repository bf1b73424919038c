//! The official runtime in its Lambda Managed Instances mode: with
//! `AWS_LAMBDA_MAX_CONCURRENCY=N`, `run_concurrent` spawns N tokio tasks, each
//! its own `/next` loop, on tokio's multi-threaded runtime (`#[tokio::main]`).
//!
//! The handler answers as bootstrap's `test-function` build does, so both are
//! driven with the same events: a JSON object gets `{"requestId": "<id>"}`,
//! plus `"echo"` with the event's `"echo"` value when it has one, after
//! sleeping `"sleep_ms"` milliseconds when it asks to; any other JSON value is
//! a `Runtime.InvalidEvent` error (bytes that are not JSON never reach the
//! handler: the runtime reports them itself).
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{Map, Value};
use std::time::Duration;

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let Value::Object(fields) = &event.payload else {
        return Err(Diagnostic {
            error_type: "Runtime.InvalidEvent".into(),
            error_message: "the event is not a JSON object".into(),
        });
    };
    if let Some(ms) = fields.get("sleep_ms").and_then(Value::as_u64) {
        // Waiting the way an async handler waits: the worker task yields.
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut answer = Map::new();
    answer.insert("requestId".into(), event.context.request_id.into());
    if let Some(echo) = fields.get("echo") {
        answer.insert("echo".into(), echo.clone());
    }
    Ok(Value::Object(answer))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run_concurrent(service_fn(handle)).await
}
