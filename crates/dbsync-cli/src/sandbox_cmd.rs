//! `dbsync sandbox`: the local sandbox server, until Ctrl-C.

use std::net::SocketAddr;

use dbsync_sandbox::{Sandbox, SandboxAuth, demo};

use crate::args::{AuthKind, ConnectionArgs, SandboxArgs};
use crate::connect::Layers;
use crate::exit::CliError;

/// Starts the sandbox with the global `--auth` and credential flags (demo values when absent),
/// prints its URL and how to call it (secrets hidden unless `--show-secrets`), and serves until
/// Ctrl-C.
pub async fn run(args: &SandboxArgs, connection: &ConnectionArgs) -> Result<(), CliError> {
    // The credentials come like every command's: flags, standard input (`--token-stdin` ...),
    // `DBSYNC_*` variables or their `*_FILE` files; the demo values when none is given.
    let layers = Layers::with_default(connection, false)?;
    let pick = |name: &str, default: &str| layers.var(name).unwrap_or_else(|| default.to_owned());
    let shown = |secret: &str| match args.show_secrets {
        true => secret.to_owned(),
        false => "'<hidden; dbsync sandbox --show-secrets prints it>'".to_owned(),
    };
    let auth = connection.auth.unwrap_or(AuthKind::None);
    let (sandbox_auth, usage) = match auth {
        AuthKind::None => (SandboxAuth::None, "--auth none".to_owned()),
        AuthKind::Basic => {
            let username = pick("DBSYNC_USERNAME", demo::USERNAME);
            let password = pick("DBSYNC_PASSWORD", demo::PASSWORD);
            let usage = format!(
                "--auth basic --username {username} --password {}",
                shown(&password)
            );
            (SandboxAuth::Basic { username, password }, usage)
        }
        AuthKind::Bearer => {
            let token = pick("DBSYNC_TOKEN", demo::TOKEN);
            let usage = format!("--auth bearer --token {}", shown(&token));
            (SandboxAuth::Bearer { token }, usage)
        }
        AuthKind::Oauth2 => {
            let client_id = pick("DBSYNC_CLIENT_ID", demo::CLIENT_ID);
            let client_secret = pick("DBSYNC_CLIENT_SECRET", demo::CLIENT_SECRET);
            let usage = format!(
                "--auth oauth2 --client-id {client_id} --client-secret {}",
                shown(&client_secret)
            );
            (
                SandboxAuth::OAuth2 {
                    client_id,
                    client_secret,
                },
                usage,
            )
        }
    };
    let builder = Sandbox::builder()
        .bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .auth(sandbox_auth)
        .seed_records(args.records);
    let sandbox = args
        .resources
        .apply(args.serve.apply(args.behaviour.apply(builder)))
        .start()
        .await
        .map_err(|e| CliError::other(e.to_string()))?;
    // The secrets are printed only when asked (`--show-secrets`): terminals get recorded.
    println!("{}", sandbox.base_url());
    println!("dbsync --url {} {usage} check", sandbox.base_url());
    if auth == AuthKind::Oauth2 {
        println!("token_url: {}", sandbox.token_url());
    }
    for name in args.resources.names() {
        println!(
            "resource: {name} ({} rows) at {}/v1/{name}",
            sandbox.record_count(&name),
            sandbox.base_url()
        );
    }
    println!("records: {} seeded; stop with Ctrl-C", args.records);
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    Ok(())
}
