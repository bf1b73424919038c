//! The `log` crate's records as the runtime's lines (feature `log-facade`).

use super::{Level, Logger};

/// Makes `logger` the `log` crate's logger, with its level as the `log`
/// filter (records below it are not even formatted).
pub(super) fn install(logger: &'static Logger) {
    if log::set_logger(logger).is_ok() {
        log::set_max_level(filter(logger.lowest));
    }
}

fn level(level: log::Level) -> Level {
    match level {
        log::Level::Trace => Level::Trace,
        log::Level::Debug => Level::Debug,
        log::Level::Info => Level::Info,
        log::Level::Warn => Level::Warn,
        log::Level::Error => Level::Error,
    }
}

/// The `log` filter that lets through `lowest` and above.
fn filter(lowest: Level) -> log::LevelFilter {
    match lowest {
        Level::Trace => log::LevelFilter::Trace,
        Level::Debug => log::LevelFilter::Debug,
        Level::Info => log::LevelFilter::Info,
        Level::Warn => log::LevelFilter::Warn,
        Level::Error => log::LevelFilter::Error,
        Level::Fatal => log::LevelFilter::Off,
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        level(metadata.level()) >= self.lowest
    }

    fn log(&self, record: &log::Record<'_>) {
        // ureq's debug and trace records describe each Runtime API call
        // (hex dumps of events included): noise, and a cost, in the
        // function's logs. Its warnings and errors still come through.
        let chatter = record.target().starts_with("ureq") && record.level() > log::Level::Warn;
        if self.enabled(record.metadata()) && !chatter {
            self.write(level(record.level()), *record.args());
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_facade_honours_the_level() {
        assert_eq!(filter(Level::Fatal), log::LevelFilter::Off);
        assert_eq!(filter(Level::Warn), log::LevelFilter::Warn);
        let warn = Logger {
            json: false,
            lowest: Level::Warn,
            concurrent: false,
        };
        let enabled = |level| log::Log::enabled(&warn, &log::Metadata::builder().level(level).build());
        assert!(!enabled(log::Level::Info));
        assert!(enabled(log::Level::Warn) && enabled(log::Level::Error));
    }
}
