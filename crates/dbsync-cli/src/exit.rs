//! Exit codes: scripts tell failure classes apart by them.

/// The classes of outcome the CLI reports through its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: everything worked.
    Ok = 0,
    /// 1: anything not covered below.
    Other = 1,
    /// 2: the command line was wrong (clap reports these itself).
    Usage = 2,
    /// 3: authentication failed (bad or missing credentials, token endpoint refused).
    Auth = 3,
    /// 4: the resource, record, workflow or run does not exist.
    NotFound = 4,
    /// 5: validation failed, locally or on the server.
    Validation = 5,
    /// 6: rate limited, still after the retries.
    RateLimited = 6,
    /// 7: the server failed (5xx).
    Server = 7,
    /// 8: the network failed (unreachable, timeout, TLS).
    Network = 8,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The text for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  anything else
  2  usage (bad command line)
  3  auth (bad or missing credentials)
  4  not found
  5  validation (local or server); also a bulk create/update where records were invalid
  6  rate limited after retries
  7  server error (5xx)
  8  network (unreachable, timeout, TLS)";
