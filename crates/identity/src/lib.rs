//! Who someone is, without storing anything that would let a thief be them: passwords as
//! Argon2id hashes (PHC strings), second factors as RFC 6238 one-time codes, and session
//! and API tokens as random secrets of which only the SHA-256 is kept.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use totp_rs::{Algorithm, Builder, Secret, Totp};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("the password is too short: use at least {MIN_PASSWORD} characters")]
    WeakPassword,
    #[error("hashing the password: {0}")]
    Hash(String),
    #[error("the stored password hash is not a PHC string: {0}")]
    BadHash(String),
    #[error("the TOTP secret is not valid base32 of at least 128 bits: {0}")]
    BadSecret(String),
    #[error("the system's random source failed: {0}")]
    Random(String),
}

pub type Result<T> = std::result::Result<T, IdentityError>;

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; responders' accounts
/// guard production credentials, so more).
pub const MIN_PASSWORD: usize = 12;

/// Hashes a password with Argon2id (the crate's defaults: 19 MiB, 2 passes) and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(IdentityError::WeakPassword);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| IdentityError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (constant-time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| IdentityError::BadHash(e.to_string()))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// A hash to compare against when the account does not exist, so a wrong name costs as
/// much time as a wrong password.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0mJbNpnqFbr3H5uIuB4gP3eBZxOeVEAVWIAvO1o4U5c"
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| IdentityError::Random(e.to_string()))?;
    Ok(b)
}

/// A new secret token (256 bits, URL-safe base64) prefixed with what it is for, e.g.
/// `fbs_` for sessions and `fbt_` for API tokens.
pub fn new_token(prefix: &str) -> Result<String> {
    Ok(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(random_bytes(32)?)
    ))
}

/// What the store keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new TOTP secret (160 bits, base32), for an authenticator app.
pub fn new_totp_secret() -> Result<String> {
    Ok(Secret::new(random_bytes(20)?.into_boxed_slice()).to_base32())
}

fn totp(secret_b32: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_b32.trim())
        .map_err(|e| IdentityError::BadSecret(format!("{e:?}")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .map_err(|e| IdentityError::BadSecret(format!("{e:?}")))
}

/// Whether `code` is the current one-time code (or the one 30 s either side) at `unix_s`.
pub fn verify_totp(secret_b32: &str, code: &str, unix_s: u64) -> Result<bool> {
    Ok(totp(secret_b32)?.check(code.trim(), unix_s).is_some())
}

/// The one-time code at `unix_s` (for tests and for showing a new secret works).
pub fn totp_code(secret_b32: &str, unix_s: u64) -> Result<String> {
    Ok(totp(secret_b32)?.generate(unix_s).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_itself() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h).unwrap());
        assert!(!verify_password("correct horse batterx", &h).unwrap());
        assert!(!verify_password("anything at all here", decoy_hash()).unwrap());
        assert!(matches!(
            hash_password("short"),
            Err(IdentityError::WeakPassword)
        ));
    }

    #[test]
    fn one_time_codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) → 287082 for 6 digits.
        let secret = Secret::new(b"12345678901234567890".to_vec().into_boxed_slice()).to_base32();
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
        assert!(verify_totp(&secret, "287082", 59).unwrap());
        assert!(
            verify_totp(&secret, "287082", 80).unwrap(),
            "one step of skew"
        );
        assert!(!verify_totp(&secret, "287082", 200).unwrap());
        let fresh = new_totp_secret().unwrap();
        let now = totp_code(&fresh, 1_000_000).unwrap();
        assert!(verify_totp(&fresh, &now, 1_000_000).unwrap());
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token("fbt_").unwrap();
        let b = new_token("fbt_").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("fbt_") && a.len() > 40);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
    }
}
