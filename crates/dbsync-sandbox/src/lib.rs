//! dbsync-sandbox (being built).
#![deny(missing_docs)]

// Wired into the server once the core (router, state, auth middleware) lands.
#[allow(dead_code)]
mod api_keys;
#[allow(dead_code)]
mod error;
#[allow(dead_code)]
mod oauth;
#[allow(dead_code)]
mod ops_util;
#[allow(dead_code)]
mod workflows;
