//! The team server in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver) against `firebreak serve`, the emulator and a mock OpenID Connect
//! provider. Sign-in locally and through SSO, the queue, a timeline filter, two people
//! approving a sev1 plan and a third running it and rolling it back, a restricted case
//! gone for an outsider, hostile log text inert, and inline script refused by the CSP.
//! Screenshots of the main pages land in `target/screenshots/`.

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
const HOSTILE_AGENT: &str = "<img src=x onerror=alert(1)>";
const HOSTILE_BUCKET: &str = "\"><script>alert(2)</script>\u{202e}gnp.exe";

/// chromedriver on a free loopback port, ended with the test.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Option<Driver> {
    let found = Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let why = "chromium-driver is not installed (scripts/test.sh installs it)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipping the browser tests: {why}");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Driver(child, port))
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--window-size=1400,1000", format!("--user-data-dir={}", profile.display()),
        ]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a chromium session")
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Waits (polling the page, up to 30 s) for `css` to be present.
async fn present(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let at = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page = c.source().await.unwrap_or_default();
            panic!("{css}: {e} at {at}: {page}")
        }
    }
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

async fn text(c: &Client) -> String {
    js(c, "return document.body.innerText")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/sign-in")).await.unwrap();
    present(c, "input[name=user]")
        .await
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("section.signin button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let who = present(c, "span.who").await.text().await.unwrap();
    assert!(who.starts_with(user), "{who}");
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    present(c, "input[name=user]").await;
}

/// Clicks `css` and waits until a new page has loaded.
async fn press(c: &Client, css: &str) {
    let before = js(c, "return performance.timeOrigin").await;
    // A live page may swap its content (the store changed) between finding and clicking:
    // find it again then.
    let mut tries = 0;
    loop {
        let clicked = match c.find(Locator::Css(css)).await {
            Ok(e) => e.click().await,
            Err(e) => Err(e),
        };
        match clicked {
            Ok(()) => break,
            Err(e) if tries < 5 && e.to_string().contains("stale") => tries += 1,
            Err(e) => panic!("{css}: {e}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = c
            .execute("return performance.timeOrigin", vec![])
            .await
            .ok();
        let ready = c.execute("return document.readyState", vec![]).await.ok();
        if now.is_some() && now.as_ref() != Some(&before) && ready == Some(json!("complete")) {
            return;
        }
        assert!(Instant::now() < deadline, "{css}: no new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nothing the hostile text carried ran or became markup.
async fn inert(c: &Client) {
    assert_eq!(
        js(
            c,
            "return document.querySelectorAll('main img, main script').length"
        )
        .await,
        json!(0)
    );
    assert!(
        c.get_alert_text().await.is_err(),
        "an alert is open: hostile text ran"
    );
}

/// The trail: ci-deployer's leaked key creates a key for svc-backup, then probes a bucket
/// with a hostile user agent and a hostile bucket name.
fn trail(leaked: &str, created: &str) -> String {
    let mut doc: Value = serde_json::from_str(&support::trail_record(leaked, created)).unwrap();
    let mut probe = doc["Records"][0].clone();
    probe["eventTime"] = json!("2026-11-30T10:05:00Z");
    probe["eventSource"] = json!("s3.amazonaws.com");
    probe["eventName"] = json!("GetBucketAcl");
    probe["userAgent"] = json!(HOSTILE_AGENT);
    probe["requestParameters"] = json!({"bucketName": HOSTILE_BUCKET});
    probe["responseElements"] = Value::Null;
    probe["eventID"] = json!("5b0c8e0e-1f0a-4a43-9f51-7d0c7b3a5e02");
    probe["readOnly"] = json!(true);
    doc["Records"].as_array_mut().unwrap().push(probe);
    doc.to_string()
}

#[test]
fn a_team_works_a_case_in_the_browser() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let Some(issuer) = emulator::oidc_provider() else {
        return;
    };
    let Some(driver) = chromedriver() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (acct, leaked, created) = support::leaked_key_account(&rt, &endpoint);
    // Read on its own thread: the browser's runtime is running where this is asked.
    let status = |user: &str, key: &str| {
        std::thread::scope(|t| {
            t.spawn(|| support::key_status(&rt, &acct, user, key))
                .join()
                .unwrap()
        })
    };
    let browsing = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let firebreak = |args: &[&str]| {
        let o = support::command(dir, Some(&endpoint), "tester")
            .env("FIREBREAK_PASSWORD", PASSWORD)
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    std::fs::write(dir.join("trail.json"), trail(&leaked, &created)).unwrap();
    support::team(dir, &endpoint, PASSWORD);
    let (code, out, err) = firebreak(&[
        "user",
        "add",
        "erik@example.com",
        "--contact",
        "erik",
        "--sso-only",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = firebreak(&["hunt", "trail.json", "--cases"]);
    assert_eq!(code, Some(1), "{out}{err}");

    std::fs::write(dir.join("oidc-secret"), "a client secret\n").unwrap();
    let server = support::serve(
        support::command(dir, Some(&endpoint), "tester"),
        &[
            "--attestation-key",
            "keys/server.key",
            "--oidc-issuer",
            &issuer,
            "--oidc-client-id",
            "firebreak",
            "--oidc-client-secret-file",
            "oidc-secret",
        ],
    );
    let base = format!("http://{}", server.1);
    let profile = tempfile::tempdir().unwrap();

    browsing.block_on(async {
        let c = browser(&driver, profile.path()).await;
        c.goto(&format!("{base}/sign-in")).await.unwrap();
        present(&c, "input[name=user]").await;
        shot(&c, "sign-in").await;

        // carmen (responder) signs in; the queue shows the case the hunt opened.
        sign_in(&c, &base, "carmen").await;
        present(&c, "[data-case=\"1\"]").await;
        shot(&c, "queue").await;

        // The case page and the timeline: hostile log text is text, and nothing ran.
        c.goto(&format!("{base}/cases/1")).await.unwrap();
        present(&c, "section").await;
        shot(&c, "case").await;
        c.goto(&format!("{base}/cases/1/timeline")).await.unwrap();
        present(&c, "#timeline").await;
        let page = text(&c).await;
        assert!(page.contains(HOSTILE_AGENT) || page.contains("GetBucketAcl"), "{page}");
        inert(&c).await;
        let rows = c
            .find_all(Locator::Css("#timeline tbody tr"))
            .await
            .unwrap()
            .len();
        assert_eq!(rows, 2, "{page}");
        shot(&c, "timeline").await;
        // A timeline filter: alerts only.
        c.find(Locator::Css("input[name=alerts]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        press(&c, "form.filters button[type=submit]").await;
        assert!(
            c.current_url().await.unwrap().query().unwrap_or("").contains("alerts=1"),
            "the filter is in the address"
        );
        let alerted = c
            .find_all(Locator::Css("#timeline tbody tr"))
            .await
            .unwrap();
        assert_eq!(alerted.len(), 1, "{}", text(&c).await);
        // The hostile record's original, as text.
        c.goto(&format!("{base}/cases/1/timeline")).await.unwrap();
        let probe = c
            .find(Locator::XPath(
                "//table[@id='timeline']//tr[td[contains(., 'GetBucketAcl')]]//a",
            ))
            .await
            .expect("the probe's row");
        probe.click().await.unwrap();
        present(&c, "pre").await;
        let record = text(&c).await;
        assert!(record.contains("onerror=alert(1)"), "{record}");
        assert!(record.contains("script>alert(2)"), "{record}");
        assert!(!record.contains('\u{202e}'), "bidi override reached the page");
        inert(&c).await;
        shot(&c, "record").await;

        // The CSP refuses inline script, even one the page itself would insert.
        let ran = js(
            &c,
            "var s = document.createElement('script'); s.textContent = 'window.__inline = 1'; \
             document.body.appendChild(s); return window.__inline === 1",
        )
        .await;
        assert_eq!(ran, json!(false), "inline script ran despite the CSP");

        // carmen plans the response; the page shows the dry-run's exact calls.
        c.goto(&format!("{base}/cases/1")).await.unwrap();
        press(&c, "form[action=\"/cases/1/responses\"] button").await;
        let planned = text(&c).await;
        assert!(planned.contains("Steps and the calls of the dry-run"), "{planned}");
        c.goto(&format!("{base}/cases/1/responses/1")).await.unwrap();
        let page = text(&c).await;
        assert!(
            page.contains(&format!(
                "iam:UpdateAccessKey UserName=ci-deployer AccessKeyId={leaked} Status=Inactive"
            )),
            "{page}"
        );
        assert!(
            c.find(Locator::Css("#run")).await.unwrap().attr("disabled").await.unwrap().is_some(),
            "run is disabled until approved"
        );
        shot(&c, "response-planned").await;

        // alice and bob approve, each as themselves.
        for who in ["alice", "bob"] {
            sign_out(&c).await;
            sign_in(&c, &base, who).await;
            c.goto(&format!("{base}/cases/1/responses/1")).await.unwrap();
            present(&c, "#approve").await;
            press(&c, "#approve").await;
            let page = text(&c).await;
            assert!(page.contains(who), "{page}");
        }
        assert_eq!(status("ci-deployer", &leaked), "Active", "approving changes nothing");

        // carmen runs it against the emulator: receipts and the call log are shown.
        sign_out(&c).await;
        sign_in(&c, &base, "carmen").await;
        c.goto(&format!("{base}/cases/1/responses/1")).await.unwrap();
        press(&c, "#run").await;
        c.goto(&format!("{base}/cases/1/responses/1")).await.unwrap();
        let page = text(&c).await;
        assert!(page.contains("signed-in"), "{page}");
        let receipts = js(
            &c,
            "return Array.from(document.querySelectorAll('#steps tr td:last-child')).map(td => td.innerText)",
        )
        .await;
        assert!(
            receipts.as_array().unwrap().iter().any(|r| r.as_str().is_some_and(|s| !s.is_empty())),
            "receipts: {receipts}"
        );
        assert_eq!(
            js(&c, "return document.querySelectorAll('#calls tr').length > 1").await,
            json!(true),
            "the call log"
        );
        assert_eq!(status("ci-deployer", &leaked), "Inactive");
        assert_eq!(status("svc-backup", &created), "Inactive");
        shot(&c, "response-run").await;
        press(&c, "#rollback").await;
        assert_eq!(status("ci-deployer", &leaked), "Active");
        assert_eq!(status("svc-backup", &created), "Active");

        // The other main pages, for the reviewer.
        for (path, name) in [("/plan", "ir-plan"), ("/readiness", "readiness"), ("/rules", "rules"), ("/hunt", "hunt")] {
            c.goto(&format!("{base}{path}")).await.unwrap();
            present(&c, "main").await;
            inert(&c).await;
            shot(&c, name).await;
        }

        // alice (incident commander, admin) restricts the case to alice and carmen.
        sign_out(&c).await;
        sign_in(&c, &base, "alice").await;
        c.goto(&format!("{base}/cases/1")).await.unwrap();
        let field = present(&c, "form[action=\"/cases/1/restrict\"] input[name=contacts]").await;
        field.send_keys("alice, carmen").await.unwrap();
        press(&c, "form[action=\"/cases/1/restrict\"] button").await;
        c.goto(&format!("{base}/access")).await.unwrap();
        present(&c, "main").await;
        shot(&c, "access-log").await;
        sign_out(&c).await;

        // erik signs in through SSO (the mock provider's form) and cannot see the case.
        c.goto(&format!("{base}/sign-in")).await.unwrap();
        press(&c, "p.sso a").await;
        present(&c, "input[name=sub]")
            .await
            .send_keys("erik@example.com")
            .await
            .unwrap();
        c.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let who = present(&c, "span.who").await.text().await.unwrap();
        assert!(who.starts_with("erik@example.com"), "{who}");
        assert_eq!(c.current_url().await.unwrap().path(), "/cases");
        assert!(
            c.find_all(Locator::Css("[data-case]")).await.unwrap().is_empty(),
            "the restricted case is listed for an outsider: {}",
            text(&c).await
        );
        c.goto(&format!("{base}/cases/1")).await.unwrap();
        let page = text(&c).await;
        assert!(page.contains("404"), "{page}");
        shot(&c, "restricted-outsider").await;
        c.close().await.unwrap();
    });
    drop(server);
}
