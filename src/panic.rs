//! Reporting a panic in the function before the process goes down.
//!
//! The release build uses `panic = "abort"`, so nothing can catch a panic;
//! but the panic hook runs before the abort. While `Function::init` runs,
//! the hook posts `Runtime.Panic` to `/init/error`; while the function
//! handles an invocation, to that invocation (its `/error`, or the error
//! trailers of a stream already under way). The caller then sees the panic
//! message instead of a bare `Runtime.ExitError`. Under Lambda Managed
//! Instances the other workers' answers go out before the process ends.

use std::cell::RefCell;
use std::panic::{self, PanicHookInfo};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::client::Client;
use crate::workers;
use crate::{Context, Error};

/// What a thread that serves invocations is doing, for the hook to report.
enum Running {
    Nothing,
    Init,
    /// Only what an answer needs (request and invocation ids, the outlet).
    Invocation(Context),
}

/// One per serving thread: its client and what it runs. Only that thread
/// and the hook lock it, so the lock is never contended.
struct Slot {
    client: Client,
    running: Mutex<Running>,
}

thread_local! {
    static SLOT: RefCell<Option<Arc<Slot>>> = const { RefCell::new(None) };
}

/// The main thread's slot: in Lambda's classic mode the one invocation in
/// flight is there, so a panic on a thread the function started is
/// reported against it.
static MAIN: OnceLock<Arc<Slot>> = OnceLock::new();

/// Installs the hook. The process always ends after a panic, whatever the
/// profile or thread, so every build behaves like the one that ships.
pub fn install() {
    panic::set_hook(Box::new(|info| {
        // One log line (JSON when the function logs JSON), where std's hook
        // would write several.
        let description = describe(info);
        crate::log::fatal(format_args!("panicked: {description}"));
        // No new invocation from here on, before this one is reported.
        workers::refuse_new_work();
        let slot = SLOT
            .with(|slot| slot.try_borrow().ok()?.clone())
            .or_else(|| MAIN.get().filter(|_| !workers::concurrent()).cloned());
        if let Some(slot) = slot {
            let error = Error::new("Runtime.Panic", description);
            let reported = match replace(&slot, Running::Nothing) {
                Running::Nothing => Ok(()),
                Running::Init => slot.client.init_error(&error),
                Running::Invocation(context) => {
                    let answered = slot.client.answer(&context, Err(error));
                    workers::answered_elsewhere();
                    answered
                }
            };
            if let Err(error) = reported {
                crate::log::fatal(error);
            }
        }
        workers::stop();
        std::process::abort();
    }));
}

/// Makes this thread a serving thread that answers through `client`
/// (once: the main thread keeps the slot it had during init).
pub fn register(client: &Client, main: bool) {
    if SLOT.with(|slot| slot.borrow().is_some()) {
        return;
    }
    let slot = Arc::new(Slot {
        client: client.clone(),
        running: Mutex::new(Running::Nothing),
    });
    if main {
        let _ = MAIN.set(Arc::clone(&slot));
    }
    SLOT.with(|current| *current.borrow_mut() = Some(slot));
}

/// Runs `Function::init` with the hook armed for start-up.
pub fn guard_init<T>(init: impl FnOnce() -> T) -> T {
    arm(Running::Init, init)
}

/// Runs the function with the hook armed for this invocation.
pub fn guard<T>(context: &Context, function: impl FnOnce() -> T) -> T {
    let answer_needs = Context {
        request_id: context.request_id.clone(),
        invocation_id: context.invocation_id.clone(),
        outlet: context.outlet.clone(),
        ..Context::default()
    };
    arm(Running::Invocation(answer_needs), function)
}

fn arm<T>(running: Running, work: impl FnOnce() -> T) -> T {
    let Some(slot) = SLOT.with(|slot| slot.borrow().clone()) else {
        return work();
    };
    replace(&slot, running);
    let result = work();
    if let Running::Nothing = replace(&slot, Running::Nothing) {
        // A thread the function started panicked: the hook has taken this
        // invocation and is answering it before it aborts the process.
        // Answering here too would answer twice.
        loop {
            std::thread::park();
        }
    }
    result
}

fn replace(slot: &Slot, running: Running) -> Running {
    let mut current = slot.running.lock().unwrap_or_else(PoisonError::into_inner);
    std::mem::replace(&mut current, running)
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
