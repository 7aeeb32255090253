//! `dbsync-sandbox`: run the sandbox server as a process.
//!
//! Prints the base URL on the first line of stdout, then the credentials to use (secrets
//! hidden unless `--show-secrets`); stops on Ctrl-C or SIGTERM. Secrets may come from the
//! environment (`DBSYNC_SANDBOX_PASSWORD`, `DBSYNC_SANDBOX_TOKEN`,
//! `DBSYNC_SANDBOX_CLIENT_SECRET`) so they stay out of `ps`. It refuses to listen beyond
//! loopback with the built-in demo credentials (or no authentication) unless
//! `--allow-demo-credentials`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use dbsync_sandbox::{BehaviourArgs, ResourceArgs, Sandbox, SandboxAuth, ServeArgs};

use dbsync_sandbox::demo::{
    CLIENT_ID as DEMO_CLIENT_ID, CLIENT_SECRET as DEMO_CLIENT_SECRET, PASSWORD as DEMO_PASSWORD,
    TOKEN as DEMO_TOKEN, USERNAME as DEMO_USERNAME,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthKind {
    None,
    Basic,
    Bearer,
    Oauth2,
}

/// A local server that speaks the DBSync Open API.
#[derive(Parser)]
#[command(name = "dbsync-sandbox", version)]
struct Args {
    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind (loopback by default; beyond loopback needs credentials of your own).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Authentication mode.
    #[arg(long, value_enum, default_value_t = AuthKind::None)]
    auth: AuthKind,
    /// Username for --auth basic [default: demo].
    #[arg(long, env = "DBSYNC_SANDBOX_USERNAME")]
    username: Option<String>,
    /// Password for --auth basic [default: the demo password]. Prefer the variable: flags show in `ps`.
    #[arg(long, env = "DBSYNC_SANDBOX_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Fixed token for --auth bearer [default: the demo token]. Prefer the variable: flags show in `ps`.
    #[arg(long, env = "DBSYNC_SANDBOX_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// OAuth client id for --auth oauth2 [default: demo-client].
    #[arg(long, env = "DBSYNC_SANDBOX_CLIENT_ID")]
    client_id: Option<String>,
    /// OAuth client secret for --auth oauth2 [default: the demo secret]. Prefer the variable: flags show in `ps`.
    #[arg(long, env = "DBSYNC_SANDBOX_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Print the secrets at startup (hidden by default).
    #[arg(long)]
    show_secrets: bool,
    /// Listen beyond loopback even with the built-in demo credentials or no authentication.
    #[arg(long)]
    allow_demo_credentials: bool,
    /// Number of seeded `records`.
    #[arg(long, default_value_t = 1000)]
    records: u64,
    /// Serve HTTPS with a certificate made at start for localhost, 127.0.0.1 and ::1 (HTTP/2
    /// and HTTP/1.1 by ALPN).
    #[arg(long)]
    tls: bool,
    /// With --tls: write the CA certificate (PEM) that clients must trust to FILE (without it
    /// the PEM is printed).
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_ca_out: Option<std::path::PathBuf>,
    /// Rate limit, faults and timings.
    #[command(flatten)]
    behaviour: BehaviourArgs,
    /// Connection timeouts and cap.
    #[command(flatten)]
    serve: ServeArgs,
    /// Resources of your own: schemas, fixtures, generated rows.
    #[command(flatten)]
    resources: ResourceArgs,
}

// Hand-written so a derived Debug can never print a secret.
impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("port", &self.port)
            .field("host", &self.host)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// The authentication mode with its credentials, and the line describing it on stdout.
struct Credentials {
    auth: SandboxAuth,
    /// The secret in use, and whether it is the built-in demo value (`None` for `--auth none`).
    secret: Option<(&'static str, bool)>,
    /// `auth: ...` with the secret shown or hidden.
    line: String,
}

/// Picks the credentials from the flags and variables, falling back to the demo values.
fn credentials(args: &Args) -> Credentials {
    let pick = |value: &Option<String>, demo: &str| value.clone().unwrap_or_else(|| demo.into());
    let shown = |secret: &str, demo: bool| match (args.show_secrets, demo) {
        (true, _) => secret.to_string(),
        (false, true) => "<hidden: the built-in demo value; --show-secrets prints it>".into(),
        (false, false) => "<hidden; --show-secrets prints it>".into(),
    };
    match args.auth {
        AuthKind::None => Credentials {
            auth: SandboxAuth::None,
            secret: None,
            line: "auth: none".into(),
        },
        AuthKind::Basic => {
            let username = pick(&args.username, DEMO_USERNAME);
            let password = pick(&args.password, DEMO_PASSWORD);
            let demo = password == DEMO_PASSWORD;
            let line = format!(
                "auth: basic username={username} password={}",
                shown(&password, demo)
            );
            Credentials {
                auth: SandboxAuth::Basic { username, password },
                secret: Some(("password", demo)),
                line,
            }
        }
        AuthKind::Bearer => {
            let token = pick(&args.token, DEMO_TOKEN);
            let demo = token == DEMO_TOKEN;
            let line = format!("auth: bearer token={}", shown(&token, demo));
            Credentials {
                auth: SandboxAuth::Bearer { token },
                secret: Some(("token", demo)),
                line,
            }
        }
        AuthKind::Oauth2 => {
            let client_id = pick(&args.client_id, DEMO_CLIENT_ID);
            let client_secret = pick(&args.client_secret, DEMO_CLIENT_SECRET);
            let demo = client_secret == DEMO_CLIENT_SECRET;
            let line = format!(
                "auth: oauth2 client_id={client_id} client_secret={} token_ttl={}s",
                shown(&client_secret, demo),
                args.behaviour.token_ttl
            );
            Credentials {
                auth: SandboxAuth::OAuth2 {
                    client_id,
                    client_secret,
                },
                secret: Some(("client secret", demo)),
                line,
            }
        }
    }
}

/// Why the sandbox must not listen on `host` with these credentials, if it must not.
/// The shortest secret the sandbox listens beyond loopback with.
const MIN_EXPOSED_SECRET_CHARS: usize = 12;

/// The length in characters of the secret of `auth` (0 for none).
fn secret_chars(auth: &SandboxAuth) -> usize {
    match auth {
        SandboxAuth::Basic { password, .. } => password.chars().count(),
        SandboxAuth::Bearer { token } => token.chars().count(),
        SandboxAuth::OAuth2 { client_secret, .. } => client_secret.chars().count(),
        _ => 0,
    }
}

fn exposure_refusal(host: IpAddr, credentials: &Credentials, allowed: bool) -> Option<String> {
    if allowed || host.to_canonical().is_loopback() {
        return None;
    }
    let (what, fix) = match credentials.secret {
        None => (
            "no authentication (--auth none): anyone who can reach it can read and change its data"
                .to_string(),
            "use --auth basic, bearer or oauth2 with a secret of your own",
        ),
        Some((name, true)) => (
            format!("the built-in demo {name}, which anyone can read in the documentation"),
            "set DBSYNC_SANDBOX_PASSWORD, DBSYNC_SANDBOX_TOKEN or DBSYNC_SANDBOX_CLIENT_SECRET \
             to a secret of your own",
        ),
        Some((name, false)) if secret_chars(&credentials.auth) < MIN_EXPOSED_SECRET_CHARS => (
            format!("a {name} shorter than {MIN_EXPOSED_SECRET_CHARS} characters, easy to guess"),
            "use a longer secret",
        ),
        Some((_, false)) => return None,
    };
    Some(format!(
        "refusing to listen on {host}, beyond loopback, with {what}; {fix}, \
         or pass --allow-demo-credentials if this is intended"
    ))
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled, so a signal sent right after the startup lines are printed is not missed.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let wait = |signal: std::io::Result<tokio::signal::unix::Signal>| async move {
                match signal {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let credentials = credentials(&args);
    if let Some(refusal) = exposure_refusal(args.host, &credentials, args.allow_demo_credentials) {
        eprintln!("dbsync-sandbox: {refusal}");
        return ExitCode::from(2);
    }
    let stop = stop_signal();
    let builder = Sandbox::builder()
        .bind(SocketAddr::new(args.host, args.port))
        .auth(credentials.auth)
        .seed_records(args.records)
        .tls(args.tls);
    let builder = args
        .resources
        .apply(args.serve.apply(args.behaviour.apply(builder)));
    let sandbox = match builder.start().await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("dbsync-sandbox: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sandbox.base_url());
    println!("{}", credentials.line);
    if args.auth == AuthKind::Oauth2 {
        println!("token_url: {}", sandbox.token_url());
        println!("authorize_url: {}", sandbox.authorize_url());
    }
    if let Some(ca) = sandbox.ca_certificate_pem() {
        match &args.tls_ca_out {
            Some(path) => {
                if let Err(error) = std::fs::write(path, ca) {
                    eprintln!(
                        "dbsync-sandbox: could not write the CA certificate to {}: {error}",
                        path.display()
                    );
                    return ExitCode::FAILURE;
                }
                println!(
                    "ca_certificate: {} (trust it with the settings' tls.ca_file)",
                    path.display()
                );
            }
            None => println!("ca_certificate (trust it with the settings' tls.ca_file):\n{ca}"),
        }
    }
    for name in args.resources.names() {
        println!(
            "resource: {name} ({} rows) at {}/v1/{name}",
            sandbox.record_count(&name),
            sandbox.base_url()
        );
    }
    println!("records: {} seeded; stop with Ctrl-C", args.records);
    stop.await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut all = vec!["dbsync-sandbox"];
        all.extend_from_slice(extra);
        Args::try_parse_from(all).unwrap()
    }

    fn refusal(extra: &[&str]) -> Option<String> {
        let args = args(extra);
        exposure_refusal(args.host, &credentials(&args), args.allow_demo_credentials)
    }

    #[test]
    fn loopback_is_always_allowed() {
        for host in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(refusal(&["--host", host]), None, "{host}");
            assert_eq!(refusal(&["--host", host, "--auth", "bearer"]), None);
        }
    }

    #[test]
    fn beyond_loopback_demo_credentials_or_no_auth_are_refused_unless_allowed() {
        for auth in ["none", "basic", "bearer", "oauth2"] {
            for host in ["0.0.0.0", "::", "192.0.2.7"] {
                let message = refusal(&["--host", host, "--auth", auth]).expect("refused");
                assert!(message.contains(host), "{message}");
                assert!(message.contains("--allow-demo-credentials"), "{message}");
                assert!(!message.contains("demo-password") && !message.contains("demo-secret"));
                let allowed = ["--host", host, "--auth", auth, "--allow-demo-credentials"];
                assert_eq!(refusal(&allowed), None);
            }
        }
        let message = refusal(&["--host", "0.0.0.0", "--auth", "bearer", "--token", "demo"]);
        assert!(message.unwrap().contains("demo token"));
    }

    #[test]
    fn beyond_loopback_own_secrets_are_allowed() {
        for own in [
            ["--auth", "basic", "--password", "own-password-9f2c"],
            ["--auth", "bearer", "--token", "own-token-5e7a1b"],
            ["--auth", "oauth2", "--client-secret", "own-secret-c41d"],
        ] {
            let mut flags = vec!["--host", "0.0.0.0"];
            flags.extend_from_slice(&own);
            assert_eq!(refusal(&flags), None, "{flags:?}");
        }
    }

    #[test]
    fn secrets_are_hidden_unless_asked() {
        let hidden = credentials(&args(&["--auth", "bearer", "--token", "t0k3n"])).line;
        assert!(!hidden.contains("t0k3n"), "{hidden}");
        assert!(hidden.contains("--show-secrets"), "{hidden}");
        let shown = credentials(&args(&[
            "--auth",
            "bearer",
            "--token",
            "t0k3n",
            "--show-secrets",
        ]));
        assert_eq!(shown.line, "auth: bearer token=t0k3n");
        let debug = format!(
            "{:?}",
            args(&["--auth", "oauth2", "--client-secret", "s3c"])
        );
        assert!(!debug.contains("s3c"), "{debug}");
    }

    #[test]
    fn resource_flags_repeat_and_take_name_value_pairs() {
        let parsed = args(&[
            "--resource",
            "books=books.json",
            "--resource",
            "authors=a=b.json",
            "--fixtures",
            "books=books.jsonl",
            "--generate",
            "books=10",
            "--generate",
            "authors=0",
            "--seed",
            "9",
        ]);
        let resources = &parsed.resources;
        assert_eq!(resources.resources.len(), 2);
        assert_eq!(
            resources.resources[1].1,
            std::path::PathBuf::from("a=b.json")
        );
        assert_eq!(
            resources.generate,
            [("books".into(), 10), ("authors".into(), 0)]
        );
        assert_eq!(resources.seed, Some(9));
        assert_eq!(resources.names(), ["authors", "books"]);
        for bad in [
            ["--resource", "books"],
            ["--fixtures", "=x.jsonl"],
            ["--generate", "books=-1"],
            ["--generate", "books=ten"],
        ] {
            let mut all = vec!["dbsync-sandbox"];
            all.extend_from_slice(&bad);
            assert!(Args::try_parse_from(all).is_err(), "{bad:?}");
        }
    }
}
