//! `firebreak serve` end to end, as a team would run it: the server and the CLI on one
//! store at once, a CLI hunt reaching an open page by server-sent events, and a sev1 plan
//! planned by a responder, approved by two other signed-in people (attested by the server's
//! key, which the IR plan trusts), run against the emulator and rolled back, every approval
//! in the audit log and the custody ledger.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::trail_record;

const PASSWORD: &str = "correct horse battery staple";

fn command(dir: &Path, endpoint: &str) -> Command {
    let mut c = support::command(dir, Some(endpoint), "tester");
    c.env("FIREBREAK_PASSWORD", PASSWORD);
    c
}

fn run(dir: &Path, endpoint: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let o = command(dir, endpoint).args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn serve(dir: &Path, endpoint: &str) -> support::Serving {
    support::serve(
        command(dir, endpoint),
        &["--attestation-key", "keys/server.key"],
    )
}

/// One HTTP/1.1 exchange (Connection: close).
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn cookie(&self, name: &str) -> Option<String> {
        self.head
            .lines()
            .filter_map(|l| {
                l.strip_prefix("set-cookie: ")
                    .or_else(|| l.strip_prefix("Set-Cookie: "))
            })
            .filter_map(|c| c.split(';').next())
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    Reply {
        status,
        head: head.to_string(),
        body,
    }
}

/// A signed-in person: session cookie and CSRF token.
struct Person {
    cookie: String,
    csrf: String,
}

fn sign_in(addr: &str, user: &str) -> Person {
    let form = http(addr, "GET", "/sign-in", &[], "");
    let login = form.cookie("fb_login").unwrap();
    let body = format!(
        "user={user}&password={}&login={login}&next=%2Fcases",
        PASSWORD.replace(' ', "+")
    );
    let r = http(
        addr,
        "POST",
        "/sign-in",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &format!("fb_login={login}")),
        ],
        &body,
    );
    assert_eq!(r.status, 303, "{}{}", r.head, r.body);
    let cookie = format!("fb_session={}", r.cookie("fb_session").unwrap());
    let page = http(addr, "GET", "/cases", &[("Cookie", &cookie)], "");
    let at = page.body.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page.body[at..at + page.body[at..].find('"').unwrap()].to_string();
    Person { cookie, csrf }
}

fn api(addr: &str, who: &Person, method: &str, path: &str, body: &str) -> Reply {
    http(
        addr,
        method,
        path,
        &[
            ("Cookie", &who.cookie),
            ("x-csrf-token", &who.csrf),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

/// `POST /api/v1/cases/1/responses/1/WHAT` as `who`.
fn plan_action(addr: &str, who: &Person, what: &str) -> Reply {
    api(
        addr,
        who,
        "POST",
        &format!("/api/v1/cases/1/responses/1/{what}"),
        "{}",
    )
}

#[test]
fn a_team_contains_a_leaked_key_through_the_server() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (acct, leaked, created) = support::leaked_key_account(&rt, &endpoint);
    let status = |user: &str, key: &str| support::key_status(&rt, &acct, user, key);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("trail.json"), trail_record(&leaked, &created)).unwrap();
    support::team(dir, &endpoint, PASSWORD);
    let (code, out, _) = run(dir, &endpoint, &["user", "list"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("carmen") && out.contains("responder"), "{out}");

    let server = serve(dir, &endpoint);
    let addr = server.1.clone();
    let carmen = sign_in(&addr, "carmen");
    let queue = api(&addr, &carmen, "GET", "/api/v1/cases", "");
    assert_eq!(queue.json()["total"], 0, "{}", queue.body);

    // A CLI hunt while the server runs: an open page hears of it without a reload.
    let mut live = TcpStream::connect(&addr).unwrap();
    live.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        live,
        "GET /live HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\n\r\n",
        carmen.cookie
    )
    .unwrap();
    let mut head = [0u8; 512];
    let n = live.read(&mut head).unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).contains("text/event-stream"));
    let (code, out, err) = run(dir, &endpoint, &["hunt", "trail.json", "--cases"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let mut got = String::new();
    let mut buf = [0u8; 256];
    while !got.contains("event: changed") {
        let n = live
            .read(&mut buf)
            .expect("the live stream says the store changed");
        assert!(n > 0, "the live stream ended: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let page = http(&addr, "GET", "/cases", &[("Cookie", &carmen.cookie)], "");
    assert!(page.body.contains("data-case=\"1\""), "{}", page.body);
    assert!(page.body.contains("<main data-live=\"1\">"));

    // carmen (responder) plans; the dry-run is kept with the plan and shown.
    let made = api(&addr, &carmen, "POST", "/api/v1/cases/1/responses", "{}");
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.json()["plan"], 1);
    let shown = http(
        &addr,
        "GET",
        "/cases/1/responses/1",
        &[("Cookie", &carmen.cookie)],
        "",
    );
    assert!(
        shown.body.contains(&format!(
            "iam:UpdateAccessKey UserName=ci-deployer AccessKeyId={leaked} Status=Inactive"
        )),
        "{}",
        shown.body
    );
    // Nothing runs unapproved; the author may not approve (two-person rule); dana may not.
    let r = plan_action(&addr, &carmen, "run");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("not approved"), "{}", r.body);
    let r = plan_action(&addr, &carmen, "approve");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("two-person rule"), "{}", r.body);
    let dana = sign_in(&addr, "dana");
    let r = plan_action(&addr, &dana, "approve");
    assert_eq!(r.status, 403, "{}", r.body);
    // alice, then bob, approve as themselves (two distinct people for sev1).
    let alice = sign_in(&addr, "alice");
    let r = plan_action(&addr, &alice, "approve");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["approved_by"], "alice");
    assert!(!r.json()["missing"].as_array().unwrap().is_empty());
    let r = plan_action(&addr, &alice, "approve");
    assert_eq!(r.status, 409, "twice is once: {}", r.body);
    let bob = sign_in(&addr, "bob");
    let r = plan_action(&addr, &bob, "approve");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["missing"].as_array().unwrap().is_empty(),
        "{}",
        r.body
    );
    assert_eq!(
        status("ci-deployer", &leaked),
        "Active",
        "approving changes nothing"
    );

    // carmen runs it against the emulator: the keys are inactive, receipts shown.
    let r = plan_action(&addr, &carmen, "run");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ok"], true, "{}", r.body);
    assert_eq!(status("ci-deployer", &leaked), "Inactive");
    assert_eq!(status("svc-backup", &created), "Inactive");
    let shown = http(
        &addr,
        "GET",
        "/cases/1/responses/1",
        &[("Cookie", &carmen.cookie)],
        "",
    );
    assert!(
        shown.body.contains("iam:UpdateAccessKey"),
        "call log: {}",
        shown.body
    );
    assert!(
        shown.body.contains("signed-in"),
        "approvals say how they were given"
    );

    let r = plan_action(&addr, &carmen, "rollback");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(status("ci-deployer", &leaked), "Active");
    assert_eq!(status("svc-backup", &created), "Active");

    // Every approval is in the audit log and the custody ledger, by who gave it.
    let v = api(&addr, &carmen, "GET", "/api/v1/cases/1", "").json();
    let audit = v["audit"].as_array().unwrap();
    for who in ["alice", "bob"] {
        assert!(
            audit
                .iter()
                .any(|a| a["actor"] == who && a["action"] == "response approved"),
            "{who}: {audit:?}"
        );
        let entries = v["evidence"]["entries"].as_array().unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e["actor"] == who && e["action"] == "approved"),
            "{who}: {entries:?}"
        );
    }
    assert_eq!(v["evidence"]["intact"], true, "{}", v["evidence"]);
    assert!(
        audit
            .iter()
            .any(|a| a["actor"] == "carmen" && a["action"] == "response planned")
    );
    // The CLI reads the same store: the plan and its approvals by the people who gave them.
    let (code, out, err) = run(dir, &endpoint, &["respond", "status", "1", "--plan", "1"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("alice") && out.contains("bob"), "{out}");

    // Readiness: the page reads the newest kept report and never calls AWS itself; a
    // responder runs the checks from the server, the CLI on the same store, each kept.
    let page = http(
        &addr,
        "GET",
        "/readiness",
        &[("Cookie", &carmen.cookie)],
        "",
    );
    assert!(page.body.contains("id=\"readiness-none\""), "{}", page.body);
    assert!(page.body.contains("id=\"plan-findings\""), "{}", page.body);
    let r = api(&addr, &dana, "POST", "/api/v1/readiness", "{}");
    assert_eq!(r.status, 403, "view-only people do not run it: {}", r.body);
    let r = api(&addr, &carmen, "POST", "/api/v1/readiness", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    let findings = r.json()["findings"].as_array().unwrap().clone();
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "access.responder_role" && f["account"].is_string()),
        "the accounts were checked through AWS: {findings:?}"
    );
    let page = http(&addr, "GET", "/readiness", &[("Cookie", &dana.cookie)], "");
    assert!(page.body.contains("id=\"readiness-run\""), "{}", page.body);
    assert!(page.body.contains(" by carmen."), "{}", page.body);
    assert!(page.body.contains("access.responder_role"), "{}", page.body);
    let (_, out, err) = run(
        dir,
        &endpoint,
        &[
            "readiness",
            "--account",
            "111122223333",
            "--region",
            "us-east-1",
        ],
    );
    assert!(out.contains("IR readiness against"), "{out}{err}");
    let v = api(&addr, &dana, "GET", "/api/v1/readiness", "").json();
    assert_eq!(
        v["latest"]["actor"], "tester",
        "the CLI's run is the newest: {v}"
    );
    assert!(v["latest"]["report"]["findings"].is_array(), "{v}");
    drop(server);
}
