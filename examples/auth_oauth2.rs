//! OAuth 2.0: client credentials, and the authorization-code flow with PKCE S256.
//!
//! ```sh
//! cargo run --example auth_oauth2
//! ```
//!
//! Starts the sandbox in-process in oauth2 mode. First the client-credentials grant (what a
//! connector running as a service uses): the strategy fetches a token from the token endpoint
//! once, caches it and renews it shortly before it expires. Then the authorization-code grant
//! with PKCE: build the authorize URL (with `state` and a code challenge), send the "user"
//! there (the sandbox's authorize endpoint redirects at once, with no login page), read the
//! `Location` of the redirect and exchange the code. Last, a wrong client secret is refused
//! with an error that names the credential. `main` is a thin wrapper over [`run`], which the
//! end-to-end tests call.

use std::error::Error as StdError;
use std::process::ExitCode;

use dbsync::auth::OAuth2Auth;
use dbsync::client::{Connection, Error, Query};
use dbsync::sandbox::{Sandbox, SandboxAuth};

/// Any error of the walk.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Where the user would be sent back to with `code` and `state` (a local callback of the app).
pub const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

/// The OAuth 2.0 server to use.
#[derive(Debug, Clone)]
pub struct OAuthServer {
    /// The API's base URL.
    pub base_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// The authorization endpoint.
    pub authorize_url: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
}

/// Runs both grants against `server`, then shows a wrong client secret being refused.
pub async fn run(server: &OAuthServer) -> Result<(), BoxError> {
    println!(
        "== Client credentials (token endpoint {})",
        server.token_url
    );
    let auth = OAuth2Auth::client_credentials(
        &server.client_id,
        server.client_secret.as_str(),
        &server.token_url,
    )
    .scopes(["records:read", "records:write"])
    .build()?;
    let connection = Connection::builder()
        .base_url(&server.base_url)
        .auth(auth)
        .build()?;
    let report = connection.validate().await?;
    println!(
        "   validated: {} -> HTTP {} (auth `{}`); the token was fetched once and is cached",
        report.checked, report.status, report.auth_scheme
    );
    let page = connection.records().list(&Query::new().limit(3)).await?;
    println!("   read {} records with the cached token", page.data.len());

    println!(
        "== Authorization code with PKCE (authorize endpoint {})",
        server.authorize_url
    );
    let auth = OAuth2Auth::authorization_code(
        &server.client_id,
        server.client_secret.as_str(),
        &server.authorize_url,
        &server.token_url,
        REDIRECT_URI,
    )
    .scopes(["records:read"])
    .build()?;
    let (authorize_url, pending) = auth.authorize_url()?;
    // The query holds `state` and the PKCE challenge; print only which parameters are sent.
    let sent: Vec<String> = authorize_url
        .query_pairs()
        .map(|(key, _)| key.into_owned())
        .collect();
    println!(
        "   1. send the user to the authorize URL with {}",
        sent.join(", ")
    );
    // A browser would follow the redirect to the app's callback; read it instead.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = browser.get(authorize_url).send().await?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            format!(
                "the authorize endpoint answered {} without a redirect",
                response.status()
            )
        })?;
    let redirected_to = url::Url::parse(location)?;
    println!(
        "   2. the server redirected (HTTP {}) to {}{} with code and state",
        response.status().as_u16(),
        redirected_to.origin().ascii_serialization(),
        redirected_to.path()
    );
    // Checks `state`, then exchanges the code with the PKCE verifier.
    auth.exchange_redirect(&redirected_to, &pending).await?;
    println!("   3. exchanged the code for tokens (state checked, PKCE verifier sent)");
    let connection = Connection::builder()
        .base_url(&server.base_url)
        .auth(auth)
        .build()?;
    let report = connection.validate().await?;
    println!(
        "   validated as the user: HTTP {} (auth `{}`); the refresh token keeps it going",
        report.status, report.auth_scheme
    );

    println!("== A wrong client secret");
    let wrong =
        OAuth2Auth::client_credentials(&server.client_id, "not-the-secret", &server.token_url)
            .build()?;
    let connection = Connection::builder()
        .base_url(&server.base_url)
        .auth(wrong)
        .build()?;
    match connection.validate().await {
        Err(Error::Auth(error)) if error.is_invalid_client() => {
            println!("   refused by the token endpoint, as expected: {error}");
        }
        Err(other) => return Err(other.into()),
        Ok(_) => return Err("the token endpoint accepted a wrong client secret".into()),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let walk = async {
        let client_secret = format!("demo-{:032x}", rand::random::<u128>());
        let sandbox = Sandbox::builder()
            .auth(SandboxAuth::OAuth2 {
                client_id: "demo-client".into(),
                client_secret: client_secret.clone(),
            })
            .seed_records(25)
            .start()
            .await?;
        println!(
            "Sandbox (oauth2, client demo-client) at {}",
            sandbox.base_url()
        );
        let server = OAuthServer {
            base_url: sandbox.base_url().to_owned(),
            token_url: sandbox.token_url(),
            authorize_url: sandbox.authorize_url(),
            client_id: "demo-client".into(),
            client_secret,
        };
        let outcome = run(&server).await;
        sandbox.shutdown().await;
        outcome
    };
    match walk.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "auth_oauth2 failed: {}",
                error.to_string().replace('\n', " ")
            );
            ExitCode::FAILURE
        }
    }
}
