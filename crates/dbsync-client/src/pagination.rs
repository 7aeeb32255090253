//! An owned stream of every record over all pages (limit/offset).

use futures::stream::{BoxStream, StreamExt as _};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::query::Query;
use crate::resource::Resource;

impl<T: DeserializeOwned + Send + 'static> Resource<T> {
    /// Every record matching `query`, page after page, starting at its offset (0 by default).
    ///
    /// This is [`Resource::scan`] with the default [`crate::ScanOptions`]: a
    /// [`crate::ScanMode::Plain`] scan that keeps [`crate::DEFAULT_PIPELINE_DEPTH`] pages in
    /// flight once the first page has told the total (one page ahead before that, or when the
    /// server sends no total), and yields records in order. The stream owns what it needs
    /// (`Send + 'static`: it can move into `tokio::spawn`) and holds at most
    /// `DEFAULT_PIPELINE_DEPTH` page bodies in flight and the body of the page being read. It stops
    /// per the contract: after a page shorter than
    /// the page size, or when `offset + len >= total`; it never asks for a page past `total`.
    /// After an error it yields that error and ends. Use [`Resource::scan`] for a checkpoint.
    pub fn stream(&self, query: Query) -> BoxStream<'static, Result<T, Error>> {
        self.scan(query).boxed()
    }
}
