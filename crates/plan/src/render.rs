//! The plan as the formal document the AWS Well-Architected Security Pillar (SEC10)
//! describes: team overview, roles and responsibilities, communication plan, backup
//! communication, phases and actions, severity and prioritization, escalation; plus
//! playbooks, forensics, the AWS estate, and exercises.

use crate::model::{IrPlan, PhaseName};

/// Output format of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Markdown,
    Html,
}

/// A document as blocks, written out as Markdown or HTML.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    Table(Vec<String>, Vec<Vec<String>>),
}

/// The section headings, in order: what the guidance asks a plan to cover.
pub const SECTIONS: [&str; 12] = [
    "Team overview",
    "Roles and responsibilities",
    "Contacts",
    "Communication plan",
    "Backup communication",
    "Phases and actions",
    "Severity and prioritization",
    "Escalation",
    "Playbooks",
    "Forensics",
    "AWS environment",
    "Exercises and review",
];

/// Renders the plan.
pub fn render(plan: &IrPlan, format: DocFormat) -> String {
    let blocks = blocks(plan);
    match format {
        DocFormat::Markdown => markdown(&blocks),
        DocFormat::Html => html(&plan.meta.name, &blocks),
    }
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("—").to_string()
}

/// The plan as document blocks.
pub fn blocks(plan: &IrPlan) -> Vec<Block> {
    use Block::*;
    let mut b = Vec::new();
    let owner = plan
        .contact(&plan.meta.owner)
        .map_or(plan.meta.owner.value.clone(), |c| c.name.clone());
    b.push(Heading(1, plan.meta.name.clone()));
    b.push(Para(format!(
        "Revision {}. Owner: {owner}. Last reviewed {}; next review due {}.",
        plan.meta.revision,
        plan.meta.last_reviewed.value,
        plan.next_review()
    )));

    b.push(Heading(2, SECTIONS[0].into()));
    b.push(Para(plan.team.overview.trim().to_string()));
    if !plan.team.goals.is_empty() {
        b.push(Para("Goals:".into()));
        b.push(List(plan.team.goals.clone()));
    }
    if let Some(scope) = &plan.team.scope {
        b.push(Para(format!("Scope: {}", scope.trim())));
    }

    b.push(Heading(2, SECTIONS[1].into()));
    let name_of = |id: &str| plan.contact(id).map_or(id.to_string(), |c| c.name.clone());
    b.push(Table(
        vec![
            "Role".into(),
            "Primary".into(),
            "Backup".into(),
            "Party".into(),
            "Duties".into(),
        ],
        plan.roles
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    or_dash(r.members.first().map(|m| name_of(m)).as_deref()),
                    or_dash(Some(
                        &r.members
                            .iter()
                            .skip(1)
                            .map(|m| name_of(m))
                            .collect::<Vec<_>>()
                            .join(", "),
                    )),
                    if r.third_party {
                        "third party"
                    } else {
                        "internal"
                    }
                    .into(),
                    or_dash(r.description.as_deref()),
                ]
            })
            .collect(),
    ));
    b.push(Para(
        "RACI per phase: R responsible, A accountable, C consulted, I informed.".into(),
    ));
    let mut head = vec!["Role".to_string()];
    head.extend(PhaseName::ALL.iter().map(|p| p.title().to_string()));
    b.push(Table(
        head,
        plan.roles
            .iter()
            .map(|r| {
                let mut row = vec![r.name.clone()];
                row.extend(PhaseName::ALL.iter().map(|p| {
                    or_dash(
                        r.raci
                            .get(p)
                            .map(|l| l.value.to_ascii_uppercase())
                            .as_deref(),
                    )
                }));
                row
            })
            .collect(),
    ));

    b.push(Heading(2, SECTIONS[2].into()));
    b.push(Table(
        vec![
            "Name".into(),
            "Organization".into(),
            "Time zone".into(),
            "Primary".into(),
            "Backup".into(),
        ],
        plan.contacts
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    or_dash(c.organization.as_deref()),
                    c.timezone.value.clone(),
                    c.primary.value.clone(),
                    or_dash(c.backup.as_ref().map(|x| x.value.as_str())),
                ]
            })
            .collect(),
    ));

    b.push(Heading(2, SECTIONS[3].into()));
    let primaries: Vec<_> = plan.channels.iter().filter(|c| !c.out_of_band).collect();
    b.push(Table(
        vec![
            "Channel".into(),
            "Kind".into(),
            "Where".into(),
            "Purpose".into(),
            "Backup".into(),
        ],
        primaries
            .iter()
            .map(|c| {
                vec![
                    c.id.value.clone(),
                    c.kind.value.clone(),
                    c.target.clone(),
                    or_dash(c.purpose.as_deref()),
                    or_dash(c.backup.as_ref().map(|x| x.value.as_str())),
                ]
            })
            .collect(),
    ));

    b.push(Heading(2, SECTIONS[4].into()));
    b.push(Para(
        "If a primary channel is down, or the identity provider, mail or chat may be in the intruder's hands, move to its out-of-band backup and say so there. Do not discuss the incident on a channel that may be compromised.".into(),
    ));
    b.push(List(
        plan.channels
            .iter()
            .filter(|c| c.out_of_band)
            .map(|c| {
                let backs: Vec<&str> = plan
                    .channels
                    .iter()
                    .filter(|p| p.backup.as_ref().is_some_and(|b| b.value == c.id.value))
                    .map(|p| p.id.value.as_str())
                    .collect();
                format!(
                    "{} ({}, {}){}{}",
                    c.id.value,
                    c.kind.value,
                    c.target,
                    c.purpose
                        .as_ref()
                        .map_or(String::new(), |p| format!(": {p}")),
                    if backs.is_empty() {
                        String::new()
                    } else {
                        format!("; backs up {}", backs.join(", "))
                    }
                )
            })
            .collect(),
    ));

    b.push(Heading(2, SECTIONS[5].into()));
    for p in PhaseName::ALL {
        let spec = plan.phases.get(p);
        b.push(Heading(3, p.title().into()));
        if let Some(goal) = &spec.goal {
            b.push(Para(goal.trim().to_string()));
        }
        let with = |letter: char| {
            plan.roles
                .iter()
                .filter(|r| {
                    r.raci
                        .get(&p)
                        .is_some_and(|l| l.value.to_ascii_uppercase().contains(letter))
                })
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        b.push(Para(format!(
            "Accountable: {}. Responsible: {}.",
            or_dash(Some(&with('A'))),
            or_dash(Some(&with('R')))
        )));
        b.push(List(spec.actions.value.clone()));
    }

    b.push(Heading(2, SECTIONS[6].into()));
    b.push(Para("A case takes the first level, from the top, whose criteria it meets. Clocks run from the moment the case reaches the level.".into()));
    b.push(Table(
        vec![
            "Level".into(),
            "Severity".into(),
            "Acknowledge".into(),
            "Contain".into(),
            "Communicate".into(),
        ],
        plan.severity
            .iter()
            .map(|l| {
                let sla = l.sla.as_ref();
                let t = |f: fn(&crate::model::Sla) -> Option<crate::Interval>| {
                    or_dash(sla.and_then(|s| f(s)).map(|i| i.to_string()).as_deref())
                };
                vec![
                    format!("{} ({})", l.name, l.id.value),
                    l.severity.name().into(),
                    t(|s| s.acknowledge),
                    t(|s| s.contain),
                    t(|s| s.communicate),
                ]
            })
            .collect(),
    ));
    for l in &plan.severity {
        b.push(Heading(3, format!("{} ({})", l.name, l.id.value)));
        if let Some(d) = &l.description {
            b.push(Para(d.trim().to_string()));
        }
        let crits: Vec<String> = l.when.iter().map(describe).collect();
        b.push(Para(if crits.is_empty() {
            "Applies to every case.".into()
        } else {
            "Applies when any of:".into()
        }));
        if !crits.is_empty() {
            b.push(List(crits));
        }
        if let Some(a) = &l.approval {
            let roles: Vec<String> = a
                .roles
                .iter()
                .map(|r| {
                    plan.role(&r.value)
                        .map_or(r.value.clone(), |r| r.name.clone())
                })
                .collect();
            b.push(Para(format!(
                "Response plans need {} distinct approver(s) from: {}.",
                a.count.value,
                roles.join(", ")
            )));
        }
    }

    b.push(Heading(2, SECTIONS[7].into()));
    b.push(Para(
        "Until someone takes ownership of the case, each step below is run at its time.".into(),
    ));
    for l in &plan.severity {
        b.push(Heading(3, format!("{} ({})", l.name, l.id.value)));
        b.push(Table(
            vec!["After".into(), "Notify".into(), "Via".into()],
            l.escalation
                .iter()
                .map(|s| {
                    vec![
                        s.after.value.to_string(),
                        s.notify
                            .iter()
                            .map(|w| match w.value.strip_prefix("role:") {
                                Some(r) => plan
                                    .role(r)
                                    .map_or(w.value.clone(), |r| format!("{} (role)", r.name)),
                                None => name_of(w),
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                        or_dash(s.via.as_ref().map(|v| v.value.as_str())),
                    ]
                })
                .collect(),
        ));
        if let Some(next) = &l.escalate_to {
            b.push(Para(format!(
                "Still unacknowledged at the end of the chain: escalate to {}.",
                next.value
            )));
        }
    }

    b.push(Heading(2, SECTIONS[8].into()));
    b.push(Table(
        vec!["Playbook".into(), "Rules".into(), "Tags".into()],
        plan.responses
            .iter()
            .map(|r| {
                let join = |v: &[crate::Located<String>]| {
                    or_dash(Some(
                        &v.iter()
                            .map(|x| x.value.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ))
                };
                vec![r.playbook.value.clone(), join(&r.rules), join(&r.tags)]
            })
            .collect(),
    ));

    b.push(Heading(2, SECTIONS[9].into()));
    let fx = &plan.forensics;
    b.push(List(vec![
        format!(
            "Forensic account: {} in {}",
            fx.account.value, fx.region.value
        ),
        format!(
            "Evidence bucket: s3://{} with S3 Object Lock in {} mode, retained {} days",
            fx.evidence_bucket.value, fx.object_lock_mode.value, fx.retention_days.value
        ),
        format!(
            "Forensic workstation AMI: {}",
            or_dash(fx.workstation_ami.as_deref())
        ),
    ]));

    b.push(Heading(2, SECTIONS[10].into()));
    let aws = &plan.aws;
    b.push(List(vec![
        format!(
            "Responder role: {} in every account",
            aws.responder_role.value
        ),
        format!("Regions: {}", aws.regions.value.join(", ")),
        format!(
            "Isolation security group: {} in every VPC",
            aws.isolation_security_group
        ),
        format!("Central log stream: {}", aws.central_log_stream.value),
    ]));
    b.push(Table(
        vec![
            "Account".into(),
            "Name".into(),
            "Tags".into(),
            "Data".into(),
            "Owner".into(),
        ],
        aws.accounts
            .iter()
            .map(|a| {
                vec![
                    a.id.value.clone(),
                    a.name.clone(),
                    or_dash(Some(
                        &a.tags
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    )),
                    or_dash(a.data.as_ref().map(|d| d.value.as_str())),
                    or_dash(a.owner.as_ref().map(|o| name_of(o)).as_deref()),
                ]
            })
            .collect(),
    ));

    b.push(Heading(2, SECTIONS[11].into()));
    let ex = &plan.exercises;
    b.push(List(vec![
        format!(
            "Game day every {}; last {}; next due {}",
            ex.game_day_every.value,
            or_dash(
                ex.last_game_day
                    .as_ref()
                    .map(|d| d.value.to_string())
                    .as_deref()
            ),
            or_dash(plan.next_game_day().map(|d| d.to_string()).as_deref())
        ),
        format!(
            "Plan review every {}; last {}; next due {}",
            plan.meta.review_every.value,
            plan.meta.last_reviewed.value,
            plan.next_review()
        ),
    ]));
    b.push(Para(if ex.accounts.is_empty() {
        "Live game days: no exercise account (firebreak gameday runs against the emulator only)."
            .into()
    } else {
        format!(
            "Live game days may detonate in: {}.",
            ex.accounts
                .iter()
                .map(|a| a.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }));
    if !ex.scenarios.is_empty() {
        b.push(Para("Scenarios to rehearse:".into()));
        b.push(List(ex.scenarios.clone()));
    }
    post_incident(plan, &mut b);
    b
}

/// The review policy, communication cadence and regulator notification duties.
fn post_incident(plan: &IrPlan, b: &mut Vec<Block>) {
    use Block::*;
    let r = &plan.review;
    b.push(Heading(3, "Post-incident review".into()));
    let mut items: Vec<String> = r
        .within
        .iter()
        .map(|(level, w)| format!("{level}: review within {} of recovery", w.value.words()))
        .collect();
    if !r.required_to_close.is_empty() {
        items.push(format!(
            "Cases at {} cannot close before their review is finished",
            r.required_to_close
                .iter()
                .map(|l| l.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if items.is_empty() {
        items.push("No review deadline is set.".into());
    }
    b.push(List(items));
    if !r.questions.is_empty() {
        b.push(Para("Every review answers:".into()));
        b.push(List(r.questions.clone()));
    }
    if !plan.communications.cadence.is_empty() {
        b.push(Para(format!(
            "Stakeholder updates while a case is open: {}.",
            plan.communications
                .cadence
                .iter()
                .map(|(l, i)| format!("{l} every {}", i.value))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !plan.regulations.is_empty() {
        b.push(Heading(3, "Regulator notifications".into()));
        b.push(Table(
            vec![
                "Regulation".into(),
                "Started by the fact".into(),
                "Deadlines".into(),
                "Notify".into(),
            ],
            plan.regulations
                .iter()
                .map(|g| {
                    vec![
                        g.name.clone(),
                        g.trigger.value.clone(),
                        g.deadlines
                            .iter()
                            .map(|d| {
                                format!(
                                    "{}: {}{}",
                                    d.id.value,
                                    d.within.value.words(),
                                    d.after
                                        .as_ref()
                                        .map(|a| format!(" after {}", a.value))
                                        .unwrap_or_default()
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                        or_dash(g.authority.as_deref()),
                    ]
                })
                .collect(),
        ));
    }
}

fn describe(c: &crate::model::Criteria) -> String {
    let mut parts = Vec::new();
    if let Some(m) = c.min_alert {
        parts.push(format!("an alert is {} or worse", m.name()));
    }
    let list = |v: &[crate::Located<String>]| {
        v.iter()
            .map(|x| x.value.clone())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    if !c.domains.is_empty() {
        parts.push(format!("the {} domain", list(&c.domains)));
    }
    if !c.accounts.is_empty() {
        parts.push(format!("account {}", list(&c.accounts)));
    }
    if !c.tags.is_empty() {
        parts.push(format!(
            "resources or accounts tagged {}",
            c.tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(d) = &c.data_at_least {
        parts.push(format!("{} data or more sensitive", d.value));
    }
    if !c.tactics.is_empty() {
        parts.push(format!("ATT&CK {}", c.tactics.join(" or ")));
    }
    match c.root {
        Some(true) => parts.push("the root user acted".into()),
        Some(false) => parts.push("no root activity".into()),
        None => {}
    }
    if parts.is_empty() {
        "every case".into()
    } else {
        parts.join(", and ")
    }
}

fn md_inline(s: &str) -> String {
    neutral::markdown::inline(s)
}

fn markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Heading(n, t) => {
                out.push_str(&format!("{} {}\n\n", "#".repeat(*n as usize), md_inline(t)))
            }
            Block::Para(t) => out.push_str(&format!("{}\n\n", md_inline(t))),
            Block::List(items) => {
                for i in items {
                    out.push_str(&format!("- {}\n", md_inline(i)));
                }
                out.push('\n');
            }
            Block::Table(head, rows) => {
                let row = |cells: &[String]| {
                    format!(
                        "| {} |\n",
                        cells
                            .iter()
                            .map(|c| md_inline(c))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )
                };
                out.push_str(&row(head));
                out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
                for r in rows {
                    out.push_str(&row(r));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    neutral::html::text(s)
}

fn html(title: &str, blocks: &[Block]) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}table{{border-collapse:collapse;margin:0.5rem 0 1rem}}th,td{{border:1px solid #bbb;padding:0.3rem 0.6rem;text-align:left;vertical-align:top}}th{{background:#eee}}</style></head><body>\n",
        escape_html(title)
    );
    for b in blocks {
        match b {
            Block::Heading(n, t) => out.push_str(&format!("<h{n}>{}</h{n}>\n", escape_html(t))),
            Block::Para(t) => out.push_str(&format!("<p>{}</p>\n", escape_html(t))),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    out.push_str(&format!("<li>{}</li>\n", escape_html(i)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(head, rows) => {
                out.push_str("<table><thead><tr>");
                for h in head {
                    out.push_str(&format!("<th>{}</th>", escape_html(h)));
                }
                out.push_str("</tr></thead><tbody>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        out.push_str(&format!("<td>{}</td>", escape_html(c)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}
