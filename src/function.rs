//! What a function sees of the runtime: the [`Function`] trait it
//! implements, the [`Context`] of each invocation, the function's static
//! [`Config`], and the [`Error`] it returns.
//!
//! `src/handler.rs` uses only this module (logging included: `info!` and
//! friends are re-exported here), so replacing that file never means
//! reading the protocol code.

use std::any::type_name;
use std::borrow::Cow;
use std::env;
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::stream::Stream;
// For the function's log lines: unused by a function that does not log.
#[allow(unused_imports)]
pub use crate::{debug, error, info, log::Level, trace, warn};

/// A Lambda function: built once by [`Function::init`], then called for
/// every invocation. With `AWS_LAMBDA_MAX_CONCURRENCY` set (Lambda Managed
/// Instances) several invocations call [`Function::handle`] at once from
/// different threads, hence `Sync`.
pub trait Function: Sized + Sync {
    /// What an event is decoded into: any `Deserialize` type, or
    /// `serde_json::Value` for any JSON. An event that does not decode is
    /// answered `Runtime.InvalidEvent` without calling the function.
    type Event: DeserializeOwned;
    /// What an answer is encoded from: any `Serialize` type. A function that
    /// streams its answer ([`Context::stream`]) returns `()`.
    type Output: Serialize;

    /// Stack of each worker thread under Lambda Managed Instances. Lambda's
    /// classic mode runs the function on the main thread (8 MB) instead.
    /// 256 KiB holds serde_json's deepest nesting with room to spare; ask
    /// for more if the function recurses deeply or keeps large arrays on
    /// the stack.
    const WORKER_STACK_BYTES: usize = 256 * 1024;

    /// Runs once, before the first invocation: read configuration, open
    /// clients. An error here is reported to Lambda and ends the process.
    fn init(config: &Config) -> Result<Self, Error>;

    /// Answers one event.
    fn handle(&self, event: Self::Event, context: &Context) -> Result<Self::Output, Error>;
}

/// One invocation, from the Runtime API's `Lambda-Runtime-*` headers.
/// Everything but the request id may be missing under an emulator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// `Lambda-Runtime-Aws-Request-Id`: letters, digits and `-`.
    pub request_id: String,
    /// When Lambda stops the invocation (`Lambda-Runtime-Deadline-Ms`;
    /// `None` when absent, or not a time, as under `cargo lambda watch`).
    pub deadline: Option<SystemTime>,
    /// The ARN the caller invoked, with its version or alias.
    pub invoked_function_arn: Option<String>,
    /// X-Ray's trace header, `Root=...;Parent=...;Sampled=...`.
    pub trace_id: Option<String>,
    /// The tenant of a multi-tenant function.
    pub tenant_id: Option<String>,
    /// JSON from the AWS mobile SDKs (`Lambda-Runtime-Client-Context`).
    pub client_context: Option<String>,
    /// JSON from the AWS mobile SDKs (`Lambda-Runtime-Cognito-Identity`).
    pub cognito_identity: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`, echoed on the answer.
    pub(crate) invocation_id: Option<String>,
}

impl Context {
    /// Time left before the deadline (zero once it has passed); `None`
    /// when the API gave no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        let deadline = self.deadline?;
        Some(deadline.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// The function's static configuration.
    pub fn config(&self) -> &'static Config {
        Config::get()
    }

    /// Starts streaming this invocation's answer (Lambda response
    /// streaming): each write goes out at once as one chunk. Return `Ok(())`
    /// when done; an error returned after the first byte ends the stream
    /// with Lambda's error trailers. See [`Stream`].
    pub fn stream(&self) -> Stream {
        Stream::new(&self.request_id, self.invocation_id.as_deref(), None)
    }

    /// Like [`Context::stream`], for a function URL (or API Gateway) answer:
    /// the HTTP status, headers and cookies (`Set-Cookie` values) go before
    /// the first byte of the body.
    pub fn stream_http(&self, status: u16, headers: &[(&str, &str)], cookies: &[&str]) -> Stream {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Prelude<'a> {
            status_code: u16,
            #[serde(serialize_with = "as_map")]
            headers: &'a [(&'a str, &'a str)],
            cookies: &'a [&'a str],
        }
        fn as_map<S: serde::Serializer>(pairs: &&[(&str, &str)], to: S) -> Result<S::Ok, S::Error> {
            to.collect_map(pairs.iter().map(|(name, value)| (name, value)))
        }
        let prelude = Prelude {
            status_code: status,
            headers,
            cookies,
        };
        // Numbers and strings always serialize.
        let prelude = serde_json::to_vec(&prelude).unwrap_or_default();
        Stream::new(&self.request_id, self.invocation_id.as_deref(), Some(prelude))
    }
}

/// The function's static configuration, read once at start-up from the
/// variables Lambda sets. Each is `None` when unset (as under an emulator).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `AWS_LAMBDA_FUNCTION_NAME`
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`: `$LATEST` or a number.
    pub function_version: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_mb: Option<u32>,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`
    pub log_group: Option<String>,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`
    pub log_stream: Option<String>,
    /// `AWS_LAMBDA_MAX_CONCURRENCY`: invocations served at once (Lambda
    /// Managed Instances); `None` in Lambda's classic one-at-a-time mode,
    /// 0 when it is not a number.
    pub max_concurrency: Option<usize>,
}

/// The most invocations at once that AWS's runtimes accept.
pub const MAX_CONCURRENCY: usize = 1000;

static CONFIG: OnceLock<Config> = OnceLock::new();

impl Config {
    /// Reads the environment (once per process).
    pub fn get() -> &'static Config {
        CONFIG.get_or_init(|| Config::from(|name| env::var(name).ok()))
    }

    fn from(var: impl Fn(&str) -> Option<String>) -> Config {
        Config {
            function_name: var("AWS_LAMBDA_FUNCTION_NAME"),
            function_version: var("AWS_LAMBDA_FUNCTION_VERSION"),
            memory_mb: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|mb| mb.trim().parse().ok()),
            log_group: var("AWS_LAMBDA_LOG_GROUP_NAME"),
            log_stream: var("AWS_LAMBDA_LOG_STREAM_NAME"),
            max_concurrency: var("AWS_LAMBDA_MAX_CONCURRENCY").map(|n| n.trim().parse().unwrap_or(0)),
        }
    }

    /// Checks what the runtime itself needs of the configuration.
    pub fn check(&self) -> Result<(), Error> {
        match self.max_concurrency {
            Some(1..=MAX_CONCURRENCY) | None => Ok(()),
            Some(_) => Err(Error::new(
                "Runtime.InvalidConfig",
                format!("AWS_LAMBDA_MAX_CONCURRENCY must be a whole number from 1 to {MAX_CONCURRENCY}"),
            )),
        }
    }
}

/// An invocation's failure, as Lambda shows it to the caller:
/// `{"errorType": "Function.Xxx", "errorMessage": "...", "stackTrace": [...]}`.
///
/// Any `std::error::Error` converts with `?`: the type is `Function.` and
/// the error type's own name (`Function.ParseIntError`), the message its
/// `Display`, and the stack trace its chain of `source()`s. Choose the type
/// with [`Error::new`].
pub struct Error {
    error_type: Cow<'static, str>,
    message: String,
    stack_trace: Vec<String>,
}

impl Error {
    /// An error of type `error_type`: `Function.Xxx` (or `Runtime.Xxx`), or
    /// just `Xxx`, which becomes `Function.Xxx`. Anything else is sent as
    /// `Function.Error`: Lambda turns other shapes into `Runtime.Unknown`,
    /// and a type is also a header value, where it must be plain text.
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl fmt::Display) -> Error {
        Error {
            error_type: error_type.into(),
            message: message.to_string(),
            stack_trace: Vec::new(),
        }
    }

    /// An error of type `Function.Error` with this message.
    pub fn msg(message: impl fmt::Display) -> Error {
        Error::new("Function.Error", message)
    }

    /// Adds lines to the error's `stackTrace`.
    pub fn with_stack_trace(mut self, lines: impl IntoIterator<Item = impl Into<String>>) -> Error {
        self.stack_trace.extend(lines.into_iter().map(Into::into));
        self
    }

    /// The type Lambda gets: always `Runtime.Xxx` or `Function.Xxx`, where
    /// `Xxx` is an ASCII capital then ASCII letters (AWS's emulator's rule).
    pub fn error_type(&self) -> Cow<'_, str> {
        let letters = |name: &str| {
            (2..=64).contains(&name.len())
                && name.starts_with(|c: char| c.is_ascii_uppercase())
                && name.bytes().all(|b| b.is_ascii_alphabetic())
        };
        let ty = self.error_type.as_ref();
        match ty.split_once('.') {
            Some(("Function" | "Runtime", name)) if letters(name) => Cow::Borrowed(ty),
            None if letters(ty) => Cow::Owned(format!("Function.{ty}")),
            _ => Cow::Borrowed("Function.Error"),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The body Lambda expects on `/error` and `/init/error`.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            error_message: &'a str,
            error_type: &'a str,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            stack_trace: &'a [String],
        }
        let body = Body {
            error_message: &self.message,
            error_type: &self.error_type(),
            stack_trace: &self.stack_trace,
        };
        // Strings and a list of strings always serialize.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Error {
        let name = type_name::<E>();
        // `core::num::error::ParseIntError` -> `ParseIntError`; generics dropped.
        let name = name.split('<').next().unwrap_or(name);
        let name = name.rsplit(':').next().unwrap_or(name);
        let mut stack_trace = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            stack_trace.push(cause.to_string());
            source = cause.source();
        }
        Error {
            error_type: Cow::Owned(format!("Function.{name}")),
            message: error.to_string(),
            stack_trace,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Unix milliseconds as a time; `None` past what `SystemTime` holds.
pub(crate) fn deadline_from_ms(ms: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_always_of_lambdas_shape() {
        let ty = |t: &'static str| Error::new(t, "m").error_type().into_owned();
        assert_eq!(ty("Function.InvalidName"), "Function.InvalidName");
        assert_eq!(ty("Runtime.Panic"), "Runtime.Panic");
        assert_eq!(ty("NotFound"), "Function.NotFound");
        for bad in [
            "Function.bad",
            "Function.X",
            "Function.Bad\r\nX-Injected: 1",
            "Function.Bad Name",
            "Function.Ünicode",
            "Other.Thing",
            "",
            "Function.",
            "notCapital",
            "Function.Two.Dots",
        ] {
            assert_eq!(ty(bad), "Function.Error", "{bad:?}");
        }
        let long: &'static str = Box::leak(format!("Function.{}", "A".repeat(65)).into_boxed_str());
        assert_eq!(ty(long), "Function.Error");
    }

    #[derive(Debug)]
    struct Outer(std::num::ParseIntError);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("bad count")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn any_std_error_converts_with_its_name_and_causes() {
        fn parse(text: &str) -> Result<u32, Error> {
            Ok(text.parse::<u32>().map_err(Outer)?)
        }
        let error = parse("x").unwrap_err();
        assert_eq!(error.error_type(), "Function.Outer");
        let body: serde_json::Value = serde_json::from_slice(&error.to_json()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "errorMessage": "bad count",
                "errorType": "Function.Outer",
                "stackTrace": ["invalid digit found in string"],
            })
        );
        let direct: Error = "x".parse::<u8>().unwrap_err().into();
        assert_eq!(direct.error_type(), "Function.ParseIntError");
    }

    #[test]
    fn error_bodies_leave_out_an_empty_stack_trace() {
        let body: serde_json::Value =
            serde_json::from_slice(&Error::new("Function.InvalidName", "say \"hi\"\n").to_json()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"errorMessage": "say \"hi\"\n", "errorType": "Function.InvalidName"})
        );
    }

    #[test]
    fn configuration_comes_from_lambdas_variables() {
        let config = Config::from(|name| {
            let value = match name {
                "AWS_LAMBDA_FUNCTION_NAME" => "greeter",
                "AWS_LAMBDA_FUNCTION_VERSION" => "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => "128",
                "AWS_LAMBDA_LOG_GROUP_NAME" => "/aws/lambda/greeter",
                "AWS_LAMBDA_MAX_CONCURRENCY" => "8",
                _ => return None,
            };
            Some(value.to_owned())
        });
        assert_eq!(config.function_name.as_deref(), Some("greeter"));
        assert_eq!(config.function_version.as_deref(), Some("$LATEST"));
        assert_eq!(config.memory_mb, Some(128));
        assert_eq!(config.log_group.as_deref(), Some("/aws/lambda/greeter"));
        assert_eq!(config.log_stream, None);
        assert_eq!(config.max_concurrency, Some(8));
        assert!(config.check().is_ok());
        assert_eq!(Config::from(|_| None), Config::default());
    }

    #[test]
    fn concurrency_must_be_1_to_1000() {
        for bad in ["0", "-1", "x", "", "1001", "1e3"] {
            let config = Config::from(|name| (name == "AWS_LAMBDA_MAX_CONCURRENCY").then(|| bad.to_owned()));
            let error = config.check().unwrap_err();
            assert_eq!(error.error_type(), "Runtime.InvalidConfig", "{bad:?}");
        }
        for good in ["1", "64", "1000", " 8 "] {
            let config = Config::from(|name| (name == "AWS_LAMBDA_MAX_CONCURRENCY").then(|| good.to_owned()));
            assert!(config.check().is_ok(), "{good:?}");
        }
    }

    #[test]
    fn remaining_time_counts_down_to_zero() {
        let mut context = Context::default();
        assert_eq!(context.remaining(), None);
        context.deadline = Some(SystemTime::now() + Duration::from_secs(60));
        let left = context.remaining().unwrap();
        assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60));
        context.deadline = deadline_from_ms(0);
        assert_eq!(context.remaining(), Some(Duration::ZERO));
    }
}
