//! Example: typed events and answers with serde's derive, and errors with `?`.
//!
//! An order comes in as JSON, is decoded into [`Order`] before the function
//! runs (a body of another shape is answered `Runtime.InvalidEvent` with
//! serde's message), and the receipt goes back as JSON.
//!
//! `make run EXAMPLE=typed` sends the events in `examples/typed/events/`.

use std::env;
use std::fmt;

use lambda_bootstrap::{Config, Context, Error, Function};
use serde::{Deserialize, Serialize};

fn main() -> std::process::ExitCode {
    lambda_bootstrap::run::<Handler>()
}

#[derive(Deserialize)]
pub struct Order {
    id: u64,
    items: Vec<Item>,
    /// A coupon code such as `"SAVE10"`: 10% off.
    coupon: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
    unit_cents: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    order_id: u64,
    items: u32,
    total_cents: u64,
    currency: String,
}

/// A function's own error type: `?` turns it into `OrderError`
/// (the type's name), with its message.
#[derive(Debug)]
enum OrderError {
    Empty,
    UnknownCoupon(String),
}

impl fmt::Display for OrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderError::Empty => f.write_str("an order needs at least one item"),
            OrderError::UnknownCoupon(code) => write!(f, "no coupon {code:?}"),
        }
    }
}

impl std::error::Error for OrderError {}

pub struct Handler {
    currency: String,
}

impl Function for Handler {
    type Event = Order;
    type Output = Receipt;

    fn init(_config: &Config) -> Result<Handler, Error> {
        Ok(Handler {
            currency: env::var("CURRENCY").unwrap_or_else(|_| "EUR".to_owned()),
        })
    }

    fn handle(&self, order: Order, _context: &Context) -> Result<Receipt, Error> {
        if order.items.is_empty() {
            return Err(OrderError::Empty.into());
        }
        let percent_off = match order.coupon.as_deref() {
            None => 0,
            Some("SAVE10") => 10,
            Some(other) => return Err(OrderError::UnknownCoupon(other.to_owned()).into()),
        };
        let mut total: u64 = 0;
        for item in &order.items {
            let line = item.unit_cents.checked_mul(u64::from(item.quantity));
            total = line.and_then(|line| total.checked_add(line)).ok_or_else(|| {
                Error::new(
                    "Order.TotalTooLarge",
                    format!("item {} overflows the total", item.sku),
                )
            })?;
        }
        Ok(Receipt {
            order_id: order.id,
            items: order.items.iter().map(|item| item.quantity).sum(),
            total_cents: total - total * percent_off / 100,
            currency: self.currency.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(event: &str) -> Result<Receipt, Error> {
        let handler = Handler {
            currency: "EUR".into(),
        };
        handler.handle(serde_json::from_str(event).unwrap(), &Context::default())
    }

    #[test]
    fn totals_an_order() {
        let answer = receipt(
            r#"{"id":7,"items":[{"sku":"a","quantity":2,"unit_cents":250},{"sku":"b","quantity":1,"unit_cents":100}]}"#,
        )
        .unwrap();
        assert_eq!((answer.order_id, answer.items, answer.total_cents), (7, 3, 600));
        let saved =
            receipt(r#"{"id":8,"items":[{"sku":"a","quantity":1,"unit_cents":1000}],"coupon":"SAVE10"}"#);
        assert_eq!(saved.unwrap().total_cents, 900);
    }

    #[test]
    fn mistakes_are_typed_errors() {
        let empty = receipt(r#"{"id":1,"items":[]}"#).unwrap_err();
        assert_eq!(empty.error_type(), "OrderError");
        let coupon = receipt(r#"{"id":1,"items":[{"sku":"a","quantity":1,"unit_cents":1}],"coupon":"FREE"}"#);
        assert_eq!(coupon.unwrap_err().message(), "no coupon \"FREE\"");
        let huge = receipt(
            r#"{"id":1,"items":[{"sku":"a","quantity":4294967295,"unit_cents":18446744073709551615}]}"#,
        );
        assert_eq!(huge.unwrap_err().error_type(), "Order.TotalTooLarge");
    }
}
