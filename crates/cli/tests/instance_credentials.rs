//! Stolen instance credentials: `hunt --aws-ip-ranges FILE` (or `aws_ip_ranges` in
//! firebreak.toml) tells a call from inside AWS from one outside it.

use std::path::Path;
use std::process::Command;

fn call(id: &str, ip: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0abc1234def567890",
            "arn": "arn:aws:sts::111122223333:assumed-role/web-role/i-0abc1234def567890",
            "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLE0000001",
            "sessionContext": {"ec2RoleDelivery": "2.0", "sessionIssuer": {"type": "Role",
                "arn": "arn:aws:iam::111122223333:role/web-role", "userName": "web-role"}}},
        "eventTime": "2026-01-01T10:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": "aws-sdk-go/1.44",
        "requestID": id, "eventID": id, "readOnly": true, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": "111122223333"
    })
    .to_string()
}

const RANGES: &str = r#"{"syncToken":"1","createDate":"2026-11-30-00-00-00","prefixes":[
  {"ip_prefix":"54.0.0.0/15","region":"us-east-1","service":"EC2","network_border_group":"us-east-1"}],
  "ipv6_prefixes":[{"ipv6_prefix":"2600:1f18::/33","region":"us-east-1","service":"EC2","network_border_group":"us-east-1"}]}"#;

fn hunt(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["hunt", "calls.jsonl", "--no-progress", "--output", "jsonl"];
    args.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .current_dir(dir)
        .env_remove("FIREBREAK_CONFIG")
        .env_remove("FIREBREAK_DB")
        .args(&args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn outside(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["rule_title"] == "EC2 Instance Credentials Used Outside AWS")
        .map(|a| a["src_ip"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn calls_from_outside_aws_ranges_alert_and_calls_from_inside_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let calls = [
        call("e-1", "54.1.2.3"),
        call("e-2", "198.51.100.7"),
        call("e-3", "2600:1f18::9"),
        call("e-4", "10.0.3.7"),
    ];
    std::fs::write(dir.path().join("calls.jsonl"), calls.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("ip-ranges.json"), RANGES).unwrap();

    // Without the file only private addresses are inside.
    let (code, out, err) = hunt(dir.path(), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        outside(&out),
        ["54.1.2.3", "198.51.100.7", "2600:1f18::9"],
        "{out}"
    );

    let (code, out, err) = hunt(dir.path(), &["--aws-ip-ranges", "ip-ranges.json"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(outside(&out), ["198.51.100.7"], "{out}");

    // The same from firebreak.toml.
    std::fs::write(
        dir.path().join("firebreak.toml"),
        "aws_ip_ranges = \"ip-ranges.json\"\n",
    )
    .unwrap();
    let (_, out, _) = hunt(dir.path(), &[]);
    assert_eq!(outside(&out), ["198.51.100.7"], "{out}");

    // A file that is not ip-ranges.json is an error that names it.
    std::fs::remove_file(dir.path().join("firebreak.toml")).unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"prefixes":[{"ip_prefix":"54.0.0.0/99"}]}"#,
    )
    .unwrap();
    let (code, _, err) = hunt(dir.path(), &["--aws-ip-ranges", "bad.json"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad.json") && err.contains("54.0.0.0/99"),
        "{err}"
    );
}
