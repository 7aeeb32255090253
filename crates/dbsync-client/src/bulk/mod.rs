//! Bulk writes: many records created or updated through the batch endpoints, 100 per request,
//! several requests in flight, one outcome per record, and nothing created twice.
//!
//! - [`options`]: how batches are sent ([`BatchOptions`], [`Progress`]);
//! - [`batch`]: the batch wire types and one outcome per record ([`BatchOutcome`]);
//! - [`runner`]: the concurrent batch runner behind `create_many`/`update_many` and
//!   `create_batch_with_key` (splitting refused batches, telling unknown outcomes apart);
//! - [`durable`]: writes from a stream of any size with bounded memory, each record yielding a
//!   [`WriteOutcome`];
//! - [`journal`]: the failures journal (JSON Lines), written as a run goes;
//! - [`resend`]: sending a journal again without ever creating a record twice.

pub(crate) mod batch;
pub(crate) mod durable;
pub(crate) mod journal;
pub(crate) mod options;
pub(crate) mod resend;
pub(crate) mod runner;

pub use batch::BatchOutcome;
pub use durable::{LostRequest, WriteOutcome};
pub use journal::{Journal, JournalEntry, JournalOutcome};
pub use options::{BatchOptions, DEFAULT_BATCH_CONCURRENCY, Progress, ProgressCallback};
pub use resend::{JournalLine, ResendOptions, ResendOutcome};
