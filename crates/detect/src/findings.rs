//! GuardDuty and Security Hub findings as alerts, with mapped severity and ATT&CK.

use crate::attack;
use crate::engine::base_alert;
use model::{Alert, AlertKind, Event, SourceKind};

/// The alert a finding event raises (none for other events).
pub fn finding_alert(ev: &Event<'_>) -> Option<Alert> {
    let f = ev.finding.as_deref()?;
    let mut alert = base_alert(ev);
    alert.kind = AlertKind::Finding;
    alert.severity = ev.severity;
    alert.rule_title = f.title.to_string();
    let types: Vec<String> = f.types.iter().map(|t| t.to_string()).collect();
    match ev.source {
        SourceKind::GuardDuty => {
            let finding_type = types.first().cloned().unwrap_or_default();
            alert.rule_id = format!("guardduty:{finding_type}");
            alert.techniques = attack::guardduty_techniques(&finding_type)
                .into_iter()
                .map(str::to_string)
                .collect();
        }
        _ => {
            alert.rule_id = format!("securityhub:{}", f.uid);
            alert.tactics = attack::asff_tactics(&types);
        }
    }
    if alert.tactics.is_empty() {
        for t in &alert.techniques {
            if let Some((_, tactics)) = attack::technique(t) {
                alert.tactics.extend(tactics.iter().map(|s| s.to_string()));
            }
        }
        alert.tactics.dedup();
    }
    alert.tags = alert
        .techniques
        .iter()
        .map(|t| format!("attack.{}", t.to_ascii_lowercase()))
        .chain(alert.tactics.iter().map(|t| format!("attack.{t}")))
        .collect();
    Some(alert)
}
