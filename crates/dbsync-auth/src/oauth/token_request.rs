//! One request to the token endpoint, through the `oauth2` crate, its failure explained without
//! a secret in it.

use ::oauth2::basic::{BasicClient, BasicTokenResponse};
use ::oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenUrl,
};

use super::adapter::Recording;
use super::endpoint_error::{self, FailedRequest};
use super::grant::{Grant, TokenGrant};
use crate::{AuthError, OAuth2Auth};

impl OAuth2Auth {
    /// Sends one token request.
    pub(super) async fn request_token(
        &self,
        grant: &TokenGrant<'_>,
    ) -> Result<BasicTokenResponse, AuthError> {
        let inner = &self.inner;
        let grant_name = grant.kind().name();
        let mut client: BasicClient<
            EndpointNotSet,
            EndpointNotSet,
            EndpointNotSet,
            EndpointNotSet,
            EndpointSet,
        > = BasicClient::new(ClientId::new(inner.client_id.clone()))
            .set_auth_type(AuthType::BasicAuth)
            .set_token_uri(TokenUrl::from_url(inner.token_url.clone()));
        if let Some(secret) = &inner.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
        }
        if let Grant::AuthorizationCode { redirect_uri, .. } = &inner.grant {
            client = client.set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        }

        // Remembers what the endpoint answered, to explain a failure.
        let http = Recording::new(&inner.http);

        tracing::debug!(
            scheme = "oauth2",
            grant = grant_name,
            token_url = %endpoint_error::shown_endpoint(&inner.token_url),
            "requesting an OAuth 2.0 access token"
        );
        let result = match grant {
            TokenGrant::ClientCredentials => {
                client
                    .exchange_client_credentials()
                    .add_scopes(inner.scopes.iter().cloned().map(Scope::new))
                    .request_async(&http)
                    .await
            }
            TokenGrant::Refresh(refresh) => {
                let refresh = RefreshToken::new(refresh.expose().to_owned());
                client
                    .exchange_refresh_token(&refresh)
                    .request_async(&http)
                    .await
            }
            TokenGrant::Code { code, verifier } => {
                client
                    .exchange_code(AuthorizationCode::new((*code).to_owned()))
                    .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
                    .request_async(&http)
                    .await
            }
        };
        result.map_err(|error| {
            let mut secrets = Vec::new();
            if let Some(secret) = &inner.client_secret {
                secrets.push(secret.expose());
            }
            match grant {
                TokenGrant::ClientCredentials => {}
                TokenGrant::Refresh(refresh) => secrets.push(refresh.expose()),
                TokenGrant::Code { code, verifier } => {
                    secrets.push(code);
                    secrets.push(verifier.expose());
                }
            }
            let response = http.take_response();
            let error = FailedRequest {
                grant: grant_name,
                endpoint: &inner.token_url,
                response,
                secrets,
            }
            .into_error(error);
            tracing::debug!(scheme = "oauth2", grant = grant_name, %error, "token request failed");
            error
        })
    }
}
