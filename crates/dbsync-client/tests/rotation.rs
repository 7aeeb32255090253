//! Rotating the API key of a running client while 8 tasks send requests continuously: no
//! request fails, the old secrets die, and no secret reaches the API log or the traces.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dbsync_auth::BearerAuth;
use dbsync_client::{ApiLogFilter, Connection, Error, Query};
use dbsync_sandbox::{Sandbox, SandboxAuth};

const ADMIN: &str = "admin-token-rotation";
const WORKERS: usize = 8;
const ROTATIONS: usize = 6;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_under_load_fails_no_request() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, so the worker tasks on other threads are traced too (this binary has one test).
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sandbox = common::checked(Sandbox::builder().auth(SandboxAuth::Bearer {
        token: ADMIN.into(),
    }))
    .start()
    .await
    .unwrap();
    let admin = Connection::builder()
        .base_url(sandbox.base_url())
        .auth(BearerAuth::new(ADMIN))
        .build()
        .unwrap();
    let key = admin.api_keys().create("worker").await.unwrap();
    let mut secrets = vec![key.key.expose().to_owned()];

    // The workers' client authenticates with the API key only; it rotates its own key.
    let auth = BearerAuth::new(key.key.clone());
    let client = Connection::builder()
        .base_url(sandbox.base_url())
        .auth(auth.clone())
        .api_log_capacity(100_000)
        .build()
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let done: Arc<Vec<AtomicU64>> = Arc::new((0..WORKERS).map(|_| AtomicU64::new(0)).collect());
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let (client, stop, done, failures) =
            (client.clone(), stop.clone(), done.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let records = client.records();
            while !stop.load(Ordering::SeqCst) {
                match records.list(&Query::new().limit(1)).await {
                    Ok(_) => {}
                    Err(error) => failures.lock().unwrap().push(error.to_string()),
                }
                done[worker].fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    let progress = |done: &[AtomicU64]| -> Vec<u64> {
        done.iter().map(|d| d.load(Ordering::SeqCst)).collect()
    };
    // Every worker finishes two more requests: anything sent with an older key has ended.
    let settle = |since: Vec<u64>| {
        let done = done.clone();
        async move {
            while progress(&done)
                .iter()
                .zip(&since)
                .any(|(now, then)| *now < then + 2)
            {
                tokio::task::yield_now().await;
            }
        }
    };
    settle(progress(&done)).await;
    for _ in 0..ROTATIONS {
        let rotated = dbsync_client::rotate_api_key(&client, &key.id, &auth)
            .await
            .unwrap();
        secrets.push(rotated.key.expose().to_owned());
        settle(progress(&done)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }

    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} requests failed: {failures:?}",
        failures.len()
    );
    let total: u64 = progress(&done).iter().sum();
    assert!(total >= (WORKERS * 2 * (ROTATIONS + 1)) as u64, "{total}");

    // Every old secret is dead; the current one works.
    for old in &secrets[..ROTATIONS] {
        let stale = Connection::builder()
            .base_url(sandbox.base_url())
            .auth(BearerAuth::new(old.as_str()))
            .build()
            .unwrap();
        let err = stale.records().list(&Query::new()).await.unwrap_err();
        assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    }
    client.records().list(&Query::new()).await.unwrap();

    // The log shows the refusals that were bridged (if any raced), never a secret.
    let log = client.api_log().unwrap();
    let refused = log.query(&ApiLogFilter::new().status(401)).len();
    let rotations = log.query(&ApiLogFilter::new().endpoint("/v1/api-keys/{id}/regenerate"));
    assert_eq!(rotations.len(), ROTATIONS);
    let mut exported = Vec::new();
    log.export_json_lines(&ApiLogFilter::new(), &mut exported)
        .unwrap();
    log.export_csv(&ApiLogFilter::new(), &mut exported).unwrap();
    let exported = String::from_utf8(exported).unwrap();
    let traces = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        traces.contains("endpoint=/v1/api-keys/{id}/regenerate"),
        "no attempt events"
    );
    for secret in secrets.iter().map(String::as_str).chain([ADMIN]) {
        assert!(
            !exported.contains(secret),
            "a secret is in the API log export"
        );
        assert!(!traces.contains(secret), "a secret is in the traces");
    }
    println!("{total} requests, {refused} refused with a just-rotated key and retried");
}
