//! BasicAuth: `Authorization: Basic base64(username:password)` (RFC 7617).
//!
//! ```sh
//! cargo run --example auth_basic
//! ```
//!
//! Starts the sandbox in-process in basic mode, connects with the right password, reads, and
//! shows that a wrong password is refused with `Error::Unauthorized`. `main` is a thin wrapper
//! over [`run`], which the end-to-end tests call.

use std::error::Error as StdError;
use std::process::ExitCode;

use dbsync::auth::BasicAuth;
use dbsync::client::{Connection, Error, Query};
use dbsync::sandbox::{Sandbox, SandboxAuth};

/// Any error of the walk.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Connects to `base_url` with `username` and `password`, reads, and checks that a wrong
/// password is refused.
pub async fn run(base_url: &str, username: &str, password: &str) -> Result<(), BoxError> {
    let auth = BasicAuth::new(username, password)?;
    // The header is a secret: Debug and Display of `auth` print `[redacted]`.
    println!("== BasicAuth for user `{username}`: {auth:?}");
    let connection = Connection::builder()
        .base_url(base_url)
        .auth(auth)
        .build()?;

    let report = connection.validate().await?;
    println!(
        "   validated: {} -> HTTP {} (auth `{}`)",
        report.checked, report.status, report.auth_scheme
    );
    let page = connection.records().list(&Query::new().limit(3)).await?;
    println!(
        "   read {} records, {} in all",
        page.data.len(),
        page.meta.and_then(|m| m.total).unwrap_or_default()
    );

    println!("== The same user with a wrong password");
    let wrong = Connection::builder()
        .base_url(base_url)
        .auth(BasicAuth::new(username, "not-the-password")?)
        .build()?;
    match wrong.records().list(&Query::new().limit(1)).await {
        Err(Error::Unauthorized { challenge, .. }) => println!(
            "   refused as expected: 401 Unauthorized (challenge: {})",
            challenge.as_deref().unwrap_or("none")
        ),
        Err(other) => return Err(other.into()),
        Ok(_) => return Err("the server accepted a wrong password".into()),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let walk = async {
        let sandbox = Sandbox::builder()
            .auth(SandboxAuth::Basic {
                username: "demo".into(),
                password: "p@55w0rd".into(),
            })
            .seed_records(25)
            .start()
            .await?;
        println!("Sandbox (basic auth, user demo) at {}", sandbox.base_url());
        let outcome = run(sandbox.base_url(), "demo", "p@55w0rd").await;
        sandbox.shutdown().await;
        outcome
    };
    match walk.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "auth_basic failed: {}",
                error.to_string().replace('\n', " ")
            );
            ExitCode::FAILURE
        }
    }
}
