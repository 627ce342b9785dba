//! GuardDuty and Security Hub findings as alerts, with mapped severity and ATT&CK.

use crate::attack;
use crate::engine::event_ref;
use model::{Alert, AlertKind, Event, EventContext, RuleRef, SourceKind};
use std::sync::Arc;

/// The alert a finding event raises (none for other events).
pub fn finding_alert(
    ev: &Event<'_>,
    file: Arc<str>,
    context: Option<Arc<EventContext>>,
) -> Option<Alert> {
    let f = ev.finding.as_deref()?;
    let types: Vec<String> = f.types.iter().map(|t| t.to_string()).collect();
    let (id, techniques, mut tactics) = match ev.source {
        SourceKind::GuardDuty => {
            let finding_type = types.first().cloned().unwrap_or_default();
            let techniques: Vec<String> = attack::guardduty_techniques(&finding_type)
                .into_iter()
                .map(str::to_string)
                .collect();
            (format!("guardduty:{finding_type}"), techniques, Vec::new())
        }
        _ => (
            format!("securityhub:{}", f.uid),
            Vec::new(),
            attack::asff_tactics(&types),
        ),
    };
    if tactics.is_empty() {
        for t in &techniques {
            if let Some((_, tac)) = attack::technique(t) {
                tactics.extend(tac.iter().map(|s| s.to_string()));
            }
        }
        tactics.dedup();
    }
    let tags = techniques
        .iter()
        .map(|t| format!("attack.{}", t.to_ascii_lowercase()))
        .chain(tactics.iter().map(|t| format!("attack.{t}")))
        .collect();
    let rule = RuleRef {
        id,
        title: f.title.to_string(),
        severity: ev.severity,
        tags,
        techniques,
        tactics,
        json: Default::default(),
    };
    Some(Alert {
        rule: Arc::new(rule),
        event: Arc::new(event_ref(ev, file, context)),
        kind: AlertKind::Finding,
    })
}
