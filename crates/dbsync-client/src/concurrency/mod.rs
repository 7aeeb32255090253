//! How many requests a scan or a bulk write keeps in flight: a fixed number, or one that adapts
//! to what the server's answers say ([`Concurrency`]; the controller is `aimd`, the adaptive
//! buffering of a stream of requests `buffered`).

mod aimd;
mod buffered;

pub(crate) use aimd::{Aimd, Ticket};
pub(crate) use buffered::{Order, adaptive_buffered};

/// The most requests an adaptive scan keeps in flight unless configured.
pub const DEFAULT_MAX_SCAN_CONCURRENCY: usize = 64;
/// The most requests an adaptive bulk write keeps in flight unless configured.
pub const DEFAULT_MAX_BULK_CONCURRENCY: usize = 32;

/// How many requests a scan ([`crate::ScanOptions::concurrency`]) or a bulk write
/// ([`crate::BatchOptions::concurrency`]) keeps in flight.
///
/// [`Concurrency::Adaptive`] (the default of both) starts at `initial` and doubles each round
/// trip while the server keeps up, then grows by one per round trip; a `429`, a `5xx`, a
/// timeout or a dropped connection on the connection cuts it by a quarter, and answers that
/// come much slower than the fastest stop its growth (requests are queueing: at the server, at
/// the client's rate limiter, or on the CPU). The request path's rate-limit pacing (see
/// `docs/reliability.md`) holds requests back before they are sent, so a rate limit shows
/// here as slower answers, and the limit stops growing. Over a network's tens of milliseconds
/// this reaches dozens of requests in flight within a few round trips; on a fast local server
/// it stays near `initial`. [`Concurrency::Fixed`] keeps exactly that many.
///
/// ```
/// use dbsync_client::{BatchOptions, Concurrency, ScanOptions};
/// let scan = ScanOptions::default().concurrency(Concurrency::adaptive(4, 32));
/// assert_eq!(scan.get_concurrency(), Concurrency::adaptive(4, 32));
/// let fixed = BatchOptions::default().concurrency(8);
/// assert_eq!(fixed.get_concurrency(), Concurrency::Fixed(8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Concurrency {
    /// Always this many requests in flight.
    Fixed(usize),
    /// Adapts between one and `max`, starting at `initial`.
    Adaptive {
        /// Requests in flight at the start.
        initial: usize,
        /// The most requests in flight.
        max: usize,
    },
}

/// A number is a fixed concurrency: `BatchOptions::default().concurrency(8)`.
impl From<usize> for Concurrency {
    fn from(requests: usize) -> Self {
        Self::Fixed(requests)
    }
}

impl Concurrency {
    /// Adapts between one and `max`, starting at `initial` (at most `max`).
    pub fn adaptive(initial: usize, max: usize) -> Self {
        Self::Adaptive {
            initial: initial.min(max),
            max,
        }
    }

    /// The most requests this allows in flight.
    pub fn max(self) -> usize {
        match self {
            Self::Fixed(n) => n,
            Self::Adaptive { max, .. } => max,
        }
    }

    /// The controller for one scan or bulk write (`None`: fixed).
    pub(crate) fn controller(self) -> Option<Aimd> {
        match self {
            Self::Fixed(_) => None,
            Self::Adaptive { initial, max } => Some(Aimd::new(initial, max)),
        }
    }
}
