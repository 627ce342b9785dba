//! Cases end to end: `firebreak hunt --cases` over the shared attack traces, re-runs, a
//! writer killed mid-write, readers during a hunt, and the `case` commands.

use case::CaseId;
use model::{Entity, EntityKind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use store::Store;

fn firebreak() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    c.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    c.env_remove("FIREBREAK_DB")
        .env("FIREBREAK_ACTOR", "tester");
    c
}

/// `../shared/data`, or `None` (reason printed) when absent outside CI.
fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shared data missing under CI=true"
    );
    eprintln!("skipping: no shared data at {}", dir.display());
    None
}

fn hunt_cases(db: &Path, inputs: &[&Path]) -> Output {
    hunt_cases_with(db, inputs, &[])
}

/// [`hunt_cases`] with extra environment variables.
fn hunt_cases_with(db: &Path, inputs: &[&Path], env: &[(&str, &str)]) -> Output {
    let out = firebreak()
        .envs(env.iter().copied())
        .arg("hunt")
        .args(inputs)
        .args(["--cases", "--no-progress", "--output", "jsonl", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "hunt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// eventID → Stratus technique.
fn stratus_labels(data: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(data.join("stratus-detonations/labels.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect()
}

#[test]
fn stratus_each_technique_trace_lands_whole_in_its_own_case() {
    let Some(data) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.db");
    let trace = data.join("stratus-detonations/stratus_cloudtrail.jsonl");
    hunt_cases(&db, &[&trace]);
    let labels = stratus_labels(&data);
    let store = Store::open_read_only(&db).unwrap();
    assert_eq!(store.check().unwrap(), Vec::<String>::new());

    // technique → cases holding its events, and case → techniques on its timeline.
    let mut technique_cases: BTreeMap<&str, BTreeSet<CaseId>> = BTreeMap::new();
    let mut technique_events: BTreeMap<&str, usize> = BTreeMap::new();
    for t in labels.values() {
        *technique_events.entry(t).or_default() += 1;
    }
    let cases = store.cases(true).unwrap();
    for c in &cases {
        let mut techniques = BTreeSet::new();
        let timeline = store.timeline(c.id).unwrap();
        for row in &timeline {
            let id = row.event.key.strip_prefix("cloudtrail:").unwrap();
            let t = labels
                .get(id)
                .unwrap_or_else(|| panic!("unlabelled event {id}"));
            techniques.insert(t.as_str());
            technique_cases.entry(t).or_default().insert(c.id);
        }
        for a in store.alerts(c.id).unwrap() {
            let id = a.event_key.strip_prefix("cloudtrail:").unwrap();
            assert!(
                timeline.iter().any(|r| r.event.key == a.event_key),
                "case {}: alerting event {id} is not on the timeline",
                c.id
            );
        }
        assert_eq!(
            techniques.len(),
            1,
            "case {} ({}) mixes unrelated attacks: {techniques:?}",
            c.id,
            c.title
        );
    }
    // All 35 techniques are detected, each in exactly one case that holds every one of its
    // events (including the calls that raised no alert).
    assert_eq!(technique_events.len(), 35);
    assert_eq!(cases.len(), 35, "one case per technique");
    for (t, n) in &technique_events {
        let holding = technique_cases.get(t).cloned().unwrap_or_default();
        assert_eq!(holding.len(), 1, "{t} spread over cases {holding:?}");
        let id = *holding.first().unwrap();
        let on_timeline = store
            .timeline(id)
            .unwrap()
            .iter()
            .filter(|r| {
                labels.get(r.event.key.strip_prefix("cloudtrail:").unwrap()) == Some(&t.to_string())
            })
            .count();
        assert_eq!(
            on_timeline, *n,
            "{t}: {on_timeline} of {n} events on case {id}'s timeline"
        );
    }
    // The instance-credential theft case knows the instance from the session name, and the
    // role-assumption chains put the issuing user and the session in one case.
    let steal = cases
        .iter()
        .find(|c| {
            store.alerts(c.id).unwrap().iter().any(|a| {
                labels
                    .get(a.event_key.strip_prefix("cloudtrail:").unwrap())
                    .map(String::as_str)
                    == Some("aws.credential-access.ec2-steal-instance-credentials")
            })
        })
        .expect("steal-instance-credentials case");
    let ents: BTreeSet<Entity> = store
        .timeline(steal.id)
        .unwrap()
        .into_iter()
        .flat_map(|r| r.event.entities)
        .collect();
    assert!(ents.iter().any(|e| e.kind == EntityKind::Instance));
    assert!(ents.iter().any(|e| e.kind == EntityKind::Session));
    assert!(
        ents.iter()
            .any(|e| e.kind == EntityKind::Principal && e.value.ends_with(":user/christophe"))
    );
}

#[test]
fn panther_unrelated_principals_land_in_different_cases() {
    let Some(data) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.db");
    let p = data.join("panther-tests");
    hunt_cases(
        &db,
        &[
            &p.join("panther_cloudtrail_tests.jsonl"),
            &p.join("panther_guardduty_tests.jsonl"),
            &p.join("panther_vpcflow_tests.jsonl"),
        ],
    );
    let store = Store::open_read_only(&db).unwrap();
    assert_eq!(store.check().unwrap(), Vec::<String>::new());
    let cases = store.cases(true).unwrap();
    assert!(
        cases.len() >= 10,
        "synthetic tests of many principals make many cases, got {}",
        cases.len()
    );
    let targets = store.timeline_targets(0).unwrap();
    let mut case_of_principal: BTreeMap<String, BTreeSet<CaseId>> = BTreeMap::new();
    for c in &cases {
        let alerts = store.alerts(c.id).unwrap();
        let linking: BTreeSet<&Entity> = targets
            .iter()
            .find(|t| t.case == c.id)
            .map(|t| t.entities.iter().collect())
            .unwrap_or_default();
        // Alerts that carry linking entities are connected through shared ones: a case never
        // holds two principals that nothing ties together.
        let linked: Vec<BTreeSet<&Entity>> = alerts
            .iter()
            .map(|a| {
                a.entities
                    .iter()
                    .filter(|e| linking.contains(e))
                    .collect::<BTreeSet<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect();
        if let Some(first) = linked.first() {
            let mut reached = first.clone();
            let mut grew = true;
            while grew {
                grew = false;
                for s in &linked {
                    if !s.is_disjoint(&reached) && !s.is_subset(&reached) {
                        reached.extend(s.iter().copied());
                        grew = true;
                    }
                }
            }
            for s in &linked {
                assert!(
                    !s.is_disjoint(&reached),
                    "case {}: alerts with nothing in common: {s:?} vs {reached:?}",
                    c.id
                );
            }
        }
        for a in &alerts {
            for e in a
                .entities
                .iter()
                .filter(|e| e.kind.is_identity() && e.kind != EntityKind::AccessKey)
            {
                case_of_principal
                    .entry(e.value.clone())
                    .or_default()
                    .insert(c.id);
            }
        }
    }
    // Principals of different accounts that share no credential are never in one case.
    let principals: Vec<(&String, &BTreeSet<CaseId>)> = case_of_principal.iter().collect();
    let account = |arn: &str| arn.split(':').nth(4).unwrap_or("").to_string();
    let mut pairs = 0;
    for (i, (a, ca)) in principals.iter().enumerate() {
        for (b, cb) in &principals[i + 1..] {
            if account(a) != account(b) {
                pairs += 1;
                assert!(ca.is_disjoint(cb), "{a} and {b} share a case");
            }
        }
    }
    assert!(
        pairs > 20,
        "the data has principals of many accounts ({pairs} pairs)"
    );
}

#[test]
fn rerunning_a_hunt_adds_nothing() {
    let Some(data) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.db");
    let trace = data.join("stratus-detonations/stratus_cloudtrail.jsonl");
    let first = hunt_cases(&db, &[&trace]);
    let counts = Store::open_read_only(&db).unwrap().counts().unwrap();
    assert!(
        stderr(&first).contains("81 alert(s) new, 0 already recorded; 35 case(s) opened"),
        "{}",
        stderr(&first)
    );
    // The same records through another path and container (gzip) are the same records.
    let copy = dir.path().join("copy.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&copy).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&trace).unwrap(), &mut gz).unwrap();
    gz.finish().unwrap();
    let second = hunt_cases(&db, &[&copy]);
    assert!(
        stderr(&second).contains("0 alert(s) new, 81 already recorded; 0 case(s) opened, 0 updated, 0 merge(s); 0 timeline event(s) added"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        Store::open_read_only(&db).unwrap().counts().unwrap(),
        counts
    );
}

/// The Stratus trace `copies` times, each copy 10 days after the previous one and with its
/// own event ids: `35 × copies` unrelated cases.
fn big_corpus(data: &Path, dir: &Path, copies: i64) -> PathBuf {
    let text =
        std::fs::read_to_string(data.join("stratus-detonations/stratus_cloudtrail.jsonl")).unwrap();
    let path = dir.join("big.jsonl");
    let mut out = String::new();
    for i in 0..copies {
        for line in text.lines() {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            let t = model::time::parse_timestamp(v["eventTime"].as_str().unwrap()).unwrap();
            v["eventTime"] = model::time::format_iso(t + i * 10 * 86_400_000).into();
            let id = v["eventID"].as_str().unwrap_or("x").to_string();
            v["eventID"] = format!("{id}-{i}").into();
            out.push_str(&v.to_string());
            out.push('\n');
        }
    }
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn a_store_killed_mid_write_stays_consistent_and_a_rerun_completes_it() {
    let Some(data) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let corpus = big_corpus(&data, dir.path(), 40);
    let clean = dir.path().join("clean.db");
    hunt_cases(&clean, &[&corpus]);
    let expected = Store::open_read_only(&clean).unwrap().counts().unwrap();
    assert_eq!(expected.1, 35 * 40);

    let db = dir.path().join("killed.db");
    let mut killed_mid_way = 0;
    for delay_ms in [150u64, 400, 700, 1000, 1400, 1900, 2500] {
        let mut child = firebreak()
            .arg("hunt")
            .arg(&corpus)
            .args(["--cases", "--no-progress", "--output", "jsonl", "--db"])
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL: no destructor, no rollback code runs
        child.wait().unwrap();
        if !db.exists() {
            continue;
        }
        let store = Store::open(&db).expect("a killed writer leaves an openable store");
        assert_eq!(
            store.check().unwrap(),
            Vec::<String>::new(),
            "after a kill at {delay_ms} ms"
        );
        let now = store.counts().unwrap();
        // Alerts and cases are written in one transaction: all or nothing.
        assert!(
            now.0 == 0 || now.0 == expected.0,
            "partial alerts: {now:?} vs {expected:?}"
        );
        assert!(
            now.1 == 0 || now.1 == expected.1,
            "partial cases: {now:?} vs {expected:?}"
        );
        if !finished && now != expected {
            killed_mid_way += 1;
        }
    }
    assert!(
        killed_mid_way > 0,
        "no kill landed before the hunt finished writing; the test proves nothing"
    );
    hunt_cases(&db, &[&corpus]);
    let store = Store::open_read_only(&db).unwrap();
    assert_eq!(
        store.counts().unwrap(),
        expected,
        "a re-run completes what the kills interrupted"
    );
    assert_eq!(store.check().unwrap(), Vec::<String>::new());
}

#[test]
fn readers_see_consistent_stores_while_a_hunt_writes() {
    let Some(data) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let corpus = big_corpus(&data, dir.path(), 25);
    let db = dir.path().join("cases.db");
    // Start with a store that already has cases, so readers have something to read.
    hunt_cases(
        &db,
        &[&data.join("stratus-detonations/stratus_cloudtrail.jsonl")],
    );
    let mut writer = firebreak()
        .arg("hunt")
        .arg(&corpus)
        .args(["--cases", "--no-progress", "--output", "jsonl", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                let mut seen = Vec::new();
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(120) {
                    let store = Store::open_read_only(&db).expect("open while writing");
                    let cases = store.cases(true).expect("list while writing");
                    let counts = store.counts().expect("count while writing");
                    if let Some(c) = cases.first() {
                        store.timeline(c.id).expect("timeline while writing");
                        store.alerts(c.id).expect("alerts while writing");
                    }
                    seen.push(counts);
                    reads += 1;
                    if std::fs::exists(db.with_extension("done")).unwrap() {
                        break;
                    }
                }
                (reads, seen)
            })
        })
        .collect();
    let status = writer.wait().unwrap();
    std::fs::write(db.with_extension("done"), "").unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut writer.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.code() == Some(1), "writer failed: {err}");
    let store = Store::open_read_only(&db).unwrap();
    // The trace's alerts, then the big corpus's: 26 copies, plus any correlation that
    // groups hits of different copies.
    let total = store.counts().unwrap().0;
    assert!(total >= 81 * 26, "{total} alerts after the big hunt");
    for r in readers {
        let (reads, seen) = r.join().unwrap();
        assert!(reads >= 2, "only {reads} read(s) during the hunt");
        // Counts never go backwards: each read sees a committed state.
        for w in seen.windows(2) {
            assert!(
                w[0].0 <= w[1].0 && w[0].2 <= w[1].2,
                "{:?} then {:?}",
                w[0],
                w[1]
            );
            assert!(
                w[1].0 == 81 || w[1].0 == total,
                "alerts are all-or-nothing: {:?}",
                w[1]
            );
        }
    }
    assert_eq!(store.check().unwrap(), Vec::<String>::new());
}

fn run(db: &Path, args: &[&str]) -> (bool, String, String) {
    let o = firebreak().arg("--db").arg(db).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn working_a_case_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.db");
    let (ok, _, err) = run(&db, &["case", "list"]);
    assert!(!ok && err.contains("no case store"), "{err}");
    let (ok, out, _) = run(&db, &["demo"]);
    assert!(ok, "{out}");
    let (_, list, _) = run(&db, &["case", "list"]);
    assert!(
        list.contains("Critical") && list.contains("detected"),
        "{list}"
    );

    // Guards: no owner yet; cannot skip phases.
    let (ok, _, err) = run(&db, &["case", "transition", "1", "analyzing"]);
    assert!(!ok && err.contains("no owner"), "{err}");
    let (ok, _, err) = run(&db, &["case", "transition", "1", "contained"]);
    assert!(
        !ok && err.contains("cannot go from detected to contained"),
        "{err}"
    );
    assert!(run(&db, &["case", "assign", "1", "alice"]).0);
    assert!(run(&db, &["case", "transition", "1", "analyzing"]).0);
    let (ok, out, _) = run(
        &db,
        &[
            "case",
            "task",
            "1",
            "add",
            "Deactivate AKIAQXAMPLELEAKED001",
            "--owner",
            "bob",
            "--due",
            "2026-12-01",
        ],
    );
    assert!(ok && out.contains("task 1 added"), "{out}");
    assert!(
        run(
            &db,
            &[
                "case",
                "note",
                "1",
                "Key leaked via a public CI log; <script>alert(1)</script>"
            ]
        )
        .0
    );
    assert!(run(&db, &["case", "tag", "1", "prod", "ci"]).0);
    for phase in ["contained", "eradicated", "recovered", "post-incident"] {
        let (ok, _, err) = run(&db, &["case", "transition", "1", phase]);
        assert!(ok, "{phase}: {err}");
    }
    let (ok, _, err) = run(&db, &["case", "transition", "1", "closed"]);
    assert!(!ok && err.contains("1 task(s) still open"), "{err}");
    assert!(run(&db, &["case", "task", "1", "done", "1"]).0);
    assert!(run(&db, &["case", "transition", "1", "closed"]).0);
    let (ok, _, err) = run(&db, &["case", "transition", "1", "analyzing"]);
    assert!(!ok && err.contains("needs a reason"), "{err}");

    let (_, show, _) = run(&db, &["case", "show", "1"]);
    for want in [
        "Phase:     closed",
        "Owner: alice",
        "Tags: ci, prod",
        "Blast radius",
        "refused:   iam:GetAccountAuthorizationDetails ×1, secretsmanager:ListSecrets ×1",
        "access_key AKIAQXAMPLELEAKED001",
        "instance   i-0badc0ffee0ddf00d",
        "to contain ",
        "detected → analyzing  by tester",
    ] {
        assert!(show.contains(want), "missing {want:?} in\n{show}");
    }
    let (_, audit, _) = run(&db, &["case", "audit", "1"]);
    for action in [
        "opened",
        "alerts added",
        "assign",
        "transition",
        "task added",
        "note",
        "tag",
        "task closed",
    ] {
        assert!(audit.contains(action), "audit lacks {action}:\n{audit}");
    }
    let (_, list, _) = run(&db, &["case", "list"]);
    assert!(
        list.contains("no open cases"),
        "closed cases leave the default list: {list}"
    );

    // Attacker timeline of one key: only that key's events.
    let (_, tl, _) = run(
        &db,
        &[
            "case",
            "timeline",
            "1",
            "--entity",
            "access_key:AKIAQXAMPLELEAKED001",
            "--output",
            "jsonl",
        ],
    );
    let rows: Vec<serde_json::Value> = tl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() >= 10);
    for r in &rows {
        assert!(
            r["entities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["value"] == "AKIAQXAMPLELEAKED001"),
            "{r}"
        );
    }
    assert!(
        rows.iter()
            .any(|r| r["alerts"].as_array().unwrap().is_empty()),
        "non-alerting events are on the timeline"
    );

    // Exports.
    let (ok, json, _) = run(&db, &["case", "export", "1", "--format", "json"]);
    assert!(ok);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["case"]["id"], 1);
    assert_eq!(doc["alerts"].as_array().unwrap().len(), 22);
    assert!(
        doc["timeline"][0]["record"].is_object(),
        "the original record travels with the export"
    );
    assert!(doc["metrics"]["time_to_contain_ms"].is_i64());
    let (ok, ts, _) = run(&db, &["case", "export", "1", "--format", "timesketch"]);
    assert!(ok);
    let lines: Vec<serde_json::Value> = ts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), doc["timeline"].as_array().unwrap().len());
    for l in &lines {
        // Timesketch's required JSONL fields.
        assert!(
            l["message"].is_string() && l["timestamp_desc"].is_string(),
            "{l}"
        );
        assert!(
            model::time::parse_timestamp(l["datetime"].as_str().unwrap()).is_some(),
            "{l}"
        );
    }
    assert!(lines.iter().any(|l| l["tag"][0] == "firebreak-alert"));
    let csv_path = dir.path().join("t.csv");
    let (ok, _, err) = run(
        &db,
        &[
            "case",
            "export",
            "1",
            "--format",
            "csv",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(r.headers().unwrap().get(0), Some("time"));
    assert_eq!(r.records().count(), lines.len());
}

#[test]
fn the_store_path_and_window_come_from_firebreak_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("firebreak.toml"),
        "actor = \"oncall\"\n[store]\ndb = \"team.db\"\n[cases]\nwindow = \"2h\"\n",
    )
    .unwrap();
    let o = firebreak()
        .current_dir(dir.path())
        .env_remove("FIREBREAK_ACTOR")
        .arg("demo")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.path().join("team.db").exists() && !dir.path().join("firebreak.db").exists());
    let o = firebreak()
        .current_dir(dir.path())
        .env_remove("FIREBREAK_ACTOR")
        .args(["case", "audit", "1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("oncall (hunt)"));

    // A bad configuration is refused, naming the file and the setting.
    for (config, want) in [
        (
            "[cases]\nwindow = \"2 weeks\"\n",
            "firebreak.toml: [cases] window",
        ),
        ("[store]\npath = \"x.db\"\n", "unknown field `path`"),
    ] {
        std::fs::write(dir.path().join("firebreak.toml"), config).unwrap();
        let o = firebreak()
            .current_dir(dir.path())
            .args(["case", "list"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains("firebreak.toml") && err.contains(want),
            "{err}"
        );
    }
}

#[test]
fn hostile_strings_from_logs_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.db");
    let logs = dir.path().join("evil.jsonl");
    std::fs::write(
        &logs,
        r#"{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ev\u001b]0;owned\u0007il","accountId":"111122223333","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"},"requestParameters":{"name":"t\u001b[2J\u009brail"},"eventID":"h1","recipientAccountId":"111122223333"}
"#,
    )
    .unwrap();
    let o = firebreak()
        .args(["hunt", "--cases", "--no-progress", "--db"])
        .arg(&db)
        .arg(&logs)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        !o.stdout.contains(&0x1b),
        "hunt table passes escapes through"
    );
    for args in [
        &["case", "show", "1"][..],
        &["case", "timeline", "1"],
        &["case", "list"],
    ] {
        let (ok, out, err) = run(&db, args);
        assert!(ok, "{err}");
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{9b}') && !out.contains('\u{7}'),
            "{args:?} passes control characters through: {out:?}"
        );
        assert!(
            out.contains('\u{fffd}') || args[1] == "list",
            "{args:?}: {out}"
        );
    }
    // JSON keeps the exact value (escaped).
    let (_, jsonl, _) = run(&db, &["case", "timeline", "1", "--output", "jsonl"]);
    let row: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert!(row["actor"].as_str().unwrap().contains("\u{1b}]0;owned"));
}

/// `bench hunt` ends with its three ratios, each from separate, paired processes: plain hunt
/// against rsigma (or why that was not measured), `hunt --cases` against plain hunt, and hunt
/// against the lazy scan.
#[test]
fn bench_hunt_prints_the_three_ratios() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    let text = std::fs::read_to_string(shared.join("stratus-detonations/stratus_cloudtrail.jsonl"))
        .unwrap();
    let head: String = text.lines().take(2000).map(|l| format!("{l}\n")).collect();
    std::fs::write(&corpus, head).unwrap();
    let out = firebreak()
        .args([
            "bench",
            "hunt",
            "--threads",
            "1",
            "--rounds",
            "1",
            "--corpus",
        ])
        .arg(&corpus)
        .arg("--shared-data")
        .arg(&shared)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ratio = |name: &str| -> Option<f64> {
        let line = stdout.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim_start_matches(':')
            .split_whitespace()
            .next()?
            .strip_suffix('x')?
            .parse()
            .ok()
    };
    let cases = ratio("hunt --cases / hunt (cost, bundled rules)").expect(&stdout);
    assert!(cases > 1.0, "cases cost more than a plain hunt: {stdout}");
    let share =
        ratio("hunt / lazy scan (share of the parse limit, both rule sets)").expect(&stdout);
    assert!(share > 0.0 && share < 1.0, "{stdout}");
    let rsigma = "hunt / rsigma (throughput, SigmaHQ rules)";
    assert!(
        ratio(rsigma).is_some() || stdout.contains(&format!("{rsigma}: rsigma not found")),
        "{stdout}"
    );
    assert!(stdout.contains("lazy scan (serde IgnoredAny)"), "{stdout}");
}

/// The timeline pass's shortcuts (the record prefilter, the time gate, the memo of records
/// already handled) change nothing: the same inputs, one file given twice, give the same
/// timelines as a debug build told to read and examine every record.
#[test]
fn timeline_shortcuts_change_nothing() {
    let Some(shared) = shared() else { return };
    let stratus = shared.join("stratus-detonations/stratus_cloudtrail.jsonl");
    let panther = shared.join("panther-tests/panther_cloudtrail_tests.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let timeline = |db: &Path| -> Vec<(i64, String, Option<i64>, String)> {
        let c = rusqlite::Connection::open(db).unwrap();
        let mut q = c
            .prepare(
                "SELECT ce.case_id, e.key, e.time_ms, e.raw FROM case_events ce \
                 JOIN events e ON e.id = ce.event_id ORDER BY 1, 2",
            )
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let inputs = [stratus.as_path(), panther.as_path(), stratus.as_path()];
    let fast = dir.path().join("fast.db");
    hunt_cases(&fast, &inputs);
    let full = dir.path().join("full.db");
    hunt_cases_with(&full, &inputs, &[("FIREBREAK_TIMELINE_EXHAUSTIVE", "1")]);
    let (fast, full) = (timeline(&fast), timeline(&full));
    assert!(fast.len() > 100, "a real timeline: {} rows", fast.len());
    assert_eq!(fast, full);
}
