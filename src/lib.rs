//! The smallest correct AWS Lambda custom runtime: your function in one
//! small static binary named `bootstrap`, for `provided.al2023`.
//!
//! Implement [`Function`] (an event type serde can decode, an answer type
//! it can encode, `init` once and `handle` per event) and hand it to
//! [`run`] from `main`:
//!
//! ```no_run
//! use lambda_bootstrap::{Config, Context, Error, Function, info};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Order {
//!     id: u64,
//!     items: Vec<u32>,
//! }
//!
//! #[derive(Serialize)]
//! struct Receipt {
//!     id: u64,
//!     total: u32,
//! }
//!
//! struct Checkout;
//!
//! impl Function for Checkout {
//!     type Event = Order;
//!     type Output = Receipt;
//!
//!     fn init(_config: &Config) -> Result<Checkout, Error> {
//!         Ok(Checkout)
//!     }
//!
//!     fn handle(&self, order: Order, context: &Context) -> Result<Receipt, Error> {
//!         info!("order {} for {}", order.id, context.request_id);
//!         Ok(Receipt { id: order.id, total: order.items.iter().sum() })
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     lambda_bootstrap::run::<Checkout>()
//! }
//! ```
//!
//! The runtime speaks the whole Lambda Runtime API: buffered and streamed
//! answers ([`Context::stream`]), Lambda Managed Instances (several
//! invocations at once, one worker thread each), errors and panics reported
//! to the caller, logs in Lambda's text or JSON format. Its only
//! dependencies are `ureq` (plain HTTP, no TLS), `serde` and `serde_json`.
//! The repository's `docs/design.md` explains how each part works and why.
//!
//! # The loop
//!
//! [`run`] reads the configuration, builds the function, then runs the
//! loop, `serve`, below: ask the Runtime API for the next event, decode it,
//! call the function, encode its answer, post it, repeat. Under Managed
//! Instances each worker thread runs the same loop on a connection of its
//! own.

#![warn(missing_docs)]

mod address;
mod client;
mod config;
mod context;
mod error;
mod fatal;
mod function;
mod headers;
mod lend;
pub mod log;
mod panic;
#[cfg(feature = "shutdown")]
mod shutdown;
mod status;
mod stream;
mod transport;
mod workers;
mod xray;

use std::convert::Infallible;
use std::process::ExitCode;

pub use config::{Config, MAX_CONCURRENCY};
pub use context::Context;
pub use error::Error;
pub use function::Function;
pub use log::Level;
pub use stream::Stream;

use client::{Client, Invocation};
use fatal::Fatal;

/// Runs function `F` as Lambda's runtime until Lambda ends the process:
/// what `main` calls. Returns only when the runtime cannot go on (no
/// Runtime API, a failed `init`, a broken API), after logging why, with the
/// exit code to end the process with.
pub fn run<F: Function + 'static>() -> ExitCode {
    let config = Config::get();
    log::install(config.max_concurrency.is_some());
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(fatal) => return exit(fatal),
    };
    panic::install();
    panic::register(&client);
    let init = config
        .check()
        .and_then(|()| panic::guard_init(|| F::init(config)));
    let function = match init {
        Ok(function) => function,
        Err(error) => {
            log::fatal(format_args!("init failed: {error}"));
            if let Err(fatal) = client.init_error(&error) {
                log::fatal(fatal);
            }
            return ExitCode::FAILURE;
        }
    };
    // It serves until the process ends (and a shutdown hook may run on
    // another thread meanwhile).
    let function: &'static F = Box::leak(Box::new(function));
    #[cfg(feature = "shutdown")]
    if let Some(hook) = F::SHUTDOWN {
        shutdown::arm(&client, function, hook);
    }
    let Err(fatal) = match config.max_concurrency {
        None => serve(&client, function),
        Some(workers) => workers::run(workers, &client, function, serve),
    };
    exit(fatal)
}

/// The loop: returns only when the runtime must stop.
fn serve<F: Function>(client: &Client, function: &F) -> Result<Infallible, Fatal> {
    panic::register(client);
    loop {
        workers::park_if_stopping();
        let Invocation { context, body } = client.next()?;
        // From its head on, the invocation is this worker's to answer: a
        // process that stops from now on waits for it.
        let _busy = workers::busy();
        let stopping = workers::stopping_error();
        let event = body.read()?;
        log::set_request_id(&context.request_id);
        if !workers::concurrent() {
            xray::set_trace_variable(context.trace_id.as_deref());
        }
        let answer = match stopping {
            Some(stopping) => Err(stopping),
            None => event.and_then(|event| call(function, &event, &context)),
        };
        client.answer(&context, answer)?;
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
        let answer = serde_json::to_vec(&output).map_err(|error| {
            Error::new(
                "Runtime.InvalidResponse",
                format!("the answer does not encode: {error}"),
            )
        })?;
        // A streamed answer is the stream: a value beside it would be lost.
        if answer != b"null" && context.is_streaming() {
            return Err(Error::new(
                "Runtime.InvalidResponse",
                "the function streamed its answer and also returned a value; a streaming function returns Ok(())",
            ));
        }
        Ok(answer)
    })
}

fn exit(fatal: Fatal) -> ExitCode {
    log::fatal(fatal);
    ExitCode::FAILURE
}
