//! The CloudTrail record AWS writes for a call, made from the call itself: who made it (an
//! IAM user signing with a long-term key), when, from where, what it asked
//! (`requestParameters`, in CloudTrail's spelling) and what it got back
//! (`responseElements`, or `errorCode` and `errorMessage`).

use crate::api::Api;
use serde_json::{Value, json};

/// The IAM user whose key signed a call.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub access_key: String,
}

/// One call as sent and answered.
#[derive(Debug, Clone)]
pub struct SentCall {
    pub api: Api,
    pub region: String,
    pub at_ms: i64,
    pub request_parameters: Value,
    /// `None` for a call AWS logs without response elements.
    pub response_elements: Option<Value>,
    /// The error code and message when AWS refused it.
    pub error: Option<(String, String)>,
    pub request_id: String,
}

/// What CloudTrail would write for `call`, made by `caller` from `source_ip` with
/// `user_agent` (which carries the game-day id).
pub fn record(
    call: &SentCall,
    caller: &Caller,
    source_ip: &str,
    user_agent: &str,
    event_id: &str,
) -> Value {
    let region = if call.api.global() {
        "us-east-1"
    } else {
        call.region.as_str()
    };
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": caller.user_id,
            "arn": caller.arn,
            "accountId": caller.account,
            "accessKeyId": caller.access_key,
            "userName": caller.user_name,
        },
        "eventTime": model::time::format_iso(call.at_ms),
        "eventSource": call.api.event_source(),
        "eventName": call.api.event_name(),
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": call.request_parameters,
        "responseElements": call.response_elements.clone().unwrap_or(Value::Null),
        "requestID": call.request_id,
        "eventID": event_id,
        "readOnly": call.api.read_only(),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": caller.account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": format!("{}.amazonaws.com", call.api.service()),
        },
    });
    if let Some((code, message)) = &call.error {
        let o = r.as_object_mut().expect("an object");
        o.insert("errorCode".into(), Value::String(code.clone()));
        o.insert("errorMessage".into(), Value::String(message.clone()));
        o.insert("responseElements".into(), Value::Null);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_becomes_the_record_cloudtrail_writes() {
        let caller = Caller {
            account: "210987654321".into(),
            user_name: "gd-intruder".into(),
            user_id: "AIDAEXAMPLE".into(),
            arn: "arn:aws:iam::210987654321:user/gd-intruder".into(),
            access_key: "AKIAEXAMPLE".into(),
        };
        let call = SentCall {
            api: Api::IamCreateAccessKey,
            region: "eu-west-1".into(),
            at_ms: 1_764_936_000_000,
            request_parameters: json!({"userName": "victim"}),
            response_elements: Some(json!({"accessKey": {"userName": "victim"}})),
            error: None,
            request_id: "req-1".into(),
        };
        let r = record(
            &call,
            &caller,
            "203.0.113.66",
            "firebreak-gameday/run-1",
            "e-1",
        );
        assert_eq!(r["eventSource"], "iam.amazonaws.com");
        assert_eq!(r["eventName"], "CreateAccessKey");
        assert_eq!(r["awsRegion"], "us-east-1", "IAM logs in us-east-1");
        assert_eq!(r["userIdentity"]["accessKeyId"], "AKIAEXAMPLE");
        assert_eq!(r["requestParameters"]["userName"], "victim");
        assert_eq!(r["readOnly"], false);
        assert_eq!(r["eventTime"], "2025-12-05T12:00:00.000Z");
        let refused = SentCall {
            error: Some(("AccessDenied".into(), "no".into())),
            ..call
        };
        let r = record(&refused, &caller, "203.0.113.66", "ua", "e-2");
        assert_eq!(r["errorCode"], "AccessDenied");
        assert!(r["responseElements"].is_null());
    }
}
