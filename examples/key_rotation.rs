//! API keys: create a key, use it, rotate it while the client keeps working (the old secret
//! dies at once; the client switches to the new one), then revoke it.
//!
//! Runs with no setup: without `DBSYNC_API_URL` it starts the local sandbox in-process (in
//! bearer mode); otherwise it uses the `DBSYNC_*` settings to manage keys, and creates and
//! finally revokes a temporary key named `dbsync-key-rotation-example`.
//!
//! ```text
//! cargo run --example key_rotation
//! ```

use dbsync::auth::BearerAuth;
use dbsync::client::{Connection, Error, Query};
use dbsync::sandbox::{Sandbox, SandboxAuth};

/// What the example did.
#[derive(Debug)]
pub struct Outcome {
    /// The key's id.
    pub key_id: String,
    /// Requests made with the key (all succeeded).
    pub requests: usize,
    /// Whether the old secret was refused after the rotation.
    pub old_secret_refused: bool,
    /// Whether the revoked key was refused.
    pub revoked_refused: bool,
}

/// The example's flow: `admin` manages keys; the client built here uses only the new key.
pub async fn run(admin: &Connection) -> Result<Outcome, Error> {
    let keys = admin.api_keys();
    let created = keys.create("dbsync-key-rotation-example").await?;
    // The secret is shown once; it prints as [redacted].
    println!("created key {} ({:?})", created.id, created.key);

    // A client that authenticates with the key; keep a handle on its BearerAuth to rotate it.
    let auth = BearerAuth::new(created.key.clone());
    let client = Connection::builder()
        .base_url(admin.base_url().as_str())
        .auth(auth.clone())
        .build()?;
    let records = client.records();
    let mut requests = 0;
    for _ in 0..3 {
        records.list(&Query::new().limit(1)).await?;
        requests += 1;
    }

    // Rotate: regenerate the key and switch the running client at once. Requests in flight
    // with the old secret are retried with the new one, so none fails.
    let old = created.key.clone();
    let rotated = dbsync::client::rotate_api_key(&client, &created.id, &auth).await?;
    println!("rotated key {}", rotated.id);
    for _ in 0..3 {
        records.list(&Query::new().limit(1)).await?;
        requests += 1;
    }

    let stale = Connection::builder()
        .base_url(admin.base_url().as_str())
        .auth(BearerAuth::new(old))
        .build()?;
    let old_secret_refused = matches!(
        stale.records().list(&Query::new().limit(1)).await,
        Err(Error::Unauthorized { .. })
    );
    println!("the old secret is refused: {old_secret_refused}");

    for key in keys.list().await? {
        println!(
            "key {} {:?} last used {:?}",
            key.id, key.name, key.last_used_at
        );
    }
    keys.revoke(&created.id).await?;
    let revoked_refused = matches!(
        records.list(&Query::new().limit(1)).await,
        Err(Error::Unauthorized { .. })
    );
    println!(
        "revoked {}; the key is refused: {revoked_refused}",
        created.id
    );
    Ok(Outcome {
        key_id: created.id,
        requests,
        old_secret_refused,
        revoked_refused,
    })
}

async fn connect() -> Result<(Connection, Option<Sandbox>), Box<dyn std::error::Error>> {
    if std::env::var_os("DBSYNC_API_URL").is_some() {
        return Ok((Connection::from_env()?, None));
    }
    let admin_token = "sandbox-admin-token";
    let sandbox = Sandbox::builder()
        .auth(SandboxAuth::Bearer {
            token: admin_token.into(),
        })
        .start()
        .await?;
    println!(
        "no DBSYNC_API_URL: using the local sandbox at {}",
        sandbox.base_url()
    );
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .auth(BearerAuth::new(admin_token))
        .build()?;
    Ok((connection, Some(sandbox)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (admin, _sandbox) = connect().await?;
    run(&admin).await?;
    Ok(())
}
