//! The least-privilege IAM policy the responder role needs to run a set of playbooks.

use crate::spec::Playbook;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// One statement per AWS service with exactly the actions the playbooks' steps use
/// (reads for before-state and verification, writes for effect and rollback).
pub fn responder_policy<'a>(books: impl IntoIterator<Item = &'a Playbook>) -> Value {
    let mut by_service: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for book in books {
        for step in &book.steps {
            for p in step.action.permissions() {
                let service = p.split(':').next().unwrap_or(p);
                by_service.entry(service).or_default().insert(p);
            }
        }
    }
    let statements: Vec<Value> = by_service
        .into_iter()
        .map(|(service, actions)| {
            let sid: String = format!("Firebreak{}", capitalize(service));
            json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"})
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn capitalize(s: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if up { c.to_ascii_uppercase() } else { c });
            up = false;
        } else {
            up = true;
        }
    }
    out
}
