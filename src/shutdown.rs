//! Graceful shutdown (feature `shutdown`): the function's
//! [`Function::SHUTDOWN`] hook, run once when Lambda ends the execution
//! environment.
//!
//! Lambda sends the runtime SIGTERM at shutdown only when an extension is
//! registered; without one the runtime just gets SIGKILL. So a function
//! that has a hook gets an internal extension, registered for no events
//! before the first `/next` (an internal extension may not take the
//! SHUTDOWN event itself), whose next-event poll is asked once and left
//! open: asking it ends the extension's init, and with no events it never
//! answers. On SIGTERM the hook runs and the process exits. Lambda gives
//! the shutdown phase 500 ms when only internal extensions are registered,
//! then sends SIGKILL: a hook has that long.
//!
//! A function without a hook registers nothing and installs no handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Instant;

use signal_hook::consts::SIGTERM;
use signal_hook::iterator::Signals;

use crate::Function;
use crate::client::Client;
use crate::log::{self, Level};

/// The extension's name: an internal extension's is free, and unique in
/// the function.
const EXTENSION_NAME: &str = "lambda-bootstrap-shutdown";

/// Arms `hook` for `function`: SIGTERM runs it, then ends the process.
/// When that can't be set up (an emulator without the Extensions API),
/// says so in a log line, and SIGTERM ends the process as it would without
/// the feature: the function still serves.
pub fn arm<F: Function>(client: &Client, function: &'static F, hook: fn(&F)) {
    // Until the hook is armed, SIGTERM does what it always does (end the
    // process): handlers, once installed, stay, even after a failure below.
    let unarmed = Arc::new(AtomicBool::new(true));
    if let Err(error) = signal_hook::flag::register_conditional_default(SIGTERM, Arc::clone(&unarmed)) {
        return not_armed(error);
    }
    let mut signals = match Signals::new([SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => return not_armed(error),
    };
    let extension = client.worker();
    let id = match extension.register_extension(EXTENSION_NAME) {
        Ok(id) => id,
        Err(why) => return not_armed(why),
    };
    let on_signal = move || {
        if signals.forever().next().is_some() {
            let started = Instant::now();
            log::write(Level::Info, format_args!("SIGTERM: running the shutdown hook"));
            hook(function);
            let took = started.elapsed();
            log::write(Level::Info, format_args!("shutdown hook done in {took:?}"));
            std::process::exit(0);
        }
    };
    // The poll is the extension's: it never answers, so its thread waits
    // for good (and ends quietly if the API goes away).
    let poll = move || while extension.next_extension_event(&id).is_ok() {};
    let spawned = thread::Builder::new()
        .spawn(on_signal)
        .and_then(|_| thread::Builder::new().spawn(poll));
    match spawned {
        Ok(_) => unarmed.store(false, Ordering::SeqCst),
        Err(error) => not_armed(error),
    }
}

fn not_armed(why: impl std::fmt::Display) {
    log::write(
        Level::Warn,
        format_args!("the shutdown hook is not armed ({why}): SIGTERM ends the process without it"),
    );
}
