//! Bearer: `Authorization: Bearer <token>`, for tokens and API keys, rotated at run time.
//!
//! ```sh
//! cargo run --example auth_bearer
//! ```
//!
//! Starts the sandbox in-process in bearer mode, connects with the token, reads, then rotates
//! the token on the live connection (as after an API key was regenerated): a wrong one is
//! refused with `Error::Unauthorized`, the right one works again, without rebuilding anything.
//! `main` is a thin wrapper over [`run`], which the end-to-end tests call.

use std::error::Error as StdError;
use std::process::ExitCode;

use dbsync::auth::BearerAuth;
use dbsync::client::{Connection, Error, Query};
use dbsync::sandbox::{Sandbox, SandboxAuth};

/// Any error of the walk.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Connects to `base_url` with `token`, reads, and rotates the token at run time.
pub async fn run(base_url: &str, token: &str) -> Result<(), BoxError> {
    let auth = BearerAuth::new(token);
    // Clones share the token: keep one to rotate it later.
    let handle = auth.clone();
    let connection = Connection::builder()
        .base_url(base_url)
        .auth(auth)
        .build()?;

    println!("== Bearer token");
    let report = connection.validate().await?;
    println!(
        "   validated: {} -> HTTP {} (auth `{}`)",
        report.checked, report.status, report.auth_scheme
    );
    let records = connection.records();
    let page = records.list(&Query::new().limit(3)).await?;
    println!("   read {} records", page.data.len());

    println!("== Rotate to a token the server does not know (e.g. a revoked key)");
    handle.rotate("revoked-token");
    match records.list(&Query::new().limit(1)).await {
        Err(Error::Unauthorized { .. }) => println!("   refused as expected: 401 Unauthorized"),
        Err(other) => return Err(other.into()),
        Ok(_) => return Err("the server accepted an unknown token".into()),
    }

    println!("== Rotate back to the valid token: same connection, no rebuild");
    handle.rotate(token);
    let page = records.list(&Query::new().limit(3)).await?;
    println!("   read {} records again", page.data.len());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let walk = async {
        let token = format!("demo-{:032x}", rand::random::<u128>());
        let sandbox = Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: token.clone(),
            })
            .seed_records(25)
            .start()
            .await?;
        println!(
            "Sandbox (bearer auth, generated token) at {}",
            sandbox.base_url()
        );
        let outcome = run(sandbox.base_url(), &token).await;
        sandbox.shutdown().await;
        outcome
    };
    match walk.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "auth_bearer failed: {}",
                error.to_string().replace('\n', " ")
            );
            ExitCode::FAILURE
        }
    }
}
