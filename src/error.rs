//! [`Error`]: how an invocation (or start-up) fails, as Lambda shows it to
//! the caller.

use std::any::type_name;
use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// An invocation's failure, as Lambda shows it to the caller:
/// `{"errorType": "Function.Xxx", "errorMessage": "...", "stackTrace": [...]}`.
///
/// Any `std::error::Error` converts with `?`: the type is `Function.` and
/// the error type's own name (`Function.ParseIntError`), the message its
/// `Display`, and the stack trace its chain of `source()`s. Choose the type
/// with [`Error::new`].
///
/// ```
/// use lambda_bootstrap::Error;
///
/// fn quantity(text: &str) -> Result<u32, Error> {
///     let n: u32 = text.parse()?;
///     if n == 0 {
///         return Err(Error::new("Function.EmptyOrder", "order at least one"));
///     }
///     Ok(n)
/// }
///
/// assert_eq!(quantity("x").unwrap_err().error_type(), "Function.ParseIntError");
/// assert_eq!(quantity("0").unwrap_err().error_type(), "Function.EmptyOrder");
/// assert_eq!(quantity("0").unwrap_err().message(), "order at least one");
/// ```
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

    /// The error's message: `errorMessage` in what Lambda shows.
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
}
