//! An optional observer of every response: method, path, status, headers and the body as sent,
//! handed over when the body has been sent whole. Off by default; with no observer the layer is
//! not installed, so nothing is buffered.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;

/// The most bytes of a body an observer is given; a longer body is not observed at all.
pub const MAX_OBSERVED_BODY_BYTES: usize = 16 * 1024 * 1024;

/// One response, as the sandbox sent it (a gzip-encoded body stays encoded).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ObservedResponse {
    /// The request's method, e.g. `GET`.
    pub method: String,
    /// The request's path and query as received, e.g. `/v1/records?limit=2`.
    pub path: String,
    /// The response's status.
    pub status: u16,
    /// The response's headers.
    pub headers: HeaderMap,
    /// The body, as sent.
    pub body: Bytes,
}

type Callback = dyn Fn(&ObservedResponse) + Send + Sync;

/// A callback given every response whose body was sent whole (not one cut by an injected fault
/// or a client that went away, nor one over [`MAX_OBSERVED_BODY_BYTES`]).
#[derive(Clone)]
pub(crate) struct ResponseObserver(Arc<Callback>);

impl ResponseObserver {
    pub(crate) fn new(callback: impl Fn(&ObservedResponse) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }
}

impl fmt::Debug for ResponseObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseObserver")
    }
}

/// The outermost middleware when an observer is set.
pub(crate) async fn middleware(
    State(observer): State<ResponseObserver>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let observed = ObservedResponse {
        method,
        path,
        status: parts.status.as_u16(),
        headers: parts.headers.clone(),
        body: Bytes::new(),
    };
    if body.is_end_stream() {
        // hyper never polls an empty body: observe it now.
        (observer.0)(&observed);
        return Response::from_parts(parts, body);
    }
    let tee = Tee {
        inner: body,
        buffer: Vec::new(),
        pending: Some((observed, observer)),
    };
    Response::from_parts(parts, Body::new(tee))
}

/// Passes the body through unchanged, keeping a copy for the observer.
struct Tee {
    inner: Body,
    buffer: Vec<u8>,
    pending: Option<(ObservedResponse, ResponseObserver)>,
}

impl Tee {
    fn finish(&mut self) {
        if let Some((mut observed, observer)) = self.pending.take() {
            observed.body = Bytes::from(std::mem::take(&mut self.buffer));
            (observer.0)(&observed);
        }
    }
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if this.buffer.len() + data.len() > MAX_OBSERVED_BODY_BYTES {
                        this.pending = None;
                        this.buffer = Vec::new();
                    } else if this.pending.is_some() {
                        this.buffer.extend_from_slice(data);
                    }
                }
                // hyper stops polling once the body says it has ended.
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Err(_))) => this.pending = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
