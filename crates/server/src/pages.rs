//! The web UI's pages and forms. Each reads through the same functions as the API
//! (`crate::api`) and renders; every text that came from logs or people goes through
//! [`T`] (neutral HTML).

use crate::api::{self, Change, QueueQuery, TimelineQuery};
use crate::error::{Failure, Result};
use crate::guard;
use crate::html::{T, csrf, live_page, page, query_value, time};
use crate::state::Shared;
use app::people::Person;
use axum::extract::{Extension, Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use case::CaseId;
use maud::html;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

type Who = Extension<Person>;
type St = State<Arc<Shared>>;

/// A JSON value as display text (strings as they are, null as empty).
fn txt(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> String {
    v.as_array()
        .map(|a| a.iter().map(txt).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

fn sev_class(s: &str) -> String {
    format!("sev-{}", s.to_ascii_lowercase())
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind): (&'static str, &'static str) = match file.as_str() {
        "app.css" => (include_str!("../static/app.css"), "text/css; charset=utf-8"),
        "app.js" => (
            include_str!("../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return Failure::NotFound(format!("/static/{file}")).into_response(),
    };
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    r
}

// --- sign-in -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// The pre-session cookie that ties the sign-in form to this browser (login CSRF).
const LOGIN_COOKIE: &str = "fb_login";

/// Only a path on this site, never another origin.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/cases".to_string(),
    }
}

fn sign_in_page(sso: bool, next: &str, login: &str, message: Option<&str>) -> Response {
    let body = html! {
        section.signin {
            h1 { "Sign in" }
            @if let Some(m) = message { p.bad role="alert" { (T(m)) } }
            form method="post" action="/sign-in" {
                input type="hidden" name="login" value=(T(login));
                input type="hidden" name="next" value=(T(next));
                p { label { "User " input name="user" autocomplete="username" required autofocus; } }
                p { label { "Password " input name="password" type="password" autocomplete="current-password" required; } }
                p { label { "One-time code (if enrolled) " input name="code" inputmode="numeric" autocomplete="one-time-code"; } }
                button type="submit" { "Sign in" }
            }
            @if sso {
                p.sso { a href={ "/sign-in/oidc?next=" (query_value(next)) } { "Sign in with your organization (SSO)" } }
            }
        }
    };
    page("Sign in", None, body)
}

/// The sign-in page with `status` and `message`, tied to this browser by a fresh
/// pre-session cookie (every answer that shows the form sets a new one).
fn sign_in_answer(
    s: &Shared,
    next: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Result<Response> {
    let login = identity::new_token("").map_err(|e| Failure::Internal(e.to_string()))?;
    let mut r = sign_in_page(s.config.oidc.is_some(), next, &login, message);
    *r.status_mut() = status;
    r.headers_mut().append(
        header::SET_COOKIE,
        guard::cookie_header(LOGIN_COOKIE, &login, s.config.secure_cookies, 600),
    );
    Ok(r)
}

pub async fn sign_in_form(State(s): St, Query(q): Query<NextQuery>) -> Result<Response> {
    sign_in_answer(&s, &safe_next(q.next.as_deref()), None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    pub user: String,
    pub password: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub login: Option<String>,
}

pub async fn sign_in(
    State(s): St,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Result<Response> {
    let next = safe_next(f.next.as_deref());
    let expected = guard::cookie(&headers, LOGIN_COOKIE).map(str::to_string);
    let same = matches!((&expected, &f.login), (Some(a), Some(b)) if identity::same_secret(a, b));
    if !same {
        let csrf = Failure::Csrf.to_string();
        return sign_in_answer(&s, &next, Some(&csrf), StatusCode::FORBIDDEN);
    }
    let user = f.user.trim().to_string();
    let code = f.code.clone().filter(|c| !c.trim().is_empty());
    let password = f.password.clone();
    let signed = s
        .with_store(move |s, store| {
            Ok(app::people::sign_in(
                &s.app,
                store,
                &user,
                &password,
                code.as_deref(),
            ))
        })
        .await?;
    match signed {
        Ok(signed) => {
            let mut r = Redirect::to(&next).into_response();
            let secure = s.config.secure_cookies;
            r.headers_mut().append(
                header::SET_COOKIE,
                guard::session_cookie(&signed.token, secure, app::people::SESSION_MS / 1000),
            );
            r.headers_mut().append(
                header::SET_COOKIE,
                guard::cookie_header(LOGIN_COOKIE, "", secure, 0),
            );
            Ok(r)
        }
        Err(e) => {
            let f = Failure::from(e);
            let message = match f {
                Failure::Unauthenticated => {
                    "Wrong user name, password or one-time code.".to_string()
                }
                other => other.to_string(),
            };
            sign_in_answer(&s, &next, Some(&message), StatusCode::UNAUTHORIZED)
        }
    }
}

/// The cookie that binds a started OpenID Connect sign-in to this browser.
const OIDC_COOKIE: &str = "fb_oidc";

pub async fn oidc_start(State(s): St, Query(q): Query<NextQuery>) -> Result<Response> {
    let oidc = s
        .config
        .oidc
        .clone()
        .ok_or_else(|| Failure::NotFound("OpenID Connect sign-in (not configured)".into()))?;
    let started = oidc.start(&safe_next(q.next.as_deref()), s.app.now_ms());
    let mut r = Redirect::to(&started.url).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        guard::cookie_with(
            OIDC_COOKIE,
            &started.state,
            s.config.secure_cookies,
            600,
            "Lax",
            "/sign-in/oidc",
        ),
    );
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Records a failed SSO sign-in and answers with the sign-in page saying why.
async fn oidc_refused(s: &Arc<Shared>, who: String, reason: String) -> Result<Response> {
    let logged = reason.clone();
    s.with_store(move |s, store| {
        Ok(store.log_access(
            &who,
            store::AccessAction::SignInFailed,
            serde_json::json!({"method": "oidc", "reason": logged}),
            s.app.now_ms(),
        )?)
    })
    .await?;
    let message = format!("SSO sign-in failed: {reason}");
    sign_in_answer(s, "/cases", Some(&message), StatusCode::UNAUTHORIZED)
}

pub async fn oidc_callback(
    State(s): St,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response> {
    let oidc = s
        .config
        .oidc
        .clone()
        .ok_or_else(|| Failure::NotFound("OpenID Connect sign-in (not configured)".into()))?;
    if let Some(error) = q.error {
        let detail = q
            .error_description
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return oidc_refused(
            &s,
            "(oidc)".into(),
            format!("the provider said {error}{detail}"),
        )
        .await;
    }
    let (Some(state), Some(code)) = (q.state, q.code) else {
        return Err(Failure::bad("code", "the provider sent no state or code"));
    };
    let bound =
        guard::cookie(&headers, OIDC_COOKIE).is_some_and(|c| identity::same_secret(c, &state));
    if !bound {
        return oidc_refused(
            &s,
            "(oidc)".into(),
            "this sign-in was not started in this browser".into(),
        )
        .await;
    }
    let finished = match oidc.finish(&state, &code, s.app.now_ms()).await {
        Ok(f) => f,
        Err(e) => return oidc_refused(&s, "(oidc)".into(), e.to_string()).await,
    };
    let name = finished.name.clone();
    let signed = s
        .with_store(move |s, store| Ok(app::people::sso_session(&s.app, store, &name, "oidc")))
        .await?;
    let signed = match signed {
        Ok(signed) => signed,
        Err(_) => {
            // `sso_session` has logged the failure with its reason.
            let message = format!(
                "the provider signed in {}, but no enabled Firebreak account has that name",
                finished.name
            );
            return sign_in_answer(&s, "/cases", Some(&message), StatusCode::FORBIDDEN);
        }
    };
    // The browser arrived from the provider's site, so a `SameSite=Strict` session cookie
    // would not go with an HTTP redirect onward; a page that moves on by itself is a
    // same-site navigation, which does carry it.
    let next = finished.next;
    let body = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={ "0;url=" (next) };
                title { "Signed in · Firebreak" }
            }
            body { p { "Signed in. " a href=(next) { "Continue" } } }
        }
    };
    let secure = s.config.secure_cookies;
    let mut r = axum::response::Html(body.into_string()).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        guard::session_cookie(&signed.token, secure, app::people::SESSION_MS / 1000),
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        guard::cookie_with(OIDC_COOKIE, "", secure, 0, "Lax", "/sign-in/oidc"),
    );
    Ok(r)
}

pub async fn sign_out(State(s): St, headers: HeaderMap) -> Result<Response> {
    let secure = s.config.secure_cookies;
    if let Some(token) = guard::cookie(&headers, guard::cookie_name(secure)).map(str::to_string) {
        s.with_store(move |s, store| Ok(app::people::sign_out(&s.app, store, &token)?))
            .await?;
    }
    let mut r = Redirect::to("/sign-in").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, guard::session_cookie("", secure, 0));
    Ok(r)
}

pub async fn home() -> Redirect {
    Redirect::to("/cases")
}

// --- the queue -------------------------------------------------------------------------

fn selected(current: &Option<String>, value: &str) -> bool {
    current.as_deref() == Some(value)
}

pub async fn queue(
    State(s): St,
    Extension(p): Who,
    Query(q): Query<QueueQuery>,
) -> Result<Response> {
    let keep = |k: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("&{k}={}", query_value(v)))
            .unwrap_or_default()
    };
    let link_base = format!(
        "/cases?{}{}{}{}{}{}{}",
        keep("severity", &q.severity),
        keep("phase", &q.phase),
        keep("owner", &q.owner),
        keep("tag", &q.tag),
        keep("q", &q.q),
        keep("breached", &q.breached),
        keep("closed", &q.closed)
    );
    let form = html! {
        form.filters method="get" action="/cases" {
            label { "Severity" select name="severity" {
                option value="" { "any" }
                @for sev in ["critical", "high", "medium", "low", "informational"] {
                    option value=(sev) selected[selected(&q.severity, sev)] { (sev) }
                }
            } }
            label { "Phase" select name="phase" {
                option value="" { "open" }
                @for ph in case::Phase::ALL {
                    option value=(ph.name()) selected[selected(&q.phase, ph.name())] { (ph.name()) }
                }
            } }
            label { "Owner" input name="owner" value=(T(q.owner.as_deref().unwrap_or(""))); }
            label { "Tag" input name="tag" value=(T(q.tag.as_deref().unwrap_or(""))); }
            label { "Text" input name="q" value=(T(q.q.as_deref().unwrap_or(""))); }
            label { "SLA breached" input type="checkbox" name="breached" value="1" checked[q.breached.is_some()]; }
            label { "Include closed" input type="checkbox" name="closed" value="1" checked[q.closed.is_some()]; }
            button type="submit" { "Filter" }
        }
    };
    let queue = api::queue_of(&s, &p, q).await?;
    let next = queue.offset + queue.limit;
    let body = html! {
        h1 { "Cases" }
        (form)
        p.muted { (queue.total) @if queue.more { "+" } " case(s)" }
        table id="queue" {
            thead { tr { th { "Case" } th { "Title" } th { "Severity" } th { "Level" } th { "Phase" } th { "Owner" } th { "Tags" } th { "Alerts" } th { "Updated" } th { "SLA" } } }
            tbody {
                @for r in &queue.rows {
                    tr data-case=(r.case.id) {
                        td { a href={"/cases/" (r.case.id)} { "#" (r.case.id) } }
                        td {
                            @if r.case.exercise.is_some() { span.badge.exercise title="opened by a game day; never counted in real metrics" { "EXERCISE" } " " }
                            a href={"/cases/" (r.case.id)} { (T(&r.case.title)) }
                        }
                        td { span class=(sev_class(r.case.severity.name())) { (r.case.severity.name()) } }
                        td { @if let Some(t) = &r.case.response { (T(&t.level)) " " (T(&t.level_name)) } }
                        td { (r.case.phase.name()) }
                        td { (T(r.case.owner.as_deref().unwrap_or("—"))) }
                        td { (T(&r.case.tags.join(", "))) }
                        td { (r.case.alert_count) }
                        td { (time(Some(r.case.updated_ms))) }
                        td { @if r.breached { span.breached { "breached" } } @else { span.ok { "ok" } } }
                    }
                }
            }
        }
        p {
            @if queue.offset > 0 { a href={(link_base) "&offset=" ((queue.offset - queue.limit).max(0))} { "← newer" } " " }
            @if (next as usize) < queue.total as usize || queue.more { a href={(link_base) "&offset=" (next)} { "older →" } }
        }
    };
    Ok(live_page("Cases", &p, body))
}

// --- a case ----------------------------------------------------------------------------

pub async fn case_page(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
) -> Result<Response> {
    let v = api::case_view(&s, id).await?;
    let c = &v["case"];
    if let Some(into) = c["merged_into"].as_i64() {
        return Ok(Redirect::to(&format!("/cases/{into}")).into_response());
    }
    let work = p.grants.work;
    let action = |what: &str| format!("/cases/{id}/{what}");
    let body = html! {
        h1 { "Case " (id) ": " (T(&txt(&c["title"]))) }
        @if let Some(run) = c["exercise"].as_str() {
            p.exercise { strong { "EXERCISE" } " — opened by game day " span.mono { (T(run)) } "; worked like a real case, never counted in real metrics." }
        }
        @if let Some(r) = v["restricted_to"].as_array().filter(|a| !a.is_empty()) {
            p.bad { "Restricted to " (T(&list(&Value::Array(r.clone())))) }
        }
        div.grid {
            section id="summary" {
                h2 { "Summary" }
                p { "Severity " span class=(sev_class(&txt(&c["severity"]))) { (T(&txt(&c["severity"]))) } " — " (T(&list(&c["severity_reasons"]))) }
                p { "Phase " strong { (T(&txt(&c["phase"]))) } " since " (time(c["phase_since_ms"].as_i64())) }
                p { "Owner " (T(c["owner"].as_str().unwrap_or("—"))) " · Tags " (T(&list(&c["tags"]))) }
                p { "Domains " (T(&list(&c["domains"]))) }
                p { "ATT&CK tactics " (T(&list(&c["tactics"]))) "; techniques " (T(&list(&c["techniques"]))) }
                p { "Activity " (time(c["first_ms"].as_i64())) " → " (time(c["last_ms"].as_i64())) "; " (txt(&c["alert_count"])) " alert(s), "
                    a href=(action("timeline")) { (txt(&v["timeline_events"])) " timeline event(s)" } }
                p { "Export: " a href=(action("export")) { "JSON" } " · " a href={(action("export")) "?format=csv"} { "timeline CSV" } " · "
                    a href={(action("export")) "?format=timesketch"} { "Timesketch JSONL" } }
            }
            section id="response-terms" {
                h2 { "Plan level and SLA" }
                @match v["clocks"].as_object() {
                    None => p.muted { "No IR plan level applies." },
                    Some(k) => {
                        p { (T(&txt(&k["level"]))) " " (T(&txt(&k["level_name"]))) " under " (T(&txt(&k["plan"]))) ", since " (time(k["since_ms"].as_i64())) }
                        table { tr { th { "Clock" } th { "Due" } th { "State" } }
                            @for pair in k["clocks"].as_array().into_iter().flatten() {
                                tr { td { (T(&txt(&pair[0]["name"]))) } td { (time(pair[0]["due_ms"].as_i64())) }
                                     td class=(if pair[1] == "breached" { "breached" } else { "" }) { (T(&txt(&pair[1]))) } }
                            }
                        }
                        @for e in k["escalated"].as_array().into_iter().flatten() {
                            p { "Escalated " (time(e[1].as_i64())) ": " (T(&list(&e[0]["notify"]))) }
                        }
                        @if let Some(n) = k["next"].as_array() {
                            p { "Next escalation " (time(n[1].as_i64())) ": " (T(&list(&n[0]["notify"]))) " unless acknowledged" }
                        } @else if k["acknowledged"] == true { p.ok { "Acknowledged: escalation stopped" } }
                    }
                }
            }
        }
        @if work {
            section id="change" {
                h2 { "Work the case" }
                form.inline method="post" action=(action("owner")) { (csrf(&p)) input name="owner" placeholder="owner" required; button { "Assign" } }
                form.inline method="post" action=(action("phase")) { (csrf(&p))
                    select name="phase" { @for ph in v["next_phases"].as_array().into_iter().flatten() { option { (T(&txt(ph))) } } }
                    input name="reason" placeholder="reason (when a guard asks)";
                    button { "Move" } }
                form.inline method="post" action=(action("tags")) { (csrf(&p)) input name="tag" placeholder="tag" required;
                    label { input type="checkbox" name="remove" value="1"; " remove" } button { "Tag" } }
                @if p.grants.admin {
                    form.inline method="post" action=(action("restrict")) { (csrf(&p))
                        input name="contacts" placeholder="contact ids (empty: lift)" value=(T(&list(&v["restricted_to"])));
                        button { "Restrict" } }
                }
            }
        }
        section id="entities" {
            h2 { "Entities" }
            table { tr { th { "Kind" } th { "Value" } th { "First seen" } th { "Last seen" } th { "Events" } th { "Alerts" } }
                @for e in v["entities"].as_array().into_iter().flatten() {
                    tr { td { (T(&txt(&e["entity"]["kind"]))) }
                         td.wrap { a href={(action("timeline")) "?entity=" (query_value(&txt(&e["entity"]["value"])))} { (T(&txt(&e["entity"]["value"]))) } }
                         td { (time(e["first_ms"].as_i64())) } td { (time(e["last_ms"].as_i64())) }
                         td { (txt(&e["events"])) } td { (txt(&e["alerts"])) } }
                }
            }
        }
        section id="blast-radius" {
            h2 { "Blast radius by actor" }
            table { tr { th { "Actor" } th { "Events" } th { "Services" } th { "Resources" } th { "Regions" } th { "Refused calls" } }
                @for b in v["blast_radius"].as_array().into_iter().flatten() {
                    @let r = &b["radius"];
                    @let keys = |m: &Value| m.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default();
                    tr { td.wrap { (T(&txt(&b["actor"]["value"]))) } td { (txt(&r["events"])) } td { (T(&keys(&r["services"]))) }
                         td.wrap { (T(&keys(&r["resources"]))) } td { (T(&keys(&r["regions"]))) }
                         td { (txt(&r["denied_calls"])) @if r["enumeration_suspected"] == true { span.bad { " enumeration suspected" } } } }
                }
            }
        }
        section id="alerts" {
            h2 { "Alerts" }
            table { tr { th { "Time" } th { "Rule" } th { "Severity" } th { "Operation" } th { "Principal" } th { "Source IP" } }
                @for a in v["alerts"].as_array().into_iter().flatten() {
                    tr { td { (time(a["time_ms"].as_i64())) } td { (T(&txt(&a["rule_title"]))) } td { (T(&txt(&a["severity"]))) }
                         td { (T(&txt(&a["operation"]))) } td.wrap { (T(&txt(&a["principal"]))) } td { (T(&txt(&a["src_ip"]))) } }
                }
            }
        }
        section id="responses" {
            h2 { "Response plans" }
            table { tr { th { "Plan" } th { "Playbook" } th { "By" } th { "Steps" } th { "Approved by" } th { "Progress" } }
                @for r in v["responses"].as_array().into_iter().flatten() {
                    tr { td { a href={(action("responses")) "/" (txt(&r["plan"]))} { "plan " (txt(&r["plan"])) } }
                         td { (T(&txt(&r["playbook"]))) } td { (T(&txt(&r["created_by"]))) } td { (txt(&r["steps"])) }
                         td { (T(&list(&r["approvers"]))) } td { (T(&txt(&r["progress"]))) } }
                }
            }
            @if work {
                form.inline method="post" action=(action("responses")) { (csrf(&p))
                    input name="playbook" placeholder="playbook (default: the plan's choice)";
                    button { "Plan a response (dry-run)" } }
            }
        }
        div.grid {
            section id="tasks" {
                h2 { "Tasks" }
                table { tr { th { "#" } th { "Task" } th { "Owner" } th { "Due" } th { "Status" } th {} }
                    @for t in v["tasks"].as_array().into_iter().flatten() {
                        tr { td { (txt(&t["id"])) } td { (T(&txt(&t["title"]))) } td { (T(&txt(&t["owner"]))) } td { (time(t["due_ms"].as_i64())) }
                             td { (T(&txt(&t["status"]))) }
                             td { @if work && t["status"] == "open" {
                                 form.inline method="post" action={(action("tasks")) "/" (txt(&t["id"])) "/close"} { (csrf(&p)) button { "Done" } } } } }
                    }
                }
                @if work { form.inline method="post" action=(action("tasks")) { (csrf(&p)) input name="title" placeholder="task" required; input name="assignee" placeholder="owner"; button { "Add task" } } }
            }
            section id="notes" {
                h2 { "Notes" }
                @for n in v["notes"].as_array().into_iter().flatten() {
                    div.note { p.muted { (time(n["at_ms"].as_i64())) " " (T(&txt(&n["actor"]))) @if n["communication"] == true { " · communication" } }
                               p { (T(&txt(&n["text"]))) } }
                }
                @if work { form method="post" action=(action("notes")) { (csrf(&p)) textarea name="text" rows="3" cols="60" required {}
                    br; label { input type="checkbox" name="communication" value="1"; " stakeholder communication" } " " button { "Add note" } } }
            }
            section id="review" {
                h2 { "Post-incident review" }
                @let r = &v["review"];
                p { @match r["finished"].as_object() {
                        Some(f) => { "Finished by " (T(&txt(&f["actor"]))) " " (time(f["at_ms"].as_i64())) }
                        None => { "Draft: not finished." }
                    }
                    " " a href=(action("review")) { "Download the review (HTML)" } }
                @for f in r["facts"].as_array().into_iter().flatten() {
                    p.muted { "Fact " (T(&txt(&f["fact"]))) " as of " (time(f["at_ms"].as_i64())) }
                }
                @for n in r["narrative"].as_array().into_iter().flatten() {
                    div.note { p.muted { (T(&txt(&n["field"]))) " · " (T(&txt(&n["actor"]))) " " (time(n["at_ms"].as_i64())) }
                               p { (T(&txt(&n["text"]))) } }
                }
                @if work { form method="post" action=(action("review")) { (csrf(&p))
                    select name="field" { @for f in report::Field::NAMED { option value=(f.name()) { (f.title()) } } }
                    br; textarea name="text" rows="4" cols="60" required {}
                    br; button { "Write" } } }
            }
        }
        section id="evidence" {
            h2 { "Evidence and custody" }
            @let e = &v["evidence"];
            @if let Some(err) = e["error"].as_str() { p.bad { "Custody ledger could not be read: " (T(err)) } }
            @else {
                p { "Ledger: " @if e["intact"] == true { span.ok { "verifies" } } @else { span.bad { "does NOT verify" } }
                    " (" (e["entries"].as_array().map_or(0, Vec::len)) " entries)" }
                @for pr in e["problems"].as_array().into_iter().flatten() { p.bad { (T(&txt(pr))) } }
                table { tr { th { "Seq" } th { "Time" } th { "Actor" } th { "Action" } th { "Artifact" } th { "Hash" } }
                    @for en in e["entries"].as_array().into_iter().flatten() {
                        tr { td { (txt(&en["seq"])) } td { (time(en["at_ms"].as_i64())) } td { (T(&txt(&en["actor"]))) } td { (T(&txt(&en["action"]))) }
                             td.wrap { (T(&txt(&en["artifact"]["name"]))) " " (T(&txt(&en["artifact"]["sha256"]))) } td.wrap { (T(&txt(&en["hash"]))) } }
                    }
                }
            }
        }
        section id="history" {
            h2 { "Phase history" }
            table { tr { th { "Time" } th { "From" } th { "To" } th { "By" } th { "Reason" } }
                @for t in v["transitions"].as_array().into_iter().flatten() {
                    tr { td { (time(t["at_ms"].as_i64())) } td { (T(&txt(&t["from"]))) } td { (T(&txt(&t["to"]))) } td { (T(&txt(&t["actor"]))) } td { (T(&txt(&t["reason"]))) } }
                }
            }
        }
        section id="audit" {
            h2 { "Audit log" }
            table { tr { th { "Time" } th { "Actor" } th { "Action" } th { "Detail" } }
                @for a in v["audit"].as_array().into_iter().flatten() {
                    tr { td { (time(a["at_ms"].as_i64())) } td { (T(&txt(&a["actor"]))) } td { (T(&txt(&a["action"]))) } td.wrap { (T(&txt(&a["detail"]))) } }
                }
            }
        }
    };
    Ok(live_page(&format!("Case {id}"), &p, body))
}

pub async fn timeline(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Query(q): Query<TimelineQuery>,
) -> Result<Response> {
    let page_rows = api::timeline_of(&s, id, &q).await?;
    let offset = q.offset.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(api::PAGE_ROWS).clamp(1, 500);
    let keep = |k: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("&{k}={}", query_value(v)))
            .unwrap_or_default()
    };
    let base = format!(
        "/cases/{id}/timeline?{}{}{}{}",
        keep("entity", &q.entity),
        keep("from", &q.from),
        keep("to", &q.to),
        keep("alerts", &q.alerts)
    );
    let body = html! {
        h1 { a href={"/cases/" (id)} { "Case " (id) } " timeline" }
        form.filters method="get" action={"/cases/" (id) "/timeline"} {
            label { "Entity" input name="entity" value=(T(q.entity.as_deref().unwrap_or(""))); }
            label { "From" input name="from" placeholder="2026-11-30T09:00:00Z" value=(T(q.from.as_deref().unwrap_or(""))); }
            label { "To" input name="to" value=(T(q.to.as_deref().unwrap_or(""))); }
            label { "Alerts only" input type="checkbox" name="alerts" value="1" checked[q.alerts.is_some()]; }
            button type="submit" { "Filter" }
        }
        p.muted { (page_rows.total) @if page_rows.more { "+" } " event(s)" }
        table id="timeline" {
            thead { tr { th { "Time" } th { "Source" } th { "Operation" } th { "Actor" } th { "Source IP" } th { "Outcome" } th { "Alerts" } th {} } }
            tbody {
                @for r in &page_rows.rows {
                    tr.alerted[!r.alerts.is_empty()] {
                        td { (time(r.event.time_ms)) }
                        td { (T(&r.event.source)) }
                        td { (T(r.event.operation.as_deref().unwrap_or(""))) }
                        td.wrap { (T(r.event.actor.as_deref().unwrap_or(""))) }
                        td { (T(r.event.src_ip.as_deref().unwrap_or(""))) }
                        td { (T(&r.event.outcome)) }
                        td { (T(&r.alerts.join(", "))) }
                        td { a href={"/cases/" (id) "/record?key=" (query_value(&r.event.key))} { "record" } }
                    }
                }
            }
        }
        p {
            @if offset > 0 { a href={(base) "&offset=" ((offset - limit).max(0))} { "← earlier" } " " }
            @if offset + limit < page_rows.total || page_rows.more { a href={(base) "&offset=" (offset + limit)} { "later →" } }
        }
    };
    Ok(live_page(&format!("Case {id} timeline"), &p, body))
}

pub async fn record(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Query(q): Query<api::RecordQuery>,
) -> Result<Response> {
    let (event, raw) = api::record_of(&s, id, q.key.clone()).await?;
    let pretty = serde_json::from_str::<Value>(&raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(raw);
    let body = html! {
        h1 { a href={"/cases/" (id)} { "Case " (id) } " · record" }
        p.mono { (T(&q.key)) }
        h2 { "As normalised" }
        pre id="event" { (T(&serde_json::to_string_pretty(&event).unwrap_or_default())) }
        h2 { "Original record" }
        pre id="record" { (T(&pretty)) }
    };
    Ok(page("Record", Some(&p), body))
}

pub async fn response(
    State(s): St,
    Extension(p): Who,
    Path((id, plan)): Path<(CaseId, i64)>,
) -> Result<Response> {
    let v = api::response_of(&s, id, plan).await?;
    let base = format!("/cases/{id}/responses/{plan}");
    let approved = v["approved"] == true;
    let body = html! {
        h1 { a href={"/cases/" (id)} { "Case " (id) } " · response plan " (plan) }
        p { "Playbook " strong { (T(&txt(&v["response_plan"]["playbook"]))) } " by " (T(&txt(&v["created_by"]))) " at " (time(v["created_ms"].as_i64())) }
        p.mono { "digest " (T(&txt(&v["digest"]))) }
        p { "Approval rule: " (T(&txt(&v["rule"]))) }
        @for n in v["notes"].as_array().into_iter().flatten() { p.bad { (T(&txt(n))) } }
        @if let Some(inc) = v["response_plan"]["incomplete"].as_array().filter(|a| !a.is_empty()) {
            p.bad { "Incomplete (its dry-run could not read AWS): " (T(&list(&Value::Array(inc.clone())))) }
        }
        section id="steps" {
            h2 { "Steps and the calls of the dry-run" }
            table { tr { th { "Step" } th { "Action" } th { "Target" } th { "Calls a run would make" } th { "Receipt" } }
                @for st in v["response_plan"]["steps"].as_array().into_iter().flatten() {
                    @let key = txt(&st["key"]);
                    @let dry = v["dry_run"].as_array().and_then(|d| d.iter().find(|d| d["key"] == st["key"]));
                    tr { td.wrap { (T(&key)) } td { (T(&txt(&st["action"]))) } td.wrap { (T(&txt(&st["target"]["id"]))) }
                         td.wrap { @match dry {
                             Some(d) => {
                                 @if let Some(e) = d["error"].as_str() { span.bad { (T(e)) } }
                                 @else if let Some(skip) = d["skip"].as_str() { "skipped: " (T(skip)) }
                                 @else if d["calls"].as_array().is_some_and(Vec::is_empty) { span.ok { "already in effect: nothing to send" } }
                                 @else { @for c in d["calls"].as_array().into_iter().flatten() { div { (T(&txt(c))) } } }
                             }
                             None => { span.muted { "templates: " } @for t in v["call_templates"].as_array().into_iter().flatten().filter(|t| t["key"] == st["key"]) { (T(&list(&t["calls"]))) } }
                         } }
                         td { (T(&txt(&v["receipts"][&key]["status"]))) } }
                }
            }
        }
        section id="approvals" {
            h2 { "Approvals" }
            table { tr { th { "By" } th { "When" } th { "How" } th { "Key" } }
                @for a in v["approvals"].as_array().into_iter().flatten() {
                    tr { td { (T(&txt(&a["by"]))) } td { (time(a["at_ms"].as_i64())) }
                         td { (T(&txt(&a["kind"]))) " " (T(&txt(&a["signed_in_by"]))) } td.wrap { (T(&txt(&a["key"]))) } }
                }
            }
            @if approved { p.ok { "Approved: the plan may run." } } @else { p.bad { (T(&txt(&v["pending"]))) } }
            @if p.grants.may(app::access::Permission::Approve) && !approved {
                form.inline method="post" action={(base) "/approve"} { (csrf(&p)) button id="approve" { "Approve as " (T(&p.contact)) } }
            }
            @if p.grants.work {
                form.inline method="post" action={(base) "/run"} { (csrf(&p)) button id="run" disabled[!approved] { "Run" } }
                form.inline method="post" action={(base) "/rollback"} { (csrf(&p)) button id="rollback" { "Roll back" } }
            }
        }
        section id="calls" {
            h2 { "Call log" }
            table { tr { th { "Time" } th { "Step" } th { "Phase" } th { "Call" } th { "Status" } }
                @for c in v["calls"].as_array().into_iter().flatten() {
                    tr { td { (time(c["at_ms"].as_i64())) } td.wrap { (T(&txt(&c["step"]))) } td { (T(&txt(&c["phase"]))) }
                         td { (T(&txt(&c["service"]))) ":" (T(&txt(&c["operation"]))) }
                         td class=(if c["ok"] == true { "ok" } else { "bad" }) { (T(&txt(&c["status"]))) } }
                }
            }
        }
        section id="receipts" {
            h2 { "Receipts" }
            pre { (T(&serde_json::to_string_pretty(&v["receipts"]).unwrap_or_default())) }
        }
    };
    Ok(live_page(&format!("Case {id} plan {plan}"), &p, body))
}

// --- forms -----------------------------------------------------------------------------

async fn change_then(
    s: &Arc<Shared>,
    p: &Person,
    id: CaseId,
    change: Change,
    back: String,
) -> Result<Response> {
    api::apply(s, p, id, change).await?;
    Ok(Redirect::to(&back).into_response())
}

fn case_url(id: CaseId) -> String {
    format!("/cases/{id}")
}

pub async fn add_note(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::NoteInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::Note(f), case_url(id)).await
}
pub async fn set_review(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::ReviewInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::Review(f), case_url(id)).await
}
pub async fn add_task(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::TaskInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::Task(f), case_url(id)).await
}
pub async fn close_task(
    State(s): St,
    Extension(p): Who,
    Path((id, task)): Path<(CaseId, i64)>,
    Form(f): Form<api::CloseInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::CloseTask(task, f), case_url(id)).await
}
pub async fn tag(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::TagInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::Tag(f), case_url(id)).await
}
pub async fn assign(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::OwnerInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::Owner(f), case_url(id)).await
}
pub async fn transition(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::PhaseInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::Phase(f), case_url(id)).await
}
pub async fn restrict(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::RestrictInput>,
) -> Result<Response> {
    change_then(&s, &p, id, Change::Restrict(f), case_url(id)).await
}
pub async fn plan_response(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Form(f): Form<api::PlanInput>,
) -> Result<Response> {
    let done = api::apply(&s, &p, id, Change::Plan(f)).await?;
    Ok(Redirect::to(&format!("/cases/{id}/responses/{}", txt(&done["plan"]))).into_response())
}
pub async fn approve(
    State(s): St,
    Extension(p): Who,
    Path((id, plan)): Path<(CaseId, i64)>,
) -> Result<Response> {
    change_then(
        &s,
        &p,
        id,
        Change::Approve(plan),
        format!("/cases/{id}/responses/{plan}"),
    )
    .await
}
pub async fn run(
    State(s): St,
    Extension(p): Who,
    Path((id, plan)): Path<(CaseId, i64)>,
) -> Result<Response> {
    change_then(
        &s,
        &p,
        id,
        Change::Run(plan),
        format!("/cases/{id}/responses/{plan}"),
    )
    .await
}
pub async fn rollback(
    State(s): St,
    Extension(p): Who,
    Path((id, plan)): Path<(CaseId, i64)>,
) -> Result<Response> {
    change_then(
        &s,
        &p,
        id,
        Change::Rollback(plan, api::RollbackInput::default()),
        format!("/cases/{id}/responses/{plan}"),
    )
    .await
}

// --- hunt, plan, readiness, rules, access ------------------------------------------------

pub async fn hunt_form(Extension(p): Who) -> Response {
    let body = html! {
        h1 { "Hunt" }
        p { "Upload CloudTrail, VPC Flow Logs, GuardDuty, Security Hub or other supported logs (gzip too); the bundled rules run over them and what fires opens or updates cases." }
        form method="post" action={"/hunt?csrf=" (query_value(p.csrf.as_deref().unwrap_or("")))} enctype="multipart/form-data" {
            input type="file" name="files" multiple required;
            button type="submit" { "Hunt" }
        }
    };
    page("Hunt", Some(&p), body)
}

/// Uploads are limited to this many bytes in all.
const UPLOAD_LIMIT: usize = 512 << 20;

pub async fn hunt(State(s): St, Extension(p): Who, mut form: Multipart) -> Result<Response> {
    let mut files = Vec::new();
    let mut total = 0usize;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Failure::bad("files", e.to_string()))?
    {
        let name = field.file_name().unwrap_or("upload.log").to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| Failure::bad("files", e.to_string()))?;
        total += bytes.len();
        if total > UPLOAD_LIMIT {
            return Err(Failure::bad(
                "files",
                "uploads are limited to 512 MiB; give a path on the server to the API instead",
            ));
        }
        if !bytes.is_empty() {
            files.push((name, bytes.to_vec()));
        }
    }
    let done = api::hunt_uploads(&s, &p, files).await?;
    let body = html! {
        h1 { "Hunt done" }
        p { (txt(&done["files"])) " file(s): " (txt(&done["alerts_new"])) " new alert(s), " (txt(&done["alerts_known"])) " already known, "
            (txt(&done["timeline_events"])) " timeline event(s) added." }
        p { "Cases opened: " @for c in done["cases_opened"].as_array().into_iter().flatten() { a href={"/cases/" (txt(c))} { "#" (txt(c)) } " " } }
        p { "Cases updated: " @for c in done["cases_updated"].as_array().into_iter().flatten() { a href={"/cases/" (txt(c))} { "#" (txt(c)) } " " } }
    };
    Ok(page("Hunt", Some(&p), body))
}

pub async fn ir_plan(State(s): St, Extension(p): Who) -> Response {
    let checks = match api::plan_checks(&s).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let rendered = s
        .app
        .settings
        .plan
        .as_ref()
        .map(|l| plan::render::blocks(&l.plan));
    let body = html! {
        h1 { "IR plan" }
        @match &rendered {
            None => p { "No IR plan is configured: write one with " code { "firebreak plan init" } " and pass it with --plan or firebreak.toml." },
            Some(doc) => {
                p { (T(&txt(&checks["plan"]))) " · " span.mono { (T(&txt(&checks["path"]))) } }
                h2 { "Checks" }
                @let problems = checks["problems"].as_array().cloned().unwrap_or_default();
                @if problems.is_empty() { p.ok { "No problems found." } }
                table id="checks" { tr { th { "Gravity" } th { "Line" } th { "Field" } th { "Problem" } }
                    @for x in &problems { tr { td { (T(&txt(&x["gravity"]))) } td { (txt(&x["line"])) } td { (T(&txt(&x["field"]))) } td { (T(&txt(&x["message"]))) } } } }
                h2 { "The plan" }
                article id="plan-document" { (plan_document(doc)) }
            }
        }
    };
    page("IR plan", Some(&p), body)
}

/// The IR plan as the document `firebreak plan render` writes, in the page's own markup
/// (headings one level down, under the page's title), every text escaped.
fn plan_document(blocks: &[plan::render::Block]) -> maud::Markup {
    use plan::render::Block;
    html! {
        @for b in blocks {
            @match b {
                Block::Heading(1, t) => h2 { (T(t)) },
                Block::Heading(2, t) => h3 { (T(t)) },
                Block::Heading(_, t) => h4 { (T(t)) },
                Block::Para(t) => p { (T(t)) },
                Block::List(items) => ul { @for i in items { li { (T(i)) } } },
                Block::Table(head, rows) => table {
                    tr { @for h in head { th { (T(h)) } } }
                    @for r in rows { tr { @for c in r { td { (T(c)) } } } }
                },
            }
        }
    }
}

/// A readiness report (as the JSON `firebreak readiness -o json` prints): its score, each
/// practice's and every finding.
fn readiness_report(id: &str, r: &Value) -> maud::Markup {
    html! {
        p id={ (id) "-score" } { strong { (txt(&r["score"]["percent"])) "%" } " (" (txt(&r["score"]["passed"])) " of " (txt(&r["score"]["total"])) " checks pass) against " (T(&txt(&r["plan"]))) }
        table id={ (id) "-practices" } { tr { th { "Practice" } th { "Score" } }
            @for x in r["practices"].as_array().into_iter().flatten() {
                tr { td { (T(&txt(&x["practice"]))) " " (T(&txt(&x["title"]))) } td { (txt(&x["score"]["passed"])) "/" (txt(&x["score"]["total"])) } } } }
        table id={ (id) "-findings" } { tr { th { "Status" } th { "Check" } th { "Account" } th { "Region" } th { "Found" } th { "Fix" } }
            @for f in r["findings"].as_array().into_iter().flatten() {
                tr data-status=(T(&txt(&f["status"]))) { td { (T(&txt(&f["status"]))) } td { (T(&txt(&f["title"]))) br; span.mono.muted { (T(&txt(&f["check"]))) } }
                   td.mono { (T(&txt(&f["account"]))) } td { (T(&txt(&f["region"]))) } td.wrap { (T(&txt(&f["detail"]))) } td.wrap { (T(&txt(&f["fix"]))) } } } }
    }
}

pub async fn readiness(State(s): St, Extension(p): Who) -> Result<Response> {
    if s.app.settings.plan.is_none() {
        let body = html! { h1 { "Readiness" } p { "Readiness needs an IR plan." } };
        return Ok(page("Readiness", Some(&p), body));
    }
    let view = api::readiness_of(&s).await?;
    let latest = &view["latest"];
    let body = html! {
        h1 { "Readiness" }
        h2 { "The accounts, through AWS" }
        @if latest.is_null() {
            p id="readiness-none" { "No readiness report yet. Run one here, or with " code { "firebreak readiness" } " on this store." }
        } @else {
            p.muted id="readiness-run" { "Run " (time(latest["at_ms"].as_i64())) " by " (T(&txt(&latest["actor"]))) "." }
            (readiness_report("latest", &latest["report"]))
        }
        @if p.grants.may(app::access::Permission::Work) {
            form method="post" action="/readiness" {
                (csrf(&p))
                button type="submit" { "Run readiness now" }
                span.muted { " assumes the responder role into each account the plan names; reads only" }
            }
        }
        h2 { "The IR plan's own checks, now" }
        (readiness_report("plan", &view["plan_checks"]))
    };
    Ok(page("Readiness", Some(&p), body))
}

pub async fn run_readiness(State(s): St, Extension(p): Who) -> Result<Response> {
    api::run_readiness_as(&s, &p).await?;
    Ok(Redirect::to("/readiness").into_response())
}

pub async fn rules(State(s): St, Extension(p): Who) -> Result<Response> {
    let view = api::rules_of(&s).await?;
    let origin = |o: app::rules::RuleOrigin| match o {
        app::rules::RuleOrigin::Bundled => "bundled",
        app::rules::RuleOrigin::Custom => "custom",
    };
    let custom = view
        .loaded
        .iter()
        .filter(|r| r.rule.origin == app::rules::RuleOrigin::Custom)
        .count();
    let body = html! {
        h1 { "Rules" }
        p.muted { (view.loaded.len() - custom) " bundled and " (custom) " custom rule(s) and correlation(s) run on hunts here" }
        table id="rules" { tr { th { "Rule" } th { "Origin" } th { "Level" } th { "Tags" } th { "Fired" } }
            @for r in &view.loaded { tr data-rule=(T(&r.rule.id)) { td { (T(&r.rule.title)) br; span.mono.muted { (T(&r.rule.id)) } }
                                    td { (origin(r.rule.origin)) @if r.rule.origin == app::rules::RuleOrigin::Custom { br; span.mono.muted { (T(&r.rule.file)) } } }
                                    td { (r.rule.level.name()) }
                                    td { (T(&r.rule.tags.join(", "))) } td { (r.fired) } } } }
        @if !view.elsewhere.is_empty() {
            h2 { "Fired here, not loaded by the server" }
            p.muted { "Rules that raised alerts in this store through a hunt with other rules (for example " code { "firebreak hunt --cases --rules DIR" } ")." }
            table id="rules-elsewhere" { tr { th { "Rule" } th { "Level" } th { "Fired" } }
                @for r in &view.elsewhere { tr data-rule=(T(&r.id)) { td { (T(&r.title)) br; span.mono.muted { (T(&r.id)) } } td { (T(&r.level)) } td { (r.alerts) } } } }
        }
        @if !view.skipped.is_empty() {
            h2 { "Left out: did not load" }
            ul id="rules-skipped" { @for e in &view.skipped { li.mono { (T(e)) } } }
        }
    };
    Ok(page("Rules", Some(&p), body))
}

pub async fn access_log(State(s): St, Extension(p): Who) -> Result<Response> {
    let entries = s.with_store(|_, store| Ok(store.access_log(500)?)).await?;
    let body = html! {
        h1 { "Access log" }
        table id="access" { tr { th { "Time" } th { "User" } th { "What" } th { "Detail" } }
            @for e in &entries { tr { td { (time(Some(e.at_ms))) } td { (T(&e.user)) } td { (T(&e.action)) } td.wrap { (T(&e.detail.to_string())) } } } }
    };
    Ok(page("Access log", Some(&p), body))
}
