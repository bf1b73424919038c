//! What the `/next` answer's `Lambda-Runtime-*` headers say about an
//! invocation, checked before any of it is used.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::http::{HeaderMap, HeaderValue};

use crate::Context;
use crate::fatal::Fatal;

/// Whether an id the API gave (a request id, an extension's identifier)
/// may go back into a URL path or a header: AWS's ids are UUIDs, so
/// letters, digits and `-` are all an honest id needs. Anything else (`/`,
/// `..`, `%`, `?`, spaces, CR/LF) could steer the answer to another
/// endpoint or forge a header.
pub fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Reads the `/next` answer's headers. A header that is absent or not
/// visible ASCII counts as absent; only the request id is required.
pub fn context_from(headers: &HeaderMap) -> Result<Context, Fatal> {
    let mut context = Context::default();
    let mut request_id = None;
    // One pass over the headers (docs/design.md, "Instructions").
    for (name, value) in headers {
        let field = match name.as_str() {
            "lambda-runtime-aws-request-id" => {
                request_id = Some(value);
                continue;
            }
            "lambda-runtime-deadline-ms" => {
                context.deadline = text(value).and_then(deadline);
                continue;
            }
            "lambda-runtime-invoked-function-arn" => &mut context.invoked_function_arn,
            "lambda-runtime-trace-id" => &mut context.trace_id,
            "lambda-runtime-client-context" => &mut context.client_context,
            "lambda-runtime-cognito-identity" => &mut context.cognito_identity,
            "lambda-runtime-aws-tenant-id" => &mut context.tenant_id,
            "lambda-runtime-invocation-id" => &mut context.invocation_id,
            _ => continue,
        };
        *field = text(value).map(str::to_owned);
    }
    context.request_id = match request_id.map(text) {
        None => return Err(Fatal::MissingRequestId),
        Some(Some(id)) if valid_id(id) => id.to_owned(),
        Some(_) => {
            let value = request_id.map_or(&[][..], |value| value.as_bytes());
            return Err(Fatal::BadRequestId(String::from_utf8_lossy(value).into_owned()));
        }
    };
    Ok(context)
}

/// `Lambda-Runtime-Deadline-Ms`: Unix milliseconds. `cargo lambda watch`
/// sends a constant 600000, a duration rather than a time; no real deadline
/// is before 2001, so such a value is no deadline.
fn deadline(ms: &str) -> Option<SystemTime> {
    let ms: u64 = ms.trim().parse().ok()?;
    if ms < 1_000_000_000_000 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

/// A header's value as text, when it is visible ASCII. `HeaderValue` has
/// already refused control bytes (tab aside), so what is left to check is
/// that every byte is ASCII: the same answer as `HeaderValue::to_str`, a
/// word at a time (docs/design.md, "Instructions").
fn text(value: &HeaderValue) -> Option<&str> {
    if value.as_bytes().is_ascii() {
        std::str::from_utf8(value.as_bytes()).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_letters_digits_and_dashes() {
        assert!(valid_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
        assert!(valid_id("abc"));
        let too_long = "a".repeat(129);
        for hostile in [
            "",
            "../x",
            "a/b",
            "a b",
            "a?b",
            "a#b",
            "%2e%2e",
            "a\tb",
            "é",
            ".",
            too_long.as_str(),
        ] {
            assert!(!valid_id(hostile), "{hostile:?}");
        }
    }

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn every_header_lands_in_the_context() {
        let context = context_from(&headers(&[
            ("Lambda-Runtime-Aws-Request-Id", b"id-1"),
            ("Lambda-Runtime-Deadline-Ms", b"1700000000123"),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                b"arn:aws:lambda:us-east-1:1:function:f:live",
            ),
            ("Lambda-Runtime-Trace-Id", b"Root=1-a-b;Parent=c;Sampled=1"),
            ("Lambda-Runtime-Client-Context", b"{\"client\":{}}"),
            (
                "Lambda-Runtime-Cognito-Identity",
                b"{\"cognitoIdentityId\":\"x\"}",
            ),
            ("Lambda-Runtime-Aws-Tenant-Id", b"tenant-7"),
            ("Lambda-Runtime-Invocation-Id", b"inv-9"),
        ]))
        .unwrap();
        let expected = Context {
            request_id: "id-1".into(),
            deadline: UNIX_EPOCH.checked_add(Duration::from_millis(1_700_000_000_123)),
            invoked_function_arn: Some("arn:aws:lambda:us-east-1:1:function:f:live".into()),
            trace_id: Some("Root=1-a-b;Parent=c;Sampled=1".into()),
            client_context: Some("{\"client\":{}}".into()),
            cognito_identity: Some("{\"cognitoIdentityId\":\"x\"}".into()),
            tenant_id: Some("tenant-7".into()),
            invocation_id: Some("inv-9".into()),
            ..Context::default()
        };
        assert_eq!(context, expected);
    }

    #[test]
    fn optional_headers_may_be_absent_or_odd() {
        let context = context_from(&headers(&[
            ("Lambda-Runtime-Aws-Request-Id", b"id-2"),
            ("Lambda-Runtime-Deadline-Ms", b"600000"),
            ("Lambda-Runtime-Trace-Id", b"caf\xc3\xa9"),
        ]))
        .unwrap();
        assert_eq!(context.deadline, None, "a duration, not a time");
        assert_eq!(context.trace_id, None);
        assert_eq!(context.invocation_id, None);
        for odd in [&b"soon"[..], b"-1", b"1e12", b""] {
            let context = context_from(&headers(&[
                ("Lambda-Runtime-Aws-Request-Id", b"id-3"),
                ("Lambda-Runtime-Deadline-Ms", odd),
            ]))
            .unwrap();
            assert_eq!(context.deadline, None, "{odd:?}");
        }
    }

    #[test]
    fn header_text_is_what_to_str_accepts() {
        // Every byte a HeaderValue may hold, between two letters.
        for byte in 0..=255u8 {
            let Ok(value) = HeaderValue::from_bytes(&[b'a', byte, b'z']) else {
                continue;
            };
            assert_eq!(text(&value), value.to_str().ok(), "byte {byte:#04x}");
        }
    }

    #[test]
    fn request_id_is_required_and_checked() {
        assert!(matches!(
            context_from(&HeaderMap::new()),
            Err(Fatal::MissingRequestId)
        ));
        for hostile in [&b"../x"[..], b"a b", b"caf\xc3\xa9"] {
            let error = context_from(&headers(&[("Lambda-Runtime-Aws-Request-Id", hostile)])).unwrap_err();
            assert!(matches!(error, Fatal::BadRequestId(_)), "{error}");
        }
    }
}
