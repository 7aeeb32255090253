//! How a scan runs: how many pages it keeps in flight, and whether it guards against records
//! shifting while it reads.

use serde::{Deserialize, Serialize};

use crate::concurrency::{Concurrency, DEFAULT_MAX_SCAN_CONCURRENCY};

/// How many pages an adaptive scan keeps in flight at its start (the default
/// [`Concurrency::Adaptive`] starts here and grows up to [`DEFAULT_MAX_SCAN_CONCURRENCY`]); it
/// was the fixed default before scans adapted.
///
/// Measured on a 2-core machine against the in-process sandbox (see `docs/performance.md`):
/// at no latency the machine's CPU is the limit and four or six in flight do the same within
/// the noise. At 5 ms of latency per request, a scan of typed records with six in flight read
/// 3.75x-3.89x as fast as raw reqwest reading one page after the other, and 3.25x with four
/// (`serde_json::Value` records, CPU-bound: 3.5x-3.8x with six, 3.6x with four).
/// Over a real network's tens of milliseconds, each page in flight hides another request's
/// wait, so more depth helps more. Memory grows with it: up to `depth` page bodies in flight
/// and the body of the page being read (records are decoded one at a time, as they are
/// yielded).
pub const DEFAULT_PIPELINE_DEPTH: usize = 6;

/// How many records a consistent scan re-reads before each page by default, to prove that no
/// record was skipped.
pub const DEFAULT_OVERLAP: u32 = 32;

/// What a scan guarantees when records change while it runs.
///
/// Both modes read the pages of an id-ordered list with `limit`/`offset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScanMode {
    /// Offset pagination as the server gives it. Over a set that does not change during the
    /// scan, every record is yielded exactly once. If records are deleted before the scan's
    /// position, later records shift to lower offsets and **some are skipped**; if records are
    /// inserted before it (impossible with increasing ids, but possible in a filtered or
    /// date-ranged query), **some are yielded twice**. The scan notices when `meta.total`
    /// moves ([`crate::Scan::total_moved`]) but does not correct for it.
    #[default]
    Plain,
    /// Every page is requested with an overlap of already-read records, and records whose id
    /// is not above the last id yielded are dropped. A page that does not reach back to the
    /// last id yielded proves records shifted by more than the overlap; the scan then steps
    /// back (doubling) until it does. Guarantee: every record that exists for the whole scan is
    /// yielded exactly once, whatever is deleted or inserted meanwhile; records inserted or
    /// deleted during the scan are yielded at most once. It needs a server that lists by id
    /// ascending (the contract) and an `id` on every record; otherwise the scan fails with an
    /// error rather than guess.
    Consistent,
}

/// The most bytes of page bodies an adaptive scan lets be in flight unless configured.
pub const DEFAULT_MAX_IN_FLIGHT_BYTES: usize = 16 * 1024 * 1024;

/// How a scan runs. The default is a [`ScanMode::Plain`] scan whose pages in flight adapt
/// ([`Concurrency::Adaptive`] from [`DEFAULT_PIPELINE_DEPTH`] up to
/// [`DEFAULT_MAX_SCAN_CONCURRENCY`], and page bodies in flight within
/// [`DEFAULT_MAX_IN_FLIGHT_BYTES`]).
///
/// ```
/// use dbsync_client::{Concurrency, ScanMode, ScanOptions};
/// let options = ScanOptions::default().pipeline_depth(8).mode(ScanMode::Consistent).overlap(64);
/// assert_eq!(options.get_concurrency(), Concurrency::Fixed(8));
/// let sequential = ScanOptions::sequential();
/// assert_eq!(sequential.get_pipeline_depth(), 0);
/// let adaptive = ScanOptions::default().concurrency(Concurrency::adaptive(4, 128));
/// assert_eq!(adaptive.get_pipeline_depth(), 128);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    pub(crate) concurrency: Concurrency,
    pub(crate) max_in_flight_bytes: usize,
    pub(crate) mode: ScanMode,
    pub(crate) overlap: u32,
    pub(crate) max_pages: Option<u64>,
    pub(crate) max_records: Option<u64>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            concurrency: Concurrency::adaptive(
                DEFAULT_PIPELINE_DEPTH,
                DEFAULT_MAX_SCAN_CONCURRENCY,
            ),
            max_in_flight_bytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
            mode: ScanMode::Plain,
            overlap: DEFAULT_OVERLAP,
            max_pages: None,
            max_records: None,
        }
    }
}

impl ScanOptions {
    /// One page at a time: the next page is requested only when the caller has taken every
    /// record of the current one (depth 0).
    pub fn sequential() -> Self {
        Self::default().pipeline_depth(0)
    }

    /// A fixed number of pages in flight while the caller reads the current one (0 turns
    /// pipelining off): `concurrency(Concurrency::Fixed(depth))`. Until the first page tells
    /// the total, and when the server sends no total, at most one page is read ahead, so no
    /// page past the end is ever asked for. Memory is bounded by `depth` page bodies in flight
    /// plus the body of the page being read (records are decoded one at a time, as they are
    /// yielded), whatever the total.
    pub fn pipeline_depth(self, depth: usize) -> Self {
        self.concurrency(Concurrency::Fixed(depth))
    }

    /// How many pages are in flight while the caller reads the current one: fixed, or adapting
    /// to the server's answers (the default; see [`Concurrency`]). An adaptive scan also keeps
    /// the page bodies in flight within [`Self::max_in_flight_bytes`].
    pub fn concurrency(mut self, concurrency: Concurrency) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// The most bytes of page bodies an adaptive scan keeps in flight (default
    /// [`DEFAULT_MAX_IN_FLIGHT_BYTES`], 16 MiB): its limit of pages in flight is also at most
    /// this over the average page body so far (and at least one page).
    pub fn max_in_flight_bytes(mut self, bytes: usize) -> Self {
        self.max_in_flight_bytes = bytes;
        self
    }

    /// The scan's mode (default [`ScanMode::Plain`]).
    pub fn mode(mut self, mode: ScanMode) -> Self {
        self.mode = mode;
        self
    }

    /// How many records a [`ScanMode::Consistent`] scan re-reads before each page (default
    /// [`DEFAULT_OVERLAP`]; at most half the page size is used). A larger overlap costs a
    /// little bandwidth and saves step-backs when many records are deleted between pages.
    pub fn overlap(mut self, records: u32) -> Self {
        self.overlap = records;
        self
    }

    /// The most pages the scan may read (default: no cap). A scan that needs more ends with an
    /// error saying so (its checkpoint is still good): a guard against a server whose pages
    /// never end. Refetched pages count too.
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// The most records the scan may yield (default: no cap). A scan with more to yield ends
    /// with an error saying so, after yielding this many.
    pub fn max_records(mut self, records: u64) -> Self {
        self.max_records = Some(records);
        self
    }

    /// The old name of [`Self::get_pipeline_depth`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_pipeline_depth`, named after its setter `pipeline_depth`"
    )]
    pub fn depth(&self) -> usize {
        self.get_pipeline_depth()
    }

    /// The most pages in flight: the fixed depth, or the adaptive maximum.
    pub fn get_pipeline_depth(&self) -> usize {
        self.concurrency.max()
    }

    /// The configured concurrency.
    pub fn get_concurrency(&self) -> Concurrency {
        self.concurrency
    }

    /// The configured cap on page bodies in flight of an adaptive scan.
    pub fn get_max_in_flight_bytes(&self) -> usize {
        self.max_in_flight_bytes
    }

    /// The old name of [`Self::get_mode`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_mode`, named after its setter `mode`"
    )]
    pub fn scan_mode(&self) -> ScanMode {
        self.get_mode()
    }

    /// The configured mode.
    pub fn get_mode(&self) -> ScanMode {
        self.mode
    }
}
