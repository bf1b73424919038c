//! Example: DynamoDB through the AWS SDK for Rust, on a runtime without
//! tokio in it.
//!
//! The SDK is async; the runtime is not. So `init` builds, once, a
//! current-thread tokio runtime and the SDK's client (its HTTPS client
//! given in code: rustls with ring), and each invocation waits on its calls
//! with `block_on`. Endpoint, region and credentials come from the standard
//! variables (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, ..., and
//! `AWS_ENDPOINT_URL` for a local endpoint such as moto), so the same
//! binary runs on Lambda unchanged; the table is `TABLE_NAME`.
//!
//! An event `{"id": "note-1", "text": "two apples"}` is written to the
//! table, read back (a consistent read) and answered as read. A failed call
//! is answered with the service's error code as the error's name
//! (`ResourceNotFoundException`...), which callers can match on.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use lambda_bootstrap::{Config, Context, Error, Function, info};
use serde::{Deserialize, Serialize};

fn main() -> std::process::ExitCode {
    lambda_bootstrap::run::<Handler>()
}

/// A note to keep.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
pub struct Note {
    id: String,
    text: String,
}

/// The client, built once, and the runtime its calls run on.
pub struct Handler {
    tokio: tokio::runtime::Runtime,
    dynamodb: Client,
    table: String,
}

impl Function for Handler {
    type Event = Note;
    /// The note as read back from the table.
    type Output = Note;

    fn init(_config: &Config) -> Result<Handler, Error> {
        let table = table(std::env::var("TABLE_NAME"))?;
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let sdk = tokio.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(https)
                .load(),
        );
        Ok(Handler::new(tokio, &sdk, table))
    }

    fn handle(&self, note: Note, context: &Context) -> Result<Note, Error> {
        self.tokio.block_on(async {
            self.dynamodb
                .put_item()
                .table_name(&self.table)
                .item("id", AttributeValue::S(note.id.clone()))
                .item("text", AttributeValue::S(note.text.clone()))
                .send()
                .await
                .map_err(aws)?;
            let read = self
                .dynamodb
                .get_item()
                .table_name(&self.table)
                .key("id", AttributeValue::S(note.id.clone()))
                .consistent_read(true)
                .send()
                .await
                .map_err(aws)?;
            let text = read
                .item()
                .and_then(|item| item.get("text"))
                .and_then(|text| text.as_s().ok())
                .ok_or_else(|| Error::new("NotFound", format!("note {} was not read back", note.id)))?;
            info!(
                "note {} stored in {} ({})",
                note.id, self.table, context.request_id
            );
            Ok(Note {
                id: note.id,
                text: text.clone(),
            })
        })
    }
}

impl Handler {
    /// A handler whose calls, made by a client of the SDK configuration
    /// `sdk`, run on `tokio`, for `table`.
    fn new(tokio: tokio::runtime::Runtime, sdk: &SdkConfig, table: String) -> Handler {
        Handler {
            tokio,
            dynamodb: Client::new(sdk),
            table,
        }
    }
}

/// The table's name, from `TABLE_NAME`.
fn table(variable: Result<String, std::env::VarError>) -> Result<String, Error> {
    variable
        .ok()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| Error::new("InvalidConfig", "TABLE_NAME is not set: the table notes go to"))
}

/// An SDK error as the invocation's: named after the service's error code
/// (`ResourceNotFoundException`, `ThrottlingException`...) when there is
/// one, with the whole chain of causes as its message.
fn aws<E: ProvideErrorMetadata + std::error::Error>(error: E) -> Error {
    let name = error.code().unwrap_or("AwsSdkError").to_owned();
    Error::new(name, DisplayErrorContext(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_json_both_ways() {
        let note: Note = serde_json::from_str(r#"{"id":"note-1","text":"two apples"}"#).unwrap();
        assert_eq!(
            note,
            Note {
                id: "note-1".into(),
                text: "two apples".into()
            }
        );
    }

    /// A unit test builds the `Context` (and the SDK's configuration) the
    /// runtime would hand over: here, an endpoint nothing listens on, no
    /// retries, and the error is the SDK's, named for the caller.
    #[test]
    fn a_call_that_cannot_connect_is_an_sdk_error() {
        use aws_config::Region;
        use aws_config::retry::RetryConfig;
        use aws_sdk_dynamodb::config::Credentials;

        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sdk = tokio.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url("http://127.0.0.1:9")
                .credentials_provider(Credentials::new("test", "test", None, None, "test"))
                .retry_config(RetryConfig::disabled())
                .http_client(aws_smithy_http_client::Builder::new().build_http())
                .load(),
        );
        let handler = Handler::new(tokio, &sdk, "notes".into());
        let mut context = Context::default();
        context.request_id = "test-1".into();
        let note = Note {
            id: "note-1".into(),
            text: "two apples".into(),
        };
        let error = handler.handle(note, &context).unwrap_err();
        assert_eq!(error.error_type(), "AwsSdkError", "{error}");
    }

    #[test]
    fn the_table_is_required() {
        assert_eq!(table(Ok("notes".into())).unwrap(), "notes");
        for unset in [Err(std::env::VarError::NotPresent), Ok(String::new())] {
            assert_eq!(table(unset).unwrap_err().error_type(), "InvalidConfig");
        }
    }
}
