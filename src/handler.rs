//! The function: replace this file with your own and leave the rest alone.
//!
//! The runtime calls [`Handler::init`] once, before the first invocation
//! (read configuration, open clients), then [`Handler::handle`] for every
//! event. Return an error shaped `Function.Xxx` to fail an invocation; a
//! failed `init` is reported to Lambda and ends the process.
//!
//! The built-in function greets: `{"name":"Ada"}` gives
//! `{"message":"Hello, Ada!"}`, anything without a string `name` greets the
//! World, and the greeting comes from the `GREETING` variable.

use std::env::{self, VarError};

use serde_json::{Value, json};

use crate::api::{Context, Diagnostic};

/// The longest `GREETING` accepted; a longer one is a configuration mistake.
const MAX_GREETING_BYTES: usize = 64;

pub struct Handler {
    greeting: String,
}

impl Handler {
    pub fn init() -> Result<Handler, Diagnostic> {
        Ok(Handler {
            greeting: greeting(env::var("GREETING"))?,
        })
    }

    pub fn handle(&self, event: Value, _context: &Context) -> Result<Value, Diagnostic> {
        let name = match event.get("name") {
            None | Some(Value::Null) => "World",
            Some(Value::String(name)) => name,
            Some(other) => {
                return Err(Diagnostic::new(
                    "Function.InvalidName",
                    format!("\"name\" must be a string or null, not {}", kind(other)),
                ));
            }
        };
        Ok(json!({ "message": format!("{}, {name}!", self.greeting) }))
    }
}

fn greeting(variable: Result<String, VarError>) -> Result<String, Diagnostic> {
    match variable {
        Err(VarError::NotPresent) => Ok("Hello".to_owned()),
        Ok(greeting) if !greeting.is_empty() && greeting.len() <= MAX_GREETING_BYTES => Ok(greeting),
        _ => Err(Diagnostic::new(
            "Function.InvalidConfig",
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

    fn message(event: Value) -> Value {
        hello().handle(event, &Context::default()).unwrap()
    }

    #[test]
    fn greeting_comes_from_configuration() {
        assert_eq!(greeting(Err(VarError::NotPresent)).unwrap(), "Hello");
        assert_eq!(greeting(Ok("Hi".into())).unwrap(), "Hi");
        assert_eq!(greeting(Ok("x".repeat(64))).unwrap().len(), 64);
        for bad in [
            Ok(String::new()),
            Ok("x".repeat(65)),
            Err(VarError::NotUnicode("\u{fffd}".into())),
        ] {
            assert_eq!(greeting(bad).unwrap_err().error_type, "Function.InvalidConfig");
        }
    }

    #[test]
    fn greets_a_name() {
        assert_eq!(message(json!({"name": "Ada"})), json!({"message": "Hello, Ada!"}));
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
            json!({}),
            json!({"name": null}),
            json!(42),
            json!("Ada"),
            json!([1]),
            json!(null),
        ] {
            assert_eq!(
                message(event.clone()),
                json!({"message": "Hello, World!"}),
                "{event}"
            );
        }
    }

    #[test]
    fn a_name_of_another_type_is_the_callers_mistake() {
        for name in [json!(1), json!(true), json!({"first": "Ada"}), json!(["Ada"])] {
            let error = hello()
                .handle(json!({ "name": name }), &Context::default())
                .unwrap_err();
            assert_eq!(error.error_type, "Function.InvalidName");
        }
    }
}
