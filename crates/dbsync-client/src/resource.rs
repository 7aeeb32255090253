//! Typed CRUD on one resource: `/v1/{resource}` and `/v1/{resource}/{id}`.

use std::fmt::{self, Display};
use std::marker::PhantomData;

use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::connection::Connection;
use crate::error::Error;
use crate::id::check_path_segment;
use crate::page::{Page, PageFormat, PageLayout};
use crate::query::Query;
use crate::request::{Call, Decode, Expect, JsonAs};

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
    pub(crate) preflight: crate::preflight::Preflight,
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
            preflight: crate::preflight::Preflight::default(),
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

    /// One page, each record decoded as `U`. The request path checks the body and lays the
    /// page out in one parse; each record is then decoded once, from its own JSON text.
    pub(crate) async fn list_as<U: DeserializeOwned>(
        &self,
        query: &Query,
    ) -> Result<Page<U>, Error> {
        check_query(query)?;
        let mut call = self.collection_call(Method::GET)?;
        query.apply(&mut call.url);
        let reply = self.send(&call, Expect::Page(&self.format)).await?;
        let layout = PageLayout::of_reply(&reply.body, reply.status, &self.format, reply.page)?;
        let data = (0..layout.records.len())
            .map(|index| layout.decode(&reply.body, index, reply.status, "the page"))
            .collect::<Result<Vec<U>, Error>>()?;
        Ok(Page {
            data,
            meta: layout.meta,
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
    pub async fn schema(&self) -> Result<dbsync_validate::Schema, Error> {
        let call = self.sub_call(Method::GET, "schema")?;
        let reply = self.send(&call, Expect::Json).await?;
        let json: serde_json::Value = reply.json("the schema")?;
        dbsync_validate::Schema::from_json_lenient(&json).map_err(|e| {
            Error::decode(
                Some(reply.status),
                format!("the server's schema cannot be used: {e}"),
                &reply.body,
            )
        })
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
