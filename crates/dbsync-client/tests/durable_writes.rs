//! Durable bulk writes against the sandbox's faults: records from a stream, a failures journal
//! written as the run goes, and resends of it that store the rest, each record exactly once.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dbsync_client::{
    BatchOptions, Connection, Journal, JournalEntry, JournalLine, JournalOutcome, Query,
    ResendOptions, ResendOutcome, RetryPolicy, WriteOutcome,
};
use dbsync_sandbox::{Faults, Sandbox};
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};

const RECORDS: u64 = 1_000;

fn connection(sandbox: &Sandbox, retry: RetryPolicy) -> Connection {
    Connection::builder()
        .base_url(sandbox.base_url())
        .retry(retry)
        .build()
        .unwrap()
}

/// Many retries with tiny waits: every fault is retried away (safe: creates carry keys).
fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(60)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
}

/// The journal's text as lines to resend.
fn journal_lines(text: &[u8]) -> Vec<Result<JournalLine, std::convert::Infallible>> {
    String::from_utf8_lossy(text)
        .lines()
        .enumerate()
        .map(|(n, line)| {
            Ok(JournalLine::new(
                n as u64 + 1,
                serde_json::from_str(line).unwrap(),
            ))
        })
        .collect()
}

/// Resends `journal`, returning the new journal's text and how many records were saved.
async fn resend(records: &dbsync_client::Resource<Value>, journal: &[u8]) -> (Vec<u8>, usize) {
    let mut again = Journal::new(Vec::new());
    let mut saved = 0;
    records
        .resend(
            journal_lines(journal),
            &ResendOptions::default(),
            |outcome| {
                match outcome {
                    ResendOutcome::Saved { .. } => saved += 1,
                    ResendOutcome::Failed { entry, .. } => again.write(&entry).unwrap(),
                    other => panic!("unexpected outcome {other:?}"),
                }
                Ok::<(), std::convert::Infallible>(())
            },
        )
        .await
        .unwrap();
    (again.into_inner().unwrap(), saved)
}

async fn stored_numbers(records: &dbsync_client::Resource<Value>) -> Vec<u64> {
    let stored: Vec<Value> = records
        .stream(Query::new().limit(1_000))
        .try_collect()
        .await
        .unwrap();
    stored.iter().map(|r| r["n"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_under_faults_then_resends_store_each_record_exactly_once() {
    let faults = Faults {
        seed: 20_261_201,
        error_rate: 0.1,
        every_nth_429: Some(7),
        retry_after_secs: 0,
        drop_rate: 0.03,
        truncate_rate: 0.03,
        lost_response_rate: 0.15,
        ..Faults::default()
    };
    let sandbox = common::checked(Sandbox::builder().faults(faults))
        .start()
        .await
        .unwrap();
    // No retries: every fault leaves its records rejected or unknown.
    let records = connection(&sandbox, RetryPolicy::none())
        .resource::<Value>("notes")
        .unwrap();
    let input = futures::stream::iter((0..RECORDS).map(|n| json!({"n": n})));
    let options = BatchOptions::default().chunk_size(10).concurrency(4);

    let mut journal = Journal::new(Vec::new());
    let mut saved = BTreeSet::new();
    let mut not_saved = BTreeSet::new();
    let (mut rejected, mut unknown, mut with_request) = (0, 0, 0);
    let mut outcomes = records.create_stream(input, &options);
    let mut expected_index = 0;
    while let Some(outcome) = outcomes.next().await {
        assert_eq!(
            outcome.index(),
            expected_index,
            "outcomes come in input order"
        );
        expected_index += 1;
        match &outcome {
            WriteOutcome::Saved { index, record, .. } => {
                assert_eq!(record["n"], *index, "the saved record is this input's");
                saved.insert(*index);
            }
            WriteOutcome::Rejected { index, input, .. } => {
                assert_eq!(input["n"], *index);
                rejected += 1;
                not_saved.insert(*index);
            }
            WriteOutcome::Unknown {
                index,
                input,
                request,
                ..
            } => {
                assert_eq!(input["n"], *index);
                unknown += 1;
                with_request += usize::from(request.is_some());
                not_saved.insert(*index);
            }
            other => panic!("unexpected outcome {other:?}"),
        }
        if let Some(entry) = JournalEntry::from_outcome(outcome.index() + 1, &outcome) {
            journal.write(&entry).unwrap();
        }
    }
    assert_eq!(expected_index, RECORDS, "one outcome per input record");
    eprintln!(
        "{} saved, {rejected} rejected, {unknown} unknown ({with_request} with their request)",
        saved.len()
    );
    assert!(
        rejected > 0 && unknown > 0 && with_request > 0,
        "the faults did happen"
    );

    // The journal lists exactly the records not reported saved.
    let journal = journal.into_inner().unwrap();
    let entries: Vec<JournalEntry> = String::from_utf8_lossy(&journal)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let listed: BTreeSet<u64> = entries.iter().map(|e| e.line - 1).collect();
    assert_eq!(listed, not_saved);
    assert_eq!(entries.len(), not_saved.len(), "each once");
    for entry in &entries {
        assert_eq!(entry.record["n"], entry.line - 1);
        if entry.idempotency_key.is_some() {
            assert_eq!(entry.outcome, JournalOutcome::Unknown);
            assert!(entry.key_sent_at.is_some() && entry.request_size.is_some());
        }
    }
    // Nothing was stored twice, and every saved record is stored.
    let stored = stored_numbers(&records).await;
    let distinct: HashSet<u64> = stored.iter().copied().collect();
    assert_eq!(distinct.len(), stored.len(), "a record was stored twice");
    assert!(saved.iter().all(|n| distinct.contains(n)));

    // A resend of the journal, now with retries, stores the rest: each record exactly once.
    let records = connection(&sandbox, patient())
        .resource::<Value>("notes")
        .unwrap();
    let (second_journal, _) = resend(&records, &journal).await;
    assert!(
        second_journal.is_empty(),
        "still failing: {}",
        String::from_utf8_lossy(&second_journal)
    );
    let stored = stored_numbers(&records).await;
    assert_eq!(
        stored.len() as u64,
        RECORDS,
        "each record stored exactly once"
    );
    let distinct: BTreeSet<u64> = stored.into_iter().collect();
    assert_eq!(distinct, (0..RECORDS).collect::<BTreeSet<_>>());

    // A second resend (of the new, empty journal) stores nothing new; neither does sending the
    // lost requests of the first journal again: the server replays them.
    let (_, saved_again) = resend(&records, &second_journal).await;
    assert_eq!(saved_again, 0);
    let keyed: Vec<u8> = String::from_utf8_lossy(&journal)
        .lines()
        .filter(|line| line.contains("\"idempotency_key\":\"dbsync-"))
        .flat_map(|line| format!("{line}\n").into_bytes())
        .collect();
    assert!(!keyed.is_empty());
    let (third_journal, replayed) = resend(&records, &keyed).await;
    assert!(third_journal.is_empty());
    assert!(replayed > 0);
    assert_eq!(
        sandbox.record_count("notes") as u64,
        RECORDS,
        "nothing created twice"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_stream_is_read_only_as_fast_as_requests_can_carry_it() {
    let sandbox = common::checked(Sandbox::builder()).start().await.unwrap();
    let records = connection(&sandbox, RetryPolicy::default())
        .resource::<Value>("notes")
        .unwrap();
    let taken = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&taken);
    // An endless input: only what the requests in flight can carry is ever taken from it.
    let endless = futures::stream::iter(0..).map(move |n: u64| {
        counter.fetch_add(1, Ordering::SeqCst);
        json!({"n": n})
    });
    let options = BatchOptions::default().chunk_size(20).concurrency(3);
    let mut outcomes = records.create_stream(endless, &options);
    for expected in 0..50 {
        let outcome = outcomes.next().await.unwrap();
        assert_eq!(outcome.index(), expected);
        assert!(matches!(outcome, WriteOutcome::Saved { .. }), "{outcome:?}");
    }
    drop(outcomes);
    let taken = taken.load(Ordering::SeqCst);
    // 50 yielded: at most the requests in flight plus the one being filled were read ahead.
    assert!(
        taken <= 60 + 3 * 20 + 20,
        "read {taken} records ahead of need"
    );
    assert!(sandbox.record_count("notes") as u64 <= taken);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn records_failing_the_pre_flight_check_are_rejected_without_a_request() {
    let sandbox = common::checked(Sandbox::builder()).start().await.unwrap();
    let records = connection(&sandbox, RetryPolicy::default()).records();
    let schema = records.schema().await.unwrap();
    let records = records.with_schema(schema);
    let before = sandbox.request_log().len();
    let input = futures::stream::iter(vec![
        json!({"email": "a@example.com", "first_name": "A", "last_name": "B", "country": "GB", "active": true}),
        json!({"email": 5}),
    ]);
    let outcomes: Vec<_> = records
        .create_stream(input, &BatchOptions::default())
        .collect()
        .await;
    assert!(
        matches!(outcomes[0], WriteOutcome::Saved { .. }),
        "{:?}",
        outcomes[0]
    );
    match &outcomes[1] {
        WriteOutcome::Rejected {
            index,
            input,
            error,
            ..
        } => {
            assert_eq!(*index, 1);
            assert_eq!(input["email"], 5);
            assert!(
                matches!(error, dbsync_client::Error::Validation { .. }),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sandbox.record_count("records"), 1);
    // A chunk of nothing but bad records sends nothing.
    let bad = futures::stream::iter(vec![json!({"email": 5}), json!({"email": 6})]);
    let outcomes: Vec<_> = records
        .create_stream(bad, &BatchOptions::default().chunk_size(2))
        .collect()
        .await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, WriteOutcome::Rejected { .. }))
    );
    assert_eq!(
        sandbox.request_log().len(),
        before + 1,
        "one request, for the good record"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn records_a_batch_answer_leaves_out_keep_their_request_so_it_can_be_sent_again() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
        .expect(1)
        .mount(&server)
        .await;
    let records = Connection::builder()
        .base_url(server.uri())
        .build()
        .unwrap()
        .records();
    let input = futures::stream::iter(vec![json!({"n": 0}), json!({"n": 1})]);
    let outcomes: Vec<_> = records
        .create_stream(input, &BatchOptions::default())
        .collect()
        .await;
    let mut keys = HashSet::new();
    for (position, outcome) in outcomes.iter().enumerate() {
        match outcome {
            WriteOutcome::Unknown {
                request: Some(request),
                ..
            } => {
                assert_eq!((request.position, request.size), (position, 2));
                keys.insert(request.idempotency_key.clone());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(keys.len(), 1, "one request, one key");
}

#[tokio::test]
async fn a_journal_that_cannot_be_read_to_its_end_still_gives_every_line_read_an_outcome() {
    // Nothing is sent: the read error comes before the end of the journal.
    let records = Connection::builder()
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap()
        .records();
    let sent_at = dbsync_client::contract::timestamp::format_seconds(std::time::SystemTime::now());
    let lines = vec![
        Ok(JournalLine::new(
            1,
            json!({"line": 4, "record": {"n": 4}, "error": {"message": "refused"}, "outcome": "not_saved"}),
        )),
        Ok(JournalLine::new(
            2,
            json!({"line": 7, "record": {"n": 7}, "error": {"message": "lost"}, "outcome": "unknown",
                   "idempotency_key": "k-1", "key_sent_at": sent_at, "request_position": 0, "request_size": 2}),
        )),
        Ok(JournalLine::unreadable(3, "not a JSON document", "{oops")),
        Err("the disk went away"),
    ];
    let mut outcomes = Vec::new();
    let result = records
        .resend(lines, &ResendOptions::default(), |outcome| {
            outcomes.push(outcome);
            Ok(())
        })
        .await;
    assert_eq!(result.unwrap_err(), "the disk went away");
    let entries: Vec<&JournalEntry> = outcomes
        .iter()
        .map(|outcome| match outcome {
            ResendOutcome::Failed { entry, .. } => entry,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        entries.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(entries[0].outcome, JournalOutcome::NotSaved);
    assert!(entries[0].message().unwrap().contains("could not be read"));
    // The lost request's line keeps its key and place, for a resend of the whole file.
    assert_eq!(entries[1].outcome, JournalOutcome::Unknown);
    assert_eq!(entries[1].idempotency_key.as_deref(), Some("k-1"));
    assert_eq!(entries[1].request_position, Some(0));
    assert!(entries[1].message().unwrap().contains("could not be read"));
    assert_eq!(entries[2].outcome, JournalOutcome::Unknown);
}
