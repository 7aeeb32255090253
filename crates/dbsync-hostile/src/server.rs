//! [`HostileServer`]: accepts connections on `127.0.0.1:0`, reads one request from each,
//! answers it as its [`Mode`] says, and records what it received and how much it sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::answer;
use crate::mode::Mode;
use crate::received::Received;

/// The most requests recorded; later ones are answered but not kept.
pub const MAX_RECORDED: usize = 10_000;

/// What the server saw, shared with its connection tasks.
#[derive(Debug, Default)]
pub(crate) struct Log {
    received: Mutex<Vec<Received>>,
    requests: AtomicU64,
    sent: AtomicU64,
}

impl Log {
    pub(crate) fn add_sent(&self, bytes: usize) {
        self.sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn record(&self, request: &Received) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut received) = self.received.lock()
            && received.len() < MAX_RECORDED
        {
            received.push(request.clone());
        }
    }
}

/// A server that misbehaves as its [`Mode`] says. Dropping it stops it and every connection
/// it is serving (an endless body stops being written).
#[derive(Debug)]
pub struct HostileServer {
    url: String,
    log: Arc<Log>,
    task: JoinHandle<()>,
}

impl HostileServer {
    /// Starts a server misbehaving as `mode` on `127.0.0.1` (a free port); it runs on the
    /// current tokio runtime.
    pub async fn start(mode: Mode) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let log = Arc::new(Log::default());
        let shared = Arc::clone(&log);
        let mode = Arc::new(mode);
        let task = tokio::spawn(async move {
            // Owned here, so aborting this task aborts every connection task.
            let mut connections = JoinSet::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                let log = Arc::clone(&shared);
                let mode = Arc::clone(&mode);
                connections.spawn(async move {
                    if let Some(request) = Received::read(&mut stream).await {
                        log.record(&request);
                        let _ = answer::answer(&mode, &request, &mut stream, &log).await;
                    }
                });
            }
        });
        Ok(Self { url, log, task })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The requests received so far (at most [`MAX_RECORDED`]).
    pub fn received(&self) -> Vec<Received> {
        self.log
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> u64 {
        self.log.requests.load(Ordering::SeqCst)
    }

    /// How many bytes of answers were written to the sockets (the client read at most this
    /// many, plus nothing: what the kernel buffered but the client never read is counted too).
    pub fn bytes_sent(&self) -> u64 {
        self.log.sent.load(Ordering::Relaxed)
    }

    /// Whether `needle` occurs in any request received (target, headers, body).
    pub fn saw(&self, needle: &str) -> bool {
        self.received().iter().any(|r| r.contains(needle))
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
