//! Log lines for CloudWatch, in the format the function is configured for.
//!
//! Lambda captures stdout and stderr. With `AWS_LAMBDA_LOG_FORMAT=JSON` it
//! expects one JSON object per line and filters on its `level`; otherwise a
//! plain line is best. The runtime only logs what needs a human: refused
//! answers and the reason it is about to exit.

use std::fmt::Display;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

pub fn warn(request_id: Option<&str>, message: impl Display) {
    write("WARN", request_id, &message);
}

pub fn error(request_id: Option<&str>, message: impl Display) {
    write("ERROR", request_id, &message);
}

fn write(level: &str, request_id: Option<&str>, message: &dyn Display) {
    let json = std::env::var_os("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let mut stderr = std::io::stderr().lock();
    // Logging must never take the runtime down: a closed stderr is ignored.
    let _ = if json {
        writeln!(
            stderr,
            "{}",
            json_line(now_ms(), level, request_id, &message.to_string())
        )
    } else {
        write_text_line(&mut stderr, level, request_id, message)
    };
}

fn write_text_line(
    out: &mut dyn Write,
    level: &str,
    request_id: Option<&str>,
    message: &dyn Display,
) -> std::io::Result<()> {
    match request_id {
        Some(id) => writeln!(out, "{level} bootstrap [{id}] {message}"),
        None => writeln!(out, "{level} bootstrap {message}"),
    }
}

fn json_line(ms: u64, level: &str, request_id: Option<&str>, message: &str) -> String {
    let mut line = json!({ "timestamp": rfc3339(ms), "level": level, "message": message });
    if let Some(id) = request_id {
        line["requestId"] = id.into();
    }
    line.to_string()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2023-11-14T22:13:20.000Z` for Unix milliseconds, with no date crate:
/// days since the epoch to a civil date by shifting the year to start in
/// March, so the leap day falls at the end of the year.
fn rfc3339(ms: u64) -> String {
    let (days, ms_of_day) = (ms / 86_400_000, ms % 86_400_000);
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    let (secs, millis) = (ms_of_day / 1000, ms_of_day % 1000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(rfc3339(1_798_761_599_000), "2026-12-31T23:59:59.000Z");
    }

    #[test]
    fn json_lines_carry_level_message_and_request_id() {
        let line: serde_json::Value =
            serde_json::from_str(&json_line(0, "WARN", Some("id-1"), "a \"b\"")).unwrap();
        assert_eq!(
            line,
            json!({"timestamp": "1970-01-01T00:00:00.000Z", "level": "WARN", "message": "a \"b\"", "requestId": "id-1"})
        );
        let line: serde_json::Value = serde_json::from_str(&json_line(0, "ERROR", None, "x")).unwrap();
        assert!(line.get("requestId").is_none());
    }

    #[test]
    fn text_lines_name_the_request() {
        let line = |request_id, message: &str| {
            let mut out = Vec::new();
            write_text_line(&mut out, "WARN", request_id, &message).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(line(Some("id-1"), "late"), "WARN bootstrap [id-1] late\n");
        assert_eq!(line(None, "gone"), "WARN bootstrap gone\n");
    }
}
