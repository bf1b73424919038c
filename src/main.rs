//! `bootstrap`: an AWS Lambda custom runtime in one small static binary.
//!
//! Lambda starts this program and it serves invocations until Lambda freezes
//! or ends it: ask the Runtime API for the next event, hand it to the
//! handler, post the answer, repeat. The protocol lives in `api`, the
//! function in `handler`.

mod alloc;
mod api;
mod handler;
mod log;
mod panic;
mod transport;

use std::process::ExitCode;

use serde_json::Value;

use api::{Client, Diagnostic, Error};
use handler::Handler;

#[global_allocator]
static ALLOCATOR: alloc::Allocator = alloc::Allocator::new();

fn main() -> ExitCode {
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(error) => return exit(&error),
    };
    panic::install(client.clone());
    let handler = match panic::guard_init(init) {
        Ok(handler) => handler,
        Err(diagnostic) => {
            let Diagnostic { error_type, message } = &diagnostic;
            log::error(None, format_args!("init failed: {error_type}: {message}"));
            if let Err(error) = client.init_error(&diagnostic) {
                log::error(None, error);
            }
            return ExitCode::FAILURE;
        }
    };
    match serve(&client, &handler) {
        Err(error) => exit(&error),
    }
}

/// The loop: returns only when the runtime must stop.
fn serve(client: &Client, handler: &Handler) -> Result<std::convert::Infallible, Error> {
    loop {
        let invocation = client.next()?;
        let context = &invocation.context;
        let result = invocation
            .event
            .and_then(|bytes| parse(&bytes))
            .and_then(|event| panic::guard(context, || call(handler, event, context)));
        client.answer(context, result)?;
    }
}

fn init() -> Result<Handler, Diagnostic> {
    // Test builds only: lets the integration tests prove init panics are reported.
    #[cfg(feature = "panic-probe")]
    if let Some(message) = std::env::var_os("PANIC_PROBE_INIT") {
        panic!("{}", message.to_string_lossy());
    }
    Handler::init()
}

fn parse(bytes: &[u8]) -> Result<Value, Diagnostic> {
    serde_json::from_slice(bytes)
        .map_err(|error| Diagnostic::new("Runtime.InvalidEvent", format!("the event is not JSON: {error}")))
}

fn call(handler: &Handler, event: Value, context: &api::Context) -> Result<Value, Diagnostic> {
    // Test builds only: lets the integration tests prove panic reporting.
    #[cfg(feature = "panic-probe")]
    if let Some(message) = event.get("panic").and_then(Value::as_str) {
        panic!("{message}");
    }
    handler.handle(event, context)
}

fn exit(error: &Error) -> ExitCode {
    log::error(None, error);
    ExitCode::FAILURE
}
