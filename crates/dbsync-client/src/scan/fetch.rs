//! One page, fetched in its own task so that pages in flight progress while the caller handles
//! the current one.
//!
//! The task checks the page and lays it out (where each record's JSON text is) in one parse; the
//! records are decoded later, one at a time as the scan yields them, on the thread that reads
//! them. That thread also drops them, so each record is allocated and freed by one thread, and
//! each record's memory is freed before the next record is built, so the allocator hands the
//! same memory back. On the 2-core benchmark machine, decoding on the reader's thread made scans
//! 10-30% faster than decoding in the fetch task, and decoding one record at a time instead of
//! a page at once made `serde_json::Value` scans about 1.4x faster again; a page in flight or
//! waiting holds only its body, about a fifth of its decoded records' memory.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::concurrency::Ticket;

use crate::error::Error;
use crate::page::PageBody;
use crate::query::Query;
use crate::resource::Resource;

use super::cursor::Ask;

/// An answered page, not yet decoded: its body, where each record is in it, their ids (when
/// asked for) and its metadata.
pub(crate) struct Fetched<T> {
    pub(crate) ask: Ask,
    /// The page: where each record the server returned is in its body, and its metadata.
    pub(crate) page: PageBody,
    /// One entry per record (`None` when ids were not asked for).
    pub(crate) ids: Vec<Option<String>>,
    /// A digest of the page's records, to tell a page the server repeats (see [`signature`]).
    pub(crate) signature: u64,
    /// The adaptive controller's ticket for the request (`None`: fixed depth).
    pub(crate) ticket: Option<Ticket>,
    /// How long the fetch took, measured in its task (the scan takes pages in order, later).
    pub(crate) latency: std::time::Duration,
    /// The connection's congestion count when the page came.
    pub(crate) congestion: u64,
    /// The records decode as `T`.
    pub(crate) decodes_as: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Fetched<T> {
    /// Decodes record `index` of the page.
    pub(crate) fn decode(&self, index: usize) -> Result<T, Error> {
        self.page.decode(
            index,
            format_args!("the page at offset {}", self.ask.offset),
        )
    }
}

/// A page being fetched; dropping it cancels the fetch.
pub(crate) struct PageTask<T>(JoinHandle<Result<Fetched<T>, Error>>);

impl<T> Future for PageTask<T> {
    type Output = Result<Fetched<T>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.unwrap_or_else(|e| {
                Err(Error::config(format!(
                    "a page fetch of the scan did not complete ({e}); resume from the scan's \
                     checkpoint"
                )))
            })
        })
    }
}

impl<T> Drop for PageTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts fetching the page `ask` of `query` in a task of the current tokio runtime.
pub(crate) fn spawn_page<T: DeserializeOwned + Send + 'static>(
    resource: &Resource<T>,
    query: &Query,
    ask: Ask,
    want_ids: bool,
    ticket: Option<Ticket>,
    ready_bytes: &Arc<AtomicUsize>,
) -> Result<PageTask<T>, Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::config("a scan must be polled inside a tokio runtime (it fetches pages in tasks)")
    })?;
    let resource = resource.clone();
    let query = query.clone().offset(ask.offset).limit(ask.limit);
    let ready_bytes = Arc::clone(ready_bytes);
    Ok(PageTask(runtime.spawn(async move {
        let started = Instant::now();
        let page = resource.fetch_page(&query).await?;
        let latency = started.elapsed();
        let congestion = resource.connection.transport().congestion_events();
        // Counted until the scan takes the page (`Scan::take_page`).
        ready_bytes.fetch_add(page.body.len(), Ordering::Relaxed);
        let ids = page
            .layout
            .records
            .iter()
            .map(|range| {
                want_ids
                    .then(|| page.body.get(range.clone()).and_then(raw_record_id))
                    .flatten()
            })
            .collect();
        Ok(Fetched {
            ask,
            ticket,
            latency,
            congestion,
            signature: signature(&page),
            page,
            ids,
            decodes_as: PhantomData,
        })
    })))
}

/// A digest of a page's records: their count and the text of the first and the last. Two
/// answers with the same digest at different offsets are the same page served again. It reads
/// two records, not the page, so it costs next to nothing per page.
fn signature(page: &PageBody) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let records = &page.layout.records;
    let text = |range: Option<&std::ops::Range<usize>>| {
        range.and_then(|range| page.body.get(range.clone()))
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    records.len().hash(&mut hasher);
    text(records.first()).hash(&mut hasher);
    text(records.last()).hash(&mut hasher);
    hasher.finish()
}

/// The id of a record given as JSON text (a string or an integer), if it has one.
fn raw_record_id(record: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<crate::Id>,
    }
    // Only an object has an `id` (serde would read a struct from an array too: `[1]` -> 1).
    if record.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let only: IdOnly = serde_json::from_slice(record).ok()?;
    only.id.map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_record_id_is_read_from_its_text_as_a_number_or_a_string() {
        assert_eq!(raw_record_id(br#"{"id":1,"n":2}"#).as_deref(), Some("1"));
        assert_eq!(raw_record_id(br#"{"n":2,"id":"x"}"#).as_deref(), Some("x"));
        for none in [
            &b"{}"[..],
            br#"{"id":null}"#,
            br#"{"id":[1]}"#,
            b"[1]",
            b"5",
        ] {
            assert_eq!(
                raw_record_id(none),
                None,
                "{:?}",
                String::from_utf8_lossy(none)
            );
        }
    }

    #[test]
    fn records_decode_when_taken_and_a_misfit_names_its_place() {
        let body = br#"{"data":[{"n":1},{"n":"two"}]}"#;
        let layout = crate::page::page_layout(body, &crate::PageFormat::default())
            .unwrap()
            .unwrap();
        #[derive(serde::Deserialize)]
        struct N {
            n: u32,
        }
        let page = Fetched::<N> {
            ask: Ask {
                offset: 40,
                limit: 2,
            },
            page: PageBody {
                status: 200,
                body: Bytes::from_static(body),
                layout,
            },
            ids: vec![None, None],
            signature: 0,
            ticket: None,
            latency: std::time::Duration::ZERO,
            congestion: 0,
            decodes_as: PhantomData,
        };
        assert_eq!(page.decode(0).unwrap().n, 1);
        let err = page.decode(1).err().unwrap().to_string();
        assert!(err.contains("record 1 of the page at offset 40"), "{err}");
        assert!(page.decode(2).is_err());
    }
}
