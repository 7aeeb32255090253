//! Wiring the check into a sandbox: every response it sends is checked against the workspace's
//! `docs/openapi.yaml`, and a mismatch fails the request that got it.

use std::sync::{Arc, OnceLock};

use dbsync_sandbox::{ObservedResponse, SandboxBuilder};

use crate::conformance::{Conformance, Observed};
use crate::document::DocumentError;

static WORKSPACE: OnceLock<Arc<Conformance>> = OnceLock::new();

/// One checker for the whole test binary (the document is parsed once, schemas compiled once).
pub fn workspace_checker() -> Result<Arc<Conformance>, DocumentError> {
    if let Some(checker) = WORKSPACE.get() {
        return Ok(checker.clone());
    }
    let checker = Arc::new(Conformance::workspace()?);
    Ok(WORKSPACE.get_or_init(|| checker).clone())
}

/// The check of one observed response.
pub fn check(checker: &Conformance, response: &ObservedResponse) -> Result<(), crate::Mismatch> {
    let header = |name: &str| response.headers.get(name).and_then(|v| v.to_str().ok());
    let observed = Observed::new(
        &response.method,
        &response.path,
        response.status,
        &response.body,
    )
    .content_type(header("content-type"))
    .content_encoding(header("content-encoding"));
    checker.check(&observed)
}

/// `builder` with every response checked against `docs/openapi.yaml`. A response the document
/// does not describe panics the server task that sends it, with the mismatch as the message
/// (printed on the test's stderr): the connection drops before the body's end, so the request
/// fails, and so does the test.
pub fn check_responses(builder: SandboxBuilder) -> Result<SandboxBuilder, DocumentError> {
    let checker = workspace_checker()?;
    Ok(builder.observe_responses(move |response| {
        if let Err(mismatch) = check(&checker, response) {
            panic!("OpenAPI conformance: {mismatch}");
        }
    }))
}
