//! Proof that scans lose nothing: full, resumed, partitioned, consistent and incremental scans
//! against the in-process sandbox with injected faults (20% `500`s, every 10th request a `429`,
//! dropped connections, truncated bodies, 10% responses lost after the server acted).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use dbsync_client::{
    Checkpoint, Connection, Error, IncrementalOptions, Query, Record, RetryPolicy, ScanMode,
    ScanOptions,
};
use dbsync_sandbox::{Faults, Sandbox};
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

const RECORDS: u64 = 10_000;

fn faults(seed: u64) -> Faults {
    Faults {
        seed,
        error_rate: 0.2,
        every_nth_429: Some(10),
        // An injected 429 asks for no wait, so the test stays fast on the real clock; the
        // client honours Retry-After exactly (tested in errors_and_retries.rs).
        retry_after_secs: 0,
        drop_rate: 0.02,
        truncate_rate: 0.02,
        lost_response_rate: 0.1,
        ..Faults::default()
    }
}

async fn sandbox(seed: u64) -> Sandbox {
    common::checked(
        Sandbox::builder()
            .seed_records(RECORDS)
            .faults(faults(seed)),
    )
    .start()
    .await
    .unwrap()
}

/// A connection whose retry budget survives 40% of failed requests.
fn connect(sandbox: &Sandbox) -> Connection {
    Connection::builder()
        .base_url(sandbox.base_url())
        .retry(
            RetryPolicy::default()
                .max_retries(40)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(4)),
        )
        .build()
        .unwrap()
}

fn id_of(record: &Value) -> u64 {
    record["id"]
        .as_u64()
        .expect("every record has a numeric id")
}

/// Counts how often each id was yielded.
fn tally(records: &[Value]) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for record in records {
        *counts.entry(id_of(record)).or_default() += 1;
    }
    counts
}

fn assert_each_id_once(records: &[Value], expected: impl IntoIterator<Item = u64>, what: &str) {
    let counts = tally(records);
    let repeated: Vec<u64> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    let expected: HashSet<u64> = expected.into_iter().collect();
    let missing = expected
        .iter()
        .filter(|id| !counts.contains_key(id))
        .count();
    assert!(
        repeated.is_empty() && missing == 0,
        "{what}: {missing} ids missing, {} repeated (e.g. {:?})",
        repeated.len(),
        repeated.iter().take(5).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_scan_under_faults_yields_each_id_exactly_once() {
    let sandbox = sandbox(7).await;
    let records: Vec<Value> = connect(&sandbox)
        .records()
        .stream(Query::new().limit(100))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(records.len() as u64, RECORDS);
    assert_each_id_once(&records, 1..=RECORDS, "full scan");
    // The ids come in list order.
    assert!(records.windows(2).all(|w| id_of(&w[0]) < id_of(&w[1])));
    // The faults did happen: 100 pages took many more requests, some refused.
    let log = sandbox.request_log();
    let refused = |status| log.iter().filter(|e| e.status == status).count();
    assert!(
        log.len() > 130 && refused(500) > 10 && refused(429) > 5,
        "{} requests",
        log.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_stopped_halfway_and_resumed_from_its_checkpoint_yields_each_id_once() {
    let sandbox = sandbox(8).await;
    let records = connect(&sandbox).records();
    let mut first = records.scan(Query::new().limit(100));
    let mut seen = Vec::new();
    while seen.len() < 5_037 {
        seen.push(first.next().await.unwrap().unwrap());
    }
    // The checkpoint goes through JSON, as it would to a file; the scan is dropped.
    let saved = serde_json::to_string(&first.checkpoint()).unwrap();
    drop(first);
    let checkpoint: Checkpoint = serde_json::from_str(&saved).unwrap();
    assert_eq!(checkpoint.offset(), 5_037);
    let rest: Vec<Value> = records
        .resume(&checkpoint)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    seen.extend(rest);
    assert_eq!(seen.len() as u64, RECORDS);
    assert_each_id_once(&seen, 1..=RECORDS, "stopped and resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_partitions_scanned_by_four_tasks_yield_each_id_once() {
    let sandbox = sandbox(9).await;
    let records = connect(&sandbox).records();
    let partitions = records
        .partitions(Query::new().limit(250), 4)
        .await
        .unwrap();
    assert_eq!(partitions.len(), 4);
    let mut tasks = Vec::new();
    for partition in partitions {
        // Each partition travels as JSON, as it would to another process.
        let wire = serde_json::to_string(&partition).unwrap();
        let records = records.clone();
        tasks.push(tokio::spawn(async move {
            let partition = serde_json::from_str(&wire).unwrap();
            let scan = records.scan_partition(&partition).unwrap();
            scan.try_collect::<Vec<Value>>().await.unwrap()
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let part = task.await.unwrap();
        assert_eq!(part.len() as u64, RECORDS / 4);
        all.extend(part);
    }
    assert_each_id_once(&all, 1..=RECORDS, "four partitions");
}

/// What the mutating task does on each tick: delete two records, insert five.
async fn mutate(
    connection: Connection,
    mut ticks: mpsc::Receiver<oneshot::Sender<()>>,
    doomed: Vec<u64>,
) {
    let records = connection.records();
    let mut doomed = doomed.into_iter();
    let mut inserted = 0u32;
    while let Some(ack) = ticks.recv().await {
        for id in doomed.by_ref().take(2) {
            match records.delete(id).await {
                // A lost response to a delete makes its retry a 404: the record is gone.
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(error) => panic!("delete {id}: {error}"),
            }
        }
        for _ in 0..5 {
            inserted += 1;
            let record = json!({"email": format!("new{inserted}@example.com"),
                "first_name": "New", "last_name": "Record", "country": "US", "active": true});
            records.create(&record).await.unwrap();
        }
        let _ = ack.send(());
    }
}

/// 200 distinct ids spread over the whole list (some behind the scan, some ahead).
fn doomed_ids() -> Vec<u64> {
    let mut ids = Vec::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    while ids.len() < 200 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let id = 1 + (state >> 33) % RECORDS;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Scans while another task deletes 200 records and inserts 500 (one tick of 2 + 5 every 100
/// records read); returns what the scan yielded.
async fn scan_during_changes(mode: ScanMode, seed: u64) -> Vec<Value> {
    let sandbox = sandbox(seed).await;
    let connection = connect(&sandbox);
    let (tick, ticks) = mpsc::channel(1);
    let mutator = tokio::spawn(mutate(connection.clone(), ticks, doomed_ids()));
    let options = ScanOptions::default().mode(mode);
    let mut scan = connection
        .records()
        .scan_with(Query::new().limit(100), options);
    let mut seen = Vec::new();
    let mut ticks_sent = 0;
    while let Some(record) = scan.next().await {
        seen.push(record.unwrap());
        if seen.len() % 100 == 0 && ticks_sent < 100 {
            let (ack, acked) = oneshot::channel();
            tick.send(ack).await.unwrap();
            acked.await.unwrap();
            ticks_sent += 1;
        }
    }
    assert_eq!(
        ticks_sent, 100,
        "every delete and insert happened during the scan"
    );
    assert!(scan.total_moved(), "the scan noticed meta.total moving");
    drop(tick);
    mutator.await.unwrap();
    assert_eq!(sandbox.record_count("records") as u64, RECORDS - 200 + 500);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consistent_scan_during_deletes_and_inserts_yields_every_lasting_record_once() {
    let doomed: HashSet<u64> = doomed_ids().into_iter().collect();
    let lasting: Vec<u64> = (1..=RECORDS).filter(|id| !doomed.contains(id)).collect();

    let plain = scan_during_changes(ScanMode::Plain, 11).await;
    let plain_counts = tally(&plain);
    let plain_missed = lasting
        .iter()
        .filter(|id| !plain_counts.contains_key(id))
        .count();
    let plain_repeated = plain_counts.values().filter(|n| **n > 1).count();

    let consistent = scan_during_changes(ScanMode::Consistent, 11).await;
    let counts = tally(&consistent);
    let missed = lasting.iter().filter(|id| !counts.contains_key(id)).count();
    let repeated = counts.values().filter(|n| **n > 1).count();
    let report = format!(
        "consistent scan: missed {missed}, repeated {repeated}, yielded {}; plain scan: missed \
         {plain_missed}, repeated {plain_repeated}, yielded {}",
        consistent.len(),
        plain.len()
    );
    println!("{report}");
    assert_eq!((missed, repeated), (0, 0), "{report}");
    assert!(
        plain_missed > 0,
        "the plain scan should show the problem: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistent_partitions_during_deletes_yield_every_lasting_record_once() {
    let sandbox = sandbox(12).await;
    let connection = connect(&sandbox);
    let records = connection.records();
    let partitions = records
        .partitions_with(Query::new().limit(100), 4, ScanMode::Consistent)
        .await
        .unwrap();
    // Delete 100 records spread over the list before any partition is read: every boundary
    // offset is now wrong, the boundary ids are not.
    let doomed: Vec<u64> = (1..=100).map(|i| i * 97).collect();
    for id in &doomed {
        match records.delete(*id).await {
            Ok(()) | Err(Error::NotFound { .. }) => {}
            Err(error) => panic!("{error}"),
        }
    }
    let mut all = Vec::new();
    for partition in &partitions {
        let part: Vec<Value> = records
            .scan_partition(partition)
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        all.extend(part);
    }
    let lasting = (1..=RECORDS).filter(|id| !doomed.contains(id));
    assert_each_id_once(&all, lasting, "consistent partitions");
    assert_eq!(all.len() as u64, RECORDS - 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_partition_is_the_same_as_that_partition_of_all_of_them_in_three_requests() {
    let sandbox = common::checked(Sandbox::builder().seed_records(1_003))
        .start()
        .await
        .unwrap();
    let connection = connect(&sandbox);
    let records = connection.records();
    let query = Query::new().limit(100);
    for mode in [ScanMode::Plain, ScanMode::Consistent] {
        let all = records
            .partitions_with(query.clone(), 7, mode)
            .await
            .unwrap();
        for (index, expected) in all.iter().enumerate() {
            let before = connection.api_log().unwrap().entries().len();
            let one = records
                .partition_with(query.clone(), index, 7, mode)
                .await
                .unwrap();
            let requests = connection.api_log().unwrap().entries().len() - before;
            assert_eq!(&one, expected, "{mode:?} {index}");
            let most = if mode == ScanMode::Plain { 1 } else { 3 };
            assert!(requests <= most, "{mode:?} {index}: {requests} requests");
        }
    }
    let error = records
        .partition_with(query, 7, 7, ScanMode::Consistent)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("partition 7 of 7 does not exist"),
        "{error}"
    );
    // A huge N is refused before anything is allocated for it.
    for n in [dbsync_client::MAX_PARTITIONS + 1, usize::MAX] {
        let error = records
            .partition_with(Query::new(), 0, n, ScanMode::Plain)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("at most 1000000"), "{error}");
        let error = records
            .partitions_with(Query::new(), n, ScanMode::Plain)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("at most 1000000"), "{error}");
    }
    let error = records
        .partition_with(Query::new(), 0, 0, ScanMode::Plain)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("0 partitions"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_scan_in_windows_yields_exactly_the_changed_records_and_a_watermark() {
    let sandbox = common::checked(Sandbox::builder().seed_records(2_000))
        .start()
        .await
        .unwrap();
    let records = connect(&sandbox).records();
    let all: Vec<Value> = records
        .stream(Query::new().limit(1000))
        .try_collect()
        .await
        .unwrap();
    let (since, until) = ("2024-01-10T00:00:00Z", "2024-01-20T00:00:00Z");
    let expected: HashSet<u64> = all
        .iter()
        .filter(|r| {
            let at = r["updated_at"].as_str().unwrap();
            // Same-format UTC timestamps compare as text.
            (since..until).contains(&at)
        })
        .map(id_of)
        .collect();
    assert!(expected.len() > 100, "the window holds records");
    let options = IncrementalOptions::default()
        .window(Duration::from_secs(2 * 24 * 3600))
        .until(until);
    let mut changes = records
        .changes_since(Query::new().limit(50), Some(since.into()), options)
        .unwrap();
    let mut got = Vec::new();
    let mut watermarks = Vec::new();
    while let Some(record) = changes.try_next().await.unwrap() {
        got.push(record);
        watermarks.push(changes.watermark().unwrap());
    }
    assert_each_id_once(&got, expected.iter().copied(), "incremental");
    assert_eq!(got.len(), expected.len());
    assert_eq!(changes.watermark().as_deref(), Some(until));
    // The watermark advanced slice by slice (2-day windows).
    assert!(watermarks.iter().any(|w| w == "2024-01-12T00:00:00Z"));

    // The next run from the stored watermark sees only what changed since.
    let changed = records
        .update(5, &json!({"first_name": "Changed"}))
        .await
        .unwrap();
    let options = IncrementalOptions::default().settle(Duration::ZERO);
    let next: Vec<Value> = records
        .changes_since(Query::new(), Some(until.into()), options)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<u64> = next.iter().map(id_of).collect();
    assert!(ids.contains(&5), "{changed}");
    assert!(
        next.iter()
            .all(|r| r["updated_at"].as_str().unwrap() >= until)
    );
}

#[tokio::test]
async fn a_checkpoint_is_refused_by_another_resource_and_a_bad_query_fails_the_scan() {
    let sandbox = common::checked(Sandbox::builder().seed_records(10))
        .start()
        .await
        .unwrap();
    let connection = connect(&sandbox);
    let scan = connection.records().scan(Query::new().limit(3));
    let checkpoint = scan.checkpoint();
    let other = connection.resource::<Record>("contacts").unwrap();
    let err = other.resume(&checkpoint).unwrap_err();
    assert!(err.to_string().contains("resource `records`"), "{err}");
    let results: Vec<_> = connection
        .records()
        .scan(Query::new().limit(0))
        .collect()
        .await;
    assert_eq!(results.len(), 1);
    assert!(matches!(results[0], Err(Error::Config(_))));
    assert!(sandbox.request_log().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_finished_scan_checkpoint_resumes_to_nothing_and_sequential_scans_work() {
    let sandbox = common::checked(Sandbox::builder().seed_records(25))
        .start()
        .await
        .unwrap();
    let records = connect(&sandbox).records();
    let mut scan = records.scan_with(Query::new().limit(10), ScanOptions::sequential());
    let mut n = 0;
    while scan.try_next().await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 25);
    assert!(scan.is_finished());
    let again: Vec<Value> = records
        .resume(&scan.checkpoint())
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(again.is_empty());
    // Three pages, no page past the total.
    assert_eq!(sandbox.request_log().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_partitions_under_faults_yield_each_record_of_the_range_once() {
    let sandbox = sandbox(13).await;
    let records = connect(&sandbox).records();
    let partitions = records
        .date_partitions(
            Query::new().limit(200),
            "2023-12-01T00:00:00Z",
            "2024-04-01T00:00:00Z",
            4,
            ScanMode::Consistent,
        )
        .unwrap();
    assert_eq!(
        partitions[1].date_range(),
        Some(("2023-12-31T12:00:00Z", "2024-01-31T00:00:00Z"))
    );
    let mut tasks = Vec::new();
    for partition in partitions {
        let records = records.clone();
        tasks.push(tokio::spawn(async move {
            let scan = records.scan_partition(&partition).unwrap();
            scan.try_collect::<Vec<Value>>().await.unwrap()
        }));
    }
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    for task in tasks {
        let part = task.await.unwrap();
        sizes.push(part.len());
        all.extend(part);
    }
    assert!(sizes.iter().filter(|n| **n > 0).count() >= 2, "{sizes:?}");
    assert_each_id_once(&all, 1..=RECORDS, "date partitions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_fails_resumes_from_its_checkpoint_until_done_with_each_id_once() {
    // No retries: every injected fault ends the scan, and the scan resumes from its checkpoint.
    let sandbox = common::checked(Sandbox::builder().seed_records(3_000).faults(Faults {
        seed: 21,
        error_rate: 0.15,
        ..Faults::default()
    }))
    .start()
    .await
    .unwrap();
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let records = connection.records();
    for mode in [ScanMode::Plain, ScanMode::Consistent] {
        let options = ScanOptions::default().mode(mode);
        let mut scan = records.scan_with(Query::new().limit(100), options);
        let (mut seen, mut failures) = (Vec::new(), 0);
        loop {
            match scan.next().await {
                Some(Ok(record)) => seen.push(record),
                Some(Err(error)) => {
                    assert_eq!(error.status(), Some(500), "{error}");
                    failures += 1;
                    let saved = serde_json::to_string(&scan.checkpoint()).unwrap();
                    let checkpoint: Checkpoint = serde_json::from_str(&saved).unwrap();
                    scan = records.resume(&checkpoint).unwrap();
                }
                None => break,
            }
        }
        assert!(
            failures > 2,
            "{mode:?}: the faults interrupted the scan ({failures})"
        );
        assert_each_id_once(&seen, 1..=3_000, "failed and resumed");
        assert_eq!(seen.len(), 3_000);
    }
}

/// The `offset` a page request asks for (0 when none).
fn offset_of(request: &wiremock::Request) -> u64 {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "offset")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// A server that serves at most 50 records per page whatever is asked, and says so.
struct CappedPages;

impl wiremock::Respond for CappedPages {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let offset = offset_of(request);
        let data: Vec<Value> = (offset..(offset + 50).min(120))
            .map(|i| json!({"id": i + 1}))
            .collect();
        wiremock::ResponseTemplate::new(200).set_body_json(
            json!({"data": data, "meta": {"limit": 50, "offset": offset, "total": 120}}),
        )
    }
}

#[tokio::test]
async fn a_server_that_caps_the_page_size_is_followed_without_gaps() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(CappedPages)
        .mount(&server)
        .await;
    let connection = Connection::builder()
        .base_url(server.uri())
        .build()
        .unwrap();
    for mode in [ScanMode::Plain, ScanMode::Consistent] {
        let options = ScanOptions::default().mode(mode);
        let all: Vec<Value> = connection
            .records()
            .scan_with(Query::new().limit(100), options)
            .try_collect()
            .await
            .unwrap();
        assert_each_id_once(&all, 1..=120, "capped pages");
        assert_eq!(all.len(), 120);
    }
}

/// A server with 120 records where record 57's `n` is text, not a number.
struct OneMisfit;

impl wiremock::Respond for OneMisfit {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let offset = offset_of(request);
        let data: Vec<Value> = (offset..(offset + 50).min(120))
            .map(|i| match i + 1 {
                57 => json!({"id": 57, "n": "fifty-seven"}),
                id => json!({"id": id, "n": id}),
            })
            .collect();
        wiremock::ResponseTemplate::new(200).set_body_json(
            json!({"data": data, "meta": {"limit": 50, "offset": offset, "total": 120}}),
        )
    }
}

#[tokio::test]
async fn a_record_that_does_not_fit_ends_the_scan_after_the_records_before_it_and_resumes_at_it() {
    #[derive(serde::Deserialize)]
    struct Numbered {
        id: u64,
        n: u64,
    }
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(OneMisfit)
        .mount(&server)
        .await;
    let connection = Connection::builder()
        .base_url(server.uri())
        .build()
        .unwrap();
    for mode in [ScanMode::Plain, ScanMode::Consistent] {
        let options = ScanOptions::default().mode(mode);
        let mut scan = connection
            .resource::<Numbered>("records")
            .unwrap()
            .scan_with(Query::new().limit(50), options);
        let mut ids = Vec::new();
        let error = loop {
            match scan.next().await {
                Some(Ok(record)) => {
                    assert_eq!(record.n, record.id);
                    ids.push(record.id);
                }
                Some(Err(error)) => break error,
                None => panic!("{mode:?}: the scan ended without the misfit's error"),
            }
        };
        // Every record before the misfit was yielded, in order, and nothing after it.
        assert_eq!(ids, (1..=56).collect::<Vec<_>>(), "{mode:?}");
        // The error names the record's place in its page (a consistent scan's pages start a
        // little earlier, at its overlap) and shows the record.
        let text = error.to_string();
        assert!(
            text.contains("does not fit the expected type") && text.contains("fifty-seven"),
            "{mode:?}: {text}"
        );
        if mode == ScanMode::Plain {
            assert!(text.contains("record 6 of the page at offset 50"), "{text}");
        }
        assert!(scan.next().await.is_none(), "{mode:?}: the scan ended");
        // The checkpoint is at the misfit: read as JSON values, the rest is all there once.
        let checkpoint = scan.checkpoint();
        assert_eq!(checkpoint.offset(), 56, "{mode:?}");
        let rest: Vec<Value> = connection
            .records()
            .resume(&checkpoint)
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_each_id_once(&rest, 57..=120, "resumed after a misfit");
        assert_eq!(rest.len(), 64, "{mode:?}");
    }
}
