//! Scans: every record of a list, fast and with known guarantees.
//!
//! A [`Scan`] reads the pages of a list with `limit`/`offset`, keeping several pages in flight
//! (pipelining: adaptive by default, see [`ScanOptions::concurrency`]), optionally guarding against records
//! shifting while it runs ([`ScanMode::Consistent`]), and can be stopped and resumed from a
//! [`Checkpoint`], split into [`Partition`]s, or run incrementally from an `updated_at`
//! watermark ([`crate::Resource::changes_since`]). See `docs/scans.md` for the guarantees.

mod checkpoint;
mod cursor;
mod fetch;
mod id;
mod incremental;
mod options;
mod partition;

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::stream::{FuturesOrdered, Stream, StreamExt as _};
use serde::de::DeserializeOwned;

use crate::concurrency::Aimd;
use crate::error::Error;
use crate::query::{Query, Timestamp};
use crate::resource::Resource;

pub use checkpoint::{CHECKPOINT_VERSION, Checkpoint};
pub use incremental::{DEFAULT_SETTLE, IncrementalOptions};
pub use options::{
    DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_OVERLAP, DEFAULT_PIPELINE_DEPTH, ScanMode, ScanOptions,
};
pub use partition::{MAX_PARTITIONS, Partition};
pub(crate) use partition::{date_partitions, partition, partitions};

use cursor::{Cursor, Verdict};
use fetch::{Fetched, PageTask, spawn_page};
use incremental::Slices;

/// A page whose records are not all yielded yet. Its records are decoded one at a time, as
/// they are yielded: the record the caller gets was just built, and each record is freed
/// before the next is allocated when the caller drops it, so the allocator reuses the same
/// memory instead of building and freeing a whole page of records at once.
struct Taken<T> {
    page: Fetched<T>,
    /// The ids of the page's records (`None` when not asked for).
    ids: Vec<Option<String>>,
    /// The next record of the page to yield, and the end of those the cursor keeps.
    next: usize,
    end: usize,
}

impl<T> Taken<T> {
    /// How many of the page's kept records are still to be yielded.
    fn remaining(&self) -> usize {
        self.end.saturating_sub(self.next)
    }
}

/// A running scan: a `Stream` of records (`Send + 'static`, so it can move into a task) that
/// can tell where it stands at any time ([`Scan::checkpoint`]).
///
/// Pages are fetched in tasks of the current tokio runtime; dropping the scan cancels the
/// pages in flight. After an error the scan yields that error and ends; its checkpoint is then
/// the place to resume from.
///
/// ```no_run
/// # async fn run() -> Result<(), dbsync_client::Error> {
/// use dbsync_client::{Connection, Query, ScanMode, ScanOptions};
/// use futures::StreamExt as _;
///
/// let records = Connection::from_env()?.records();
/// let options = ScanOptions::default().mode(ScanMode::Consistent);
/// let mut scan = records.scan_with(Query::new().limit(1000), options);
/// while let Some(record) = scan.next().await {
///     let record = record?;
///     // ... handle the record, and store the checkpoint from time to time:
///     let checkpoint = serde_json::to_string(&scan.checkpoint()).unwrap_or_default();
///     # let _ = (record, checkpoint);
/// }
/// # Ok(()) }
/// ```
pub struct Scan<T> {
    resource: Resource<T>,
    /// The query of the current slice, without offset and limit.
    query: Query,
    /// The query as the caller gave it (for checkpoints).
    base: Query,
    options: ScanOptions,
    /// The adaptive controller of pages in flight (`None`: a fixed depth).
    controller: Option<Aimd>,
    /// The average page body so far, in bytes (for [`ScanOptions::max_in_flight_bytes`]).
    page_bytes: Option<usize>,
    /// Whether the reader had to wait for a page since the last one was taken: only then does
    /// more depth help (a reader slower than the server would only pile up pages).
    reader_waited: bool,
    /// Bytes of the pages fetched and not taken yet (the fetch tasks count them in).
    ready_bytes: Arc<AtomicUsize>,
    cursor: Cursor,
    slices: Option<Slices>,
    in_flight: FuturesOrdered<PageTask<T>>,
    buffer: VecDeque<Taken<T>>,
    position: u64,
    last_yielded: Option<String>,
    /// An error found before the first fetch (a query the client refuses), yielded first.
    deferred: Option<Error>,
    /// Pages taken and records yielded so far (for the caps of [`ScanOptions`]).
    pages_taken: u64,
    records_yielded: u64,
    failed: bool,
    finished: bool,
}

// The scan never pins what it holds (pages sit in a `VecDeque`, fetches are spawned).
impl<T> Unpin for Scan<T> {}

impl<T> fmt::Debug for Scan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("resource", &self.resource.name())
            .field("query", &self.base)
            .field("options", &self.options)
            .field("position", &self.position)
            .field("in_flight", &self.in_flight.len())
            .field("depth", &self.depth())
            .field(
                "buffered",
                &self.buffer.iter().map(Taken::remaining).sum::<usize>(),
            )
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<T> Scan<T> {
    fn start(
        resource: Resource<T>,
        base: Query,
        options: ScanOptions,
        slices: Option<Slices>,
    ) -> Self {
        let limit = base
            .get_limit()
            .unwrap_or(dbsync_contract::DEFAULT_PAGE_SIZE);
        let offset = base.get_offset().unwrap_or(0);
        let mut deferred = crate::resource::check_query(&base).err();
        let mut query = strip_paging(base.clone());
        if let Some(slices) = &slices {
            match slices.current() {
                Ok((from, to)) => {
                    query = base.without_paging_and_range().with_range(from, Some(to));
                }
                Err(error) => deferred = deferred.or(Some(error)),
            }
        }
        let mut cursor = Cursor::new(options.mode, options.overlap, limit, offset);
        let finished = slices.as_ref().is_some_and(|s| s.done);
        cursor.done = finished;
        Self {
            resource,
            query,
            base,
            controller: options.concurrency.controller(),
            page_bytes: None,
            reader_waited: false,
            ready_bytes: Arc::default(),
            options,
            cursor,
            slices,
            in_flight: FuturesOrdered::new(),
            buffer: VecDeque::new(),
            position: offset,
            last_yielded: None,
            deferred,
            pages_taken: 0,
            records_yielded: 0,
            failed: false,
            finished,
        }
    }

    /// Where the scan stands: resuming from it continues after the last record yielded.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            version: CHECKPOINT_VERSION,
            resource: self.resource.name().to_owned(),
            query: self.base.clone(),
            mode: self.options.mode,
            overlap: self.options.overlap,
            offset: self.position,
            last_id: self.last_yielded.clone(),
            end_offset: self.cursor.end,
            upper_id: self.cursor.upper_id.clone(),
            slices: self.slices.clone(),
            finished: self.finished,
        }
    }

    /// For an incremental scan ([`crate::Resource::changes_since`]): every record whose
    /// `updated_at` is before this RFC 3339 timestamp (and at or after the watermark the scan
    /// started from) has been yielded. Once the scan has ended without error it is the end of
    /// the range: store it and pass it to the next `changes_since`. `None` for other scans,
    /// and for a scan from the beginning of time that has not finished yet.
    pub fn watermark(&self) -> Option<String> {
        self.slices
            .as_ref()
            .and_then(|s| s.watermark())
            .map(str::to_owned)
    }

    /// The latest `meta.total` the server sent, if any.
    pub fn total(&self) -> Option<u64> {
        self.cursor.total
    }

    /// Whether `meta.total` changed during the scan (of the current slice): records were
    /// inserted or deleted meanwhile. A [`ScanMode::Plain`] scan may then have skipped or
    /// repeated records; a [`ScanMode::Consistent`] one has corrected for it.
    pub fn total_moved(&self) -> bool {
        self.cursor.total_moved
    }

    /// Whether the pages already answered and waiting for the reader hold a quarter of
    /// [`ScanOptions::max_in_flight_bytes`] (adaptive scans only): the reader is then the
    /// bottleneck, and more pages would only wait in memory. Over a network, pages in flight
    /// hold nothing until they come, so this does not hold a deep pipeline back.
    fn waiting_pages_are_enough(&self) -> bool {
        self.controller.is_some()
            && self.ready_bytes.load(Ordering::Relaxed) >= self.options.max_in_flight_bytes / 4
    }

    /// How many pages may be in flight now: the fixed depth, or the adaptive controller's
    /// limit within the byte cap.
    fn depth(&self) -> usize {
        let Some(controller) = &self.controller else {
            return self.options.concurrency.max();
        };
        let by_bytes = self.page_bytes.map_or(usize::MAX, |bytes| {
            self.options.max_in_flight_bytes / bytes.max(1)
        });
        controller.limit().min(by_bytes).max(1)
    }

    /// Whether the scan has yielded everything.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

fn strip_paging(query: Query) -> Query {
    let (from, to) = (
        query.get_from().map(str::to_owned),
        query.get_to().map(str::to_owned),
    );
    query.without_paging_and_range().with_range(from, to)
}

impl<T: DeserializeOwned + Send + 'static> Scan<T> {
    /// Starts fetches: the next page when nothing is buffered or in flight, and more pages up
    /// to the pipeline depth. Pages started right after the reader waited are the ones more
    /// depth would have hidden (see [`Aimd::started`]).
    fn prefetch(&mut self) -> Result<(), Error> {
        let wanted = self.reader_waited;
        loop {
            let in_flight = self.in_flight.len();
            let depth = self.depth();
            let needed = self.buffer.is_empty() && in_flight == 0;
            if !needed && (in_flight >= depth || self.waiting_pages_are_enough()) {
                return Ok(());
            }
            let Some(ask) = self.cursor.plan(in_flight, depth) else {
                return Ok(());
            };
            let want_ids = self.options.mode != ScanMode::Plain;
            let congestion = self.resource.connection.transport().congestion_events();
            let ticket = self
                .controller
                .as_mut()
                .map(|controller| controller.started(in_flight, congestion, wanted));
            let task = spawn_page(
                &self.resource,
                &self.query,
                ask,
                want_ids,
                ticket,
                &self.ready_bytes,
            )?;
            self.in_flight.push_back(task);
            // Credited to the pages that refill the pipeline after the wait, not to later ones.
            self.reader_waited = false;
        }
    }

    /// Cancels every page in flight; the answered ones among them are no longer waiting.
    fn drop_in_flight(&mut self) {
        self.in_flight = FuturesOrdered::new();
        self.ready_bytes.store(0, Ordering::Relaxed);
    }

    /// Tells the controller how a page's request went, and learns its body's size.
    fn learn(&mut self, page: &Fetched<T>) {
        let bytes = page.page.body.len();
        // A running average that follows the last few dozen pages.
        self.page_bytes = Some(self.page_bytes.map_or(bytes, |avg| {
            (avg.saturating_mul(7).saturating_add(bytes)) / 8
        }));
        if let (Some(controller), Some(ticket)) = (&mut self.controller, page.ticket) {
            controller.finished(ticket, page.latency, page.congestion);
        }
    }

    /// Takes an answered page: the records the cursor keeps are decoded as they are yielded,
    /// on the thread that reads them (see [`fetch`] and [`Taken`]).
    fn take_page(&mut self, mut page: Fetched<T>) -> Result<(), Error> {
        let bytes = page.page.body.len();
        let _ = self
            .ready_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(bytes))
            });
        self.learn(&page);
        self.pages_taken = self.pages_taken.saturating_add(1);
        if let Some(cap) = self.options.max_pages
            && self.pages_taken > cap
        {
            return Err(Error::config(format!(
                "the scan reached its cap of {cap} pages (ScanOptions::max_pages) at offset {}; \
                 raise the cap or narrow the query (its checkpoint resumes where it stopped)",
                page.ask.offset
            )));
        }
        let ids = std::mem::take(&mut page.ids);
        match self
            .cursor
            .accept(page.ask, &ids, page.page.layout.meta, page.signature)?
        {
            Verdict::Refetch => self.drop_in_flight(),
            Verdict::Take {
                skip,
                take,
                restart,
            } => {
                if restart {
                    self.drop_in_flight();
                }
                let taken = Taken {
                    end: skip.saturating_add(take).min(ids.len()),
                    next: skip,
                    page,
                    ids,
                };
                if taken.remaining() > 0 {
                    self.buffer.push_back(taken);
                }
            }
        }
        Ok(())
    }

    /// Moves an incremental scan to its next slice; `false` when there is none.
    fn next_slice(&mut self) -> Result<bool, Error> {
        let Some(slices) = &mut self.slices else {
            return Ok(false);
        };
        if !slices.advance()? {
            return Ok(false);
        }
        let (from, to) = slices.current()?;
        self.query = self
            .base
            .without_paging_and_range()
            .with_range(from, Some(to));
        self.cursor = Cursor::new(
            self.options.mode,
            self.options.overlap,
            self.cursor.limit,
            0,
        );
        self.position = 0;
        self.last_yielded = None;
        Ok(true)
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<T, Error>>> {
        self.failed = true;
        self.drop_in_flight();
        self.buffer.clear();
        Poll::Ready(Some(Err(error)))
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for Scan<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(error) = this.deferred.take() {
                return this.fail(error);
            }
            if this.failed || this.finished {
                return Poll::Ready(None);
            }
            if let Err(error) = this.prefetch() {
                return this.fail(error);
            }
            if let Some(cap) = this.options.max_records
                && this.records_yielded >= cap
                && !this.buffer.is_empty()
            {
                return this.fail(Error::config(format!(
                    "the scan reached its cap of {cap} records (ScanOptions::max_records) with \
                     more to yield; raise the cap or narrow the query (its checkpoint resumes \
                     where it stopped)"
                )));
            }
            if let Some(taken) = this.buffer.front_mut() {
                let index = taken.next;
                taken.next += 1;
                let offset = taken.page.ask.offset.saturating_add(index as u64);
                let id = taken.ids.get_mut(index).and_then(Option::take);
                let record = taken.page.decode(index);
                if taken.remaining() == 0 {
                    this.buffer.pop_front();
                }
                return match record {
                    Ok(record) => {
                        this.records_yielded = this.records_yielded.saturating_add(1);
                        this.position = offset.saturating_add(1);
                        if id.is_some() {
                            this.last_yielded = id;
                        }
                        Poll::Ready(Some(Ok(record)))
                    }
                    Err(error) => this.fail(error),
                };
            }
            if this.cursor.done && this.in_flight.is_empty() {
                match this.next_slice() {
                    Ok(true) => continue,
                    Ok(false) => {
                        this.finished = true;
                        return Poll::Ready(None);
                    }
                    Err(error) => return this.fail(error),
                }
            }
            match this.in_flight.poll_next_unpin(cx) {
                Poll::Pending => {
                    this.reader_waited = true;
                    return Poll::Pending;
                }
                Poll::Ready(None) => {
                    // Nothing in flight and nothing planned: the cursor is done.
                    this.cursor.done = true;
                }
                Poll::Ready(Some(Err(error))) => return this.fail(error),
                Poll::Ready(Some(Ok(page))) => {
                    if let Err(error) = this.take_page(page) {
                        return this.fail(error);
                    }
                }
            }
        }
    }
}

/// A scan of `resource` from `query`'s offset (see [`Resource::scan_with`]).
pub(crate) fn scan<T>(resource: &Resource<T>, query: Query, options: ScanOptions) -> Scan<T> {
    Scan::start(resource.clone(), query, options, None)
}

/// The scan `checkpoint` was taken from, continued (see [`Resource::resume_with`]).
pub(crate) fn resume<T>(
    resource: &Resource<T>,
    checkpoint: &Checkpoint,
    options: ScanOptions,
) -> Result<Scan<T>, Error> {
    if checkpoint.version != CHECKPOINT_VERSION {
        return Err(Error::config(format!(
            "this checkpoint has format version {}, but this client reads version \
                 {CHECKPOINT_VERSION}; start a new scan",
            checkpoint.version
        )));
    }
    if checkpoint.resource != resource.name() {
        return Err(Error::config(format!(
            "this checkpoint is of resource `{}`, not `{}`: resume it on that resource",
            checkpoint.resource,
            resource.name()
        )));
    }
    let options = options.mode(checkpoint.mode).overlap(checkpoint.overlap);
    let mut scan = Scan::start(
        resource.clone(),
        checkpoint.query.clone(),
        options,
        checkpoint.slices.clone(),
    );
    scan.cursor.end = checkpoint.end_offset;
    scan.cursor.upper_id = checkpoint.upper_id.clone();
    scan.cursor
        .continue_after(checkpoint.offset, checkpoint.last_id.clone());
    scan.position = checkpoint.offset;
    scan.last_yielded = checkpoint.last_id.clone();
    if checkpoint.finished {
        scan.finished = true;
        scan.cursor.done = true;
    }
    Ok(scan)
}

/// The records changed since `since` (see [`Resource::changes_since`]).
pub(crate) fn changes_since<T>(
    resource: &Resource<T>,
    query: Query,
    since: Option<Timestamp>,
    options: IncrementalOptions,
) -> Result<Scan<T>, Error> {
    let slices = Slices::new(since.as_ref(), &options)?;
    let base = query.without_paging_and_range();
    let base = match query.get_limit() {
        Some(limit) => base.limit(limit),
        None => base,
    };
    Ok(Scan::start(
        resource.clone(),
        base,
        options.scan,
        Some(slices),
    ))
}
