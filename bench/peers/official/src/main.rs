//! Hello world on the official runtime: `{"name":"Ada"}` -> `{"message":"Hello, Ada!"}`.
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let name = event
        .payload
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("World");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(hello)).await
}
