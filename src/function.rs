//! [`Function`]: what a Lambda function implements.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Config, Context, Error};

/// A Lambda function: built once by [`Function::init`], then called for
/// every invocation. With `AWS_LAMBDA_MAX_CONCURRENCY` set (Lambda Managed
/// Instances) several invocations call [`Function::handle`] at once from
/// different threads, hence `Sync`.
///
/// ```
/// use lambda_bootstrap::{Config, Context, Error, Function};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct Order {
///     items: Vec<u32>,
/// }
///
/// #[derive(Serialize)]
/// struct Receipt {
///     total: u32,
/// }
///
/// struct Checkout {
///     tax_percent: u32,
/// }
///
/// impl Function for Checkout {
///     type Event = Order;
///     type Output = Receipt;
///
///     fn init(_config: &Config) -> Result<Checkout, Error> {
///         let tax_percent = std::env::var("TAX_PERCENT").unwrap_or("0".into()).parse()?;
///         Ok(Checkout { tax_percent })
///     }
///
///     fn handle(&self, order: Order, _context: &Context) -> Result<Receipt, Error> {
///         let net: u32 = order.items.iter().sum();
///         Ok(Receipt { total: net + net * self.tax_percent / 100 })
///     }
/// }
///
/// // In a unit test: call `handle` with a context of your own.
/// let checkout = Checkout { tax_percent: 10 };
/// let receipt = checkout.handle(Order { items: vec![100, 50] }, &Context::default()).unwrap();
/// assert_eq!(receipt.total, 165);
///
/// // In `main`: `lambda_bootstrap::run::<Checkout>()`.
/// ```
pub trait Function: Sized + Sync {
    /// What an event is decoded into: any `Deserialize` type, or
    /// `serde_json::Value` for any JSON. An event that does not decode is
    /// answered `Runtime.InvalidEvent` without calling the function.
    type Event: DeserializeOwned;
    /// What an answer is encoded from: any `Serialize` type. A function that
    /// streams its answer ([`Context::stream`]) returns `()`.
    type Output: Serialize;

    /// Stack of each worker thread under Lambda Managed Instances: 8 MiB,
    /// as the main thread has in Lambda's classic mode, so a function that
    /// is fine there is fine here. A stack is reserved address space, not
    /// memory: only the pages the function touches take any.
    const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;

    /// A hook run once when Lambda shuts the execution environment down
    /// (feature `shutdown`): flush what the function buffers, close what it
    /// opened. `None`, the default, registers nothing; with a hook the
    /// runtime registers an internal extension, so that Lambda sends
    /// SIGTERM at shutdown, and runs the hook on it. Lambda allows the
    /// shutdown phase 500 ms, then kills the process.
    ///
    /// ```
    /// # use lambda_bootstrap::{Config, Context, Error, Function};
    /// struct Metrics;
    ///
    /// impl Metrics {
    ///     fn flush(&self) {
    ///         // Send what is buffered.
    ///     }
    /// }
    ///
    /// impl Function for Metrics {
    ///     # type Event = (); type Output = ();
    ///     # fn init(_: &Config) -> Result<Metrics, Error> { Ok(Metrics) }
    ///     # fn handle(&self, _: (), _: &Context) -> Result<(), Error> { Ok(()) }
    ///     const SHUTDOWN: Option<fn(&Self)> = Some(Metrics::flush);
    /// }
    /// ```
    #[cfg(feature = "shutdown")]
    const SHUTDOWN: Option<fn(&Self)> = None;

    /// Runs once, before the first invocation: read configuration, open
    /// clients. An error here is reported to Lambda and ends the process.
    fn init(config: &Config) -> Result<Self, Error>;

    /// Answers one event.
    fn handle(&self, event: Self::Event, context: &Context) -> Result<Self::Output, Error>;
}
