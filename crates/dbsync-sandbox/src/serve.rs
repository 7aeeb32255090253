//! Serving connections: hyper-util's HTTP/1 + HTTP/2 builder with header-read, body-read and
//! idle timeouts, a cap on concurrent connections, and graceful shutdown.
//!
//! - **Connection cap**: a permit is taken *before* `accept`, so past the cap new connections
//!   wait in the kernel's listen backlog ([`LISTEN_BACKLOG`], 1,024; past that the kernel
//!   drops SYNs and clients retry after 1, 3, 7... s) until a connection closes. Nothing is accepted only to be closed.
//! - **Header read**: hyper's HTTP/1 `header_read_timeout`; its timer starts as soon as hyper
//!   waits for a request head, so on a keep-alive HTTP/1 connection it also bounds the wait
//!   between requests. Before its first request (version detection, HTTP/2 handshake) the idle
//!   watchdog below closes a connection after the shorter of this and the idle timeout.
//! - **Body read**: a whole-body deadline from when the request head arrived
//!   ([`crate::body_deadline`]); a request whose body ran out of time is answered `408` and its
//!   HTTP/1 connection closed.
//! - **Idle**: a connection with no request in progress and nothing sent for the idle timeout
//!   is shut down gracefully (a response still being written finishes), then dropped once it
//!   has sent nothing for [`IDLE_GRACE`] (a client that stopped reading its response).
//!
//! - **TLS** (when the sandbox serves HTTPS): the handshake must finish within the header-read
//!   timeout; ALPN offers `h2` and `http/1.1`, and the connection is then served as above.
//!
//! Every timer here runs on the real clock ([`crate::real_clock`]), not tokio's.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, Version, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::body_deadline::{DeadlineBody, TimedOut};
use crate::error::ApiError;
use crate::idle::{Activity, Written};
use crate::real_clock::{RealSleep, RealTimer};
use crate::{MAX_DURATION, SandboxError};

/// Default longest wait for a request head (see [`crate::SandboxBuilder::header_read_timeout`]).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest time for a whole request body (see [`crate::SandboxBuilder::body_read_timeout`]).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest time without a request in progress (see [`crate::SandboxBuilder::idle_timeout`]).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default most concurrent connections (see [`crate::SandboxBuilder::max_connections`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The listen backlog: connections past the cap wait here (the kernel caps it at
/// `net.core.somaxconn`). tokio's `TcpListener::bind` uses 128.
pub(crate) const LISTEN_BACKLOG: u32 = 1024;

/// How long an idle connection told to shut down may take before it is dropped.
const IDLE_GRACE: Duration = Duration::from_secs(1);
/// The pause after a failed `accept` (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Requests served over HTTP/2, counted for [`crate::Sandbox::http2_requests`].
pub(crate) type Http2Count = Arc<std::sync::atomic::AtomicU64>;

/// The connection limits of one server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeLimits {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read: DEFAULT_HEADER_READ_TIMEOUT,
            body_read: DEFAULT_BODY_READ_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServeLimits {
    /// Refuses zero limits; shortens absurd durations to [`MAX_DURATION`].
    pub(crate) fn checked(self) -> Result<Self, SandboxError> {
        let durations = [
            ("header_read_timeout", self.header_read),
            ("body_read_timeout", self.body_read),
            ("idle_timeout", self.idle),
        ];
        for (name, duration) in durations {
            if duration.is_zero() {
                return Err(SandboxError::InvalidConnectionLimit { name });
            }
        }
        if self.max_connections == 0 {
            return Err(SandboxError::InvalidConnectionLimit {
                name: "max_connections",
            });
        }
        Ok(Self {
            header_read: self.header_read.min(MAX_DURATION),
            body_read: self.body_read.min(MAX_DURATION),
            idle: self.idle.min(MAX_DURATION),
            max_connections: self.max_connections.min(Semaphore::MAX_PERMITS),
        })
    }
}

/// Binds `addr` with a [`LISTEN_BACKLOG`]-deep backlog.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Accepts connections until `stop` fires, then shuts every connection down gracefully (an
/// in-flight request finishes; a connection without one is closed within [`IDLE_GRACE`]) and
/// returns once all are closed. Dropping the returned future aborts every connection.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    tls: Option<TlsAcceptor>,
    http2: Http2Count,
    mut stop: oneshot::Receiver<()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(RealTimer)
        .header_read_timeout(limits.header_read);
    builder.http2().timer(RealTimer);
    let server = Arc::new(Server {
        builder,
        tls,
        http2,
        app,
        limits,
    });
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            Some(_) = connections.join_next() => continue,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "the sandbox could not accept a connection");
                    tokio::select! {
                        _ = &mut stop => break,
                        () = RealSleep::new(ACCEPT_ERROR_PAUSE) => continue,
                    }
                }
            },
        };
        connections.spawn(connection(
            server.clone(),
            stream,
            closing_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
}

/// What every connection of one server shares.
struct Server {
    builder: auto::Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
    http2: Http2Count,
    app: Router,
    limits: ServeLimits,
}

/// Serves one connection (after its TLS handshake, when serving HTTPS) until it ends, turns
/// idle, or the server closes.
async fn connection(
    server: Arc<Server>,
    stream: TcpStream,
    mut closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = server.tls.clone() else {
        return serve_io(&server, stream, closing).await;
    };
    let handshake = tokio::select! {
        result = acceptor.accept(stream) => result,
        () = RealSleep::new(server.limits.header_read) => {
            tracing::debug!("sandbox TLS handshake took too long");
            return;
        }
        () = server_closing(&mut closing) => return,
    };
    match handshake {
        Ok(stream) => serve_io(&server, stream, closing).await,
        Err(error) => tracing::debug!(%error, "sandbox TLS handshake failed"),
    }
}

/// Serves HTTP/1 or HTTP/2 on `io` until it ends, turns idle, or the server closes.
async fn serve_io<I>(server: &Server, io: I, mut closing: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = server.limits;
    let activity = Activity::new();
    let service = RequestService {
        app: TowerToHyperService::new(server.app.clone()),
        activity: activity.clone(),
        body_read: limits.body_read,
        http2: server.http2.clone(),
    };
    let conn = server
        .builder
        .serve_connection(TokioIo::new(Written::new(io, activity.clone())), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "sandbox connection ended with an error");
            }
        }
        () = activity.idle_for(limits.header_read.min(limits.idle), limits.idle) => {
            // A response still being written finishes (HTTP/1 closes after it); the connection
            // is dropped once it has sent nothing for IDLE_GRACE (a client that stopped reading).
            activity.active_now();
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn => {}
                () = activity.idle_for(IDLE_GRACE, IDLE_GRACE) => {}
            }
        }
        () = server_closing(&mut closing) => {
            // In-flight requests finish; a connection with none for IDLE_GRACE (say, one
            // half-way through a request head) is dropped.
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn => {}
                () = activity.idle_for(IDLE_GRACE, IDLE_GRACE) => {}
            }
        }
    }
}

/// Returns when the server starts closing (or is gone).
async fn server_closing(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|closing| *closing).await;
}

/// The application behind one connection: marks requests in progress and puts each body
/// under its deadline.
struct RequestService {
    app: TowerToHyperService<Router>,
    activity: Activity,
    body_read: Duration,
    http2: Http2Count,
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for RequestService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let busy = self.activity.begin();
        let timed_out = TimedOut::default();
        let version = request.version();
        if version == Version::HTTP_2 {
            self.http2
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let limit = self.body_read;
        let request =
            request.map(|body| Body::new(DeadlineBody::new(body, limit, timed_out.clone())));
        let response = hyper::service::Service::call(&self.app, request);
        Box::pin(async move {
            let response = response.await;
            drop(busy);
            if timed_out.get() {
                return Ok(body_timeout_response(version, limit));
            }
            response
        })
    }
}

/// `408` in the contract's error shape; HTTP/1 connections are closed after it.
fn body_timeout_response(version: Version, limit: Duration) -> Response<Body> {
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "The request body was not received within {} ms; send it faster or raise the \
             sandbox's body read timeout",
            limit.as_millis()
        ),
    )
    .into_response();
    if version < Version::HTTP_2 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_limits_are_refused_and_huge_ones_shortened() {
        for limits in [
            ServeLimits {
                header_read: Duration::ZERO,
                ..ServeLimits::default()
            },
            ServeLimits {
                body_read: Duration::ZERO,
                ..ServeLimits::default()
            },
            ServeLimits {
                idle: Duration::ZERO,
                ..ServeLimits::default()
            },
            ServeLimits {
                max_connections: 0,
                ..ServeLimits::default()
            },
        ] {
            let error = limits.checked().unwrap_err().to_string();
            assert!(error.contains("must be greater than zero"), "{error}");
        }
        let limits = ServeLimits {
            idle: Duration::MAX,
            max_connections: usize::MAX,
            ..ServeLimits::default()
        }
        .checked()
        .unwrap();
        assert_eq!(limits.idle, MAX_DURATION);
        assert_eq!(limits.max_connections, Semaphore::MAX_PERMITS);
    }
}
