//! A server whose pages never move on cannot keep a scan (or `dbsync list --all`) going
//! forever: a page longer than asked for, the same page at every offset, ids that never move
//! past the last one, and endless full pages each end in bounded time with a clear error.

use std::time::Duration;

use dbsync_client::{Connection, Error, Query, RetryPolicy, ScanMode, ScanOptions};
use futures::StreamExt as _;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn connect(server: &MockServer) -> Connection {
    Connection::builder()
        .base_url(server.uri())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn offset_of(request: &Request) -> u64 {
    request
        .url
        .query_pairs()
        .find(|(name, _)| name == "offset")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

/// Answers every page with `records(offset)` and no total.
struct Pages<F>(F);

impl<F: Fn(u64) -> Vec<Value> + Send + Sync + 'static> Respond for Pages<F> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({"data": (self.0)(offset_of(request))}))
    }
}

async fn serve(records: impl Fn(u64) -> Vec<Value> + Send + Sync + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .respond_with(Pages(records))
        .mount(&server)
        .await;
    server
}

/// Runs the scan to its end (at most `bound` items, in at most 20 s): the records, then the
/// error it ended with.
async fn scan_to_end(
    connection: &Connection,
    options: ScanOptions,
    bound: usize,
) -> (Vec<Value>, Option<Error>) {
    let mut scan = connection
        .records()
        .scan_with(Query::new().limit(10), options)
        .take(bound);
    let mut records = Vec::new();
    let run = async {
        while let Some(item) = scan.next().await {
            match item {
                Ok(record) => records.push(record),
                Err(error) => return Some(error),
            }
        }
        None
    };
    let error = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the scan ended in bounded time");
    (records, error)
}

fn ids(range: std::ops::Range<u64>) -> Vec<Value> {
    range.map(|id| json!({"id": id})).collect()
}

#[tokio::test]
async fn a_page_longer_than_asked_for_ends_a_list_and_a_scan_with_an_error() {
    let server = serve(|offset| ids(offset..offset + 11)).await;
    let connection = connect(&server);
    let err = connection
        .records()
        .list(&Query::new().limit(10))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("11 records to a page of at most 10"),
        "{err}"
    );
    let (records, error) = scan_to_end(&connection, ScanOptions::default(), 1_000).await;
    assert!(records.is_empty(), "nothing of such a page is yielded");
    let error = error.expect("an error");
    assert!(error.to_string().contains("more than asked for"), "{error}");
}

#[tokio::test]
async fn the_same_page_at_every_offset_ends_the_scan_after_yielding_it_once() {
    let server = serve(|_| ids(1..11)).await;
    for depth in [0, 6] {
        let options = ScanOptions::default().pipeline_depth(depth);
        let (records, error) = scan_to_end(&connect(&server), options, 100_000).await;
        assert_eq!(
            records,
            ids(1..11),
            "depth {depth}: the page once, no duplicate"
        );
        let error = error.expect("an error");
        assert!(
            error
                .to_string()
                .contains("same records at offset 10 as at offset 0"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_consistent_scan_whose_ids_never_move_on_ends_with_an_error() {
    // Every page holds ids 1..=10 with a field that changes, so no two pages are the same.
    let server = serve(|offset| {
        (1..=10)
            .map(|id| json!({"id": id, "seen_at": offset}))
            .collect()
    })
    .await;
    let options = ScanOptions::default().mode(ScanMode::Consistent);
    let (records, error) = scan_to_end(&connect(&server), options, 100_000).await;
    assert_eq!(records.len(), 10, "the first page, once");
    let error = error.expect("an error");
    assert!(
        error.to_string().contains("brought no record past id 10"),
        "{error}"
    );
}

#[tokio::test]
async fn endless_full_pages_stop_at_the_callers_caps() {
    // Every page is new and full, and no total is sent: only a cap can end it.
    let server = serve(|offset| ids(offset..offset + 10)).await;
    let connection = connect(&server);
    let (records, error) =
        scan_to_end(&connection, ScanOptions::default().max_pages(5), 100_000).await;
    assert_eq!(records.len(), 50, "five pages");
    let error = error.expect("an error");
    assert!(error.to_string().contains("cap of 5 pages"), "{error}");

    let (records, error) =
        scan_to_end(&connection, ScanOptions::default().max_records(25), 100_000).await;
    assert_eq!(records, ids(0..25));
    let error = error.expect("an error");
    assert!(error.to_string().contains("cap of 25 records"), "{error}");

    // A scan that ends within its caps ends normally.
    let short = serve(|offset| if offset == 0 { ids(0..7) } else { Vec::new() }).await;
    let (records, error) =
        scan_to_end(&connect(&short), ScanOptions::default().max_records(7), 100).await;
    assert_eq!(records.len(), 7);
    assert!(error.is_none(), "{error:?}");
}
