//! Monitoring the account: its usage against the rate limit ([`crate::Connection::usage`], in
//! `usage`) and the server's API logs ([`crate::Connection::logs`], in `server_logs`: a
//! paginated stream and a streamed export). The client's own log of its requests is
//! [`crate::api_log`].

mod server_logs;
mod usage;

pub use server_logs::{ExportFormat, ExportSummary, LogEntry, LogQuery, ServerLogs};
pub use usage::{MAX_USAGE_WINDOWS, Usage, UsageWindow, WindowKind};
