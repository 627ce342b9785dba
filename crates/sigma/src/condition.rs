//! The condition expression language: `sel and not 1 of filter_* or (a and b)`.

use crate::ast::{Cond, Quantity};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Number(usize),
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    All,
    Them,
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>, String> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            c if c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.' => {
                let start = i;
                while i < chars.len() && {
                    let c = chars[i].1;
                    c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.'
                } {
                    i += 1;
                }
                let word: String = chars[start..i].iter().map(|(_, c)| c).collect();
                let tok = match word.as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "all" => Tok::All,
                    "them" => Tok::Them,
                    w if w.chars().all(|c| c.is_ascii_digit()) => {
                        Tok::Number(w.parse().map_err(|_| format!("number `{w}` too large"))?)
                    }
                    _ => Tok::Word(word),
                };
                out.push((tok, at));
                continue;
            }
            other => return Err(format!("unexpected character `{other}` at offset {at}")),
        };
        out.push((tok, at));
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }
    fn where_(&self) -> String {
        match self.toks.get(self.pos) {
            Some((_, at)) => format!("at offset {at}"),
            None => "at the end".into(),
        }
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.next();
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::Or(vec![]))
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.next();
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::And(vec![]))
        } else {
            Cond::And(parts)
        })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.peek() == Some(&Tok::Not) {
            self.next();
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, String> {
        let here = self.where_();
        match self.next() {
            Some(Tok::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    _ => Err(format!("missing `)` {}", self.where_())),
                }
            }
            Some(Tok::Word(w)) => Ok(Cond::Search(w)),
            Some(Tok::All) => self.of(Quantity::All),
            Some(Tok::Number(n)) => {
                if n == 0 {
                    return Err(format!("`0 of` never matches ({here})"));
                }
                self.of(Quantity::AtLeast(n))
            }
            Some(t) => Err(format!("unexpected `{}` {here}", tok_text(&t))),
            None => Err("condition ends where a search name was expected".into()),
        }
    }

    fn of(&mut self, quantity: Quantity) -> Result<Cond, String> {
        if self.next() != Some(Tok::Of) {
            return Err(format!("expected `of` {}", self.where_()));
        }
        match self.next() {
            Some(Tok::Them) => Ok(Cond::Of {
                quantity,
                pattern: None,
            }),
            Some(Tok::Word(w)) => Ok(Cond::Of {
                quantity,
                pattern: Some(w),
            }),
            _ => Err(format!(
                "expected a search name pattern or `them` after `of` {}",
                self.where_()
            )),
        }
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Word(w) => w.clone(),
        Tok::Number(n) => n.to_string(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::And => "and".into(),
        Tok::Or => "or".into(),
        Tok::Not => "not".into(),
        Tok::Of => "of".into(),
        Tok::All => "all".into(),
        Tok::Them => "them".into(),
    }
}

/// Parses a condition expression.
pub fn parse_condition(text: &str) -> Result<Cond, String> {
    if let Some(at) = text.find('|') {
        return Err(format!(
            "`|` aggregations (offset {at}) are Sigma 1 syntax; write a correlation rule instead"
        ));
    }
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let cond = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!(
            "unexpected `{}` {}",
            tok_text(&p.toks[p.pos].0),
            p.where_()
        ));
    }
    Ok(cond)
}

/// Whether a search name matches an `of` pattern (`*` wildcards).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Cond {
        Cond::Search(x.into())
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(
            parse_condition("a or b and not c").unwrap(),
            Cond::Or(vec![
                s("a"),
                Cond::And(vec![s("b"), Cond::Not(Box::new(s("c")))])
            ])
        );
        assert_eq!(
            parse_condition("(a or b) and c").unwrap(),
            Cond::And(vec![Cond::Or(vec![s("a"), s("b")]), s("c")])
        );
        assert_eq!(
            parse_condition("selection and not 1 of filter_main_*").unwrap(),
            Cond::And(vec![
                s("selection"),
                Cond::Not(Box::new(Cond::Of {
                    quantity: Quantity::AtLeast(1),
                    pattern: Some("filter_main_*".into())
                }))
            ])
        );
        assert_eq!(
            parse_condition("all of them").unwrap(),
            Cond::Of {
                quantity: Quantity::All,
                pattern: None
            }
        );
    }

    #[test]
    fn errors_say_where() {
        assert!(parse_condition("a and").unwrap_err().contains("ends"));
        assert!(
            parse_condition("(a or b")
                .unwrap_err()
                .contains("missing `)`")
        );
        assert!(
            parse_condition("selection | count() > 5")
                .unwrap_err()
                .contains("correlation rule")
        );
        assert!(
            parse_condition("a b")
                .unwrap_err()
                .contains("unexpected `b` at offset 2")
        );
    }

    #[test]
    fn name_patterns() {
        assert!(name_matches("filter_*", "filter_main_1"));
        assert!(name_matches("*_x", "a_x"));
        assert!(!name_matches("sel*", "filter"));
    }
}
