//! An owned stream of every record over all pages (limit/offset).

use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::query::Query;
use crate::resource::Resource;

/// The page size a stream asks for when the query sets none (the server's default).
pub const DEFAULT_PAGE_SIZE: u32 = 100;

struct Cursor<T> {
    resource: Resource<T>,
    query: Query,
    offset: u64,
    limit: u32,
    done: bool,
}

impl<T: DeserializeOwned + Send + 'static> Resource<T> {
    /// Every record matching `query`, page after page, starting at its offset (0 by default).
    ///
    /// The stream owns what it needs (`Send + 'static`: it can move into `tokio::spawn`) and
    /// holds at most one page. It stops per the contract: after a page shorter than the page
    /// size, or when `offset + len >= total`; it never asks for the empty page past `total`.
    /// After an error it yields that error and ends.
    pub fn stream(&self, query: Query) -> BoxStream<'static, Result<T, Error>> {
        let cursor = Cursor {
            resource: self.clone(),
            offset: query.offset_value().unwrap_or(0),
            limit: query.limit_value().unwrap_or(DEFAULT_PAGE_SIZE),
            query,
            done: false,
        };
        stream::try_unfold(cursor, next_page)
            .map_ok(|records: Vec<T>| stream::iter(records.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

async fn next_page<T: DeserializeOwned>(
    mut cursor: Cursor<T>,
) -> Result<Option<(Vec<T>, Cursor<T>)>, Error> {
    if cursor.done {
        return Ok(None);
    }
    let query = cursor
        .query
        .clone()
        .offset(cursor.offset)
        .limit(cursor.limit);
    let page = cursor.resource.list(&query).await?;
    // Count what the server returned, and trust its page size if it says which it used.
    let returned = page.data.len() as u64;
    let page_size = page
        .meta
        .and_then(|meta| meta.limit)
        .unwrap_or(u64::from(cursor.limit));
    let total = page.meta.and_then(|meta| meta.total);
    cursor.offset += returned;
    cursor.done =
        returned == 0 || returned < page_size || total.is_some_and(|total| cursor.offset >= total);
    Ok(Some((page.data, cursor)))
}
