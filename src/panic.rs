//! Panics in the function, reported to the caller as `Runtime.Panic`.
//!
//! The default build has `panic = "abort"`: nothing can catch a panic, but
//! the panic hook runs before the process aborts. It reports the panic to
//! what the panicking thread was running: `/init/error` during
//! `Function::init`, else the invocation's `/error` (or the error trailers
//! of a stream already under way). A thread of the function's own (a
//! scoped thread, rayon's) runs nothing the runtime knows of, so its panic
//! is reported to every invocation in flight, any of which may have started
//! it: one in Lambda's classic mode, all of them under Managed Instances,
//! whose workers would otherwise wait forever on the dead thread. Then the
//! other workers' answers go out and the process ends; Lambda starts a new
//! one for the next invocation.
//!
//! Built with `panic = "unwind"` (`make build PANIC=unwind`), [`guard`]
//! catches the panic instead: that invocation (or `init`) is answered
//! `Runtime.Panic` and the process goes on serving, in either mode. The
//! hook then only logs the panic and keeps its description (with the
//! location, which the caught payload lacks) for [`guard`] to report: this
//! thread's own, or, for a payload a scoped thread's `join` handed back and
//! the function resumed (`resume_unwind` runs no hook), the last panic's on
//! any thread with that message. A scoped thread that panics and is not
//! joined makes `std::thread::scope` panic anew ("a scoped thread
//! panicked"): that is what is reported, the thread's own panic is in the
//! log line before it.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::{Arc, Mutex, PoisonError};

use crate::client::Client;
use crate::log::{self, Level};
use crate::workers;
use crate::{Context, Error};

/// Whether panics unwind (and are caught by [`guard`]) in this build.
const UNWINDS: bool = cfg!(panic = "unwind");

/// What a thread that serves invocations is doing, for the hook to report.
enum Running {
    Nothing,
    Init,
    /// Only what an answer needs (request and invocation ids, the outlet and
    /// the serial on it).
    Invocation(Context),
    /// The hook answered this thread's invocation (and counted it out of
    /// the invocations in flight): the thread must not answer it, nor
    /// count it out, again.
    Answered,
}

/// One per serving thread: its client and what it runs. Only that thread
/// and the hook lock it, so the lock is never contended.
struct Slot {
    client: Client,
    running: Mutex<Running>,
}

thread_local! {
    /// This thread's slot, if it serves invocations.
    static SLOT: RefCell<Option<Arc<Slot>>> = const { RefCell::new(None) };
    /// With `panic = "unwind"`: the description of the panic unwinding
    /// this thread, for [`guard`] to report.
    static UNWINDING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// With `panic = "unwind"`: the description of the last panic on any
/// thread, for [`guard`] to report a panic that unwound a scoped thread of
/// the function's and was resumed on the serving thread.
static LAST_UNWOUND: Mutex<Option<String>> = Mutex::new(None);

/// Every serving thread's slot: where a panic on a thread of the
/// function's own is reported.
static SLOTS: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

/// Installs the hook.
pub fn install() {
    panic::set_hook(Box::new(|info| {
        let description = describe(info);
        if UNWINDS {
            // One line, where std's hook would write several; `guard`
            // reports it, or the thread was the function's to look after.
            log::write(Level::Error, format_args!("panicked: {description}"));
            *LAST_UNWOUND.lock().unwrap_or_else(PoisonError::into_inner) = Some(description.clone());
            UNWINDING.with(|slot| *slot.borrow_mut() = Some(description));
            return;
        }
        log::fatal(format_args!("panicked: {description}"));
        // No new invocation from here on, before this one is reported.
        workers::stop_taking_work();
        match SLOT.with(|slot| slot.try_borrow().ok()?.clone()) {
            // This thread never goes on: what it had in flight is not to be
            // waited for, unless another panic's hook has answered it.
            Some(own) => {
                if report(&own, &description) != Reported::Earlier {
                    workers::abandon_this_thread();
                }
            }
            None => {
                let slots = SLOTS.lock().unwrap_or_else(PoisonError::into_inner).clone();
                for slot in slots {
                    if report(&slot, &description) == Reported::Invocation {
                        workers::answered_elsewhere();
                    }
                }
            }
        }
        workers::stop();
        std::process::abort();
    }));
}

/// What [`report`] found in a slot.
#[derive(PartialEq, Eq)]
enum Reported {
    /// Nothing to report to, or `init`.
    NoInvocation,
    /// An invocation, now answered.
    Invocation,
    /// An invocation an earlier panic's hook answered.
    Earlier,
}

/// Reports the panic to what `slot` runs, and takes it from the slot: its
/// thread must not answer it too.
fn report(slot: &Slot, description: &str) -> Reported {
    let error = Error::new("Runtime.Panic", description);
    let (reported, found) = match replace(slot, Running::Answered) {
        Running::Answered => (Ok(()), Reported::Earlier),
        Running::Nothing => {
            replace(slot, Running::Nothing);
            (Ok(()), Reported::NoInvocation)
        }
        Running::Init => (slot.client.init_error(&error), Reported::NoInvocation),
        Running::Invocation(context) => (slot.client.answer(&context, Err(error)), Reported::Invocation),
    };
    if let Err(fatal) = reported {
        log::fatal(fatal);
    }
    found
}

/// Makes this thread a serving thread that answers through `client`
/// (once: the main thread keeps the slot it had during init).
pub fn register(client: &Client) {
    if SLOT.with(|slot| slot.borrow().is_some()) {
        return;
    }
    let slot = Arc::new(Slot {
        client: client.clone(),
        running: Mutex::new(Running::Nothing),
    });
    SLOTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::clone(&slot));
    SLOT.with(|current| *current.borrow_mut() = Some(slot));
}

/// Runs `Function::init`: a panic in it is reported as its error.
pub fn guard_init<T>(init: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    run(|| Running::Init, init)
}

/// Runs the function for `context`'s invocation: a panic in it is that
/// invocation's error.
pub fn guard<T>(context: &Context, function: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let answer_needs = || {
        Running::Invocation(Context {
            request_id: context.request_id.clone(),
            invocation_id: context.invocation_id.clone(),
            outlet: context.outlet.clone(),
            serial: context.serial,
            ..Context::default()
        })
    };
    run(answer_needs, function)
}

/// Runs `work` guarded: with `panic = "unwind"`, catching its panic; else
/// with this thread's slot saying what it runs (`running`, made only then).
fn run<T>(running: impl FnOnce() -> Running, work: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    if UNWINDS {
        // A panic the function caught itself earlier is not this one.
        UNWINDING.with(|slot| slot.borrow_mut().take());
        return panic::catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
            // The descriptions the hook kept may be of other panics (one
            // the function caught, another thread's): only one that begins
            // with this payload's text is this panic's.
            let message = text(&*payload);
            let own = UNWINDING.with(|slot| slot.borrow_mut().take());
            let last = || {
                let last = LAST_UNWOUND.lock().unwrap_or_else(PoisonError::into_inner).take();
                last.filter(|description| !message.is_empty() && description.starts_with(message))
            };
            let description = own
                .filter(|description| description.starts_with(message))
                .or_else(last);
            Err(Error::new(
                "Runtime.Panic",
                description.unwrap_or_else(|| message.to_owned()),
            ))
        });
    }
    let Some(slot) = SLOT.with(|slot| slot.borrow().clone()) else {
        return work();
    };
    replace(&slot, running());
    let result = work();
    if let Running::Answered = replace(&slot, Running::Nothing) {
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
    let message = text(info.payload());
    match info.location() {
        Some(location) => format!("{message} at {location}"),
        None => message.to_owned(),
    }
}

/// A panic's payload as text.
fn text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic with a non-string payload")
}
