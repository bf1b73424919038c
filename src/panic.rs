//! Reporting a panic in the function before the process goes down.
//!
//! The release build uses `panic = "abort"`, so nothing can catch a panic;
//! but the panic hook runs before the abort. While `Handler::init` runs, the
//! hook posts `Runtime.Panic` to `/init/error`; while the handler runs, to
//! the invocation's `/error`. The caller then sees the panic message instead
//! of a bare `Runtime.ExitError`.

use std::panic::{self, PanicHookInfo};
use std::sync::{Mutex, PoisonError};

use crate::api::{Client, Context, Diagnostic};

/// What the function is doing, for the hook to report.
enum Running {
    Nothing,
    Init,
    /// Only what an answer needs (request and invocation ids).
    Invocation(Context),
}

/// The hook takes what it reports, so nothing is answered twice.
static RUNNING: Mutex<Running> = Mutex::new(Running::Nothing);

/// Installs the hook. The process always ends after a panic, whatever the
/// profile or thread, so every build behaves like the one that ships.
pub fn install(client: Client) {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let diagnostic = Diagnostic::new("Runtime.Panic", describe(info));
        let reported = match replace(Running::Nothing) {
            Running::Nothing => Ok(()),
            Running::Init => client.init_error(&diagnostic),
            Running::Invocation(context) => client.answer(&context, Err(diagnostic)),
        };
        if let Err(error) = reported {
            crate::log::error(None, error);
        }
        std::process::abort();
    }));
}

/// Runs `Handler::init` with the hook armed for start-up.
pub fn guard_init<T>(init: impl FnOnce() -> T) -> T {
    arm(Running::Init, init)
}

/// Runs the handler with the hook armed for this invocation.
pub fn guard<T>(context: &Context, handler: impl FnOnce() -> T) -> T {
    let answer_needs = Context {
        request_id: context.request_id.clone(),
        invocation_id: context.invocation_id.clone(),
        ..Context::default()
    };
    arm(Running::Invocation(answer_needs), handler)
}

fn arm<T>(running: Running, work: impl FnOnce() -> T) -> T {
    replace(running);
    let result = work();
    if let Running::Nothing = replace(Running::Nothing) {
        // A thread the function started panicked: the hook has taken this
        // invocation and is answering it before it aborts the process.
        // Answering here too would answer twice.
        loop {
            std::thread::park();
        }
    }
    result
}

fn replace(running: Running) -> Running {
    let mut slot = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    std::mem::replace(&mut slot, running)
}

/// `boom at src/handler.rs:12:5`: the payload and where it was raised.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic with a non-string payload");
    match info.location() {
        Some(location) => format!("{message} at {location}"),
        None => message.to_owned(),
    }
}
