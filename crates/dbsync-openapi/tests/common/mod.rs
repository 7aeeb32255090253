//! A sandbox whose every response is checked against docs/openapi.yaml, mismatches collected.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use dbsync_openapi::sandbox::{check, workspace_checker};
use dbsync_sandbox::{Sandbox, SandboxAuth};

pub const TOKEN: &str = "conformance-token";

pub type Mismatches = Arc<Mutex<Vec<String>>>;

pub async fn recorded() -> (Sandbox, Mismatches) {
    let checker = workspace_checker().unwrap();
    let mismatches = Arc::new(Mutex::new(Vec::new()));
    let seen = mismatches.clone();
    let sandbox = Sandbox::builder()
        .auth(SandboxAuth::Bearer {
            token: TOKEN.into(),
        })
        .seed_records(3)
        .observe_responses(move |r| {
            if let Err(m) = check(&checker, r) {
                seen.lock().unwrap().push(m.to_string());
            }
        })
        .start()
        .await
        .unwrap();
    (sandbox, mismatches)
}
