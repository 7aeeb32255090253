//! Timestamps on the wire: RFC 3339 with a required offset (`2024-01-01T00:00:00Z`,
//! `2024-01-01T01:00:00+01:00`), read and written with the `time` crate.

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp; `None` unless it is one, offset included (a date alone, or a
/// time without `Z` or `±HH:MM`, is not).
pub fn parse(text: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// `at` as RFC 3339 in UTC (`2024-01-01T00:00:00Z`, with a fraction only when `at` has one).
/// An instant outside the years 0000-9999, which RFC 3339 cannot write, is written in the
/// `time` crate's own format rather than lost.
pub fn format(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// `at` as RFC 3339 in UTC to the second, rounded down (`2026-01-02T03:04:05Z`).
pub fn format_seconds(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn offsets_are_required_and_honoured() {
        let midnight = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        assert_eq!(parse("2024-01-01T00:00:00Z"), Some(midnight));
        assert_eq!(parse("2024-01-01T01:00:00+01:00"), Some(midnight));
        assert_eq!(parse("2024-01-01t00:00:00z"), Some(midnight));
        for bad in [
            "2024-01-01T00:00:00",
            "2024-01-01",
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_704_067_200_500_000);
        assert_eq!(format(at), "2024-01-01T00:00:00.5Z");
        assert_eq!(format_seconds(at), "2024-01-01T00:00:00Z");
        assert_eq!(parse(&format(at)), Some(at));
        assert_eq!(
            format_seconds(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00Z"
        );
    }

    /// Moved from the command line's own calendar code, which this module replaced.
    #[test]
    fn seconds_round_trip_across_offsets_and_leap_days() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045);
        assert_eq!(format_seconds(time), "2026-01-02T03:04:05Z");
        assert_eq!(parse("2026-01-02T03:04:05Z"), Some(time));
        assert_eq!(
            parse("2026-01-02T04:04:05.25+01:00"),
            Some(time + Duration::from_millis(250))
        );
        assert_eq!(
            parse("2024-02-29T00:00:00Z").map(format_seconds).as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
        for bad in [
            "2026-13-02T03:04:05Z",
            "2026-02-30T00:00:00Z",
            "2026-01-02T03:04:05",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
