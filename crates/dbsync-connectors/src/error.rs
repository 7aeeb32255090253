//! Errors of a connector run: which input was wrong (config, catalog, state, a message line),
//! a failed call to DBSync, or output that could not be written. Messages never carry a secret:
//! settings errors come from dbsync-client, which names fields, never values.

/// What went wrong in a tap or target run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The config file is not the connector config format (settings JSON plus the connector's
    /// own keys).
    #[error("config: {0}")]
    Config(String),
    /// The catalog (`--catalog`) is invalid or names an unknown stream.
    #[error("catalog: {0}")]
    Catalog(String),
    /// The state (`--state` or a `STATE` message) is invalid or belongs to another resource or
    /// format version.
    #[error("state: {0}")]
    State(String),
    /// A line of the input (standard input of a target) is not a valid message.
    #[error("input line {line}: {message}")]
    Input {
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// A call to DBSync failed (after the client's retries).
    #[error(transparent)]
    Client(#[from] dbsync_client::Error),
    /// Reading a file or standard input, or writing standard output, failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Some records were not stored (target): they are in the failures journal.
    #[error(
        "{failed} record(s) were not stored ({unknown} of them may have been: see the journal); \
         they are in the failures journal `{journal}`"
    )]
    RecordsFailed {
        /// Records refused or with an unknown outcome.
        failed: u64,
        /// Of those, records whose outcome is unknown (the server may have stored them).
        unknown: u64,
        /// The journal file.
        journal: String,
    },
    /// A record does not match its stream's schema (target): it is in the failures journal, the
    /// records buffered with it were not written, and no state was emitted past it.
    #[error(
        "input line {line}: {reason}; the record is in the failures journal `{journal}`; the \
         records buffered since the last write were not sent and no STATE was emitted past it"
    )]
    RecordInvalid {
        /// The record's 1-based input line.
        line: u64,
        /// The first mismatch.
        reason: String,
        /// The journal file.
        journal: String,
    },
}

impl ConnectorError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
