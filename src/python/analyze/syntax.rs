//! Tree-sitter helpers shared by the walk, and the report of syntax errors.

use std::collections::HashSet;

use tree_sitter::Node;

use super::problem;
use crate::python::magics::{LineIndex, Preprocessed};
use crate::python::Problem;

/// Reports syntax errors: automagic lines (`pip install x`) with a specific hint, and
/// otherwise the first `ERROR`/`MISSING` node.
pub(super) fn syntax_problems(root: Node, pre: &Preprocessed, index: &LineIndex, problems: &mut Vec<Problem>) {
    let mut errors = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.is_error() || n.is_missing() {
            errors.push(n);
            if errors.len() >= 1000 {
                break;
            }
            continue;
        }
        if n.has_error() {
            let mut cursor = n.walk();
            let children: Vec<Node> = n.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    let mut covered = HashSet::new();
    for (line, text) in &pre.automagic_candidates {
        if errors.iter().any(|e| e.start_position().row == *line) {
            covered.insert(*line);
            let start = index.line_start(*line);
            problems.push(problem(
                index.span(start, start + text.len()),
                &format!("`{text}` is IPython automagic syntax, not Python"),
                Some(&format!("write `%{text}` (IPython automagic is not supported)")),
            ));
        }
    }
    if let Some(e) = errors.iter().find(|e| !covered.contains(&e.start_position().row)) {
        problems.push(problem(
            index.span(e.start_byte(), e.end_byte()),
            "invalid Python syntax",
            Some("fix the syntax error; the cell must be valid Python (with IPython magics)"),
        ));
    }
}

pub(super) fn named_children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).collect()
}

pub(super) fn first_identifier(n: Node) -> Option<Node> {
    if n.kind() == "identifier" {
        return Some(n);
    }
    named_children(n).into_iter().find_map(first_identifier_shallow)
}

fn first_identifier_shallow(n: Node) -> Option<Node> {
    match n.kind() {
        "identifier" => Some(n),
        "type" | "generic_type" | "as_pattern_target" => {
            named_children(n).into_iter().find(|c| c.kind() == "identifier")
        }
        _ => None,
    }
}

pub(super) fn first_identifier_or_self(n: Node) -> Option<Node> {
    if n.kind() == "identifier" {
        Some(n)
    } else {
        first_identifier(n)
    }
}

/// Identifiers bound by a target pattern (`a, (b, *c)`), not those inside subscripts or
/// attributes.
pub(super) fn pattern_identifiers(n: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        match x.kind() {
            "identifier" => out.push(x),
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "tuple"
            | "list"
            | "parenthesized_expression"
            | "expression_list"
            | "list_splat_pattern"
            | "list_splat"
            | "as_pattern_target" => {
                let mut children = named_children(x);
                children.reverse();
                stack.extend(children);
            }
            _ => {}
        }
    }
    out
}

/// `x` (also `(x)`): the identifier an assignment target is, if it is one.
pub(super) fn plain_identifier(t: Node) -> Option<Node> {
    match t.kind() {
        "identifier" => Some(t),
        "parenthesized_expression" if t.named_child_count() == 1 => t.named_child(0).and_then(plain_identifier),
        _ => None,
    }
}

/// The attribute names of `x.a.b` (through subscripts): `["a", "b"]`.
pub(super) fn attribute_path(n: Node, text: &str) -> Vec<String> {
    let mut path = Vec::new();
    let mut cur = n;
    loop {
        match cur.kind() {
            "attribute" => {
                if let Some(a) = cur.child_by_field_name("attribute") {
                    path.push(text.get(a.byte_range()).unwrap_or("").to_string());
                }
                match cur.child_by_field_name("object") {
                    Some(o) => cur = o,
                    None => break,
                }
            }
            "subscript" => match cur.child_by_field_name("value") {
                Some(v) => cur = v,
                None => break,
            },
            _ => break,
        }
    }
    path.reverse();
    path
}

/// Removes whitespace from a dotted name (`a . b` → `a.b`).
pub(super) fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '\\').collect()
}
