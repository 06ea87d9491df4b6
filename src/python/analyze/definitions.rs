//! `def` and `class`: the [`Definition`] of a top-level one, what runs at definition time
//! (decorators, defaults, annotations, base classes), and the body in its own scope.

use tree_sitter::Node;

use super::scope::{collect_locals, Scope, ScopeKind};
use super::syntax::{first_identifier, first_identifier_or_self, named_children, pattern_identifiers};
use super::Analyzer;
use crate::python::magics::LineIndex;
use crate::python::{BindKind, Definition, DefinitionKind, Span};

impl Analyzer<'_> {
    /// Starts a top-level [`Definition`] for statement `stmt` (decorators included).
    pub(super) fn start_definition(&mut self, name: &str, kind: DefinitionKind, stmt: Node) -> usize {
        let span = self.span(stmt);
        let source =
            definition_source(self.src, &self.pre.program, self.index, stmt.start_byte(), stmt.end_byte(), span);
        self.definitions.push(Definition {
            name: self.normalized(name),
            kind,
            span,
            source,
            call_effects: Vec::new(),
            mutated_params: Vec::new(),
        });
        self.definitions.len() - 1
    }

    /// Pushes a scope for PEP 695 type parameters, if any.
    fn push_type_params(&mut self, n: Node) -> bool {
        let Some(tp) = n.child_by_field_name("type_parameters") else {
            return false;
        };
        let mut scope = Scope::new(ScopeKind::Type);
        for t in named_children(tp) {
            if let Some(id) = first_identifier(t) {
                scope.locals.insert(self.normalized(self.text_of(id)));
            }
        }
        self.scopes.push(scope);
        true
    }

    pub(super) fn visit_function(&mut self, n: Node, stmt: Node) {
        let Some(name_node) = n.child_by_field_name("name") else {
            return;
        };
        let name = self.text_of(name_node).to_string();
        let top_level = self.at_module();
        // Methods of a top-level class: `__init__` gives the class's mutated params.
        let is_init_of_top_class = name == "__init__"
            && self.scopes.last().is_some_and(|s| s.kind == ScopeKind::Class)
            && self.scopes.iter().filter(|s| s.kind != ScopeKind::Type).count() == 2;
        let typed = self.push_type_params(n);

        // Definition time: defaults (read now), annotations (soft: may be lazy or
        // `TYPE_CHECKING`-only).
        let params = n.child_by_field_name("parameters");
        let param_names = params.map(|p| self.parameters(p, true)).unwrap_or_default();
        if let Some(rt) = n.child_by_field_name("return_type") {
            self.soft_guard += 1;
            self.visit_expr(rt);
            self.soft_guard -= 1;
        }
        let index = top_level.then(|| self.start_definition(&name, DefinitionKind::Function, stmt));
        if top_level {
            // A decorated generator function (`@contextmanager`) may return anything.
            if stmt == n && n.child_by_field_name("body").is_some_and(contains_yield) {
                self.generator_defs.insert(name.clone());
            } else {
                self.generator_defs.remove(&name);
            }
        }

        // The body, at call time.
        let mut scope = Scope::new(ScopeKind::Function);
        if let Some(body) = n.child_by_field_name("body") {
            let (locals, globals) = collect_locals(body, self.text);
            scope.locals = locals;
            scope.globals = globals;
        }
        for p in &param_names {
            scope.locals.insert(p.clone());
        }
        scope.params = param_names;
        let saved = (self.sink, self.current_def, self.conditional, self.soft_guard);
        if let Some(i) = index {
            self.current_def = Some(i);
        }
        if self.sink.is_none() {
            self.sink = self.current_def;
        }
        self.conditional = 0;
        self.soft_guard = 0;
        self.scopes.push(scope);
        self.visit_field_block(n, "body");
        let scope = self.scopes.pop();
        (self.sink, self.current_def, self.conditional, self.soft_guard) = saved;
        if typed {
            self.scopes.pop();
        }

        let mutated = scope.map(|s| s.mutated).unwrap_or_default();
        if let Some(i) = index {
            self.definitions[i].mutated_params = mutated;
        } else if is_init_of_top_class {
            if let Some(d) = self.current_def {
                self.definitions[d].mutated_params =
                    mutated.into_iter().filter(|(p, _)| *p > 0).map(|(p, s)| (p - 1, s)).collect();
            }
        }
        let kind = index.map_or(BindKind::Value, BindKind::Definition);
        self.bind(&name, self.span(name_node), kind);
    }

    /// Visits parameter defaults (now) and annotations (soft), returns parameter names.
    pub(super) fn parameters(&mut self, params: Node, annotations: bool) -> Vec<String> {
        let mut names = Vec::new();
        for p in named_children(params) {
            let (name, ty, default) = match p.kind() {
                "identifier" => (Some(p), None, None),
                "typed_parameter" => {
                    (p.named_child(0).and_then(first_identifier_or_self), p.child_by_field_name("type"), None)
                }
                "default_parameter" | "typed_default_parameter" => {
                    (p.child_by_field_name("name"), p.child_by_field_name("type"), p.child_by_field_name("value"))
                }
                "list_splat_pattern" | "dictionary_splat_pattern" => (first_identifier(p), None, None),
                "tuple_pattern" => {
                    for id in pattern_identifiers(p) {
                        names.push(self.normalized(self.text_of(id)));
                    }
                    (None, None, None)
                }
                _ => (None, None, None),
            };
            if let Some(d) = default {
                self.visit_expr(d);
            }
            if let (Some(t), true) = (ty, annotations) {
                self.soft_guard += 1;
                self.visit_expr(t);
                self.soft_guard -= 1;
            }
            if let Some(nm) = name {
                names.push(self.normalized(self.text_of(nm)));
            }
        }
        names
    }

    pub(super) fn visit_class(&mut self, n: Node, stmt: Node) {
        let Some(name_node) = n.child_by_field_name("name") else {
            return;
        };
        let name = self.text_of(name_node).to_string();
        let top_level = self.at_module();
        let typed = self.push_type_params(n);
        if let Some(bases) = n.child_by_field_name("superclasses") {
            self.visit_arguments(bases);
        }
        let index = top_level.then(|| self.start_definition(&name, DefinitionKind::Class, stmt));
        let saved = (self.current_def, self.conditional, self.soft_guard);
        if let Some(i) = index {
            self.current_def = Some(i);
        }
        self.scopes.push(Scope::new(ScopeKind::Class));
        self.visit_field_block(n, "body");
        self.scopes.pop();
        (self.current_def, self.conditional, self.soft_guard) = saved;
        if typed {
            self.scopes.pop();
        }
        let kind = index.map_or(BindKind::Value, BindKind::Definition);
        self.bind(&name, self.span(name_node), kind);
    }
}

/// Whether a function body contains `yield` (not in nested functions, lambdas, classes).
fn contains_yield(body: Node) -> bool {
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "yield" => return true,
            "function_definition" | "lambda" | "class_definition" => {}
            _ => stack.extend(named_children(n)),
        }
    }
    false
}

/// The source of a definition: its lines taken from the *program* (same lines as the
/// cell, IPython syntax translated), dedented to the statement's column.
fn definition_source(src: &str, program: &str, index: &LineIndex, start: usize, end: usize, span: Span) -> String {
    let end_line = index.span(end, end).line;
    let prog_lines: Vec<&str> = program.split_inclusive('\n').collect();
    let first = span.line - 1;
    let take = prog_lines.get(first..end_line.min(prog_lines.len()));
    let Some(lines) = take.filter(|l| !l.is_empty()) else {
        return src.get(start..end).unwrap_or("").to_string();
    };
    let indent = span.column - 1;
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            out.push_str(line.char_indices().nth(indent).map_or("", |(b, _)| &line[b..]));
        } else {
            // Strip up to `indent` leading whitespace characters.
            let ws = line.chars().take(indent).take_while(|c| *c == ' ' || *c == '\t').count();
            out.push_str(&line[ws..]);
        }
    }
    out.trim_end_matches(['\n', '\r']).to_string()
}
