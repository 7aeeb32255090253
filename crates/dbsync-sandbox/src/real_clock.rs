//! Timers on the real clock for the connection timeouts, so a test that pauses and advances
//! tokio's clock (to expire tokens or finish workflows) does not also see its connections closed.
//!
//! The timers run on one background thread with its own small tokio runtime (whose clock is
//! never paused); a sleep is a task there, aborted when the sleep is dropped. If that thread
//! cannot be started, sleeps fall back to the calling runtime's clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// The background timer runtime, started on first use (`None` if it could not be).
fn timer_runtime() -> Option<&'static Handle> {
    static HANDLE: OnceLock<Option<Handle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .ok()?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("dbsync-sandbox-timers".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Completes at `deadline` on the real clock.
pub(crate) struct RealSleep {
    deadline: Instant,
    task: Option<JoinHandle<()>>,
}

impl RealSleep {
    /// A sleep until `deadline`.
    pub(crate) fn until(deadline: Instant) -> Self {
        Self {
            deadline,
            task: None,
        }
    }

    /// A sleep of `duration` from now (absurd durations are shortened to 100 years).
    pub(crate) fn new(duration: Duration) -> Self {
        Self::until(after(duration))
    }
}

/// `now + duration`, without overflowing.
pub(crate) fn after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration.min(crate::MAX_DURATION))
        .unwrap_or(now)
}

impl Future for RealSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        if self.task.is_none() {
            let deadline = tokio::time::Instant::from_std(self.deadline);
            // Created inside the task: a `Sleep` belongs to the runtime it is created on.
            let sleep = async move { tokio::time::sleep_until(deadline).await };
            self.task = match timer_runtime() {
                Some(handle) => Some(handle.spawn(sleep)),
                None => Handle::try_current().ok().map(|handle| handle.spawn(sleep)),
            };
        }
        match self.task.as_mut() {
            // The task only ends by completing or by being aborted in `drop`.
            Some(task) => Pin::new(task).poll(cx).map(|_| ()),
            None => Poll::Pending,
        }
    }
}

impl Drop for RealSleep {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl hyper::rt::Sleep for RealSleep {}

/// hyper's timer on the real clock (for the HTTP/1 header-read timeout).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RealTimer;

impl hyper::rt::Timer for RealTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RealSleep::new(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RealSleep::until(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_real_sleep_ignores_a_paused_clock() {
        let started = Instant::now();
        let paused = tokio::time::Instant::now();
        let sleep = RealSleep::new(Duration::from_millis(50));
        tokio::pin!(sleep);
        // tokio's clock jumps an hour: the real sleep is still pending.
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(
            futures::poll!(sleep.as_mut()).is_pending(),
            "{:?}",
            started.elapsed()
        );
        sleep.await;
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(paused.elapsed() >= Duration::from_secs(3600));
    }

    #[tokio::test]
    async fn a_past_deadline_is_ready_and_a_huge_one_does_not_overflow() {
        RealSleep::until(Instant::now()).await;
        let far = RealSleep::new(Duration::MAX);
        assert!(far.deadline > Instant::now() + Duration::from_secs(3600));
    }
}
