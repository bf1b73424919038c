//! Example: an SQS batch processor that reports partial batch failures.
//!
//! The event is the `SqsEvent` of the `aws_lambda_events` crate (default
//! features off, only `sqs`). Each record's body is an order as JSON; the
//! records whose body does not decode, or whose order is refused, are
//! reported back as `batchItemFailures`, one WARN line each, so that SQS
//! delivers only those again (the event source mapping needs
//! `FunctionResponseTypes: [ReportBatchItemFailures]`, as `template.yaml`
//! sets with `SqsExample=true`). The others count as processed.
//!
//! `make run EXAMPLE=sqs` sends the events in `examples/sqs/events/`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_bootstrap::{Config, Context, Error, Function, info, warn};
use serde::Deserialize;

fn main() -> std::process::ExitCode {
    lambda_bootstrap::run::<Handler>()
}

/// The most items one order may have.
const MAX_QUANTITY: u32 = 1000;

/// What each message's body holds.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: u64,
    quantity: u32,
}

/// The batch processor.
pub struct Handler;

impl Function for Handler {
    type Event = SqsEvent;
    type Output = SqsBatchResponse;

    fn init(_config: &Config) -> Result<Handler, Error> {
        Ok(Handler)
    }

    fn handle(&self, batch: SqsEvent, _context: &Context) -> Result<SqsBatchResponse, Error> {
        let mut failures = SqsBatchResponse::default();
        for record in &batch.records {
            // Without its id a failure can't be reported: failing the whole
            // batch makes SQS deliver all of it again, nothing is lost.
            let Some(id) = record.message_id.as_deref() else {
                return Err(Error::new("Sqs.MissingMessageId", "a record has no messageId"));
            };
            match process(record) {
                Ok(order) => info!(
                    "message {id}: order {} of {} processed",
                    order.order_id, order.quantity
                ),
                Err(why) => {
                    warn!("message {id}: {why}");
                    failures.add_failure(id);
                }
            }
        }
        Ok(failures)
    }
}

/// Decodes one record's order and checks it.
fn process(record: &SqsMessage) -> Result<Order, String> {
    let body = record.body.as_deref().unwrap_or_default();
    let order: Order = serde_json::from_str(body).map_err(|e| format!("the body is not an order: {e}"))?;
    if !(1..=MAX_QUANTITY).contains(&order.quantity) {
        return Err(format!(
            "order {}: quantity must be 1 to {MAX_QUANTITY}",
            order.order_id
        ));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SQS event of these (message id, body) records, as SQS sends it.
    fn batch(records: &[(&str, &str)]) -> SqsEvent {
        let records: Vec<serde_json::Value> = records
            .iter()
            .map(|(id, body)| serde_json::json!({"messageId": id, "body": body, "eventSource": "aws:sqs"}))
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    #[test]
    fn bad_records_are_reported_and_the_rest_processed() {
        let event = batch(&[
            ("m-1", r#"{"orderId":1,"quantity":2}"#),
            ("m-2", "not json"),
            ("m-3", r#"{"orderId":3,"quantity":0}"#),
            ("m-4", r#"{"orderId":4,"quantity":1}"#),
        ]);
        // A context as the runtime would give, for a unit test.
        let mut context = Context::default();
        context.request_id = "test-1".into();
        let response = Handler.handle(event, &context).unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m-2", "m-3"]);
    }

    #[test]
    fn a_record_without_an_id_fails_the_batch() {
        let event: SqsEvent =
            serde_json::from_value(serde_json::json!({"Records": [{"body": "{}"}]})).unwrap();
        let error = Handler.handle(event, &Context::default()).unwrap_err();
        assert_eq!(error.error_type(), "Sqs.MissingMessageId");
    }
}
