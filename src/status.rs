//! What the Runtime API's answer to a post means for the loop: go on, go on
//! after a log line, or stop.

use crate::fatal::Fatal;

/// Acts on the status of the API's answer to `call` (a post): a 2xx is
/// taken; a 4xx refused this one answer but the sandbox is fine, so it is
/// logged and the loop goes on (never an `/error` after a refused
/// `/response`: after a 413 it would get 403); anything else ends the
/// process.
pub fn settle(call: &'static str, status: u16) -> Result<(), Fatal> {
    match verdict(call, status)? {
        Verdict::Accepted => {}
        Verdict::Refused => crate::warn!("{}", why_refused(call, status)),
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    Refused,
}

fn verdict(call: &'static str, status: u16) -> Result<Verdict, Fatal> {
    match status {
        // 202 from Lambda and AWS's emulator, 200 from cargo-lambda.
        200..=299 => Ok(Verdict::Accepted),
        400..=499 => Ok(Verdict::Refused),
        status => Err(Fatal::Status { call, status }),
    }
}

/// The log line for an answer the API refused.
fn why_refused(call: &str, status: u16) -> String {
    let why = match status {
        410 => "the invocation already timed out",
        413 => {
            "the response is over Lambda's limit; Lambda answered the caller with Function.ResponseSizeTooLarge"
        }
        _ => "the API refused this answer",
    };
    format!("{call} answered {status}: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_settle_as_the_contract_says() {
        assert_eq!(verdict("POST", 202).unwrap(), Verdict::Accepted);
        assert_eq!(verdict("POST", 200).unwrap(), Verdict::Accepted);
        for refused in [400, 403, 410, 413] {
            assert_eq!(verdict("POST", refused).unwrap(), Verdict::Refused);
        }
        assert!(matches!(
            verdict("POST", 500),
            Err(Fatal::Status { status: 500, .. })
        ));
        assert!(matches!(
            verdict("POST", 302),
            Err(Fatal::Status { status: 302, .. })
        ));
    }

    #[test]
    fn refusals_say_why() {
        assert!(why_refused("POST", 413).contains("Function.ResponseSizeTooLarge"));
        assert!(why_refused("POST", 410).contains("timed out"));
        assert!(why_refused("POST", 400).contains("refused"));
    }
}
