//! Timestamps on the wire: RFC 3339 with a required offset (`2024-01-01T00:00:00Z`,
//! `2024-01-01T01:00:00+01:00`), read and written with the `time` crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp; `None` unless it is one, offset included (a date alone, or a
/// time without `Z` or `±HH:MM`, is not), or when the platform's clock cannot hold it.
pub fn parse(text: &str) -> Option<SystemTime> {
    to_system_time(OffsetDateTime::parse(text, &Rfc3339).ok()?)
}

/// `at` as RFC 3339 in UTC (`2024-01-01T00:00:00Z`, with a fraction only when `at` has one).
/// An instant RFC 3339 cannot write (outside the years 0000-9999) is written as seconds from
/// the Unix epoch (`@253402300800`) rather than lost.
pub fn format(at: SystemTime) -> String {
    write(at, false)
}

/// `at` as RFC 3339 in UTC to the second, rounded down (`2026-01-02T03:04:05Z`).
pub fn format_seconds(at: SystemTime) -> String {
    write(at, true)
}

fn write(at: SystemTime, whole_seconds: bool) -> String {
    let seconds = unix_seconds(at);
    let Some(mut utc) = to_offset_date_time(at) else {
        return format!("@{seconds}");
    };
    if whole_seconds {
        utc = utc.replace_nanosecond(0).unwrap_or(utc);
    }
    utc.format(&Rfc3339)
        .unwrap_or_else(|_| format!("@{seconds}"))
}

/// Nanoseconds from the Unix epoch (negative before it).
fn unix_nanos(at: SystemTime) -> i128 {
    let nanos = |d: Duration| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX);
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => nanos(after),
        Err(before) => -nanos(before.duration()),
    }
}

fn unix_seconds(at: SystemTime) -> i128 {
    unix_nanos(at).div_euclid(1_000_000_000)
}

/// `at` in UTC, when the `time` crate can hold it (it panics in its own `From` otherwise).
fn to_offset_date_time(at: SystemTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(unix_nanos(at)).ok()
}

/// `at` on the platform's clock, when it can hold it (`SystemTime`'s own `From` panics on a
/// clock that cannot go back far enough).
fn to_system_time(at: OffsetDateTime) -> Option<SystemTime> {
    let nanos = at.unix_timestamp_nanos();
    let distance = nanos.unsigned_abs();
    let seconds = u64::try_from(distance / 1_000_000_000).ok()?;
    let subsec = u32::try_from(distance % 1_000_000_000).ok()?;
    let distance = Duration::new(seconds, subsec);
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(distance)
    } else {
        UNIX_EPOCH.checked_sub(distance)
    }
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

    #[test]
    fn instants_rfc_3339_cannot_write_are_written_as_epoch_seconds_without_a_panic() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40);
        assert_eq!(format(far), format!("@{}", 1u64 << 40));
        assert_eq!(format_seconds(far), format!("@{}", 1u64 << 40));
        let before = SystemTime::UNIX_EPOCH - Duration::from_millis(1_500);
        assert_eq!(format(before), "1969-12-31T23:59:58.5Z");
        assert_eq!(format_seconds(before), "1969-12-31T23:59:58Z");
        assert_eq!(parse("1969-12-31T23:59:58.5Z"), Some(before));
        let earliest = parse("0000-01-01T00:00:00Z");
        assert!(earliest.is_some_and(|at| at < SystemTime::UNIX_EPOCH));
        assert_eq!(
            parse("9999-12-31T23:59:59Z").map(format_seconds).as_deref(),
            Some("9999-12-31T23:59:59Z")
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
