//! `firebreak keygen FILE`: an Ed25519 key for one person or one host. The secret seed
//! goes to FILE (created, mode 0600); the public key is printed, to be listed in the IR
//! plan (a contact's `approval_keys`, to approve response plans) or as the custody
//! ledger's `[evidence] public_key`.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub fn run(file: &Path) -> Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let hex = signing::hex(&seed);
    write_private(file, &hex)?;
    println!("{}", signing::public_hex(&signing::signing_key(&hex)?));
    eprintln!(
        "seed written to {}. To approve response plans, list the public key above under your \
         contact's approval_keys in the IR plan and set [approval] key_file (or pass --key); \
         to sign the custody ledger, set [evidence] signing_key_file to the file and list the \
         key in the IR plan's [forensics] custody_keys.",
        file.display()
    );
    Ok(())
}

/// Writes a secret readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
