//! Loading YAML with positions, one document at a time.

use crate::error::{Pos, RuleError};
use marked_yaml::loader::{LoaderOptions, parse_yaml_with_options};
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, Node};

pub fn pos_of(node: &Node) -> Pos {
    node.span().start().map_or_else(Pos::default, |m| Pos {
        line: m.line(),
        column: m.column(),
    })
}

pub fn scalar_pos(node: &MarkedScalarNode) -> Pos {
    node.span().start().map_or_else(Pos::default, |m| Pos {
        line: m.line(),
        column: m.column(),
    })
}

/// A document of a multi-document file, with the line its text starts on.
pub struct Doc {
    pub root: MarkedMappingNode,
    pub first_line: usize,
}

/// Splits on `---` lines and loads each non-empty document. Positions are file lines.
pub fn load_documents(file: &str, text: &str) -> Result<Vec<Doc>, RuleError> {
    let mut docs = Vec::new();
    let mut chunk = String::new();
    let mut chunk_start = 1;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let is_sep = line.trim_end() == "---" || line.starts_with("--- ");
        if is_sep {
            push_doc(file, &chunk, chunk_start, &mut docs)?;
            chunk.clear();
            chunk_start = i + 2;
            // Pad so positions inside the document stay file positions.
            chunk.push_str(&"\n".repeat(i + 1));
        } else {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    push_doc(file, &chunk, chunk_start, &mut docs)?;
    Ok(docs)
}

fn push_doc(
    file: &str,
    text: &str,
    first_line: usize,
    docs: &mut Vec<Doc>,
) -> Result<(), RuleError> {
    let meaningful = text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    if !meaningful {
        return Ok(());
    }
    let opts = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    match parse_yaml_with_options(0, text, opts) {
        Ok(node) => match node {
            Node::Mapping(root) => {
                docs.push(Doc { root, first_line });
                Ok(())
            }
            other => Err(pos_of(&other).error(file, "a Sigma document must be a YAML mapping")),
        },
        Err(e) => {
            let msg = e.to_string();
            // marked-yaml prints positions as `line L column C`; take them when present.
            let (line, column) = parse_marker(&msg).unwrap_or((first_line, 0));
            Err(RuleError {
                file: file.to_string(),
                line,
                column,
                message: format!("invalid YAML: {msg}"),
            })
        }
    }
}

fn parse_marker(msg: &str) -> Option<(usize, usize)> {
    let l = msg.find("line ")? + 5;
    let line: usize = msg[l..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let column = msg
        .find("column ")
        .and_then(|c| {
            msg[c + 7..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    Some((line, column))
}
