//! Expressions: names, calls and their arguments, lambdas, comprehensions and the
//! walrus.

use tree_sitter::Node;

use super::mutation::{function_changes_first_argument, method_changes_first_argument};
use super::scope::{collect_locals, Resolved, Scope, ScopeKind};
use super::syntax::{attribute_path, named_children, pattern_identifiers};
use super::Analyzer;
use crate::python::{Arg, BindKind, Effect};

/// The arguments of a call: positional, keyword, whether it passes `inplace=True`, and
/// the names given as `out=` (numpy's output arrays).
type Arguments<'t> = (Vec<Arg>, Vec<(String, Arg)>, bool, Vec<Node<'t>>);

/// `vars(x).method`: the `x` whose attribute dictionary the method is called on.
fn vars_of<'t>(func: Node<'t>, text: &str) -> Option<Node<'t>> {
    let object = func.child_by_field_name("object")?;
    if object.kind() != "call" {
        return None;
    }
    let f = object.child_by_field_name("function")?;
    if f.kind() != "identifier" || text.get(f.byte_range()) != Some("vars") {
        return None;
    }
    let args = object.child_by_field_name("arguments")?;
    let only: Vec<Node> = named_children(args).into_iter().filter(|c| c.kind() != "comment").collect();
    match only.as_slice() {
        [x] if x.kind() == "identifier" => Some(*x),
        _ => None,
    }
}

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

    /// An argument as the analysis can name it: a module-level name, a parameter of the
    /// enclosing top-level function, or something else.
    fn argument(&self, n: Node) -> Arg {
        if matches!(n.kind(), "list" | "tuple" | "set" | "dictionary" | "parenthesized_expression") {
            // `f([a, b])`, `g({"k": a})`: the objects in the display are given too.
            let mut names = Vec::new();
            for c in named_children(n) {
                let element = if c.kind() == "pair" { c.child_by_field_name("value") } else { Some(c) };
                if let Some(Arg::Name(name)) = element.map(|e| self.argument(e)) {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            return if names.is_empty() { Arg::Other } else { Arg::Names(names) };
        }
        if n.kind() != "identifier" {
            return Arg::Other;
        }
        let name = self.text_of(n);
        match self.resolve(name) {
            Resolved::Module => Arg::Name(self.normalized(name)),
            Resolved::Local(i) => self.top_level_param(i, name).map_or(Arg::Other, Arg::Param),
        }
    }

    /// The position of `name` among the parameters of scope `i`, when that scope is the
    /// body of a top-level function (whose calls are expanded where it is called).
    fn top_level_param(&self, i: usize, name: &str) -> Option<usize> {
        let scope = &self.scopes[i];
        let top_level = self.scopes[..i].iter().all(|s| matches!(s.kind, ScopeKind::Module | ScopeKind::Type));
        (scope.kind == ScopeKind::Function && top_level).then(|| scope.params.iter().position(|p| p == name)).flatten()
    }

    /// The arguments of a call.
    fn arguments<'t>(&self, args: Option<Node<'t>>) -> Arguments<'t> {
        let mut positional = Vec::new();
        let mut keywords = Vec::new();
        let mut inplace = false;
        let mut out = Vec::new();
        let Some(args) = args else {
            return (positional, keywords, inplace, out);
        };
        if args.kind() != "argument_list" {
            // `f(x for x in xs)`: one generator argument.
            return (vec![Arg::Other], keywords, false, out);
        }
        for a in named_children(args) {
            match a.kind() {
                "keyword_argument" => {
                    let key = a.child_by_field_name("name").map(|k| self.text_of(k).to_string()).unwrap_or_default();
                    let value = a.child_by_field_name("value");
                    if key == "inplace" && value.is_some_and(|v| v.kind() == "true") {
                        inplace = true;
                    }
                    if key == "out" {
                        // `out=a` and `out=(a, b)`: numpy writes its result into them.
                        if let Some(v) = value {
                            out.extend(pattern_identifiers(v));
                        }
                    }
                    keywords.push((key, value.map_or(Arg::Other, |v| self.argument(v))));
                }
                "dictionary_splat" | "comment" => {}
                "list_splat" => positional.push(Arg::Other),
                _ => positional.push(self.argument(a)),
            }
        }
        (positional, keywords, inplace, out)
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
        let (positional, keywords, inplace, out) = self.arguments(args);
        match func.kind() {
            "identifier" => {
                self.read(func);
                if let Some(a) = args {
                    self.visit_arguments(a);
                }
                let callee = self.text_of(func);
                if let Resolved::Module = self.resolve(callee) {
                    self.emit(Effect::Call {
                        callee: self.normalized(callee),
                        span,
                        args: positional,
                        kwargs: keywords,
                    });
                }
                if function_changes_first_argument(callee) {
                    if let Some(a) = first_arg {
                        self.mutate(a, Vec::new());
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
                        let receiver = self.text_of(root);
                        match self.resolve(receiver) {
                            Resolved::Module => self.emit(Effect::MethodCall {
                                receiver: self.normalized(receiver),
                                path: path.clone(),
                                span,
                                inplace,
                                args: positional,
                                kwargs: keywords,
                            }),
                            Resolved::Local(i) => self.note_param_mutation(i, receiver),
                        }
                        let last = path.last().map(String::as_str).unwrap_or("");
                        if method_changes_first_argument(receiver, last) {
                            if let Some(a) = first_arg {
                                self.mutate(a, Vec::new());
                            }
                        }
                    }
                    None => {
                        if let Some(a) = args {
                            self.visit_arguments(a);
                        }
                        // `vars(x).update(d)`: a method of `x`'s attribute dictionary.
                        match vars_of(func, self.text) {
                            Some(owner) => {
                                let name = self.text_of(owner);
                                let method = path.last().cloned().unwrap_or_default();
                                match self.resolve(name) {
                                    Resolved::Module => self.emit(Effect::MethodCall {
                                        receiver: self.normalized(name),
                                        path: vec!["__dict__".into(), method],
                                        span,
                                        inplace,
                                        args: positional,
                                        kwargs: keywords,
                                    }),
                                    Resolved::Local(i) => self.note_param_mutation(i, name),
                                }
                            }
                            None => self.emit(Effect::Call {
                                callee: String::new(),
                                span,
                                args: positional,
                                kwargs: keywords,
                            }),
                        }
                    }
                }
            }
            _ => {
                self.visit_expr(func);
                if let Some(a) = args {
                    self.visit_arguments(a);
                }
                self.emit(Effect::Call { callee: String::new(), span, args: positional, kwargs: keywords });
            }
        }
        // `setattr(x, "a", v)`, `delattr(x, "a")` change `x`; `np.add(a, b, out=c)` changes `c`.
        if func.kind() == "identifier" && matches!(self.text_of(func), "setattr" | "delattr") {
            if let Some(a) = first_arg {
                let attribute = args
                    .and_then(|a| named_children(a).into_iter().filter(|c| c.kind() != "comment").nth(1))
                    .and_then(|c| crate::python::resources::string_literal(c, self.text));
                self.mutate(a, attribute.into_iter().collect());
            }
        }
        for o in out {
            self.mutate(o, Vec::new());
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
                        scope.locals.insert(self.normalized(self.text_of(id)));
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
