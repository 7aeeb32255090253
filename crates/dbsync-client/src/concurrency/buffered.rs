//! A stream of requests run with a number in flight that follows a [`Concurrency`]: like
//! `futures`' `buffered` (answers in order) and `buffer_unordered` (answers as they come), but
//! with a limit the controller moves as answers come back.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{FuturesOrdered, FuturesUnordered, Stream, StreamExt as _};
use tokio::time::Instant;

use super::{Aimd, Concurrency, Ticket};

/// Whether answers come out in the order their requests went in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// In order (`buffered`).
    Kept,
    /// As they come (`buffer_unordered`).
    Any,
}

/// A request with the controller's ticket, timed from its first poll.
struct Timed<F> {
    request: Pin<Box<F>>,
    ticket: Option<Ticket>,
    started: Option<Instant>,
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, Option<Ticket>, Duration);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = Pin::into_inner(self); // `Unpin`: the request is boxed
        let started = *this.started.get_or_insert_with(Instant::now);
        let ticket = this.ticket;
        this.request
            .as_mut()
            .poll(cx)
            .map(|output| (output, ticket, started.elapsed()))
    }
}

enum Queue<F: Future> {
    Kept(FuturesOrdered<Timed<F>>),
    Any(FuturesUnordered<Timed<F>>),
}

impl<F: Future> Queue<F> {
    fn len(&self) -> usize {
        match self {
            Self::Kept(queue) => queue.len(),
            Self::Any(queue) => queue.len(),
        }
    }

    fn push(&mut self, request: Timed<F>) {
        match self {
            Self::Kept(queue) => queue.push_back(request),
            Self::Any(queue) => queue.push(request),
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<<Timed<F> as Future>::Output>> {
        match self {
            Self::Kept(queue) => queue.poll_next_unpin(cx),
            Self::Any(queue) => queue.poll_next_unpin(cx),
        }
    }
}

/// See [`adaptive_buffered`].
pub(crate) struct AdaptiveBuffered<St: Stream, C>
where
    St::Item: Future,
{
    requests: Option<St>,
    queue: Queue<St::Item>,
    fixed: usize,
    controller: Option<Aimd>,
    congestion: C,
}

/// Runs the requests of `requests` with as many in flight as `concurrency` allows (at least
/// one), handing their answers out in `order`. `congestion` reads the connection's count of
/// push-backs (`429`, `5xx`, timeouts), which an adaptive limit backs off on.
pub(crate) fn adaptive_buffered<St, C>(
    requests: St,
    concurrency: Concurrency,
    order: Order,
    congestion: C,
) -> AdaptiveBuffered<St, C>
where
    St: Stream + Unpin,
    St::Item: Future,
    C: Fn() -> u64 + Unpin,
{
    AdaptiveBuffered {
        requests: Some(requests),
        queue: match order {
            Order::Kept => Queue::Kept(FuturesOrdered::new()),
            Order::Any => Queue::Any(FuturesUnordered::new()),
        },
        fixed: concurrency.max().max(1),
        controller: concurrency.controller(),
        congestion,
    }
}

impl<St, C> Stream for AdaptiveBuffered<St, C>
where
    St: Stream + Unpin,
    St::Item: Future,
    C: Fn() -> u64 + Unpin,
{
    type Item = <St::Item as Future>::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is `Unpin` (requests are boxed inside `Timed`).
        let this = Pin::into_inner(self);
        loop {
            let limit = this.controller.as_ref().map_or(this.fixed, Aimd::limit);
            if this.queue.len() >= limit {
                break;
            }
            let Some(requests) = &mut this.requests else {
                break;
            };
            match requests.poll_next_unpin(cx) {
                Poll::Ready(Some(request)) => {
                    let in_flight = this.queue.len();
                    let ticket = this
                        .controller
                        .as_mut()
                        .map(|c| c.started(in_flight, (this.congestion)(), true));
                    this.queue.push(Timed {
                        request: Box::pin(request),
                        ticket,
                        started: None,
                    });
                }
                Poll::Ready(None) => this.requests = None,
                Poll::Pending => break,
            }
        }
        match this.queue.poll_next(cx) {
            Poll::Ready(Some((answer, ticket, latency))) => {
                if let (Some(controller), Some(ticket)) = (&mut this.controller, ticket) {
                    controller.finished(ticket, latency, (this.congestion)());
                }
                Poll::Ready(Some(answer))
            }
            // Nothing in flight: done once the requests are, else waiting for the next one.
            Poll::Ready(None) if this.requests.is_none() => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    /// Runs 200 requests of 50 ms each and returns the most that were in flight at once and
    /// the order the answers came in.
    async fn run(concurrency: Concurrency, order: Order, congested: bool) -> (usize, Vec<usize>) {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let congestion = Arc::new(AtomicU64::new(0));
        let requests = futures::stream::iter(0..200usize).map(|i| {
            let (in_flight, most, congestion) =
                (in_flight.clone(), most.clone(), congestion.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later requests are quicker, so unordered answers overtake.
                tokio::time::sleep(Duration::from_millis(50 + (200 - i as u64) % 7)).await;
                if congested {
                    congestion.fetch_add(1, Ordering::SeqCst);
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                i
            }
        });
        let reader = congestion.clone();
        let answers: Vec<usize> = adaptive_buffered(requests, concurrency, order, move || {
            reader.load(Ordering::SeqCst)
        })
        .collect()
        .await;
        (most.load(Ordering::SeqCst), answers)
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_limit_is_kept_and_order_is_kept_when_asked() {
        let (most, answers) = run(Concurrency::Fixed(5), Order::Kept, false).await;
        assert_eq!(most, 5);
        assert_eq!(answers, (0..200).collect::<Vec<_>>());
        let (most, mut answers) = run(Concurrency::Fixed(5), Order::Any, false).await;
        assert_eq!(most, 5);
        assert_ne!(
            answers,
            (0..200).collect::<Vec<_>>(),
            "some answers overtook"
        );
        answers.sort_unstable();
        assert_eq!(answers, (0..200).collect::<Vec<_>>(), "every answer, once");
    }

    #[tokio::test(start_paused = true)]
    async fn an_adaptive_limit_grows_to_its_max_on_a_server_that_keeps_up() {
        let (most, answers) = run(Concurrency::adaptive(2, 24), Order::Kept, false).await;
        assert_eq!(most, 24);
        assert_eq!(answers, (0..200).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn an_adaptive_limit_stays_low_while_every_answer_pushes_back() {
        let (most, answers) = run(Concurrency::adaptive(8, 64), Order::Any, true).await;
        assert!(most <= 8, "{most}");
        assert_eq!(answers.len(), 200);
    }
}
