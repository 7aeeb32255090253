//! Optional local validation of records before they are sent, with dbsync-validate.
//!
//! A resource with a schema ([`crate::Resource::with_schema`],
//! [`crate::Resource::validate_with_server_schema`])
//! checks each record before a create (all fields) or an update (present fields only) and fails
//! with the same [`Error::Validation`] a server `400` gives, listing every violation, without
//! sending anything. Without a schema every check passes. Uniqueness against stored records is
//! left to the server.

use std::sync::Arc;

use dbsync_validate::{Mode, Schema};
use serde::Serialize;

use crate::error::Error;

/// The schema a resource checks records against before sending them, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preflight {
    schema: Option<Arc<Schema>>,
}

impl Preflight {
    /// Checks records against `schema`.
    pub(crate) fn new(schema: Schema) -> Self {
        Self {
            schema: Some(Arc::new(schema)),
        }
    }

    /// The schema records are checked against, if any.
    pub(crate) fn schema(&self) -> Option<&Schema> {
        self.schema.as_deref()
    }

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
