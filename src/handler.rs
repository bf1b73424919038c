//! The function: replace this file with your own and leave the rest alone.
//!
//! The runtime calls [`Handler::init`] once, before the first invocation
//! (read configuration, open clients), then [`Handler::handle`] for every
//! event. Return an error (`?` works on any `std::error::Error`) to fail an
//! invocation; a failed `init` is reported to Lambda and ends the process.
//! README's "Write your own function" shows typed events, errors and logs.
//!
//! The built-in function greets: `{"name":"Ada"}` gives
//! `{"message":"Hello, Ada!"}`, anything without a string `name` greets the
//! World, and the greeting comes from the `GREETING` variable.

use std::env::{self, VarError};

use serde_json::{Value, json};

use lambda_bootstrap::{Config, Context, Error, Function};

/// The longest `GREETING` accepted; a longer one is a configuration mistake.
const MAX_GREETING_BYTES: usize = 64;

/// The greeter: its greeting, read once by `init`.
pub struct Handler {
    greeting: String,
}

impl Function for Handler {
    /// Any JSON: the greeter looks for a `name` in whatever it gets.
    type Event = Value;
    type Output = Value;

    fn init(_config: &Config) -> Result<Handler, Error> {
        Ok(Handler {
            greeting: greeting(env::var("GREETING"))?,
        })
    }

    fn handle(&self, event: Value, _context: &Context) -> Result<Value, Error> {
        let name = match event.get("name") {
            None | Some(Value::Null) => "World",
            Some(Value::String(name)) => name,
            Some(other) => {
                return Err(Error::new(
                    "InvalidName",
                    format!("\"name\" must be a string or null, not {}", kind(other)),
                ));
            }
        };
        Ok(json!({ "message": format!("{}, {name}!", self.greeting) }))
    }
}

fn greeting(variable: Result<String, VarError>) -> Result<String, Error> {
    match variable {
        Err(VarError::NotPresent) => Ok("Hello".to_owned()),
        Ok(greeting) if !greeting.is_empty() && greeting.len() <= MAX_GREETING_BYTES => Ok(greeting),
        _ => Err(Error::new(
            "InvalidConfig",
            format!("GREETING must be 1 to {MAX_GREETING_BYTES} bytes of UTF-8, or unset"),
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Handler {
        Handler {
            greeting: "Hello".into(),
        }
    }

    fn answer(event: &str) -> Result<Value, Error> {
        hello().handle(serde_json::from_str(event).unwrap(), &Context::default())
    }

    #[test]
    fn greeting_comes_from_configuration() {
        assert_eq!(greeting(Err(VarError::NotPresent)).unwrap(), "Hello");
        assert_eq!(greeting(Ok("Hi".into())).unwrap(), "Hi");
        assert_eq!(greeting(Ok("é".repeat(32))).unwrap().len(), 64);
        for bad in [
            Ok(String::new()),
            Ok("x".repeat(65)),
            Ok("é".repeat(33)),
            Err(VarError::NotUnicode("\u{fffd}".into())),
        ] {
            assert_eq!(greeting(bad).unwrap_err().error_type(), "InvalidConfig");
        }
    }

    #[test]
    fn greets_a_name() {
        assert_eq!(
            answer(r#"{"name":"Ada"}"#).unwrap(),
            json!({"message": "Hello, Ada!"})
        );
        assert_eq!(
            answer(r#"{"id":7,"name":"Zo\u00eb \"the\" \\","x":[1]}"#).unwrap(),
            json!({"message": "Hello, Zoë \"the\" \\!"})
        );
        assert_eq!(answer(r#"{"name":""}"#).unwrap(), json!({"message": "Hello, !"}));
        let hi = Handler {
            greeting: "Hi".into(),
        };
        assert_eq!(
            hi.handle(json!({"name": "Ada"}), &Context::default()).unwrap(),
            json!({"message": "Hi, Ada!"})
        );
    }

    #[test]
    fn greets_the_world_without_a_name() {
        for event in [
            "{}",
            r#"{"name":null}"#,
            "42",
            r#""Ada""#,
            r#"[{"name":"Ada"}]"#,
            "null",
            r#"{"Name":"Ada"}"#,
            r#"{"user":{"name":"Ada"}}"#,
        ] {
            assert_eq!(
                answer(event).unwrap(),
                json!({"message": "Hello, World!"}),
                "{event}"
            );
        }
    }

    #[test]
    fn a_name_of_another_type_is_the_callers_mistake() {
        for event in [
            r#"{"name":1}"#,
            r#"{"name":true}"#,
            r#"{"name":{"first":"Ada"}}"#,
            r#"{"name":["Ada"]}"#,
        ] {
            let error = answer(event).unwrap_err();
            assert_eq!(error.error_type(), "InvalidName", "{event}");
            assert!(error.message().starts_with("\"name\" must be"), "{event}");
        }
    }
}
