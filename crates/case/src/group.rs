//! Grouping alerts into cases: an alert joins the case that saw one of its linking
//! entities within the window; an alert linking several cases merges them into the
//! oldest.
//!
//! Linking entities are access keys, principals, sessions, instances and public IP
//! addresses (see [`Entity::links`]). An address also has to be specific: one used by more
//! than [`GroupingConfig::max_principals_per_ip`] principals (a NAT gateway, a VPN, a CI
//! runner, a test placeholder) links nothing. Accounts only place alerts that name no
//! linking entity at all (an account-level finding): such an alert joins the account's
//! most recently active case in the window, and never merges cases.

use model::{Entity, EntityKind};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A stored case's number (`case 12`): its own type, so a case id is never taken for a
/// response plan's, a task's or a count. JSON and SQL hold the bare number.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct CaseId(pub i64);

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for CaseId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(CaseId)
    }
}

/// How alerts group.
#[derive(Debug, Clone, Copy)]
pub struct GroupingConfig {
    /// An alert joins a case when a shared entity was seen within this many milliseconds.
    pub window_ms: i64,
    /// An IP address used by more principals than this links nothing.
    pub max_principals_per_ip: usize,
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig {
            window_ms: 24 * 3600 * 1000,
            max_principals_per_ip: 3,
        }
    }
}

/// One entity as an open case already knows it.
#[derive(Debug, Clone)]
pub struct KnownEntity {
    pub entity: Entity,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// An open (not closed, not merged) case and its entities.
#[derive(Debug, Clone)]
pub struct OpenCase {
    pub id: CaseId,
    pub entities: Vec<KnownEntity>,
}

/// What the grouper reads from an alert.
#[derive(Debug, Clone, Copy)]
pub struct AlertLinks<'a> {
    pub time_ms: Option<i64>,
    pub entities: &'a [Entity],
}

/// Which case an alert lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseRef {
    Existing(CaseId),
    /// The n-th new case of this grouping.
    New(usize),
}

/// The result of grouping a batch of alerts.
#[derive(Debug, Clone, Default)]
pub struct Grouping {
    /// Per input alert, its case.
    pub assignment: Vec<CaseRef>,
    /// How many new cases to open (`CaseRef::New(0..n)`).
    pub new_cases: usize,
    /// Existing cases merged into another case, in the order to apply.
    pub merges: Vec<(CaseId, CaseRef)>,
    /// Public addresses shared by too many principals to link anything.
    pub shared_ips: BTreeSet<String>,
}

struct Node {
    /// `Some` for an existing case.
    existing: Option<CaseId>,
    parent: usize,
}

struct Forest(Vec<Node>);

impl Forest {
    fn root(&mut self, mut n: usize) -> usize {
        while self.0[n].parent != n {
            let p = self.0[n].parent;
            self.0[n].parent = self.0[p].parent;
            n = p;
        }
        n
    }
}

/// The identities among `entities` that count as users of an address: principals and
/// sessions, or a well-formed access key when no principal is named.
fn identities<'e>(
    entities: impl Iterator<Item = &'e Entity> + Clone,
) -> impl Iterator<Item = &'e Entity> {
    let has_actor = entities
        .clone()
        .any(|e| matches!(e.kind, EntityKind::Principal | EntityKind::Session));
    entities.filter(move |e| match e.kind {
        EntityKind::Principal | EntityKind::Session => true,
        EntityKind::AccessKey => !has_actor && e.links(),
        _ => false,
    })
}

/// Groups `alerts` into `open` cases and new ones. Deterministic: alerts are taken in time
/// order (untimed last), ties in input order.
pub fn group(open: &[OpenCase], alerts: &[AlertLinks<'_>], cfg: GroupingConfig) -> Grouping {
    // Addresses used by many principals (across this batch and the open cases) link nothing.
    let mut ip_users: HashMap<&str, BTreeSet<&Entity>> = HashMap::new();
    for c in open {
        let ids: Vec<&Entity> = identities(c.entities.iter().map(|k| &k.entity)).collect();
        for k in c
            .entities
            .iter()
            .filter(|k| k.entity.kind == EntityKind::Ip)
        {
            ip_users
                .entry(&k.entity.value)
                .or_default()
                .extend(ids.iter().copied());
        }
    }
    for a in alerts {
        for ip in a.entities.iter().filter(|e| e.kind == EntityKind::Ip) {
            ip_users
                .entry(&ip.value)
                .or_default()
                .extend(identities(a.entities.iter()));
        }
    }
    let shared_ips: BTreeSet<String> = ip_users
        .iter()
        .filter(|(ip, users)| {
            users.len() > cfg.max_principals_per_ip && Entity::new(EntityKind::Ip, **ip).links()
        })
        .map(|(ip, _)| ip.to_string())
        .collect();
    let links =
        |e: &Entity| e.links() && !(e.kind == EntityKind::Ip && shared_ips.contains(&e.value));

    let mut forest = Forest(Vec::new());
    // entity → (node, first, last) per node that saw it.
    let mut index: HashMap<Entity, Vec<(usize, i64, i64)>> = HashMap::new();
    // account → (node, last seen)
    let mut accounts: BTreeMap<String, Vec<(usize, i64)>> = BTreeMap::new();
    let mut sorted_open: Vec<&OpenCase> = open.iter().collect();
    sorted_open.sort_by_key(|c| c.id);
    for c in sorted_open {
        let n = forest.0.len();
        forest.0.push(Node {
            existing: Some(c.id),
            parent: n,
        });
        for k in &c.entities {
            if k.entity.kind == EntityKind::Account {
                accounts
                    .entry(k.entity.value.clone())
                    .or_default()
                    .push((n, k.last_ms));
            }
            if links(&k.entity) {
                index
                    .entry(k.entity.clone())
                    .or_default()
                    .push((n, k.first_ms, k.last_ms));
            }
        }
    }

    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by_key(|&i| (alerts[i].time_ms.is_none(), alerts[i].time_ms, i));
    let mut node_of = vec![usize::MAX; alerts.len()];
    let w = cfg.window_ms;
    let near = |t: Option<i64>, first: i64, last: i64| {
        t.is_none_or(|t| t >= first.saturating_sub(w) && t <= last.saturating_add(w))
    };
    for i in order {
        let a = &alerts[i];
        let mut roots: BTreeSet<usize> = BTreeSet::new();
        let linking: Vec<&Entity> = a.entities.iter().filter(|e| links(e)).collect();
        for e in &linking {
            for &(n, first, last) in index.get(*e).into_iter().flatten() {
                if near(a.time_ms, first, last) {
                    roots.insert(forest.root(n));
                }
            }
        }
        let account = a
            .entities
            .iter()
            .find(|e| e.kind == EntityKind::Account)
            .map(|e| e.value.as_str());
        if roots.is_empty()
            && linking.is_empty()
            && let Some(acct) = account
        {
            // The account's most recently active case within the window.
            let best = accounts
                .get(acct)
                .into_iter()
                .flatten()
                .filter(|(_, last)| near(a.time_ms, *last, *last))
                .max_by_key(|(n, last)| (*last, std::cmp::Reverse(*n)))
                .map(|(n, _)| *n);
            if let Some(n) = best {
                roots.insert(forest.root(n));
            }
        }
        let node = match roots.first() {
            Some(&target) => {
                for &other in roots.iter().skip(1) {
                    forest.0[other].parent = target;
                }
                target
            }
            None => {
                let n = forest.0.len();
                forest.0.push(Node {
                    existing: None,
                    parent: n,
                });
                n
            }
        };
        node_of[i] = node;
        let t = a.time_ms;
        for e in a.entities {
            if e.kind == EntityKind::Account
                && let Some(t) = a.time_ms
            {
                accounts.entry(e.value.clone()).or_default().push((node, t));
            }
            // Only linking entities are looked up again.
            if !links(e) {
                continue;
            }
            let entries = index.entry(e.clone()).or_default();
            match (entries.iter_mut().find(|(n, _, _)| *n == node), t) {
                (Some(entry), Some(t)) => {
                    entry.1 = entry.1.min(t);
                    entry.2 = entry.2.max(t);
                }
                (Some(_), None) => {}
                (None, _) => {
                    let t = t.unwrap_or(i64::MIN / 4);
                    entries.push((node, t, t));
                }
            }
        }
    }

    // Name the surviving new cases in creation order; merged-away new cases vanish.
    let mut out = Grouping {
        shared_ips,
        ..Grouping::default()
    };
    let mut new_ref: HashMap<usize, usize> = HashMap::new();
    let mut case_ref = |forest: &mut Forest, n: usize| -> CaseRef {
        let r = forest.root(n);
        match forest.0[r].existing {
            Some(id) => CaseRef::Existing(id),
            None => {
                let next = new_ref.len();
                CaseRef::New(*new_ref.entry(r).or_insert(next))
            }
        }
    };
    for n in 0..forest.0.len() {
        if forest.0[n].existing.is_none() && forest.root(n) == n {
            case_ref(&mut forest, n);
        }
    }
    for n in 0..forest.0.len() {
        if let Some(id) = forest.0[n].existing
            && forest.root(n) != n
        {
            let into = case_ref(&mut forest, n);
            out.merges.push((id, into));
        }
    }
    out.assignment = node_of.iter().map(|&n| case_ref(&mut forest, n)).collect();
    out.new_cases = new_ref.len();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600 * 1000;

    fn e(kind: EntityKind, v: &str) -> Entity {
        Entity::new(kind, v)
    }

    fn user(n: &str) -> Entity {
        e(
            EntityKind::Principal,
            &format!("arn:aws:iam::111122223333:user/{n}"),
        )
    }

    fn acct() -> Entity {
        e(EntityKind::Account, "111122223333")
    }

    #[test]
    fn shared_key_joins_and_unrelated_principals_split() {
        let a = [
            user("a"),
            e(EntityKind::AccessKey, "AKIAAAAAAAAAAAAAAAAA"),
            acct(),
        ];
        let a2 = [e(EntityKind::AccessKey, "AKIAAAAAAAAAAAAAAAAA"), acct()];
        let b = [user("b"), acct()];
        let alerts = [
            AlertLinks {
                time_ms: Some(0),
                entities: &a,
            },
            AlertLinks {
                time_ms: Some(H),
                entities: &b,
            },
            AlertLinks {
                time_ms: Some(2 * H),
                entities: &a2,
            },
        ];
        let g = group(&[], &alerts, GroupingConfig::default());
        assert_eq!(g.new_cases, 2);
        assert_eq!(
            g.assignment,
            vec![CaseRef::New(0), CaseRef::New(1), CaseRef::New(0)]
        );
    }

    #[test]
    fn window_splits_and_links_merge_into_the_oldest() {
        let a = [user("a"), acct()];
        let b = [user("b"), acct()];
        let both = [user("a"), user("b"), acct()];
        let alerts = [
            AlertLinks {
                time_ms: Some(0),
                entities: &a,
            },
            AlertLinks {
                time_ms: Some(H),
                entities: &b,
            },
            AlertLinks {
                time_ms: Some(2 * H),
                entities: &both,
            },
            AlertLinks {
                time_ms: Some(100 * H),
                entities: &a,
            },
        ];
        let g = group(&[], &alerts, GroupingConfig::default());
        assert_eq!(
            g.assignment,
            vec![
                CaseRef::New(0),
                CaseRef::New(0),
                CaseRef::New(0),
                CaseRef::New(1)
            ]
        );
        assert_eq!(g.new_cases, 2);
        // The same with the first two already stored as cases 7 and 9: 9 merges into 7.
        let open = [
            OpenCase {
                id: CaseId(9),
                entities: vec![KnownEntity {
                    entity: user("b"),
                    first_ms: H,
                    last_ms: H,
                }],
            },
            OpenCase {
                id: CaseId(7),
                entities: vec![KnownEntity {
                    entity: user("a"),
                    first_ms: 0,
                    last_ms: 0,
                }],
            },
        ];
        let g = group(&open, &alerts[2..], GroupingConfig::default());
        assert_eq!(g.merges, vec![(CaseId(9), CaseRef::Existing(CaseId(7)))]);
        assert_eq!(
            g.assignment,
            vec![CaseRef::Existing(CaseId(7)), CaseRef::New(0)]
        );
    }

    #[test]
    fn busy_addresses_and_accounts_do_not_link() {
        let ip = e(EntityKind::Ip, "203.0.113.9");
        let users: Vec<[Entity; 3]> = (0..5)
            .map(|i| [user(&i.to_string()), ip.clone(), acct()])
            .collect();
        let alerts: Vec<AlertLinks> = users
            .iter()
            .map(|u| AlertLinks {
                time_ms: Some(0),
                entities: u,
            })
            .collect();
        let g = group(&[], &alerts, GroupingConfig::default());
        assert_eq!(g.new_cases, 5);
        assert!(g.shared_ips.contains("203.0.113.9"));
        // Two principals on one address: the same actor.
        let g = group(&[], &alerts[..2], GroupingConfig::default());
        assert_eq!(g.new_cases, 1);
        // An account-only alert joins the account's latest case and merges nothing.
        let only_acct = [acct()];
        let other = [user("other"), acct()];
        let mut with = alerts[..1].to_vec();
        with.push(AlertLinks {
            time_ms: Some(H),
            entities: &other,
        });
        with.push(AlertLinks {
            time_ms: Some(2 * H),
            entities: &only_acct,
        });
        let g = group(&[], &with, GroupingConfig::default());
        assert_eq!(
            g.assignment,
            vec![CaseRef::New(0), CaseRef::New(1), CaseRef::New(1)]
        );
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let a = [user("a"), acct()];
        let b = [user("b"), e(EntityKind::Ip, "198.51.100.1"), acct()];
        let c = [user("c"), e(EntityKind::Ip, "198.51.100.1"), acct()];
        let x = [
            AlertLinks {
                time_ms: Some(3),
                entities: &c,
            },
            AlertLinks {
                time_ms: Some(1),
                entities: &a,
            },
            AlertLinks {
                time_ms: Some(2),
                entities: &b,
            },
        ];
        let y = [x[1], x[2], x[0]];
        let gx = group(&[], &x, GroupingConfig::default());
        let gy = group(&[], &y, GroupingConfig::default());
        assert_eq!(
            gx.assignment,
            vec![CaseRef::New(1), CaseRef::New(0), CaseRef::New(1)]
        );
        assert_eq!(
            gy.assignment,
            vec![CaseRef::New(0), CaseRef::New(1), CaseRef::New(1)]
        );
    }
}
