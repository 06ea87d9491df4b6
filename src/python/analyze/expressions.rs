//! Expressions: names, calls and their arguments, lambdas, comprehensions and the
//! walrus.

use tree_sitter::Node;

use super::mutation::{function_changes_first_argument, method_changes_first_argument};
use super::scope::{collect_locals, Resolved, Scope, ScopeKind};
use super::syntax::{attribute_path, named_children, pattern_identifiers};
use super::Analyzer;
use crate::python::{BindKind, Effect};

/// Plain-name positional and keyword arguments of a call, and whether it passes
/// `inplace=True`.
type ArgumentNames = (Vec<Option<String>>, Vec<(String, Option<String>)>, bool);

impl Analyzer<'_> {
    pub(super) fn visit_expr(&mut self, n: Node) {
        if !self.enter() {
            return;
        }
        match n.kind() {
            "identifier" => self.read(n),
            "attribute" => self.visit_field(n, "object"),
            "call" => self.visit_call(n),
            "lambda" => self.visit_lambda(n),
            "list_comprehension" | "set_comprehension" | "generator_expression" | "dictionary_comprehension" => {
                self.visit_comprehension(n)
            }
            "named_expression" => {
                self.visit_field(n, "value");
                if let Some(name) = n.child_by_field_name("name") {
                    // PEP 572: binds in the nearest enclosing non-comprehension scope.
                    let i = self.scopes.iter().rposition(|s| s.kind != ScopeKind::Comprehension).unwrap_or(0);
                    let in_comprehension = i + 1 < self.scopes.len();
                    self.bind_in(i, self.text_of(name), self.span(name), BindKind::Value, in_comprehension);
                }
            }
            "keyword_argument" => self.visit_field(n, "value"),
            "interpolation" | "format_expression" => {
                for c in named_children(n) {
                    if c.kind() != "type_conversion" {
                        self.visit_expr(c);
                    }
                }
            }
            "ellipsis" | "integer" => self.shell_reads(n),
            // `np.ndarray` in an annotation: only the root is a name.
            "member_type" => {
                if let Some(c) = n.named_child(0) {
                    self.visit_expr(c);
                }
            }
            "float"
            | "true"
            | "false"
            | "none"
            | "comment"
            | "escape_sequence"
            | "string_start"
            | "string_end"
            | "string_content"
            | "type_conversion"
            | "ERROR"
            | "keyword_separator"
            | "positional_separator" => {}
            _ => {
                for c in named_children(n) {
                    self.visit_expr(c);
                }
            }
        }
        self.leave();
    }

    /// Soft reads of `$name`/`{expr}` in the shell command masked at this node.
    pub(super) fn shell_reads(&mut self, n: Node) {
        if let Some(reads) = self.pre.shell_reads.get(&n.start_byte()) {
            for (name, s, e) in reads.clone() {
                self.read_name(&name, self.index.span(s, e), true);
            }
        }
    }

    pub(super) fn visit_arguments(&mut self, args: Node) {
        if args.kind() == "generator_expression" {
            self.visit_comprehension(args);
            return;
        }
        for a in named_children(args) {
            self.visit_expr(a);
        }
    }

    /// Positional and keyword arguments that are plain names, and `inplace=True`.
    fn argument_names(&self, args: Node) -> ArgumentNames {
        let mut positional = Vec::new();
        let mut keywords = Vec::new();
        let mut inplace = false;
        if args.kind() != "argument_list" {
            return (vec![None], keywords, false);
        }
        let plain = |n: Node| (n.kind() == "identifier").then(|| self.text_of(n).to_string());
        for a in named_children(args) {
            match a.kind() {
                "keyword_argument" => {
                    let key = a.child_by_field_name("name").map(|k| self.text_of(k).to_string()).unwrap_or_default();
                    let value = a.child_by_field_name("value");
                    if key == "inplace" && value.is_some_and(|v| v.kind() == "true") {
                        inplace = true;
                    }
                    keywords.push((key, value.and_then(plain)));
                }
                "dictionary_splat" | "comment" => {}
                _ => positional.push(plain(a)),
            }
        }
        (positional, keywords, inplace)
    }

    fn visit_call(&mut self, n: Node) {
        self.visit_call_inner(n);
        if let Some(func) = n.child_by_field_name("function") {
            let args = n.child_by_field_name("arguments");
            self.dynamic_namespace(n, func, args);
            self.file_effects(n, func, args);
        }
    }

    fn visit_call_inner(&mut self, n: Node) {
        let Some(func) = n.child_by_field_name("function") else {
            return;
        };
        let args = n.child_by_field_name("arguments");
        let span = self.span(n);
        let first_arg = args.filter(|a| a.kind() == "argument_list").and_then(|a| {
            named_children(a).into_iter().find(|c| c.kind() != "comment").filter(|c| c.kind() == "identifier")
        });
        match func.kind() {
            "identifier" => {
                self.read(func);
                if let Some(a) = args {
                    self.visit_arguments(a);
                }
                let callee = self.text_of(func);
                if let Resolved::Module = self.resolve(callee) {
                    let (positional, keywords, _) = args.map(|a| self.argument_names(a)).unwrap_or_default();
                    self.emit(Effect::Call { callee: callee.to_string(), span, args: positional, kwargs: keywords });
                }
                if function_changes_first_argument(callee) {
                    if let Some(a) = first_arg {
                        self.mutate(a);
                    }
                }
            }
            "attribute" => {
                let path = attribute_path(func, self.text);
                match self.visit_target_chain(func) {
                    Some(root) => {
                        if let Some(a) = args {
                            self.visit_arguments(a);
                        }
                        let (_, _, inplace) = args.map(|a| self.argument_names(a)).unwrap_or_default();
                        let receiver = self.text_of(root);
                        match self.resolve(receiver) {
                            Resolved::Module => self.emit(Effect::MethodCall {
                                receiver: receiver.to_string(),
                                path: path.clone(),
                                span,
                                inplace,
                            }),
                            Resolved::Local(i) => self.note_param_mutation(i, receiver),
                        }
                        let last = path.last().map(String::as_str).unwrap_or("");
                        if method_changes_first_argument(receiver, last) {
                            if let Some(a) = first_arg {
                                self.mutate(a);
                            }
                        }
                    }
                    None => {
                        if let Some(a) = args {
                            self.visit_arguments(a);
                        }
                    }
                }
            }
            _ => {
                self.visit_expr(func);
                if let Some(a) = args {
                    self.visit_arguments(a);
                }
            }
        }
    }

    fn visit_lambda(&mut self, n: Node) {
        let mut scope = Scope::new(ScopeKind::Lambda);
        if let Some(p) = n.child_by_field_name("parameters") {
            for name in self.parameters(p, false) {
                scope.locals.insert(name);
            }
        }
        let Some(body) = n.child_by_field_name("body") else {
            return;
        };
        let (locals, _) = collect_locals(body, self.text);
        scope.locals.extend(locals);
        self.scopes.push(scope);
        self.visit_expr(body);
        self.scopes.pop();
    }

    fn visit_comprehension(&mut self, n: Node) {
        let clauses: Vec<Node> =
            named_children(n).into_iter().filter(|c| matches!(c.kind(), "for_in_clause" | "if_clause")).collect();
        // The first iterable is evaluated in the enclosing scope.
        let mut first_iter_done = false;
        if let Some(first) = clauses.first().filter(|c| c.kind() == "for_in_clause") {
            let mut cursor = first.walk();
            let rights: Vec<Node> = first.children_by_field_name("right", &mut cursor).collect();
            for r in rights {
                self.visit_expr(r);
            }
            first_iter_done = true;
        }
        let mut scope = Scope::new(ScopeKind::Comprehension);
        for c in &clauses {
            if c.kind() == "for_in_clause" {
                if let Some(left) = c.child_by_field_name("left") {
                    for id in pattern_identifiers(left) {
                        scope.locals.insert(self.text_of(id).to_string());
                    }
                }
            }
        }
        self.scopes.push(scope);
        for (i, c) in clauses.iter().enumerate() {
            if c.kind() == "for_in_clause" {
                if i > 0 || !first_iter_done {
                    let mut cursor = c.walk();
                    let rights: Vec<Node> = c.children_by_field_name("right", &mut cursor).collect();
                    for r in rights {
                        self.visit_expr(r);
                    }
                }
            } else {
                for e in named_children(*c) {
                    self.visit_expr(e);
                }
            }
        }
        if let Some(body) = n.child_by_field_name("body") {
            self.visit_expr(body);
        }
        self.scopes.pop();
    }
}
