//! Behind an AWS Application Load Balancer that authenticates users (OIDC or Cognito), the
//! ALB passes who signed in as `x-amzn-oidc-data`: an ES256 JWT signed with a key the ALB
//! publishes per region. The header is trusted only when its signature verifies with that
//! key, its `signer` is the configured load balancer, and it has not expired; anyone who
//! can reach the server around the load balancer could otherwise claim to be anyone.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;
use std::path::PathBuf;

/// The header the ALB sets.
pub const HEADER: &str = "x-amzn-oidc-data";

/// What the server trusts of the ALB in front of it.
#[derive(Debug, Clone)]
pub struct AlbTrust {
    /// The load balancer's ARN: tokens signed for another one are refused.
    pub signer: String,
    pub keys: AlbKeys,
}

/// Where the ALB's public keys (PEM, one per key id) are found.
#[derive(Debug, Clone)]
pub enum AlbKeys {
    /// `{dir}/{kid}`, kept by hand.
    Folder(PathBuf),
    /// Fetched by key id from the region's endpoint (`https://public-keys.auth.elb.REGION.amazonaws.com`,
    /// see [`AlbKeys::for_signer`]), as the ALB rotates them; each key is kept once fetched.
    Endpoint(std::sync::Arc<KeyEndpoint>),
}

/// The ALB key endpoint and the keys fetched from it.
#[derive(Debug)]
pub struct KeyEndpoint {
    /// `https://public-keys.auth.elb.us-east-1.amazonaws.com` (no trailing slash).
    pub base: String,
    http: reqwest::Client,
    fetched: std::sync::Mutex<std::collections::HashMap<String, Fetched>>,
}

#[derive(Debug, Clone)]
enum Fetched {
    Key(VerifyingKey),
    /// The endpoint had no such key (or could not be read) at this time (s): asked again
    /// only a minute later, so forged key ids cannot make the server fetch on every request.
    Missing(i64),
}

/// At most this many key ids are remembered (keys rotate rarely; missing ids are noise).
const FETCHED_MAX: usize = 1024;

impl AlbKeys {
    /// The key endpoint of the region the load balancer `signer` (its ARN) is in, or
    /// `base` when given (another partition, a mirror, a test).
    pub fn for_signer(signer: &str, base: Option<&str>) -> Result<AlbKeys, String> {
        let base = match base {
            Some(b) => b.trim_end_matches('/').to_string(),
            None => {
                let arn = model::Arn::parse(signer).map_err(|e| e.to_string())?;
                if arn.service() != "elasticloadbalancing" || arn.region().is_empty() {
                    return Err(format!("{signer} is not a load balancer's ARN"));
                }
                if arn.partition() != "aws" {
                    return Err(format!(
                        "{signer}: name the key endpoint of partition {} with --alb-keys-url",
                        arn.partition()
                    ));
                }
                format!(
                    "https://public-keys.auth.elb.{}.amazonaws.com",
                    arn.region()
                )
            }
        };
        let http = crate::oidc::http_client().map_err(|e| e.to_string())?;
        Ok(AlbKeys::Endpoint(std::sync::Arc::new(KeyEndpoint {
            base,
            http,
            fetched: Default::default(),
        })))
    }

    /// The public key `kid` (already checked to be a plain key id).
    async fn key(&self, kid: &str, now_s: i64) -> Result<VerifyingKey, AlbRefusal> {
        let unknown = || AlbRefusal::UnknownKey(kid.to_string());
        match self {
            AlbKeys::Folder(dir) => {
                let pem = std::fs::read_to_string(dir.join(kid)).map_err(|_| unknown())?;
                VerifyingKey::from_public_key_pem(&pem).map_err(|_| unknown())
            }
            AlbKeys::Endpoint(e) => {
                let known = e.lock().get(kid).cloned();
                match known {
                    Some(Fetched::Key(k)) => return Ok(k),
                    Some(Fetched::Missing(at)) if now_s - at < 60 => return Err(unknown()),
                    _ => {}
                }
                let got = e.fetch(kid).await;
                let mut fetched = e.lock();
                if fetched.len() >= FETCHED_MAX {
                    fetched.retain(|_, f| matches!(f, Fetched::Key(_)));
                }
                match got {
                    Some(k) => {
                        fetched.insert(kid.to_string(), Fetched::Key(k));
                        Ok(k)
                    }
                    None => {
                        if fetched.len() < FETCHED_MAX {
                            fetched.insert(kid.to_string(), Fetched::Missing(now_s));
                        }
                        Err(unknown())
                    }
                }
            }
        }
    }
}

impl KeyEndpoint {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Fetched>> {
        self.fetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn fetch(&self, kid: &str) -> Option<VerifyingKey> {
        let r = self
            .http
            .get(format!("{}/{kid}", self.base))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let pem = r.text().await.ok()?;
        VerifyingKey::from_public_key_pem(&pem).ok()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlbRefusal {
    #[error("the ALB identity header is not a JWT")]
    Malformed,
    #[error("the ALB identity header uses {0}, not ES256")]
    Algorithm(String),
    #[error("the ALB identity header was signed for {0}, not this load balancer")]
    Signer(String),
    #[error("no ALB public key {0}")]
    UnknownKey(String),
    #[error("the ALB identity header's signature does not verify")]
    BadSignature,
    #[error("the ALB identity header has expired")]
    Expired,
    #[error("the ALB identity names nobody (no email or sub claim)")]
    NoIdentity,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
    signer: String,
    exp: Option<i64>,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    email: Option<String>,
    exp: Option<i64>,
}

fn segment(s: &str) -> Result<Vec<u8>, AlbRefusal> {
    // ALB pads its segments with `=`, which JWT's base64url does not use.
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| AlbRefusal::Malformed)
}

/// Who the ALB says signed in (their email, else their `sub`), once the token verifies.
pub async fn verify(trust: &AlbTrust, token: &str, now_s: i64) -> Result<String, AlbRefusal> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AlbRefusal::Malformed);
    };
    let header: Header = serde_json::from_slice(&segment(h)?).map_err(|_| AlbRefusal::Malformed)?;
    if header.alg != "ES256" {
        return Err(AlbRefusal::Algorithm(header.alg));
    }
    if header.signer != trust.signer {
        return Err(AlbRefusal::Signer(header.signer));
    }
    // A key id is a file name in the key folder, nothing else.
    if header.kid.is_empty()
        || !header
            .kid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(AlbRefusal::UnknownKey(header.kid));
    }
    let key = trust.keys.key(&header.kid, now_s).await?;
    let signature = Signature::from_slice(&segment(sig)?).map_err(|_| AlbRefusal::BadSignature)?;
    let signed = &token.trim()[..h.len() + 1 + p.len()];
    key.verify(signed.as_bytes(), &signature)
        .map_err(|_| AlbRefusal::BadSignature)?;
    let claims: Claims = serde_json::from_slice(&segment(p)?).map_err(|_| AlbRefusal::Malformed)?;
    if header.exp.or(claims.exp).is_none_or(|exp| exp <= now_s) {
        return Err(AlbRefusal::Expired);
    }
    claims
        .email
        .or(claims.sub)
        .filter(|s| !s.trim().is_empty())
        .ok_or(AlbRefusal::NoIdentity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;

    const SIGNER: &str =
        "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/ir/abc";

    fn token(key: &SigningKey, kid: &str, signer: &str, exp: i64, email: &str) -> String {
        let pad = |b: &[u8]| {
            let mut s = URL_SAFE_NO_PAD.encode(b);
            while !s.len().is_multiple_of(4) {
                s.push('=');
            }
            s
        };
        let h = pad(serde_json::json!({"alg": "ES256", "kid": kid, "signer": signer, "iss": "https://idp.example", "client": "c", "exp": exp}).to_string().as_bytes());
        let p = pad(
            serde_json::json!({"sub": "1234", "email": email, "exp": exp})
                .to_string()
                .as_bytes(),
        );
        let sig: Signature = key.sign(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", pad(&sig.to_bytes()))
    }

    #[tokio::test]
    async fn only_a_fresh_token_signed_by_the_configured_load_balancer_counts() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = key
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        std::fs::write(dir.path().join("kid-1"), pem).unwrap();
        let trust = AlbTrust {
            signer: SIGNER.into(),
            keys: AlbKeys::Folder(dir.path().into()),
        };
        let now = 1_800_000_000;
        let good = token(&key, "kid-1", SIGNER, now + 60, "alice@example.com");
        assert_eq!(
            verify(&trust, &good, now).await.unwrap(),
            "alice@example.com"
        );
        assert_eq!(
            verify(&trust, &good, now + 61).await,
            Err(AlbRefusal::Expired)
        );
        let other_lb = token(
            &key,
            "kid-1",
            "arn:aws:elasticloadbalancing:us-east-1:999:loadbalancer/app/x/y",
            now + 60,
            "a@x",
        );
        assert!(matches!(
            verify(&trust, &other_lb, now).await,
            Err(AlbRefusal::Signer(_))
        ));
        let forger = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let forged = token(&forger, "kid-1", SIGNER, now + 60, "alice@example.com");
        assert_eq!(
            verify(&trust, &forged, now).await,
            Err(AlbRefusal::BadSignature)
        );
        // A payload swapped under a valid signature.
        let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
        parts[1] = token(&key, "kid-1", SIGNER, now + 60, "mallory@example.com")
            .split('.')
            .nth(1)
            .unwrap()
            .to_string();
        assert_eq!(
            verify(&trust, &parts.join("."), now).await,
            Err(AlbRefusal::BadSignature)
        );
        let unknown = token(&key, "kid-2", SIGNER, now + 60, "alice@example.com");
        assert!(matches!(
            verify(&trust, &unknown, now).await,
            Err(AlbRefusal::UnknownKey(_))
        ));
        let escape = token(&key, "../kid-1", SIGNER, now + 60, "alice@example.com");
        assert!(matches!(
            verify(&trust, &escape, now).await,
            Err(AlbRefusal::UnknownKey(_))
        ));
        assert_eq!(
            verify(&trust, "not a token", now).await,
            Err(AlbRefusal::Malformed)
        );
    }

    /// The keys are fetched by id from the region's endpoint (here a loopback stand-in),
    /// once each; an id the endpoint does not have is refused and not asked for again at
    /// once; the endpoint's region comes from the load balancer's ARN.
    #[tokio::test]
    async fn keys_are_fetched_by_id_from_the_endpoint_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = key
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        let asked = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let app = axum::Router::new().route(
            "/{kid}",
            axum::routing::get(
                move |axum::extract::Path(kid): axum::extract::Path<String>| {
                    let pem = pem.clone();
                    let counter = counter.clone();
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        if kid == "kid-1" {
                            (axum::http::StatusCode::OK, pem)
                        } else {
                            (axum::http::StatusCode::NOT_FOUND, String::new())
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let trust = AlbTrust {
            signer: SIGNER.into(),
            keys: AlbKeys::for_signer(SIGNER, Some(&base)).unwrap(),
        };
        let now = 1_800_000_000;
        let good = token(&key, "kid-1", SIGNER, now + 60, "alice@example.com");
        assert_eq!(
            verify(&trust, &good, now).await.unwrap(),
            "alice@example.com"
        );
        assert_eq!(
            verify(&trust, &good, now).await.unwrap(),
            "alice@example.com"
        );
        assert_eq!(asked.load(Ordering::SeqCst), 1, "a key is fetched once");
        let unknown = token(&key, "kid-2", SIGNER, now + 60, "alice@example.com");
        for _ in 0..3 {
            assert!(matches!(
                verify(&trust, &unknown, now).await,
                Err(AlbRefusal::UnknownKey(_))
            ));
        }
        assert_eq!(
            asked.load(Ordering::SeqCst),
            2,
            "a missing key is asked for once a minute"
        );
        assert!(matches!(
            verify(&trust, &unknown, now + 61).await,
            Err(AlbRefusal::UnknownKey(_))
        ));
        assert_eq!(asked.load(Ordering::SeqCst), 3);
        // A forged token naming a fetched key still has to verify with it.
        let forger = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let forged = token(&forger, "kid-1", SIGNER, now + 60, "alice@example.com");
        assert_eq!(
            verify(&trust, &forged, now).await,
            Err(AlbRefusal::BadSignature)
        );

        match AlbKeys::for_signer(SIGNER, None).unwrap() {
            AlbKeys::Endpoint(e) => {
                assert_eq!(
                    e.base,
                    "https://public-keys.auth.elb.us-east-1.amazonaws.com"
                )
            }
            AlbKeys::Folder(_) => panic!("an endpoint"),
        }
        assert!(AlbKeys::for_signer("arn:aws:iam::111122223333:role/x", None).is_err());
        assert!(
            AlbKeys::for_signer(
                "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:111122223333:loadbalancer/app/a/b",
                None
            )
            .is_err(),
            "other partitions name their endpoint"
        );
    }
}
