//! What X-Ray gets from the runtime: the invocation's trace header in
//! `_X_AMZN_TRACE_ID`, where AWS's SDKs look for it, and a failed
//! invocation's cause.

use std::fmt::Write as _;

use serde::Serialize;

use crate::Error;

/// The most characters of an error's message that go into its cause: with
/// every one escaped as `\uXXXX\uXXXX`, the header stays under 64 KiB.
const MAX_CAUSE_MESSAGE_CHARS: usize = 4096;

/// X-Ray's SDKs read the trace header from `_X_AMZN_TRACE_ID`; it must
/// describe this invocation, never the one before.
pub fn set_trace_variable(trace_id: Option<&str>) {
    const NAME: &str = "_X_AMZN_TRACE_ID";
    // SAFETY: called only in Lambda's classic mode, between invocations, on
    // the thread that serves them, when no function code runs (under
    // Managed Instances it is never set). std's own readers take the same
    // lock as this write; what remains unsound is C code on another thread
    // of the function's reading the environment (`getenv`, `localtime`) at
    // that moment, which README warns about.
    unsafe {
        match trace_id {
            Some(id) => std::env::set_var(NAME, id),
            None => std::env::remove_var(NAME),
        }
    }
}

/// The `Lambda-Runtime-Function-XRay-Error-Cause` header for `error`,
/// which Lambda puts on the X-Ray segment of a failed invocation, in the
/// shape aws-lambda-go sends: `{"working_directory", "exceptions": [{"type",
/// "message", "stack"}], "paths"}`. A Rust error has no stack frames to
/// give. Visible ASCII and spaces only (anything else `\u`-escaped: a
/// header may carry no control byte), under 64 KiB.
pub fn error_cause(error: &Error) -> String {
    #[derive(Serialize)]
    struct Cause<'a> {
        working_directory: &'a str,
        exceptions: [Exception<'a>; 1],
        paths: [&'a str; 0],
    }
    #[derive(Serialize)]
    struct Exception<'a> {
        r#type: &'a str,
        message: &'a str,
        stack: [&'a str; 0],
    }
    let directory = std::env::current_dir().unwrap_or_default();
    let message = error.message();
    let message = match message.char_indices().nth(MAX_CAUSE_MESSAGE_CHARS) {
        Some((cut, _)) => &message[..cut],
        None => message,
    };
    let cause = Cause {
        working_directory: &directory.to_string_lossy(),
        exceptions: [Exception {
            r#type: error.error_type(),
            message,
            stack: [],
        }],
        paths: [],
    };
    // Strings always serialize.
    let json = serde_json::to_string(&cause).unwrap_or_default();
    // Outside its strings JSON is visible ASCII, and in them `\u` escapes
    // are JSON: escaping every other character (serde_json leaves DEL and
    // non-ASCII as they are) leaves the same JSON.
    let mut header = String::with_capacity(json.len());
    for c in json.chars() {
        if c == ' ' || c.is_ascii_graphic() {
            header.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(header, "\\u{unit:04x}");
            }
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_cause_is_json_of_go_s_shape_in_visible_ascii() {
        let message = "no order \"7\" for Zoë 😀\r\n\u{7f}\u{1}";
        let error = Error::new("Order.NotFound\u{7f}", message);
        let cause = error_cause(&error);
        assert!(
            cause.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
            "{cause}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&cause).unwrap();
        let directory = std::env::current_dir().unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "working_directory": directory.to_string_lossy(),
                "exceptions": [{
                    "type": "Order.NotFound\u{7f}",
                    "message": message,
                    "stack": [],
                }],
                "paths": [],
            })
        );
        assert!(
            ureq::http::HeaderValue::from_str(&cause).is_ok(),
            "a valid header value"
        );
        let huge = error_cause(&Error::new("Huge", "😀".repeat(100_000)));
        assert!(huge.len() < 64 * 1024, "{} bytes", huge.len());
        let parsed: serde_json::Value = serde_json::from_str(&huge).unwrap();
        let message = parsed["exceptions"][0]["message"].as_str().unwrap();
        assert_eq!(message.chars().count(), MAX_CAUSE_MESSAGE_CHARS);
    }

    #[test]
    fn the_variable_follows_the_invocation() {
        set_trace_variable(Some("Root=1-x"));
        assert_eq!(std::env::var("_X_AMZN_TRACE_ID").unwrap(), "Root=1-x");
        set_trace_variable(None);
        assert!(std::env::var_os("_X_AMZN_TRACE_ID").is_none());
    }
}
