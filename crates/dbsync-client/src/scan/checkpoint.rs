//! A scan's position, serializable, so that a scan can stop (or fail) and continue later,
//! in another process if need be.

use serde::{Deserialize, Serialize};

use crate::query::Query;

use super::incremental::Slices;
use super::options::ScanMode;

/// The version of the checkpoint format this crate writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Where a scan stands: taken at any time with [`crate::Scan::checkpoint`], stored as JSON (it
/// implements `Serialize`/`Deserialize`), and continued with [`crate::Resource::resume`].
///
/// A checkpoint taken after the scan yielded record `r` means `r` is done: the resumed scan
/// starts with the record after it, so nothing is lost or repeated (under the guarantee of the
/// scan's [`ScanMode`]). A checkpoint taken after the scan failed is the place to resume from.
///
/// ```
/// use dbsync_client::Checkpoint;
/// let json = r#"{"version":1,"resource":"records","query":{"limit":100,"offset":null,
///   "from":null,"to":null,"filters":[]},"mode":"plain","overlap":32,"offset":2500,
///   "last_id":null,"end_offset":null,"upper_id":null,"slices":null,"finished":false}"#;
/// let checkpoint: Checkpoint = serde_json::from_str(json)?;
/// assert_eq!(checkpoint.offset(), 2500);
/// assert_eq!(checkpoint.resource(), "records");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub(crate) version: u32,
    pub(crate) resource: String,
    /// The query (filters, page size; the date range of a non-incremental scan).
    pub(crate) query: Query,
    pub(crate) mode: ScanMode,
    pub(crate) overlap: u32,
    /// The offset of the next record (where it was when last read).
    pub(crate) offset: u64,
    /// The id of the last record yielded (consistent scans continue after it).
    pub(crate) last_id: Option<String>,
    /// The offset the scan stops at (a partition), if any.
    pub(crate) end_offset: Option<u64>,
    /// The last id the scan yields (a consistent partition), if any.
    pub(crate) upper_id: Option<String>,
    /// The date slices of an incremental scan.
    pub(crate) slices: Option<Slices>,
    /// Whether the scan had yielded everything.
    pub(crate) finished: bool,
}

impl Checkpoint {
    /// The resource the scan reads.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The scan's query.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The scan's mode.
    pub fn mode(&self) -> ScanMode {
        self.mode
    }

    /// The offset the resumed scan continues from (a consistent scan re-reads a little before
    /// it and continues after [`Checkpoint::last_id`]).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The id of the last record yielded, if known (consistent scans track it).
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// For an incremental scan: every record with `updated_at` before this watermark (and at
    /// or after the scan's start) has been yielded. See [`crate::Scan::watermark`].
    pub fn watermark(&self) -> Option<&str> {
        self.slices.as_ref().and_then(Slices::watermark)
    }

    /// Whether the scan had yielded everything (resuming it yields nothing).
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}
