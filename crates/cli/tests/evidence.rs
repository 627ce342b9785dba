//! Evidence from the command line: a case from the bundled sample incident whose evidence
//! verifies end to end (signed), every kind of tampering named by `evidence verify`, the
//! forensic workstation templates validated with cfn-lint, and collection from AWS (moto)
//! into the locker, the evidence bucket and the case timeline.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn firebreak(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    support::firebreak_aws(dir, None, "carmen", args)
}

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-logs")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
            let mut p = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            std::fs::set_permissions(&target, p).unwrap();
        }
    }
}

/// Runs `evidence verify 1` on a copy of `dir` changed by `tamper`.
fn verify_tampered(dir: &Path, tamper: impl FnOnce(&Path)) -> (Option<i32>, String) {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir, copy.path());
    tamper(copy.path());
    let (code, out, _) = firebreak(copy.path(), &["evidence", "verify", "1"]);
    (code, out)
}

fn ledger(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("evidence/cases/1/custody.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs `evidence verify 1` (reading the anchor from `endpoint`) on a copy of `dir` changed
/// by `tamper`.
fn verify_tampered_online(
    dir: &Path,
    endpoint: &str,
    tamper: impl FnOnce(&Path),
) -> (Option<i32>, String) {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir, copy.path());
    tamper(copy.path());
    let (code, out, _) = firebreak(
        copy.path(),
        &["evidence", "verify", "1", "--endpoint-url", endpoint],
    );
    (code, out)
}

/// Appends a correctly chained entry by "mallory", signed with `key` if given.
fn forge_entry(d: &Path, key: Option<&ed25519_dalek::SigningKey>) {
    let mut l = ledger(d);
    let last: custody::Entry = serde_json::from_str(l.last().unwrap()).unwrap();
    let draft = custody::Draft {
        case_id: case::CaseId(1),
        at_ms: 0,
        actor: "mallory".into(),
        action: "collected".into(),
        artifact: None,
        location: None,
        detail: serde_json::Value::Null,
    };
    l.push(custody::chain(Some(&last), draft, key).to_line());
    write_ledger(d, &l);
}

fn write_ledger(dir: &Path, lines: &[String]) {
    std::fs::write(
        dir.join("evidence/cases/1/custody.jsonl"),
        lines.join("\n") + "\n",
    )
    .unwrap();
}

#[test]
fn sample_case_evidence_verifies_end_to_end_and_every_tamper_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert_eq!(firebreak(dir, &["demo", "--db", "firebreak.db"]).0, Some(0));
    let (code, public, err) = firebreak(dir, &["keygen", "custody.key"]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::write(
        dir.join("firebreak.toml"),
        format!(
            "[evidence]\nsigning_key_file = \"custody.key\"\npublic_key = \"{}\"\n",
            public.trim()
        ),
    )
    .unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["cloudtrail", "vpcflow", "findings"] {
        for e in std::fs::read_dir(samples().join(sub)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    files.sort();
    for f in &files {
        let (code, out, err) = firebreak(
            dir,
            &[
                "evidence",
                "add",
                "1",
                f.to_str().unwrap(),
                "--source",
                "sample incident",
            ],
        );
        assert_eq!(code, Some(0), "{out}{err}");
    }
    let (code, out, _) = firebreak(dir, &["evidence", "verify", "1"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "verified: {} entries, {} artifacts, 0 problem(s)",
            files.len(),
            files.len()
        )),
        "{out}"
    );
    let (code, out, _) = firebreak(dir, &["evidence", "export", "1", "--out", "custody"]);
    assert_eq!(code, Some(0), "{out}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("custody/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["verified"], true);
    assert_eq!(manifest["ledger"]["signed"], true);
    assert_eq!(manifest["artifacts"].as_array().unwrap().len(), files.len());
    let report = std::fs::read_to_string(dir.join("custody/custody-report.md")).unwrap();
    assert!(
        report.contains("Verified:") && report.contains("| carmen | collected |"),
        "{report}"
    );
    // The export itself is in the ledger now, and everything still verifies.
    assert_eq!(firebreak(dir, &["evidence", "verify", "1"]).0, Some(0));
    let n = ledger(dir).len();

    // Artifact bytes changed in the locker.
    let first: serde_json::Value = serde_json::from_str(&ledger(dir)[0]).unwrap();
    let sha = first["artifact"]["sha256"].as_str().unwrap().to_string();
    let (code, out) = verify_tampered(dir, |d| {
        std::fs::write(
            d.join("evidence/objects").join(&sha[..2]).join(&sha[2..]),
            b"edited",
        )
        .unwrap();
    });
    assert_eq!(code, Some(1));
    assert!(
        out.contains(&format!(
            "entry 1: ArtifactChanged: artifact {}",
            first["artifact"]["name"].as_str().unwrap()
        )),
        "{out}"
    );
    // An entry edited.
    let (code, out) = verify_tampered(dir, |d| {
        let mut l = ledger(d);
        l[1] = l[1].replace("\"carmen\"", "\"mallory\"");
        write_ledger(d, &l);
    });
    assert_eq!(code, Some(1));
    assert!(out.contains("entry 2: Edited: entry 2 was edited"), "{out}");
    // An entry removed.
    let (code, out) = verify_tampered(dir, |d| {
        let mut l = ledger(d);
        l.remove(2);
        write_ledger(d, &l);
    });
    assert_eq!(code, Some(1));
    assert!(
        out.contains("entry 3: Removed: entry 3 was removed"),
        "{out}"
    );
    // Entries reordered.
    let (code, out) = verify_tampered(dir, |d| {
        let mut l = ledger(d);
        l.swap(1, 2);
        write_ledger(d, &l);
    });
    assert_eq!(code, Some(1));
    assert!(out.contains("Reordered"), "{out}");
    // An entry added, chained correctly but signed with another key: that key is not one
    // the configuration trusts, whatever the entry says.
    let other_key = custody::signing_key(&"42".repeat(32)).unwrap();
    let (code, out) = verify_tampered(dir, |d| forge_entry(d, Some(&other_key)));
    assert_eq!(code, Some(1));
    assert!(
        out.contains(&format!("entry {}: UnknownKey", n + 1)),
        "{out}"
    );
    // Added unsigned: the trusted key and the witness both refuse it.
    let (code, out) = verify_tampered(dir, |d| forge_entry(d, None));
    assert_eq!(code, Some(1));
    assert!(out.contains(&format!("entry {}: Unsigned", n + 1)), "{out}");
    // The ledger cut short: the store's witness still knows the last entry.
    let (code, out) = verify_tampered(dir, |d| {
        let mut l = ledger(d);
        l.pop();
        write_ledger(d, &l);
    });
    assert_eq!(code, Some(1));
    assert!(out.contains(&format!("entry {n}: Removed")), "{out}");
}

#[test]
fn workstation_templates_pass_cfn_lint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert_eq!(firebreak(dir, &["plan", "init"]).0, Some(0));
    let (code, out, err) = firebreak(
        dir,
        &[
            "forensics",
            "workstation",
            "--snapshot",
            "snap-0123456789abcdef0",
            "--snapshot",
            "snap-0fedcba9876543210",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let stack: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("forensics/workstation-case-0.json")).unwrap(),
    )
    .unwrap();
    let r = &stack["Resources"];
    assert_eq!(
        r["EvidenceVolume2"]["Properties"]["SnapshotId"],
        "snap-0fedcba9876543210"
    );
    assert!(
        r.as_object().unwrap().values().all(
            |v| v["Type"] != "AWS::EC2::InternetGateway" && v["Type"] != "AWS::EC2::NatGateway"
        )
    );
    assert_eq!(
        stack["Parameters"]["EvidenceBucket"]["Default"],
        "example-ir-evidence"
    );
    let policy = &r["WorkstationRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        [0]["Action"];
    assert!(
        policy
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.as_str().unwrap().starts_with("s3:Get") || a == "s3:ListBucket")
    );
    let pipeline: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("forensics/forensic-ami-pipeline.json")).unwrap(),
    )
    .unwrap();
    assert!(
        pipeline["Resources"]["Pipeline"]["Properties"]["Schedule"]["ScheduleExpression"]
            .is_object()
    );

    let lint =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/moto-venv/bin/cfn-lint");
    if !lint.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cfn-lint is not installed (scripts/test.sh installs it)"
        );
        eprintln!("skipping cfn-lint: not installed (run scripts/test.sh)");
        return;
    }
    for t in [
        "forensics/workstation-case-0.json",
        "forensics/forensic-ami-pipeline.json",
    ] {
        let o = Command::new(&lint).arg(dir.join(t)).output().unwrap();
        assert!(
            o.status.success(),
            "{t}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

const ACCOUNT: &str = "111122223333";
const FORENSIC: &str = "999988887777";

fn gz(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn evidence_is_collected_from_aws_into_the_locker_the_bucket_and_the_timeline() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = aws::Connection::emulator(&endpoint);
    let acct = rt
        .block_on(base.assume(&format!("arn:aws:iam::{ACCOUNT}:role/setup"), None, "setup"))
        .unwrap();
    let fx = rt
        .block_on(base.assume(
            &format!("arn:aws:iam::{FORENSIC}:role/setup"),
            None,
            "setup",
        ))
        .unwrap();
    let (instance, record) = rt.block_on(async {
        let out = acct.ec2("us-east-1").run_instances().image_id("ami-12c6146b").min_count(1).max_count(1).send().await.unwrap();
        let instance = out.instances()[0].instance_id().unwrap().to_string();
        let record = serde_json::json!({"Records": [{
            "eventVersion": "1.08", "eventTime": "2026-11-30T10:00:00Z", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "recipientAccountId": ACCOUNT, "eventID": "run-1", "requestID": "r-1",
            "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{ACCOUNT}:user/ci-deployer"), "accountId": ACCOUNT,
                             "accessKeyId": "AKIAQXAMPLELEAKED001", "userName": "ci-deployer"},
            "requestParameters": {"instanceType": "p3.2xlarge", "instancesSet": {"items": [{"imageId": "ami-12c6146b"}]}},
            "responseElements": {"instancesSet": {"items": [{"instanceId": instance}]}}}]})
        .to_string();
        // The trail delivers the same record to S3, with a digest vouching for it.
        let s3 = acct.s3("us-east-1");
        s3.create_bucket().bucket("trail-111122223333").send().await.unwrap();
        acct.cloudtrail("us-east-1").create_trail().name("org").s3_bucket_name("trail-111122223333").send().await.unwrap();
        let log = gz(record.as_bytes());
        let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/111122223333_CloudTrail_us-east-1_20261130T1005Z_x.json.gz";
        s3.put_object().bucket("trail-111122223333").key(key).body(log.clone().into()).send().await.unwrap();
        let digest = serde_json::json!({"logFiles": [{"s3Bucket": "trail-111122223333", "s3Object": key, "hashValue": custody::sha256_hex(&log), "hashAlgorithm": "SHA-256"}]});
        s3.put_object().bucket("trail-111122223333")
            .key("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/30/111122223333_CloudTrail-Digest_us-east-1_org_us-east-1_20261130T1100Z.json.gz")
            .body(gz(digest.to_string().as_bytes()).into()).send().await.unwrap();
        // The evidence bucket in the forensic account, under Object Lock.
        fx.s3("us-east-1").create_bucket().bucket("example-ir-evidence").object_lock_enabled_for_bucket(true).send().await.unwrap();
        (instance, record)
    });

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("trail.json"), &record).unwrap();
    assert_eq!(firebreak(dir, &["plan", "init"]).0, Some(0));
    // The team's plan pre-approves evidence-only plans at its two highest levels.
    let ir = std::fs::read_to_string(dir.join("ir-plan.toml")).unwrap().replace(
        r#"approval = { roles = ["incident-commander", "responder"]"#,
        r#"approval = { preapprove_evidence = true, roles = ["incident-commander", "responder"]"#,
    );
    std::fs::write(dir.join("ir-plan.toml"), ir).unwrap();
    let (code, out, err) = firebreak(dir, &["hunt", "trail.json", "--cases"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let (code, out, err) = firebreak(
        dir,
        &["evidence", "collect", "1", "--endpoint-url", &endpoint],
    );
    // moto has no LookupEvents or GuardDuty findings: those are recorded as not collected.
    assert!(matches!(code, Some(0 | 1)), "{out}{err}");
    let out_collect = out.clone();
    assert!(out.contains("uploaded under Object Lock"), "{out}{err}");
    assert!(out.contains("Examined 1 log artifact(s)"), "{out}");

    let entries: Vec<serde_json::Value> =
        std::fs::read_to_string(dir.join("evidence/cases/1/custody.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let named = |name: &str, action: &str| {
        entries
            .iter()
            .find(|e| {
                e["action"] == action
                    && e["artifact"]["name"]
                        .as_str()
                        .is_some_and(|n| n.contains(name))
            })
            .cloned()
    };
    let log = named(
        "111122223333_CloudTrail_us-east-1_20261130T1005Z_x.json.gz",
        "collected",
    )
    .expect("the trail's log file");
    assert_eq!(log["detail"]["digest"], "verified against a digest file");
    // Snapshots and their encrypted copies came from the evidence plan, pre-approved by
    // the IR plan and recorded as such: nothing changed AWS outside a plan.
    assert!(
        out_collect.contains("they are response plan 1 (evidence only"),
        "{out_collect}"
    );
    assert!(
        out_collect.contains("pre-approved by the IR plan's level"),
        "{out_collect}"
    );
    for n in [
        format!("snapshot-volumes-{instance}"),
        format!("copy-snapshots-{instance}"),
    ] {
        assert!(named(&n, "collected").is_some(), "{n}: {entries:#?}");
    }
    let (_, status, _) = firebreak(dir, &["respond", "status", "1", "--plan", "1"]);
    assert!(
        status.contains("pre-approved by the IR plan (evidence only)"),
        "{status}"
    );
    assert!(status.contains("Approved"), "{status}");
    for n in [
        format!("console-output-{instance}"),
        format!("describe-instances-{instance}"),
    ] {
        assert!(named(&n, "collected").is_some(), "{n}");
        let up = named(&n, "uploaded").unwrap_or_else(|| panic!("{n} uploaded"));
        assert!(
            up["location"]
                .as_str()
                .unwrap()
                .starts_with("s3://example-ir-evidence/cases/1/"),
            "{up}"
        );
    }
    assert!(entries.iter().any(|e| e["action"] == "examined"));
    // The uploads are locked in the forensic account.
    let up = named(&format!("console-output-{instance}"), "uploaded").unwrap();
    let key = up["location"]
        .as_str()
        .unwrap()
        .trim_start_matches("s3://example-ir-evidence/")
        .to_string();
    let head = rt
        .block_on(
            fx.s3("us-east-1")
                .head_object()
                .bucket("example-ir-evidence")
                .key(&key)
                .send(),
        )
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("COMPLIANCE")
    );

    // The collection anchored the ledger head in the evidence bucket; verify reads it back.
    assert!(
        out_collect.contains(
            "Custody ledger head anchored at s3://example-ir-evidence/cases/1/custody-anchors/"
        ),
        "{out_collect}"
    );
    let (code, out, _) = firebreak(
        dir,
        &["evidence", "verify", "1", "--endpoint-url", &endpoint],
    );
    assert_eq!(code, Some(0), "{out}");
    let n = ledger(dir).len();
    assert!(out.contains(&format!("anchor: entry {n} matches the anchor at s3://example-ir-evidence/cases/1/custody-anchors/")), "{out}");
    let (_, out, _) = firebreak(dir, &["evidence", "verify", "1", "--offline"]);
    assert!(out.contains("anchor: NOT CHECKED (--offline)"), "{out}");
    // A consistent rewrite of the ledger and the store's witness (triggers dropped, as
    // anyone holding the file can): every local check passes, the anchor does not.
    let (code, out) = verify_tampered_online(dir, &endpoint, |d| {
        let mut rewritten: Vec<custody::Entry> = Vec::new();
        for l in ledger(d) {
            let mut e: custody::Entry = serde_json::from_str(&l).unwrap();
            e.body.actor = "mallory".into();
            rewritten.push(custody::chain(rewritten.last(), e.body, None));
        }
        write_ledger(
            d,
            &rewritten
                .iter()
                .map(custody::Entry::to_line)
                .collect::<Vec<_>>(),
        );
        let db = rusqlite::Connection::open(d.join("firebreak.db")).unwrap();
        db.execute_batch("DROP TRIGGER custody_witness_no_update; DROP TRIGGER custody_witness_no_delete; DELETE FROM custody_witness WHERE case_id = 1;").unwrap();
        for e in &rewritten {
            db.execute(
                "INSERT INTO custody_witness (case_id, seq, hash, at_ms) VALUES (1, ?1, ?2, 0)",
                rusqlite::params![e.seq as i64, e.hash],
            )
            .unwrap();
        }
    });
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("entry {n}: AnchorMismatch")), "{out}");
    assert!(out.contains("anchor: MISMATCH"), "{out}");
    assert!(
        !out.contains("Edited") && !out.contains("Added") && !out.contains("Removed"),
        "only the anchor catches it: {out}"
    );
    let (_, out, _) = firebreak(dir, &["forensics", "workstation", "--case", "1"]);
    assert!(out.contains("(1 evidence volume(s))"), "{out}");
    let (_, timeline, _) = firebreak(dir, &["case", "timeline", "1"]);
    assert!(timeline.contains("RunInstances"), "{timeline}");
}

/// Custody writers serialise: two writers at once never give a duplicate sequence (and so
/// never a false "tampered"); a writer killed between appending an entry and the store's
/// witness leaves a state `verify` calls interrupted and the next writer repairs, recording
/// the repair; an entry forged into the ledger is not taken for such an interruption.
#[test]
fn custody_writers_serialise_and_repair_an_interrupted_append_but_not_a_forgery() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert_eq!(firebreak(dir, &["demo", "--db", "firebreak.db"]).0, Some(0));
    std::fs::write(dir.join("a.txt"), "a").unwrap();
    // Two writers at once, ten entries each.
    let spawn = |tag: &'static str| {
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            for i in 0..10 {
                let f = dir.join(format!("{tag}-{i}.txt"));
                std::fs::write(&f, format!("{tag} {i}")).unwrap();
                let (code, out, err) = support::firebreak_aws(
                    &dir,
                    None,
                    tag,
                    &["evidence", "add", "1", f.to_str().unwrap()],
                );
                assert_eq!(code, Some(0), "{out}{err}");
            }
        })
    };
    let (a, b) = (spawn("ann"), spawn("ben"));
    a.join().unwrap();
    b.join().unwrap();
    let lines = ledger(dir);
    assert_eq!(lines.len(), 20);
    let (code, out, _) = firebreak(dir, &["evidence", "verify", "1"]);
    assert_eq!(code, Some(0), "{out}");

    // Killed between the append and the witness.
    let o = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .current_dir(dir)
        .env_remove("FIREBREAK_DB")
        .env_remove("FIREBREAK_PLAN")
        .env_remove("FIREBREAK_CONFIG")
        .env("FIREBREAK_ACTOR", "carmen")
        .env("FIREBREAK_FAULT", "abort-after-custody-append:1")
        .args(["evidence", "add", "1", "a.txt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), None, "{o:?}");
    assert_eq!(ledger(dir).len(), 21);
    let (code, out, _) = firebreak(dir, &["evidence", "verify", "1"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("entry 21: Interrupted"), "{out}");
    assert!(!out.contains("Added"), "not taken for tampering: {out}");
    // The next writer repairs it, and says so in the ledger.
    let (code, out, err) = firebreak(dir, &["evidence", "add", "1", "a.txt"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let l = ledger(dir);
    assert_eq!(l.len(), 23);
    let repaired: serde_json::Value = serde_json::from_str(&l[21]).unwrap();
    assert_eq!(repaired["action"], "witness-repaired");
    assert_eq!(repaired["detail"]["seq"], 21);
    let (code, out, _) = firebreak(dir, &["evidence", "verify", "1"]);
    assert_eq!(code, Some(0), "{out}");

    // A forged entry, chained correctly: the repair does not accept it, nothing more is
    // written on top of it, and verify names it.
    forge_entry(dir, None);
    let (code, _, err) = firebreak(dir, &["evidence", "add", "1", "a.txt"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("entry 24 that the store never witnessed and no writer announced"),
        "{err}"
    );
    assert_eq!(ledger(dir).len(), 24);
    let (code, out, _) = firebreak(dir, &["evidence", "verify", "1"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("entry 24: Added"), "{out}");
}

/// `evidence add` streams: a 2 GiB (sparse) memory image goes into the locker with the
/// process's peak memory under 64 MiB, and its hash is that of its bytes.
#[test]
fn evidence_add_streams_a_multi_gigabyte_image_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert_eq!(firebreak(dir, &["demo", "--db", "firebreak.db"]).0, Some(0));
    let image = dir.join("memory.lime");
    let f = std::fs::File::create(&image).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    let child = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .current_dir(dir)
        .env_remove("FIREBREAK_DB")
        .env_remove("FIREBREAK_PLAN")
        .env_remove("FIREBREAK_CONFIG")
        .env("FIREBREAK_ACTOR", "carmen")
        .args(["evidence", "add", "1", image.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (status, peak_kib) = wait_with_peak_rss(child);
    assert_eq!(status, 0);
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
    let entry: serde_json::Value = serde_json::from_str(ledger(dir).last().unwrap()).unwrap();
    assert_eq!(entry["artifact"]["size"], 2u64 << 30);
    // SHA-256 of 2 GiB of zeros (computed independently, by Python's hashlib).
    assert_eq!(
        entry["artifact"]["sha256"],
        "a7c744c13cc101ed66c29f672f92455547889cc586ce6d44fe76ae824958ea51"
    );
}

/// Waits for `child` and returns its exit status and its own peak resident set in KiB
/// (`wait4` reports the usage of that one child).
fn wait_with_peak_rss(child: std::process::Child) -> (i32, i64) {
    let pid = child.id() as libc::pid_t;
    std::mem::forget(child);
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 writes the status and usage of the child it waited for.
    let got = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    assert_eq!(got, pid);
    let usage = unsafe { usage.assume_init() };
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}
