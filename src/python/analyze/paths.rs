//! What every path through a module-level statement binds: `if`/`else` whose branches
//! all assign a name, a `try` whose handlers assign it too, a `match` with a catch-all
//! case. A branch that raises counts as binding everything (no path continues from it).

use std::collections::HashSet;

use tree_sitter::Node;

use super::normalize;
use super::syntax::{named_children, pattern_identifiers, squash};

/// How a statement or block ends: normally with these names bound, or never (`raise`).
#[derive(Debug, Clone, PartialEq)]
enum Flow {
    Bound(HashSet<String>),
    Diverges,
}

impl Flow {
    fn empty() -> Self {
        Flow::Bound(HashSet::new())
    }

    /// Both paths are possible: what both bind.
    fn meet(self, other: Flow) -> Flow {
        match (self, other) {
            (Flow::Diverges, f) | (f, Flow::Diverges) => f,
            (Flow::Bound(a), Flow::Bound(b)) => Flow::Bound(a.intersection(&b).cloned().collect()),
        }
    }

    /// One after the other: what either binds.
    fn then(self, other: Flow) -> Flow {
        match (self, other) {
            (Flow::Diverges, _) | (_, Flow::Diverges) => Flow::Diverges,
            (Flow::Bound(mut a), Flow::Bound(b)) => {
                a.extend(b);
                Flow::Bound(a)
            }
        }
    }
}

/// Names bound on every path through `stmt` that continues after it.
pub(super) fn bound_on_every_path(stmt: Node, text: &str) -> HashSet<String> {
    match statement(stmt, text, 0) {
        Flow::Bound(names) => names,
        Flow::Diverges => HashSet::new(),
    }
}

/// Deeper statements than this are treated as binding nothing.
const MAX_DEPTH: usize = 200;

fn name(n: Node, text: &str) -> String {
    normalize(text.get(n.byte_range()).unwrap_or("")).into_owned()
}

fn block(b: Node, text: &str, depth: usize) -> Flow {
    let mut flow = Flow::empty();
    for s in named_children(b) {
        if s.kind() == "delete_statement" {
            if let Flow::Bound(names) = &mut flow {
                for target in named_children(s) {
                    for id in pattern_identifiers(target) {
                        names.remove(&name(id, text));
                    }
                }
            }
            continue;
        }
        flow = flow.then(statement(s, text, depth + 1));
    }
    flow
}

fn field_block(n: Node, field: &str, text: &str, depth: usize) -> Flow {
    n.child_by_field_name(field).map_or_else(Flow::empty, |b| block(b, text, depth))
}

fn statement(n: Node, text: &str, depth: usize) -> Flow {
    if depth > MAX_DEPTH {
        return Flow::empty();
    }
    let mut bound = HashSet::new();
    match n.kind() {
        "expression_statement" => {
            for c in named_children(n) {
                let mut cur = c;
                while matches!(cur.kind(), "assignment" | "augmented_assignment") {
                    if let Some(left) = cur.child_by_field_name("left") {
                        for id in pattern_identifiers(left) {
                            bound.insert(name(id, text));
                        }
                    }
                    match cur.child_by_field_name("right") {
                        Some(r) => cur = r,
                        None => break,
                    }
                }
            }
        }
        "function_definition" | "class_definition" => {
            if let Some(id) = n.child_by_field_name("name") {
                bound.insert(name(id, text));
            }
        }
        "decorated_definition" => {
            if let Some(def) = n.child_by_field_name("definition") {
                return statement(def, text, depth + 1);
            }
        }
        "import_statement" | "import_from_statement" => {
            let mut cursor = n.walk();
            for nm in n.children_by_field_name("name", &mut cursor) {
                let b = match nm.kind() {
                    "aliased_import" => nm.child_by_field_name("alias").map(|a| name(a, text)),
                    _ if n.kind() == "import_statement" => {
                        Some(squash(&name(nm, text)).split('.').next().unwrap_or("").to_string())
                    }
                    _ => Some(squash(&name(nm, text))),
                };
                bound.extend(b);
            }
        }
        "raise_statement" => return Flow::Diverges,
        "if_statement" => {
            let mut flow = field_block(n, "consequence", text, depth);
            let mut has_else = false;
            let mut cursor = n.walk();
            for alt in n.children_by_field_name("alternative", &mut cursor) {
                if alt.kind() == "elif_clause" {
                    flow = flow.meet(field_block(alt, "consequence", text, depth));
                } else {
                    has_else = true;
                    flow = flow.meet(field_block(alt, "body", text, depth));
                }
            }
            return if has_else { flow } else { flow.meet(Flow::empty()) };
        }
        "try_statement" => {
            let mut normal = field_block(n, "body", text, depth);
            let mut handlers: Option<Flow> = None;
            let mut finally = Flow::empty();
            for c in named_children(n) {
                match c.kind() {
                    "except_clause" | "except_group_clause" => {
                        let body = named_children(c).into_iter().find(|b| b.kind() == "block");
                        let h = body.map_or_else(Flow::empty, |b| block(b, text, depth));
                        handlers = Some(match handlers {
                            None => h,
                            Some(f) => f.meet(h),
                        });
                    }
                    "else_clause" => normal = normal.then(field_block(c, "body", text, depth)),
                    "finally_clause" => {
                        for b in named_children(c) {
                            finally = finally.then(block(b, text, depth));
                        }
                    }
                    _ => {}
                }
            }
            let caught = match handlers {
                Some(h) => normal.meet(h),
                None => normal,
            };
            return caught.then(finally);
        }
        "match_statement" => {
            let Some(body) = n.child_by_field_name("body") else {
                return Flow::empty();
            };
            let mut flow: Option<Flow> = None;
            let mut irrefutable = false;
            for case in named_children(body).into_iter().filter(|c| c.kind() == "case_clause") {
                let guard = case.child_by_field_name("guard").is_some();
                let patterns: Vec<Node> =
                    named_children(case).into_iter().filter(|c| c.kind() == "case_pattern").collect();
                if !guard && patterns.len() == 1 && catches_all(patterns[0], text) {
                    irrefutable = true;
                }
                let f = field_block(case, "consequence", text, depth);
                flow = Some(match flow {
                    None => f,
                    Some(g) => g.meet(f),
                });
            }
            let flow = flow.unwrap_or_else(Flow::empty);
            return if irrefutable { flow } else { flow.meet(Flow::empty()) };
        }
        "with_statement" => return field_block(n, "body", text, depth),
        _ => {}
    }
    Flow::Bound(bound)
}

/// `case _:` or `case x:` (a capture): matches anything.
fn catches_all(pattern: Node, text: &str) -> bool {
    let inner = named_children(pattern);
    match inner.as_slice() {
        [] => text.get(pattern.byte_range()).is_some_and(|t| t.trim() == "_"),
        [one] => matches!(one.kind(), "identifier") || (one.kind() == "dotted_name" && named_children(*one).len() == 1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tree_sitter::Parser;

    fn bound(src: &str) -> Vec<String> {
        let mut parser = Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into()).unwrap();
        let tree = parser.parse(src, None).unwrap();
        let stmt = tree.root_node().named_child(0).unwrap();
        let mut names: Vec<String> = bound_on_every_path(stmt, src).into_iter().collect();
        names.sort();
        names
    }

    #[test]
    fn branches() {
        assert_eq!(bound("if c:\n    x = 1\nelse:\n    x = 2\n"), ["x"]);
        assert_eq!(bound("if c:\n    x = 1\n"), Vec::<String>::new());
        assert_eq!(bound("if c:\n    x = 1\nelif d:\n    x = 2\nelse:\n    x, y = 3, 4\n"), ["x"]);
        assert_eq!(bound("if c:\n    x = 1\nelif d:\n    y = 2\nelse:\n    x = 3\n"), Vec::<String>::new());
        assert_eq!(bound("if c:\n    def f(): pass\nelse:\n    def f(): return 1\n"), ["f"]);
        assert_eq!(bound("if c:\n    x = 1\nelse:\n    raise ValueError()\n"), ["x"]);
        assert_eq!(bound("if c:\n    if d:\n        x = 1\n    else:\n        x = 2\nelse:\n    x = 3\n"), ["x"]);
        assert_eq!(bound("if c:\n    x = 1\n    del x\nelse:\n    x = 2\n"), Vec::<String>::new());
    }

    #[test]
    fn try_statements() {
        assert_eq!(bound("try:\n    x = f()\nexcept ValueError:\n    x = None\n"), ["x"]);
        assert_eq!(bound("try:\n    x = f()\nexcept ValueError:\n    pass\n"), Vec::<String>::new());
        assert_eq!(
            bound("try:\n    from StringIO import StringIO\nexcept ImportError:\n    from io import StringIO\n"),
            ["StringIO"]
        );
        assert_eq!(bound("try:\n    x = f()\nexcept Exception:\n    raise\n"), ["x"]);
        assert_eq!(bound("try:\n    pass\nexcept E:\n    pass\nelse:\n    y = 1\nfinally:\n    z = 2\n"), ["z"]);
    }

    #[test]
    fn match_and_loops() {
        assert_eq!(bound("match v:\n    case 1:\n        x = 1\n    case _:\n        x = 2\n"), ["x"]);
        assert_eq!(bound("match v:\n    case 1:\n        x = 1\n    case 2:\n        x = 2\n"), Vec::<String>::new());
        assert_eq!(bound("for i in r:\n    x = i\n"), Vec::<String>::new());
        assert_eq!(bound("with open(p) as f:\n    x = 1\n"), ["x"]);
    }
}
