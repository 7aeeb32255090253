//! Optional local validation of records before they are sent.
//!
//! Until a schema is attached to a resource, every check passes.

use serde::Serialize;

use crate::error::Error;

/// The schema a resource checks records against before sending them, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preflight {}

impl Preflight {
    /// Checks a record about to be created.
    pub(crate) fn check_create(&self, _record: &impl Serialize) -> Result<(), Error> {
        Ok(())
    }

    /// Checks a partial update about to be sent.
    pub(crate) fn check_patch(&self, _patch: &impl Serialize) -> Result<(), Error> {
        Ok(())
    }
}
