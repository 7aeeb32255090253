//! Typed CRUD on one resource (`/v1/{resource}` and `/v1/{resource}/{id}`), the list recipe
//! that `list` and scans share, and every public method of [`Resource`]: scans, partitions and
//! pre-flight validation are thin delegates to `scan` and `preflight`, and the bulk writes
//! (`create_many*`, `update_many*`, `create_batch_with_key`, `create_stream`, `update_stream`,
//! `resend`) to `bulk`.

use std::fmt::{self, Display};
use std::marker::PhantomData;
use std::sync::Arc;

use dbsync_validate::Schema;
use futures::stream::{BoxStream, Stream, StreamExt as _};
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::bulk::{
    BatchOptions, BatchOutcome, JournalLine, ResendOptions, ResendOutcome, WriteOutcome,
};
use crate::call_options::CallOptions;
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
/// use dbsync_client::{Connection, Id, Query};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Serialize, Deserialize)]
/// struct Contact {
///     #[serde(skip_serializing_if = "Option::is_none")]
///     id: Option<Id>,
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
    /// The caller's per-call options, for every call of this view.
    options: Option<Arc<CallOptions>>,
    /// `/v1/{name}` (`None` when the name cannot make one: each call then says why) and the
    /// template of one record's path, made once: a `get` then only adds the id.
    record_path: Option<(Url, String)>,
    _records: PhantomData<fn() -> T>,
}

impl<T> Clone for Resource<T> {
    fn clone(&self) -> Self {
        Self {
            connection: self.connection.clone(),
            name: self.name.clone(),
            format: self.format.clone(),
            preflight: self.preflight.clone(),
            options: self.options.clone(),
            record_path: self.record_path.clone(),
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
        let record_path = connection
            .endpoint(&[&name])
            .ok()
            .map(|url| (url, format!("/v1/{name}/{{id}}")));
        Self {
            connection,
            name,
            format,
            preflight: Preflight::default(),
            options: None,
            record_path,
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

    /// A view of this resource whose every call (get, list, create, update, delete, scans,
    /// bulk writes) uses `options`: a per-attempt timeout, extra headers, a create's
    /// `Idempotency-Key`, a retry policy (see [`CallOptions`]). Cheap: the view shares the
    /// connection. One method covers every call, rather than a `*_with` twin of each.
    ///
    /// ```no_run
    /// # async fn run(records: dbsync_client::Resource<serde_json::Value>) -> Result<(), dbsync_client::Error> {
    /// use std::time::Duration;
    /// use dbsync_client::{CallOptions, Id};
    ///
    /// let id = Id::from(42_u64);
    /// let quick = records.with_options(CallOptions::new().timeout(Duration::from_secs(2)));
    /// let record = quick.get(&id).await?;
    /// let copy = records
    ///     .with_options(CallOptions::new().idempotency_key("import-7-row-42"))
    ///     .create(&record)
    ///     .await?;
    /// # let _ = copy;
    /// # Ok(()) }
    /// ```
    pub fn with_options(&self, options: CallOptions) -> Self {
        let mut view = self.clone();
        view.options = Some(Arc::new(options));
        view
    }

    /// The options every call of this view uses, if any ([`Resource::with_options`]).
    pub fn options(&self) -> Option<&CallOptions> {
        self.options.as_deref()
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
        Ok(Call::new(method, url, format!("/v1/{}", self.name)).with_options(self.options.clone()))
    }

    pub(crate) fn sub_call(&self, method: Method, sub: &str) -> Result<Call, Error> {
        let url = self.connection.endpoint(&[&self.name, sub])?;
        Ok(Call::new(method, url, format!("/v1/{}/{sub}", self.name))
            .with_options(self.options.clone()))
    }

    /// Sends `call` on the connection's transport.
    async fn send<D: Decode>(&self, call: &Call, decode: D) -> Result<D::Output, Error> {
        self.connection.transport().send(call, decode).await.result
    }

    fn record_call(&self, method: Method, id: &dyn Display) -> Result<Call, Error> {
        let id = record_id(id)?;
        if let Some((collection, template)) = &self.record_path {
            // `/v1/{name}` made once, the id pushed as one more segment: the URL of
            // `endpoint(&[name, id])`, without building it whole again.
            let mut url = collection.clone();
            let pushed = url.path_segments_mut().map(|mut path| {
                path.push(&id);
            });
            if pushed.is_ok() {
                return Ok(
                    Call::new(method, url, template.clone()).with_options(self.options.clone())
                );
            }
        }
        let url = self.connection.endpoint(&[&self.name, &id])?;
        Ok(Call::new(method, url, format!("/v1/{}/{{id}}", self.name))
            .with_options(self.options.clone()))
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
        if let Some(limit) = query.get_limit()
            && layout.records.len() > limit as usize
        {
            return Err(Error::decode(
                Some(reply.status),
                format!(
                    "the server answered {} records to a page of at most {limit} (offset {}): \
                     more than asked for, so its paging cannot be trusted (a server fault; a \
                     scan stops here rather than yield duplicates)",
                    layout.records.len(),
                    query.get_offset().unwrap_or(0)
                ),
                b"",
            ));
        }
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
        self.send(&call, JsonAs::record("the record")).await
    }

    /// Updates a record with the fields of `patch` (absent fields are unchanged):
    /// `PUT /v1/{resource}/{id}`; returns the full record.
    pub async fn update(&self, id: impl Display, patch: &impl Serialize) -> Result<T, Error> {
        self.preflight.check_patch(patch)?;
        let call = self.record_call(Method::PUT, &id)?.json_body(patch)?;
        self.send(&call, JsonAs::record("the updated record")).await
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
    /// unknown type is still refused. It is read within
    /// [`dbsync_validate::SchemaLimits::default`] (at most 1,000 fields, 64 KiB of pattern text,
    /// each pattern compiled within 1 MiB, 32 MiB of compiled patterns in all), so a hostile
    /// server cannot make validation compile gigabytes. A schema the validator cannot read, or
    /// one over a limit, is an [`Error::Decode`] naming the problem (and the limit).
    pub async fn schema(&self) -> Result<Schema, Error> {
        let call = self.sub_call(Method::GET, "schema")?;
        let reply = self.send(&call, Expect::Json).await?;
        let json: serde_json::Value = reply.json("the schema")?;
        let limits = dbsync_validate::SchemaLimits::default();
        Schema::from_json_lenient_with_limits(&json, &limits).map_err(|e| {
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
        self.send(&call, JsonAs::record("the created record")).await
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
    /// from the beginning of time when `None`, which needs no type annotation), up to the end of the range (exclusive): see
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
    /// let watermark = stored.map(Into::into); // a `Timestamp`; `None` for the first run
    /// let mut changes = records.changes_since(Query::new().limit(1000), watermark, options)?;
    /// while let Some(record) = changes.try_next().await? {
    ///     # let _ = record;
    /// }
    /// let new_watermark = changes.watermark(); // store it
    /// # let _ = new_watermark;
    /// # let _first = records.changes_since(Query::new(), None, IncrementalOptions::default())?;
    /// # Ok(()) }
    /// ```
    pub fn changes_since(
        &self,
        query: Query,
        watermark: Option<Timestamp>,
        options: IncrementalOptions,
    ) -> Result<Scan<T>, Error> {
        scan::changes_since(self, query, watermark, options)
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

    /// Partition `index` (0-based) of the `n` partitions of `query` in `mode`: the same
    /// partition as `partitions_with(query, n, mode)[index]`, made with at most three requests
    /// (the total, and in [`ScanMode::Consistent`] the ids at its two boundaries) whatever `n`
    /// is. This is what each of N processes asks for: N calls of `partitions_with` would
    /// make N + 1 requests each.
    ///
    /// ```no_run
    /// # async fn run(connection: dbsync_client::Connection) -> Result<(), dbsync_client::Error> {
    /// use dbsync_client::{Query, ScanMode, ScanOptions};
    /// use futures::TryStreamExt as _;
    ///
    /// let records = connection.records();
    /// let mine = records
    ///     .partition_with(Query::new().limit(1000), 2, 4, ScanMode::Consistent)
    ///     .await?;
    /// let options = ScanOptions::default().mode(ScanMode::Consistent);
    /// let rows: Vec<_> = records.scan_partition_with(&mine, options)?.try_collect().await?;
    /// # let _ = rows;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn partition_with(
        &self,
        query: Query,
        index: usize,
        n: usize,
        mode: ScanMode,
    ) -> Result<Partition, Error> {
        scan::partition(self, query, index, n, mode).await
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

/// Bulk writes: the bodies live in the `bulk` module.
impl<T: Serialize + DeserializeOwned> Resource<T> {
    /// Creates any number of records with `POST /v1/{resource}/batch`, 100 per request, up to
    /// 4 requests at once ([`crate::BatchOptions::default`]; see
    /// [`Resource::create_many_with`]), each request with its own `Idempotency-Key` (reused on
    /// its retries). Returns one outcome per input record, in input order; one bad record does
    /// not fail the others.
    pub async fn create_many(&self, records: &[T]) -> Vec<BatchOutcome<T>> {
        self.create_many_with(records, &BatchOptions::default())
            .await
    }

    /// Updates any number of records with `PUT /v1/{resource}/batch`, 100 per request, up to 4
    /// at once (see [`Resource::update_many_with`]). Each input is `(id, patch)`; the patch must
    /// serialise to a JSON object, and the id is added to it as a string unless the patch
    /// already has an `id`. Returns one outcome per input.
    pub async fn update_many<I: Display, P: Serialize>(
        &self,
        patches: &[(I, P)],
    ) -> Vec<BatchOutcome<T>> {
        self.update_many_with(patches, &BatchOptions::default())
            .await
    }

    /// Creates any number of records like [`Resource::create_many`], with `options`: up to
    /// `concurrency` batch requests in flight, `chunk_size` records each, progress reported to
    /// the callback. Returns one outcome per input record, in input order.
    ///
    /// A batch the server refuses as a whole with `400` or `413` is split in halves, again and
    /// again, so the good records still go in and each bad one is reported at its index. Each
    /// request carries its own `Idempotency-Key`, reused (with the same body bytes) on its
    /// retries. A request whose outcome stays unknown after its retries (the response was lost)
    /// reports its records failed, with the key in [`BatchOutcome::idempotency_key`]: resending
    /// the same records in the same order with that key is safe.
    ///
    /// ```no_run
    /// # async fn run(records: Vec<serde_json::Value>) {
    /// use dbsync_client::{BatchOptions, Connection};
    /// let connection = Connection::from_env().unwrap();
    /// let outcomes = connection
    ///     .records()
    ///     .create_many_with(&records, &BatchOptions::default().concurrency(4))
    ///     .await;
    /// let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    /// println!("{} saved, {failed} failed", outcomes.len() - failed);
    /// # }
    /// ```
    pub async fn create_many_with(
        &self,
        records: &[T],
        options: &BatchOptions,
    ) -> Vec<BatchOutcome<T>> {
        let prepared = self.prepare_creates(records);
        self.run_concurrent(Method::POST, prepared, options).await
    }

    /// Updates any number of records like [`Resource::update_many`], with `options` (see
    /// [`Resource::create_many_with`]; `PUT` is idempotent, so no key is sent).
    pub async fn update_many_with<I: fmt::Display, P: Serialize>(
        &self,
        patches: &[(I, P)],
        options: &BatchOptions,
    ) -> Vec<BatchOutcome<T>> {
        let prepared = self.prepare_updates(patches);
        self.run_concurrent(Method::PUT, prepared, options).await
    }

    /// Sends `records` again as the one batch create they were first sent as, with that
    /// request's `Idempotency-Key` (from [`BatchOutcome::idempotency_key`] of records whose
    /// outcome was unknown, see [`BatchOutcome::outcome_unknown`]): if the server answered the
    /// first request, it replays that answer and creates nothing; if it never got it, it
    /// creates them now. Each record is reported at its index, and none is created twice.
    ///
    /// The server replays whatever it answered first, errors too: when the first answer was a
    /// `5xx` or a body the client could not read, the replay is the same, and the records stay
    /// unknown. Then check whether they exist (by a unique field) instead of resending again.
    ///
    /// `records` must be exactly the records of that request, in the same order and unchanged
    /// (at most 100; the records that share the key, in input order): the server replays only
    /// a byte-identical body, and answers another body with the same key with a `409`
    /// ([`Error::Conflict`]). Nothing is sent, and every record fails with a configuration
    /// error, when the key is empty or not a valid header value, there are more than 100
    /// records, or a record fails the pre-flight check (the first request cannot have carried
    /// it); no records make no request (an empty body would use up the key). The records go as
    /// one request and are never split: a whole-batch `400`/`413` leaves them unknown (a server
    /// may check a body before it looks its key up, so the refusal does not prove that the
    /// first request saved nothing).
    ///
    /// ```no_run
    /// # async fn run(outcomes: Vec<dbsync_client::BatchOutcome<serde_json::Value>>,
    /// #     records: Vec<serde_json::Value>) {
    /// use dbsync_client::Connection;
    /// let contacts = Connection::from_env().unwrap().records();
    /// // `records[i]` is the input record of `outcomes[i]` (one request of a create_many).
    /// let lost = outcomes.iter().find(|o| o.outcome_unknown);
    /// if let Some(key) = lost.and_then(|o| o.idempotency_key.clone()) {
    ///     let same: Vec<serde_json::Value> = outcomes.iter()
    ///         .filter(|o| o.idempotency_key.as_deref() == Some(key.as_str()))
    ///         .map(|o| records[o.index].clone())
    ///         .collect();
    ///     let again = contacts.create_batch_with_key(&same, &key).await;
    ///     # let _ = again;
    /// }
    /// # }
    /// ```
    pub async fn create_batch_with_key(
        &self,
        records: &[T],
        idempotency_key: &str,
    ) -> Vec<BatchOutcome<T>> {
        self.send_with_key(records, idempotency_key).await
    }
}

/// Durable bulk writes from a stream (the `bulk` module).
impl<T: Serialize + DeserializeOwned + Send + 'static> Resource<T> {
    /// Creates every record of `records`, a stream of any length, with bounded memory: records
    /// are taken from the stream as requests can carry them, `options.get_chunk_size()`
    /// (at most 100) per `POST /v1/{resource}/batch` request and up to
    /// `options.get_concurrency()` requests at once, each with its own `Idempotency-Key`. Each
    /// input record yields one [`WriteOutcome`], in input order: saved, rejected, or unknown
    /// with the request to send again. A batch refused as a whole with `400`/`413` is split to
    /// find its bad records, as in [`Resource::create_many_with`]. The progress callback of
    /// `options` is not called: the outcomes are the progress.
    ///
    /// The stream is owned (`Send + 'static`: it can move into `tokio::spawn`) and runs only
    /// while it is polled. Dropping it before its end cancels the requests in flight: their
    /// records get no outcome, and some may have been saved; drain it to the end.
    ///
    /// Write the failures to a [`crate::Journal`] as they come, and send it again later with
    /// [`Resource::resend`]:
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use dbsync_client::{BatchOptions, Connection, Journal, JournalEntry};
    /// use futures::StreamExt as _;
    ///
    /// let contacts = Connection::from_env()?.records();
    /// let input = futures::stream::iter((0..10_000).map(|n| serde_json::json!({"n": n})));
    /// let mut journal = Journal::create("failed.jsonl")?;
    /// let mut outcomes = contacts.create_stream(input, &BatchOptions::default());
    /// while let Some(outcome) = outcomes.next().await {
    ///     let line = outcome.index() + 1;
    ///     if let Some(entry) = JournalEntry::from_outcome(line, &outcome) {
    ///         journal.write(&entry)?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn create_stream<S>(
        &self,
        records: S,
        options: &BatchOptions,
    ) -> BoxStream<'static, WriteOutcome<T>>
    where
        S: Stream<Item = T> + Send + 'static,
    {
        let preflight = self.preflight.clone();
        let prepare = move |record: T| {
            preflight
                .check_create(&record)
                .and_then(|()| crate::bulk::batch::to_json(&record))
                .map_err(|error| (error, serde_json::to_value(&record).unwrap_or(Value::Null)))
        };
        self.write_stream(Method::POST, records.map(prepare), options)
    }
    /// Updates every record of `patches`, a stream of `(id, patch)` of any length, like
    /// [`Resource::create_stream`] (`PUT /v1/{resource}/batch`; the id is added to each patch
    /// as a string unless it has an `id`). An update's outcome may be unknown too; sending it
    /// again as it is is safe (`PUT` is idempotent), so no request is named.
    pub fn update_stream<S, I, P>(
        &self,
        patches: S,
        options: &BatchOptions,
    ) -> BoxStream<'static, WriteOutcome<T>>
    where
        S: Stream<Item = (I, P)> + Send + 'static,
        I: Display,
        P: Serialize,
    {
        let preflight = self.preflight.clone();
        let prepare = move |(id, patch): (I, P)| {
            crate::bulk::batch::prepare_update(&preflight, &id, &patch)
                .map_err(|error| (error, serde_json::to_value(&patch).unwrap_or(Value::Null)))
        };
        self.write_stream(Method::PUT, patches.map(prepare), options)
    }
}

/// Sending a failures journal again (the `bulk` module).
impl Resource<Value> {
    /// Sends the entries of a failures journal (see [`crate::Journal`]) of a create again,
    /// creating nothing twice (see the module's rules above: `"not_saved"` records as new
    /// creates, each lost request as that same request with its key while the server remembers
    /// it, nothing that may exist without its key). Each line's outcome goes to `on_outcome` as
    /// it is known; write the failed ones to a new journal and resend that one next (a journal
    /// is meant to be sent once). Reading `lines` stops at the first `Err`, and so does an `Err`
    /// from `on_outcome`; that error is returned.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::BufRead as _;
    /// use dbsync_client::{Connection, Journal, JournalLine, ResendOptions, ResendOutcome};
    ///
    /// let records = Connection::from_env()?.records();
    /// let file = std::io::BufReader::new(std::fs::File::open("failed.jsonl")?);
    /// let lines = file.lines().enumerate().map(|(n, text)| {
    ///     let text = text?;
    ///     let line = n as u64 + 1;
    ///     Ok::<_, std::io::Error>(match serde_json::from_str(&text) {
    ///         Ok(value) => JournalLine::new(line, value),
    ///         Err(e) => JournalLine::unreadable(line, e.to_string(), text),
    ///     })
    /// });
    /// let mut again = Journal::create("failed-again.jsonl")?;
    /// records
    ///     .resend(lines, &ResendOptions::default(), |outcome| match outcome {
    ///         ResendOutcome::Failed { entry, .. } => again.write(&entry),
    ///         _ => Ok(()),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn resend<E>(
        &self,
        lines: impl IntoIterator<Item = Result<JournalLine, E>>,
        options: &ResendOptions,
        on_outcome: impl FnMut(ResendOutcome) -> Result<(), E>,
    ) -> Result<(), E> {
        self.resend_journal(lines, options, on_outcome).await
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
    match query.get_limit() {
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
