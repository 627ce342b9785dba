//! Ed25519 keys as a team holds them: a secret seed (64 hex digits, in a file only its
//! owner reads) and a public key (64 hex digits, listed in the IR plan). Custody entries
//! and response-plan approvals are signed and checked here. Pure.

use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not hex")]
    NotHex,
    #[error("a seed is 32 bytes (64 hex digits)")]
    SeedLength,
    #[error("a public key is 32 bytes (64 hex digits)")]
    PublicLength,
    #[error("not a valid Ed25519 public key: {0}")]
    Invalid(String),
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Bytes from hex (either case); `None` for anything else.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Whether `s` is a SHA-256 as this project writes it: 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A SHA-256 digest as this project writes it (64 lower-case hex digits): what an approval
/// is bound to, what names an IR plan's text. Its own type, so a digest is never taken for
/// a key, a signature or any other string; it cannot hold anything else.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest(String);

/// A string that is not a SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 digest (64 lower-case hex digits): {0:?}")]
pub struct NotADigest(pub String);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Digest {
        Sha256Digest(sha256_hex(bytes))
    }

    /// `s` when it is a digest as this project writes it.
    pub fn parse(s: &str) -> Result<Sha256Digest, NotADigest> {
        if is_sha256_hex(s) {
            Ok(Sha256Digest(s.to_string()))
        } else {
            Err(NotADigest(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256Digest {
    type Error = NotADigest;
    fn try_from(s: String) -> Result<Self, NotADigest> {
        if is_sha256_hex(&s) {
            Ok(Sha256Digest(s))
        } else {
            Err(NotADigest(s))
        }
    }
}

impl From<Sha256Digest> for String {
    fn from(d: Sha256Digest) -> String {
        d.0
    }
}

impl std::fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Sha256Digest {
    type Err = NotADigest;
    fn from_str(s: &str) -> Result<Self, NotADigest> {
        Sha256Digest::parse(s)
    }
}

impl PartialEq<str> for Sha256Digest {
    fn eq(&self, o: &str) -> bool {
        self.0 == o
    }
}

/// A signing key from its 32-byte seed in hex (surrounding white space ignored).
pub fn signing_key(seed_hex: &str) -> Result<SigningKey, KeyError> {
    let bytes = unhex(seed_hex.trim()).ok_or(KeyError::NotHex)?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::SeedLength)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A public key from hex.
pub fn verifying_key(hex_key: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = unhex(hex_key.trim()).ok_or(KeyError::NotHex)?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::PublicLength)?;
    VerifyingKey::from_bytes(&arr).map_err(|e| KeyError::Invalid(e.to_string()))
}

/// The hex public key of a signing key.
pub fn public_hex(k: &SigningKey) -> String {
    hex(k.verifying_key().as_bytes())
}

/// Signs `message`; the signature in hex.
pub fn sign_hex(k: &SigningKey, message: &[u8]) -> String {
    hex(&k.sign(message).to_bytes())
}

/// Whether `signature_hex` is `public_hex`'s signature of `message`. Malformed keys or
/// signatures simply do not verify.
pub fn verifies(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let Ok(key) = verifying_key(public_hex) else {
        return false;
    };
    let Some(sig) = unhex(signature_hex).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    key.verify(message, &Signature::from_bytes(&sig)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_holds_only_a_digest() {
        let d = Sha256Digest::of(b"plan");
        assert_eq!(Sha256Digest::parse(d.as_str()), Ok(d.clone()));
        assert!(Sha256Digest::parse(&d.as_str().to_uppercase()).is_err());
        assert!(Sha256Digest::parse("abc").is_err());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Sha256Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Sha256Digest>("\"not a digest\"").is_err());
    }

    #[test]
    fn a_signature_verifies_only_for_its_key_and_message() {
        let k = signing_key(&"11".repeat(32)).unwrap();
        let other = signing_key(&"22".repeat(32)).unwrap();
        let sig = sign_hex(&k, b"digest");
        assert!(verifies(&public_hex(&k), b"digest", &sig));
        assert!(!verifies(&public_hex(&other), b"digest", &sig));
        assert!(!verifies(&public_hex(&k), b"other", &sig));
        assert!(!verifies("zz", b"digest", &sig));
        assert!(!verifies(&public_hex(&k), b"digest", "00"));
    }

    #[test]
    fn hex_is_strict() {
        assert_eq!(unhex("0aFf"), Some(vec![10, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("+1"), None);
        assert_eq!(unhex("abc"), None);
        assert!(is_sha256_hex(&sha256_hex(b"x")));
        assert!(!is_sha256_hex(&"../".repeat(21)));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
    }
}
