//! The team server in process (no network, no AWS): every route behind the guard, sign-in
//! with its throttle and second factor, CSRF, the IR plan's roles, restricted cases, the
//! OpenAPI document against the route table, hostile log text and the CSP.

use app::people::NewUser;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use server::routes::{ROUTES, Surface, Verb};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const HOSTILE: &str = "<img src=x onerror=alert(1)>";
const PASSWORD: &str = "correct horse battery staple";

/// Fails the test if a use case reaches for AWS: nothing here may.
struct NoAws;

impl app::ports::AwsAccess for NoAws {
    fn caller<'a>(&'a self, _: Option<&'a str>) -> app::ports::PortFuture<'a, aws::Connection> {
        panic!("these tests must not reach AWS")
    }
}

fn trail(dir: &Path) {
    let record = serde_json::json!({"Records": [{
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAFIREBREAKCI", "arn": "arn:aws:iam::111122223333:user/ci-deployer",
                          "accountId": "111122223333", "accessKeyId": "AKIAFIREBREAKLEAKED1", "userName": "ci-deployer"},
        "eventTime": "2026-11-30T10:00:00Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": HOSTILE,
        "requestParameters": {"userName": "svc-backup"},
        "responseElements": {"accessKey": {"accessKeyId": "AKIAFIREBREAKNEW0001", "status": "Active", "userName": "svc-backup"}},
        "requestID": "7e1a", "eventID": "5b0c8e0e-1f0a-4a43-9f51-7d0c7b3a5e01", "readOnly": false,
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333"}]});
    std::fs::write(dir.join("trail.json"), record.to_string()).unwrap();
}

struct World {
    _tmp: tempfile::TempDir,
    router: Router,
    app: Arc<app::App>,
}

fn app_for(dir: &Path) -> app::App {
    let plan_path = dir.join("ir-plan.toml");
    std::fs::write(&plan_path, include_str!("../../plan/src/example.toml")).unwrap();
    let settings = app::Settings {
        db: dir.join("firebreak.db"),
        actor: "tester".into(),
        grouping: case::GroupingConfig::default(),
        plan: Some(app::settings::read_plan(&plan_path).unwrap()),
        evidence: app::EvidenceSettings {
            locker: Some(dir.join("evidence")),
            ..Default::default()
        },
        approval: Default::default(),
        exhaustive_timeline: false,
    };
    app::App::new(
        settings,
        app::Ports {
            clock: Arc::new(app::ports::SystemClock),
            aws: Arc::new(NoAws),
            keys: Arc::new(app::ports::KeyFiles),
            notifier: Arc::new(app::ports::Silent),
            faults: Arc::new(app::ports::NoFaults),
        },
    )
}

/// A store with one case (from a record whose user agent is hostile, and a hostile note)
/// and accounts for alice (incident commander), carmen (responder), dana (CISO: view only)
/// and counsel (third party).
fn world() -> World {
    world_with(server::ServerConfig::default())
}

fn world_with(config: server::ServerConfig) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    trail(dir);
    let app = app_for(dir);
    let mut store = store::Store::open(&app.settings.db).unwrap();
    let inputs = ingest::expand_inputs(&[dir.join("trail.json")]).unwrap();
    let run = app::pipeline::detect_and_open(&app, &mut store, &inputs).unwrap();
    assert_eq!(
        run.hunt.cases_opened,
        vec![case::CaseId(1)],
        "{:?}",
        run.hunt
    );
    store
        .add_note(
            case::CaseId(1),
            &format!("attacker said {HOSTILE}"),
            false,
            "tester",
            1,
        )
        .unwrap();
    for who in ["alice", "carmen", "dana", "counsel"] {
        app::people::add_user(
            &app,
            &mut store,
            &NewUser {
                name: who,
                contact: None,
                password: Some(PASSWORD),
                totp: false,
            },
        )
        .unwrap();
    }
    let router = server::router(app_for(dir), config);
    World {
        _tmp: tmp,
        router,
        app: Arc::new(app),
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(router: &Router, req: Request<Body>) -> Reply {
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "text/event-stream")
    {
        // The live stream never ends; its status and type are what count here.
        return Reply {
            status,
            headers,
            body: String::new(),
        };
    }
    let body =
        String::from_utf8_lossy(&r.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Reply {
        status,
        headers,
        body,
    }
}

fn cookies(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {body}"));
    let rest = &body[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn attempt(router: &Router, user: &str, password: &str, code: &str) -> Reply {
    let form = send(
        router,
        Request::get("/sign-in?next=/cases")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    let login = cookies(&form.headers)
        .into_iter()
        .find(|(k, _)| k == "fb_login")
        .unwrap()
        .1;
    let body = format!(
        "user={user}&password={}&code={code}&next=%2Fcases&login={login}",
        password.replace(' ', "+")
    );
    send(
        router,
        Request::post("/sign-in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("fb_login={login}"))
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn sign_in(router: &Router, user: &str) -> Browser {
    let r = attempt(router, user, PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/cases");
    let session = cookies(&r.headers)
        .into_iter()
        .find(|(k, _)| k == "fb_session")
        .unwrap()
        .1;
    let set = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(
        set.iter().any(|c| c.starts_with("fb_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Strict")),
        "{set:?}"
    );
    let cookie = format!("fb_session={session}");
    let page = send(
        router,
        Request::get("/cases")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    Browser {
        csrf: hidden(&page.body, "csrf"),
        cookie,
    }
}

/// `GET path` as the signed-in `b`.
async fn get_as(router: &Router, b: &Browser, path: &str) -> Reply {
    send(
        router,
        Request::get(path)
            .header(header::COOKIE, &b.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// A concrete path for a route: ids filled in.
fn concrete(path: &str, case: i64) -> String {
    path.replace("{id}", &case.to_string())
        .replace("{plan}", "1")
        .replace("{task}", "1")
        .replace("{file}", "app.css")
}

fn request(verb: Verb, path: &str, b: Option<&Browser>, surface: Surface) -> Request<Body> {
    let mut r = match verb {
        Verb::Get => Request::get(path),
        Verb::Post => Request::post(path),
    };
    if let Some(b) = b {
        r = r
            .header(header::COOKIE, &b.cookie)
            .header("x-csrf-token", &b.csrf);
    }
    let body = match (verb, surface) {
        (Verb::Post, Surface::Api) => {
            r = r.header(header::CONTENT_TYPE, "application/json");
            Body::from("{}")
        }
        (Verb::Post, Surface::Page) => {
            r = r.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(format!("csrf={}", b.map_or("", |b| b.csrf.as_str())))
        }
        _ => Body::empty(),
    };
    r.body(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_strangers_outsiders_and_the_unpermitted() {
    let w = world();
    let guarded: Vec<_> = ROUTES.iter().filter(|r| r.needs.is_some()).collect();
    assert!(guarded.len() > 40, "{}", guarded.len());
    // No session: 401 from the API, a redirect to sign-in from the UI.
    for r in &guarded {
        let path = concrete(r.path, 1);
        let reply = send(&w.router, request(r.verb, &path, None, r.surface)).await;
        match r.surface {
            Surface::Api => {
                assert_eq!(
                    reply.status,
                    StatusCode::UNAUTHORIZED,
                    "{} {path}",
                    r.verb.name()
                );
                assert!(reply.body.contains("\"unauthenticated\""), "{}", reply.body);
            }
            Surface::Page => {
                assert_eq!(
                    reply.status,
                    StatusCode::SEE_OTHER,
                    "{} {path}",
                    r.verb.name()
                );
                let to = reply.headers[header::LOCATION].to_str().unwrap();
                assert!(to.starts_with("/sign-in?next="), "{to}");
            }
        }
    }
    // dana (CISO: informed and consulted) may look but not work, approve or administer.
    let dana = sign_in(&w.router, "dana").await;
    let staying = || guarded.iter().filter(|r| r.path != "/sign-out");
    for r in staying() {
        let path = concrete(r.path, 1);
        let reply = send(&w.router, request(r.verb, &path, Some(&dana), r.surface)).await;
        let needs = r.needs.unwrap();
        if !w_grants(&w, "dana").may(needs) {
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{} {path}: {}",
                r.verb.name(),
                reply.body
            );
        } else {
            assert_ne!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{} {path}",
                r.verb.name()
            );
            assert_ne!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{} {path}",
                r.verb.name()
            );
        }
    }
    // alice restricts the case to herself: for carmen it does not exist, on every route.
    let alice = sign_in(&w.router, "alice").await;
    let reply = send(
        &w.router,
        Request::post("/cases/1/restrict")
            .header(header::COOKIE, &alice.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={}&contacts=alice", alice.csrf)))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let carmen = sign_in(&w.router, "carmen").await;
    let mut scoped = 0;
    for r in staying().filter(|r| r.case_scoped()) {
        scoped += 1;
        let path = concrete(r.path, 1);
        let reply = send(&w.router, request(r.verb, &path, Some(&carmen), r.surface)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{} {path}: {}",
            r.verb.name(),
            reply.body
        );
        assert!(!reply.body.contains("ci-deployer"), "{path} leaks the case");
    }
    assert!(scoped > 20);
    // …nor in the queue, its count, or the API list; alice still sees it.
    let list = send(
        &w.router,
        request(Verb::Get, "/api/v1/cases", Some(&carmen), Surface::Api),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    assert_eq!(v["total"], 0, "{v}");
    assert_eq!(v["rows"].as_array().unwrap().len(), 0);
    let page = send(
        &w.router,
        request(Verb::Get, "/cases", Some(&carmen), Surface::Page),
    )
    .await;
    assert!(
        !page.body.contains("data-case=\"1\"") && page.body.contains(">0 case(s)<"),
        "{}",
        page.body
    );
    let list = send(
        &w.router,
        request(Verb::Get, "/api/v1/cases", Some(&alice), Surface::Api),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    assert_eq!(v["total"], 1, "{v}");
    // Signing out ends the session.
    let out = send(
        &w.router,
        request(Verb::Post, "/sign-out", Some(&dana), Surface::Page),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let r = send(
        &w.router,
        request(Verb::Get, "/api/v1/me", Some(&dana), Surface::Api),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Routes the table does not name are 404 too, as JSON under /api.
    let reply = send(
        &w.router,
        request(Verb::Get, "/api/v1/nothing", Some(&alice), Surface::Api),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("not-found"));
}

fn w_grants(w: &World, contact: &str) -> app::access::Grants {
    app::access::grants(w.app.settings.plan.as_ref().map(|p| &p.plan), contact)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_their_sessions_csrf_token_and_changes_land_once_with_their_author() {
    let w = world();
    let carmen = sign_in(&w.router, "carmen").await;
    let note = |csrf: &str| {
        Request::post("/cases/1/notes")
            .header(header::COOKIE, &carmen.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={csrf}&text=contained+the+key")))
            .unwrap()
    };
    let r = send(&w.router, note("forged")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("did not come from this site"), "{}", r.body);
    let r = send(&w.router, note("")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another site's origin is refused even with the right token.
    let mut forged = note(&carmen.csrf);
    forged
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    forged
        .headers_mut()
        .insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(send(&w.router, forged).await.status, StatusCode::FORBIDDEN);
    let r = send(&w.router, note(&carmen.csrf)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let store = store::Store::open(&w.app.settings.db).unwrap();
    let notes = store.notes(case::CaseId(1)).unwrap();
    let ours: Vec<_> = notes
        .iter()
        .filter(|n| n.text == "contained the key")
        .collect();
    assert_eq!(ours.len(), 1, "exactly the one accepted form: {notes:?}");
    assert_eq!(
        ours[0].actor, "carmen",
        "the signed-in person is the author"
    );
    let audit = store.audit(case::CaseId(1)).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor == "carmen" && a.action == "note"),
        "{audit:?}"
    );
    // A bad value is a page that says what was wrong, and changes nothing.
    let before = store.audit(case::CaseId(1)).unwrap().len();
    let r = send(
        &w.router,
        Request::post("/cases/1/phase")
            .header(header::COOKIE, &carmen.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={}&phase=finished", carmen.csrf)))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("phase: unknown phase") && r.body.contains("<html"),
        "{}",
        r.body
    );
    assert_eq!(store.audit(case::CaseId(1)).unwrap().len(), before);
    let r = send(
        &w.router,
        request(
            Verb::Get,
            "/api/v1/cases?severity=severe",
            Some(&carmen),
            Surface::Api,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("severity"), "{}", r.body);
    let r = send(
        &w.router,
        request(Verb::Get, "/cases/99", Some(&carmen), Surface::Page),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("case 99 not found"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_logged_throttled_and_takes_the_second_factor() {
    let w = world();
    for _ in 0..app::people::THROTTLE_FAILURES {
        let r = attempt(&w.router, "dana", "not the password at all", "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.body
                .contains("Wrong user name, password or one-time code"),
            "{}",
            r.body
        );
    }
    // Throttled now, even with the right password.
    let r = attempt(&w.router, "dana", PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("too many failed sign-ins"), "{}", r.body);
    // A missing account fails the same way as a wrong password.
    let r = attempt(&w.router, "mallory", PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut store = store::Store::open(&w.app.settings.db).unwrap();
    let log = store.access_log(100).unwrap();
    let count = |user: &str, action: &str| {
        log.iter()
            .filter(|e| e.user == user && e.action == action)
            .count()
    };
    assert_eq!(count("dana", "sign-in failed"), 5, "{log:?}");
    assert_eq!(count("dana", "sign-in throttled"), 1);
    assert_eq!(count("mallory", "sign-in failed"), 1);
    // TOTP: the password alone is not enough.
    let added = app::people::add_user(
        &w.app,
        &mut store,
        &NewUser {
            name: "bob",
            contact: None,
            password: Some(PASSWORD),
            totp: true,
        },
    )
    .unwrap();
    let secret = added.totp_secret.unwrap();
    let r = attempt(&w.router, "bob", PASSWORD, "000000").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = identity::totp_code(&secret, now).unwrap();
    let r = attempt(&w.router, "bob", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let log = store.access_log(100).unwrap();
    assert!(
        log.iter().any(|e| e.user == "bob"
            && e.action == "signed in"
            && e.detail["method"] == "password+totp"),
        "{log:?}"
    );
    // A disabled account's session ends at once.
    let carmen = sign_in(&w.router, "carmen").await;
    app::people::set_disabled(&w.app, &mut store, "carmen", true).unwrap();
    let r = send(
        &w.router,
        request(Verb::Get, "/api/v1/me", Some(&carmen), Surface::Api),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Sign-in without the form's pre-session cookie is refused (login CSRF).
    let r = send(
        &w.router,
        Request::post("/sign-in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "user=alice&password={}&login=x",
                PASSWORD.replace(' ', "+")
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_scoped_expiring_and_stored_hashed() {
    let w = world();
    let mut store = store::Store::open(&w.app.settings.db).unwrap();
    let read = app::people::issue_token(
        &w.app,
        &mut store,
        "carmen",
        app::people::TokenScope::Read,
        7,
    )
    .unwrap();
    let work = app::people::issue_token(
        &w.app,
        &mut store,
        "carmen",
        app::people::TokenScope::Work,
        7,
    )
    .unwrap();
    assert!(
        app::people::issue_token(
            &w.app,
            &mut store,
            "carmen",
            app::people::TokenScope::Work,
            400
        )
        .is_err()
    );
    let stored: i64 = store
        .connection()
        .query_row(
            "SELECT count(*) FROM api_tokens WHERE token_hash = ?1",
            [&read.secret],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0, "the secret itself is never stored");
    let call = |secret: &str, verb: Verb, path: &str| {
        let mut r = match verb {
            Verb::Get => Request::get(path),
            Verb::Post => Request::post(path),
        };
        r = r
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .header(header::CONTENT_TYPE, "application/json");
        r.body(Body::from(if verb == Verb::Post {
            r#"{"text": "from the API"}"#
        } else {
            ""
        }))
        .unwrap()
    };
    let r = send(&w.router, call(&read.secret, Verb::Get, "/api/v1/cases/1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["case"]["id"], 1);
    let r = send(
        &w.router,
        call(&read.secret, Verb::Post, "/api/v1/cases/1/notes"),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a read token cannot change anything"
    );
    let r = send(
        &w.router,
        call(&work.secret, Verb::Post, "/api/v1/cases/1/notes"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &w.router,
        call("fbt_not-a-token", Verb::Get, "/api/v1/cases"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Tokens are for the API only: a page ignores them.
    let r = send(&w.router, call(&read.secret, Verb::Get, "/cases")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_log_text_is_inert_and_the_csp_forbids_inline_script() {
    let w = world();
    let alice = sign_in(&w.router, "alice").await;
    let store = store::Store::open(&w.app.settings.db).unwrap();
    let key = store.timeline(case::CaseId(1)).unwrap()[0]
        .event
        .key
        .clone();
    let pages = [
        "/cases".to_string(),
        "/cases/1".to_string(),
        "/cases/1/timeline".to_string(),
        format!(
            "/cases/1/record?key={}",
            form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
        ),
    ];
    let mut saw_escaped = 0;
    for p in &pages {
        let r = send(
            &w.router,
            request(Verb::Get, p, Some(&alice), Surface::Page),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.body);
        assert!(
            !r.body.contains("<img"),
            "{p} renders markup from a log:\n{}",
            r.body
        );
        assert_eq!(
            r.body.matches("<script").count(),
            1,
            "{p}: only the page script"
        );
        assert!(
            r.body
                .contains("<script src=\"/static/app.js\" defer></script>"),
            "{p}"
        );
        saw_escaped += r.body.matches("&lt;img src=x onerror=alert(1)&gt;").count();
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(r.headers[header::X_FRAME_OPTIONS], "DENY");
    }
    assert!(
        saw_escaped >= 2,
        "the note and the record show the text, escaped"
    );
    // The timeline CSV download is neutralised like the CLI's (same use case).
    let csv = send(
        &w.router,
        request(
            Verb::Get,
            "/cases/1/export?format=csv",
            Some(&alice),
            Surface::Page,
        ),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("case-1.csv")
    );
    assert!(csv.body.starts_with("time,source,actor"), "{}", csv.body);
    let bad = send(
        &w.router,
        request(
            Verb::Get,
            "/cases/1/export?format=xls",
            Some(&alice),
            Surface::Page,
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The JSON keeps the exact value.
    let r = send(
        &w.router,
        request(
            Verb::Get,
            &pages[3].replace("/cases/", "/api/v1/cases/"),
            Some(&alice),
            Surface::Api,
        ),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["record"]["userAgent"], HOSTILE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_exactly_the_api_routes() {
    let w = world();
    let r = send(
        &w.router,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            for p in op["parameters"].as_array().unwrap() {
                assert!(
                    path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())),
                    "{path}"
                );
            }
            assert!(op["responses"]["200"].is_object());
        }
    }
    let served: std::collections::BTreeSet<_> = ROUTES
        .iter()
        .filter(|r| r.surface == Surface::Api)
        .map(|r| (r.verb.name().to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, served);
    // And every API route answers (not the fallback's 404) for someone allowed.
    let alice = sign_in(&w.router, "alice").await;
    for (method, path) in &served {
        if method != "GET" {
            continue;
        }
        let r = send(
            &w.router,
            request(Verb::Get, &concrete(path, 1), Some(&alice), Surface::Api),
        )
        .await;
        assert!(
            !r.body.contains("\"message\":\"GET "),
            "{path} is not routed: {}",
            r.body
        );
    }
    let health = send(
        &w.router,
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(health.body, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_an_alb_only_its_verified_identity_header_signs_people_in() {
    use base64::Engine;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;
    let w = world();
    let dir = w.app.settings.db.parent().unwrap().to_path_buf();
    let keys = dir.join("alb-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
    std::fs::write(
        keys.join("kid-1"),
        key.verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap(),
    )
    .unwrap();
    let signer = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/ir/1";
    let mut store = store::Store::open(&w.app.settings.db).unwrap();
    app::people::add_user(
        &w.app,
        &mut store,
        &NewUser {
            name: "alice@example.com",
            contact: Some("alice"),
            password: None,
            totp: false,
        },
    )
    .unwrap();
    let router = server::router(
        app_for(&dir),
        server::ServerConfig {
            alb: Some(server::alb::AlbTrust {
                signer: signer.into(),
                keys: server::alb::AlbKeys::Folder(keys),
            }),
            ..Default::default()
        },
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let jwt = |k: &p256::ecdsa::SigningKey, email: &str| {
        let b64 =
            |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE.encode(v.to_string());
        let h = b64(
            serde_json::json!({"alg": "ES256", "kid": "kid-1", "signer": signer, "exp": now + 60}),
        );
        let p = b64(serde_json::json!({"sub": "x", "email": email, "exp": now + 60}));
        let sig: p256::ecdsa::Signature = k.sign(format!("{h}.{p}").as_bytes());
        format!(
            "{h}.{p}.{}",
            base64::engine::general_purpose::URL_SAFE.encode(sig.to_bytes())
        )
    };
    let me = |token: String| {
        Request::get("/api/v1/me")
            .header("x-amzn-oidc-data", token)
            .body(Body::empty())
            .unwrap()
    };
    let r = send(&router, me(jwt(&key, "alice@example.com"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (v["contact"].as_str(), v["method"].as_str()),
        (Some("alice"), Some("alb"))
    );
    assert!(
        cookies(&r.headers).iter().any(|(k, _)| k == "fb_session"),
        "a session for the forms' CSRF token"
    );
    // Forged by another key, or for someone without an account: not let in.
    let forger = p256::ecdsa::SigningKey::from_slice(&[6u8; 32]).unwrap();
    assert_eq!(
        send(&router, me(jwt(&forger, "alice@example.com")))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&router, me(jwt(&key, "mallory@example.com")))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let log = store.access_log(100).unwrap();
    assert!(log.iter().any(|e| e.user == "alice@example.com"
        && e.action == "signed in"
        && e.detail["method"] == "alb"));
    assert!(log.iter().any(|e| {
        e.action == "sign-in failed"
            && e.detail["reason"]
                .as_str()
                .is_some_and(|r| r.contains("does not verify"))
    }));
    assert!(
        log.iter()
            .any(|e| e.user == "mallory@example.com" && e.action == "sign-in failed")
    );
}

/// A browser's trip to the mock provider's authorization form: submits `form` (a subject,
/// or a refusal) and returns where the provider sends the browser back to.
async fn at_the_provider(authorize: &str, form: &[(&str, &str)]) -> url::Url {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let shown = http.get(authorize).send().await.unwrap();
    assert_eq!(shown.status(), 200, "the provider's form");
    let back = http.post(authorize).form(form).send().await.unwrap();
    assert_eq!(back.status(), 302, "{:?}", back.text().await);
    url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap()
}

/// Starts an SSO sign-in: the provider's authorization URL and the state cookie.
async fn start_sso(router: &Router, next: &str) -> (String, String) {
    let r = send(
        router,
        Request::get(format!("/sign-in/oidc?next={next}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let state = cookies(&r.headers)
        .into_iter()
        .find(|(k, _)| k == "fb_oidc")
        .expect("the state is bound to the browser")
        .1;
    let location = r.headers[header::LOCATION].to_str().unwrap().to_string();
    (location, state)
}

async fn callback(router: &Router, back: &url::Url, state_cookie: Option<&str>) -> Reply {
    assert_eq!(back.path(), "/sign-in/oidc/callback", "{back}");
    let mut req = Request::get(format!("{}?{}", back.path(), back.query().unwrap_or("")));
    if let Some(c) = state_cookie {
        req = req.header(header::COOKIE, format!("fb_oidc={c}"));
    }
    send(router, req.body(Body::empty()).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_through_openid_connect_signs_in_only_enabled_accounts_once_per_state() {
    let Some(issuer) = emulator::oidc_provider() else {
        return;
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let oidc = server::oidc::Oidc::discover(server::oidc::OidcSettings {
        issuer: issuer.clone(),
        client_id: "firebreak".into(),
        client_secret: Some("not-so-secret".into()),
        public_url: "http://firebreak.test".into(),
        claim: server::oidc::IdentityClaim::Email,
    })
    .await
    .unwrap();
    let w = world_with(server::ServerConfig {
        oidc: Some(Arc::new(oidc)),
        ..Default::default()
    });
    let mut store = store::Store::open(&w.app.settings.db).unwrap();
    app::people::add_user(
        &w.app,
        &mut store,
        &NewUser {
            name: "dana@example.com",
            contact: Some("dana"),
            password: None,
            totp: false,
        },
    )
    .unwrap();
    let form = send(
        &w.router,
        Request::get("/sign-in").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(
        form.body.contains("href=\"/sign-in/oidc?next="),
        "{}",
        form.body
    );

    // The authorization request carries PKCE, a nonce and the state bound by cookie.
    let (authorize, state) = start_sso(&w.router, "/cases/1").await;
    assert!(
        authorize.starts_with(&format!("{issuer}/oauth2/authorize?")),
        "{authorize}"
    );
    let asked = url::Url::parse(&authorize).unwrap();
    let param = |k: &str| {
        asked
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some(state.as_str()));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert!(param("nonce").is_some_and(|n| n.len() >= 16));
    assert_eq!(
        param("redirect_uri").as_deref(),
        Some("http://firebreak.test/sign-in/oidc/callback")
    );
    let back = at_the_provider(&authorize, &[("sub", "dana@example.com")]).await;

    // Another browser (no state cookie) cannot complete it (login CSRF) ...
    let r = callback(&w.router, &back, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("not started in this browser"), "{}", r.body);
    assert!(!cookies(&r.headers).iter().any(|(k, _)| k == "fb_session"));
    // ... the one that started it is signed in as the account the email names.
    let r = callback(&w.router, &back, Some(&state)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("url=/cases/1"), "{}", r.body);
    let session = cookies(&r.headers)
        .into_iter()
        .find(|(k, _)| k == "fb_session")
        .unwrap()
        .1;
    let me = send(
        &w.router,
        Request::get("/api/v1/me")
            .header(header::COOKIE, format!("fb_session={session}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["user"], "dana@example.com");
    assert_eq!(me["contact"], "dana");
    assert_eq!(me["method"], "oidc");
    // A state works once: replaying the provider's redirect signs nobody in.
    let r = callback(&w.router, &back, Some(&state)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("already used"), "{}", r.body);

    // Someone the provider knows but Firebreak does not: refused, and logged.
    let (authorize, state) = start_sso(&w.router, "/cases").await;
    let back = at_the_provider(&authorize, &[("sub", "eve@example.com")]).await;
    let r = callback(&w.router, &back, Some(&state)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("no enabled Firebreak account"),
        "{}",
        r.body
    );
    assert!(!cookies(&r.headers).iter().any(|(k, _)| k == "fb_session"));

    // A code that is not the provider's: the exchange fails, nobody is signed in.
    let (authorize, state) = start_sso(&w.router, "/cases").await;
    let mut back = at_the_provider(&authorize, &[("sub", "dana@example.com")]).await;
    back.set_query(Some(&format!("code=forged&state={state}")));
    let r = callback(&w.router, &back, Some(&state)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body.contains("exchanging the authorization code failed"),
        "{}",
        r.body
    );

    // The person declines at the provider.
    let (authorize, state) = start_sso(&w.router, "/cases").await;
    let back = at_the_provider(&authorize, &[("action", "deny")]).await;
    let r = callback(&w.router, &back, Some(&state)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("access_denied"), "{}", r.body);

    // Disabled accounts cannot come back through SSO either.
    app::people::set_disabled(&w.app, &mut store, "dana@example.com", true).unwrap();
    let (authorize, state) = start_sso(&w.router, "/cases").await;
    let back = at_the_provider(&authorize, &[("sub", "dana@example.com")]).await;
    let r = callback(&w.router, &back, Some(&state)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let log = store.access_log(100).unwrap();
    let signed_in: Vec<_> = log
        .iter()
        .filter(|e| e.action == "signed in" && e.detail["method"] == "oidc")
        .map(|e| e.user.as_str())
        .collect();
    assert_eq!(signed_in, vec!["dana@example.com"]);
    let failed: Vec<String> = log
        .iter()
        .filter(|e| e.action == "sign-in failed")
        .map(|e| format!("{} {}", e.user, e.detail["reason"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(failed.len(), 6, "{failed:#?}");
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("eve@example.com no such account")),
        "{failed:#?}"
    );
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("dana@example.com account disabled")),
        "{failed:#?}"
    );
}

const CUSTOM_RULE: &str = r#"title: Caller identity asked from outside
id: 0b1c2d3e-0000-4000-8000-00000000c0de
status: experimental
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: sts.amazonaws.com
        eventName: GetCallerIdentity
    condition: selection
level: high
"#;

const OTHER_RULE: &str = r#"title: Access key made by a team's other rule set
id: 0b1c2d3e-0000-4000-8000-0000000e15e0
status: experimental
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: CreateAccessKey
    condition: selection
level: low
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hunts_run_the_servers_rules_and_the_rules_page_lists_each_with_what_fired() {
    let rules_dir = tempfile::tempdir().unwrap();
    std::fs::write(rules_dir.path().join("identity.yml"), CUSTOM_RULE).unwrap();
    std::fs::write(
        rules_dir.path().join("broken.yml"),
        "title: broken\nlogsource: {product: aws}\ndetection:\n    condition: nothing_here\n",
    )
    .unwrap();
    let loaded = app::rules::load(&app::rules::RuleSources {
        paths: vec![rules_dir.path().to_path_buf()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(loaded.errors.len(), 1, "{:?}", loaded.errors);
    let w = world_with(server::ServerConfig {
        rules: Some(Arc::new(server::ServerRules::new(loaded))),
        ..Default::default()
    });
    // A CLI hunt with another rule set raised an alert the server does not load.
    let other_dir = tempfile::tempdir().unwrap();
    std::fs::write(other_dir.path().join("other.yml"), OTHER_RULE).unwrap();
    trail(other_dir.path());
    let other = app::rules::load(&app::rules::RuleSources {
        paths: vec![other_dir.path().join("other.yml")],
        no_bundled: true,
        ..Default::default()
    })
    .unwrap();
    let mut store = store::Store::open(&w.app.settings.db).unwrap();
    let inputs = ingest::expand_inputs(&[other_dir.path().join("trail.json")]).unwrap();
    app::pipeline::detect_and_open_with(&w.app, &mut store, &inputs, &other.detector(true, true))
        .unwrap();

    let carmen = sign_in(&w.router, "carmen").await;
    let record = serde_json::json!({"Records": [{
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAFIREBREAKCI", "arn": "arn:aws:iam::111122223333:user/ci-deployer",
                          "accountId": "111122223333", "accessKeyId": "AKIAFIREBREAKLEAKED1", "userName": "ci-deployer"},
        "eventTime": "2026-11-30T10:05:00Z", "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2",
        "requestID": "7e1b", "eventID": "5b0c8e0e-1f0a-4a43-9f51-7d0c7b3a5e02", "readOnly": true,
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333"}]});
    let hunted = send(
        &w.router,
        Request::post("/api/v1/hunt?name=whoami.json")
            .header(header::COOKIE, &carmen.cookie)
            .header("x-csrf-token", &carmen.csrf)
            .body(Body::from(record.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(hunted.status, StatusCode::OK, "{}", hunted.body);
    let hunted: serde_json::Value = serde_json::from_str(&hunted.body).unwrap();
    assert_eq!(hunted["alerts_new"], 1, "the custom rule fired: {hunted}");

    let listed = get_as(&w.router, &carmen, "/api/v1/rules").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let v: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
    let loaded = v["loaded"].as_array().unwrap();
    let custom: Vec<&serde_json::Value> =
        loaded.iter().filter(|r| r["origin"] == "custom").collect();
    assert_eq!(custom.len(), 1, "{v}");
    assert_eq!(custom[0]["id"], "0b1c2d3e-0000-4000-8000-00000000c0de");
    assert_eq!(custom[0]["fired"], 1);
    assert!(
        custom[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("identity.yml"),
        "{v}"
    );
    assert!(
        loaded.len() > 50
            && loaded
                .iter()
                .filter(|r| r["origin"] == "bundled")
                .any(|r| r["fired"].as_i64() > Some(0)),
        "the bundled rules are listed with what they raised: {v}"
    );
    let elsewhere = v["elsewhere"].as_array().unwrap();
    assert_eq!(elsewhere.len(), 1, "{v}");
    assert_eq!(elsewhere[0]["id"], "0b1c2d3e-0000-4000-8000-0000000e15e0");
    assert_eq!(elsewhere[0]["alerts"], 1);
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{v}");
    assert!(
        skipped[0].as_str().unwrap().contains("broken.yml:"),
        "located: {v}"
    );

    let page = get_as(&w.router, &carmen, "/rules").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Caller identity asked from outside"));
    assert!(
        page.body
            .contains("Access key made by a team&#39;s other rule set")
            || page
                .body
                .contains("Access key made by a team's other rule set"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Fired here, not loaded by the server"));
    assert!(page.body.contains("id=\"rules-skipped\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ir_plan_page_renders_the_plan_as_a_document_with_its_checks() {
    let w = world();
    let dana = sign_in(&w.router, "dana").await;
    let page = get_as(&w.router, &dana, "/plan").await;
    assert_eq!(page.status, StatusCode::OK);
    let doc = &page.body[page
        .body
        .find("id=\"plan-document\"")
        .expect("the document")..];
    for section in plan::render::SECTIONS {
        assert!(
            doc.contains(&format!("<h3>{section}</h3>")),
            "{section}: {doc}"
        );
    }
    assert!(
        doc.contains("<table>") && doc.contains("<th>"),
        "tables are tables"
    );
    assert!(
        !doc.contains("\n## ") && !doc.contains("| ---"),
        "no Markdown left: {doc}"
    );
    assert!(page.body.contains("id=\"checks\""));
}

/// A clock the test moves.
struct TestClock(std::sync::atomic::AtomicI64);

impl app::ports::Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// What the pages read is kept only until the store changes, whoever changes it (another
/// connection here, as a CLI beside the server would), and what depends on the clock is
/// worked out on every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_reads_never_outlive_a_change_and_clocks_keep_running() {
    let w = world();
    let dir = w.app.settings.db.parent().unwrap().to_path_buf();
    let mut app = app_for(&dir);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let clock = Arc::new(TestClock(std::sync::atomic::AtomicI64::new(start)));
    app.ports.clock = clock.clone();
    let router = server::router(app, server::ServerConfig::default());
    let carmen = sign_in(&router, "carmen").await;
    let json = |r: Reply| -> serde_json::Value {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        serde_json::from_str(&r.body).unwrap()
    };
    let notes = |v: &serde_json::Value| v["notes"].as_array().unwrap().len();
    let before = json(get_as(&router, &carmen, "/api/v1/cases/1").await);
    assert_eq!(
        notes(&json(get_as(&router, &carmen, "/api/v1/cases/1").await)),
        notes(&before)
    );
    // A note written by another connection shows on the next read.
    let mut store = store::Store::open(&w.app.settings.db).unwrap();
    store
        .add_note(case::CaseId(1), "from the CLI", false, "tester", start)
        .unwrap();
    let after = json(get_as(&router, &carmen, "/api/v1/cases/1").await);
    assert_eq!(notes(&after), notes(&before) + 1);
    let page = get_as(&router, &carmen, "/cases/1/timeline").await;
    assert_eq!(page.status, StatusCode::OK);

    // The SLA clocks move with the clock alone: nothing is breached now, everything is a
    // month on, with no change to the store in between.
    let queue = |v: serde_json::Value| v["rows"][0]["breached"].as_bool().unwrap();
    assert!(!queue(json(
        get_as(&router, &carmen, "/api/v1/cases").await
    )));
    let breached = json(get_as(&router, &carmen, "/api/v1/cases?breached=1").await);
    assert_eq!(breached["total"], 0, "{breached}");
    clock
        .0
        .fetch_add(30 * 24 * 3_600_000, std::sync::atomic::Ordering::SeqCst);
    // The kept session expired with the clock too.
    assert_eq!(
        get_as(&router, &carmen, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let carmen = sign_in(&router, "carmen").await;
    assert!(queue(json(get_as(&router, &carmen, "/api/v1/cases").await)));
    let breached = json(get_as(&router, &carmen, "/api/v1/cases?breached=1").await);
    assert_eq!(breached["total"], 1, "{breached}");
    let case = json(get_as(&router, &carmen, "/api/v1/cases/1").await);
    assert!(
        case["clocks"]["clocks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c[1] == "breached"),
        "{}",
        case["clocks"]
    );
    clock.0.store(start, std::sync::atomic::Ordering::SeqCst);

    // A restriction made elsewhere hides the case at once; so does disabling the account.
    store
        .restrict_case(case::CaseId(1), &["alice".to_string()], "alice", start)
        .unwrap();
    assert_eq!(
        get_as(&router, &carmen, "/api/v1/cases/1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        json(get_as(&router, &carmen, "/api/v1/cases").await)["total"],
        0
    );
    app::people::set_disabled(&w.app, &mut store, "carmen", true).unwrap();
    assert_eq!(
        get_as(&router, &carmen, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_narrative_is_written_on_the_case_page_and_the_review_downloads() {
    let w = world();
    let carmen = sign_in(&w.router, "carmen").await;
    let r = get_as(&w.router, &carmen, "/cases/1").await;
    assert!(
        r.body.contains("Post-incident review") && r.body.contains("name=\"field\""),
        "{}",
        r.body
    );
    let r = send(
        &w.router,
        Request::post("/cases/1/review")
            .header(header::COOKIE, &carmen.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={}&field=summary&text=%3Cscript%3Ealert(1)%3C%2Fscript%3E+key+leaked",
                carmen.csrf
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let store = store::Store::open(&w.app.settings.db).unwrap();
    let n = store.narrative(case::CaseId(1)).unwrap();
    assert_eq!(
        (n[0].field.as_str(), n[0].actor.as_str()),
        ("summary", "carmen")
    );
    let page = get_as(&w.router, &carmen, "/cases/1").await;
    assert!(page.body.contains("&lt;script&gt;alert(1)") && !page.body.contains("<script>alert"));
    // A body without its field and text is refused.
    let r = send(
        &w.router,
        request(
            Verb::Post,
            "/api/v1/cases/1/review",
            Some(&carmen),
            Surface::Api,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let doc = get_as(&w.router, &carmen, "/cases/1/review").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(
        doc.body
            .contains("<meta name=\"firebreak-review\" content=\"case=1 ")
    );
    assert!(doc.body.contains("key leaked") && doc.body.contains("data-chart=\"swim-lane\""));
    // The download is a review `report verify` accepts against the same store.
    let v =
        app::report::verify(&w.app, &store, &doc.body, app::report::AnchorCheck::Offline).unwrap();
    assert!(v.mismatches.is_empty(), "{:?}", v.mismatches);
    assert!(v.checked > 20);
    let json = get_as(&w.router, &carmen, "/api/v1/cases/1/review").await;
    let j: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(j["case"], 1);
    assert!(j["sources"].as_array().unwrap().len() > 3);
}
