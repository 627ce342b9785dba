//! Sigma semantics end to end: rule text → compiled set → events read by `ingest` → alerts.

mod support;

use detect::Detector;
use ingest::IngestOptions;
use model::{Alert, AlertKind};
use sigma::compile::Placeholders;

fn detector(rules: &str, placeholders: &[&str]) -> Detector {
    let mut ph = Placeholders::default();
    for p in placeholders {
        ph.add(p).unwrap();
    }
    let (set, errors, _) = detect::rules::build([("t.yml", rules)], &ph);
    assert!(errors.is_empty(), "{errors:#?}");
    Detector::new(set, false)
}

fn alerts(det: &Detector, events: &str) -> Vec<Alert> {
    let input = ingest::Input::Memory {
        name: "e.jsonl".into(),
        data: events.as_bytes().into(),
    };
    support::alerts(
        det,
        &[input],
        &IngestOptions {
            threads: 1,
            ..IngestOptions::default()
        },
    )
}

/// Events whose `errorCode` is set, absent, and null (lines 1, 2, 3).
const ERROR_CODE_SET_ABSENT_NULL: [&str; 3] = [
    r#""eventName":"x","errorCode":"E""#,
    r#""eventName":"x""#,
    r#""eventName":"x","errorCode":null"#,
];

/// Lines (1-based) on which a one-rule detection fires.
fn lines(detection: &str, events: &[&str]) -> Vec<u64> {
    lines_with(detection, events, &[])
}

fn lines_with(detection: &str, events: &[&str], placeholders: &[&str]) -> Vec<u64> {
    let rule = format!(
        "title: t\nid: r1\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n{detection}\n"
    );
    let det = detector(&rule, placeholders);
    let body: String = events
        .iter()
        .map(|e| {
            format!("{{\"eventVersion\":\"1.09\",\"eventSource\":\"s3.amazonaws.com\",{e}}}\n")
        })
        .collect();
    alerts(&det, &body).iter().map(|a| a.event.line).collect()
}

#[test]
fn equality_is_case_insensitive_and_null_means_absent() {
    let d = "  sel:\n    eventName: putbucketpolicy\n    errorCode: null\n  condition: sel";
    assert_eq!(
        lines(
            d,
            &[
                r#""eventName":"PutBucketPolicy""#,
                r#""eventName":"PutBucketPolicy","errorCode":"AccessDenied""#,
                r#""eventName":"PutBucketPolicy","errorCode":null"#
            ]
        ),
        [1, 3]
    );
    let cased = "  sel:\n    eventName|cased: PutBucketPolicy\n  condition: sel";
    assert_eq!(
        lines(
            cased,
            &[
                r#""eventName":"PutBucketPolicy""#,
                r#""eventName":"putbucketpolicy""#
            ]
        ),
        [1]
    );
}

#[test]
fn objects_arrays_numbers_and_booleans() {
    // String modifiers see an object's compact JSON; a list matches if any element does.
    let d = "  sel:\n    requestParameters|contains: '\"bucketName\":\"secret'\n  condition: sel";
    assert_eq!(
        lines(
            d,
            &[
                r#""eventName":"x","requestParameters":{"bucketName": "secret-data"}"#,
                r#""eventName":"x","requestParameters":{"bucketName":"public"}"#
            ]
        ),
        [1]
    );
    let any = "  sel:\n    resources.ARN|endswith: ':bucket/b2'\n  condition: sel";
    assert_eq!(
        lines(
            any,
            &[
                r#""eventName":"x","resources":[{"ARN":"arn:x:bucket/b1"},{"ARN":"arn:x:bucket/b2"}]"#,
                r#""eventName":"x","resources":[{"ARN":"arn:x:bucket/b1"}]"#
            ]
        ),
        [1]
    );
    let typed = "  sel:\n    responseElements.publiclyAccessible: 'true'\n    requestParameters.port: 5432\n  condition: sel";
    assert_eq!(
        lines(
            typed,
            &[
                r#""eventName":"x","responseElements":{"publiclyAccessible":true},"requestParameters":{"port":5432}"#,
                r#""eventName":"x","responseElements":{"publiclyAccessible":false},"requestParameters":{"port":5432}"#
            ]
        ),
        [1]
    );
    let present = "  sel:\n    errorCode|contains: '*'\n  condition: sel";
    assert_eq!(lines(present, &ERROR_CODE_SET_ABSENT_NULL), [1]);
}

#[test]
fn string_modifiers_all_regex_and_wildcards() {
    let all = "  sel:\n    userAgent|contains|all:\n      - boto3\n      - linux\n  condition: sel";
    assert_eq!(
        lines(
            all,
            &[
                r#""eventName":"x","userAgent":"Boto3/1.0 Linux""#,
                r#""eventName":"x","userAgent":"Boto3/1.0 Windows""#
            ]
        ),
        [1]
    );
    let re = "  sel:\n    userIdentity.arn|re|i: ':ASSUMED-ROLE/aws:'\n  condition: sel";
    assert_eq!(
        lines(
            re,
            &[
                r#""eventName":"x","userIdentity":{"arn":"arn:aws:sts::1:assumed-role/aws:ec2/i-1"}"#,
                r#""eventName":"x","userIdentity":{"arn":"arn:aws:iam::1:user/u"}"#
            ]
        ),
        [1]
    );
    let glob = "  sel:\n    eventName: 'Get*Policy?'\n  condition: sel";
    assert_eq!(
        lines(
            glob,
            &[
                r#""eventName":"GetBucketPolicys""#,
                r#""eventName":"GetBucketPolicy""#
            ]
        ),
        [1]
    );
    let starts = "  sel:\n    eventName|startswith: list\n  condition: sel";
    assert_eq!(
        lines(
            starts,
            &[r#""eventName":"ListUsers""#, r#""eventName":"GetUser""#]
        ),
        [1]
    );
}

#[test]
fn encodings_and_network_modifiers() {
    // "whoami" base64 inside a command line, and as UTF-16LE base64 at any offset.
    let b64 = "  sel:\n    requestParameters.cmd|base64offset|contains: whoami\n  condition: sel";
    assert_eq!(
        lines(
            b64,
            &[
                r#""eventName":"x","requestParameters":{"cmd":"echo d2hvYW1p | base64 -d"}"#,
                r#""eventName":"x","requestParameters":{"cmd":"echo aGk="}"#
            ]
        ),
        [1]
    );
    let wide = "  sel:\n    requestParameters.cmd|wide|base64: 'ab'\n  condition: sel";
    assert_eq!(
        lines(
            wide,
            &[
                r#""eventName":"x","requestParameters":{"cmd":"YQBiAA=="}"#,
                r#""eventName":"x","requestParameters":{"cmd":"YWI="}"#
            ]
        ),
        [1]
    );
    let dash = "  sel:\n    requestParameters.cmd|windash|contains: ' -enc '\n  condition: sel";
    assert_eq!(
        lines(
            dash,
            &[
                r#""eventName":"x","requestParameters":{"cmd":"powershell /enc abc"}"#,
                r#""eventName":"x","requestParameters":{"cmd":"powershell enc"}"#
            ]
        ),
        [1]
    );
    let cidr = "  sel:\n    sourceIPAddress|cidr: 203.0.113.0/24\n  condition: sel";
    assert_eq!(
        lines(
            cidr,
            &[
                r#""eventName":"x","sourceIPAddress":"203.0.113.9""#,
                r#""eventName":"x","sourceIPAddress":"AWS Internal""#
            ]
        ),
        [1]
    );
}

#[test]
fn exists_neq_numbers_fieldref_and_expand() {
    let exists = "  sel:\n    errorCode|exists: false\n  condition: sel";
    assert_eq!(lines(exists, &ERROR_CODE_SET_ABSENT_NULL), [2, 3]);
    // A null value is no value: `exists: true` needs one that is not null.
    let present = "  sel:\n    errorCode|exists: true\n  condition: sel";
    assert_eq!(lines(present, &ERROR_CODE_SET_ABSENT_NULL), [1]);
    let neq = "  sel:\n    awsRegion|neq: us-east-1\n  condition: sel";
    assert_eq!(
        lines(
            neq,
            &[
                r#""eventName":"x","awsRegion":"us-east-1""#,
                r#""eventName":"x","awsRegion":"eu-west-1""#,
                r#""eventName":"x""#
            ]
        ),
        [2]
    );
    let gt = "  sel:\n    requestParameters.maxCount|gte: 10\n  condition: sel";
    assert_eq!(
        lines(
            gt,
            &[
                r#""eventName":"x","requestParameters":{"maxCount":10}"#,
                r#""eventName":"x","requestParameters":{"maxCount":"9"}"#
            ]
        ),
        [1]
    );
    let fieldref =
        "  sel:\n    requestParameters.userName|fieldref: userIdentity.userName\n  condition: sel";
    assert_eq!(
        lines(
            fieldref,
            &[
                r#""eventName":"x","requestParameters":{"userName":"Bob"},"userIdentity":{"userName":"bob"}"#,
                r#""eventName":"x","requestParameters":{"userName":"bob"},"userIdentity":{"userName":"eve"}"#
            ]
        ),
        [1]
    );
    let expand = "  sel:\n    sourceIPAddress|expand: '%office%'\n  condition: sel";
    assert_eq!(
        lines_with(
            expand,
            &[
                r#""eventName":"x","sourceIPAddress":"192.0.2.1""#,
                r#""eventName":"x","sourceIPAddress":"192.0.2.2""#,
                r#""eventName":"x","sourceIPAddress":"192.0.2.3""#
            ],
            &["office=192.0.2.1", "office=192.0.2.3"]
        ),
        [1, 3]
    );
}

#[test]
fn keywords_and_conditions() {
    let kw = "  keywords:\n    - pacu\n    - trufflehog\n  condition: keywords";
    assert_eq!(
        lines(
            kw,
            &[
                r#""eventName":"x","userAgent":"Pacu/1.0""#,
                r#""eventName":"x","userAgent":"aws-cli""#
            ]
        ),
        [1]
    );
    let of = "  sel_a:\n    eventName: A\n  sel_b:\n    eventName: B\n  filter_1:\n    awsRegion: eu-west-1\n  condition: 1 of sel_* and not 1 of filter_*";
    assert_eq!(
        lines(
            of,
            &[
                r#""eventName":"A""#,
                r#""eventName":"B","awsRegion":"eu-west-1""#,
                r#""eventName":"C""#,
                r#""eventName":"B""#
            ]
        ),
        [1, 4]
    );
    let all_them =
        "  a:\n    eventName: A\n  b:\n    awsRegion: eu-west-1\n  condition: all of them";
    assert_eq!(
        lines(
            all_them,
            &[
                r#""eventName":"A""#,
                r#""eventName":"A","awsRegion":"eu-west-1""#
            ]
        ),
        [2]
    );
    let list_of_maps = "  sel:\n    - eventName: A\n    - awsRegion: eu-west-1\n  condition: sel";
    assert_eq!(
        lines(
            list_of_maps,
            &[
                r#""eventName":"A""#,
                r#""eventName":"B","awsRegion":"eu-west-1""#,
                r#""eventName":"C""#
            ]
        ),
        [1, 2]
    );
    let parens = "  a:\n    eventName: A\n  b:\n    eventName: B\n  c:\n    awsRegion: r\n  condition: (a or b) and not c";
    assert_eq!(
        lines(
            parens,
            &[r#""eventName":"A""#, r#""eventName":"B","awsRegion":"r""#]
        ),
        [1]
    );
}

const BASE: &str = "title: list calls\nid: base\nname: list_calls\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName|startswith: List\n  condition: sel\n";

fn ct(line: &str) -> String {
    format!("{{\"eventVersion\":\"1.09\",\"eventSource\":\"iam.amazonaws.com\",{line}}}\n")
}

fn corr_alerts(correlation: &str, events: &[String]) -> Vec<Alert> {
    let det = detector(&format!("{BASE}---\n{correlation}"), &[]);
    alerts(&det, &events.concat())
}

#[test]
fn sigma_filter_rules_narrow_the_rules_they_name() {
    let filter = "title: not the scanner\nid: f1\nlogsource:\n  product: aws\n  service: cloudtrail\nfilter:\n  rules:\n    - list_calls\n  selection:\n    sourceIPAddress: 192.0.2.10\n  condition: not selection\n";
    let det = detector(&format!("{BASE}---\n{filter}"), &[]);
    let got: Vec<u64> = alerts(
        &det,
        &[
            ct(r#""eventName":"ListUsers","sourceIPAddress":"192.0.2.10""#),
            ct(r#""eventName":"ListUsers","sourceIPAddress":"198.51.100.1""#),
        ]
        .concat(),
    )
    .iter()
    .map(|a| a.event.line)
    .collect();
    assert_eq!(got, [2]);
}

fn at(secs: usize, user: &str, name: &str, extra: &str) -> String {
    let (m, s) = (secs / 60, secs % 60);
    ct(&format!(
        r#""eventName":"{name}","eventTime":"2026-01-01T10:{m:02}:{s:02}Z","userIdentity":{{"arn":"{user}"}}{extra}"#
    ))
}

#[test]
fn event_count_with_group_by_and_generate() {
    let c = "title: many lists\nid: c1\ncorrelation:\n  type: event_count\n  rules: [list_calls]\n  group-by: [userIdentity.arn]\n  timespan: 1m\n  condition:\n    gte: 3\n";
    let events: Vec<String> = (0..3)
        .map(|i| at(i, "a", "ListUsers", ""))
        .chain((3..5).map(|i| at(i, "b", "ListUsers", "")))
        .collect();
    let got = corr_alerts(c, &events);
    assert_eq!(
        got.len(),
        1,
        "base rule raises nothing by itself (generate: false): {got:#?}"
    );
    let AlertKind::Correlation {
        group,
        value,
        events: contributing,
        ..
    } = &got[0].kind
    else {
        panic!()
    };
    assert_eq!(group, &[("userIdentity.arn".to_string(), "a".to_string())]);
    assert_eq!(*value, 3.0);
    assert_eq!(contributing.len(), 3);
    assert_eq!(got[0].event.line, 3, "located at the window's last event");
    let generating = c.replace("    gte: 3\n", "    gte: 3\n  generate: true\n");
    assert_eq!(
        corr_alerts(&generating, &events).len(),
        6,
        "5 base alerts + 1 correlation"
    );
}

#[test]
fn value_count_sum_avg_and_percentile() {
    let events: Vec<String> = (0..4)
        .map(|i| {
            at(
                i,
                "a",
                "ListUsers",
                &format!(r#","requestParameters":{{"n":{}}}"#, (i + 1) * 10),
            )
        })
        .collect();
    let mk = |kind: &str, cond: &str| {
        format!(
            "title: v\nid: v1\ncorrelation:\n  type: {kind}\n  rules: [list_calls]\n  timespan: 1m\n  condition:\n    {cond}\n    field: requestParameters.n\n"
        )
    };
    let value = |kind: &str, cond: &str| {
        corr_alerts(&mk(kind, cond), &events)
            .iter()
            .map(|a| match &a.kind {
                AlertKind::Correlation { value, .. } => *value,
                _ => -1.0,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(value("value_count", "gte: 4"), [4.0]);
    assert_eq!(value("value_count", "gte: 5"), Vec::<f64>::new());
    assert_eq!(value("value_sum", "gt: 99"), [100.0]);
    assert_eq!(value("value_avg", "gte: 25"), [25.0]);
    assert_eq!(value("value_percentile", "gte: 30"), [30.0]);
}

#[test]
fn temporal_ordered_and_chaining() {
    let second = "title: deletes\nid: del\nname: deletes\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName|startswith: Delete\n  condition: sel\n";
    let ordered = "title: list then delete\nid: t1\nname: list_then_delete\ncorrelation:\n  type: temporal_ordered\n  rules: [list_calls, deletes]\n  group-by: [userIdentity.arn]\n  timespan: 1m\n";
    let chained = "title: repeated list-then-delete\nid: t2\ncorrelation:\n  type: event_count\n  rules: [list_then_delete]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition:\n    gte: 2\n";
    let det = detector(
        &format!("{BASE}---\n{second}---\n{ordered}---\n{chained}"),
        &[],
    );
    // Two list-then-delete sequences, two minutes apart (each window yields one alert).
    let in_order = [
        at(0, "a", "ListUsers", ""),
        at(1, "a", "DeleteUser", ""),
        at(120, "a", "ListRoles", ""),
        at(121, "a", "DeleteRole", ""),
    ]
    .concat();
    let got = alerts(&det, &in_order);
    let ids: Vec<&str> = got.iter().map(|a| a.rule.id.as_str()).collect();
    assert_eq!(ids.iter().filter(|i| **i == "t1").count(), 2, "{ids:?}");
    assert_eq!(
        ids.iter().filter(|i| **i == "t2").count(),
        1,
        "chained correlation fires once: {ids:?}"
    );
    let wrong_order = [at(0, "a", "DeleteUser", ""), at(1, "a", "ListUsers", "")].concat();
    assert!(alerts(&det, &wrong_order).iter().all(|a| a.rule.id != "t1"));
    let temporal = ordered
        .replace("temporal_ordered", "temporal")
        .replace("id: t1", "id: t3")
        .replace("list_then_delete", "either_order");
    let det = detector(&format!("{BASE}---\n{second}---\n{temporal}"), &[]);
    assert!(alerts(&det, &wrong_order).iter().any(|a| a.rule.id == "t3"));
}

#[test]
fn correlation_aliases_join_different_field_names() {
    // A key created for a user, then that user's key used: joined on the user name, which the
    // two rules find in different fields.
    let created = "title: key created\nid: kc\nname: key_created\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: CreateAccessKey\n  condition: sel\n";
    let used = "title: key used\nid: ku\nname: key_used\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: GetCallerIdentity\n  condition: sel\n";
    let corr = "title: new key used\nid: nk\ncorrelation:\n  type: temporal_ordered\n  rules: [key_created, key_used]\n  group-by: [user]\n  aliases:\n    user:\n      key_created: requestParameters.userName\n      key_used: userIdentity.userName\n  timespan: 1h\n";
    let det = detector(&format!("{created}---\n{used}---\n{corr}"), &[]);
    let make = |user_of_use: &str| {
        [
            ct(r#""eventName":"CreateAccessKey","eventTime":"2026-01-01T10:00:00Z","userIdentity":{"userName":"admin"},"requestParameters":{"userName":"backdoor"}"#),
            ct(&format!(r#""eventName":"GetCallerIdentity","eventTime":"2026-01-01T10:05:00Z","userIdentity":{{"userName":"{user_of_use}"}}"#)),
        ]
        .concat()
    };
    let fired = alerts(&det, &make("backdoor"));
    let nk: Vec<&Alert> = fired.iter().filter(|a| a.rule.id == "nk").collect();
    assert_eq!(nk.len(), 1, "{fired:#?}");
    let AlertKind::Correlation { group, .. } = &nk[0].kind else {
        panic!()
    };
    assert_eq!(group, &[("user".to_string(), "backdoor".to_string())]);
    assert!(
        alerts(&det, &make("someone-else"))
            .iter()
            .all(|a| a.rule.id != "nk")
    );
}

/// A backslash that ends a value does not escape the wildcard a modifier adds (the
/// commonest SigmaHQ pattern: `Image|startswith: 'C:\Windows\'`).
#[test]
fn a_trailing_backslash_escapes_no_modifier_wildcard() {
    let events = [
        r#""userAgent":"C:\\Windows\\x.exe""#,
        r#""userAgent":"C:\\Windows*""#,
        r#""userAgent":"D:\\Temp\\evil.exe""#,
    ];
    let d = |m: &str, v: &str| format!("  sel:\n    userAgent|{m}: '{v}'\n  condition: sel");
    assert_eq!(lines(&d("startswith", "C:\\Windows\\"), &events), [1]);
    assert_eq!(lines(&d("contains", "\\Temp\\"), &events), [3]);
    assert_eq!(lines(&d("endswith", "\\evil.exe"), &events), [3]);
    // An escaped wildcard the rule wrote stays a literal star.
    assert_eq!(lines(&d("startswith", "C:\\Windows\\*"), &events), [2]);
    let kw = "  kw:\n    - '\\Windows\\'\n  condition: kw";
    assert_eq!(lines(kw, &events), [1]);
}

/// `keywords: {'|all': [...]}` is the specification's form for "every keyword".
#[test]
fn keyword_lists_take_the_all_modifier() {
    let d = "  keywords:\n    '|all':\n      - 'evil'\n      - 'tool'\n  condition: keywords";
    let events = [
        r#""userAgent":"evil tool""#,
        r#""userAgent":"evil""#,
        r#""userAgent":"tool","eventName":"evil""#,
    ];
    assert_eq!(lines(d, &events), [1, 3]);
}

/// `windash` varies each dash or slash that starts a word, in every combination, among
/// `-`, `/`, en dash, em dash and horizontal bar; dashes inside words stay.
#[test]
fn windash_varies_word_starting_dashes_in_every_combination() {
    let d = "  sel:\n    userAgent|windash|contains: ' -enc x-y -w '\n  condition: sel";
    let events = [
        r#""userAgent":"ps /enc x-y \u2014w h""#,
        r#""userAgent":"ps \u2013enc x-y /w h""#,
        r#""userAgent":"ps -enc x/y -w h""#,
        r#""userAgent":"ps -enc x-y -w h""#,
    ];
    assert_eq!(lines(d, &events), [1, 2, 4]);
    let en = "  sel:\n    userAgent|windash: '\u{2013}c'\n  condition: sel";
    assert_eq!(
        lines(en, &[r#""userAgent":"/c""#, r#""userAgent":"-c""#]),
        [1, 2]
    );
}

/// The semantics README documents: `neq` against an absent field does not match; a
/// window past an upper bound is decided whole.
#[test]
fn neq_absent_fields_and_correlation_upper_bounds() {
    let d = "  sel:\n    eventName: ListUsers\n    errorCode|neq: AccessDenied\n  condition: sel";
    let events = [
        r#""eventName":"ListUsers""#,
        r#""eventName":"ListUsers","errorCode":"Throttling""#,
        r#""eventName":"ListUsers","errorCode":"AccessDenied""#,
    ];
    assert_eq!(lines(d, &events), [2]);

    let c = "title: a few lists\nid: c1\ncorrelation:\n  type: event_count\n  rules: [list_calls]\n  group-by: [userIdentity.arn]\n  timespan: 1m\n  condition:\n    gt: 2\n    lte: 5\n";
    let burst = |user: &str, n: usize, from: usize| -> Vec<String> {
        (from..from + n)
            .map(|i| at(i, user, "ListUsers", ""))
            .collect()
    };
    let mut events = burst("six", 6, 0);
    events.extend(burst("four", 4, 0));
    events.sort();
    let got = corr_alerts(c, &events);
    let groups: Vec<String> = got
        .iter()
        .map(|a| match &a.kind {
            AlertKind::Correlation { group, value, .. } => format!("{}={value}", group[0].1),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        groups,
        ["four=4"],
        "six in one window is over the bound: {groups:?}"
    );
}

/// Alert contexts are built once per record and shared by its copies, but two records that
/// only share an `eventID` (a forged id) keep their own entities.
#[test]
fn copies_share_a_context_and_a_forged_id_does_not() {
    let rule = "title: t\nid: t\nlogsource: {product: aws, service: cloudtrail}\n\
                detection: {sel: {eventName: GetObject}, condition: sel}\n";
    let det = detector(rule, &[]).with_context(true);
    let record = |user: &str| {
        format!(
            r#"{{"eventVersion":"1.08","eventID":"same-id","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventTime":"2024-01-01T00:00:00Z","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/{user}","accountId":"111122223333"}}}}"#
        )
    };
    let events = [record("alice"), record("alice"), record("mallory")].join("\n");
    let got = alerts(&det, &events);
    assert_eq!(got.len(), 3);
    let principals = |a: &Alert| -> Vec<String> {
        let ctx = a.event.context.as_deref().expect("context");
        ctx.entities
            .iter()
            .filter(|e| e.kind == model::EntityKind::Principal)
            .map(|e| e.value.clone())
            .collect()
    };
    let (first, copy, forged) = (&got[0], &got[1], &got[2]);
    assert!(std::sync::Arc::ptr_eq(
        first.event.context.as_ref().unwrap(),
        copy.event.context.as_ref().unwrap()
    ));
    assert_eq!(principals(first), ["arn:aws:iam::111122223333:user/alice"]);
    assert_eq!(
        principals(forged),
        ["arn:aws:iam::111122223333:user/mallory"]
    );
    assert_eq!(copy.event.line, 2, "a copy keeps its own location");
}
