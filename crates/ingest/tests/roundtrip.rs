//! Property: any set of CloudTrail events, written in any container CloudTrail users meet,
//! reads back as the same events in the same order.

mod support;

use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;

fn event() -> impl Strategy<Value = Value> {
    (
        "[A-Z][a-zA-Z]{2,20}",
        "[a-z0-9]{2,10}",
        0i64..4_000_000_000_000,
        "(\\PC|[\"\\\\\\n\\t]){0,12}",
        any::<bool>(),
    )
        .prop_map(|(name, svc, ms, text, failed)| {
            let mut e = json!({
                "eventVersion": "1.09",
                "eventTime": model::time::format_iso(ms),
                "eventSource": format!("{svc}.amazonaws.com"),
                "eventName": name,
                "awsRegion": "us-east-1",
                "eventID": format!("{ms}-{text}"),
                "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::1:user/{text}")},
                "requestParameters": {"note": text},
            });
            if failed {
                e["errorCode"] = json!("AccessDenied");
            }
            e
        })
}

#[derive(Debug, Clone, Copy)]
enum Container {
    Lines,
    Array,
    Records,
    Pretty,
}

fn write(events: &[Value], c: Container) -> Vec<u8> {
    match c {
        Container::Lines => events
            .iter()
            .map(|e| format!("{e}\n"))
            .collect::<String>()
            .into_bytes(),
        Container::Array => serde_json::to_vec(events).unwrap(),
        Container::Records => serde_json::to_vec(&json!({ "Records": events })).unwrap(),
        Container::Pretty => serde_json::to_vec_pretty(&json!({ "Records": events })).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn events_round_trip(
        events in proptest::collection::vec(event(), 1..40),
        container in prop_oneof![Just(Container::Lines), Just(Container::Array), Just(Container::Records), Just(Container::Pretty)],
        gz in any::<bool>(),
    ) {
        let mut data = write(&events, container);
        if gz {
            data = gzip(&data);
        }
        let run = run_bytes("prop.json", &data);
        prop_assert!(run.rejections.is_empty(), "{:?}", run.rejections);
        prop_assert_eq!(run.events.len(), events.len());
        for (got, want) in run.events.iter().zip(&events) {
            prop_assert_eq!(&got["raw"], want);
            prop_assert_eq!(&got["uid"], &want["eventID"]);
            prop_assert_eq!(&got["actor"]["principal_arn"], &want["userIdentity"]["arn"]);
            prop_assert_eq!(got["outcome"]["status"].as_str(), Some(if want.get("errorCode").is_some() { "failure" } else { "success" }));
            prop_assert_eq!(
                got["time_ms"].as_i64(),
                model::time::parse_timestamp(want["eventTime"].as_str().unwrap())
            );
        }
    }
}
