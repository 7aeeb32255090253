//! Timestamps: unix microseconds inside, RFC 3339 UTC on the wire.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The current time in unix microseconds.
pub(crate) fn now_micros() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

/// Formats unix microseconds as RFC 3339 in UTC (`2024-01-01T00:00:00Z`).
pub(crate) fn format_micros(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp (the offset is required) into unix microseconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let micros = 1_704_067_200_000_000;
        assert_eq!(format_micros(micros), "2024-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00Z"), Some(micros));
        assert_eq!(parse_rfc3339("2024-01-01T01:00:00+01:00"), Some(micros));
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00"), None);
        assert_eq!(parse_rfc3339("2024-01-01"), None);
    }
}
