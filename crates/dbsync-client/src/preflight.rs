//! Optional local validation of records before they are sent, with dbsync-validate.
//!
//! A resource with a schema ([`Resource::with_schema`], [`Resource::validate_with_server_schema`])
//! checks each record before a create (all fields) or an update (present fields only) and fails
//! with the same [`Error::Validation`] a server `400` gives, listing every violation, without
//! sending anything. Without a schema every check passes. Uniqueness against stored records is
//! left to the server.

use std::sync::Arc;

use dbsync_validate::{Mode, Schema};
use serde::Serialize;

use crate::error::Error;
use crate::resource::Resource;

/// The schema a resource checks records against before sending them, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preflight {
    schema: Option<Arc<Schema>>,
}

impl Preflight {
    /// Checks a record about to be created.
    pub(crate) fn check_create(&self, record: &impl Serialize) -> Result<(), Error> {
        self.check(record, Mode::Full)
    }

    /// Checks a partial update about to be sent.
    pub(crate) fn check_patch(&self, patch: &impl Serialize) -> Result<(), Error> {
        self.check(patch, Mode::Partial)
    }

    fn check(&self, record: &impl Serialize, mode: Mode) -> Result<(), Error> {
        match &self.schema {
            Some(schema) => schema
                .validate_serialize(record, mode)
                .map_err(|violations| Error::from_violations(&violations)),
            None => Ok(()),
        }
    }
}

impl<T> Resource<T> {
    /// Checks records against `schema` before sending them (see the module docs of pre-flight
    /// validation): an invalid record fails locally with [`Error::Validation`].
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.preflight = Preflight {
            schema: Some(Arc::new(schema)),
        };
        self
    }

    /// The schema records are checked against before sending, if any.
    pub fn local_schema(&self) -> Option<&Schema> {
        self.preflight.schema.as_deref()
    }
}

impl<T: serde::de::DeserializeOwned> Resource<T> {
    /// Fetches the resource's schema from the server (`GET /v1/{resource}/schema`) and checks
    /// records against it before sending them.
    pub async fn validate_with_server_schema(self) -> Result<Self, Error> {
        let schema = self.schema().await?;
        Ok(self.with_schema(schema))
    }
}
