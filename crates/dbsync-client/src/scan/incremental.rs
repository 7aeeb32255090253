//! Incremental sync by date range: records changed since a watermark, read in date slices.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Error;
use crate::query::Timestamp;

use super::options::{ScanMode, ScanOptions};

/// How long after a change an incremental scan waits before it reads it, by default: the
/// upper bound of a scan is the client's clock minus this, so that a write the server stamped
/// just before the bound is visible by the time the scan reads (and small clock skews between
/// client and server do not lose changes).
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(1);

/// How an incremental scan ([`crate::Resource::changes_since`]) reads.
///
/// ```
/// use std::time::Duration;
/// use dbsync_client::IncrementalOptions;
/// let options = IncrementalOptions::default()
///     .window(Duration::from_secs(24 * 3600))
///     .until("2024-06-01T00:00:00Z");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrementalOptions {
    pub(crate) window: Option<Duration>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) settle: Duration,
    pub(crate) scan: ScanOptions,
}

impl Default for IncrementalOptions {
    /// One slice, up to now minus [`DEFAULT_SETTLE`], as a [`ScanMode::Consistent`] scan with
    /// the default pipeline.
    fn default() -> Self {
        Self {
            window: None,
            until: None,
            settle: DEFAULT_SETTLE,
            scan: ScanOptions::default().mode(ScanMode::Consistent),
        }
    }
}

impl IncrementalOptions {
    /// Reads the range in slices of this length (`from`/`to` per slice), so a long history is
    /// not one huge filtered scan. Default: one slice.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window).filter(|w| !w.is_zero());
        self
    }

    /// The end of the range (exclusive); becomes the new watermark. Default: now minus the
    /// settle time.
    pub fn until(mut self, until: impl Into<Timestamp>) -> Self {
        self.until = Some(until.into());
        self
    }

    /// How far behind the client's clock the default end of the range is (default
    /// [`DEFAULT_SETTLE`]).
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// The options of the scan of each slice (default: consistent, default depth).
    pub fn scan_options(mut self, options: ScanOptions) -> Self {
        self.scan = options;
        self
    }
}

/// The date slices of an incremental scan: `[from, until)` cut into windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Slices {
    /// The start of the current slice (inclusive): everything before it is done. `None`: from
    /// the beginning of time (then there is one slice).
    pub(crate) from: Option<String>,
    /// The end of the whole range (exclusive).
    pub(crate) until: String,
    pub(crate) window: Option<Duration>,
    /// Whether every slice has been read.
    pub(crate) done: bool,
}

pub(crate) fn parse_time(what: &str, value: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|e| {
        Error::config(format!(
            "{what} `{value}` is not an RFC 3339 timestamp with an offset ({e}), e.g. \
             2024-01-01T00:00:00Z"
        ))
    })
}

pub(crate) fn format_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

impl Slices {
    pub(crate) fn new(
        since: Option<&Timestamp>,
        options: &IncrementalOptions,
    ) -> Result<Self, Error> {
        let until = match &options.until {
            Some(until) => parse_time("until", until.as_str())?,
            None => OffsetDateTime::now_utc() - options.settle,
        };
        let from = since
            .map(|s| parse_time("the watermark", s.as_str()))
            .transpose()?;
        // A watermark at or past the end: nothing to read, and the watermark stays.
        let until = from.map_or(until, |from| until.max(from));
        Ok(Self {
            done: from.is_some_and(|from| from >= until),
            from: from.map(format_time),
            until: format_time(until),
            window: options.window,
        })
    }

    /// The `[from, to)` of the current slice.
    pub(crate) fn current(&self) -> Result<(Option<String>, String), Error> {
        let Some(from) = &self.from else {
            return Ok((None, self.until.clone()));
        };
        let end = self.slice_end(from)?;
        Ok((Some(from.clone()), format_time(end)))
    }

    fn slice_end(&self, from: &str) -> Result<OffsetDateTime, Error> {
        let until = parse_time("until", &self.until)?;
        let start = parse_time("the slice start", from)?;
        let end = match self.window.and_then(|w| time::Duration::try_from(w).ok()) {
            Some(window) => start.checked_add(window).unwrap_or(until).min(until),
            None => until,
        };
        Ok(end)
    }

    /// Moves to the next slice; `false` when the range is done.
    pub(crate) fn advance(&mut self) -> Result<bool, Error> {
        let (_, to) = self.current()?;
        if to == self.until {
            self.from = Some(to);
            self.done = true;
            return Ok(false);
        }
        self.from = Some(to);
        Ok(true)
    }

    /// Everything before this has been yielded (`None` before the first slice is done, when
    /// the scan started from the beginning of time).
    pub(crate) fn watermark(&self) -> Option<&str> {
        if self.done {
            Some(&self.until)
        } else {
            self.from.as_deref()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_cut_into_windows_ending_at_until() {
        let options = IncrementalOptions::default()
            .window(Duration::from_secs(3600 * 10))
            .until("2024-01-02T00:00:00Z");
        let since = Timestamp::from("2024-01-01T00:00:00Z");
        let mut slices = Slices::new(Some(&since), &options).unwrap();
        let mut seen = Vec::new();
        loop {
            seen.push(slices.current().unwrap());
            if !slices.advance().unwrap() {
                break;
            }
        }
        let ends: Vec<&str> = seen.iter().map(|(_, to)| to.as_str()).collect();
        assert_eq!(
            ends,
            [
                "2024-01-01T10:00:00Z",
                "2024-01-01T20:00:00Z",
                "2024-01-02T00:00:00Z"
            ]
        );
        assert_eq!(seen[1].0.as_deref(), Some("2024-01-01T10:00:00Z"));
        assert_eq!(slices.watermark(), Some("2024-01-02T00:00:00Z"));
    }

    #[test]
    fn without_a_watermark_there_is_one_slice_and_a_bad_watermark_is_an_error() {
        let options = IncrementalOptions::default().until("2024-01-02T00:00:00+01:00");
        let slices = Slices::new(None, &options).unwrap();
        assert_eq!(
            slices.current().unwrap(),
            (None, "2024-01-01T23:00:00Z".into())
        );
        assert_eq!(slices.watermark(), None);
        let later = Timestamp::from("2024-03-01T00:00:00Z");
        let nothing = Slices::new(Some(&later), &options).unwrap();
        assert!(nothing.done);
        assert_eq!(nothing.watermark(), Some("2024-03-01T00:00:00Z"));
        let bad = Timestamp::from("yesterday");
        assert!(Slices::new(Some(&bad), &options).is_err());
    }
}
