//! `SandboxBuilder::observe_responses`: every response whose body was sent whole, as sent; none
//! cut by an injected fault.

use std::sync::{Arc, Mutex};

use dbsync_sandbox::{Faults, ObservedResponse, Sandbox, SandboxBuilder};

type Seen = Arc<Mutex<Vec<ObservedResponse>>>;

/// A client that leaves bodies as sent (this package's tests build reqwest with `gzip`).
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder().no_gzip().build().unwrap()
}

async fn observed(builder: SandboxBuilder) -> (Sandbox, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let sandbox = builder
        .observe_responses(move |r| sink.lock().unwrap().push(r.clone()))
        .start()
        .await
        .unwrap();
    (sandbox, seen)
}

#[tokio::test]
async fn each_response_is_observed_as_the_client_got_it() {
    let (sandbox, seen) = observed(Sandbox::builder().seed_records(3)).await;
    let client = raw_client();
    let url = format!("{}/v1/records?limit=2", sandbox.base_url());
    let body = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let deleted = client
        .delete(format!("{}/v1/records/1", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (
            seen[0].method.as_str(),
            seen[0].path.as_str(),
            seen[0].status
        ),
        ("GET", "/v1/records?limit=2", 200)
    );
    assert_eq!(seen[0].body, body);
    assert_eq!(seen[0].headers["content-type"], "application/json");
    assert_eq!((seen[1].status, seen[1].body.len()), (204, 0));
}

#[tokio::test]
async fn a_gzip_body_is_observed_encoded() {
    let (sandbox, seen) = observed(Sandbox::builder().seed_records(50)).await;
    let response = raw_client()
        .get(format!("{}/v1/records", sandbox.base_url()))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    let sent = response.bytes().await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].headers["content-encoding"], "gzip");
    assert_eq!(seen[0].body, sent);
    assert_eq!(&seen[0].body[..2], &[0x1f, 0x8b]);
}

#[tokio::test]
async fn a_response_cut_by_a_fault_is_not_observed() {
    let faults = Faults {
        truncate_rate: 1.0,
        ..Faults::default()
    };
    let (sandbox, seen) = observed(Sandbox::builder().faults(faults)).await;
    let result = reqwest::Client::new()
        .get(format!("{}/v1/records", sandbox.base_url()))
        .send()
        .await;
    let failed = match result {
        Ok(response) => response.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(failed, "the fault cuts the body");
    assert!(seen.lock().unwrap().is_empty());
}
