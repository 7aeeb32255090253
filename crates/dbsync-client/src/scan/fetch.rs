//! One page, fetched and decoded in its own task so that pages in flight progress (and decode
//! on another core) while the caller handles the current one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::page::{Meta, parse_raw_page};
use crate::query::Query;
use crate::request::execute;
use crate::resource::Resource;

use super::cursor::Ask;
use super::id::record_id;

/// An answered page: its records decoded, their ids (when asked for) and its metadata.
pub(crate) struct Fetched<T> {
    pub(crate) ask: Ask,
    pub(crate) records: Vec<T>,
    /// One entry per record the server returned (`None` when ids were not asked for).
    pub(crate) ids: Vec<Option<String>>,
    pub(crate) meta: Option<Meta>,
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

impl<T> Resource<T> {
    /// One page as JSON values, exactly as many as the server returned.
    pub(crate) async fn list_raw(
        &self,
        query: &Query,
    ) -> Result<(Vec<Value>, Option<Meta>), Error> {
        crate::resource::check_query(query)?;
        let mut call = self.collection_call(Method::GET)?;
        query.apply(&mut call.url);
        let reply = execute(&self.connection, call).await?;
        parse_raw_page(&reply.body, reply.status, &self.format)
    }
}

/// Starts fetching the page `ask` of `query` in a task of the current tokio runtime.
pub(crate) fn spawn_page<T: DeserializeOwned + Send + 'static>(
    resource: &Resource<T>,
    query: &Query,
    ask: Ask,
    want_ids: bool,
) -> Result<PageTask<T>, Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::config("a scan must be polled inside a tokio runtime (it fetches pages in tasks)")
    })?;
    let resource = resource.clone();
    let query = query.clone().offset(ask.offset).limit(ask.limit);
    Ok(PageTask(runtime.spawn(async move {
        let (raw, meta) = resource.list_raw(&query).await?;
        let ids = if want_ids {
            raw.iter().map(record_id).collect()
        } else {
            vec![None; raw.len()]
        };
        let records = raw
            .into_iter()
            .enumerate()
            .map(|(i, record)| {
                T::deserialize(record).map_err(|e| {
                    Error::decode(
                        Some(200),
                        format!(
                            "record {i} of the page at offset {} does not fit the expected \
                             type ({e})",
                            ask.offset
                        ),
                        b"",
                    )
                })
            })
            .collect::<Result<Vec<T>, Error>>()?;
        Ok(Fetched {
            ask,
            records,
            ids,
            meta,
        })
    })))
}
