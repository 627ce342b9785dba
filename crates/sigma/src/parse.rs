//! YAML documents → [`Item`]s, validating as it goes; every error is located.

use crate::ast::*;
use crate::condition::parse_condition;
use crate::error::{Pos, RuleError};
use crate::modifier::Modifier;
use crate::yaml::{Doc, load_documents, pos_of, scalar_pos};
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, Node};

struct Ctx<'f> {
    file: &'f str,
    errors: Vec<RuleError>,
}

impl Ctx<'_> {
    fn err(&mut self, pos: Pos, msg: impl Into<String>) {
        self.errors.push(pos.error(self.file, msg));
    }
}

/// Parses every document of a rule file. Returns the items that loaded and the errors of
/// those that did not (a file can hold both).
pub fn parse_file(file: &str, text: &str) -> (Vec<Item>, Vec<RuleError>) {
    let docs = match load_documents(file, text) {
        Ok(d) => d,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for doc in docs {
        let mut ctx = Ctx {
            file,
            errors: Vec::new(),
        };
        let item = parse_doc(&mut ctx, &doc);
        if ctx.errors.is_empty() {
            if let Some(item) = item {
                items.push(item);
            }
        } else {
            errors.append(&mut ctx.errors);
        }
    }
    (items, errors)
}

fn scalar<'n>(ctx: &mut Ctx<'_>, node: &'n Node, what: &str) -> Option<&'n MarkedScalarNode> {
    match node {
        Node::Scalar(s) => Some(s),
        other => {
            ctx.err(pos_of(other), format!("`{what}` must be a single value"));
            None
        }
    }
}

fn string_list(ctx: &mut Ctx<'_>, node: &Node, what: &str) -> Vec<String> {
    match node {
        Node::Scalar(s) => vec![s.as_str().to_string()],
        Node::Sequence(seq) => seq
            .iter()
            .filter_map(|n| scalar(ctx, n, what).map(|s| s.as_str().to_string()))
            .collect(),
        Node::Mapping(m) => {
            ctx.err(
                pos_of(&Node::Mapping(m.clone())),
                format!("`{what}` must be a list of values"),
            );
            Vec::new()
        }
    }
}

fn get<'m>(map: &'m MarkedMappingNode, key: &str) -> Option<&'m Node> {
    map.get_node(key)
}

fn map_pos(map: &MarkedMappingNode) -> Pos {
    map.span().start().map_or_else(Pos::default, |m| Pos {
        line: m.line(),
        column: m.column(),
    })
}

fn meta(ctx: &mut Ctx<'_>, root: &MarkedMappingNode, first_line: usize) -> Meta {
    let text = |ctx: &mut Ctx<'_>, key: &str| {
        get(root, key)
            .and_then(|n| scalar(ctx, n, key))
            .map(|s| s.as_str().to_string())
    };
    let mut m = Meta {
        file: ctx.file.to_string(),
        line: first_line,
        ..Meta::default()
    };
    match text(ctx, "title") {
        Some(t) if !t.trim().is_empty() => m.title = t,
        _ => ctx.err(map_pos(root), "missing `title`"),
    }
    m.id = text(ctx, "id");
    m.name = text(ctx, "name");
    m.status = text(ctx, "status");
    m.description = text(ctx, "description");
    m.author = text(ctx, "author");
    if let Some(level) = get(root, "level")
        && let Some(s) = scalar(ctx, level, "level")
    {
        match Level::parse(s.as_str()) {
            Some(l) => m.level = l,
            None => ctx.err(
                scalar_pos(s),
                format!(
                    "unknown level `{}` (informational, low, medium, high, critical)",
                    s.as_str()
                ),
            ),
        }
    }
    for (key, slot) in [
        ("tags", &mut m.tags),
        ("falsepositives", &mut m.falsepositives),
        ("references", &mut m.references),
    ] {
        if let Some(n) = get(root, key) {
            *slot = string_list(ctx, n, key);
        }
    }
    m
}

fn parse_doc(ctx: &mut Ctx<'_>, doc: &Doc) -> Option<Item> {
    let root = &doc.root;
    if get(root, "action").is_some() {
        ctx.err(map_pos(root), "Sigma 1 rule collections (`action: global`) are not supported; split them into separate rules");
        return None;
    }
    let meta = meta(ctx, root, doc.first_line);
    if let Some(c) = get(root, "correlation") {
        return correlation(ctx, root, c, meta).map(Item::Correlation);
    }
    if let Some(f) = get(root, "filter") {
        let Node::Mapping(fm) = f else {
            ctx.err(
                pos_of(f),
                "`filter` must be a mapping with `rules`, searches and `condition`",
            );
            return None;
        };
        let rules = match get(fm, "rules") {
            Some(n) => string_list(ctx, n, "rules"),
            None => {
                ctx.err(map_pos(fm), "filter has no `rules` to apply to");
                Vec::new()
            }
        };
        let detection = detection(ctx, fm, &["rules"])?;
        let logsource = logsource(ctx, root);
        return Some(Item::Filter(Filter {
            meta,
            logsource,
            rules,
            detection,
        }));
    }
    let Some(det) = get(root, "detection") else {
        ctx.err(
            map_pos(root),
            "missing `detection` (or `correlation` / `filter`)",
        );
        return None;
    };
    let Node::Mapping(dm) = det else {
        ctx.err(pos_of(det), "`detection` must be a mapping");
        return None;
    };
    let logsource = logsource(ctx, root);
    if get(root, "logsource").is_none() {
        ctx.err(map_pos(root), "missing `logsource`");
    }
    let detection = detection(ctx, dm, &[])?;
    Some(Item::Rule(Rule {
        meta,
        logsource,
        detection,
    }))
}

fn logsource(ctx: &mut Ctx<'_>, root: &MarkedMappingNode) -> LogSource {
    let mut ls = LogSource::default();
    if let Some(n) = get(root, "logsource") {
        match n {
            Node::Mapping(m) => {
                for (key, slot) in [
                    ("product", &mut ls.product),
                    ("service", &mut ls.service),
                    ("category", &mut ls.category),
                ] {
                    *slot = get(m, key)
                        .and_then(|n| scalar(ctx, n, key))
                        .map(|s| s.as_str().to_ascii_lowercase());
                }
            }
            other => ctx.err(pos_of(other), "`logsource` must be a mapping"),
        }
    }
    ls
}

fn detection(ctx: &mut Ctx<'_>, dm: &MarkedMappingNode, skip: &[&str]) -> Option<Detection> {
    let mut searches = Vec::new();
    let mut conditions = Vec::new();
    let mut condition_pos = map_pos(dm);
    let mut has_condition = false;
    for (key, value) in dm.iter() {
        let name = key.as_str();
        if skip.contains(&name) {
            continue;
        }
        match name {
            "condition" => {
                has_condition = true;
                condition_pos = pos_of(value);
                for text in string_list(ctx, value, "condition") {
                    match parse_condition(&text) {
                        Ok(c) => conditions.push(c),
                        Err(e) => ctx.err(condition_pos, format!("condition `{text}`: {e}")),
                    }
                }
            }
            "timeframe" => {}
            _ => {
                if let Some(search) = search(ctx, name, value) {
                    searches.push((name.to_string(), search));
                }
            }
        }
    }
    if !has_condition {
        ctx.err(map_pos(dm), "missing `condition`");
        return None;
    }
    let d = Detection {
        searches,
        conditions,
        condition_pos,
    };
    check_references(ctx, &d);
    Some(d)
}

fn check_references(ctx: &mut Ctx<'_>, d: &Detection) {
    fn walk(c: &Cond, names: &[&str], missing: &mut Vec<String>) {
        match c {
            Cond::Search(n) if !names.contains(&n.as_str()) => missing.push(n.clone()),
            Cond::Search(_) => {}
            Cond::Not(x) => walk(x, names, missing),
            Cond::And(v) | Cond::Or(v) => v.iter().for_each(|x| walk(x, names, missing)),
            Cond::Of {
                pattern: Some(p), ..
            } if !names.iter().any(|n| crate::condition::name_matches(p, n)) => {
                missing.push(format!("{p} (no search matches the pattern)"))
            }
            Cond::Of { .. } => {}
        }
    }
    let names: Vec<&str> = d.searches.iter().map(|(n, _)| n.as_str()).collect();
    let mut missing = Vec::new();
    d.conditions
        .iter()
        .for_each(|c| walk(c, &names, &mut missing));
    for m in missing {
        ctx.err(
            d.condition_pos,
            format!("condition refers to unknown search `{m}`"),
        );
    }
}

fn svalue(node: &MarkedScalarNode) -> SValue {
    let s = node.as_str();
    if !node.may_coerce() {
        return SValue::Str(s.to_string());
    }
    match s {
        "" | "~" | "null" | "Null" | "NULL" => SValue::Null,
        "true" | "True" | "TRUE" => SValue::Bool(true),
        "false" | "False" | "FALSE" => SValue::Bool(false),
        _ if is_number(s) => SValue::Num(s.to_string()),
        _ => SValue::Str(s.to_string()),
    }
}

fn is_number(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().filter(|c| *c == '.').count() <= 1
        && !t.starts_with('.')
}

fn values(ctx: &mut Ctx<'_>, node: &Node, field: &str) -> Vec<SValue> {
    match node {
        Node::Scalar(s) => vec![svalue(s)],
        Node::Sequence(seq) => {
            if seq.is_empty() {
                ctx.err(
                    pos_of(node),
                    format!("`{field}` has an empty list of values"),
                );
            }
            seq.iter()
                .filter_map(|n| match n {
                    Node::Scalar(s) => Some(svalue(s)),
                    other => {
                        ctx.err(
                            pos_of(other),
                            format!("values of `{field}` must be scalars"),
                        );
                        None
                    }
                })
                .collect()
        }
        Node::Mapping(_) => {
            ctx.err(
                pos_of(node),
                format!("`{field}` must have a value or a list of values, not a mapping"),
            );
            Vec::new()
        }
    }
}

fn search(ctx: &mut Ctx<'_>, name: &str, node: &Node) -> Option<Search> {
    match node {
        // `keywords: {'|all': [...]}`: keywords with modifiers, written as a key with no field.
        Node::Mapping(m) if m.len() == 1 && m.iter().all(|(k, _)| k.as_str().starts_with('|')) => {
            let (key, value) = m.iter().next()?;
            let pos = scalar_pos(key);
            let mut modifiers = Vec::new();
            for p in key.as_str().split('|').skip(1) {
                match p.parse::<Modifier>() {
                    Ok(Modifier::All) => modifiers.push(Modifier::All),
                    Ok(
                        m @ (Modifier::Windash
                        | Modifier::Base64
                        | Modifier::Base64Offset
                        | Modifier::Wide
                        | Modifier::Utf16
                        | Modifier::Utf16Le
                        | Modifier::Utf16Be
                        | Modifier::Cased),
                    ) => modifiers.push(m),
                    Ok(_) => ctx.err(
                        pos,
                        format!(
                            "`{}`: keywords take only all, cased, windash and encoding modifiers",
                            key.as_str()
                        ),
                    ),
                    Err(e) => ctx.err(pos, format!("`{}`: {e}", key.as_str())),
                }
            }
            Some(Search::Keywords {
                values: values(ctx, value, name),
                modifiers,
                pos,
            })
        }
        Node::Mapping(m) => Some(Search::Maps(vec![field_map(ctx, m)])),
        Node::Sequence(seq)
            if seq.iter().all(|n| matches!(n, Node::Mapping(_))) && !seq.is_empty() =>
        {
            Some(Search::Maps(
                seq.iter()
                    .filter_map(|n| match n {
                        Node::Mapping(m) => Some(field_map(ctx, m)),
                        _ => None,
                    })
                    .collect(),
            ))
        }
        Node::Sequence(seq)
            if seq.iter().all(|n| matches!(n, Node::Scalar(_))) && !seq.is_empty() =>
        {
            Some(Search::Keywords {
                values: values(ctx, node, name),
                modifiers: Vec::new(),
                pos: pos_of(node),
            })
        }
        Node::Scalar(s) => Some(Search::Keywords {
            values: vec![svalue(s)],
            modifiers: Vec::new(),
            pos: scalar_pos(s),
        }),
        _ => {
            ctx.err(
                pos_of(node),
                format!(
                    "search `{name}` must be a mapping, a list of mappings, or a list of keywords"
                ),
            );
            None
        }
    }
}

fn field_map(ctx: &mut Ctx<'_>, m: &MarkedMappingNode) -> Vec<FieldTest> {
    let mut tests = Vec::new();
    for (key, value) in m.iter() {
        let pos = scalar_pos(key);
        let mut parts = key.as_str().split('|');
        let field = parts.next().unwrap_or("").to_string();
        let mut modifiers = Vec::new();
        for p in parts {
            match p.parse::<Modifier>() {
                Ok(m) => modifiers.push(m),
                Err(e) => ctx.err(pos, format!("`{}`: {e}", key.as_str())),
            }
        }
        let values = values(ctx, value, key.as_str());
        check_modifiers(ctx, pos, key.as_str(), &modifiers, &values);
        tests.push(FieldTest {
            field,
            modifiers,
            values,
            pos,
        });
    }
    tests
}

fn check_modifiers(ctx: &mut Ctx<'_>, pos: Pos, key: &str, mods: &[Modifier], values: &[SValue]) {
    use Modifier::*;
    let has = |m: Modifier| mods.contains(&m);
    let string_mods = [Contains, StartsWith, EndsWith]
        .iter()
        .filter(|m| has(**m))
        .count();
    if string_mods > 1 {
        ctx.err(
            pos,
            format!("`{key}`: contains, startswith and endswith exclude each other"),
        );
    }
    if has(Re) && (string_mods > 0 || has(Cidr) || has(Windash) || has(Base64) || has(Base64Offset))
    {
        ctx.err(
            pos,
            format!("`{key}`: `re` cannot be combined with string or encoding modifiers"),
        );
    }
    for flag in [ReI, ReM, ReS] {
        if has(flag) && !has(Re) {
            ctx.err(pos, format!("`{key}`: regex flags i, m and s need `re`"));
        }
    }
    let numeric = [Gt, Gte, Lt, Lte].iter().filter(|m| has(**m)).count();
    if numeric > 1 || (numeric == 1 && mods.len() > 1) {
        ctx.err(pos, format!("`{key}`: gt, gte, lt and lte stand alone"));
    }
    if numeric == 1
        && values
            .iter()
            .any(|v| !matches!(v, SValue::Num(_)) && !matches!(v, SValue::Str(s) if is_number(s)))
    {
        ctx.err(pos, format!("`{key}`: gt/gte/lt/lte need numbers"));
    }
    if has(Exists) && (mods.len() > 1 || values.len() != 1 || !matches!(values[0], SValue::Bool(_)))
    {
        ctx.err(
            pos,
            format!("`{key}`: `exists` takes a single true or false"),
        );
    }
    // With `expand`, the networks are known only once placeholders are filled (compile checks).
    if has(Cidr) && !has(Expand) {
        for v in values {
            if let Some(t) = v.text()
                && t.parse::<ipnet::IpNet>().is_err()
                && t.parse::<std::net::IpAddr>().is_err()
            {
                ctx.err(pos, format!("`{key}`: `{t}` is not a CIDR network"));
            }
        }
    }
    if has(Re) {
        for v in values {
            if let Some(t) = v.text()
                && let Err(e) = regex::RegexBuilder::new(&t).size_limit(1 << 22).build()
            {
                let first = e.to_string().lines().last().unwrap_or("").to_string();
                ctx.err(
                    pos,
                    format!("`{key}`: invalid regular expression `{t}`: {first}"),
                );
            }
        }
    }
    if has(Expand)
        && values
            .iter()
            .any(|v| !v.text().is_some_and(|t| t.contains('%')))
    {
        ctx.err(
            pos,
            format!("`{key}`: `expand` needs a %placeholder% value"),
        );
    }
    if (has(Base64) || has(Base64Offset)) && !(has(Base64) ^ has(Base64Offset)) {
        ctx.err(
            pos,
            format!("`{key}`: base64 and base64offset exclude each other"),
        );
    }
}

fn duration_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

fn correlation(
    ctx: &mut Ctx<'_>,
    root: &MarkedMappingNode,
    node: &Node,
    meta: Meta,
) -> Option<Correlation> {
    let Node::Mapping(c) = node else {
        ctx.err(pos_of(node), "`correlation` must be a mapping");
        return None;
    };
    let here = map_pos(c);
    let kind = match get(c, "type")
        .and_then(|n| scalar(ctx, n, "type"))
        .map(|s| s.as_str())
    {
        Some("event_count") => CorrelationKind::EventCount,
        Some("value_count") => CorrelationKind::ValueCount,
        Some("temporal") => CorrelationKind::Temporal,
        Some("temporal_ordered") => CorrelationKind::TemporalOrdered,
        Some("value_sum") => CorrelationKind::ValueSum,
        Some("value_avg") => CorrelationKind::ValueAvg,
        Some("value_percentile") => CorrelationKind::ValuePercentile,
        Some(other) => {
            ctx.err(here, format!("unknown correlation type `{other}`"));
            return None;
        }
        None => {
            ctx.err(here, "correlation has no `type`");
            return None;
        }
    };
    let rules = get(c, "rules")
        .map(|n| string_list(ctx, n, "rules"))
        .unwrap_or_default();
    if rules.is_empty() {
        ctx.err(here, "correlation has no `rules`");
    }
    let group_by = get(c, "group-by")
        .map(|n| string_list(ctx, n, "group-by"))
        .unwrap_or_default();
    let timespan_ms = match get(c, "timespan")
        .or_else(|| get(c, "timeframe"))
        .and_then(|n| scalar(ctx, n, "timespan"))
    {
        Some(s) => duration_ms(s.as_str()).unwrap_or_else(|| {
            ctx.err(
                scalar_pos(s),
                format!(
                    "timespan `{}` is not a duration like 30s, 10m, 1h, 1d",
                    s.as_str()
                ),
            );
            0
        }),
        None => {
            ctx.err(here, "correlation has no `timespan`");
            0
        }
    };
    let mut condition = Vec::new();
    let mut field = None;
    let mut percentile = None;
    match get(c, "condition") {
        Some(Node::Mapping(cm)) => {
            for (k, v) in cm.iter() {
                let Some(s) = scalar(ctx, v, k.as_str()) else {
                    continue;
                };
                let num = s.as_str().parse::<f64>();
                let cmp = match k.as_str() {
                    "field" => {
                        field = Some(s.as_str().to_string());
                        continue;
                    }
                    "percentile" => {
                        percentile = num.ok();
                        continue;
                    }
                    "gt" => Compare::Gt,
                    "gte" => Compare::Gte,
                    "lt" => Compare::Lt,
                    "lte" => Compare::Lte,
                    "eq" => Compare::Eq,
                    "neq" => Compare::Neq,
                    other => {
                        ctx.err(
                            scalar_pos(k),
                            format!("unknown correlation condition `{other}`"),
                        );
                        continue;
                    }
                };
                match num {
                    Ok(n) => condition.push(cmp(n)),
                    Err(_) => ctx.err(scalar_pos(s), format!("`{}` needs a number", k.as_str())),
                }
            }
        }
        Some(other) => ctx.err(
            pos_of(other),
            "correlation `condition` must be a mapping like {gte: 10}",
        ),
        None => {}
    }
    let needs_condition = !matches!(
        kind,
        CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
    );
    if needs_condition && condition.is_empty() {
        ctx.err(
            here,
            format!(
                "{} correlation needs a `condition` such as {{gte: 10}}",
                kind.name()
            ),
        );
    }
    let needs_field = matches!(
        kind,
        CorrelationKind::ValueCount
            | CorrelationKind::ValueSum
            | CorrelationKind::ValueAvg
            | CorrelationKind::ValuePercentile
    );
    if needs_field && field.is_none() {
        ctx.err(
            here,
            format!("{} correlation needs `condition.field`", kind.name()),
        );
    }
    if kind == CorrelationKind::ValuePercentile && percentile.is_none() {
        percentile = Some(50.0);
    }
    let mut aliases = Vec::new();
    if let Some(a) = get(c, "aliases") {
        match a {
            Node::Mapping(am) => {
                for (alias, per_rule) in am.iter() {
                    let mut pairs = Vec::new();
                    if let Node::Mapping(pm) = per_rule {
                        for (rule, fieldn) in pm.iter() {
                            if let Some(f) = scalar(ctx, fieldn, "alias field") {
                                pairs.push((rule.as_str().to_string(), f.as_str().to_string()));
                            }
                        }
                    } else {
                        ctx.err(pos_of(per_rule), "an alias maps rule names to field names");
                    }
                    aliases.push((alias.as_str().to_string(), pairs));
                }
            }
            other => ctx.err(pos_of(other), "`aliases` must be a mapping"),
        }
    }
    let generate = get(c, "generate")
        .or_else(|| get(root, "generate"))
        .and_then(|n| n.as_scalar())
        .and_then(MarkedScalarNode::as_bool)
        .unwrap_or(false);
    Some(Correlation {
        meta,
        kind,
        rules,
        group_by,
        timespan_ms,
        condition,
        field,
        percentile,
        aliases,
        generate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary text, and rules with arbitrary values and modifiers, never panic;
        /// every error names the file.
        #[test]
        fn never_panics(text in "\\PC{0,400}") {
            let (items, errors) = parse_file("p.yml", &text);
            prop_assert!(errors.iter().all(|e| e.file == "p.yml"));
            let _ = crate::compile(&items, &crate::Placeholders::default());
        }

        #[test]
        fn odd_values_and_modifiers_never_panic(
            mods in proptest::collection::vec(prop_oneof![Just("contains"), Just("all"), Just("re"), Just("cidr"), Just("base64offset"), Just("wide"), Just("windash"), Just("exists"), Just("gt"), Just("fieldref"), Just("expand"), Just("neq"), Just("cased"), Just("i")], 0..4),
            value in "[ -~]{0,20}",
        ) {
            let key = std::iter::once("f").chain(mods.iter().copied()).collect::<Vec<_>>().join("|");
            let text = format!("title: t\nlogsource: {{}}\ndetection:\n  s:\n    {key}: {:?}\n  condition: s\n", value);
            let (items, _) = parse_file("p.yml", &text);
            let _ = crate::compile(&items, &crate::Placeholders::default());
        }
    }

    fn one(text: &str) -> Result<Item, Vec<RuleError>> {
        let (mut items, errors) = parse_file("r.yml", text);
        if errors.is_empty() {
            Ok(items.remove(0))
        } else {
            Err(errors)
        }
    }

    const RULE: &str = "title: T\nid: x\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName|startswith:\n      - Get\n      - List\n    errorCode: null\n    n: 5\n    q: '5'\n  condition: sel\nlevel: high\ntags:\n  - attack.t1078\n";

    #[test]
    fn parses_values_with_types() {
        let Item::Rule(r) = one(RULE).unwrap() else {
            panic!()
        };
        assert_eq!(r.meta.level, Level::High);
        assert_eq!(r.logsource.service.as_deref(), Some("cloudtrail"));
        let Search::Maps(maps) = &r.detection.searches[0].1 else {
            panic!()
        };
        let tests = &maps[0];
        assert_eq!(tests[0].modifiers, vec![Modifier::StartsWith]);
        assert_eq!(
            tests[0].values,
            vec![SValue::Str("Get".into()), SValue::Str("List".into())]
        );
        assert_eq!(tests[1].values, vec![SValue::Null]);
        assert_eq!(tests[2].values, vec![SValue::Num("5".into())]);
        assert_eq!(tests[3].values, vec![SValue::Str("5".into())]);
        assert_eq!(tests[0].pos.line, 8);
    }

    #[test]
    fn located_errors() {
        let bad = RULE
            .replace("eventName|startswith", "eventName|startswith|bogus")
            .replace("condition: sel", "condition: sel and other");
        let errs = one(&bad).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|e| e.starts_with("r.yml:8:5:") && e.contains("unknown modifier `bogus`")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|e| e.contains("unknown search `other`")),
            "{text:?}"
        );
        let errs = one("title: x\nlogsource: {}\ndetection:\n  sel:\n    a|re: '(unclosed'\n  condition: sel\n").unwrap_err();
        assert!(
            errs[0].to_string().contains("invalid regular expression"),
            "{errs:?}"
        );
        let errs = one(
            "title: x\nlogsource: {}\ndetection:\n  sel:\n    a: 1\n    a: 2\n  condition: sel\n",
        )
        .unwrap_err();
        assert!(errs[0].message.contains("Duplicate key"), "{errs:?}");
        let errs = one("title: x\nlogsource: {}\ndetection:\n  sel: {a: 1}\n").unwrap_err();
        assert!(errs[0].message.contains("missing `condition`"));
    }

    #[test]
    fn placeholder_files() {
        let p = crate::Placeholders::from_yaml(
            "ph.yml",
            "office: 192.0.2.0/24\nadmins:\n  - alice\n  - bob\n",
        )
        .unwrap();
        assert_eq!(p.0["office"], ["192.0.2.0/24"]);
        assert_eq!(p.0["admins"], ["alice", "bob"]);
        let err = crate::Placeholders::from_yaml("ph.yml", "office:\n  a: b\n").unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("ph.yml", 2));
    }

    #[test]
    fn correlation_and_multi_document_positions() {
        let text = format!(
            "{RULE}---\ntitle: many\ncorrelation:\n  type: event_count\n  rules: [x]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition:\n    gte: 5\n"
        );
        let (items, errors) = parse_file("c.yml", &text);
        assert!(errors.is_empty(), "{errors:?}");
        let Item::Correlation(c) = &items[1] else {
            panic!()
        };
        assert_eq!(c.timespan_ms, 600_000);
        assert_eq!(c.condition, vec![Compare::Gte(5.0)]);
        assert_eq!(c.meta.line, 19);
        let bad = text.replace("timespan: 10m", "timespan: ten minutes");
        let (_, errors) = parse_file("c.yml", &bad);
        assert_eq!(errors[0].line, 24, "{errors:?}");
    }
}
