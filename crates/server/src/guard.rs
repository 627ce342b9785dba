//! The one gate in front of every route: who is asking (session cookie or API token),
//! whether the IR plan's roles allow the route, whether a form carries its session's CSRF
//! token, and whether a restricted case exists for this person at all.

use crate::error::Failure;
use crate::html;
use crate::routes::{RouteSpec, Surface};
use crate::state::Shared;
use app::people::{Person, TokenScope};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The session cookie's name (`__Host-` when cookies are secure: no Domain, Path=/).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-fb_session"
    } else {
        "fb_session"
    }
}

/// The largest form body the guard reads to find the CSRF token.
const FORM_LIMIT: usize = 1 << 20;

#[derive(Clone)]
pub struct Guarded {
    pub shared: Arc<Shared>,
    pub spec: &'static RouteSpec,
}

pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who the ALB's verified identity header names, with a session for them (a new one, to
/// set as the cookie, unless the browser's session is already theirs).
async fn from_alb(
    shared: &Arc<Shared>,
    trust: &crate::alb::AlbTrust,
    headers: &HeaderMap,
) -> Result<Option<(Person, Option<String>)>, Failure> {
    let Some(token) = headers
        .get(crate::alb::HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let now_s = shared.app.now_ms() / 1000;
    let name = match crate::alb::verify(trust, token, now_s).await {
        Ok(n) => n,
        Err(refusal) => {
            let reason = refusal.to_string();
            shared
                .with_store(move |s, store| {
                    Ok(store.log_access(
                        "(alb)",
                        store::AccessAction::SignInFailed,
                        serde_json::json!({"method": "alb", "reason": reason}),
                        s.app.now_ms(),
                    )?)
                })
                .await?;
            return Err(Failure::Unauthenticated);
        }
    };
    let cookie = cookie(headers, cookie_name(shared.config.secure_cookies)).map(str::to_string);
    shared
        .with_store(move |s, store| {
            if let Some(c) = &cookie
                && let Some(p) = app::people::session(&s.app, store, c)?
                && p.user == name
            {
                return Ok(Some((p, None)));
            }
            let signed = app::people::sso_session(&s.app, store, &name, "alb")
                .map_err(|_| Failure::Forbidden(format!("an enabled account named {name}")))?;
            Ok(Some((signed.person, Some(signed.token))))
        })
        .await
}

/// A session (browser) or an API token (`Authorization: Bearer fbt_…`, API routes only).
async fn authenticate(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    surface: Surface,
) -> Result<Option<Person>, Failure> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    let (secret, is_token) = match (bearer, surface) {
        (Some(secret), Surface::Api) => (secret, true),
        _ => match cookie(headers, cookie_name(shared.config.secure_cookies)) {
            Some(token) => (token.to_string(), false),
            None => return Ok(None),
        },
    };
    // Who a secret names is kept until the store changes (a sign-out, a disabled account
    // and a revoked token are all commits); expiry is checked on every request.
    let person = shared
        .with_store(move |s, store| {
            let key = format!("{}{}", u8::from(is_token), identity::token_hash(&secret));
            s.kept.people.get_or_load(s.store_version()?, key, || {
                Ok(if is_token {
                    app::people::token(&s.app, store, &secret)?
                } else {
                    app::people::session(&s.app, store, &secret)?
                })
            })
        })
        .await?;
    let now = shared.app.now_ms();
    Ok(person.as_ref().clone().filter(|p| !p.expired(now)))
}

/// The CSRF token a state-changing request carries: the `x-csrf-token` header, a `csrf`
/// form field, or (multipart uploads) a `csrf` query parameter.
fn csrf_of(headers: &HeaderMap, query: Option<&str>, form: Option<&[u8]>) -> Option<String> {
    if let Some(h) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Some(h.to_string());
    }
    let find = |bytes: &[u8]| {
        url_pairs(bytes)
            .into_iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v)
    };
    form.and_then(find)
        .or_else(|| query.and_then(|q| find(q.as_bytes())))
}

fn url_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// The case id of a case-scoped path (`/cases/{id}/…`, `/api/v1/cases/{id}/…`).
fn case_of(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/api/v1/cases/")
        .or_else(|| path.strip_prefix("/cases/"))?;
    Some(rest.split('/').next().unwrap_or(rest))
}

fn deny(surface: Surface, f: Failure, path_and_query: &str) -> Response {
    match (&f, surface) {
        (Failure::Unauthenticated, Surface::Page) => {
            let next = html::query_value(path_and_query);
            Redirect::to(&format!("/sign-in?next={next}")).into_response()
        }
        (_, Surface::Page) => html::error_page(&f),
        _ => f.into_response(),
    }
}

/// The guard itself (see the module documentation).
pub async fn check(State(g): State<Guarded>, req: Request, next: Next) -> Response {
    let spec = g.spec;
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let Some(needs) = spec.needs else {
        return page_errors(spec.surface, next.run(req).await);
    };
    let mut new_session = None;
    let alb = match &g.shared.config.alb {
        Some(trust) => from_alb(&g.shared, trust, req.headers()).await,
        None => Ok(None),
    };
    let person = match alb {
        Ok(Some((p, fresh))) => {
            new_session = fresh;
            p
        }
        Ok(None) => match authenticate(&g.shared, req.headers(), spec.surface).await {
            Ok(Some(p)) => p,
            Ok(None) => return deny(spec.surface, Failure::Unauthenticated, &path_and_query),
            Err(f) => return deny(spec.surface, f, &path_and_query),
        },
        Err(f) => return deny(spec.surface, f, &path_and_query),
    };
    let writes = req.method() != Method::GET && req.method() != Method::HEAD;
    if writes && person.scope == Some(TokenScope::Read) {
        return deny(
            spec.surface,
            Failure::Forbidden("a token with scope work".into()),
            &path_and_query,
        );
    }
    // Restricted cases first: an outsider learns nothing, not even that a permission is
    // missing.
    if spec.case_scoped() {
        let Some(id) = case_of(req.uri().path()).and_then(|s| s.parse::<case::CaseId>().ok())
        else {
            return deny(
                spec.surface,
                Failure::NotFound("case".into()),
                &path_and_query,
            );
        };
        let viewer = person.contact.clone();
        let visible =
            g.shared
                .with_store(move |s, store| {
                    let seen = s.kept.visible.get_or_load(
                        s.store_version()?,
                        (id, viewer.clone()),
                        || Ok(store.may_see(id, store::Viewer::Contact(&viewer))?),
                    )?;
                    Ok(*seen)
                })
                .await;
        match visible {
            Ok(true) => {}
            Ok(false) => {
                return deny(
                    spec.surface,
                    Failure::NotFound(format!("case {id}")),
                    &path_and_query,
                );
            }
            Err(f) => return deny(spec.surface, f, &path_and_query),
        }
    }
    if !person.grants.may(needs) {
        return deny(
            spec.surface,
            Failure::Forbidden(needs.name().into()),
            &path_and_query,
        );
    }
    let mut req = req;
    if writes && person.scope.is_none() {
        // A browser session: the form must carry the session's CSRF token, and a browser
        // that says where the request came from must say it came from here.
        if let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let same = origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest == host);
            if !same {
                return deny(spec.surface, Failure::Csrf, &path_and_query);
            }
        }
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let csrf_ok = |given: Option<String>| matches!((&given, &person.csrf), (Some(g), Some(c)) if identity::same_secret(g, c));
        if is_form {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
                return deny(
                    spec.surface,
                    Failure::bad("body", "the form is larger than 1 MiB"),
                    &path_and_query,
                );
            };
            if !csrf_ok(csrf_of(&parts.headers, parts.uri.query(), Some(&bytes))) {
                return deny(spec.surface, Failure::Csrf, &path_and_query);
            }
            req = Request::from_parts(parts, Body::from(bytes));
        } else if !csrf_ok(csrf_of(req.headers(), req.uri().query(), None)) {
            return deny(spec.surface, Failure::Csrf, &path_and_query);
        }
    }
    req.extensions_mut().insert(person);
    let mut r = page_errors(spec.surface, next.run(req).await);
    if let Some(token) = new_session {
        let secure = g.shared.config.secure_cookies;
        r.headers_mut().append(
            header::SET_COOKIE,
            session_cookie(&token, secure, app::people::SESSION_MS / 1000),
        );
    }
    r
}

/// A cookie for this site only: HttpOnly, SameSite=Strict, Secure when configured.
pub fn cookie_header(
    name: &str,
    value: &str,
    secure: bool,
    max_age_s: i64,
) -> axum::http::HeaderValue {
    cookie_with(name, value, secure, max_age_s, "Strict", "/")
}

/// A cookie with its `SameSite` and `Path` (Lax only where another site's redirect must
/// bring it back, as the OpenID Connect provider's does).
pub fn cookie_with(
    name: &str,
    value: &str,
    secure: bool,
    max_age_s: i64,
    same_site: &str,
    path: &str,
) -> axum::http::HeaderValue {
    let flags = if secure { "; Secure" } else { "" };
    axum::http::HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age_s}{flags}"
    ))
    .unwrap_or_else(|_| axum::http::HeaderValue::from_static(""))
}

/// The session cookie.
pub fn session_cookie(token: &str, secure: bool, max_age_s: i64) -> axum::http::HeaderValue {
    cookie_header(cookie_name(secure), token, secure, max_age_s)
}

/// A failure a page handler returned, shown as a page.
fn page_errors(surface: Surface, r: Response) -> Response {
    if surface == Surface::Page
        && let Some(f) = r.extensions().get::<Failure>().cloned()
    {
        return html::error_page(&f);
    }
    r
}

/// Anything the table does not name.
pub async fn not_found(req: Request) -> Response {
    let f = Failure::NotFound(format!("{} {}", req.method(), req.uri().path()));
    if req.uri().path().starts_with("/api/") {
        f.into_response()
    } else {
        html::error_page(&f)
    }
}
