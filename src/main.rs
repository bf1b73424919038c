//! `bootstrap`: an AWS Lambda custom runtime in one small static binary.
//!
//! Lambda starts this program and it serves invocations until Lambda freezes
//! or ends it: ask the Runtime API for the next event, hand it to the
//! function, post the answer, repeat. The protocol lives in `api`, the
//! function in `handler`, what the function sees of the runtime in
//! `function`.

mod api;
// What a function may use of the runtime: any one function uses a part.
#[allow(dead_code)]
mod function;
// The function: `src/handler.rs`, unless a feature picks one of the examples
// or the runtime tests' own function.
#[cfg_attr(feature = "test-function", path = "../tests/function/mod.rs")]
#[cfg_attr(feature = "example-typed", path = "../examples/typed/handler.rs")]
#[cfg_attr(feature = "example-http", path = "../examples/http/handler.rs")]
#[cfg_attr(feature = "example-logs", path = "../examples/logs/handler.rs")]
#[cfg_attr(feature = "example-stream", path = "../examples/stream/handler.rs")]
mod handler;
mod log;
mod panic;
#[allow(dead_code)] // Reached through `function`: unused by a buffered function.
mod stream;
mod transport;
mod workers;

use std::convert::Infallible;
use std::process::ExitCode;

use api::Client;
use function::{Config, Context, Error, Function};
use handler::Handler;

fn main() -> ExitCode {
    let config = Config::get();
    log::install(config.max_concurrency.is_some());
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(error) => return exit(error),
    };
    panic::install();
    panic::register(&client, true);
    let init = config
        .check()
        .and_then(|()| panic::guard_init(|| Handler::init(config)));
    let function = match init {
        Ok(function) => function,
        Err(error) => {
            log::fatal(format_args!("init failed: {error}"));
            if let Err(error) = client.init_error(&error) {
                log::fatal(error);
            }
            return ExitCode::FAILURE;
        }
    };
    let Err(error) = match config.max_concurrency {
        None => serve(&client, &function),
        Some(workers) => workers::run(workers, &client, function, serve),
    };
    exit(error)
}

/// The loop: returns only when the runtime must stop.
fn serve<F: Function>(client: &Client, function: &F) -> Result<Infallible, api::Error> {
    client.bind_thread();
    panic::register(client, false);
    loop {
        workers::park_if_stopping();
        let invocation = client.next()?;
        let _busy = workers::busy();
        let context = &invocation.context;
        log::set_request_id(&context.request_id);
        if !workers::concurrent() {
            api::set_trace_variable(context.trace_id.as_deref());
        }
        let answer = match workers::refusal() {
            Some(refused) => Err(refused),
            None => invocation.event.and_then(|event| call(function, &event, context)),
        };
        client.answer(context, answer)?;
        log::set_request_id("");
    }
}

/// Decodes the event, runs the function, encodes its answer: all of it
/// the function's code (its types' serde impls too), so a panic anywhere
/// in it is reported (see `panic`).
fn call<F: Function>(function: &F, event: &[u8], context: &Context) -> Result<Vec<u8>, Error> {
    panic::guard(context, || {
        let event = serde_json::from_slice(event).map_err(|error| {
            Error::new(
                "Runtime.InvalidEvent",
                format!("the event does not decode: {error}"),
            )
        })?;
        let output = function.handle(event, context)?;
        serde_json::to_vec(&output).map_err(|error| {
            Error::new(
                "Runtime.InvalidResponse",
                format!("the answer does not encode: {error}"),
            )
        })
    })
}

fn exit(error: api::Error) -> ExitCode {
    log::fatal(error);
    ExitCode::FAILURE
}
