//! Typed CRUD on one resource (`/v1/{resource}` and `/v1/{resource}/{id}`), the list recipe
//! that `list` and scans share, and every public method of [`Resource`]: scans, partitions and
//! pre-flight validation are thin delegates to `scan` and `preflight`; only the bulk writes
//! (`create_many*`, `update_many*`, `create_batch_with_key`, `create_stream`, `update_stream`,
//! `resend`) are declared in `bulk`.

use std::fmt::{self, Display};
use std::marker::PhantomData;

use dbsync_validate::Schema;
use futures::stream::{BoxStream, StreamExt as _};
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::connection::Connection;
use crate::error::Error;
use crate::id::check_path_segment;
use crate::page::{Page, PageBody, PageFormat, PageLayout};
use crate::preflight::Preflight;
use crate::query::{Query, Timestamp};
use crate::request::{Call, Decode, Expect, JsonAs};
use crate::scan::{
    self, Checkpoint, DEFAULT_PIPELINE_DEPTH, IncrementalOptions, Partition, Scan, ScanMode,
    ScanOptions,
};

/// The largest page the contract allows.
pub use dbsync_contract::MAX_LIMIT;

/// A typed view of one resource. Records are decoded as `T` (any `Deserialize` type, or
/// [`crate::Record`] for JSON values); cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), dbsync_client::Error> {
/// use dbsync_client::{Connection, Query};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Serialize, Deserialize)]
/// struct Contact {
///     #[serde(skip_serializing_if = "Option::is_none")]
///     id: Option<String>,
///     email: String,
/// }
///
/// let connection = Connection::from_env()?;
/// let contacts = connection.resource::<Contact>("contacts")?;
/// let created = contacts.create(&Contact { id: None, email: "ada@example.com".into() }).await?;
/// let page = contacts.list(&Query::new().limit(50)).await?;
/// println!("{created:?}, {} on the first page", page.data.len());
/// # Ok(()) }
/// ```
pub struct Resource<T> {
    pub(crate) connection: Connection,
    pub(crate) name: String,
    pub(crate) format: PageFormat,
    pub(crate) preflight: Preflight,
    _records: PhantomData<fn() -> T>,
}

impl<T> Clone for Resource<T> {
    fn clone(&self) -> Self {
        Self {
            connection: self.connection.clone(),
            name: self.name.clone(),
            format: self.format.clone(),
            preflight: self.preflight.clone(),
            _records: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Resource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("base_url", &self.connection.base_url().as_str())
            .finish_non_exhaustive()
    }
}

impl<T> Resource<T> {
    pub(crate) fn new(connection: Connection, name: String) -> Self {
        let format = connection.page_format().clone();
        Self {
            connection,
            name,
            format,
            preflight: Preflight::default(),
            _records: PhantomData,
        }
    }

    /// The resource's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connection this resource uses.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Reads list pages in `format` instead of the connection's.
    pub fn with_page_format(mut self, format: PageFormat) -> Self {
        self.format = format;
        self
    }

    /// Checks records against `schema` before sending them (see the module docs of pre-flight
    /// validation, `preflight`): an invalid record fails locally with [`Error::Validation`].
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.preflight = Preflight::new(schema);
        self
    }

    /// The schema records are checked against before sending, if any.
    pub fn local_schema(&self) -> Option<&Schema> {
        self.preflight.schema()
    }

    pub(crate) fn collection_call(&self, method: Method) -> Result<Call, Error> {
        let url = self.connection.endpoint(&[&self.name])?;
        Ok(Call::new(method, url, format!("/v1/{}", self.name)))
    }

    pub(crate) fn sub_call(&self, method: Method, sub: &str) -> Result<Call, Error> {
        let url = self.connection.endpoint(&[&self.name, sub])?;
        Ok(Call::new(method, url, format!("/v1/{}/{sub}", self.name)))
    }

    /// Sends `call` on the connection's transport.
    async fn send<D: Decode>(&self, call: &Call, decode: D) -> Result<D::Output, Error> {
        self.connection.transport().send(call, decode).await.result
    }

    fn record_call(&self, method: Method, id: &dyn Display) -> Result<Call, Error> {
        let id = record_id(id)?;
        let url = self.connection.endpoint(&[&self.name, &id])?;
        Ok(Call::new(method, url, format!("/v1/{}/{{id}}", self.name)))
    }

    /// One page of `query` (its offset and limit included), checked and laid out, its records
    /// not yet decoded: the one list recipe, behind [`Resource::list`] and the pages a scan
    /// fetches. The request path checks the body and lays the page out in one parse.
    pub(crate) async fn fetch_page(&self, query: &Query) -> Result<PageBody, Error> {
        check_query(query)?;
        let mut call = self.collection_call(Method::GET)?;
        query.apply(&mut call.url);
        let reply = self.send(&call, Expect::Page(&self.format)).await?;
        // The layout read while the request path checked the body: the page is not parsed again.
        let layout = PageLayout::of_reply(&reply.body, reply.status, &self.format, reply.page)?;
        Ok(PageBody {
            status: reply.status,
            body: reply.body,
            layout,
        })
    }

    /// One page, each record decoded as `U` once, from its own JSON text.
    pub(crate) async fn list_as<U: DeserializeOwned>(
        &self,
        query: &Query,
    ) -> Result<Page<U>, Error> {
        let page = self.fetch_page(query).await?;
        let data = (0..page.len())
            .map(|index| page.decode(index, "the page"))
            .collect::<Result<Vec<U>, Error>>()?;
        Ok(Page {
            data,
            meta: page.layout.meta,
        })
    }
}

impl<T: DeserializeOwned> Resource<T> {
    /// One page: `GET /v1/{resource}?limit&offset&from&to&filters`.
    pub async fn list(&self, query: &Query) -> Result<Page<T>, Error> {
        self.list_as(query).await
    }

    /// One record: `GET /v1/{resource}/{id}`.
    pub async fn get(&self, id: impl Display) -> Result<T, Error> {
        let call = self.record_call(Method::GET, &id)?;
        self.send(&call, JsonAs::new("the record")).await
    }

    /// Updates a record with the fields of `patch` (absent fields are unchanged):
    /// `PUT /v1/{resource}/{id}`; returns the full record.
    pub async fn update(&self, id: impl Display, patch: &impl Serialize) -> Result<T, Error> {
        self.preflight.check_patch(patch)?;
        let call = self.record_call(Method::PUT, &id)?.json_body(patch)?;
        self.send(&call, JsonAs::new("the updated record")).await
    }

    /// Deletes a record: `DELETE /v1/{resource}/{id}` (`204`, or `200` with a body).
    pub async fn delete(&self, id: impl Display) -> Result<(), Error> {
        let call = self.record_call(Method::DELETE, &id)?;
        self.send(&call, Expect::Nothing).await?;
        Ok(())
    }

    /// The resource's schema: `GET /v1/{resource}/schema`, read with dbsync-validate's lenient
    /// parser ([`dbsync_validate::Schema::from_json_lenient`]): descriptive members a real server
    /// may add (`label`, `description`, `x-...`) are ignored, while a misspelt constraint or an
    /// unknown type is still refused. A schema the validator cannot read is an [`Error::Decode`]
    /// naming the problem.
    pub async fn schema(&self) -> Result<Schema, Error> {
        let call = self.sub_call(Method::GET, "schema")?;
        let reply = self.send(&call, Expect::Json).await?;
        let json: serde_json::Value = reply.json("the schema")?;
        Schema::from_json_lenient(&json).map_err(|e| {
            Error::decode(
                Some(reply.status),
                format!("the server's schema cannot be used: {e}"),
                &reply.body,
            )
        })
    }

    /// Fetches the resource's schema from the server (`GET /v1/{resource}/schema`) and checks
    /// records against it before sending them.
    pub async fn validate_with_server_schema(self) -> Result<Self, Error> {
        let schema = self.schema().await?;
        Ok(self.with_schema(schema))
    }
}

impl<T: Serialize + DeserializeOwned> Resource<T> {
    /// Creates a record: `POST /v1/{resource}` with a fresh `Idempotency-Key` (the same on each
    /// retry, so a retried create never creates twice). Returns the created record.
    pub async fn create(&self, record: &T) -> Result<T, Error> {
        self.preflight.check_create(record)?;
        let call = self
            .collection_call(Method::POST)?
            .json_body(record)?
            .with_new_idempotency_key();
        self.send(&call, JsonAs::new("the created record")).await
    }
}

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

    /// A scan of every record matching `query` with the default [`ScanOptions`] (a
    /// [`ScanMode::Plain`] scan with [`DEFAULT_PIPELINE_DEPTH`] pages in flight).
    pub fn scan(&self, query: Query) -> Scan<T> {
        self.scan_with(query, ScanOptions::default())
    }

    /// A scan of every record matching `query`, starting at its offset, with `options`. A
    /// query the client refuses (a `limit` out of range...) makes a scan that yields that
    /// error.
    pub fn scan_with(&self, query: Query, options: ScanOptions) -> Scan<T> {
        scan::scan(self, query, options)
    }

    /// Continues the scan `checkpoint` was taken from, with the default pipeline depth.
    pub fn resume(&self, checkpoint: &Checkpoint) -> Result<Scan<T>, Error> {
        self.resume_with(checkpoint, ScanOptions::default())
    }

    /// Continues the scan `checkpoint` was taken from, with `options`' pipeline depth (the
    /// mode and overlap are the checkpoint's).
    pub fn resume_with(
        &self,
        checkpoint: &Checkpoint,
        options: ScanOptions,
    ) -> Result<Scan<T>, Error> {
        scan::resume(self, checkpoint, options)
    }

    /// The records changed since `watermark` (records whose `updated_at` is at or after it;
    /// from the beginning of time when `None`), up to the end of the range (exclusive): see
    /// [`IncrementalOptions`]. Once the scan has ended, [`Scan::watermark`] is the watermark
    /// to store for the next call.
    ///
    /// `from` is inclusive and `to` exclusive on the server, and each slice ends where the
    /// next begins, so a record that did not change is delivered once: a record with
    /// `updated_at` equal to the stored watermark was not part of the previous range and is
    /// delivered by the next one. The query's own `from`/`to`/`offset` are ignored; its
    /// filters and page size are used.
    ///
    /// ```no_run
    /// # async fn run(stored: Option<String>) -> Result<(), dbsync_client::Error> {
    /// use std::time::Duration;
    /// use dbsync_client::{Connection, IncrementalOptions, Query};
    /// use futures::TryStreamExt as _;
    ///
    /// let records = Connection::from_env()?.records();
    /// let options = IncrementalOptions::default().window(Duration::from_secs(24 * 3600));
    /// let mut changes = records.changes_since(Query::new().limit(1000), stored, options)?;
    /// while let Some(record) = changes.try_next().await? {
    ///     # let _ = record;
    /// }
    /// let new_watermark = changes.watermark(); // store it
    /// # let _ = new_watermark;
    /// # Ok(()) }
    /// ```
    pub fn changes_since(
        &self,
        query: Query,
        watermark: Option<impl Into<Timestamp>>,
        options: IncrementalOptions,
    ) -> Result<Scan<T>, Error> {
        scan::changes_since(self, query, watermark.map(Into::into), options)
    }

    /// Splits the scan of `query` into `n` [`ScanMode::Plain`] partitions of about the same
    /// number of records, by offset ranges from `meta.total` (one request with `limit=1`).
    /// Scanned separately, their union is every record of the list exactly once, as long as
    /// the list does not change meanwhile; see [`Resource::partitions_with`] for lists that
    /// change.
    pub async fn partitions(&self, query: Query, n: usize) -> Result<Vec<Partition>, Error> {
        self.partitions_with(query, n, ScanMode::Plain).await
    }

    /// Splits the scan of `query` into `n` partitions in `mode`.
    ///
    /// A [`ScanMode::Consistent`] partition is bounded by ids as well as offsets: the id of
    /// the record just before it and of its last record are read when partitioning (one
    /// `limit=1` request per boundary), and the partition yields exactly the records with ids
    /// in between. Their union is then every record that exists for the whole scan exactly
    /// once, even while records are deleted or inserted (the last partition also reads records
    /// appended meanwhile).
    pub async fn partitions_with(
        &self,
        query: Query,
        n: usize,
        mode: ScanMode,
    ) -> Result<Vec<Partition>, Error> {
        scan::partitions(self, query, n, mode).await
    }

    /// Splits the records whose `updated_at` is in `[from, to)` into `n` partitions by date:
    /// `n` slices of equal length, each `[from_i, to_i)` (no request is made). Scanned
    /// separately (each in `mode`), their union is every record of the range exactly once, as
    /// long as no record of the range is updated meanwhile (an update moves a record's
    /// `updated_at` to the present, out of a range that ends before it, or into another
    /// slice). The query's own `from`/`to`/`offset` are replaced; filters and page size kept.
    pub fn date_partitions(
        &self,
        query: Query,
        from: impl Into<Timestamp>,
        to: impl Into<Timestamp>,
        n: usize,
        mode: ScanMode,
    ) -> Result<Vec<Partition>, Error> {
        scan::date_partitions(self, query, (from.into(), to.into()), n, mode)
    }

    /// A scan of one partition, with the default pipeline depth.
    pub fn scan_partition(&self, partition: &Partition) -> Result<Scan<T>, Error> {
        self.scan_partition_with(
            partition,
            ScanOptions::default().pipeline_depth(DEFAULT_PIPELINE_DEPTH),
        )
    }

    /// A scan of one partition with `options`' pipeline depth.
    pub fn scan_partition_with(
        &self,
        partition: &Partition,
        options: ScanOptions,
    ) -> Result<Scan<T>, Error> {
        self.resume_with(partition.checkpoint(), options)
    }
}

/// Checks a resource name against `[a-z][a-z0-9_-]{0,63}`.
pub(crate) fn validate_resource_name(name: &str) -> Result<(), Error> {
    if dbsync_contract::is_valid_resource_name(name) {
        Ok(())
    } else {
        Err(Error::config(format!(
            "`{name}` is not a valid resource name: use a lowercase letter followed by up to 63 \
             lowercase letters, digits, `_` or `-`"
        )))
    }
}

/// An id as one path segment (see [`check_path_segment`]).
fn record_id(id: &dyn Display) -> Result<String, Error> {
    let id = id.to_string();
    check_path_segment("record id", &id)?;
    Ok(id)
}

pub(crate) fn check_query(query: &Query) -> Result<(), Error> {
    if let Some(field) = query.reserved_filter() {
        return Err(Error::config(format!(
            "`{field}` cannot be an equality filter: use Query::{field}(..)"
        )));
    }
    match query.limit_value() {
        Some(limit) if limit == 0 || limit > MAX_LIMIT => Err(Error::config(format!(
            "query limit {limit} is out of range: use 1..={MAX_LIMIT}"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_follow_the_contract() {
        for ok in ["records", "a", "contacts_v2", "x-y", &"a".repeat(64)] {
            assert!(validate_resource_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Records",
            "1abc",
            "a/b",
            "a b",
            "../x",
            &"a".repeat(65),
            "é",
        ] {
            assert!(validate_resource_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dot_ids_are_refused() {
        for bad in ["", ".", ".."] {
            assert!(record_id(&bad).is_err(), "{bad}");
        }
        assert_eq!(record_id(&42).unwrap(), "42");
    }
}
