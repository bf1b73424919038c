//! `tracing` events as the runtime's lines (feature `tracing`).
//!
//! tracing-subscriber's registry is the subscriber; one layer of ours turns
//! each event into a line: its `message`, then its other fields as
//! `name=value`, at its level, with the invocation's request id like any
//! other line. tracing-subscriber's level filter drops events below
//! `AWS_LAMBDA_LOG_LEVEL` before they are formatted.

use std::fmt::{self, Write as _};

use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use super::Level;

/// Makes the registry, with our layer filtered at `lowest`, the process's
/// subscriber (unless the function set one first).
pub(super) fn install(lowest: Level) {
    let lines = Lines.with_filter(filter(lowest));
    let subscriber = tracing_subscriber::registry().with(lines);
    let _ = tracing_core::dispatcher::set_global_default(subscriber.into());
}

/// The `tracing` filter that lets through `lowest` and above.
fn filter(lowest: Level) -> LevelFilter {
    match lowest {
        Level::Trace => LevelFilter::TRACE,
        Level::Debug => LevelFilter::DEBUG,
        Level::Info => LevelFilter::INFO,
        Level::Warn => LevelFilter::WARN,
        Level::Error => LevelFilter::ERROR,
        Level::Fatal => LevelFilter::OFF,
    }
}

fn level(level: tracing_core::Level) -> Level {
    match level {
        tracing_core::Level::TRACE => Level::Trace,
        tracing_core::Level::DEBUG => Level::Debug,
        tracing_core::Level::INFO => Level::Info,
        tracing_core::Level::WARN => Level::Warn,
        tracing_core::Level::ERROR => Level::Error,
    }
}

/// The layer that writes each event as a line.
struct Lines;

impl<S: Subscriber> Layer<S> for Lines {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let text = Text::of(event);
        super::write(level(*event.metadata().level()), format_args!("{text}"));
    }
}

/// An event's fields as text: the message first, then ` name=value`.
#[derive(Default)]
struct Text(String);

impl Text {
    fn of(event: &Event<'_>) -> String {
        let mut text = Text::default();
        event.record(&mut text);
        // An event without a message starts with its first field.
        text.0.trim_start().to_owned()
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{fields}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_core::field::FieldSet;
    use tracing_core::{Kind, Metadata, callsite};

    struct Site;
    impl callsite::Callsite for Site {
        fn set_interest(&self, _: tracing_core::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &METADATA
        }
    }
    static SITE: Site = Site;
    static METADATA: Metadata<'static> = Metadata::new(
        "event",
        "orders",
        tracing_core::Level::WARN,
        None,
        None,
        None,
        FieldSet::new(&["order", "message", "note"], callsite::Identifier(&SITE)),
        Kind::EVENT,
    );

    #[test]
    fn an_event_is_its_message_then_its_fields() {
        let fields = METADATA.fields();
        let [order, message, note] = ["order", "message", "note"].map(|name| fields.field(name).unwrap());
        let values: [(&Field, Option<&dyn tracing_core::field::Value>); 3] = [
            (&order, Some(&7u64)),
            (&message, Some(&format_args!("order {} held", 7))),
            (&note, Some(&"late")),
        ];
        let values = fields.value_set(&values);
        let event = Event::new(&METADATA, &values);
        assert_eq!(Text::of(&event), "order 7 held order=7 note=late");
        assert_eq!(level(*event.metadata().level()), Level::Warn);
        let without_message: [(&Field, Option<&dyn tracing_core::field::Value>); 2] =
            [(&order, Some(&7u64)), (&note, Some(&"late"))];
        let values = fields.value_set(&without_message);
        assert_eq!(Text::of(&Event::new(&METADATA, &values)), "order=7 note=late");
    }

    #[test]
    fn the_filter_is_the_configured_level() {
        assert_eq!(filter(Level::Debug), LevelFilter::DEBUG);
        assert_eq!(filter(Level::Fatal), LevelFilter::OFF);
    }
}
