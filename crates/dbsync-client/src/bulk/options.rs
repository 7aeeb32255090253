//! How a bulk write sends its batches: requests in flight, records per request, progress.

use std::fmt;
use std::sync::Arc;

use dbsync_contract::MAX_BATCH_SIZE;

use crate::concurrency::{Concurrency, DEFAULT_MAX_BULK_CONCURRENCY};

/// How many batch requests are in flight at the start unless configured: the default
/// [`Concurrency::Adaptive`] starts here and grows up to [`DEFAULT_MAX_BULK_CONCURRENCY`] (it
/// was the fixed default before bulk writes adapted).
pub const DEFAULT_BATCH_CONCURRENCY: usize = 4;

/// How far a batch call has come; handed to [`BatchOptions::on_progress`] after each batch
/// request (split parts included) finishes, and once at the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Progress {
    /// Records whose outcome is known (saved or failed).
    pub done: usize,
    /// All records of the call.
    pub total: usize,
    /// Records the server reported saved.
    pub saved: usize,
    /// Records that failed (refused, invalid before sending, or with an unknown outcome).
    pub failed: usize,
}

impl Progress {
    /// How far a call of `total` records has come (for tests of progress callbacks).
    pub fn new(done: usize, total: usize, saved: usize, failed: usize) -> Self {
        Self {
            done,
            total,
            saved,
            failed,
        }
    }
}

/// A progress callback: any `Fn(Progress)` that can be shared between threads, such as one that
/// moves an `indicatif` progress bar.
pub type ProgressCallback = Arc<dyn Fn(Progress) + Send + Sync>;

/// How [`crate::Resource::create_many_with`] and [`crate::Resource::update_many_with`] send
/// their batches.
///
/// ```
/// use dbsync_client::BatchOptions;
/// let options = BatchOptions::default()
///     .concurrency(8)
///     .chunk_size(50)
///     .on_progress(|p| eprintln!("{}/{} records", p.done, p.total));
/// assert_eq!(options.get_concurrency(), dbsync_client::Concurrency::Fixed(8));
/// assert_eq!(options.get_chunk_size(), 50);
/// ```
#[derive(Clone)]
pub struct BatchOptions {
    pub(super) concurrency: Concurrency,
    pub(super) chunk_size: usize,
    pub(super) on_progress: Option<ProgressCallback>,
}

impl Default for BatchOptions {
    /// Adaptive requests in flight (4 at the start, at most 32), 100 records per request, no
    /// progress callback.
    fn default() -> Self {
        Self {
            concurrency: Concurrency::adaptive(
                DEFAULT_BATCH_CONCURRENCY,
                DEFAULT_MAX_BULK_CONCURRENCY,
            ),
            chunk_size: MAX_BATCH_SIZE,
            on_progress: None,
        }
    }
}

impl fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchOptions")
            .field("concurrency", &self.concurrency)
            .field("chunk_size", &self.chunk_size)
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

impl BatchOptions {
    /// How many batch requests may be in flight at once: a number (fixed; `0` counts as 1) or
    /// a [`Concurrency`] (default: adaptive from 4 up to 32, see [`Concurrency`]). The parts of
    /// a split batch count against their batch's slot.
    pub fn concurrency(mut self, requests: impl Into<Concurrency>) -> Self {
        self.concurrency = match requests.into() {
            Concurrency::Fixed(n) => Concurrency::Fixed(n.max(1)),
            adaptive => adaptive,
        };
        self
    }

    /// Records per batch request (default and most 100, the contract's limit; a larger value is
    /// lowered to 100, `0` counts as 1).
    pub fn chunk_size(mut self, records: usize) -> Self {
        self.chunk_size = records.clamp(1, MAX_BATCH_SIZE);
        self
    }

    /// Called with the progress after each batch request finishes (and once at the start, with
    /// `total` set). Runs on the caller's task: keep it quick.
    pub fn on_progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(callback));
        self
    }

    /// The old name of [`Self::get_concurrency`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_concurrency`, named after its setter `concurrency`"
    )]
    pub fn max_in_flight(&self) -> usize {
        self.get_concurrency().max()
    }

    /// The configured concurrency.
    pub fn get_concurrency(&self) -> Concurrency {
        self.concurrency
    }

    /// The old name of [`Self::get_chunk_size`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_chunk_size`, named after its setter `chunk_size`"
    )]
    pub fn records_per_request(&self) -> usize {
        self.get_chunk_size()
    }

    /// The configured records per request.
    pub fn get_chunk_size(&self) -> usize {
        self.chunk_size
    }
}
