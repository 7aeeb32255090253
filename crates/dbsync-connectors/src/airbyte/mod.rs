//! The Airbyte protocol: DBSync as a source (`spec`, `check`, `discover`, `read`) and a
//! destination (`write`). Messages are JSON lines on standard output; see docs/connectors.md.
//!
//! - `message`: the messages (`RECORD`, `STATE`, `LOG`, `TRACE`, ...) and their writer;
//! - `error`: errors as `TRACE` messages, a config error told from a system error;
//! - `spec`: the connection specification (`SPEC`);
//! - `catalog`: `discover` (`CATALOG`) and the configured catalog `read`/`write` take;
//! - `state`: per-stream state (watermark and scan checkpoint) and the `--state` file;
//! - `source`: `check` and `read`;
//! - `destination`: `write`.

pub mod catalog;
pub mod destination;
pub mod error;
pub mod message;
pub mod source;
pub mod spec;
pub mod state;

pub use catalog::{ConfiguredCatalog, ConfiguredStream, SyncMode, discover};
pub use destination::{WriteOptions, WriteReport, write};
pub use error::{AirbyteError, FailureType};
pub use message::Emitter;
pub use source::{ReadOptions, ReadReport, check, read};
pub use spec::spec;
pub use state::{InputState, STATE_VERSION, StreamState};
