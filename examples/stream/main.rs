//! Example: server-sent events over a Lambda function URL in
//! `RESPONSE_STREAM` mode.
//!
//! The function sets the HTTP status and headers, then writes one event at
//! a time; each `write` reaches the caller as it happens, not when the
//! function returns. `GET /?count=5` streams five events a tenth of a
//! second apart. A failure after the first byte reaches Lambda in the
//! stream's error trailers, not in the body.
//!
//! `make run EXAMPLE=stream` sends the events in `examples/stream/events/`
//! (the emulator shows the body once the stream ends).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use lambda_bootstrap::{Config, Context, Error, Function};
use serde::Deserialize;

fn main() -> std::process::ExitCode {
    lambda_bootstrap::run::<Handler>()
}

/// The most events one request may ask for.
const MAX_EVENTS: u32 = 100;

/// The parts of a function URL request (payload 2.0) this function reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    #[serde(default)]
    query_string_parameters: HashMap<String, String>,
}

pub struct Handler;

impl Function for Handler {
    type Event = Request;
    /// A streaming function answers through its stream.
    type Output = ();

    fn init(_config: &Config) -> Result<Handler, Error> {
        Ok(Handler)
    }

    fn handle(&self, request: Request, context: &Context) -> Result<(), Error> {
        let count = match request.query_string_parameters.get("count") {
            None => 3,
            Some(text) => text.parse::<u32>()?.min(MAX_EVENTS),
        };
        let headers = [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ];
        let mut body = context.stream_http(200, &headers, &[]);
        for k in 1..=count {
            if k > 1 {
                std::thread::sleep(Duration::from_millis(100));
            }
            write!(body, "id: {k}\ndata: {{\"tick\":{k},\"of\":{count}}}\n\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function's unit test builds the `Context` the runtime would hand
    /// over; one made in a test has no connection to stream on, so this
    /// checks what happens before the first byte.
    #[test]
    fn a_bad_count_fails_before_anything_is_streamed() {
        let request = Request {
            query_string_parameters: HashMap::from([("count".to_owned(), "ten".to_owned())]),
        };
        let mut context = Context::default();
        context.request_id = "test-1".into();
        let error = Handler.handle(request, &context).unwrap_err();
        assert_eq!(error.error_type(), "ParseIntError");
    }
}
