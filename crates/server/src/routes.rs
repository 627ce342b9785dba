//! Every route, declared once: its method, path, surface, the permission it needs and what
//! it does. The router, the guard and the OpenAPI document are all made from this table,
//! so none can drift from the others.

use crate::state::Shared;
use crate::{api, guard, live, openapi, pages};
use app::access::Permission;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// An HTTP method the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }
}

/// Who a route answers and how it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// A UI page or form: errors are pages, no session is a redirect to sign-in.
    Page,
    /// `/api/v1`: JSON in and out, no session is 401.
    Api,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub verb: Verb,
    pub path: &'static str,
    pub surface: Surface,
    /// `None`: open to anyone (health, sign-in, static assets, the OpenAPI document).
    pub needs: Option<Permission>,
    pub summary: &'static str,
}

impl RouteSpec {
    /// Routes under one case (`{id}`): hidden (404) from people a restricted case is not
    /// restricted to.
    pub fn case_scoped(&self) -> bool {
        self.path.contains("{id}")
    }
}

macro_rules! needs {
    (open) => {
        None
    };
    ($p:ident) => {
        Some(Permission::$p)
    };
}

macro_rules! verb {
    (Get, $h:expr) => {
        get($h)
    };
    (Post, $h:expr) => {
        post($h)
    };
}

macro_rules! routes {
    ($( $verb:ident $path:literal $surface:ident $needs:ident $summary:literal => $handler:expr; )*) => {
        /// The route table.
        pub const ROUTES: &[RouteSpec] = &[
            $( RouteSpec {
                verb: Verb::$verb,
                path: $path,
                surface: Surface::$surface,
                needs: needs!($needs),
                summary: $summary,
            }, )*
        ];

        /// The router, each route behind the guard with its own entry of [`ROUTES`].
        pub fn router(shared: Arc<Shared>) -> Router {
            let mut r: Router<Arc<Shared>> = Router::new();
            let mut i = 0;
            $(
                let spec: &'static RouteSpec = &ROUTES[i];
                r = r.route(
                    $path,
                    verb!($verb, $handler).route_layer(axum::middleware::from_fn_with_state(
                        guard::Guarded { shared: shared.clone(), spec },
                        guard::check,
                    )),
                );
                i += 1;
            )*
            debug_assert_eq!(i, ROUTES.len());
            r.fallback(guard::not_found)
                .layer(axum::middleware::map_response(crate::html::security_headers))
                .with_state(shared)
        }
    };
}

routes! {
    Get "/health" Page open "Liveness: answers without touching the store" => live::health;
    Get "/static/{file}" Page open "Stylesheet and the page script (same origin, no inline script)" => pages::asset;
    Get "/sign-in" Page open "The sign-in form" => pages::sign_in_form;
    Post "/sign-in" Page open "Sign in with a local account (password, one-time code)" => pages::sign_in;
    Get "/sign-in/oidc" Page open "Sign in through the organization's OpenID Connect provider" => pages::oidc_start;
    Get "/sign-in/oidc/callback" Page open "Where the OpenID Connect provider sends the browser back" => pages::oidc_callback;
    Post "/sign-out" Page View "Sign out" => pages::sign_out;
    Get "/" Page View "Home: the case queue" => pages::home;
    Get "/cases" Page View "The case queue, with filters" => pages::queue;
    Get "/cases/{id}" Page View "A case" => pages::case_page;
    Get "/cases/{id}/timeline" Page View "A case's timeline, paged and filtered" => pages::timeline;
    Get "/cases/{id}/record" Page View "One timeline event's original record" => pages::record;
    Get "/cases/{id}/responses/{plan}" Page View "A response plan: dry-run calls, approvals, receipts, call log" => pages::response;
    Get "/cases/{id}/export" Page View "The case's export document (JSON)" => api::export;
    Post "/cases/{id}/notes" Page Work "Add a note or communication note" => pages::add_note;
    Get "/cases/{id}/review" Page View "The post-incident review drafted from the case (HTML download, every figure with its source)" => api::review_document;
    Post "/cases/{id}/review" Page Work "Write a field of the post-incident review's narrative" => pages::set_review;
    Post "/cases/{id}/tasks" Page Work "Add a task" => pages::add_task;
    Post "/cases/{id}/tasks/{task}/close" Page Work "Close a task" => pages::close_task;
    Post "/cases/{id}/tags" Page Work "Tag or untag" => pages::tag;
    Post "/cases/{id}/owner" Page Work "Assign the owner" => pages::assign;
    Post "/cases/{id}/phase" Page Work "Move the case to another phase (its guards apply)" => pages::transition;
    Post "/cases/{id}/restrict" Page Admin "Restrict the case to named people, or lift it" => pages::restrict;
    Post "/cases/{id}/responses" Page Work "Plan a response (with its dry-run)" => pages::plan_response;
    Post "/cases/{id}/responses/{plan}/approve" Page Approve "Approve a response plan as yourself" => pages::approve;
    Post "/cases/{id}/responses/{plan}/run" Page Work "Run an approved response plan" => pages::run;
    Post "/cases/{id}/responses/{plan}/rollback" Page Work "Roll a response plan back" => pages::rollback;
    Get "/hunt" Page Work "Upload log files to hunt into cases" => pages::hunt_form;
    Post "/hunt" Page Work "Hunt uploaded files into cases" => pages::hunt;
    Get "/plan" Page View "The IR plan with its check results" => pages::ir_plan;
    Get "/readiness" Page View "Readiness: the latest report and the IR plan's own checks" => pages::readiness;
    Post "/readiness" Page Work "Run the readiness checks through AWS now" => pages::run_readiness;
    Get "/rules" Page View "Detection rules, and which fired" => pages::rules;
    Get "/access" Page Admin "Sign-ins, failures and account changes" => pages::access_log;
    Get "/live" Page View "Server-sent events: the store changed" => live::events;
    Get "/api/v1/openapi.json" Api open "This document" => openapi::document;
    Get "/api/v1/me" Api View "Who you are and what the IR plan lets you do" => api::me;
    Get "/api/v1/cases" Api View "The case queue (filters: severity, phase, owner, tag, q, breached, closed, offset, limit)" => api::cases;
    Get "/api/v1/cases/{id}" Api View "A case with its alerts, entities, tasks, notes, audit and responses" => api::case;
    Get "/api/v1/cases/{id}/timeline" Api View "A case's timeline page (filters: entity, from, to, alerts, offset, limit)" => api::timeline;
    Get "/api/v1/cases/{id}/record" Api View "One timeline event's original record (key)" => api::record;
    Get "/api/v1/cases/{id}/export" Api View "The case's export document" => api::export;
    Get "/api/v1/cases/{id}/responses/{plan}" Api View "A response plan with approvals, receipts and calls" => api::response;
    Post "/api/v1/cases/{id}/notes" Api Work "Add a note (text, communication)" => api::add_note;
    Get "/api/v1/cases/{id}/review" Api View "The post-incident review drafted now: sections, figures, rows and their sources" => api::review;
    Post "/api/v1/cases/{id}/review" Api Work "Write a review narrative field (field, text)" => api::set_review;
    Post "/api/v1/cases/{id}/tasks" Api Work "Add a task (title, assignee)" => api::add_task;
    Post "/api/v1/cases/{id}/tasks/{task}/close" Api Work "Close a task" => api::close_task;
    Post "/api/v1/cases/{id}/tags" Api Work "Tag or untag (tag, remove)" => api::tag;
    Post "/api/v1/cases/{id}/owner" Api Work "Assign the owner (owner)" => api::assign;
    Post "/api/v1/cases/{id}/phase" Api Work "Move to a phase (phase, reason)" => api::transition;
    Post "/api/v1/cases/{id}/restrict" Api Admin "Restrict to contacts (contacts: [])" => api::restrict;
    Post "/api/v1/cases/{id}/responses" Api Work "Plan a response (playbook, with a dry-run)" => api::plan_response;
    Post "/api/v1/cases/{id}/responses/{plan}/approve" Api Approve "Approve as yourself" => api::approve;
    Post "/api/v1/cases/{id}/responses/{plan}/run" Api Work "Run an approved plan" => api::run;
    Post "/api/v1/cases/{id}/responses/{plan}/rollback" Api Work "Roll back (steps: [])" => api::rollback;
    Post "/api/v1/hunt" Api Work "Hunt files into cases (paths on the server, or a body with ?name=)" => api::hunt;
    Get "/api/v1/plan" Api View "The IR plan's check results" => api::ir_plan;
    Get "/api/v1/readiness" Api View "The latest readiness report and the IR plan's own checks" => api::readiness;
    Post "/api/v1/readiness" Api Work "Run the readiness checks through AWS now" => api::run_readiness;
    Get "/api/v1/rules" Api View "Detection rules and how often each fired" => api::rules;
    Get "/api/v1/access" Api Admin "The access log" => api::access_log;
}
