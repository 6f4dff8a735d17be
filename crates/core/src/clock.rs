//! Time as the rest of Liaison sees it: milliseconds since the Unix epoch from an injectable
//! clock, and the ISO-8601 text form the participant API uses.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A source of the current time; tests substitute a controllable one.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// `2019-11-08T02:41:28.172Z`: the participant service's timestamp form (always milliseconds,
/// always `Z`), which ChatJS parses to schedule its token refresh.
pub fn format_iso_millis(epoch_ms: i64) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000) else {
        return "1970-01-01T00:00:00.000Z".to_string();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parses an RFC 3339 / ISO-8601 instant (any offset, any fraction) into epoch milliseconds.
pub fn parse_iso_millis(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip_keeps_milliseconds() {
        let ms = 1_573_180_888_172;
        assert_eq!(format_iso_millis(ms), "2019-11-08T02:41:28.172Z");
        assert_eq!(parse_iso_millis("2019-11-08T02:41:28.172Z"), Some(ms));
        assert_eq!(parse_iso_millis("2019-11-08T03:41:28.172+01:00"), Some(ms));
        assert_eq!(parse_iso_millis("yesterday"), None);
    }
}
