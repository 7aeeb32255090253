//! A whole-body deadline for request bodies: a body still arriving when its deadline passes
//! ends with an error, and the request is marked so the server can answer `408` and close.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::time::Instant;

use crate::real_clock::{RealSleep, after};

/// The error a body ends with when it did not arrive in time.
#[derive(Debug)]
pub(crate) struct BodyTimeout {
    limit: Duration,
}

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body was not received within {} ms",
            self.limit.as_millis()
        )
    }
}

impl std::error::Error for BodyTimeout {}

/// Set when a request's body ran out of time (shared by the body and the service answering it).
#[derive(Debug, Clone, Default)]
pub(crate) struct TimedOut(Arc<AtomicBool>);

impl TimedOut {
    /// Whether the body ran out of time.
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A request body that must arrive whole before its deadline (on the real clock).
///
/// Frames already received are always handed on; only a body that is still waiting for the
/// client when the deadline passes ends with [`BodyTimeout`]. The timer is created the first
/// time the body has to wait, so bodies that arrive at once cost no timer.
pub(crate) struct DeadlineBody<B> {
    inner: B,
    deadline: Instant,
    limit: Duration,
    sleep: Option<Pin<Box<RealSleep>>>,
    timed_out: TimedOut,
    done: bool,
}

impl<B> DeadlineBody<B> {
    /// `inner` must be whole within `limit` from now; `timed_out` is set if it is not.
    pub(crate) fn new(inner: B, limit: Duration, timed_out: TimedOut) -> Self {
        Self {
            inner,
            deadline: after(limit),
            limit,
            sleep: None,
            timed_out,
            done: false,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(RealSleep::until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.done = true;
            this.timed_out.set();
            return Poll::Ready(Some(Err(Box::new(BodyTimeout { limit: this.limit }))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A body that hands out its chunks, then waits forever.
    struct Trickle(VecDeque<&'static [u8]>);

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match self.0.pop_front() {
                Some(chunk) => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk))))),
                None => Poll::Pending,
            }
        }
    }

    async fn next(body: &mut DeadlineBody<Trickle>) -> Option<Result<Frame<Bytes>, String>> {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx))
            .await
            .map(|r| r.map_err(|e| e.to_string()))
    }

    #[tokio::test]
    async fn received_frames_pass_and_a_stalled_body_ends_at_its_deadline() {
        let timed_out = TimedOut::default();
        let mut body = DeadlineBody::new(
            Trickle(VecDeque::from([&b"ab"[..], &b"c"[..]])),
            Duration::from_millis(200),
            timed_out.clone(),
        );
        for expected in [&b"ab"[..], &b"c"[..]] {
            let frame = next(&mut body).await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), expected);
        }
        assert!(!timed_out.get());
        let started = Instant::now();
        let error = next(&mut body).await.unwrap().unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert_eq!(
            error, "the request body was not received within 200 ms",
            "{error}"
        );
        assert!(timed_out.get());
        assert!(body.is_end_stream());
        assert!(next(&mut body).await.is_none());
    }

    #[tokio::test]
    async fn a_huge_limit_does_not_overflow() {
        let body = DeadlineBody::new(Trickle(VecDeque::new()), Duration::MAX, TimedOut::default());
        assert!(body.deadline > Instant::now());
    }
}
