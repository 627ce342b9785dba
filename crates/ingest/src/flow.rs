//! VPC Flow Log records → Network Activity (4001) events.
//!
//! Text records follow a layout: the default v2 format, or the custom field order given by
//! a file's header line (S3 delivery) or by the user. All fields up to version 8 are known.

use model::time::parse_timestamp;
use model::{Event, EventClass, FlowAction, Network, Origin, Raw, Severity, SourceKind, Text};
use serde_json::Value;
use std::borrow::Cow;

/// Every field VPC Flow Logs can write, version 2 to 8, in AWS's spelling.
pub const KNOWN_FIELDS: [&str; 40] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status", // v2
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr", // v3
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id", // v4
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path", // v5
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",   // v7
    "reject-reason", // v8
];

/// The default (version 2) format: the first 14 fields.
pub const DEFAULT_FIELD_COUNT: usize = 14;

/// The order of fields in a text record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLayout {
    fields: Vec<&'static str>,
}

impl FlowLayout {
    /// The default v2 format.
    pub fn default_v2() -> Self {
        FlowLayout {
            fields: KNOWN_FIELDS[..DEFAULT_FIELD_COUNT].to_vec(),
        }
    }

    /// A layout from field names (`srcaddr dstaddr …`, `${srcaddr} ${dstaddr}`, or with
    /// underscores as Athena spells them). Errors name the first unknown field.
    pub fn from_names(text: &str) -> Result<Self, String> {
        let mut fields = Vec::new();
        for token in text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
        {
            let name = token
                .trim_start_matches("${")
                .trim_end_matches('}')
                .replace('_', "-");
            match KNOWN_FIELDS.iter().find(|k| k.eq_ignore_ascii_case(&name)) {
                Some(k) => fields.push(*k),
                None => {
                    let shown: String = token.chars().take(60).collect();
                    return Err(format!("unknown field `{shown}`"));
                }
            }
        }
        if fields.is_empty() {
            return Err("no fields".into());
        }
        Ok(FlowLayout { fields })
    }

    /// The layout a header line declares, if the line is one.
    pub fn from_header(line: &str) -> Option<Self> {
        let first = line.split_ascii_whitespace().next()?;
        if first.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Self::from_names(line).ok()
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn fields(&self) -> &[&'static str] {
        &self.fields
    }

    /// The layout to assume for a headerless record with `count` fields.
    pub fn guess(first_record: &str) -> Option<Self> {
        let tokens: Vec<&str> = first_record
            .split_ascii_whitespace()
            .take(DEFAULT_FIELD_COUNT + 1)
            .collect();
        (tokens.len() == DEFAULT_FIELD_COUNT && tokens[0].bytes().all(|b| b.is_ascii_digit()))
            .then(Self::default_v2)
    }
}

fn num<T: std::str::FromStr>(v: Option<&str>) -> Option<T> {
    v.and_then(|s| s.parse().ok())
}

fn epoch_ms(v: Option<&str>) -> Option<i64> {
    v.and_then(parse_timestamp)
}

fn action(v: Option<&str>) -> Option<FlowAction> {
    match v? {
        s if s.eq_ignore_ascii_case("ACCEPT") => Some(FlowAction::Accept),
        s if s.eq_ignore_ascii_case("REJECT") => Some(FlowAction::Reject),
        _ => None,
    }
}

/// Parses one text record. `Err` says why it is not a record of this layout.
pub fn parse_line<'a>(
    line: &'a str,
    layout: &FlowLayout,
    origin: Origin<'a>,
    account_hint: Option<&'a str>,
) -> Result<Event<'a>, String> {
    // At most one token more than the layout: a hostile line of millions costs nothing.
    let tokens: Vec<&'a str> = line
        .split_ascii_whitespace()
        .take(layout.len() + 1)
        .collect();
    if tokens.len() != layout.len() {
        let found = if tokens.len() > layout.len() {
            "more fields than".to_string()
        } else {
            format!("{} fields, fewer than", tokens.len())
        };
        return Err(format!(
            "VPC flow record has {found} the layout's {}",
            layout.len()
        ));
    }
    let get = |name: &str| -> Option<&'a str> {
        let i = layout.fields.iter().position(|f| *f == name)?;
        Some(tokens[i]).filter(|t| *t != "-")
    };
    if let Some(v) = get("version")
        && !v.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("VPC flow record: version `{v}` is not a number"));
    }
    for port in ["srcport", "dstport"] {
        if let Some(v) = get(port)
            && v.parse::<u16>().is_err()
        {
            return Err(format!("VPC flow record: {port} `{v}` is not a port"));
        }
    }
    let network = Network {
        src_ip: get("srcaddr").map(Cow::Borrowed),
        src_port: num(get("srcport")),
        dst_ip: get("dstaddr").map(Cow::Borrowed),
        dst_port: num(get("dstport")),
        protocol: num(get("protocol")),
        bytes: num(get("bytes")),
        packets: num(get("packets")),
        action: action(get("action")),
        log_status: get("log-status").map(Cow::Borrowed),
        direction: get("flow-direction").map(Cow::Borrowed),
        interface_id: get("interface-id").map(Cow::Borrowed),
        vpc_id: get("vpc-id").map(Cow::Borrowed),
        subnet_id: get("subnet-id").map(Cow::Borrowed),
        instance_id: get("instance-id").map(Cow::Borrowed),
        tcp_flags: num(get("tcp-flags")),
        start_ms: epoch_ms(get("start")),
        end_ms: epoch_ms(get("end")),
    };
    let account = get("account-id")
        .map(Cow::Borrowed)
        .or(account_hint.map(Cow::Borrowed));
    let region = get("region").map(Cow::Borrowed);
    let mut ev = Event::new(
        EventClass::NetworkActivity,
        SourceKind::VpcFlow,
        origin,
        Raw::Fields(Vec::new()),
    );
    finish(&mut ev, network, account, region);
    ev.raw = Raw::Fields(
        layout
            .fields
            .iter()
            .zip(&tokens)
            .filter(|(_, t)| **t != "-")
            .map(|(n, t)| (*n, Cow::Borrowed(*t)))
            .collect(),
    );
    Ok(ev)
}

fn finish<'a>(
    ev: &mut Event<'a>,
    network: Network<'a>,
    account: Option<Text<'a>>,
    region: Option<Text<'a>>,
) {
    ev.activity_id = 6;
    ev.severity = Severity::Informational;
    ev.time_ms = network.start_ms.or(network.end_ms);
    ev.src_ip = network.src_ip.clone();
    ev.account = account;
    ev.region = region;
    ev.outcome = model::Outcome::Unknown;
    ev.network = Some(Box::new(network));
}

fn text<'a>(v: Option<&Value>) -> Option<Text<'a>> {
    match v? {
        Value::String(s) => Some(Cow::Owned(s.clone())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn number<T: std::str::FromStr>(v: Option<&Value>) -> Option<T> {
    match v? {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A flow record already in JSON: camelCase (Firehose / Panther) or OCSF endpoints.
pub(crate) fn from_json<'a>(value: &Value, raw: Text<'a>, origin: Origin<'a>) -> Event<'a> {
    let field = |names: &[&str]| names.iter().find_map(|n| value.get(*n));
    let src = value.get("src_endpoint");
    let dst = value.get("dst_endpoint");
    let network = Network {
        src_ip: text(field(&["srcAddr", "srcaddr"]).or(src.and_then(|e| e.get("ip")))),
        src_port: number(field(&["srcPort", "srcport"]).or(src.and_then(|e| e.get("port")))),
        dst_ip: text(field(&["dstAddr", "dstaddr"]).or(dst.and_then(|e| e.get("ip")))),
        dst_port: number(field(&["dstPort", "dstport"]).or(dst.and_then(|e| e.get("port")))),
        protocol: number(field(&["protocol"])),
        bytes: number(field(&["bytes"])),
        packets: number(field(&["packets"])),
        action: field(&["action"])
            .and_then(Value::as_str)
            .and_then(|s| action(Some(s))),
        log_status: text(field(&["logStatus", "log-status", "status", "status_code"])),
        direction: text(field(&["flowDirection", "flow-direction"])),
        interface_id: text(field(&["interfaceId", "interface-id"])),
        vpc_id: text(field(&["vpcId", "vpc-id"])),
        subnet_id: text(field(&["subnetId", "subNetId", "subnet-id"])),
        instance_id: text(field(&["instanceId", "instance-id"])),
        tcp_flags: number(field(&["tcpFlags", "tcp-flags"])),
        start_ms: text(field(&["start"])).and_then(|s| parse_timestamp(&s)),
        end_ms: text(field(&["end"])).and_then(|s| parse_timestamp(&s)),
    };
    let mut ev = Event::new(
        EventClass::NetworkActivity,
        SourceKind::VpcFlow,
        origin,
        Raw::Json(raw),
    );
    let account = text(field(&["accountId", "account-id", "account"]));
    let region = text(field(&["region"]));
    finish(&mut ev, network, account, region);
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn origin() -> Origin<'static> {
        Origin {
            file: "f".into(),
            line: 1,
        }
    }

    #[test]
    fn default_layout_record() {
        let line = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
        let ev = parse_line(line, &FlowLayout::default_v2(), origin(), None).unwrap();
        let n = ev.network.as_deref().unwrap();
        assert_eq!(n.src_ip.as_deref(), Some("172.31.16.139"));
        assert_eq!(n.dst_port, Some(22));
        assert_eq!(n.action, Some(FlowAction::Accept));
        assert_eq!(ev.time_ms, Some(1_418_530_010_000));
        assert_eq!(ev.account.as_deref(), Some("123456789010"));
    }

    #[test]
    fn nodata_and_wrong_arity() {
        let line = "2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA";
        let ev = parse_line(line, &FlowLayout::default_v2(), origin(), None).unwrap();
        assert_eq!(
            ev.network.as_deref().unwrap().log_status.as_deref(),
            Some("NODATA")
        );
        assert!(ev.field("srcaddr").is_none());
        assert!(
            parse_line("2 1 eni", &FlowLayout::default_v2(), origin(), None)
                .unwrap_err()
                .contains("3 fields")
        );
    }

    #[test]
    fn header_layouts() {
        let l = FlowLayout::from_header("version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status reject-reason").unwrap();
        assert_eq!(l.len(), 22);
        assert!(FlowLayout::from_header("2 123 eni-1").is_none());
        assert!(
            FlowLayout::from_names("${srcaddr} ${dstaddr} ${bogus}")
                .unwrap_err()
                .contains("bogus")
        );
        assert_eq!(
            FlowLayout::from_names("account_id srcaddr")
                .unwrap()
                .fields(),
            &["account-id", "srcaddr"]
        );
    }

    proptest! {
        /// Any record written in any layout reads back field by field.
        #[test]
        fn text_records_round_trip(
            picks in proptest::sample::subsequence(KNOWN_FIELDS.to_vec(), 1..KNOWN_FIELDS.len()),
            values in proptest::collection::vec("[a-z0-9.:/-]{1,12}", KNOWN_FIELDS.len()),
        ) {
            let layout = FlowLayout::from_names(&picks.join(" ")).unwrap();
            let mut tokens: Vec<String> = picks.iter().zip(&values).map(|(name, v)| match *name {
                "version" => "5".to_string(),
                "srcport" | "dstport" => "443".to_string(),
                _ => v.clone(),
            }).collect();
            tokens.iter_mut().for_each(|t| if t.is_empty() { *t = "-".into() });
            let line = tokens.join(" ");
            let ev = parse_line(&line, &layout, origin(), None).unwrap();
            for (name, token) in picks.iter().zip(&tokens) {
                let got = ev.field(name).map(|v| v.as_text().into_owned());
                let want = (token != "-").then(|| token.clone());
                prop_assert_eq!(got, want);
            }
        }
    }
}
