//! The team server's people: local accounts, sign-in sessions, API tokens, the append-only
//! access log, and need-to-know restrictions of cases. Secrets are stored only as hashes
//! made by the caller (the `identity` crate); the store never sees a password or a token.

use super::*;
use crate::cases::{CASE_COLUMNS, raw_case};

/// A local account, mapped to an IR plan contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub name: String,
    /// The IR plan contact id this account signs in as.
    pub contact: String,
    /// Argon2id PHC string; `None` for accounts that only sign in through SSO.
    #[serde(skip)]
    pub password: Option<String>,
    /// Base32 TOTP secret, when the account uses a second factor.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    pub totp: bool,
    pub disabled: bool,
    pub created_ms: i64,
}

/// A live sign-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user: String,
    pub contact: String,
    /// The per-session token every state-changing form must echo.
    pub csrf: String,
    /// How the person signed in (`password`, `password+totp`, `oidc`, `alb`).
    pub method: String,
    pub expires_ms: i64,
}

/// A live API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    pub id: String,
    pub user: String,
    pub contact: String,
    pub scope: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// What an access-log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessAction {
    UserAdded,
    UserDisabled,
    UserEnabled,
    SignedIn,
    SignInFailed,
    SignInThrottled,
    SignedOut,
    TokenCreated,
}

impl AccessAction {
    pub fn name(self) -> &'static str {
        match self {
            AccessAction::UserAdded => "user added",
            AccessAction::UserDisabled => "user disabled",
            AccessAction::UserEnabled => "user enabled",
            AccessAction::SignedIn => "signed in",
            AccessAction::SignInFailed => "sign-in failed",
            AccessAction::SignInThrottled => "sign-in throttled",
            AccessAction::SignedOut => "signed out",
            AccessAction::TokenCreated => "token created",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    pub at_ms: i64,
    pub user: String,
    pub action: String,
    pub detail: serde_json::Value,
}

/// Who is looking: restricted cases are shown only to the contacts they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer<'a> {
    /// The local command line, run by whoever holds the store file.
    Local,
    /// A signed-in IR plan contact.
    Contact(&'a str),
}

/// The case queue's filters; every one is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub severity: Option<Severity>,
    pub phase: Option<Phase>,
    pub owner: Option<String>,
    pub tag: Option<String>,
    /// Words the title must contain (case-insensitive).
    pub text: Option<String>,
    pub include_closed: bool,
}

/// A page of rows and how many match (counted up to [`COUNT_CAP`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
    /// More match than were counted.
    pub more: bool,
}

/// Counting stops here, so a page's work does not grow with the store's size.
pub const COUNT_CAP: i64 = 1_000;

/// The timeline page's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// Only events naming this entity value.
    pub entity: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Only events an alert fired on.
    pub alerts_only: bool,
}

const VISIBLE: &str = "(?1 IS NULL OR NOT EXISTS (SELECT 1 FROM case_restrictions r WHERE r.case_id = cases.id) \
     OR EXISTS (SELECT 1 FROM case_restrictions r WHERE r.case_id = cases.id AND r.contact = ?1))";

impl Viewer<'_> {
    fn contact(self) -> Option<String> {
        match self {
            Viewer::Local => None,
            Viewer::Contact(c) => Some(c.to_string()),
        }
    }
}

fn raw_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    let totp_secret: Option<String> = r.get(3)?;
    Ok(UserRow {
        name: r.get(0)?,
        contact: r.get(1)?,
        password: r.get(2)?,
        totp: totp_secret.is_some(),
        totp_secret,
        disabled: r.get(4)?,
        created_ms: r.get(5)?,
    })
}

fn log(
    conn: &Connection,
    user: &str,
    action: AccessAction,
    detail: serde_json::Value,
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO access_log (at_ms, user_name, action, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![now_ms, user, action.name(), detail.to_string()])?;
    Ok(())
}

impl Store {
    /// Adds a local account; the name must be new.
    pub fn add_user(&mut self, user: &UserRow, actor: &str, now_ms: i64) -> Result<()> {
        if user.name.trim().is_empty() || user.name.chars().any(char::is_control) {
            return Err(StoreError::Invalid(format!(
                "user name {:?}: give a non-empty name without control characters",
                user.name
            )));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
            [&user.name],
            |r| r.get(0),
        )?;
        if known {
            return Err(StoreError::Invalid(format!(
                "user {} already exists",
                user.name
            )));
        }
        tx.execute(
            "INSERT INTO users (name, contact, password, totp_secret, disabled, created_ms) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
            params![user.name, user.contact, user.password, user.totp_secret, now_ms],
        )?;
        log(
            &tx,
            &user.name,
            AccessAction::UserAdded,
            serde_json::json!({"by": actor, "contact": user.contact, "totp": user.totp_secret.is_some()}),
            now_ms,
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn users(&self) -> Result<Vec<UserRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, contact, password, totp_secret, disabled, created_ms FROM users ORDER BY name",
        )?;
        let rows = stmt
            .query_map([], raw_user)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, contact, password, totp_secret, disabled, created_ms FROM users WHERE name = ?1",
                [name],
                raw_user,
            )
            .optional()?)
    }

    /// Disables (or re-enables) an account; disabling ends its sessions and tokens.
    pub fn set_user_disabled(
        &mut self,
        name: &str,
        disabled: bool,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE users SET disabled = ?2 WHERE name = ?1",
            params![name, disabled],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("no user {name}")));
        }
        if disabled {
            tx.execute("DELETE FROM sessions WHERE user_name = ?1", [name])?;
            tx.execute(
                "UPDATE api_tokens SET revoked = 1 WHERE user_name = ?1",
                [name],
            )?;
        }
        let action = if disabled {
            AccessAction::UserDisabled
        } else {
            AccessAction::UserEnabled
        };
        log(&tx, name, action, serde_json::json!({"by": actor}), now_ms)?;
        tx.commit()?;
        Ok(())
    }

    /// Starts a session (its token's hash, the CSRF token) and logs the sign-in.
    pub fn add_session(
        &mut self,
        token_hash: &str,
        user: &str,
        csrf: &str,
        method: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO sessions (token_hash, user_name, csrf, method, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token_hash, user, csrf, method, now_ms, expires_ms],
        )?;
        tx.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [now_ms])?;
        log(
            &tx,
            user,
            AccessAction::SignedIn,
            serde_json::json!({"method": method}),
            now_ms,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The live session with this token hash, if its account is enabled.
    pub fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT s.user_name, u.contact, s.csrf, s.method, s.expires_ms FROM sessions s \
                 JOIN users u ON u.name = s.user_name \
                 WHERE s.token_hash = ?1 AND s.expires_ms > ?2 AND u.disabled = 0",
            )?
            .query_row(params![token_hash, now_ms], |r| {
                Ok(SessionRow {
                    user: r.get(0)?,
                    contact: r.get(1)?,
                    csrf: r.get(2)?,
                    method: r.get(3)?,
                    expires_ms: r.get(4)?,
                })
            })
            .optional()?)
    }

    /// Ends a session and logs the sign-out.
    pub fn end_session(&mut self, token_hash: &str, now_ms: i64) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user: Option<String> = tx
            .query_row(
                "SELECT user_name FROM sessions WHERE token_hash = ?1",
                [token_hash],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(user) = user {
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            log(
                &tx,
                &user,
                AccessAction::SignedOut,
                serde_json::json!({}),
                now_ms,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores an API token by its hash.
    pub fn add_token(&mut self, token_hash: &str, t: &TokenRow, actor: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let enabled: Option<bool> = tx
            .query_row(
                "SELECT disabled = 0 FROM users WHERE name = ?1",
                [&t.user],
                |r| r.get(0),
            )
            .optional()?;
        if enabled != Some(true) {
            return Err(StoreError::Invalid(format!("no enabled user {}", t.user)));
        }
        tx.execute(
            "INSERT INTO api_tokens (token_hash, id, user_name, scope, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token_hash, t.id, t.user, t.scope, t.created_ms, t.expires_ms],
        )?;
        log(
            &tx,
            &t.user,
            AccessAction::TokenCreated,
            serde_json::json!({"by": actor, "token": t.id, "scope": t.scope, "expires_ms": t.expires_ms}),
            t.created_ms,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The live, unrevoked API token with this hash, if its account is enabled.
    pub fn token(&self, token_hash: &str, now_ms: i64) -> Result<Option<TokenRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT t.id, t.user_name, u.contact, t.scope, t.created_ms, t.expires_ms FROM api_tokens t \
                 JOIN users u ON u.name = t.user_name \
                 WHERE t.token_hash = ?1 AND t.expires_ms > ?2 AND t.revoked = 0 AND u.disabled = 0",
            )?
            .query_row(params![token_hash, now_ms], |r| {
                Ok(TokenRow {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    contact: r.get(2)?,
                    scope: r.get(3)?,
                    created_ms: r.get(4)?,
                    expires_ms: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// Appends to the access log.
    pub fn log_access(
        &mut self,
        user: &str,
        action: AccessAction,
        detail: serde_json::Value,
        now_ms: i64,
    ) -> Result<()> {
        log(&self.conn, user, action, detail, now_ms)
    }

    /// The access log, newest first.
    pub fn access_log(&self, limit: i64) -> Result<Vec<AccessEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at_ms, user_name, action, detail FROM access_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<(i64, i64, String, String, String)>>>()?;
        rows.into_iter()
            .map(|(id, at_ms, user, action, detail)| {
                Ok(AccessEntry {
                    id,
                    at_ms,
                    user,
                    action,
                    detail: from_json("access_log.detail", &detail)?,
                })
            })
            .collect()
    }

    /// Failed sign-ins for `user` since `since_ms` (what login throttling counts).
    pub fn failed_sign_ins(&self, user: &str, since_ms: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM access_log WHERE user_name = ?1 AND at_ms >= ?2 AND action = ?3",
            params![user, since_ms, AccessAction::SignInFailed.name()],
            |r| r.get(0),
        )?)
    }

    /// Restricts a case to the named contacts (need-to-know); an empty list lifts it.
    pub fn restrict_case(
        &mut self,
        id: CaseId,
        contacts: &[String],
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.change(id, |tx, _| {
            tx.execute("DELETE FROM case_restrictions WHERE case_id = ?1", [id.0])?;
            for c in contacts {
                tx.execute(
                    "INSERT OR IGNORE INTO case_restrictions (case_id, contact) VALUES (?1, ?2)",
                    params![id.0, c],
                )?;
            }
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::Restricted,
                serde_json::json!({ "to": contacts }),
            )
        })
    }

    /// The contacts a case is restricted to (empty: not restricted).
    pub fn case_restrictions(&self, id: CaseId) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT contact FROM case_restrictions WHERE case_id = ?1 ORDER BY contact",
        )?;
        let rows = stmt
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// Whether `viewer` may see case `id` (restricted cases only to their contacts).
    pub fn may_see(&self, id: CaseId, viewer: Viewer<'_>) -> Result<bool> {
        let sql = format!("SELECT {VISIBLE} FROM cases WHERE id = ?2");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![viewer.contact(), id.0], |r| r.get(0))
            .optional()?
            .unwrap_or(false))
    }

    /// One page of the case queue, most recently updated first, as `viewer` may see it.
    pub fn queue(
        &self,
        f: &QueueFilter,
        viewer: Viewer<'_>,
        offset: i64,
        limit: i64,
    ) -> Result<Page<CaseRow>> {
        let mut conds = vec!["merged_into IS NULL".to_string(), VISIBLE.to_string()];
        let mut args: Vec<rusqlite::types::Value> = vec![viewer.contact().into()];
        let mut arg = |v: rusqlite::types::Value, cond: &str, conds: &mut Vec<String>| {
            args.push(v);
            conds.push(cond.replace('?', &format!("?{}", args.len())));
        };
        if !f.include_closed && f.phase != Some(Phase::Closed) {
            conds.push("phase != 'closed'".into());
        }
        if let Some(s) = f.severity {
            arg(
                s.name().to_ascii_lowercase().into(),
                "severity = ?",
                &mut conds,
            );
        }
        if let Some(p) = f.phase {
            arg(p.name().to_string().into(), "phase = ?", &mut conds);
        }
        if let Some(o) = &f.owner {
            arg(o.clone().into(), "owner = ?", &mut conds);
        }
        if let Some(t) = &f.tag {
            arg(
                t.clone().into(),
                "EXISTS (SELECT 1 FROM tags g WHERE g.case_id = cases.id AND g.tag = ?)",
                &mut conds,
            );
        }
        if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let like = format!(
                "%{}%",
                t.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            arg(like.into(), "title LIKE ? ESCAPE '\\'", &mut conds);
        }
        let cond = conds.join(" AND ");
        let (total, more) = {
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM cases WHERE {cond} LIMIT {})",
                COUNT_CAP + 1
            );
            let n: i64 = self
                .conn
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            (n.min(COUNT_CAP), n > COUNT_CAP)
        };
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE {cond} ORDER BY updated_ms DESC, id DESC LIMIT {} OFFSET {}",
            limit.clamp(1, 500),
            offset.max(0)
        );
        let raws = self
            .conn
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(args.iter()), raw_case)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let rows = raws
            .into_iter()
            .map(|r| self.finish_case(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page { rows, total, more })
    }

    /// One event of a case's timeline by its key (the alerts are not looked up).
    pub fn timeline_event(&self, id: CaseId, key: &str) -> Result<Option<TimelineRow>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT e.data, e.raw FROM events e JOIN case_events ce ON ce.event_id = e.id \
                 WHERE e.key = ?2 AND ce.case_id = ?1",
            )?
            .query_row(params![id.0, key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        row.map(|(data, raw)| {
            Ok(TimelineRow {
                event: from_json("events.data", &data)?,
                alerts: Vec::new(),
                raw,
            })
        })
        .transpose()
    }

    /// One page of a case's timeline in time order, with the alerts raised on each event.
    pub fn timeline_page(
        &self,
        id: CaseId,
        f: &TimelineFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Page<TimelineRow>> {
        let mut conds = vec!["ce.case_id = ?1".to_string()];
        let mut args: Vec<rusqlite::types::Value> = vec![id.0.into()];
        if let Some(from) = f.from_ms {
            args.push(from.into());
            conds.push(format!("e.time_ms >= ?{}", args.len()));
        }
        if let Some(to) = f.to_ms {
            args.push(to.into());
            conds.push(format!("e.time_ms <= ?{}", args.len()));
        }
        if f.alerts_only {
            conds.push("EXISTS (SELECT 1 FROM alerts a WHERE a.event_key = e.key AND a.case_id = ce.case_id)".into());
        }
        if let Some(v) = f.entity.as_deref().filter(|v| !v.is_empty()) {
            // The entity as a JSON string value inside the normalised event.
            args.push(format!("%{}%", json(&v).replace('%', "\\%").replace('_', "\\_")).into());
            conds.push(format!("e.data LIKE ?{} ESCAPE '\\'", args.len()));
        }
        let cond = conds.join(" AND ");
        let from = "case_events ce JOIN events e ON e.id = ce.event_id";
        let n: i64 = self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {cond} LIMIT {})",
                COUNT_CAP + 1
            ))?
            .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
        let sql = format!(
            "SELECT e.data, e.raw, e.key FROM {from} WHERE {cond} \
             ORDER BY e.time_ms IS NULL, e.time_ms, e.id LIMIT {} OFFSET {}",
            limit.clamp(1, 500),
            offset.max(0)
        );
        let rows = self
            .conn
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // The titles of the alerts raised on the page's events, in one read.
        let keys = serde_json::to_string(&rows.iter().map(|(_, _, k)| k).collect::<Vec<_>>())
            .map_err(|source| StoreError::Json {
                what: "event keys",
                source,
            })?;
        let mut titles: std::collections::HashMap<String, Vec<String>> = Default::default();
        let found = self
            .conn
            .prepare_cached(
                "SELECT event_key, json_extract(data, '$.rule_title') FROM alerts \
                 WHERE case_id = ?1 AND event_key IN (SELECT value FROM json_each(?2)) ORDER BY id",
            )?
            .query_map(params![id.0, keys], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (key, title) in found {
            let list = titles.entry(key).or_default();
            if let Some(t) = title
                && !list.contains(&t)
            {
                list.push(t);
            }
        }
        let rows = rows
            .into_iter()
            .map(|(data, raw, key)| {
                Ok(TimelineRow {
                    event: from_json("events.data", &data)?,
                    alerts: titles.remove(&key).unwrap_or_default(),
                    raw,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            rows,
            total: n.min(COUNT_CAP),
            more: n > COUNT_CAP,
        })
    }
}

impl Store {
    /// Alerts stored per rule id.
    pub fn rule_counts(&self) -> Result<Vec<RuleCount>> {
        let mut stmt = self.conn.prepare(
            "SELECT json_extract(data, '$.rule_id'), max(json_extract(data, '$.rule_title')), \
             max(json_extract(data, '$.severity')), count(*) FROM alerts GROUP BY 1 ORDER BY 1",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<(Option<String>, Option<String>, Option<String>, i64)>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, title, level, alerts)| {
                id.map(|id| RuleCount {
                    title: title.unwrap_or_else(|| id.clone()),
                    id,
                    level: level.unwrap_or_default(),
                    alerts,
                })
            })
            .collect())
    }
}

/// How many alerts a rule raised in the store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleCount {
    pub id: String,
    pub title: String,
    pub level: String,
    pub alerts: i64,
}

impl Store {
    /// The newest audit entry's id: it moves whenever any case changes (hunts, notes,
    /// phases, responses), so a watcher can tell the store changed without reading it.
    /// SQLite's `PRAGMA data_version` on this connection: it differs from the last value
    /// read whenever another connection (another process or another handle) committed in
    /// between. A connection that never writes sees every commit made anywhere this way,
    /// at the cost of reading the shared WAL index, not the database.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    pub fn change_marker(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM audit", [], |r| r.get(0))?)
    }
}

impl Store {
    /// Bench fixture: copies case `template` (its alerts, entities and timeline) until the
    /// store holds `cases` live cases, each with `events_per_case` timeline events (the
    /// template's events repeated under new keys, a millisecond apart). One transaction.
    #[doc(hidden)]
    pub fn replicate_for_bench(
        &mut self,
        template: CaseId,
        cases: i64,
        events_per_case: i64,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let events: Vec<(String, Option<i64>, String, String)> = tx
            .prepare(
                "SELECT e.key, e.time_ms, e.data, e.raw FROM case_events ce JOIN events e ON e.id = ce.event_id \
                 WHERE ce.case_id = ?1 ORDER BY e.id",
            )?
            .query_map([template.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if events.is_empty() {
            return Err(StoreError::Invalid(format!(
                "case {template} has no timeline to copy"
            )));
        }
        let have: i64 = tx.query_row(
            "SELECT count(*) FROM cases WHERE merged_into IS NULL",
            [],
            |r| r.get(0),
        )?;
        {
            let mut case = tx.prepare(
                "INSERT INTO cases (title, phase, phase_since_ms, severity, severity_reasons, domains, tactics, techniques, \
                 owner, opened_ms, updated_ms, first_ms, last_ms, alert_count, response, response_since_ms) \
                 SELECT title || ' (copy ' || ?2 || ')', phase, phase_since_ms, severity, severity_reasons, domains, tactics, \
                 techniques, owner, opened_ms, updated_ms + ?2, first_ms, last_ms, alert_count, response, response_since_ms \
                 FROM cases WHERE id = ?1",
            )?;
            let mut alerts = tx.prepare(
                "INSERT INTO alerts (key, case_id, time_ms, event_key, data) \
                 SELECT key || '#' || ?2, ?2, time_ms, event_key || '#' || ?2 || '.0', data FROM alerts WHERE case_id = ?1",
            )?;
            let mut entities = tx.prepare(
                "INSERT INTO case_entities (case_id, kind, value, links, first_ms, last_ms) \
                 SELECT ?2, kind, value, links, first_ms, last_ms FROM case_entities WHERE case_id = ?1",
            )?;
            let mut event =
                tx.prepare("INSERT INTO events (key, time_ms, data, raw) VALUES (?1, ?2, ?3, ?4)")?;
            let mut link =
                tx.prepare("INSERT INTO case_events (case_id, event_id) VALUES (?1, ?2)")?;
            let mut transition = tx.prepare(
                "INSERT INTO transitions (case_id, from_phase, to_phase, actor, at_ms, reason) \
                 SELECT ?2, from_phase, to_phase, actor, at_ms, reason FROM transitions WHERE case_id = ?1",
            )?;
            for n in have..cases {
                case.execute(params![template.0, n])?;
                let id = CaseId(tx.last_insert_rowid());
                alerts.execute(params![template.0, id.0])?;
                entities.execute(params![template.0, id.0])?;
                transition.execute(params![template.0, id.0])?;
                for j in 0..events_per_case {
                    let (key, time, data, raw) = &events[(j as usize) % events.len()];
                    let round = j / events.len() as i64;
                    event.execute(params![
                        format!("{key}#{id}.{round}"),
                        time.map(|t| t + j),
                        data,
                        raw
                    ])?;
                    link.execute(params![id.0, tx.last_insert_rowid()])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}
