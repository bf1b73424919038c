//! The loop small-runtime blog posts show: GET next, POST a fixed answer, repeat.
//! No error reporting, no headers but the request id; any error ends the process.
//! One agent, so its connection is kept alive (`ureq::get` alone would build a
//! new agent, and open a new connection, for every call).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api = format!(
        "http://{}/2018-06-01/runtime/invocation",
        std::env::var("AWS_LAMBDA_RUNTIME_API")?
    );
    let agent = ureq::agent();
    loop {
        let next = agent.get(&format!("{api}/next")).call()?;
        let id = next
            .header("Lambda-Runtime-Aws-Request-Id")
            .unwrap_or_default()
            .to_owned();
        let _event = next.into_string()?;
        agent
            .post(&format!("{api}/{id}/response"))
            .send_string(r#"{"message":"Hello, World!"}"#)?;
    }
}
