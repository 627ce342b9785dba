//! Sign-in through the organization's OpenID Connect provider: the authorization code flow
//! with PKCE, a `state` bound to the browser by a cookie, and a nonce in the ID token. The
//! ID token's signature, issuer, audience, expiry and nonce are verified by `openidconnect`;
//! the claim the IR plan's people are known by (email by default) names the Firebreak
//! account, which must exist and be enabled. The HTTP client follows no redirects (a
//! provider that redirects discovery or the token request could otherwise point the server
//! at internal addresses).

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The path the provider sends the browser back to.
pub const CALLBACK: &str = "/sign-in/oidc/callback";

/// How long a started sign-in may take before its state is forgotten.
const PENDING_MS: i64 = 10 * 60 * 1000;

/// At most this many sign-ins in flight (the start route is open to anyone).
const PENDING_CAP: usize = 10_000;

/// Which ID token claim names the Firebreak account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityClaim {
    /// `email` (refused when the provider says `email_verified: false`).
    #[default]
    Email,
    /// `preferred_username`.
    PreferredUsername,
    /// `sub`, the provider's own stable identifier.
    Subject,
}

impl std::str::FromStr for IdentityClaim {
    type Err = OidcError;
    fn from_str(s: &str) -> Result<Self, OidcError> {
        match s {
            "email" => Ok(IdentityClaim::Email),
            "preferred_username" => Ok(IdentityClaim::PreferredUsername),
            "sub" => Ok(IdentityClaim::Subject),
            other => Err(OidcError::Config(format!(
                "claim `{other}`: expected email, preferred_username or sub"
            ))),
        }
    }
}

/// What the server is told about its provider.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer URL (discovery is `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// The server's own public base URL, as the browser reaches it (the redirect URI is
    /// this plus [`CALLBACK`] and must be registered with the provider).
    pub public_url: String,
    pub claim: IdentityClaim,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("OpenID Connect settings: {0}")]
    Config(String),
    #[error("OpenID Connect discovery at {issuer}: {reason}")]
    Discovery { issuer: String, reason: String },
    #[error("this sign-in was not started here, has expired or was already used")]
    UnknownState,
    #[error("the provider refused the sign-in: {0}")]
    Refused(String),
    #[error("exchanging the authorization code failed: {0}")]
    Exchange(String),
    #[error("the provider returned no ID token")]
    NoIdToken,
    #[error("the ID token does not verify: {0}")]
    IdToken(String),
    #[error("the ID token has no `{0}` claim to name an account by")]
    NoClaim(&'static str),
    #[error("the provider says the email {0} is not verified")]
    Unverified(String),
}

type Provider = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    next: String,
    started_ms: i64,
}

/// A started sign-in: where to send the browser, and the state to bind to it by cookie.
pub struct Started {
    pub url: String,
    pub state: String,
}

/// Who signed in, and where they were going.
#[derive(Debug, PartialEq, Eq)]
pub struct Finished {
    pub name: String,
    pub next: String,
}

/// A discovered provider and the sign-ins in flight.
pub struct Oidc {
    client: Provider,
    http: reqwest::Client,
    claim: IdentityClaim,
    pub issuer: String,
    pending: Mutex<HashMap<String, Pending>>,
}

/// An HTTP client with no redirects, TLS by rustls with the platform's roots.
pub(crate) fn http_client() -> Result<reqwest::Client, OidcError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| OidcError::Config(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| OidcError::Config(e.to_string()))
}

impl Oidc {
    /// Reads the provider's discovery document and keys.
    pub async fn discover(settings: OidcSettings) -> Result<Oidc, OidcError> {
        let http = http_client()?;
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| OidcError::Config(format!("issuer {}: {e}", settings.issuer)))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| OidcError::Discovery {
                issuer: settings.issuer.clone(),
                reason: error_chain(&e),
            })?;
        let redirect = format!("{}{CALLBACK}", settings.public_url.trim_end_matches('/'));
        let redirect = RedirectUrl::new(redirect.clone())
            .map_err(|e| OidcError::Config(format!("public URL {redirect}: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id),
            settings.client_secret.map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(Oidc {
            client,
            http,
            claim: settings.claim,
            issuer: settings.issuer,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Starts a sign-in that returns to `next`.
    pub fn start(&self, next: &str, now_ms: i64) -> Started {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        let (url, state, nonce) = request.url();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, p| now_ms - p.started_ms < PENDING_MS);
        if pending.len() >= PENDING_CAP
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.started_ms)
                .map(|(k, _)| k.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier,
                nonce,
                next: next.to_string(),
                started_ms: now_ms,
            },
        );
        Started {
            url: url.to_string(),
            state: state.secret().clone(),
        }
    }

    /// Finishes the sign-in whose `state` came back with `code` (each state works once).
    pub async fn finish(
        &self,
        state: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<Finished, OidcError> {
        let pending = {
            let mut all = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            all.remove(state)
        };
        let pending = pending
            .filter(|p| now_ms - p.started_ms < PENDING_MS)
            .ok_or(OidcError::UnknownState)?;
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Exchange(e.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(error_chain(&e)))?;
        let id_token = token.id_token().ok_or(OidcError::NoIdToken)?;
        let claims = id_token
            .claims(&self.client.id_token_verifier(), &pending.nonce)
            .map_err(|e| OidcError::IdToken(e.to_string()))?;
        let name = match self.claim {
            IdentityClaim::Email => {
                let email = claims.email().ok_or(OidcError::NoClaim("email"))?;
                if claims.email_verified() == Some(false) {
                    return Err(OidcError::Unverified(email.to_string()));
                }
                email.to_string()
            }
            IdentityClaim::PreferredUsername => claims
                .preferred_username()
                .ok_or(OidcError::NoClaim("preferred_username"))?
                .to_string(),
            IdentityClaim::Subject => claims.subject().to_string(),
        };
        Ok(Finished {
            name,
            next: pending.next,
        })
    }
}

/// An error and its causes, each said once.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
