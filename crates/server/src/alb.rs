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

/// How the ALB's signing keys are found: `{dir}/{kid}` holds the PEM public key (fetch
/// them from `https://public-keys.auth.elb.REGION.amazonaws.com/KID` as they rotate).
#[derive(Debug, Clone)]
pub struct AlbTrust {
    /// The load balancer's ARN: tokens signed for another one are refused.
    pub signer: String,
    pub keys: PathBuf,
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
pub fn verify(trust: &AlbTrust, token: &str, now_s: i64) -> Result<String, AlbRefusal> {
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
    let pem = std::fs::read_to_string(trust.keys.join(&header.kid))
        .map_err(|_| AlbRefusal::UnknownKey(header.kid.clone()))?;
    let key = VerifyingKey::from_public_key_pem(&pem)
        .map_err(|_| AlbRefusal::UnknownKey(header.kid.clone()))?;
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

    #[test]
    fn only_a_fresh_token_signed_by_the_configured_load_balancer_counts() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = key
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        std::fs::write(dir.path().join("kid-1"), pem).unwrap();
        let trust = AlbTrust {
            signer: SIGNER.into(),
            keys: dir.path().into(),
        };
        let now = 1_800_000_000;
        let good = token(&key, "kid-1", SIGNER, now + 60, "alice@example.com");
        assert_eq!(verify(&trust, &good, now).unwrap(), "alice@example.com");
        assert_eq!(verify(&trust, &good, now + 61), Err(AlbRefusal::Expired));
        let other_lb = token(
            &key,
            "kid-1",
            "arn:aws:elasticloadbalancing:us-east-1:999:loadbalancer/app/x/y",
            now + 60,
            "a@x",
        );
        assert!(matches!(
            verify(&trust, &other_lb, now),
            Err(AlbRefusal::Signer(_))
        ));
        let forger = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let forged = token(&forger, "kid-1", SIGNER, now + 60, "alice@example.com");
        assert_eq!(verify(&trust, &forged, now), Err(AlbRefusal::BadSignature));
        // A payload swapped under a valid signature.
        let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
        parts[1] = token(&key, "kid-1", SIGNER, now + 60, "mallory@example.com")
            .split('.')
            .nth(1)
            .unwrap()
            .to_string();
        assert_eq!(
            verify(&trust, &parts.join("."), now),
            Err(AlbRefusal::BadSignature)
        );
        let unknown = token(&key, "kid-2", SIGNER, now + 60, "alice@example.com");
        assert!(matches!(
            verify(&trust, &unknown, now),
            Err(AlbRefusal::UnknownKey(_))
        ));
        let escape = token(&key, "../kid-1", SIGNER, now + 60, "alice@example.com");
        assert!(matches!(
            verify(&trust, &escape, now),
            Err(AlbRefusal::UnknownKey(_))
        ));
        assert_eq!(
            verify(&trust, "not a token", now),
            Err(AlbRefusal::Malformed)
        );
    }
}
