//! The page frame and the one way log-derived text reaches HTML: [`T`], which renders
//! through `neutral::html` (markup escaped, control and bidirectional characters replaced).

use crate::error::Failure;
use app::people::Person;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, Render, html};

/// Text from logs, users or the store, neutralised for HTML.
pub struct T<'a>(pub &'a str);

impl Render for T<'_> {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&neutral::html::text(self.0));
    }
}

/// The policy every response carries: scripts and styles only from this origin (no inline
/// script, no `eval`), no plugins, no framing, forms only back here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response.
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: under it browsers send `Origin: null` with every form post,
        // which the guard's same-origin check then (rightly) refuses.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

/// Percent-encodes a query value.
pub fn query_value(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A page in the frame: navigation, who is signed in, the body.
pub fn page(title: &str, who: Option<&Person>, body: Markup) -> Response {
    framed(title, who, body, false)
}

/// A page whose main content the page script refreshes when the store changes.
pub fn live_page(title: &str, who: &Person, body: Markup) -> Response {
    framed(title, Some(who), body, true)
}

fn framed(title: &str, who: Option<&Person>, body: Markup, live: bool) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (T(title)) " · Firebreak" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                header {
                    a.brand href="/cases" { "Firebreak" }
                    @if let Some(p) = who {
                        nav {
                            a href="/cases" { "Cases" }
                            @if p.grants.work { a href="/hunt" { "Hunt" } }
                            a href="/plan" { "IR plan" }
                            a href="/readiness" { "Readiness" }
                            a href="/rules" { "Rules" }
                            @if p.grants.admin { a href="/access" { "Access log" } }
                        }
                        form.signout method="post" action="/sign-out" {
                            (csrf(p))
                            span.who { (T(&p.user)) " (" (T(&p.contact)) ")" }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main data-live=[live.then_some("1")] { (body) }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf(p: &Person) -> Markup {
    html! { input type="hidden" name="csrf" value=(T(p.csrf.as_deref().unwrap_or(""))); }
}

/// A failure as a page with its status.
pub fn error_page(f: &Failure) -> Response {
    let body = html! {
        section.error {
            h1 { (f.status().as_u16()) " " (T(f.status().canonical_reason().unwrap_or(""))) }
            p.message { (T(&f.to_string())) }
            p { a href="/cases" { "Back to the cases" } }
        }
    };
    let mut r = page("Error", None, body);
    *r.status_mut() = f.status();
    r
}

/// Milliseconds since the epoch as UTC, or "time unknown".
pub fn time(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => model::time::format_iso(ms),
        None => "time unknown".into(),
    }
}
