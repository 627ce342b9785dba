//! `firebreak serve` (the team server) and `firebreak user …` (its accounts and tokens).

use crate::settings::{Output, StoreArgs, open_app};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use neutral::terminal::Printable;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where AWS is reached for response plans (an emulator).
    #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// A directory of your own playbooks; repeatable.
    #[arg(long = "playbooks", value_name = "DIR")]
    pub playbooks: Vec<PathBuf>,
    /// The server's Ed25519 seed (from `firebreak keygen`) with which it attests approvals
    /// by signed-in people; list its public key under `team_server.attestation_keys` in the
    /// IR plan for those approvals to count where approvals must be signed.
    #[arg(long, env = "FIREBREAK_ATTESTATION_KEY")]
    pub attestation_key: Option<PathBuf>,
    /// Mark cookies Secure: `auto` does unless the server listens on loopback (plain HTTP
    /// there); behind TLS (an ALB, a proxy) say `always`.
    #[arg(long, value_enum, default_value = "auto")]
    pub secure_cookies: SecureCookies,
    /// Behind an ALB that authenticates users: its ARN. The `x-amzn-oidc-data` header is
    /// then trusted once its ES256 signature verifies with the ALB's key and its signer is
    /// this load balancer; its email (else sub) must name an enabled account.
    #[arg(long)]
    pub alb_signer: Option<String>,
    /// Folder of the ALB's public keys, one PEM file per key id, kept by hand. Without it
    /// the keys are fetched by id from https://public-keys.auth.elb.REGION.amazonaws.com
    /// (the region of --alb-signer) as the ALB rotates them.
    #[arg(long, requires = "alb_signer", conflicts_with = "alb_keys_url")]
    pub alb_keys: Option<PathBuf>,
    /// Where to fetch the ALB's keys by id instead (another partition's endpoint, a mirror).
    #[arg(long, requires = "alb_signer")]
    pub alb_keys_url: Option<String>,
    /// Sign-in through your organization's OpenID Connect provider: its issuer URL
    /// (discovered at start). Register `PUBLIC_URL/sign-in/oidc/callback` as the redirect.
    #[arg(long, requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    /// The client id registered with the provider.
    #[arg(long)]
    pub oidc_client_id: Option<String>,
    /// A file holding the client secret (or `FIREBREAK_OIDC_CLIENT_SECRET`); none for a
    /// public client, which PKCE protects.
    #[arg(long)]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Which ID token claim names the Firebreak account: email, preferred_username or sub.
    #[arg(long, default_value = "email")]
    pub oidc_claim: String,
    /// The server's address as browsers reach it (default `http://LISTEN`).
    #[arg(long)]
    pub public_url: Option<String>,
    /// The rules hunts on the server run (bundled, plus `--rules DIR`).
    #[command(flatten)]
    pub rules: crate::rules_cmd::RuleArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum SecureCookies {
    Auto,
    Always,
    Never,
}

fn loopback(listen: &str) -> bool {
    listen
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or_else(|_| listen.starts_with("localhost:"))
}

pub fn serve(args: ServeArgs, store: &StoreArgs) -> Result<()> {
    let settings = store.resolve()?;
    let db = settings.db.clone();
    let configured = crate::settings::load_config(&store.config)?.aws_ip_ranges;
    let rules = app::rules::load(&args.rules.sources(configured.as_deref()))?;
    if !rules.errors.is_empty() {
        let listed: Vec<String> = rules.errors.iter().map(|e| format!("  {e}")).collect();
        if !args.rules.skip_invalid_rules {
            anyhow::bail!(
                "{} rule problem(s); hunts on the server would report a clean bill they have not earned (fix them, or pass --skip-invalid-rules to serve without them):\n{}",
                rules.errors.len(),
                listed.join("\n")
            );
        }
        eprintln!(
            "warning: --skip-invalid-rules: {} rule problem(s); those rules are not used (the rules page lists them):\n{}",
            rules.errors.len(),
            listed.join("\n")
        );
    }
    let rules = std::sync::Arc::new(server::ServerRules::new(rules));
    // Create the store (and its schema) before the first request.
    store::Store::open(&db)?;
    let app = open_app(settings, args.endpoint_url.as_deref())?;
    let attestation_key = args
        .attestation_key
        .as_deref()
        .map(|f| app.ports.keys.signing_key(f))
        .transpose()?;
    let secure_cookies = match args.secure_cookies {
        SecureCookies::Always => true,
        SecureCookies::Never => false,
        SecureCookies::Auto => !loopback(&args.listen),
    };
    let claim: server::oidc::IdentityClaim = args.oidc_claim.parse()?;
    let client_secret = match &args.oidc_client_secret_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading the OIDC client secret {}", f.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("FIREBREAK_OIDC_CLIENT_SECRET").ok(),
    };
    let mut config = server::ServerConfig {
        secure_cookies,
        attestation_key,
        playbooks: args.playbooks,
        alb: match args.alb_signer {
            None => None,
            Some(signer) => Some(server::alb::AlbTrust {
                keys: match args.alb_keys {
                    Some(dir) => server::alb::AlbKeys::Folder(dir),
                    None => server::alb::AlbKeys::for_signer(&signer, args.alb_keys_url.as_deref())
                        .map_err(anyhow::Error::msg)
                        .context("--alb-signer")?,
                },
                signer,
            }),
        },
        oidc: None,
        rules: Some(rules),
        cold_reads: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async move {
        let listener = server::bind(&args.listen).await?;
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(args.listen.clone());
        eprintln!(
            "firebreak serve: http://{addr}/ on {} (add a user with `firebreak user add NAME`)",
            db.display()
        );
        if let (Some(issuer), Some(client_id)) = (args.oidc_issuer, args.oidc_client_id) {
            let public_url = args.public_url.unwrap_or_else(|| format!("http://{addr}"));
            let oidc = server::oidc::Oidc::discover(server::oidc::OidcSettings {
                issuer,
                client_id,
                client_secret,
                public_url,
                claim,
            })
            .await?;
            eprintln!("firebreak serve: SSO through {}", oidc.issuer);
            config.oidc = Some(std::sync::Arc::new(oidc));
        }
        if !loopback(&addr) && !secure_cookies {
            eprintln!("warning: cookies are not Secure on a non-loopback address: put TLS in front and pass --secure-cookies always");
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        server::serve(app, config, listener, shutdown).await?;
        anyhow::Ok(())
    })
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a local account for an IR plan contact. The password is read from
    /// `FIREBREAK_PASSWORD`, else one line of standard input.
    Add {
        name: String,
        /// The IR plan contact id (default: the name).
        #[arg(long)]
        contact: Option<String>,
        /// Require a TOTP one-time code; the secret is printed once, to enrol.
        #[arg(long)]
        totp: bool,
        /// No password: the account signs in only through SSO.
        #[arg(long)]
        sso_only: bool,
    },
    /// The accounts.
    List {
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Disable an account: its sessions and tokens end.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Issue an API token (printed once; only its hash is kept).
    Token {
        name: String,
        #[arg(long, value_enum, default_value = "read")]
        scope: Scope,
        /// Days until it expires (at most 90).
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum Scope {
    Read,
    Work,
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("FIREBREAK_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!(
            "no password given: set FIREBREAK_PASSWORD or write it on standard input (or pass --sso-only)"
        );
    }
    Ok(p)
}

pub fn user(cmd: UserCommand, args: &StoreArgs) -> Result<()> {
    let settings = args.resolve()?;
    let mut store = store::Store::open(&settings.db)?;
    let app = open_app(settings, None)?;
    let mut out = Printable(std::io::stdout().lock());
    match cmd {
        UserCommand::Add {
            name,
            contact,
            totp,
            sso_only,
        } => {
            let password = (!sso_only).then(read_password).transpose()?;
            let added = app::people::add_user(
                &app,
                &mut store,
                &app::people::NewUser {
                    name: &name,
                    contact: contact.as_deref(),
                    password: password.as_deref(),
                    totp,
                },
            )?;
            writeln!(
                out,
                "user {} added as contact {}",
                added.user.name, added.user.contact
            )?;
            if let Some(secret) = added.totp_secret {
                writeln!(
                    out,
                    "TOTP secret (enrol it in an authenticator app now; it is not shown again): {secret}"
                )?;
            }
        }
        UserCommand::List { output } => {
            let users = store.users()?;
            match output {
                Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&users)?)?,
                Output::Text => {
                    for u in users {
                        let grants = app::access::grants(
                            app.settings.plan.as_ref().map(|p| &p.plan),
                            &u.contact,
                        );
                        writeln!(
                            out,
                            "{:<16} contact {:<14} {}{} roles {}",
                            u.name,
                            u.contact,
                            if u.disabled { "DISABLED " } else { "" },
                            if u.totp { "totp" } else { "" },
                            if grants.roles.is_empty() {
                                "-".into()
                            } else {
                                grants.roles.join(", ")
                            }
                        )?;
                    }
                }
            }
        }
        UserCommand::Disable { name } => {
            app::people::set_disabled(&app, &mut store, &name, true)?;
            writeln!(
                out,
                "user {name} disabled; its sessions and tokens are ended"
            )?;
        }
        UserCommand::Enable { name } => {
            app::people::set_disabled(&app, &mut store, &name, false)?;
            writeln!(out, "user {name} enabled")?;
        }
        UserCommand::Token { name, scope, days } => {
            let scope = match scope {
                Scope::Read => app::people::TokenScope::Read,
                Scope::Work => app::people::TokenScope::Work,
            };
            let t = app::people::issue_token(&app, &mut store, &name, scope, days)?;
            writeln!(out, "{}", t.secret)?;
            eprintln!(
                "token {} for {} (scope {}), expires {}; shown once",
                t.token.id,
                t.token.user,
                t.token.scope,
                model::time::format_iso(t.token.expires_ms)
            );
        }
    }
    Ok(())
}
