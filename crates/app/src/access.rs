//! Who may do what, from the IR plan: each signed-in person is one of the plan's contacts,
//! and the roles that contact fills decide what they may see and do.
//!
//! - **view**: any role (a third party's too);
//! - **work** (notes, tasks, tags, owner and phase changes, hunts, planning): a role of the
//!   organization's own that is responsible or accountable (R or A) in some phase;
//! - **approve** at a level: a role the level's approval rule names (the rule itself, with its
//!   count and two-person terms, is checked again when the approval is recorded);
//! - **admin** (restricting cases, users, tokens): the role accountable for containment.
//!
//! Without an IR plan every enabled account may do everything: a two-person team has no
//! roles to map. Restricted cases are a separate gate: only the contacts named see them.

use plan::{IrPlan, PhaseName};
use serde::Serialize;

/// One permission a route or use case asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    View,
    Work,
    /// Approve response plans (at some level; the level is checked against the case).
    Approve,
    Admin,
}

impl Permission {
    pub fn name(self) -> &'static str {
        match self {
            Permission::View => "view",
            Permission::Work => "work",
            Permission::Approve => "approve",
            Permission::Admin => "admin",
        }
    }
}

/// What one contact may do, resolved from the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grants {
    pub contact: String,
    pub roles: Vec<String>,
    pub view: bool,
    pub work: bool,
    pub admin: bool,
    /// Levels (ids) at which this contact may approve; `None` level means a case without one.
    pub approve_levels: Vec<Option<String>>,
}

impl Grants {
    /// Whether the grants hold `p` (approve: at some level).
    pub fn may(&self, p: Permission) -> bool {
        match p {
            Permission::View => self.view,
            Permission::Work => self.work,
            Permission::Approve => !self.approve_levels.is_empty(),
            Permission::Admin => self.admin,
        }
    }

    /// Whether this contact may approve plans of a case at `level`.
    pub fn may_approve_at(&self, level: Option<&str>) -> bool {
        self.approve_levels.iter().any(|l| l.as_deref() == level)
    }
}

/// The grants of `contact` under `plan` (everything when there is no plan).
pub fn grants(plan: Option<&IrPlan>, contact: &str) -> Grants {
    let Some(plan) = plan else {
        return Grants {
            contact: contact.to_string(),
            roles: Vec::new(),
            view: true,
            work: true,
            admin: true,
            approve_levels: vec![None],
        };
    };
    let roles = plan.roles_of(contact);
    let held: Vec<&plan::model::Role> = plan
        .roles
        .iter()
        .filter(|r| roles.contains(&r.id.value))
        .collect();
    let letters = |r: &plan::model::Role, p: PhaseName| {
        r.raci.get(&p).map(|l| l.value.clone()).unwrap_or_default()
    };
    let work = held.iter().any(|r| {
        !r.third_party
            && PhaseName::ALL
                .iter()
                .any(|p| letters(r, *p).contains(['R', 'A']))
    });
    let accountable_for_containment = plan
        .roles
        .iter()
        .any(|r| letters(r, PhaseName::Contain).contains('A'));
    let admin = held.iter().any(|r| {
        !r.third_party
            && if accountable_for_containment {
                letters(r, PhaseName::Contain).contains('A')
            } else {
                PhaseName::ALL.iter().any(|p| letters(r, *p).contains('A'))
            }
    });
    let may_approve = |level: Option<&str>| {
        let terms = plan.approval_terms(level);
        work && (terms.roles.is_empty() || terms.roles.iter().any(|r| roles.contains(r)))
    };
    let mut approve_levels: Vec<Option<String>> = plan
        .severity
        .iter()
        .map(|l| l.id.value.clone())
        .filter(|l| may_approve(Some(l)))
        .map(Some)
        .collect();
    if may_approve(None) {
        approve_levels.push(None);
    }
    Grants {
        contact: contact.to_string(),
        view: !roles.is_empty(),
        roles,
        work,
        admin,
        approve_levels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> IrPlan {
        plan::parse(
            include_str!("../../plan/src/example.toml"),
            "example.toml",
            plan::Format::Toml,
        )
        .unwrap()
    }

    #[test]
    fn the_plans_roles_decide() {
        let p = example();
        let alice = grants(Some(&p), "alice"); // incident commander, platform
        assert!(alice.view && alice.work && alice.admin, "{alice:?}");
        let carmen = grants(Some(&p), "carmen"); // responder, platform
        assert!(carmen.view && carmen.work && !carmen.admin, "{carmen:?}");
        assert!(carmen.may_approve_at(Some("sev1")));
        let dana = grants(Some(&p), "dana"); // CISO: informed and consulted only
        assert!(dana.view && !dana.work && !dana.admin && !dana.may(Permission::Approve));
        let counsel = grants(Some(&p), "counsel"); // third party
        assert!(counsel.view && !counsel.work);
        let stranger = grants(Some(&p), "nobody");
        assert!(!stranger.view && !stranger.work && !stranger.may(Permission::Approve));
        let solo = grants(None, "anyone");
        assert!(solo.view && solo.work && solo.admin && solo.may_approve_at(None));
    }
}
