//! Communications: templates for the audiences the AWS guide and practice name (internal
//! responders, executives, customers, regulators), kept as editable files beside the IR plan
//! and rendered from a case by minijinja in a sandbox (no file or network access, a fuel
//! limit, undefined values are errors). A template names the fields it cannot go without
//! (`{#- requires: summary, … -#}` on its first line); a regulator notice also needs the
//! regulation's required content. Every string of the case reaches a template through the
//! Markdown neutraliser.

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// Who a communication is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// The responders and the incident team.
    Internal,
    /// Leadership.
    Executive,
    /// Affected customers.
    Customer,
    /// A regulator, under one of the plan's regulations.
    Regulator,
}

impl Audience {
    pub const ALL: [Audience; 4] = [
        Audience::Internal,
        Audience::Executive,
        Audience::Customer,
        Audience::Regulator,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Audience::Internal => "internal",
            Audience::Executive => "executive",
            Audience::Customer => "customer",
            Audience::Regulator => "regulator",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        Audience::ALL.into_iter().find(|a| a.name() == s)
    }

    /// The template's file name (`executive.md.j2`).
    pub fn file_name(self) -> String {
        format!("{}.md.j2", self.name())
    }

    /// The bundled template.
    pub fn bundled(self) -> &'static str {
        match self {
            Audience::Internal => include_str!("../templates/internal.md.j2"),
            Audience::Executive => include_str!("../templates/executive.md.j2"),
            Audience::Customer => include_str!("../templates/customer.md.j2"),
            Audience::Regulator => include_str!("../templates/regulator.md.j2"),
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a communication was not rendered.
#[derive(Debug, thiserror::Error)]
pub enum CommsError {
    #[error("{template}: required field(s) empty: {}", .missing.iter().map(|m| m.describe()).collect::<Vec<_>>().join("; "))]
    Missing {
        template: String,
        missing: Vec<MissingField>,
    },
    #[error("{template}: {message}")]
    Template { template: String, message: String },
}

/// A required field without a value, and how to give it one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingField {
    pub field: String,
    pub hint: String,
}

impl MissingField {
    fn describe(&self) -> String {
        format!("`{}` ({})", self.field, self.hint)
    }
}

/// The fields a template's first line says it requires.
pub fn required_fields(template: &str) -> Vec<String> {
    let first = template.lines().next().unwrap_or("");
    let Some(i) = first.find("requires:") else {
        return Vec::new();
    };
    first[i + "requires:".len()..]
        .trim_end()
        .trim_end_matches("-#}")
        .trim_end_matches("#}")
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

/// The value at a dotted path; `None` when absent, null, blank or an empty list.
fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    match cur {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::Array(a) if a.is_empty() => None,
        v => Some(v),
    }
}

/// How to fill a field, for the refusal.
fn hint(case: i64, field: &str) -> String {
    let head = field.split('.').next().unwrap_or(field);
    let narrative = head.replace('_', "-");
    match head {
        "regulation" => "render with --regulation ID --deadline ID".into(),
        "incident_commander" => format!("assign the case: firebreak case assign {case} CONTACT"),
        "next_update_at" => "the IR plan's communications.cadence for this level".into(),
        "organization" => "the IR plan's meta.name".into(),
        _ if crate::narrative::Field::parse(&narrative).is_some() => {
            format!("firebreak case review set {case} {narrative} \"…\"")
        }
        "impact_narrative" => format!("firebreak case review set {case} impact \"…\""),
        _ => "a fact of the case".into(),
    }
}

/// Every string leaf through the Markdown neutraliser.
fn neutralise(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(neutral::markdown::inline(s)),
        Value::Array(a) => Value::Array(a.iter().map(neutralise).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), neutralise(v))).collect())
        }
        v => v.clone(),
    }
}

/// Renders `template` (named `name` in messages) over `context`, refusing while a field the
/// template or `also_required` names is empty.
pub fn render(
    name: &str,
    template: &str,
    context: &Value,
    also_required: &[String],
) -> Result<String, CommsError> {
    let case = context
        .get("case")
        .and_then(|c| c.get("id"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut missing: Vec<MissingField> = Vec::new();
    for f in required_fields(template).iter().chain(also_required) {
        if lookup(context, f).is_none() && !missing.iter().any(|m| &m.field == f) {
            missing.push(MissingField {
                field: f.clone(),
                hint: hint(case, f),
            });
        }
    }
    if !missing.is_empty() {
        return Err(CommsError::Missing {
            template: name.to_string(),
            missing,
        });
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_fuel(Some(200_000));
    let err = |e: minijinja::Error| CommsError::Template {
        template: name.to_string(),
        message: match e.line() {
            Some(l) => format!("line {l}: {e}"),
            None => e.to_string(),
        },
    };
    env.add_template(name, template).map_err(err)?;
    let t = env.get_template(name).map_err(err)?;
    t.render(minijinja::value::Serde(neutralise(context)))
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_names_required_fields() {
        assert_eq!(
            required_fields("{#- requires: a, b.c -#}\nbody"),
            vec!["a".to_string(), "b.c".to_string()]
        );
        assert!(required_fields("no header").is_empty());
    }

    #[test]
    fn a_template_cannot_reach_outside_its_context() {
        let ctx = serde_json::json!({ "case": { "id": 1 } });
        // No loader: includes fail, they read no file.
        let e = render("t", "{% include '/etc/passwd' %}", &ctx, &[]).unwrap_err();
        assert!(e.to_string().contains("t:"), "{e}");
        // Undefined values are errors, not blanks.
        assert!(render("t", "{{ nothing }}", &ctx, &[]).is_err());
        // An endless loop runs out of fuel.
        let e = render(
            "t",
            "{% for i in range(100000000) %}x{% endfor %}",
            &ctx,
            &[],
        );
        assert!(e.is_err());
        // Hostile text is Markdown-neutralised.
        let ctx = serde_json::json!({ "case": { "id": 1 }, "s": "[x](javascript:alert(1))" });
        let out = render("t", "{{ s }}", &ctx, &[]).unwrap();
        assert!(!out.contains("]("), "{out}");
    }
}
