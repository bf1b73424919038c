//! Example: an HTTP function behind a Lambda function URL or an API Gateway
//! HTTP API (payload format 2.0).
//!
//! Routes:
//! - `GET /hello?name=Ada` answers `{"message":"Hello, Ada!"}`;
//! - `POST /echo` answers the request body back with its content type
//!   (a base64 body, as API Gateway sends binary media, is decoded first);
//! - anything else is a 404 or 405. A client mistake is an HTTP answer, not
//!   a function error: a function error would reach the caller as a 502.
//!
//! `make run EXAMPLE=http` sends the events in `examples/http/events/`.

use std::collections::HashMap;

use lambda_bootstrap::{Config, Context, Error, Function};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn main() -> std::process::ExitCode {
    lambda_bootstrap::run::<Handler>()
}

/// The parts of a payload 2.0 request this function reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    raw_path: String,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    query_string_parameters: HashMap<String, String>,
    request_context: RequestContext,
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Deserialize)]
struct RequestContext {
    http: Http,
}

#[derive(Deserialize)]
struct Http {
    method: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    status_code: u16,
    headers: HashMap<String, String>,
    body: String,
    is_base64_encoded: bool,
}

impl Response {
    fn json(status_code: u16, body: serde_json::Value) -> Response {
        Response {
            status_code,
            headers: HashMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: body.to_string(),
            is_base64_encoded: false,
        }
    }
}

pub struct Handler;

impl Function for Handler {
    type Event = Request;
    type Output = Response;

    fn init(_config: &Config) -> Result<Handler, Error> {
        Ok(Handler)
    }

    fn handle(&self, request: Request, _context: &Context) -> Result<Response, Error> {
        let method = request.request_context.http.method.as_str();
        Ok(match (method, request.raw_path.as_str()) {
            ("GET", "/hello") => {
                let name = request
                    .query_string_parameters
                    .get("name")
                    .map_or("World", String::as_str);
                Response::json(200, json!({ "message": format!("Hello, {name}!") }))
            }
            ("POST", "/echo") => {
                let body = request.body.unwrap_or_default();
                let body = if request.is_base64_encoded {
                    match base64_decode(&body) {
                        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                        None => return Ok(Response::json(400, json!({ "error": "the body is not base64" }))),
                    }
                } else {
                    body
                };
                let content_type = request.headers.get("content-type").cloned().unwrap_or_default();
                Response::json(200, json!({ "contentType": content_type, "body": body }))
            }
            (_, "/hello" | "/echo") => {
                Response::json(405, json!({ "error": format!("{method} is not allowed here") }))
            }
            (_, path) => Response::json(404, json!({ "error": format!("no route {path}") })),
        })
    }
}

/// Standard base64 (RFC 4648), padding optional; `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(event: serde_json::Value) -> Response {
        Handler
            .handle(serde_json::from_value(event).unwrap(), &Context::default())
            .unwrap()
    }

    fn request(method: &str, path: &str) -> serde_json::Value {
        json!({"rawPath": path, "requestContext": {"http": {"method": method}}})
    }

    #[test]
    fn routes() {
        let mut hello = request("GET", "/hello");
        hello["queryStringParameters"] = json!({"name": "Ada"});
        assert_eq!(call(hello).body, r#"{"message":"Hello, Ada!"}"#);
        assert_eq!(
            call(request("GET", "/hello")).body,
            r#"{"message":"Hello, World!"}"#
        );
        assert_eq!(call(request("DELETE", "/hello")).status_code, 405);
        assert_eq!(call(request("GET", "/nope")).status_code, 404);
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let mut echo = request("POST", "/echo");
        echo["body"] = json!("aGk=");
        echo["isBase64Encoded"] = json!(true);
        echo["headers"] = json!({"content-type": "text/plain"});
        let answer = call(echo.clone());
        assert_eq!(
            (answer.status_code, answer.body.as_str()),
            (200, r#"{"body":"hi","contentType":"text/plain"}"#)
        );
        echo["body"] = json!("not base64!");
        assert_eq!(call(echo).status_code, 400);
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
    }
}
