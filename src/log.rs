//! Log lines for CloudWatch, from the function and from the runtime, in the
//! format the function's `LoggingConfig` asks for.
//!
//! The function logs with [`trace!`](crate::trace), [`debug!`](crate::debug),
//! [`info!`](crate::info), [`warn!`](crate::warn) and
//! [`error!`](crate::error) (`use lambda_bootstrap::info;`), or with
//! [`write()`] at a level chosen at run time. Lambda captures
//! stdout and stderr; with `AWS_LAMBDA_LOG_FORMAT=JSON` it expects one JSON
//! object per line, shaped as its own runtimes write them so CloudWatch
//! filters work: `{"timestamp", "level", "requestId", "message"}`.
//! Otherwise a line is `timestamp TAB requestId TAB LEVEL TAB message`, with
//! any newline in the message turned into a carriage return, so that one
//! line stays one CloudWatch event. `AWS_LAMBDA_LOG_LEVEL` (TRACE to FATAL,
//! default INFO) drops lower lines before they are formatted.
//!
//! With the `log-facade` feature the runtime is also the `log` crate's
//! logger, and with `tracing` a `tracing` subscriber (`facade.rs`,
//! `tracing.rs`), so that the records of the function's libraries come out
//! the same way, filtered by the same level. Both are off by default for
//! their size (docs/design.md, "Logging").

use std::cell::RefCell;
use std::fmt::{self, Display, Write as _};
use std::io::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

#[cfg(feature = "log-facade")]
mod facade;
#[cfg(feature = "tracing")]
mod tracing;

/// Lambda's log levels, lowest first. `log` has no FATAL: only the runtime
/// writes it, for the reason it is about to exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The finest detail.
    Trace,
    /// Detail for debugging.
    Debug,
    /// What happened (the default lowest level written).
    Info,
    /// Something to look at.
    Warn,
    /// A failure.
    Error,
    /// The runtime's reason to exit.
    Fatal,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// The level named `name` (`TRACE` to `FATAL`, any case, as
    /// `AWS_LAMBDA_LOG_LEVEL` names them).
    pub fn parse(name: &str) -> Option<Level> {
        [
            Level::Trace,
            Level::Debug,
            Level::Info,
            Level::Warn,
            Level::Error,
            Level::Fatal,
        ]
        .into_iter()
        .find(|level| level.name().eq_ignore_ascii_case(name.trim()))
    }
}

#[derive(Debug)]
struct Logger {
    json: bool,
    lowest: Level,
    /// Lambda Managed Instances: several invocations at once, one a worker.
    concurrent: bool,
}

/// The configuration [`install`] read.
static LOGGER: std::sync::OnceLock<Logger> = std::sync::OnceLock::new();

/// Lines written before [`install`] (a function's `main` may log before it
/// calls `run`): plain, from INFO up. They leave [`install`] free to read
/// the configuration when it runs.
static BEFORE_INSTALL: Logger = Logger {
    json: false,
    lowest: Level::Info,
    concurrent: false,
};

fn logger() -> &'static Logger {
    LOGGER.get().unwrap_or(&BEFORE_INSTALL)
}

/// In Lambda's classic mode, the one invocation in flight: every line
/// carries its request id, whichever thread writes it (the function's own
/// threads too).
static CURRENT: Mutex<String> = Mutex::new(String::new());

thread_local! {
    /// Under Managed Instances, the invocation this worker serves.
    static REQUEST_ID: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Reads the function's logging configuration (and, with `log-facade` or
/// `tracing`, takes the records of those crates). `concurrent`: Lambda
/// Managed Instances, where each worker's lines carry its own invocation's
/// request id, and logs are always JSON (lines of concurrent invocations
/// interleave, so each must say which it belongs to).
pub(crate) fn install(concurrent: bool) {
    let variable = |name| std::env::var(name).unwrap_or_default();
    let _logger = LOGGER.get_or_init(|| Logger {
        json: concurrent || variable("AWS_LAMBDA_LOG_FORMAT").eq_ignore_ascii_case("json"),
        lowest: Level::parse(&variable("AWS_LAMBDA_LOG_LEVEL")).unwrap_or(Level::Info),
        concurrent,
    });
    #[cfg(feature = "log-facade")]
    facade::install(_logger);
    #[cfg(feature = "tracing")]
    tracing::install(_logger.lowest);
}

/// Writes one line at `level`, if the configured level lets it through:
/// what the logging macros call, for a level chosen at run time.
///
/// ```
/// use lambda_bootstrap::log::{self, Level};
///
/// let level = Level::parse("warn").unwrap_or(Level::Info);
/// log::write(level, format_args!("{} items left", 3));
/// ```
pub fn write(level: Level, message: fmt::Arguments<'_>) {
    logger().write(level, message);
}

/// Logs at TRACE: `trace!("{n} items")`.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Trace, format_args!($($arg)+)) };
}

/// Logs at DEBUG: `debug!("{n} items")`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Debug, format_args!($($arg)+)) };
}

/// Logs at INFO: `info!("{n} items")`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Info, format_args!($($arg)+)) };
}

/// Logs at WARN: `warn!("{n} items")`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Warn, format_args!($($arg)+)) };
}

/// Logs at ERROR: `error!("{n} items")`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::write($crate::log::Level::Error, format_args!($($arg)+)) };
}

/// Marks the lines that follow as belonging to invocation `id` ("" for
/// none): this worker's under Managed Instances, else every thread's.
pub(crate) fn set_request_id(id: &str) {
    let set = |current: &mut String| {
        current.clear();
        current.push_str(id);
    };
    if logger().concurrent {
        REQUEST_ID.with(|current| set(&mut current.borrow_mut()));
    } else {
        set(&mut CURRENT.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// The request id a line written now belongs to.
fn request_id() -> String {
    if logger().concurrent {
        REQUEST_ID.with(|id| id.try_borrow().map(|id| id.clone()).unwrap_or_default())
    } else {
        CURRENT.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The runtime's last words before it exits.
pub(crate) fn fatal(message: impl Display) {
    logger().write(Level::Fatal, format_args!("{message}"));
}

impl Logger {
    fn write(&self, level: Level, message: fmt::Arguments<'_>) {
        if level < self.lowest {
            return;
        }
        let timestamp = rfc3339(now_ms());
        let line = line(self.json, &timestamp, level, &request_id(), message);
        // One write per line, so lines of concurrent invocations never mix.
        // Logging must never take the runtime down: a closed stderr is ignored.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// One log line, newline included.
fn line(json: bool, timestamp: &str, level: Level, request_id: &str, message: fmt::Arguments<'_>) -> String {
    let message = message.to_string();
    if json {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            timestamp: &'a str,
            level: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            request_id: &'a str,
            message: &'a str,
        }
        let line = Line {
            timestamp,
            level: level.name(),
            request_id,
            message: &message,
        };
        // Strings always serialize.
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        return text;
    }
    let mut text = String::with_capacity(message.len() + 64);
    text.push_str(timestamp);
    if !request_id.is_empty() {
        let _ = write!(text, "\t{request_id}");
    }
    let _ = write!(text, "\t{}\t", level.name());
    text.extend(message.chars().map(|c| if c == '\n' { '\r' } else { c }));
    text.push('\n');
    text
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2023-11-14T22:13:20.000Z` for Unix milliseconds, with no date crate:
/// days since the epoch to a civil date by shifting the year to start in
/// March, so the leap day falls at the end of the year.
fn rfc3339(ms: u64) -> String {
    let (days, ms_of_day) = (ms / 86_400_000, ms % 86_400_000);
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    let (secs, millis) = (ms_of_day / 1000, ms_of_day % 1000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "1970-01-01T00:00:00.000Z";

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), T);
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(rfc3339(1_798_761_599_000), "2026-12-31T23:59:59.000Z");
    }

    #[test]
    fn json_lines_are_what_lambdas_runtimes_write() {
        let text = line(true, T, Level::Warn, "id-1", format_args!("a \"b\"\nc"));
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "{text:?}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"timestamp": T, "level": "WARN", "requestId": "id-1", "message": "a \"b\"\nc"})
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&line(true, T, Level::Fatal, "", format_args!("x"))).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"timestamp": T, "level": "FATAL", "message": "x"})
        );
    }

    #[test]
    fn text_lines_carry_level_and_request_id_on_one_line() {
        assert_eq!(
            line(false, T, Level::Info, "id-1", format_args!("two\nlines")),
            format!("{T}\tid-1\tINFO\ttwo\rlines\n")
        );
        assert_eq!(
            line(false, T, Level::Error, "", format_args!("gone")),
            format!("{T}\tERROR\tgone\n")
        );
    }

    #[test]
    fn levels_are_lambdas_names_in_order() {
        assert_eq!(Level::parse("trace"), Some(Level::Trace));
        assert_eq!(Level::parse(" WARN "), Some(Level::Warn));
        assert_eq!(Level::parse("FATAL"), Some(Level::Fatal));
        assert_eq!(Level::parse("verbose"), None);
        assert!(Level::Debug < Level::Info && Level::Error < Level::Fatal);
    }
}
