//! Timestamps: unix microseconds inside, RFC 3339 UTC on the wire.

use std::fmt::Write as _;

use time::OffsetDateTime;

/// The current time in unix microseconds.
pub(crate) fn now_micros() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

/// Formats unix microseconds as RFC 3339 in UTC (`2024-01-01T00:00:00Z`).
pub(crate) fn format_micros(micros: i64) -> String {
    let mut text = String::with_capacity(27);
    write_micros(micros, &mut text);
    text
}

/// Appends unix microseconds as RFC 3339 in UTC: `2024-01-01T00:00:00Z`, with a fraction only
/// when there is one, trailing zeros dropped (`...:00.5Z`). Nothing is written for a time outside
/// the years 0000-9999, which RFC 3339 cannot express.
///
/// The same text as the `time` crate's `Rfc3339` (a test checks it), without its allocations:
/// every record a list returns carries two of these.
pub(crate) fn write_micros(micros: i64, out: &mut String) {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        return;
    }
    let second_of_day = seconds.rem_euclid(86_400);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    // `fmt::Write` for `String` cannot fail.
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
    );
    if fraction != 0 {
        let (mut digits, mut value) = (6, fraction);
        while value % 10 == 0 {
            value /= 10;
            digits -= 1;
        }
        let _ = write!(out, ".{value:0digits$}");
    }
    out.push('Z');
}

/// `(year, month, day)` of a count of days since 1970-01-01 in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Parses an RFC 3339 timestamp (the offset is required) into unix microseconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let at = OffsetDateTime::from(dbsync_contract::timestamp::parse(text)?);
    i64::try_from(at.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix;
    use time::format_description::well_known::Rfc3339;

    /// What the `time` crate writes for the same instant (`""` where it cannot).
    fn reference(micros: i64) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default()
    }

    #[test]
    fn round_trip() {
        let micros = 1_704_067_200_000_000;
        assert_eq!(format_micros(micros), "2024-01-01T00:00:00Z");
        assert_eq!(format_micros(micros + 500_000), "2024-01-01T00:00:00.5Z");
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00Z"), Some(micros));
        assert_eq!(parse_rfc3339("2024-01-01T01:00:00+01:00"), Some(micros));
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00"), None);
        assert_eq!(parse_rfc3339("2024-01-01"), None);
    }

    #[test]
    fn same_text_as_the_time_crate() {
        let year_0 = -62_167_219_200_000_000i64;
        let year_10000 = 253_402_300_800_000_000i64;
        let edges = [
            0,
            -1,
            1,
            year_0,
            year_0 - 1,
            year_10000 - 1,
            year_10000,
            951_782_400_000_000, // 2000-02-29
            i64::MIN,
            i64::MAX,
        ];
        let mut rng = SplitMix::new(11);
        let random = (0..200_000).map(|i| {
            let span = (year_10000 - year_0) as u64;
            let micros = year_0 + rng.below(span) as i64;
            // Every other one on a whole second, as seeded timestamps are.
            if i % 2 == 0 {
                micros - micros.rem_euclid(1_000_000)
            } else {
                micros
            }
        });
        for micros in edges.into_iter().chain(random) {
            assert_eq!(format_micros(micros), reference(micros), "{micros}");
        }
    }
}
