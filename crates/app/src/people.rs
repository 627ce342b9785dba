//! Accounts, sign-in and API tokens: the use cases behind `firebreak user …` and the team
//! server's sign-in. Passwords and tokens never reach the store in the clear.

use crate::access::{Grants, grants};
use crate::{App, Result};
use serde::Serialize;
use store::{AccessAction, SessionRow, Store, TokenRow, UserRow};

/// How long a sign-in lasts.
pub const SESSION_MS: i64 = 12 * 3_600_000;
/// Failed sign-ins for one account, within [`THROTTLE_WINDOW_MS`], before further attempts
/// are refused (even with the right password) until the window passes.
pub const THROTTLE_FAILURES: i64 = 5;
pub const THROTTLE_WINDOW_MS: i64 = 15 * 60_000;

/// Why a person could not be let in or an account change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessRefusal {
    #[error("wrong user name, password or one-time code")]
    BadCredentials,
    #[error("too many failed sign-ins for this account: try again in {minutes} minutes")]
    Throttled { minutes: i64 },
    #[error("{0} is not a contact in the IR plan: add them to `contacts` first")]
    UnknownContact(String),
    #[error("no user {0}")]
    NoUser(String),
    #[error("a token must expire within {max_days} days (asked for {days})")]
    TokenTooLong { days: i64, max_days: i64 },
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenScope {
    /// Reads only (GET).
    Read,
    /// Whatever the account's roles allow.
    Work,
}

impl TokenScope {
    pub fn name(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Work => "work",
        }
    }
    pub fn from_name(s: &str) -> Option<TokenScope> {
        match s {
            "read" => Some(TokenScope::Read),
            "work" => Some(TokenScope::Work),
            _ => None,
        }
    }
}

/// Longest an API token may live.
pub const TOKEN_MAX_DAYS: i64 = 90;

/// A new local account.
pub struct NewUser<'a> {
    pub name: &'a str,
    /// The IR plan contact id (defaults to the name).
    pub contact: Option<&'a str>,
    /// `None`: the account signs in only through SSO.
    pub password: Option<&'a str>,
    /// Give the account a TOTP second factor.
    pub totp: bool,
}

/// What adding an account made: the TOTP secret to enrol in an authenticator, if any.
pub struct AddedUser {
    pub user: UserRow,
    pub totp_secret: Option<String>,
}

fn check_contact(app: &App, contact: &str) -> Result<()> {
    if let Some(p) = &app.settings.plan
        && p.plan.contact(contact).is_none()
    {
        return Err(AccessRefusal::UnknownContact(contact.to_string()).into());
    }
    Ok(())
}

/// Adds a local account mapped to an IR plan contact.
pub fn add_user(app: &App, store: &mut Store, new: &NewUser<'_>) -> Result<AddedUser> {
    let contact = new.contact.unwrap_or(new.name);
    check_contact(app, contact)?;
    let password = new.password.map(identity::hash_password).transpose()?;
    let totp_secret = new.totp.then(identity::new_totp_secret).transpose()?;
    let user = UserRow {
        name: new.name.to_string(),
        contact: contact.to_string(),
        password,
        totp: totp_secret.is_some(),
        totp_secret: totp_secret.clone(),
        disabled: false,
        created_ms: app.now_ms(),
    };
    store.add_user(&user, &app.settings.actor, app.now_ms())?;
    Ok(AddedUser { user, totp_secret })
}

pub fn set_disabled(app: &App, store: &mut Store, name: &str, disabled: bool) -> Result<()> {
    Ok(store.set_user_disabled(name, disabled, &app.settings.actor, app.now_ms())?)
}

/// A signed-in person: their account, contact and what the IR plan lets them do.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub user: String,
    pub contact: String,
    /// How they proved it (`password`, `password+totp`, `oidc`, `alb`, `token`).
    pub method: String,
    pub grants: Grants,
    /// An API token's scope; `None` for a browser session.
    pub scope: Option<TokenScope>,
    /// The session's CSRF token (browser sessions only).
    #[serde(skip)]
    pub csrf: Option<String>,
    /// When the session or token stops counting (ms since the epoch).
    #[serde(skip)]
    pub expires_ms: Option<i64>,
}

impl Person {
    fn new(app: &App, user: String, contact: String, method: String) -> Person {
        let grants = grants(app.settings.plan.as_ref().map(|p| &p.plan), &contact);
        Person {
            user,
            contact,
            method,
            grants,
            scope: None,
            csrf: None,
            expires_ms: None,
        }
    }

    /// Whether the session or token has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|e| e <= now_ms)
    }

    /// The viewer restricted cases are checked against.
    pub fn viewer(&self) -> store::Viewer<'_> {
        store::Viewer::Contact(&self.contact)
    }
}

/// A new session: the secret for the cookie (never stored) and who it is.
pub struct SignedIn {
    pub token: String,
    pub person: Person,
    pub expires_ms: i64,
}

/// Checks a password (and one-time code when the account has one) and starts a session.
/// Failures and throttled attempts are logged; a missing account costs as much as a wrong
/// password.
pub fn sign_in(
    app: &App,
    store: &mut Store,
    name: &str,
    password: &str,
    code: Option<&str>,
) -> Result<SignedIn> {
    let now = app.now_ms();
    let failures = store.failed_sign_ins(name, now - THROTTLE_WINDOW_MS)?;
    if failures >= THROTTLE_FAILURES {
        store.log_access(
            name,
            AccessAction::SignInThrottled,
            serde_json::json!({"failures": failures}),
            now,
        )?;
        return Err(AccessRefusal::Throttled {
            minutes: THROTTLE_WINDOW_MS / 60_000,
        }
        .into());
    }
    let user = store.user(name)?;
    let phc = user
        .as_ref()
        .and_then(|u| u.password.as_deref())
        .unwrap_or(identity::decoy_hash());
    let password_ok = identity::verify_password(password, phc)?;
    let (ok, method, reason) = match &user {
        None => (false, "password", "no such account"),
        Some(u) if u.disabled => (false, "password", "account disabled"),
        Some(u) if u.password.is_none() => {
            (false, "password", "account has no password (SSO only)")
        }
        Some(_) if !password_ok => (false, "password", "wrong password"),
        Some(u) => match &u.totp_secret {
            None => (true, "password", ""),
            Some(secret) => {
                let unix_s = u64::try_from(now / 1000).unwrap_or(0);
                if code.is_some_and(|c| identity::verify_totp(secret, c, unix_s).unwrap_or(false)) {
                    (true, "password+totp", "")
                } else {
                    (false, "password+totp", "wrong or missing one-time code")
                }
            }
        },
    };
    if !ok {
        store.log_access(
            name,
            AccessAction::SignInFailed,
            serde_json::json!({"method": method, "reason": reason}),
            now,
        )?;
        return Err(AccessRefusal::BadCredentials.into());
    }
    let user = user.expect("checked above");
    start_session(app, store, user.name, user.contact, method)
}

/// Starts a session for an account someone has proved (locally or through SSO).
pub fn start_session(
    app: &App,
    store: &mut Store,
    user: String,
    contact: String,
    method: &str,
) -> Result<SignedIn> {
    let now = app.now_ms();
    let token = identity::new_token("fbs_")?;
    let csrf = identity::new_token("")?;
    let expires_ms = now + SESSION_MS;
    store.add_session(
        &identity::token_hash(&token),
        &user,
        &csrf,
        method,
        now,
        expires_ms,
    )?;
    let mut person = Person::new(app, user, contact, method.to_string());
    person.csrf = Some(csrf);
    Ok(SignedIn {
        token,
        person,
        expires_ms,
    })
}

/// Who holds this session cookie, if it is live.
pub fn session(app: &App, store: &Store, token: &str) -> Result<Option<Person>> {
    let row: Option<SessionRow> = store.session(&identity::token_hash(token), app.now_ms())?;
    Ok(row.map(|s| {
        let mut p = Person::new(app, s.user, s.contact, s.method);
        p.csrf = Some(s.csrf);
        p.expires_ms = Some(s.expires_ms);
        p
    }))
}

pub fn sign_out(app: &App, store: &mut Store, token: &str) -> Result<()> {
    Ok(store.end_session(&identity::token_hash(token), app.now_ms())?)
}

/// A new API token: the secret (shown once) and its record.
pub struct IssuedToken {
    pub secret: String,
    pub token: TokenRow,
}

/// Issues an API token for `user` that expires in `days`.
pub fn issue_token(
    app: &App,
    store: &mut Store,
    user: &str,
    scope: TokenScope,
    days: i64,
) -> Result<IssuedToken> {
    if !(1..=TOKEN_MAX_DAYS).contains(&days) {
        return Err(AccessRefusal::TokenTooLong {
            days,
            max_days: TOKEN_MAX_DAYS,
        }
        .into());
    }
    let u = store
        .user(user)?
        .ok_or_else(|| AccessRefusal::NoUser(user.to_string()))?;
    let secret = identity::new_token("fbt_")?;
    let now = app.now_ms();
    let token = TokenRow {
        id: identity::token_hash(&secret)[..12].to_string(),
        user: u.name,
        contact: u.contact,
        scope: scope.name().to_string(),
        created_ms: now,
        expires_ms: now + days * 86_400_000,
    };
    store.add_token(&identity::token_hash(&secret), &token, &app.settings.actor)?;
    Ok(IssuedToken { secret, token })
}

/// Who holds this API token, if it is live.
pub fn token(app: &App, store: &Store, secret: &str) -> Result<Option<Person>> {
    let row = store.token(&identity::token_hash(secret), app.now_ms())?;
    Ok(row.map(|t| {
        let mut p = Person::new(app, t.user, t.contact, "token".into());
        p.scope = Some(TokenScope::from_name(&t.scope).unwrap_or(TokenScope::Read));
        p.expires_ms = Some(t.expires_ms);
        p
    }))
}

/// Starts a session for `name`, whom an identity provider the server trusts has vouched
/// for (`method`: `alb`, `oidc`). The account must exist and be enabled: SSO proves who
/// someone is, the accounts say who may come in. A refusal is logged.
pub fn sso_session(app: &App, store: &mut Store, name: &str, method: &str) -> Result<SignedIn> {
    match store.user(name)? {
        Some(u) if !u.disabled => start_session(app, store, u.name, u.contact, method),
        other => {
            let reason = if other.is_some() {
                "account disabled"
            } else {
                "no such account"
            };
            store.log_access(
                name,
                AccessAction::SignInFailed,
                serde_json::json!({"method": method, "reason": reason}),
                app.now_ms(),
            )?;
            Err(AccessRefusal::NoUser(name.to_string()).into())
        }
    }
}
