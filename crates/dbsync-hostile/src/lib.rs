//! A hostile server for tests: it speaks raw HTTP/1.1 over tokio TCP on `127.0.0.1:0`, so it
//! can misbehave in ways a web framework would not allow (endless or huge bodies, bodies that
//! drip, no answer at all, absurd headers, invalid UTF-8), and records what it received.
//! Never a dependency of a library crate: a dev-dependency of the client's and the CLI's tests.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use dbsync_hostile::{HostileServer, Mode};
//!
//! let server = HostileServer::start(Mode::EndlessBody).await?;
//! // point a client at server.url(), then check server.received()
//! # Ok(()) }
//! ```
//!
//! The modules, one job each:
//!
//! - `mode`: [`Mode`] and [`TokenAnswer`]: the misbehaviours, one per variant.
//! - `received`: [`Received`]: one request as the server read it (bounded).
//! - `server`: [`HostileServer`]: the accept loop, what it received and how much it sent.
//! - `answer`: how each mode answers a request (bodies generated lazily, never held whole).
//! - `child`: [`run_child`]: runs a process with a kill deadline and reports its peak memory.
#![deny(missing_docs)]

mod answer;
mod child;
mod mode;
mod received;
mod server;

pub use child::{ChildRun, MAX_KEPT_OUTPUT, run_child};
pub use mode::{Mode, TokenAnswer};
pub use received::{MAX_BODY_BYTES, MAX_HEAD_BYTES, Received};
pub use server::{HostileServer, MAX_RECORDED};

/// Sets the terminal's window title, then rings the bell (an OSC sequence).
pub const OSC_TITLE: &str = "\u{1b}]0;pwned\u{7}";
/// Clears the screen (a CSI sequence).
pub const CSI_CLEAR: &str = "\u{1b}[2J";
/// The C1 control CSI (U+009B), which some terminals take as `ESC [`.
pub const C1_CSI: &str = "\u{9b}";
