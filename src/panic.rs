//! Reporting a panic in the handler before the process goes down.
//!
//! The release build uses `panic = "abort"`, so nothing can catch a panic;
//! but the panic hook runs before the abort. While the handler runs, the
//! hook knows the invocation and posts `Runtime.Panic` to its `/error`, so
//! the caller sees the panic message instead of a bare `Runtime.ExitError`.

use std::panic::{self, PanicHookInfo};
use std::sync::Mutex;

use crate::api::{Client, Context, Diagnostic};

/// The invocation the handler is working on, if any. The hook takes it, so
/// an invocation is never answered twice.
static RUNNING: Mutex<Option<Context>> = Mutex::new(None);

/// Installs the hook. The process always ends after a panic, whatever the
/// profile, so every build behaves like the one that ships.
pub fn install(client: Client) {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let running = RUNNING.lock().ok().and_then(|mut running| running.take());
        if let Some(context) = running {
            let diagnostic = Diagnostic::new("Runtime.Panic", describe(info));
            if let Err(error) = client.answer(&context, Err(diagnostic)) {
                crate::log::error(Some(&context.request_id), error);
            }
        }
        std::process::abort();
    }));
}

/// Runs the handler with the hook armed for this invocation.
pub fn guard<T>(context: &Context, handler: impl FnOnce() -> T) -> T {
    // Only what an answer needs: this runs for every invocation.
    set_running(Some(Context {
        request_id: context.request_id.clone(),
        invocation_id: context.invocation_id.clone(),
        ..Context::default()
    }));
    let result = handler();
    set_running(None);
    result
}

fn set_running(context: Option<Context>) {
    if let Ok(mut running) = RUNNING.lock() {
        *running = context;
    }
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
