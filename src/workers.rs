//! Lambda Managed Instances: several invocations at once in one process.
//!
//! With `AWS_LAMBDA_MAX_CONCURRENCY=N` the runtime runs N worker threads,
//! each serving the loop on a connection of its own: each open `/next` is
//! one free slot for the platform. Nothing is shared on the way through an
//! invocation but two atomic counters. When the process must end (a worker's
//! `/next` failed, or the function panicked) it stops taking invocations,
//! lets the answers being computed go out for up to [`DRAIN`], then exits.
//! Without the variable none of this runs: one loop on the main thread.

use std::cell::Cell;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::fatal::Fatal;
use crate::{Error, Function};

/// How long answers in flight may take to go out once the process is
/// stopping. Lambda enforces no per-invocation timeout in this mode, so
/// this is what bounds the end of a broken environment.
pub const DRAIN: Duration = Duration::from_secs(5);

static CONCURRENT: AtomicBool = AtomicBool::new(false);
static STOPPING: AtomicBool = AtomicBool::new(false);
/// Invocations taken from `/next` and not answered yet.
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// Whether several workers serve invocations (Lambda Managed Instances).
pub fn concurrent() -> bool {
    CONCURRENT.load(Ordering::Relaxed)
}

thread_local! {
    /// Whether this thread holds a [`Busy`]: the panic hook's to know.
    static BUSY_HERE: Cell<bool> = const { Cell::new(false) };
}

/// Counts an invocation as in flight until it is dropped.
pub struct Busy(());

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::SeqCst);
        BUSY_HERE.set(false);
    }
}

/// Marks an invocation taken from `/next` as in flight.
pub fn busy() -> Busy {
    BUSY.fetch_add(1, Ordering::SeqCst);
    BUSY_HERE.set(true);
    Busy(())
}

/// The panic hook answered an invocation of another thread's, whose
/// [`Busy`] will never drop (that thread parks).
pub fn answered_elsewhere() {
    BUSY.fetch_sub(1, Ordering::SeqCst);
}

/// The panic hook runs on this thread, which will never go on: whatever it
/// had in flight (answered by the hook, or lost to a panic in the runtime's
/// own code) is not to be waited for.
pub fn abandon_this_thread() {
    if BUSY_HERE.replace(false) {
        BUSY.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The answer to an invocation that arrived once the process was stopping:
/// the function is not called, and the caller learns why.
pub fn stopping_error() -> Option<Error> {
    STOPPING.load(Ordering::SeqCst).then(|| {
        Error::new(
            "Runtime.Stopping",
            "the execution environment is shutting down after a failure; retry the invocation",
        )
    })
}

/// Parks a worker for good once the process is stopping, instead of asking
/// for more work.
pub fn park_if_stopping() {
    while STOPPING.load(Ordering::SeqCst) {
        thread::park();
    }
}

/// How long no invocation must be in flight before the process ends: a
/// `/next` answer already on its way to a polling worker gets this long to
/// be read and counted (then answered `Runtime.Stopping`).
const QUIET: Duration = Duration::from_millis(50);

/// From now on, an invocation that arrives is answered `Runtime.Stopping`.
pub fn stop_taking_work() {
    STOPPING.store(true, Ordering::SeqCst);
}

/// Stops taking invocations and, with several workers, waits (up to
/// [`DRAIN`]) until every invocation in flight is answered.
pub fn stop() {
    stop_taking_work();
    if !concurrent() {
        return;
    }
    let deadline = Instant::now() + DRAIN;
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        if BUSY.load(Ordering::SeqCst) > 0 {
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= QUIET {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `serve` on `n` workers, each with its own connection, and returns
/// the first reason one of them had to stop, once the others have drained.
pub fn run<F: Function>(
    n: usize,
    client: &Client,
    function: &'static F,
    serve: fn(&Client, &F) -> Result<Infallible, Fatal>,
) -> Result<Infallible, Fatal> {
    /// The first worker's reason to stop; the main thread waits for it.
    static FAILURE: Mutex<Option<Fatal>> = Mutex::new(None);
    CONCURRENT.store(true, Ordering::Relaxed);
    let main = thread::current();
    for _ in 0..n {
        let (client, main) = (client.worker(), main.clone());
        let spawned = thread::Builder::new()
            .stack_size(F::WORKER_STACK_BYTES)
            .spawn(move || {
                let Err(error) = serve(&client, function);
                FAILURE
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(error);
                main.unpark();
            });
        if let Err(error) = spawned {
            stop();
            return Err(Fatal::Workers(error));
        }
    }
    let error = loop {
        if let Some(error) = FAILURE.lock().unwrap_or_else(PoisonError::into_inner).take() {
            break error;
        }
        thread::park();
    };
    stop();
    Err(error)
}
