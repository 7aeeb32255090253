//! `dbsync-sandbox`: run the sandbox server as a process.
//!
//! Prints the base URL on the first line of stdout, then the credentials to use; stops on
//! Ctrl-C or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use dbsync_sandbox::{BehaviourArgs, Sandbox, SandboxAuth};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AuthKind {
    None,
    Basic,
    Bearer,
    Oauth2,
}

/// A local server that speaks the DBSync Open API.
#[derive(Debug, Parser)]
#[command(name = "dbsync-sandbox", version)]
struct Args {
    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Authentication mode.
    #[arg(long, value_enum, default_value_t = AuthKind::None)]
    auth: AuthKind,
    /// Username for --auth basic.
    #[arg(long, default_value = "demo")]
    username: String,
    /// Password for --auth basic.
    #[arg(long, default_value = "demo-password")]
    password: String,
    /// Fixed token for --auth bearer.
    #[arg(long, default_value = "demo")]
    token: String,
    /// OAuth client id for --auth oauth2.
    #[arg(long, default_value = "demo-client")]
    client_id: String,
    /// OAuth client secret for --auth oauth2.
    #[arg(long, default_value = "demo-secret")]
    client_secret: String,
    /// Number of seeded `records`.
    #[arg(long, default_value_t = 1000)]
    records: u64,
    /// Rate limit, faults and timings.
    #[command(flatten)]
    behaviour: BehaviourArgs,
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let (auth, credentials) = match args.auth {
        AuthKind::None => (SandboxAuth::None, "auth: none".to_string()),
        AuthKind::Basic => (
            SandboxAuth::Basic {
                username: args.username.clone(),
                password: args.password.clone(),
            },
            format!(
                "auth: basic username={} password={}",
                args.username, args.password
            ),
        ),
        AuthKind::Bearer => (
            SandboxAuth::Bearer {
                token: args.token.clone(),
            },
            format!("auth: bearer token={}", args.token),
        ),
        AuthKind::Oauth2 => (
            SandboxAuth::OAuth2 {
                client_id: args.client_id.clone(),
                client_secret: args.client_secret.clone(),
            },
            format!(
                "auth: oauth2 client_id={} client_secret={} token_ttl={}s",
                args.client_id, args.client_secret, args.behaviour.token_ttl
            ),
        ),
    };
    let builder = Sandbox::builder()
        .bind(SocketAddr::new(args.host, args.port))
        .auth(auth)
        .seed_records(args.records);
    let builder = args.behaviour.apply(builder);
    let sandbox = match builder.start().await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("dbsync-sandbox: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The credentials are the sandbox's own demo values, printed on purpose so a user can copy them.
    println!("{}", sandbox.base_url());
    println!("{credentials}");
    if matches!(args.auth, AuthKind::Oauth2) {
        println!("token_url: {}", sandbox.token_url());
        println!("authorize_url: {}", sandbox.authorize_url());
    }
    println!("records: {} seeded; stop with Ctrl-C", args.records);
    stop_signal().await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
