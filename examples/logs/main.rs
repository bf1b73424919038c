//! Example: logging at several levels, and using the time left.
//!
//! `info!` and friends (from `lambda_bootstrap`) write lines Lambda
//! understands: with the
//! function's `LoggingConfig` set to JSON, one object per line with
//! `timestamp`, `level`, `requestId` and `message`, filtered by its
//! application log level (`AWS_LAMBDA_LOG_LEVEL`); otherwise a plain line
//! with the level and request id. The function works through a batch of
//! items, and stops early, saying how far it got, when less than a safety
//! margin of the invocation's time is left.
//!
//! `make run EXAMPLE=logs` sends the events in `examples/logs/events/`.

use std::time::{Duration, Instant};

use lambda_bootstrap::{Config, Context, Error, Function, debug, error, info, warn};
use serde::{Deserialize, Serialize};

fn main() -> std::process::ExitCode {
    lambda_bootstrap::run::<Handler>()
}

/// Stop when less than this is left: enough to answer before the deadline.
const MARGIN: Duration = Duration::from_millis(500);

#[derive(Deserialize)]
pub struct Batch {
    items: Vec<String>,
    /// Pretend work per item, in milliseconds.
    #[serde(default)]
    work_ms: u64,
}

#[derive(Serialize)]
pub struct Report {
    done: usize,
    skipped: usize,
    /// Items that could not be processed (empty names).
    failed: Vec<usize>,
}

pub struct Handler;

impl Function for Handler {
    type Event = Batch;
    type Output = Report;

    fn init(config: &Config) -> Result<Handler, Error> {
        info!(
            "starting {} version {} with {} MB",
            config.function_name.as_deref().unwrap_or("(unnamed)"),
            config.function_version.as_deref().unwrap_or("?"),
            config.memory_mb.map_or("?".to_owned(), |mb| mb.to_string())
        );
        Ok(Handler)
    }

    fn handle(&self, batch: Batch, context: &Context) -> Result<Report, Error> {
        let started = Instant::now();
        info!("{} items to process", batch.items.len());
        let mut report = Report {
            done: 0,
            skipped: 0,
            failed: Vec::new(),
        };
        for (k, item) in batch.items.iter().enumerate() {
            if context.remaining().is_some_and(|left| left < MARGIN) {
                report.skipped = batch.items.len() - k;
                warn!("stopping early: {} items left unprocessed", report.skipped);
                break;
            }
            if item.is_empty() {
                error!("item {k} has no name");
                report.failed.push(k);
                continue;
            }
            debug!("processing {item:?}");
            std::thread::sleep(Duration::from_millis(batch.work_ms));
            report.done += 1;
        }
        info!("done in {:?}", started.elapsed());
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn processes_until_time_runs_short() {
        let batch = |items: &[&str]| Batch {
            items: items.iter().map(|s| s.to_string()).collect(),
            work_ms: 0,
        };
        let report = Handler
            .handle(batch(&["a", "", "c"]), &Context::default())
            .unwrap();
        assert_eq!((report.done, report.skipped, report.failed), (2, 0, vec![1]));

        let mut late = Context::default();
        late.deadline = Some(SystemTime::now() + Duration::from_millis(100));
        let report = Handler.handle(batch(&["a", "b"]), &late).unwrap();
        assert_eq!((report.done, report.skipped), (0, 2));
    }
}
