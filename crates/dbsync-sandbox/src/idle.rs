//! Idle tracking for one connection: how many requests are in progress on it, when it last
//! sent bytes, and a watchdog that fires once it has had neither for too long (on the real
//! clock). A response still being written to a client that reads it (slowly) is not idle; one
//! that stopped reading is.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::real_clock::RealSleep;

#[derive(Debug)]
struct State {
    in_flight: usize,
    /// When the connection last had no request in progress or last sent bytes (its opening, at
    /// first).
    idle_since: Instant,
    /// Whether any request has started on it.
    started_one: bool,
}

/// The requests in progress on one connection.
#[derive(Debug, Clone)]
pub(crate) struct Activity {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

/// Marks a request in progress until dropped.
#[derive(Debug)]
pub(crate) struct Busy(Activity);

impl Drop for Busy {
    fn drop(&mut self) {
        {
            let mut state = self.0.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.in_flight == 0 {
                state.idle_since = Instant::now();
            }
        }
        self.0.changed.notify_one();
    }
}

impl Activity {
    /// A connection opened now, with no request yet.
    pub(crate) fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                started_one: false,
            })),
            changed: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request starts; it ends when the returned guard is dropped.
    pub(crate) fn begin(&self) -> Busy {
        let mut state = self.lock();
        state.in_flight += 1;
        state.started_one = true;
        Busy(self.clone())
    }

    /// The connection sent bytes now, or gets a fresh idle period from now (a grace before it
    /// is dropped): it is not idle yet.
    pub(crate) fn active_now(&self) {
        self.lock().idle_since = Instant::now();
    }

    /// Returns once the connection has had no request in progress for `idle` (or, before its
    /// first request, for `first_request`).
    pub(crate) async fn idle_for(&self, first_request: Duration, idle: Duration) {
        loop {
            let deadline = {
                let state = self.lock();
                if state.in_flight > 0 {
                    None
                } else {
                    let limit = if state.started_one {
                        idle
                    } else {
                        first_request
                    };
                    Some(
                        state
                            .idle_since
                            .checked_add(limit.min(crate::MAX_DURATION))
                            .unwrap_or(state.idle_since),
                    )
                }
            };
            match deadline {
                None => self.changed.notified().await,
                Some(deadline) if Instant::now() >= deadline => return,
                Some(deadline) => {
                    tokio::select! {
                        () = RealSleep::until(deadline) => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// A connection's stream that tells its [`Activity`] whenever it sends bytes.
pub(crate) struct Written<S> {
    stream: S,
    activity: Activity,
}

impl<S> Written<S> {
    /// `stream`, reporting its writes to `activity`.
    pub(crate) fn new(stream: S, activity: Activity) -> Self {
        Self { stream, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Written<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Written<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.active_now();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.active_now();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_millis(100);
    const IDLE: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn fires_after_the_first_request_limit_then_after_the_idle_limit() {
        let activity = Activity::new();
        let started = Instant::now();
        activity.idle_for(FIRST, IDLE).await;
        let waited = started.elapsed();
        assert!(waited >= FIRST && waited < IDLE, "{waited:?}");

        let busy = activity.begin();
        let watch = activity.clone();
        let watchdog = tokio::spawn(async move {
            watch.idle_for(FIRST, IDLE).await;
            Instant::now()
        });
        // A request in progress for longer than the idle limit does not count as idle.
        tokio::time::sleep(IDLE * 2).await;
        assert!(!watchdog.is_finished());
        let ended = Instant::now();
        drop(busy);
        let fired = watchdog.await.unwrap();
        assert!(fired - ended >= IDLE, "{:?}", fired - ended);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_jumping_ahead_does_not_make_a_connection_idle() {
        let activity = Activity::new();
        let watch = activity.clone();
        let watchdog = tokio::spawn(async move { watch.idle_for(IDLE, IDLE).await });
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(!watchdog.is_finished());
        watchdog.await.unwrap();
    }
}
