//! Proof that concurrent batch creates lose nothing and duplicate nothing under the sandbox's
//! fault injection: 20% `500`s, every 10th request `429`, dropped connections, truncated
//! bodies and 10% of responses lost after the server acted (fixed seed).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dbsync_client::{BatchOptions, Connection, Query, RetryPolicy};
use dbsync_sandbox::{Fault, Faults, Sandbox};
use futures::TryStreamExt as _;
use serde_json::{Value, json};

const RECORDS: usize = 5_000;

fn faults() -> Faults {
    Faults {
        seed: 20_261_127,
        error_rate: 0.2,
        every_nth_429: Some(10),
        retry_after_secs: 0,
        drop_rate: 0.03,
        truncate_rate: 0.03,
        lost_response_rate: 0.1,
        ..Faults::default()
    }
}

/// A record of the sandbox's `records` schema, whose `email` is unique.
fn person(n: usize) -> Value {
    json!({
        "email": format!("person-{n}@example.com"),
        "first_name": "Ada",
        "last_name": format!("Number {n}"),
        "country": "GB",
        "active": n.is_multiple_of(2),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_many_of_5000_under_faults_stores_each_record_exactly_once() {
    let faults = faults();
    // The schedule really does hold every kind of fault the proof is about.
    let kinds: HashSet<String> = (1..=2_000)
        .map(|n| format!("{:?}", faults.decide(n)))
        .collect();
    for kind in [
        Fault::ServerError,
        Fault::TooManyRequests,
        Fault::Drop,
        Fault::Truncate,
        Fault::LostDrop,
        Fault::LostTruncate,
    ] {
        assert!(
            kinds.contains(&format!("{kind:?}")),
            "{kind:?} never happens"
        );
    }

    let sandbox = common::checked(Sandbox::builder().faults(faults))
        .start()
        .await
        .unwrap();
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .retry(
            RetryPolicy::default()
                .max_retries(60)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let input: Vec<Value> = (0..RECORDS).map(person).collect();
    let last_done = Arc::new(AtomicUsize::new(0));
    let seen = last_done.clone();
    let outcomes = connection
        .records()
        .create_many_with(
            &input,
            &BatchOptions::default().on_progress(move |p| seen.store(p.done, Ordering::SeqCst)),
        )
        .await;

    // Every outcome is reported created, at its own index.
    assert_eq!(outcomes.len(), RECORDS);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, i);
        let saved = match &outcome.result {
            Ok(saved) => saved,
            Err(e) => panic!("record {i} not reported created: {e}"),
        };
        assert_eq!(saved["email"], input[i]["email"]);
        assert!(saved["id"].is_string() || saved["id"].is_number());
    }
    assert_eq!(last_done.load(Ordering::SeqCst), RECORDS);

    // Exactly 5,000 stored, no duplicates, each input record once.
    assert_eq!(sandbox.record_count("records"), RECORDS);
    let stored: Vec<Value> = connection
        .records()
        .stream(Query::new().limit(1_000))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(stored.len(), RECORDS);
    let emails: HashSet<&str> = stored
        .iter()
        .map(|record| record["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), RECORDS, "duplicates were stored");
    for record in &input {
        assert!(emails.contains(record["email"].as_str().unwrap()));
    }
    let ids: HashSet<String> = stored.iter().map(|r| r["id"].to_string()).collect();
    assert_eq!(ids.len(), RECORDS);

    // The faults did happen: far more requests than the 50 batches (+ 5 pages).
    let requests = sandbox.request_log().len();
    eprintln!("{requests} requests served for 50 batches and 5 pages");
    assert!(
        requests > 70,
        "only {requests} requests: were faults injected?"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_answer_was_lost_is_sent_again_with_its_key_and_creates_nothing_twice() {
    let sandbox = common::checked(Sandbox::builder().faults(Faults::first_answer_lost()))
        .start()
        .await
        .unwrap();
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    // A resource without a schema: any object is a record.
    let records = connection.resource::<Value>("notes").unwrap();
    let input: Vec<Value> = (0..60).map(|n| json!({"n": n})).collect();

    // The request was carried out, but its answer lost: every outcome is unknown, one key.
    let first = records.create_many(&input).await;
    assert!(first.iter().all(|o| o.outcome_unknown), "{first:?}");
    let key = first[0].idempotency_key.clone().unwrap();
    assert!(
        first
            .iter()
            .all(|o| o.idempotency_key.as_ref() == Some(&key))
    );
    assert_eq!(sandbox.record_count("notes"), 60);

    // Refused before sending: an empty key, too many records, another body with the key.
    let sent = sandbox.request_log().len();
    for outcome in records.create_batch_with_key(&input, " ").await {
        assert!(matches!(
            outcome.result,
            Err(dbsync_client::Error::Config(_))
        ));
    }
    let too_many: Vec<Value> = (0..101).map(|n| json!({"n": n})).collect();
    let refused = records.create_batch_with_key(&too_many, &key).await;
    assert_eq!(refused.len(), 101);
    assert!(
        refused
            .iter()
            .all(|o| o.result.is_err() && !o.outcome_unknown)
    );
    assert_eq!(sandbox.request_log().len(), sent, "nothing was sent");

    // The same records in the same order with the key: the first answer, replayed.
    let again = records.create_batch_with_key(&input, &key).await;
    assert_eq!(again.len(), 60);
    for (n, outcome) in again.iter().enumerate() {
        assert_eq!(outcome.index, n);
        let saved = outcome.result.as_ref().unwrap();
        assert_eq!(saved["n"], n);
        assert_eq!(outcome.idempotency_key.as_ref(), Some(&key));
    }
    assert_eq!(sandbox.record_count("notes"), 60, "nothing created twice");
    // Each replayed record is the one created the first time.
    let stored: Vec<Value> = records.stream(Query::new()).try_collect().await.unwrap();
    let ids: HashSet<&Value> = stored.iter().map(|r| &r["id"]).collect();
    assert!(
        again
            .iter()
            .all(|o| ids.contains(&o.result.as_ref().unwrap()["id"]))
    );

    // Other records with that key are a conflict, and create nothing.
    let other: Vec<Value> = (0..60).map(|n| json!({"n": n + 1000})).collect();
    let conflict = records.create_batch_with_key(&other, &key).await;
    assert!(
        conflict
            .iter()
            .all(|o| o.outcome_unknown
                && matches!(o.result, Err(dbsync_client::Error::Conflict { .. }))),
        "the key is in use: what it carried is unknown to this call: {conflict:?}"
    );
    assert_eq!(sandbox.record_count("notes"), 60);

    // A key the server never saw: the records are created now, once.
    let fresh: Vec<Value> = (0..5).map(|n| json!({"n": n + 2000})).collect();
    let created = records.create_batch_with_key(&fresh, "never-sent-1").await;
    assert!(created.iter().all(|o| o.result.is_ok()));
    assert_eq!(sandbox.record_count("notes"), 65);
}
