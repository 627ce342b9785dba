//! A small MITRE ATT&CK table for the cloud techniques AWS detections use: names and
//! tactics by technique id, and the mapping of GuardDuty finding types.

/// `(technique id, name, tactics)`.
const TECHNIQUES: &[(&str, &str, &[&str])] = &[
    (
        "T1078",
        "Valid Accounts",
        &[
            "defense-evasion",
            "persistence",
            "privilege-escalation",
            "initial-access",
        ],
    ),
    (
        "T1078.001",
        "Valid Accounts: Default Accounts",
        &[
            "defense-evasion",
            "persistence",
            "privilege-escalation",
            "initial-access",
        ],
    ),
    (
        "T1078.004",
        "Valid Accounts: Cloud Accounts",
        &[
            "defense-evasion",
            "persistence",
            "privilege-escalation",
            "initial-access",
        ],
    ),
    (
        "T1098",
        "Account Manipulation",
        &["persistence", "privilege-escalation"],
    ),
    (
        "T1098.001",
        "Account Manipulation: Additional Cloud Credentials",
        &["persistence", "privilege-escalation"],
    ),
    (
        "T1098.003",
        "Account Manipulation: Additional Cloud Roles",
        &["persistence", "privilege-escalation"],
    ),
    (
        "T1098.004",
        "Account Manipulation: SSH Authorized Keys",
        &["persistence", "privilege-escalation"],
    ),
    ("T1136", "Create Account", &["persistence"]),
    (
        "T1136.003",
        "Create Account: Cloud Account",
        &["persistence"],
    ),
    ("T1110", "Brute Force", &["credential-access"]),
    ("T1552", "Unsecured Credentials", &["credential-access"]),
    (
        "T1552.005",
        "Unsecured Credentials: Cloud Instance Metadata API",
        &["credential-access"],
    ),
    (
        "T1555",
        "Credentials from Password Stores",
        &["credential-access"],
    ),
    (
        "T1555.006",
        "Credentials from Password Stores: Cloud Secrets Management Stores",
        &["credential-access"],
    ),
    (
        "T1528",
        "Steal Application Access Token",
        &["credential-access"],
    ),
    ("T1606", "Forge Web Credentials", &["credential-access"]),
    (
        "T1606.002",
        "Forge Web Credentials: SAML Tokens",
        &["credential-access"],
    ),
    ("T1562", "Impair Defenses", &["defense-evasion"]),
    (
        "T1562.001",
        "Impair Defenses: Disable or Modify Tools",
        &["defense-evasion"],
    ),
    (
        "T1562.007",
        "Impair Defenses: Disable or Modify Cloud Firewall",
        &["defense-evasion"],
    ),
    (
        "T1562.008",
        "Impair Defenses: Disable or Modify Cloud Logs",
        &["defense-evasion"],
    ),
    (
        "T1666",
        "Modify Cloud Resource Hierarchy",
        &["defense-evasion", "privilege-escalation"],
    ),
    (
        "T1578",
        "Modify Cloud Compute Infrastructure",
        &["defense-evasion"],
    ),
    (
        "T1578.002",
        "Modify Cloud Compute Infrastructure: Create Cloud Instance",
        &["defense-evasion"],
    ),
    (
        "T1535",
        "Unused/Unsupported Cloud Regions",
        &["defense-evasion"],
    ),
    (
        "T1550",
        "Use Alternate Authentication Material",
        &["defense-evasion", "lateral-movement"],
    ),
    (
        "T1550.001",
        "Use Alternate Authentication Material: Application Access Token",
        &["defense-evasion", "lateral-movement"],
    ),
    ("T1580", "Cloud Infrastructure Discovery", &["discovery"]),
    ("T1526", "Cloud Service Discovery", &["discovery"]),
    ("T1619", "Cloud Storage Object Discovery", &["discovery"]),
    ("T1087", "Account Discovery", &["discovery"]),
    (
        "T1087.004",
        "Account Discovery: Cloud Account",
        &["discovery"],
    ),
    ("T1069", "Permission Groups Discovery", &["discovery"]),
    (
        "T1069.003",
        "Permission Groups Discovery: Cloud Groups",
        &["discovery"],
    ),
    ("T1046", "Network Service Discovery", &["discovery"]),
    ("T1651", "Cloud Administration Command", &["execution"]),
    ("T1059", "Command and Scripting Interpreter", &["execution"]),
    (
        "T1059.009",
        "Command and Scripting Interpreter: Cloud API",
        &["execution"],
    ),
    ("T1648", "Serverless Execution", &["execution"]),
    ("T1021", "Remote Services", &["lateral-movement"]),
    ("T1021.004", "Remote Services: SSH", &["lateral-movement"]),
    (
        "T1021.007",
        "Remote Services: Cloud Services",
        &["lateral-movement"],
    ),
    ("T1530", "Data from Cloud Storage", &["collection"]),
    ("T1537", "Transfer Data to Cloud Account", &["exfiltration"]),
    (
        "T1048",
        "Exfiltration Over Alternative Protocol",
        &["exfiltration"],
    ),
    ("T1567", "Exfiltration Over Web Service", &["exfiltration"]),
    (
        "T1071",
        "Application Layer Protocol",
        &["command-and-control"],
    ),
    (
        "T1090.003",
        "Proxy: Multi-hop Proxy",
        &["command-and-control"],
    ),
    ("T1571", "Non-Standard Port", &["command-and-control"]),
    ("T1496", "Resource Hijacking", &["impact"]),
    (
        "T1496.004",
        "Resource Hijacking: Cloud Service Hijacking",
        &["impact"],
    ),
    ("T1485", "Data Destruction", &["impact"]),
    ("T1486", "Data Encrypted for Impact", &["impact"]),
    ("T1490", "Inhibit System Recovery", &["impact"]),
    ("T1531", "Account Access Removal", &["impact"]),
    (
        "T1190",
        "Exploit Public-Facing Application",
        &["initial-access"],
    ),
    ("T1199", "Trusted Relationship", &["initial-access"]),
    ("T1525", "Implant Internal Image", &["persistence"]),
    (
        "T1546",
        "Event Triggered Execution",
        &["privilege-escalation", "persistence"],
    ),
    (
        "T1484",
        "Domain or Tenant Policy Modification",
        &["defense-evasion", "privilege-escalation"],
    ),
    (
        "T1484.002",
        "Domain or Tenant Policy Modification: Trust Modification",
        &["defense-evasion", "privilege-escalation"],
    ),
    (
        "T1556",
        "Modify Authentication Process",
        &["credential-access", "defense-evasion", "persistence"],
    ),
    (
        "T1556.006",
        "Modify Authentication Process: Multi-Factor Authentication",
        &["credential-access", "defense-evasion", "persistence"],
    ),
];

/// Name and tactics of a technique id (`T1078.004`, any case).
pub fn technique(id: &str) -> Option<(&'static str, &'static [&'static str])> {
    TECHNIQUES
        .iter()
        .find(|(t, _, _)| t.eq_ignore_ascii_case(id))
        .map(|(_, n, tac)| (*n, *tac))
}

/// Techniques and tactics named by Sigma tags (`attack.t1078.004`, `attack.persistence`).
pub fn from_tags(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut techniques = Vec::new();
    let mut tactics = Vec::new();
    for tag in tags {
        let Some(rest) = tag.strip_prefix("attack.") else {
            continue;
        };
        if rest.len() > 1
            && (rest.starts_with('t') || rest.starts_with('T'))
            && rest[1..2].chars().all(|c| c.is_ascii_digit())
        {
            techniques.push(rest.to_ascii_uppercase());
        } else if rest.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            tactics.push(rest.to_string());
        }
    }
    for t in &techniques {
        if tactics.is_empty()
            && let Some((_, tac)) = technique(t)
        {
            tactics.extend(tac.iter().map(|s| s.to_string()));
        }
    }
    tactics.dedup();
    (techniques, tactics)
}

/// ATT&CK techniques for a GuardDuty finding type (`ThreatPurpose:ResourceType/Name`).
pub fn guardduty_techniques(finding_type: &str) -> Vec<&'static str> {
    let (purpose, rest) = finding_type.split_once(':').unwrap_or((finding_type, ""));
    let name = rest.split('/').nth(1).unwrap_or("");
    let specific: &[(&str, &[&str])] = &[
        ("InstanceCredentialExfiltration", &["T1552.005"]),
        ("CloudTrailLoggingDisabled", &["T1562.008"]),
        ("ServerAccessLoggingDisabled", &["T1562.008"]),
        ("PasswordPolicyChange", &["T1562"]),
        ("SSHBruteForce", &["T1110"]),
        ("RDPBruteForce", &["T1110"]),
        ("TorClient", &["T1090.003"]),
        ("TorIPCaller", &["T1078.004", "T1090.003"]),
        ("RootCredentialUsage", &["T1078.004"]),
        ("AnomalousBehavior", &["T1078.004"]),
        ("MaliciousIPCaller", &["T1078.004"]),
        ("BlockPublicAccessDisabled", &["T1562.007"]),
        ("PortProbeUnprotectedPort", &["T1046"]),
    ];
    if let Some((_, t)) = specific.iter().find(|(n, _)| name.starts_with(n)) {
        return t.to_vec();
    }
    match purpose {
        "Backdoor" | "Trojan" => vec!["T1071"],
        "Behavior" => vec!["T1571"],
        "CryptoCurrency" => vec!["T1496"],
        "Discovery" | "Recon" => vec!["T1580"],
        "Exfiltration" => vec!["T1530"],
        "Impact" => vec!["T1485"],
        "InitialAccess" | "PenTest" | "UnauthorizedAccess" | "AttackSequence" | "Policy" => {
            vec!["T1078.004"]
        }
        "Persistence" => vec!["T1098"],
        "PrivilegeEscalation" => vec!["T1098.003"],
        "Stealth" | "DefenseEvasion" => vec!["T1562"],
        "CredentialAccess" => vec!["T1552"],
        "Execution" => vec!["T1651"],
        _ => Vec::new(),
    }
}

/// Tactics from Security Hub ASFF `Types` (`TTPs/Initial Access/…`).
pub fn asff_tactics(types: &[String]) -> Vec<String> {
    types
        .iter()
        .filter_map(|t| t.strip_prefix("TTPs/"))
        .filter_map(|t| t.split('/').next())
        .map(|t| t.trim().to_ascii_lowercase().replace(' ', "-"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_findings() {
        let (t, tac) = from_tags(&[
            "attack.t1078.004".into(),
            "attack.persistence".into(),
            "cve.2021-1".into(),
        ]);
        assert_eq!(t, ["T1078.004"]);
        assert_eq!(tac, ["persistence"]);
        let (_, tac) = from_tags(&["attack.t1562.008".into()]);
        assert_eq!(tac, ["defense-evasion"]);
        assert_eq!(
            guardduty_techniques(
                "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
            ),
            ["T1552.005"]
        );
        assert_eq!(
            guardduty_techniques("CryptoCurrency:EC2/BitcoinTool.B!DNS"),
            ["T1496"]
        );
        assert_eq!(
            asff_tactics(&["TTPs/Initial Access/UnauthorizedAccess".into()]),
            ["initial-access"]
        );
        assert_eq!(technique("t1530").unwrap().0, "Data from Cloud Storage");
    }
}
