//! Statements: blocks, compound statements (`if`, `for`, `while`, `try`, `with`,
//! `match`), assignments and their targets, `del`, and imports.

use tree_sitter::Node;

use super::scope::Resolved;
use super::syntax::{attribute_path, first_identifier, named_children, pattern_identifiers, plain_identifier, squash};
use super::{problem, Analyzer};
use crate::python::{BindKind, Effect, ImportedModule, Span};

// ----- blocks and compound statements ------------------------------------------

impl Analyzer<'_> {
    pub(super) fn visit_block(&mut self, block: Node) {
        if !self.enter() {
            return;
        }
        let mut cursor = block.walk();
        let children: Vec<Node> = block.named_children(&mut cursor).collect();
        for stmt in children {
            self.visit_stmt(stmt);
        }
        self.leave();
    }

    fn visit_stmt(&mut self, n: Node) {
        if !self.enter() {
            return;
        }
        // A module-level `if`/`try`/`match`: which names every path through it binds.
        let outermost = self.at_module()
            && self.conditional == 0
            && matches!(n.kind(), "if_statement" | "try_statement" | "match_statement");
        let saved =
            outermost.then(|| std::mem::replace(&mut self.exhaustive, super::paths::bound_on_every_path(n, self.text)));
        self.visit_stmt_kind(n);
        if let Some(s) = saved {
            self.exhaustive = s;
        }
        self.leave();
    }

    fn visit_stmt_kind(&mut self, n: Node) {
        match n.kind() {
            "expression_statement" => {
                for c in named_children(n) {
                    match c.kind() {
                        "assignment" => self.visit_assignment(c),
                        "augmented_assignment" => self.visit_augmented(c),
                        _ => self.visit_expr(c),
                    }
                }
            }
            "if_statement" => self.visit_if(n),
            "for_statement" => {
                self.visit_field(n, "right");
                self.conditional += 1;
                if let Some(t) = n.child_by_field_name("left") {
                    if let (true, Some(right)) = (self.at_module(), n.child_by_field_name("right")) {
                        let source = self.iteration_source(right);
                        self.plan_target(t, &source);
                    }
                    self.bind_target(t);
                    self.bind_extras.clear();
                }
                self.visit_field_block(n, "body");
                if let Some(alt) = n.child_by_field_name("alternative") {
                    self.visit_field_block(alt, "body");
                }
                self.conditional -= 1;
            }
            "while_statement" => {
                self.visit_field(n, "condition");
                self.conditional += 1;
                self.visit_field_block(n, "body");
                if let Some(alt) = n.child_by_field_name("alternative") {
                    self.visit_field_block(alt, "body");
                }
                self.conditional -= 1;
            }
            "try_statement" => self.visit_try(n),
            "with_statement" => self.visit_with(n),
            "function_definition" => self.visit_function(n, n),
            "class_definition" => self.visit_class(n, n),
            "decorated_definition" => {
                for c in named_children(n) {
                    if c.kind() == "decorator" {
                        for e in named_children(c) {
                            self.visit_expr(e);
                        }
                    }
                }
                if let Some(def) = n.child_by_field_name("definition") {
                    match def.kind() {
                        "function_definition" => self.visit_function(def, n),
                        "class_definition" => self.visit_class(def, n),
                        _ => {}
                    }
                }
            }
            "import_statement" => self.visit_import(n),
            "import_from_statement" => self.visit_import_from(n),
            "future_import_statement" | "global_statement" | "nonlocal_statement" | "comment" | "ERROR" => {}
            "delete_statement" => {
                for c in named_children(n) {
                    self.delete_target(c);
                }
            }
            "pass_statement" => self.shell_reads(n),
            "match_statement" => self.visit_match(n),
            "type_alias_statement" => {
                if let Some(name) = n.child_by_field_name("left").and_then(first_identifier) {
                    self.bind(self.text_of(name), self.span(name), BindKind::Value);
                }
            }
            "print_statement" | "exec_statement" => {
                let what = if n.kind() == "print_statement" { "print" } else { "exec" };
                self.problems.push(problem(
                    self.span(n),
                    &format!("Python 2 syntax: `{what}` statement"),
                    Some(&format!("use the Python 3 function: `{what}(...)`")),
                ));
                for c in named_children(n) {
                    self.visit_expr(c);
                }
            }
            "block" => self.visit_block(n),
            _ => {
                for c in named_children(n) {
                    self.visit_expr(c);
                }
            }
        }
    }

    pub(super) fn visit_field(&mut self, n: Node, field: &str) {
        if let Some(c) = n.child_by_field_name(field) {
            self.visit_expr(c);
        }
    }

    pub(super) fn visit_field_block(&mut self, n: Node, field: &str) {
        if let Some(c) = n.child_by_field_name(field) {
            self.visit_block(c);
        }
    }

    fn visit_if(&mut self, n: Node) {
        // `if 1: stmt` stands for `%time stmt`, which always runs.
        if self.pre.time_wrappers.contains(&n.start_byte()) {
            self.visit_field_block(n, "consequence");
            return;
        }
        self.visit_field(n, "condition");
        self.conditional += 1;
        self.visit_field_block(n, "consequence");
        let mut cursor = n.walk();
        let alts: Vec<Node> = n.children_by_field_name("alternative", &mut cursor).collect();
        for alt in alts {
            if alt.kind() == "elif_clause" {
                self.visit_field(alt, "condition");
                self.visit_field_block(alt, "consequence");
            } else {
                self.visit_field_block(alt, "body");
            }
        }
        self.conditional -= 1;
    }

    fn visit_try(&mut self, n: Node) {
        let guard = named_children(n).into_iter().any(|c| c.kind() == "except_clause" && self.catches_name_error(c));
        let optional = named_children(n)
            .into_iter()
            .any(|c| c.kind() == "except_clause" && self.catches(c, &["ImportError", "ModuleNotFoundError"]));
        self.conditional += 1;
        if guard {
            self.soft_guard += 1;
        }
        if optional {
            self.optional_imports += 1;
        }
        self.visit_field_block(n, "body");
        if optional {
            self.optional_imports -= 1;
        }
        if guard {
            self.soft_guard -= 1;
        }
        for c in named_children(n) {
            match c.kind() {
                "except_clause" => self.visit_except(c),
                "else_clause" => self.visit_field_block(c, "body"),
                "finally_clause" => {
                    for b in named_children(c) {
                        self.visit_block(b);
                    }
                }
                _ => {}
            }
        }
        self.conditional -= 1;
    }

    /// Whether an `except` clause catches `NameError` (bare, `Exception`, ...).
    fn catches_name_error(&self, clause: Node) -> bool {
        self.catches(clause, &["NameError"])
    }

    /// Whether an `except` clause catches one of these exceptions (or is bare, or
    /// catches `Exception` or `BaseException`).
    fn catches(&self, clause: Node, exceptions: &[&str]) -> bool {
        let Some(value) = clause.child_by_field_name("value") else {
            return true;
        };
        let caught = if value.kind() == "as_pattern" { value.named_child(0).unwrap_or(value) } else { value };
        let mut stack = vec![caught];
        while let Some(x) = stack.pop() {
            if x.kind() == "identifier" {
                let name = self.text_of(x);
                if exceptions.contains(&name) || matches!(name, "Exception" | "BaseException") {
                    return true;
                }
            }
            stack.extend(named_children(x));
        }
        false
    }

    fn visit_except(&mut self, clause: Node) {
        let mut alias = None;
        for c in named_children(clause) {
            if c.kind() == "block" {
                continue;
            }
            if c.kind() == "as_pattern" {
                if let Some(e) = c.named_child(0) {
                    self.visit_expr(e);
                }
                alias = c.child_by_field_name("alias").and_then(first_identifier);
            } else {
                self.visit_expr(c);
            }
        }
        if let Some(a) = alias {
            self.bind(self.text_of(a), self.span(a), BindKind::Value);
        }
        for c in named_children(clause) {
            if c.kind() == "block" {
                self.visit_block(c);
            }
        }
        // Python deletes the name at the end of the handler.
        if let Some(a) = alias {
            self.delete(self.text_of(a), self.span(a));
        }
    }

    fn visit_with(&mut self, n: Node) {
        for clause in named_children(n) {
            if clause.kind() != "with_clause" {
                continue;
            }
            for item in named_children(clause) {
                let Some(value) = item.child_by_field_name("value") else {
                    continue;
                };
                if value.kind() == "as_pattern" {
                    let expr = value.named_child(0);
                    if let Some(e) = expr {
                        self.visit_expr(e);
                    }
                    if let Some(t) = value.child_by_field_name("alias") {
                        let id = pattern_identifiers(t);
                        if let (true, Some(e), [id]) = (self.at_module(), expr, id.as_slice()) {
                            if let Some(h) = self.value_hint(e, true) {
                                self.bind_extras.entry(id.start_byte()).or_default().value = Some((h, self.span(e)));
                            }
                        }
                        self.bind_target(t);
                        self.bind_extras.clear();
                    }
                } else {
                    self.visit_expr(value);
                }
            }
        }
        self.visit_field_block(n, "body");
    }
}

/// Functions that make a class when called: `collections.namedtuple`, `typing.NamedTuple`,
/// `dataclasses.make_dataclass`, `enum.Enum` and its kin (the functional API), `type` with
/// three arguments, attrs' `make_class`, pydantic's `create_model`.
const CLASS_FACTORIES: &[&str] = &[
    "Enum",
    "Flag",
    "IntEnum",
    "IntFlag",
    "NamedTuple",
    "StrEnum",
    "create_model",
    "make_class",
    "make_dataclass",
    "namedtuple",
];

/// Whether `value` is a call that makes a class.
fn makes_class(value: Node, text: &str) -> bool {
    if value.kind() != "call" {
        return false;
    }
    let Some(func) = value.child_by_field_name("function") else {
        return false;
    };
    let name = match func.kind() {
        "identifier" => text.get(func.byte_range()),
        "attribute" => func.child_by_field_name("attribute").and_then(|a| text.get(a.byte_range())),
        _ => None,
    };
    let args = value
        .child_by_field_name("arguments")
        .map(|a| named_children(a).into_iter().filter(|c| c.kind() != "comment").count());
    match name {
        Some("type") => args == Some(3),
        Some(n) => CLASS_FACTORIES.contains(&n) && args.is_some_and(|a| a >= 1),
        None => false,
    }
}

// ----- assignments, their targets, `del` -----------------------------------------

impl Analyzer<'_> {
    fn visit_assignment(&mut self, n: Node) {
        // `a = b = value`: the value first, then the targets left to right.
        let mut targets = Vec::new();
        let mut cur = n;
        let mut value = None;
        loop {
            if let Some(annotation) = cur.child_by_field_name("type") {
                // Annotations of module and class variables are evaluated; of locals not.
                if !self.deferred() {
                    self.visit_expr(annotation);
                }
            }
            if let Some(left) = cur.child_by_field_name("left") {
                targets.push(left);
            }
            match cur.child_by_field_name("right") {
                Some(r) if r.kind() == "assignment" => cur = r,
                Some(r) => {
                    value = Some(r);
                    break;
                }
                None => break,
            }
        }
        let Some(value) = value else { return }; // `x: int` binds nothing
        if value.kind() == "augmented_assignment" {
            self.visit_augmented(value);
        } else {
            self.visit_expr(value);
            if self.at_module() {
                let source = self.alias_source(value);
                let hint = self.value_hint(value, false);
                for t in &targets {
                    self.plan_target(*t, &source);
                    if let (Some(h), Some(id)) = (&hint, plain_identifier(*t)) {
                        self.bind_extras.entry(id.start_byte()).or_default().value =
                            Some((h.clone(), self.span(value)));
                    }
                }
            }
        }
        // `Point = namedtuple("Point", "x y")` makes a class, as a `class` statement does:
        // it is code that travels with the instances of the class.
        if let ([t], true) = (targets.as_slice(), self.at_module()) {
            if let (Some(id), Some(stmt)) = (plain_identifier(*t), n.parent()) {
                if makes_class(value, self.text) && stmt.kind() == "expression_statement" {
                    let name = self.text_of(id).to_string();
                    let index = self.start_definition(&name, crate::python::DefinitionKind::Class, stmt);
                    self.bind(&name, self.span(id), BindKind::Definition(index));
                    self.bind_extras.clear();
                    return;
                }
            }
        }
        for t in targets {
            self.bind_target(t);
        }
        self.bind_extras.clear();
    }

    fn visit_augmented(&mut self, n: Node) {
        let Some(left) = n.child_by_field_name("left") else {
            return;
        };
        if left.kind() == "identifier" {
            self.read(left);
            self.visit_field(n, "right");
            let name = self.text_of(left);
            // `lst += [1]` on a parameter changes the caller's list in place.
            if let Resolved::Local(i) = self.resolve(name) {
                self.note_param_mutation(i, name);
            }
            self.bind(name, self.span(left), BindKind::Value);
        } else {
            let root = self.visit_target_chain(left);
            self.visit_field(n, "right");
            if let Some(r) = root {
                self.mutate(r, attribute_path(left, self.text));
            }
        }
    }

    /// Binds an assignment target (`x`, `a, b`, `[*rest]`, `x[k]`, `x.a`).
    fn bind_target(&mut self, t: Node) {
        if !self.enter() {
            return;
        }
        match t.kind() {
            "identifier" => {
                self.bind(self.text_of(t), self.span(t), BindKind::Value);
                self.after_bind(t);
            }
            "subscript" | "attribute" => {
                if let Some(root) = self.visit_target_chain(t) {
                    self.mutate(root, attribute_path(t, self.text));
                }
            }
            _ => {
                for c in named_children(t) {
                    self.bind_target(c);
                }
            }
        }
        self.leave();
    }

    /// Reads the root name and the subscripts of an attribute/subscript chain
    /// (`x.a[k].b`); returns the root identifier if the chain starts at a name.
    pub(super) fn visit_target_chain<'t>(&mut self, t: Node<'t>) -> Option<Node<'t>> {
        let mut subscripts = Vec::new();
        let mut cur = t;
        loop {
            match cur.kind() {
                "attribute" => cur = cur.child_by_field_name("object")?,
                "subscript" => {
                    let mut cursor = cur.walk();
                    subscripts.extend(cur.children_by_field_name("subscript", &mut cursor));
                    cur = cur.child_by_field_name("value")?;
                }
                _ => break,
            }
        }
        let root = if cur.kind() == "identifier" {
            self.read(cur);
            Some(cur)
        } else {
            self.visit_expr(cur);
            None
        };
        for s in subscripts.into_iter().rev() {
            self.visit_expr(s);
        }
        root
    }

    fn delete_target(&mut self, t: Node) {
        if !self.enter() {
            return;
        }
        match t.kind() {
            "identifier" => self.delete(self.text_of(t), self.span(t)),
            "subscript" | "attribute" => {
                if let Some(root) = self.visit_target_chain(t) {
                    self.mutate(root, attribute_path(t, self.text));
                }
            }
            _ => {
                for c in named_children(t) {
                    self.delete_target(c);
                }
            }
        }
        self.leave();
    }
}

// ----- imports -------------------------------------------------------------------

impl Analyzer<'_> {
    fn visit_import(&mut self, n: Node) {
        let mut cursor = n.walk();
        let names: Vec<Node> = n.children_by_field_name("name", &mut cursor).collect();
        for name in names {
            let (dotted, alias) = match name.kind() {
                "aliased_import" => (name.child_by_field_name("name"), name.child_by_field_name("alias")),
                _ => (Some(name), None),
            };
            let Some(dotted) = dotted else { continue };
            let module = squash(self.text_of(dotted));
            self.note_import(&module, self.span(n));
            let (bound, bound_span, statement) = match alias {
                Some(a) => {
                    (self.text_of(a).to_string(), self.span(a), format!("import {module} as {}", self.text_of(a)))
                }
                None => {
                    let first = module.split('.').next().unwrap_or("").to_string();
                    (first, self.span(dotted), format!("import {module}"))
                }
            };
            self.bind(&bound, bound_span, BindKind::Import { module, attribute: None, statement });
        }
    }

    fn visit_import_from(&mut self, n: Node) {
        let Some(module_node) = n.child_by_field_name("module_name") else {
            return;
        };
        let module = squash(self.text_of(module_node));
        self.note_import(&module, self.span(n));
        if named_children(n).iter().any(|c| c.kind() == "wildcard_import") {
            if self.scopes.len() == 1 {
                self.emit(Effect::StarImport { module, span: self.span(n) });
            }
            return;
        }
        let mut cursor = n.walk();
        let names: Vec<Node> = n.children_by_field_name("name", &mut cursor).collect();
        for name in names {
            let (attr, alias) = match name.kind() {
                "aliased_import" => (name.child_by_field_name("name"), name.child_by_field_name("alias")),
                _ => (Some(name), None),
            };
            let Some(attr) = attr else { continue };
            let attribute = squash(self.text_of(attr));
            let bound_name = alias.map_or(attribute.as_str(), |a| self.text_of(a));
            self.from_imports.insert(bound_name.to_string(), module.clone());
            let (bound, span, statement) = match alias {
                Some(a) => {
                    let b = self.text_of(a).to_string();
                    (b.clone(), self.span(a), format!("from {module} import {attribute} as {b}"))
                }
                None => (attribute.clone(), self.span(attr), format!("from {module} import {attribute}")),
            };
            self.bind(&bound, span, BindKind::Import { module: module.clone(), attribute: Some(attribute), statement });
        }
    }

    /// Records an imported module; an import outside a `try ... except ImportError`
    /// makes the module required.
    fn note_import(&mut self, module: &str, span: Span) {
        let optional = self.optional_imports > 0;
        match self.imported.iter_mut().find(|m| m.module == module) {
            Some(m) => m.optional &= optional,
            None => self.imported.push(ImportedModule { module: module.to_string(), span, optional }),
        }
    }
}

// ----- `match` and its patterns ---------------------------------------------------

impl Analyzer<'_> {
    fn visit_match(&mut self, n: Node) {
        let mut cursor = n.walk();
        let subjects: Vec<Node> = n.children_by_field_name("subject", &mut cursor).collect();
        for s in subjects {
            self.visit_expr(s);
        }
        let Some(body) = n.child_by_field_name("body") else {
            return;
        };
        self.conditional += 1;
        for case in named_children(body) {
            if case.kind() != "case_clause" {
                continue;
            }
            for c in named_children(case) {
                if c.kind() == "case_pattern" {
                    self.visit_pattern(c);
                }
            }
            self.visit_field(case, "guard");
            self.visit_field_block(case, "consequence");
        }
        self.conditional -= 1;
    }

    /// A `case` pattern: captures bind, value and class patterns read.
    fn visit_pattern(&mut self, p: Node) {
        if !self.enter() {
            return;
        }
        match p.kind() {
            "dotted_name" => {
                let ids = named_children(p);
                let parent_kind = p.parent().map(|x| x.kind()).unwrap_or("");
                if ids.len() == 1 && parent_kind != "class_pattern" && parent_kind != "dict_pattern" {
                    let name = self.text_of(ids[0]);
                    if name != "_" {
                        self.bind(name, self.span(ids[0]), BindKind::Value);
                    }
                } else if let Some(root) = ids.first() {
                    self.read(*root);
                }
            }
            "splat_pattern" => {
                if let Some(id) = first_identifier(p) {
                    if self.text_of(id) != "_" {
                        self.bind(self.text_of(id), self.span(id), BindKind::Value);
                    }
                }
            }
            "as_pattern" => {
                let children = named_children(p);
                for (i, c) in children.iter().enumerate() {
                    if i + 1 == children.len() && c.kind() == "identifier" {
                        self.bind(self.text_of(*c), self.span(*c), BindKind::Value);
                    } else {
                        self.visit_pattern(*c);
                    }
                }
            }
            "keyword_pattern" => {
                for (i, c) in named_children(p).into_iter().enumerate() {
                    if i > 0 || c.kind() != "identifier" {
                        self.visit_pattern(c);
                    }
                }
            }
            "identifier" => {
                // A bare identifier in a pattern position is a capture.
                if self.text_of(p) != "_" {
                    self.bind(self.text_of(p), self.span(p), BindKind::Value);
                }
            }
            _ => {
                for c in named_children(p) {
                    self.visit_pattern(c);
                }
            }
        }
        self.leave();
    }
}
