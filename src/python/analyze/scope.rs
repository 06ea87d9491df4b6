//! The scope model: the kinds of scope Python has, the scope stack of the walk, how a
//! name resolves from it, and where a binding, deletion or read of a name ends up.

use std::collections::HashSet;

use tree_sitter::Node;

use super::syntax::{first_identifier, named_children, pattern_identifiers, squash};
use super::{normalize, Analyzer};
use crate::python::{BindKind, Effect, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScopeKind {
    Module,
    Class,
    Function,
    Lambda,
    Comprehension,
    /// PEP 695 type parameters (`def f[T]`, `class C[T]`).
    Type,
}

pub(super) struct Scope {
    pub(super) kind: ScopeKind,
    /// Names local to the scope. Functions, lambdas and comprehensions collect them
    /// before their body is walked; a class body adds them as it binds them.
    pub(super) locals: HashSet<String>,
    /// Names declared `global` (functions only).
    pub(super) globals: HashSet<String>,
    /// Parameters in order (functions only).
    pub(super) params: Vec<String>,
    /// Parameters mutated in place by the body.
    pub(super) mutated: Vec<(usize, String)>,
}

impl Scope {
    pub(super) fn new(kind: ScopeKind) -> Self {
        Scope { kind, locals: HashSet::new(), globals: HashSet::new(), params: Vec::new(), mutated: Vec::new() }
    }
}

/// Where a name resolves from the current scope.
pub(super) enum Resolved {
    /// A module-level name (of this or another cell).
    Module,
    /// A local of the scope at this index of the scope stack.
    Local(usize),
}

impl Analyzer<'_> {
    /// Whether the current scope is the module (so a `def` here is a [`Definition`](crate::python::Definition)).
    pub(super) fn at_module(&self) -> bool {
        self.scopes.len() == 1
    }

    /// Resolves a name from the innermost scope outwards. Class scopes are only seen
    /// from their own body.
    pub(super) fn resolve(&self, name: &str) -> Resolved {
        let name = &*normalize(name);
        let innermost = self.scopes.len() - 1;
        for (i, s) in self.scopes.iter().enumerate().rev() {
            match s.kind {
                ScopeKind::Module => return Resolved::Module,
                ScopeKind::Class => {
                    if i == innermost && s.locals.contains(name) {
                        return Resolved::Local(i);
                    }
                }
                ScopeKind::Function | ScopeKind::Lambda => {
                    if s.globals.contains(name) {
                        return Resolved::Module;
                    }
                    if s.locals.contains(name) {
                        return Resolved::Local(i);
                    }
                }
                ScopeKind::Comprehension | ScopeKind::Type => {
                    if s.locals.contains(name) {
                        return Resolved::Local(i);
                    }
                }
            }
        }
        Resolved::Module
    }

    pub(super) fn read_name(&mut self, name: &str, span: Span, force_soft: bool) {
        if let Resolved::Module = self.resolve(name) {
            let soft = force_soft || self.soft_guard > 0 || self.deferred();
            let conditional = !soft && self.conditional > 0;
            self.emit(Effect::Read { name: name.to_string(), span, soft, conditional });
        }
    }

    pub(super) fn read(&mut self, n: Node) {
        let name = self.text_of(n);
        self.read_name(name, self.span(n), false);
    }

    pub(super) fn note_param_mutation(&mut self, scope: usize, name: &str) {
        let name = &*normalize(name);
        let s = &mut self.scopes[scope];
        if s.kind == ScopeKind::Function {
            if let Some(pos) = s.params.iter().position(|p| p == name) {
                if !s.mutated.iter().any(|(_, p)| p == name) {
                    s.mutated.push((pos, name.to_string()));
                }
            }
        }
    }

    /// Binds `name` in scope `i` of the stack.
    pub(super) fn bind_in(&mut self, i: usize, name: &str, span: Span, kind: BindKind, extra_conditional: bool) {
        match self.scopes[i].kind {
            ScopeKind::Module => {
                let conditional = self.conditional > 0 || extra_conditional;
                let exhaustive = conditional && !extra_conditional && self.exhaustive.contains(&*normalize(name));
                self.emit(Effect::Bind { name: name.to_string(), span, kind, conditional, exhaustive });
            }
            ScopeKind::Class => {
                self.scopes[i].locals.insert(normalize(name).into_owned());
            }
            ScopeKind::Function | ScopeKind::Lambda => {
                if self.scopes[i].globals.contains(&*normalize(name)) {
                    self.emit(Effect::Bind {
                        name: name.to_string(),
                        span,
                        kind,
                        conditional: true,
                        exhaustive: false,
                    });
                }
            }
            ScopeKind::Comprehension | ScopeKind::Type => {}
        }
    }

    pub(super) fn bind(&mut self, name: &str, span: Span, kind: BindKind) {
        self.bind_in(self.scopes.len() - 1, name, span, kind, false);
    }

    pub(super) fn delete(&mut self, name: &str, span: Span) {
        let i = self.scopes.len() - 1;
        match self.scopes[i].kind {
            ScopeKind::Module => self.emit(Effect::Delete { name: name.to_string(), span }),
            ScopeKind::Class => {
                self.scopes[i].locals.remove(&*normalize(name));
            }
            ScopeKind::Function | ScopeKind::Lambda if self.scopes[i].globals.contains(&*normalize(name)) => {
                self.emit(Effect::Delete { name: name.to_string(), span })
            }
            _ => {}
        }
    }
}

/// Names local to a function or lambda body, and its `global` names: everything the
/// body binds (outside nested functions, classes and lambdas, whose names only are
/// local) — assignments, loop/with/except targets, imports, walrus, `del`, match
/// captures. `nonlocal` names count as local (they are not module names).
pub(super) fn collect_locals(body: Node, text: &str) -> (HashSet<String>, HashSet<String>) {
    let mut locals = HashSet::new();
    let mut globals = HashSet::new();
    let name = |n: Node| normalize(text.get(n.byte_range()).unwrap_or("")).into_owned();
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "function_definition" | "class_definition" => {
                if let Some(nm) = n.child_by_field_name("name") {
                    locals.insert(name(nm));
                }
                continue;
            }
            "lambda" => continue,
            "global_statement" => {
                for c in named_children(n) {
                    globals.insert(name(c));
                }
                continue;
            }
            "nonlocal_statement" => {
                for c in named_children(n) {
                    locals.insert(name(c));
                }
                continue;
            }
            "assignment" | "augmented_assignment" | "for_statement" | "named_expression" => {
                let target = n.child_by_field_name(if n.kind() == "named_expression" { "name" } else { "left" });
                if let Some(t) = target {
                    for id in pattern_identifiers(t) {
                        locals.insert(name(id));
                    }
                }
            }
            "for_in_clause" => {
                let mut cursor = n.walk();
                stack.extend(n.children_by_field_name("right", &mut cursor));
                continue;
            }
            "as_pattern" => {
                if let Some(a) = n.child_by_field_name("alias") {
                    for id in pattern_identifiers(a) {
                        locals.insert(name(id));
                    }
                }
                if let Some(last) = named_children(n).last().filter(|c| c.kind() == "identifier") {
                    locals.insert(name(*last));
                }
            }
            "delete_statement" => {
                for c in named_children(n) {
                    for id in pattern_identifiers(c) {
                        locals.insert(name(id));
                    }
                }
            }
            "import_statement" | "import_from_statement" => {
                let mut cursor = n.walk();
                for nm in n.children_by_field_name("name", &mut cursor) {
                    let bound = match nm.kind() {
                        "aliased_import" => nm.child_by_field_name("alias").map(name),
                        _ if n.kind() == "import_statement" => {
                            Some(squash(&name(nm)).split('.').next().unwrap_or("").to_string())
                        }
                        _ => Some(squash(&name(nm))),
                    };
                    if let Some(b) = bound {
                        locals.insert(b);
                    }
                }
                continue;
            }
            "case_pattern" | "splat_pattern" => {
                for c in named_children(n) {
                    if c.kind() == "dotted_name" && named_children(c).len() == 1 {
                        locals.insert(name(c));
                    }
                    if n.kind() == "splat_pattern" && c.kind() == "identifier" {
                        locals.insert(name(c));
                    }
                }
            }
            "keyword_pattern" => {
                for c in named_children(n).into_iter().skip(1) {
                    if c.kind() == "dotted_name" && named_children(c).len() == 1 {
                        locals.insert(name(c));
                    }
                }
            }
            "type_alias_statement" => {
                if let Some(id) = n.child_by_field_name("left").and_then(first_identifier) {
                    locals.insert(name(id));
                }
                continue;
            }
            _ => {}
        }
        stack.extend(named_children(n));
    }
    locals.remove("_");
    for g in &globals {
        locals.remove(g);
    }
    (locals, globals)
}
