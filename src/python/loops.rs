//! The shape of a fan-out cell (a step tagged `for:<list>`): accumulator lists made empty,
//! then one `for` loop over the list, and nothing after it. The pipeline runs the loop's
//! body once per item, in parallel; this module finds the parts, and says where a cell
//! does not have that shape.

use tree_sitter::{Node, Parser};

use super::magics::{self, LineIndex};
use super::{Problem, ProblemSeverity, Span};

/// A fan-out cell, taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopCell {
    /// `name = []` before the loop: the lists each iteration appends to (`name.append(x)`),
    /// which the pipeline collects in item order.
    pub accumulators: Vec<(String, Span)>,
    /// The names the loop's target binds (`item`, or `i, x` in `for i, x in ...`).
    pub target: Vec<String>,
    /// The iterable as written (`configs`).
    pub iterable: String,
    /// The `for` line.
    pub header: Span,
    /// Byte range of the loop's body in the cell.
    pub body: (usize, usize),
    /// Byte ranges of the body's direct statements that are not compound (they run on
    /// every iteration that reaches them, not only on some paths).
    pub simple_statements: Vec<(usize, usize)>,
}

fn problem(span: Span, message: impl Into<String>, hint: &str) -> Problem {
    Problem { severity: ProblemSeverity::Error, span, message: message.into(), hint: Some(hint.to_string()) }
}

const SHAPE: &str = "a `for:` cell holds `name = []` lines for the lists the loop appends to, then one `for` loop over the list, and nothing after it";

/// Takes a fan-out cell apart, or says (at the line) why it is not one.
pub fn loop_cell(source: &str) -> Result<LoopCell, Problem> {
    let pre = magics::preprocess(source);
    let index = LineIndex::new(source);
    let whole = index.span(0, 0);
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .map_err(|_| problem(whole, "the Python grammar could not be loaded", SHAPE))?;
    let tree = parser.parse(&pre.masked, None).ok_or_else(|| problem(whole, "the cell could not be parsed", SHAPE))?;
    let text = pre.masked.as_str();
    let at = |n: Node| index.span(n.start_byte(), n.end_byte());
    let node_text = |n: Node| text[n.start_byte()..n.end_byte()].to_string();
    let root = tree.root_node();
    let mut accumulators = Vec::new();
    let mut found: Option<LoopCell> = None;
    let mut cursor = root.walk();
    for stmt in root.named_children(&mut cursor) {
        if stmt.kind() == "comment" {
            continue;
        }
        if found.is_some() {
            return Err(problem(
                at(stmt),
                "code after the loop of a `for:` cell",
                "the pipeline runs the loop's body once per item: move what comes after the loop to a later step",
            ));
        }
        if let Some(name) = empty_list_assignment(stmt, text) {
            accumulators.push((name, at(stmt)));
            continue;
        }
        if stmt.kind() != "for_statement" {
            return Err(problem(
                at(stmt),
                format!("a `for:` cell can have only `name = []` before its loop: {SHAPE}"),
                "move this line to a step before",
            ));
        }
        if node_text(stmt).starts_with("async") {
            return Err(problem(at(stmt), "`async for` cannot fan out", SHAPE));
        }
        if let Some(alternative) = stmt.child_by_field_name("alternative") {
            return Err(problem(
                at(alternative),
                "the loop of a `for:` cell cannot have an `else:`",
                "move what the `else:` does to a later step",
            ));
        }
        let (Some(left), Some(right), Some(body)) =
            (stmt.child_by_field_name("left"), stmt.child_by_field_name("right"), stmt.child_by_field_name("body"))
        else {
            return Err(problem(at(stmt), "the loop could not be read", SHAPE));
        };
        let mut target = Vec::new();
        names_in(left, text, &mut target);
        if let Some(b) = first_break(body) {
            return Err(problem(
                at(b),
                "`break` in the loop of a `for:` cell: the pipeline runs every item",
                "filter the list in an earlier step instead",
            ));
        }
        let mut simple_statements = Vec::new();
        let mut c = body.walk();
        for s in body.named_children(&mut c) {
            if matches!(s.kind(), "expression_statement" | "pass_statement" | "continue_statement" | "assert_statement")
            {
                simple_statements.push((s.start_byte(), s.end_byte()));
            }
        }
        let header_end = body.start_byte().max(stmt.start_byte());
        found = Some(LoopCell {
            accumulators: Vec::new(),
            target,
            iterable: node_text(right).trim().to_string(),
            header: index.span(stmt.start_byte(), header_end),
            body: (body.start_byte(), body.end_byte()),
            simple_statements,
        });
    }
    let mut cell = found.ok_or_else(|| {
        problem(whole, format!("no `for` loop in a `for:` cell: {SHAPE}"), "write the loop over the list")
    })?;
    cell.accumulators = accumulators;
    Ok(cell)
}

/// `name = []` (or `list()`): the name.
fn empty_list_assignment(stmt: Node, text: &str) -> Option<String> {
    if stmt.kind() != "expression_statement" || stmt.named_child_count() != 1 {
        return None;
    }
    let a = stmt.named_child(0)?;
    if a.kind() != "assignment" {
        return None;
    }
    let (left, right) = (a.child_by_field_name("left")?, a.child_by_field_name("right")?);
    let value = text[right.start_byte()..right.end_byte()].split_whitespace().collect::<String>();
    (left.kind() == "identifier" && (value == "[]" || value == "list()"))
        .then(|| text[left.start_byte()..left.end_byte()].to_string())
}

/// The identifiers a `for` target binds.
fn names_in(node: Node, text: &str, out: &mut Vec<String>) {
    if node.kind() == "identifier" {
        out.push(text[node.start_byte()..node.end_byte()].to_string());
        return;
    }
    if matches!(node.kind(), "attribute" | "subscript") {
        return;
    }
    let mut c = node.walk();
    for child in node.named_children(&mut c) {
        names_in(child, text, out);
    }
}

/// A `break` that ends this loop (not one of a loop, function or class inside it).
fn first_break(node: Node) -> Option<Node> {
    let mut c = node.walk();
    for child in node.named_children(&mut c) {
        match child.kind() {
            "break_statement" => return Some(child),
            "for_statement" | "while_statement" | "function_definition" | "class_definition" | "lambda" => {}
            _ => {
                if let Some(b) = first_break(child) {
                    return Some(b);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_of_a_fan_out_cell() {
        let src = "scores = []\nnames = list()\n# one per item\nfor i, cfg in configs:\n    s = fit(cfg)\n    if s:\n        scores.append(s)\n    for x in cfg:\n        break\n";
        let c = loop_cell(src).unwrap();
        let accs: Vec<&str> = c.accumulators.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(accs, ["scores", "names"]);
        assert_eq!(c.target, ["i", "cfg"]);
        assert_eq!(c.iterable, "configs");
        assert_eq!(c.header.line, 4);
        assert_eq!(c.simple_statements.len(), 1, "`s = fit(cfg)` only");
    }

    #[test]
    fn what_is_not_a_fan_out_cell_is_named_at_its_line() {
        let err = |src: &str| loop_cell(src).unwrap_err();
        let e = err("model = make()\nfor x in xs:\n    pass\n");
        assert_eq!(e.span.line, 1);
        let e = err("for x in xs:\n    pass\nprint('done')\n");
        assert!(e.message.contains("after the loop") && e.span.line == 3, "{e:?}");
        let e = err("for x in xs:\n    if x:\n        break\n");
        assert!(e.message.contains("break") && e.span.line == 3, "{e:?}");
        let e = err("for x in xs:\n    pass\nelse:\n    print(1)\n");
        assert!(e.message.contains("else"), "{e:?}");
        assert!(err("x = 1\n").message.contains("only `name = []`"));
        assert!(err("acc = []\n").message.contains("no `for` loop"));
    }
}
