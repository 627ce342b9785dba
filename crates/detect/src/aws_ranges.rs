//! AWS's published address ranges (`ip-ranges.json`), for rules that tell a call from inside
//! AWS from one outside it. The user downloads the file
//! (<https://ip-ranges.amazonaws.com/ip-ranges.json>) and refreshes it; Firebreak never
//! fetches it. Its prefixes, plus the private ranges a VPC uses, become the values of the
//! `%aws_ip_ranges%` placeholder that bundled rules expand with `cidr`.

use serde::Deserialize;

/// The placeholder bundled rules use.
pub const PLACEHOLDER: &str = "aws_ip_ranges";

/// Addresses a call from inside a VPC or through a VPC endpoint comes from; always counted
/// as inside, with or without the file.
pub const PRIVATE_RANGES: [&str; 7] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "fc00::/7",
    "fe80::/10",
];

#[derive(Debug, thiserror::Error)]
pub enum AwsRangesError {
    #[error("not AWS ip-ranges.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("prefix {index} of `{list}` is not an address range: `{value}`")]
    Prefix {
        list: &'static str,
        index: usize,
        value: String,
    },
    #[error("holds no prefixes")]
    Empty,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    prefixes: Vec<V4>,
    #[serde(default)]
    ipv6_prefixes: Vec<V6>,
}

#[derive(Deserialize)]
struct V4 {
    ip_prefix: String,
}

#[derive(Deserialize)]
struct V6 {
    ipv6_prefix: String,
}

fn is_range(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len.parse::<u8>().is_ok_and(|l| l <= 32),
        Ok(std::net::IpAddr::V6(_)) => len.parse::<u8>().is_ok_and(|l| l <= 128),
        Err(_) => false,
    }
}

/// Every distinct prefix of an `ip-ranges.json` text, IPv4 then IPv6, in file order.
pub fn parse(text: &str) -> Result<Vec<String>, AwsRangesError> {
    let file: File = serde_json::from_str(text)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let v4 = file.prefixes.into_iter().map(|p| ("prefixes", p.ip_prefix));
    let v6 = file
        .ipv6_prefixes
        .into_iter()
        .map(|p| ("ipv6_prefixes", p.ipv6_prefix));
    for (index, (list, value)) in v4.chain(v6).enumerate() {
        if !is_range(&value) {
            return Err(AwsRangesError::Prefix { list, index, value });
        }
        if seen.insert(value.clone()) {
            out.push(value);
        }
    }
    if out.is_empty() {
        return Err(AwsRangesError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_published_format() {
        let text = r#"{"syncToken":"1","createDate":"2026-11-30-00-00-00",
          "prefixes":[{"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"AMAZON","network_border_group":"ap-northeast-2"},
                      {"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"S3","network_border_group":"ap-northeast-2"}],
          "ipv6_prefixes":[{"ipv6_prefix":"2600:1f14::/35","region":"us-west-2","service":"EC2","network_border_group":"us-west-2"}]}"#;
        assert_eq!(parse(text).unwrap(), ["3.5.140.0/22", "2600:1f14::/35"]);
        let bad = r#"{"prefixes":[{"ip_prefix":"3.5.140.0/33"}]}"#;
        assert!(matches!(
            parse(bad),
            Err(AwsRangesError::Prefix { index: 0, .. })
        ));
        assert!(matches!(parse("{}"), Err(AwsRangesError::Empty)));
    }
}
