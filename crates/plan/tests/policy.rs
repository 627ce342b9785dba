//! Cases take severity and escalation from the plan; the plan renders as a document.

use case::{CaseFacts, Domain, SeverityPolicy};
use model::Severity;
use plan::render::{DocFormat, SECTIONS, render};
use plan::{Format, PlanPolicy, parse};

fn example() -> plan::IrPlan {
    parse(plan::EXAMPLE, "example.toml", Format::Toml).unwrap()
}

fn facts<'a>(
    severities: &[Severity],
    accounts: &'a [String],
    tactics: &'a [String],
    tags: &'a [(String, String)],
) -> CaseFacts<'a> {
    CaseFacts {
        alert_severities: severities.to_vec(),
        tactics,
        domains: &[Domain::Service],
        accounts,
        root_involved: false,
        resource_tags: tags,
    }
}

#[test]
fn levels_follow_the_plan_criteria() {
    let plan = example();
    let policy = PlanPolicy::new(&plan);
    let prod = ["111122223333".to_string()];
    let staging = ["444455556666".to_string()];
    let unknown = ["123456789012".to_string()];

    // High alert in a prod-tagged account: sev1, with the prod tag as a reason.
    let a = policy.assess(&facts(&[Severity::High], &prod, &[], &[]));
    assert_eq!(a.severity, Severity::Critical);
    let r = a.response.as_ref().unwrap();
    assert_eq!(
        (r.level.as_str(), r.level_name.as_str()),
        ("sev1", "Critical")
    );
    assert!(a.reasons[0].contains("tagged env=prod"), "{:?}", a.reasons);
    assert_eq!(r.acknowledge_ms, 15 * 60_000);
    assert_eq!(r.contain_ms, 4 * 3_600_000);
    assert_eq!(r.communicate_ms, 3_600_000);
    // The chain resolves roles to their members, in order.
    assert_eq!(r.escalation[0].after_ms, 0);
    assert_eq!(
        r.escalation[0].notify,
        [
            "Bob Okafor (bob) as Security responder",
            "Carmen Ruiz (carmen) as Security responder"
        ]
    );
    assert_eq!(r.escalation[2].notify, ["Dana Levi (dana)"]);
    assert_eq!(r.escalation[2].via.as_deref(), Some("phone-tree"));

    // Medium alert in prod: restricted data makes it sev1 too.
    let a = policy.assess(&facts(&[Severity::Medium], &prod, &[], &[]));
    assert_eq!(a.response.unwrap().level, "sev1");
    // The same alert in staging is sev3; a high one there is sev2.
    let a = policy.assess(&facts(&[Severity::Medium], &staging, &[], &[]));
    assert_eq!(
        (a.severity, a.response.unwrap().level.as_str()),
        (Severity::Medium, "sev3")
    );
    let a = policy.assess(&facts(&[Severity::High], &staging, &[], &[]));
    let r = a.response.unwrap();
    assert_eq!(r.level, "sev2");
    // sev2's chain runs into sev1's when it ends unacknowledged, offset by its last step.
    let levels: Vec<&str> = r.escalation.iter().map(|s| s.level.as_str()).collect();
    assert_eq!(levels, ["sev2", "sev2", "sev1", "sev1", "sev1"]);
    let times: Vec<i64> = r.escalation.iter().map(|s| s.after_ms / 60_000).collect();
    assert_eq!(times, [0, 60, 60, 75, 90]);

    // A finding naming a prod-tagged resource counts like a prod account.
    let tags = [("env".to_string(), "prod".to_string())];
    let a = policy.assess(&facts(&[Severity::High], &unknown, &[], &tags));
    assert_eq!(a.response.unwrap().level, "sev1");
    assert!(
        a.reasons[0].contains("resource in the findings"),
        "{:?}",
        a.reasons
    );
    // Impact anywhere is sev1; a low alert in an unknown account falls to sev4.
    let impact = ["impact".to_string()];
    assert_eq!(
        policy
            .assess(&facts(&[Severity::Low], &unknown, &impact, &[]))
            .severity,
        Severity::Critical
    );
    let a = policy.assess(&facts(&[Severity::Low], &unknown, &[], &[]));
    assert_eq!(
        (a.severity, a.response.unwrap().level.as_str()),
        (Severity::Low, "sev4")
    );
    // Root activity is sev1 whatever the alert level.
    let mut f = facts(&[Severity::Informational], &unknown, &[], &[]);
    f.root_involved = true;
    assert_eq!(policy.assess(&f).response.unwrap().level, "sev1");
}

#[test]
fn rendering_has_every_section_and_escapes() {
    let mut plan = example();
    for format in [DocFormat::Markdown, DocFormat::Html] {
        let doc = render(&plan, format);
        let mut at = 0;
        for s in SECTIONS {
            let found = doc[at..]
                .find(s)
                .unwrap_or_else(|| panic!("{format:?}: no section `{s}` after byte {at}"));
            at += found;
        }
        assert!(doc.contains("Alice Chen"));
        assert!(doc.contains("signal-group"));
        assert!(doc.contains("example-ir-evidence"));
    }
    let md = render(&plan, DocFormat::Markdown);
    assert!(
        md.contains("| Incident commander | I | A | A | A | A | A |"),
        "{md}"
    );
    plan.team.overview = "<script>alert(1)</script> | pipe".into();
    plan.contacts[0].name = "Eve\" onmouseover=\"x".into();
    let html = render(&plan, DocFormat::Html);
    assert!(!html.contains("<script>"), "unescaped script");
    assert!(html.contains("&lt;script&gt;"));
    assert!(!html.contains("Eve\" onmouseover"));
    let md = render(&plan, DocFormat::Markdown);
    assert!(
        md.contains("&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\| pipe"),
        "{md}"
    );
}
