//! [`Error`]: how an invocation (or start-up) fails, as Lambda shows it to
//! the caller.
//!
//! Callers match on the name a failure carries: the `errorType` of the
//! error body (Step Functions' `Retry` and `Catch`, SDK callers, log
//! filters). Lambda passes that body on as the runtime wrote it, so the
//! name is sent exactly as the function chose it. The
//! `Lambda-Runtime-Function-Error-Type` header is a classification Lambda
//! reads for itself (AWS's emulator keeps it only when it has the shape
//! `Function.Xxx` or `Runtime.Xxx`), so it gets the name in that shape.

use std::any::type_name;
use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// The longest name kept, in bytes: a name is a type's name, and a longer
/// one is cut (at a character boundary).
const MAX_NAME_BYTES: usize = 256;

/// The longest `Lambda-Runtime-Function-Error-Type` header, in bytes.
const MAX_HEADER_BYTES: usize = 128;

/// An invocation's failure, as Lambda shows it to the caller:
/// `{"errorType": "...", "errorMessage": "...", "stackTrace": [...]}`.
///
/// `?` converts anything that is an error: any `std::error::Error`, a
/// `Box<dyn Error + Send + Sync>`, an `anyhow::Error`, a `String` or a
/// `&str`. The type is the Rust type's own name (`ParseIntError`; with its
/// module for a type named `Error`: `io::Error`, `anyhow::Error`), or
/// `Error` for a boxed error or a message; the message is its `Display`;
/// the stack trace its chain of `source()`s. Choose the name with
/// [`Error::new`]: it reaches the caller exactly as given.
///
/// ```
/// use lambda_bootstrap::Error;
///
/// fn quantity(text: &str) -> Result<u32, Error> {
///     let n: u32 = text.parse()?;
///     if n == 0 {
///         return Err(Error::new("Order.Empty", "order at least one"));
///     }
///     Ok(n)
/// }
///
/// assert_eq!(quantity("x").unwrap_err().error_type(), "ParseIntError");
/// let empty = quantity("0").unwrap_err();
/// assert_eq!(empty.error_type(), "Order.Empty");
/// assert_eq!(empty.message(), "order at least one");
///
/// fn boxed() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     Err("no such table".into())
/// }
/// fn handle() -> Result<(), Error> {
///     boxed()?;
///     Ok(())
/// }
/// assert_eq!(handle().unwrap_err().error_type(), "Error");
/// ```
pub struct Error {
    name: Cow<'static, str>,
    message: String,
    stack_trace: Vec<String>,
}

impl Error {
    /// An error named `name` (what callers match on: `OrderNotFound`,
    /// `Order.NotFound`, `Function.Timeout`...), with `message`. The name is
    /// sent as given (JSON carries any text), cut at 256 bytes.
    pub fn new(name: impl Into<Cow<'static, str>>, message: impl fmt::Display) -> Error {
        let mut name = name.into();
        if name.len() > MAX_NAME_BYTES {
            let mut end = MAX_NAME_BYTES;
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name = Cow::Owned(name[..end].to_owned());
        }
        Error {
            name,
            message: message.to_string(),
            stack_trace: Vec::new(),
        }
    }

    /// Adds lines to the error's `stackTrace`.
    pub fn with_stack_trace(mut self, lines: impl IntoIterator<Item = impl Into<String>>) -> Error {
        self.stack_trace.extend(lines.into_iter().map(Into::into));
        self
    }

    /// An error named `Error`, with this message: for a failure that needs
    /// no name of its own.
    pub fn msg(message: impl fmt::Display) -> Error {
        Error::new("Error", message)
    }

    /// The error's name, exactly as sent: `errorType` in what Lambda shows
    /// the caller.
    pub fn error_type(&self) -> &str {
        &self.name
    }

    /// The error's message: `errorMessage` in what Lambda shows.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The name in Lambda's own shape, `Function.Xxx` or `Runtime.Xxx`, for
    /// the `Lambda-Runtime-Function-Error-Type` header: the name itself when
    /// it starts `Function.` or `Runtime.`, else `Function.` and the name;
    /// `Function.Error` when that is not a capital and a letter after the
    /// dot, or not one short word of visible ASCII.
    pub(crate) fn header_type(&self) -> Cow<'_, str> {
        let name = self.name.as_ref();
        let candidate = if name.starts_with("Function.") || name.starts_with("Runtime.") {
            Cow::Borrowed(name)
        } else {
            Cow::Owned(format!("Function.{name}"))
        };
        let visible = candidate.bytes().all(|b| b.is_ascii_graphic());
        if visible && candidate.len() <= MAX_HEADER_BYTES && lambda_shape(&candidate) {
            candidate
        } else {
            Cow::Borrowed("Function.Error")
        }
    }

    /// The body Lambda expects on `/error` and `/init/error`.
    pub(crate) fn to_json(&self) -> Vec<u8> {
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
            error_type: &self.name,
            stack_trace: &self.stack_trace,
        };
        // Strings and a list of strings always serialize.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// Whether `name` starts with `Function.` or `Runtime.`, then a capital and
/// a letter: what AWS's emulator looks for (`(Function|Runtime)\.[A-Z][a-zA-Z]+`).
fn lambda_shape(name: &str) -> bool {
    let rest = name
        .strip_prefix("Function.")
        .or_else(|| name.strip_prefix("Runtime."));
    rest.is_some_and(|rest| {
        let mut letters = rest.bytes();
        letters.next().is_some_and(|b| b.is_ascii_uppercase())
            && letters.next().is_some_and(|b| b.is_ascii_alphabetic())
    })
}

/// The boxed form every error `?` takes converts through.
type Boxed = Box<dyn std::error::Error + Send + Sync + 'static>;

impl<E: Into<Boxed>> From<E> for Error {
    fn from(error: E) -> Error {
        let name = short_name(type_name::<E>());
        let error: Boxed = error.into();
        let mut stack_trace = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            stack_trace.push(cause.to_string());
            source = cause.source();
        }
        Error {
            name,
            message: error.to_string(),
            stack_trace,
        }
    }
}

/// A type's own name from its full path: `core::num::error::ParseIntError`
/// is `ParseIntError`, generics dropped. A type named `Error` keeps its
/// module's name, which says what it is (`std::io::error::Error` is
/// `io::Error`, `serde_json::error::Error` is `serde_json::Error`: the
/// `error` modules crates keep their errors in are skipped). A box, which
/// erases the error's own type, and a message (`String`, `&str`) are
/// `Error`.
fn short_name(full: &'static str) -> Cow<'static, str> {
    let erased = [
        "alloc::boxed::Box<",
        "alloc::string::String",
        "&str",
        "alloc::borrow::Cow<",
    ];
    if erased.iter().any(|prefix| full.starts_with(prefix)) {
        return Cow::Borrowed("Error");
    }
    let path = full.split('<').next().unwrap_or(full);
    let mut segments = path.split(':').filter(|s| !s.is_empty() && *s != "error");
    match (segments.next_back(), segments.next_back()) {
        (Some("Error"), Some(module)) => Cow::Owned(format!("{module}::Error")),
        (Some(name), _) => Cow::Borrowed(name),
        (None, _) => Cow::Borrowed("Error"),
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(error: &Error) -> serde_json::Value {
        serde_json::from_slice(&error.to_json()).unwrap()
    }

    #[test]
    fn names_reach_the_body_as_given() {
        for name in [
            "OrderNotFound",
            "Order.NotFound",
            "Function.Timeout",
            "Runtime.Panic",
            "Utf8Error",
            "order not found",
            "Ünicode \"quoted\"\r\n",
        ] {
            let error = Error::new(name, "m");
            assert_eq!(error.error_type(), name);
            assert_eq!(body(&error)["errorType"], name);
        }
        let long = "A".repeat(300);
        assert_eq!(Error::new(long, "m").error_type().len(), MAX_NAME_BYTES);
        let wide = "é".repeat(200);
        let cut = Error::new(wide, "m");
        assert_eq!(cut.error_type(), "é".repeat(128), "cut at a character boundary");
    }

    #[test]
    fn the_header_type_has_lambdas_shape() {
        let header = |name: &'static str| Error::new(name, "m").header_type().into_owned();
        assert_eq!(header("Function.InvalidName"), "Function.InvalidName");
        assert_eq!(header("Runtime.Panic"), "Runtime.Panic");
        assert_eq!(header("OrderNotFound"), "Function.OrderNotFound");
        assert_eq!(header("Order.NotFound"), "Function.Order.NotFound");
        assert_eq!(header("Utf8Error"), "Function.Utf8Error");
        for unfit in [
            "order not found",
            "X",
            "lower",
            "Function.lower",
            "Bad\r\nX-Injected: 1",
            "Ünicode",
            "",
        ] {
            assert_eq!(header(unfit), "Function.Error", "{unfit:?}");
        }
        let long: &'static str = Box::leak("A".repeat(MAX_HEADER_BYTES).into_boxed_str());
        assert_eq!(header(long), "Function.Error");
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
        assert_eq!(
            body(&error),
            serde_json::json!({
                "errorMessage": "bad count",
                "errorType": "Outer",
                "stackTrace": ["invalid digit found in string"],
            })
        );
        assert_eq!(error.header_type(), "Function.Outer");
        let parse_int: Error = "x".parse::<u8>().unwrap_err().into();
        assert_eq!(parse_int.error_type(), "ParseIntError");
        let utf8: Error = std::str::from_utf8(std::hint::black_box(&[0xff]))
            .unwrap_err()
            .into();
        assert_eq!(utf8.error_type(), "Utf8Error");
        let io: Error = std::io::Error::other("disk full").into();
        assert_eq!((io.error_type(), io.message()), ("io::Error", "disk full"));
        let json: Error = serde_json::from_str::<u8>("x").unwrap_err().into();
        assert_eq!(json.error_type(), "serde_json::Error");
        assert_eq!(json.header_type(), "Function.Error", "not of Lambda's shape");
    }

    #[test]
    fn boxed_errors_and_messages_convert_too() {
        fn boxed() -> Result<(), Error> {
            let error: Box<dyn std::error::Error + Send + Sync> =
                Box::new(Outer("x".parse::<u8>().unwrap_err()));
            Err(error)?
        }
        let error = boxed().unwrap_err();
        assert_eq!((error.error_type(), error.message()), ("Error", "bad count"));
        assert_eq!(
            body(&error)["stackTrace"],
            serde_json::json!(["invalid digit found in string"])
        );
        fn text() -> Result<(), Error> {
            Err("no such order")?
        }
        fn owned() -> Result<(), Error> {
            Err(format!("no order {}", 7))?
        }
        assert_eq!(text().unwrap_err().message(), "no such order");
        assert_eq!(owned().unwrap_err().message(), "no order 7");
        assert_eq!(owned().unwrap_err().error_type(), "Error");
    }

    #[test]
    fn anyhow_errors_convert_with_their_context_chain() {
        use anyhow::Context as _;
        fn load() -> anyhow::Result<u32> {
            let n = "x".parse::<u32>().context("reading the count")?;
            Ok(n)
        }
        fn handle() -> Result<u32, Error> {
            Ok(load().context("loading the order")?)
        }
        let error = handle().unwrap_err();
        assert_eq!(
            body(&error),
            serde_json::json!({
                "errorMessage": "loading the order",
                "errorType": "anyhow::Error",
                "stackTrace": ["reading the count", "invalid digit found in string"],
            })
        );
    }

    #[test]
    fn error_bodies_leave_out_an_empty_stack_trace() {
        assert_eq!(
            body(&Error::new("Function.InvalidName", "say \"hi\"\n")),
            serde_json::json!({"errorMessage": "say \"hi\"\n", "errorType": "Function.InvalidName"})
        );
        assert_eq!(Error::msg("plain").error_type(), "Error");
    }
}
