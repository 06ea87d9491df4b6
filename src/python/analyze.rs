//! Scope analysis of one cell: walks the (masked) tree-sitter tree in evaluation order
//! and records the module-level [`Effect`]s, following Python's scoping rules (the model
//! ruff uses, see `rust-deps.md` §4):
//!
//! * module-level code runs now: its reads are (hard) reads, its bindings module bindings;
//! * class bodies run now too, but names they bind are class-local;
//! * function and lambda bodies run later: their free names become *soft* reads, routed to
//!   [`Definition::call_effects`] of the enclosing top-level `def`/`class`;
//! * comprehensions have their own scope, except for the first iterable, and a walrus
//!   binds in the nearest enclosing non-comprehension scope;
//! * class scopes are invisible from nested functions and comprehensions.
//!
//! Recursion follows the tree's nesting; it is capped at [`MAX_DEPTH`] levels (a problem
//! is reported beyond it) so that no input can overflow the stack.

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Parser};

use super::magics::{self, LineIndex, Preprocessed};
use super::resources::{self, PathArg};
use super::{BindKind, CellFacts, Definition, DefinitionKind, Effect, Problem, ProblemSeverity, Span, ValueHint};

/// numpy/pandas methods whose result shares data with the object they are called on.
const VIEW_METHODS: &[&str] = &["reshape", "view", "ravel", "transpose", "swapaxes", "squeeze", "T", "as_strided"];

/// Nesting depth beyond which the walk stops (real code stays far below it; Python's
/// own parser gives up at about 200 nested brackets).
const MAX_DEPTH: usize = 400;

/// Functions that change their first argument in place, called as plain names
/// (`from heapq import heappush`) or as `module.name`.
const INPLACE_FUNCTIONS: &[&str] = &[
    "next",
    "shuffle",
    "heappush",
    "heappop",
    "heapify",
    "heapreplace",
    "heappushpop",
    "insort",
    "insort_left",
    "insort_right",
];

/// Analyses one code cell: IPython syntax, then scopes and module-level effects.
pub fn analyze_cell(source: &str) -> CellFacts {
    let pre = magics::preprocess(source);
    let mut facts = CellFacts {
        magics: pre.magics.clone(),
        pip_packages: pre.pip_packages.clone(),
        problems: pre.problems.clone(),
        program: pre.program.clone(),
        cell_magic: pre.cell_magic.clone(),
        ..CellFacts::default()
    };
    let index = LineIndex::new(source);
    let mut parser = Parser::new();
    if parser.set_language(&tree_sitter_python::LANGUAGE.into()).is_err() {
        facts.problems.push(problem(index.span(0, 0), "the Python grammar could not be loaded", None));
        return facts;
    }
    let Some(tree) = parser.parse(&pre.masked, None) else {
        facts.problems.push(problem(index.span(0, 0), "the cell could not be parsed", None));
        return facts;
    };
    let root = tree.root_node();

    let mut a = Analyzer {
        src: source,
        text: &pre.masked,
        index: &index,
        pre: &pre,
        effects: Vec::new(),
        definitions: Vec::new(),
        imported: Vec::new(),
        problems: Vec::new(),
        scopes: vec![Scope::new(ScopeKind::Module)],
        conditional: 0,
        soft_guard: 0,
        sink: None,
        current_def: None,
        depth: 0,
        too_deep: false,
        bind_extras: HashMap::new(),
        generator_defs: HashSet::new(),
        from_imports: HashMap::new(),
    };
    a.visit_block(root);
    for e in &pre.cell_magic_effects {
        a.emit(e.clone());
    }
    for (name, start, end) in &pre.cell_magic_binds {
        a.emit(Effect::Bind {
            name: name.clone(),
            span: index.span(*start, *end),
            kind: BindKind::Value,
            conditional: false,
        });
    }
    if a.too_deep {
        a.problems.push(problem(
            index.span(0, 0),
            "the cell is nested too deeply to analyse",
            Some("split deeply nested code into functions"),
        ));
    }
    facts.effects = a.effects;
    facts.definitions = a.definitions;
    facts.imported_modules = a.imported;
    facts.problems.extend(a.problems);
    if root.has_error() {
        syntax_problems(root, &pre, &index, &mut facts.problems);
    }
    facts
}

fn problem(span: Span, message: &str, hint: Option<&str>) -> Problem {
    Problem { severity: ProblemSeverity::Error, span, message: message.to_string(), hint: hint.map(str::to_string) }
}

/// Reports syntax errors: automagic lines (`pip install x`) with a specific hint, and
/// otherwise the first `ERROR`/`MISSING` node.
fn syntax_problems(root: Node, pre: &Preprocessed, index: &LineIndex, problems: &mut Vec<Problem>) {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Module,
    Class,
    Function,
    Lambda,
    Comprehension,
    /// PEP 695 type parameters (`def f[T]`, `class C[T]`).
    Type,
}

struct Scope {
    kind: ScopeKind,
    /// Names local to the scope. Functions, lambdas and comprehensions collect them
    /// before their body is walked; a class body adds them as it binds them.
    locals: HashSet<String>,
    /// Names declared `global` (functions only).
    globals: HashSet<String>,
    /// Parameters in order (functions only).
    params: Vec<String>,
    /// Parameters mutated in place by the body.
    mutated: Vec<(usize, String)>,
}

impl Scope {
    fn new(kind: ScopeKind) -> Self {
        Scope { kind, locals: HashSet::new(), globals: HashSet::new(), params: Vec::new(), mutated: Vec::new() }
    }
}

/// Where a name resolves from the current scope.
enum Resolved {
    /// A module-level name (of this or another cell).
    Module,
    /// A local of the scope at this index of the scope stack.
    Local(usize),
}

/// Plain-name positional and keyword arguments of a call, and whether it passes
/// `inplace=True`.
type ArgumentNames = (Vec<Option<String>>, Vec<(String, Option<String>)>, bool);

/// What follows the module-level `Bind` of one target identifier: the names its new
/// value aliases, and what is known about the value (with the span of the expression).
#[derive(Default)]
struct BindExtra {
    of: Vec<String>,
    value: Option<(ValueHint, Span)>,
}

/// Where the value bound to a target comes from, for aliases: names, or one source per
/// element when a tuple is unpacked (`a, b = x, y`; `for i, v in enumerate(xs)`).
enum AliasSource {
    Names(Vec<String>),
    Elements(Vec<AliasSource>),
}

impl AliasSource {
    fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            AliasSource::Names(ns) => {
                for n in ns {
                    if !out.contains(n) {
                        out.push(n.clone());
                    }
                }
            }
            AliasSource::Elements(es) => {
                for e in es {
                    e.collect(out);
                }
            }
        }
    }
}

struct Analyzer<'a> {
    /// The cell as written (for definition sources).
    src: &'a str,
    /// The masked cell that was parsed (identifier text is the same as in `src`).
    text: &'a str,
    index: &'a LineIndex<'a>,
    pre: &'a Preprocessed,
    effects: Vec<Effect>,
    definitions: Vec<Definition>,
    imported: Vec<String>,
    problems: Vec<Problem>,
    scopes: Vec<Scope>,
    /// > 0 inside a branch, loop, `try` or `match` case at the current level.
    conditional: usize,
    /// > 0 inside a `try` body whose handlers catch `NameError`.
    soft_guard: usize,
    /// The definition whose `call_effects` receive effects (inside a function body).
    sink: Option<usize>,
    /// The top-level definition being walked.
    current_def: Option<usize>,
    depth: usize,
    too_deep: bool,
    /// Alias/value facts for the target identifiers about to be bound, keyed by the
    /// identifier's start byte (module level only).
    bind_extras: HashMap<usize, BindExtra>,
    /// Top-level functions of this cell whose body contains `yield`.
    generator_defs: HashSet<String>,
    /// Names bound by `from m import x` in this cell, with their module.
    from_imports: HashMap<String, String>,
}

impl<'a> Analyzer<'a> {
    // ----- helpers -------------------------------------------------------------------

    fn text_of(&self, n: Node) -> &'a str {
        self.text.get(n.byte_range()).unwrap_or("")
    }

    fn span(&self, n: Node) -> Span {
        self.index.span(n.start_byte(), n.end_byte())
    }

    /// Records an effect where it belongs: the cell, or the call effects of the
    /// definition whose body is being walked. Exact consecutive duplicates are dropped.
    fn emit(&mut self, e: Effect) {
        let list = match self.sink {
            Some(d) => &mut self.definitions[d].call_effects,
            None => &mut self.effects,
        };
        if list.last() != Some(&e) {
            list.push(e);
        }
    }

    /// Code here runs later (function or lambda body), not when the cell runs.
    fn deferred(&self) -> bool {
        self.scopes.iter().any(|s| matches!(s.kind, ScopeKind::Function | ScopeKind::Lambda))
    }

    /// Enters a nesting level; false (and the walk stops) beyond [`MAX_DEPTH`].
    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            self.too_deep = true;
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Resolves a name from the innermost scope outwards. Class scopes are only seen
    /// from their own body.
    fn resolve(&self, name: &str) -> Resolved {
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

    fn read_name(&mut self, name: &str, span: Span, force_soft: bool) {
        if let Resolved::Module = self.resolve(name) {
            let soft = force_soft || self.soft_guard > 0 || self.deferred();
            self.emit(Effect::Read { name: name.to_string(), span, soft });
        }
    }

    fn read(&mut self, n: Node) {
        let name = self.text_of(n);
        self.read_name(name, self.span(n), false);
    }

    /// Records an in-place change of the object `name` refers to.
    fn mutate(&mut self, n: Node) {
        let name = self.text_of(n);
        match self.resolve(name) {
            Resolved::Module => self.emit(Effect::Mutate { name: name.to_string(), span: self.span(n) }),
            Resolved::Local(i) => self.note_param_mutation(i, name),
        }
    }

    fn note_param_mutation(&mut self, scope: usize, name: &str) {
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
    fn bind_in(&mut self, i: usize, name: &str, span: Span, kind: BindKind, extra_conditional: bool) {
        match self.scopes[i].kind {
            ScopeKind::Module => {
                let conditional = self.conditional > 0 || extra_conditional;
                self.emit(Effect::Bind { name: name.to_string(), span, kind, conditional });
            }
            ScopeKind::Class => {
                self.scopes[i].locals.insert(name.to_string());
            }
            ScopeKind::Function | ScopeKind::Lambda => {
                if self.scopes[i].globals.contains(name) {
                    self.emit(Effect::Bind { name: name.to_string(), span, kind, conditional: true });
                }
            }
            ScopeKind::Comprehension | ScopeKind::Type => {}
        }
    }

    fn bind(&mut self, name: &str, span: Span, kind: BindKind) {
        self.bind_in(self.scopes.len() - 1, name, span, kind, false);
    }

    fn delete(&mut self, name: &str, span: Span) {
        let i = self.scopes.len() - 1;
        match self.scopes[i].kind {
            ScopeKind::Module => self.emit(Effect::Delete { name: name.to_string(), span }),
            ScopeKind::Class => {
                self.scopes[i].locals.remove(name);
            }
            ScopeKind::Function | ScopeKind::Lambda if self.scopes[i].globals.contains(name) => {
                self.emit(Effect::Delete { name: name.to_string(), span })
            }
            _ => {}
        }
    }

    /// Soft reads of `$name`/`{expr}` in the shell command masked at this node.
    fn shell_reads(&mut self, n: Node) {
        if let Some(reads) = self.pre.shell_reads.get(&n.start_byte()) {
            for (name, s, e) in reads.clone() {
                self.read_name(&name, self.index.span(s, e), true);
            }
        }
    }

    // ----- statements ----------------------------------------------------------------

    fn visit_block(&mut self, block: Node) {
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
        self.leave();
    }

    fn visit_field(&mut self, n: Node, field: &str) {
        if let Some(c) = n.child_by_field_name(field) {
            self.visit_expr(c);
        }
    }

    fn visit_field_block(&mut self, n: Node, field: &str) {
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
        self.conditional += 1;
        if guard {
            self.soft_guard += 1;
        }
        self.visit_field_block(n, "body");
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
        let Some(value) = clause.child_by_field_name("value") else {
            return true;
        };
        let caught = if value.kind() == "as_pattern" { value.named_child(0).unwrap_or(value) } else { value };
        let mut stack = vec![caught];
        while let Some(x) = stack.pop() {
            if x.kind() == "identifier" && matches!(self.text_of(x), "NameError" | "Exception" | "BaseException") {
                return true;
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
                self.mutate(r);
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
                    self.mutate(root);
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
    fn visit_target_chain<'t>(&mut self, t: Node<'t>) -> Option<Node<'t>> {
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
                    self.mutate(root);
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
            self.note_import(&module);
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
        self.note_import(&module);
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

    fn note_import(&mut self, module: &str) {
        if !self.imported.iter().any(|m| m == module) {
            self.imported.push(module.to_string());
        }
    }

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

    // ----- definitions ---------------------------------------------------------------

    /// Whether the current scope is the module (so a `def` here is a [`Definition`]).
    fn at_module(&self) -> bool {
        self.scopes.len() == 1
    }

    /// Starts a top-level [`Definition`] for statement `stmt` (decorators included).
    fn start_definition(&mut self, name: &str, kind: DefinitionKind, stmt: Node) -> usize {
        let span = self.span(stmt);
        let source =
            definition_source(self.src, &self.pre.program, self.index, stmt.start_byte(), stmt.end_byte(), span);
        self.definitions.push(Definition {
            name: name.to_string(),
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
                scope.locals.insert(self.text_of(id).to_string());
            }
        }
        self.scopes.push(scope);
        true
    }

    fn visit_function(&mut self, n: Node, stmt: Node) {
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
    fn parameters(&mut self, params: Node, annotations: bool) -> Vec<String> {
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
                        names.push(self.text_of(id).to_string());
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
                names.push(self.text_of(nm).to_string());
            }
        }
        names
    }

    fn visit_class(&mut self, n: Node, stmt: Node) {
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

    // ----- expressions ---------------------------------------------------------------

    fn visit_expr(&mut self, n: Node) {
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

    fn visit_arguments(&mut self, args: Node) {
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
                if INPLACE_FUNCTIONS.contains(&callee) {
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
                        let inplace_fn = last == "shuffle"
                            || (receiver == "heapq" && INPLACE_FUNCTIONS.contains(&last))
                            || (receiver == "bisect" && last.starts_with("insort"));
                        if inplace_fn {
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

    // ----- aliases, value hints, dynamic namespaces, files ---------------------------

    /// Emits the `Alias` and `Value` planned for target identifier `t`, right after its
    /// module-level `Bind`.
    fn after_bind(&mut self, t: Node) {
        if self.bind_extras.is_empty() || !self.at_module() {
            return;
        }
        let Some(extra) = self.bind_extras.remove(&t.start_byte()) else {
            return;
        };
        let name = self.text_of(t).to_string();
        if !extra.of.is_empty() {
            self.emit(Effect::Alias { name: name.clone(), of: extra.of, span: self.span(t) });
        }
        if let Some((hint, span)) = extra.value {
            self.emit(Effect::Value { name, span, hint });
        }
    }

    /// Plans the aliases of the identifiers of target `t` whose value comes from `source`.
    fn plan_target(&mut self, t: Node, source: &AliasSource) {
        if !self.enter() {
            return;
        }
        match t.kind() {
            "identifier" => {
                let of = source.names();
                if !of.is_empty() {
                    self.bind_extras.entry(t.start_byte()).or_default().of = of;
                }
            }
            "parenthesized_expression" | "list_splat_pattern" | "list_splat" => {
                let flat = AliasSource::Names(source.names());
                for c in named_children(t) {
                    self.plan_target(c, &flat);
                }
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list" | "expression_list" => {
                let elements: Vec<Node> = named_children(t).into_iter().filter(|c| c.kind() != "comment").collect();
                let splat = elements.iter().any(|e| matches!(e.kind(), "list_splat_pattern" | "list_splat"));
                match source {
                    AliasSource::Elements(es) if es.len() == elements.len() && !splat => {
                        for (e, s) in elements.iter().zip(es) {
                            self.plan_target(*e, s);
                        }
                    }
                    _ => {
                        let flat = AliasSource::Names(source.names());
                        for e in elements {
                            self.plan_target(e, &flat);
                        }
                    }
                }
            }
            _ => {}
        }
        self.leave();
    }

    /// The names whose objects the value of expression `n` is, or contains: plain names,
    /// the receivers of view-returning methods ([`VIEW_METHODS`]),
    /// the roots of attribute/subscript chains (`a.x`, `a[k]` may be part of `a`), and
    /// the plain names in displays (`[a, c]`, `{"k": a}`), not inside calls,
    /// comprehensions, operators or lambdas.
    fn alias_source(&mut self, n: Node) -> AliasSource {
        let none = || AliasSource::Names(Vec::new());
        if !self.enter() {
            return none();
        }
        let source = match n.kind() {
            "identifier" => AliasSource::Names(vec![self.text_of(n).to_string()]),
            // Methods that return a view sharing the object's data (numpy, pandas):
            // `g2 = g.reshape(4, 6)`; `g2[1, 2] = 9` changes `g` too.
            "call" => match n.child_by_field_name("function") {
                Some(f)
                    if f.kind() == "attribute"
                        && f.child_by_field_name("attribute")
                            .is_some_and(|a| VIEW_METHODS.contains(&self.text_of(a))) =>
                {
                    match f.child_by_field_name("object") {
                        Some(o) => AliasSource::Names(self.alias_source(o).names()),
                        None => none(),
                    }
                }
                _ => none(),
            },
            "attribute" => match n.child_by_field_name("object") {
                Some(o) => AliasSource::Names(self.alias_source(o).names()),
                None => none(),
            },
            "subscript" => match n.child_by_field_name("value") {
                Some(v) => AliasSource::Names(self.alias_source(v).names()),
                None => none(),
            },
            "parenthesized_expression" => {
                let inner: Vec<Node> = named_children(n).into_iter().filter(|c| c.kind() != "comment").collect();
                match inner.as_slice() {
                    [one] => self.alias_source(*one),
                    _ => none(),
                }
            }
            "tuple" | "list" | "expression_list" => {
                let items: Vec<Node> = named_children(n).into_iter().filter(|c| c.kind() != "comment").collect();
                let sources: Vec<AliasSource> = items.iter().map(|i| self.alias_source(*i)).collect();
                if items.iter().any(|i| i.kind() == "list_splat") {
                    AliasSource::Names(AliasSource::Elements(sources).names())
                } else {
                    AliasSource::Elements(sources)
                }
            }
            "set" | "dictionary" | "pair" | "list_splat" | "dictionary_splat" => {
                let sources: Vec<AliasSource> = named_children(n)
                    .into_iter()
                    .filter(|c| c.kind() != "comment")
                    .map(|c| self.alias_source(c))
                    .collect();
                AliasSource::Names(AliasSource::Elements(sources).names())
            }
            "conditional_expression" => {
                // `a if cond else c`: the value is `a` or `c`, never `cond`.
                let mut sources = Vec::new();
                for i in [0, 2] {
                    if let Some(c) = n.named_child(i) {
                        sources.push(self.alias_source(c));
                    }
                }
                AliasSource::Names(AliasSource::Elements(sources).names())
            }
            "boolean_operator" => {
                let mut sources = Vec::new();
                for f in ["left", "right"] {
                    if let Some(c) = n.child_by_field_name(f) {
                        sources.push(self.alias_source(c));
                    }
                }
                AliasSource::Names(AliasSource::Elements(sources).names())
            }
            _ => none(),
        };
        self.leave();
        source
    }

    /// What the elements produced by iterating over `n` alias: `xs` for `xs`, `a`/`c` for
    /// `[a, c]`, `(·, xs)` for `enumerate(xs)`, `(xs, ys)` for `zip(xs, ys)`, `(d, d)` for
    /// `d.items()`, `d` for `d.values()`/`d.keys()`; nothing for other calls.
    fn iteration_source(&mut self, n: Node) -> AliasSource {
        let none = || AliasSource::Names(Vec::new());
        if n.kind() != "call" {
            return AliasSource::Names(self.alias_source(n).names());
        }
        if !self.enter() {
            return none();
        }
        let func = n.child_by_field_name("function");
        let positional: Vec<Node> = n
            .child_by_field_name("arguments")
            .filter(|a| a.kind() == "argument_list")
            .map(|a| {
                named_children(a)
                    .into_iter()
                    .filter(|c| !matches!(c.kind(), "comment" | "keyword_argument" | "list_splat" | "dictionary_splat"))
                    .collect()
            })
            .unwrap_or_default();
        let source = match func.map(|f| (f.kind(), f)) {
            Some(("identifier", f)) => match self.text_of(f) {
                "enumerate" => match positional.first() {
                    Some(x) => AliasSource::Elements(vec![none(), self.iteration_source(*x)]),
                    None => none(),
                },
                "zip" => AliasSource::Elements(positional.iter().map(|x| self.iteration_source(*x)).collect()),
                _ => none(),
            },
            Some(("attribute", f)) => {
                let method = f.child_by_field_name("attribute").map_or("", |a| self.text_of(a));
                let object = f.child_by_field_name("object");
                match (method, object) {
                    ("items", Some(o)) => {
                        let names = self.alias_source(o).names();
                        AliasSource::Elements(vec![AliasSource::Names(names.clone()), AliasSource::Names(names)])
                    }
                    ("values" | "keys", Some(o)) => AliasSource::Names(self.alias_source(o).names()),
                    _ => none(),
                }
            }
            _ => none(),
        };
        self.leave();
        source
    }

    /// What is known about the value of expression `n` bound by an assignment, or (with
    /// `in_with`) by `with n as x`.
    fn value_hint(&self, n: Node, in_with: bool) -> Option<ValueHint> {
        let mut n = n;
        while n.kind() == "parenthesized_expression" && n.named_child_count() == 1 {
            n = n.named_child(0)?;
        }
        match n.kind() {
            "lambda" if !in_with => Some(ValueHint::Lambda),
            "generator_expression" if !in_with => Some(ValueHint::Unserializable { what: "a generator".into() }),
            "call" => {
                let func = n.child_by_field_name("function")?;
                let args = n.child_by_field_name("arguments");
                if func.kind() == "attribute"
                    && func.child_by_field_name("attribute").is_some_and(|a| self.text_of(a) == "open")
                    && func
                        .child_by_field_name("object")
                        .and_then(|o| resources::path_constructor(o, self.text))
                        .is_some()
                {
                    return Some(ValueHint::Unserializable {
                        what: format!("an open file (`{}(...)`)", resources::callee_text(func, self.text)),
                    });
                }
                let dotted = resources::dotted_name(func, self.text)?;
                if func.kind() == "identifier" && self.generator_defs.contains(&dotted) {
                    return (!in_with)
                        .then(|| ValueHint::Unserializable { what: format!("a generator (`{dotted}()` yields)") });
                }
                let imported =
                    (func.kind() == "identifier").then(|| self.from_imports.get(&dotted).map(String::as_str)).flatten();
                let (what, lock) = resources::unserializable_call(&dotted, resources::has_arguments(args), imported)?;
                (!(in_with && lock)).then_some(ValueHint::Unserializable { what })
            }
            _ => None,
        }
    }

    /// `globals()`, `locals()`, `vars()`, `exec(...)`, `eval(...)`, `__import__(...)`,
    /// `importlib.import_module(...)`.
    fn dynamic_namespace(&mut self, call: Node, func: Node, args: Option<Node>) {
        let dynamic = match func.kind() {
            "identifier" => {
                let name = self.text_of(func);
                let known = match name {
                    "globals" | "locals" | "exec" | "eval" | "__import__" | "import_module" => true,
                    "vars" => !resources::has_arguments(args),
                    _ => false,
                };
                known && matches!(self.resolve(name), Resolved::Module)
            }
            "attribute" => resources::dotted_name(func, self.text).as_deref() == Some("importlib.import_module"),
            _ => false,
        };
        if dynamic {
            self.emit(Effect::DynamicNamespace {
                call: resources::callee_text(func, self.text),
                span: self.span(call),
            });
        }
    }

    /// File reads and writes of a call with a path argument (see [`resources`]).
    fn file_effects(&mut self, call: Node, func: Node, args: Option<Node>) {
        let Some(args) = args.filter(|a| a.kind() == "argument_list") else {
            return;
        };
        let text = self.text;
        let span = self.span(call);
        let callee = resources::callee_text(func, text);
        let dotted = resources::dotted_name(func, text);
        let receiver = match func.kind() {
            "identifier" => None,
            "attribute" => func.child_by_field_name("object"),
            _ => return,
        };
        let last = match receiver {
            None => self.text_of(func),
            Some(_) => func.child_by_field_name("attribute").map_or("", |a| self.text_of(a)),
        };
        let prefix = dotted.as_deref().map_or("", |d| resources::split_callee(d).0);
        let path_receiver = receiver.and_then(|r| resources::path_constructor(r, text));
        let arg = |position: usize, keywords: &[&str]| {
            resources::call_argument(args, position, keywords, text).map(|a| resources::path_argument(a, text))
        };

        if dotted.as_deref().is_some_and(resources::is_open_callee) {
            let path = arg(0, &["file", "filename"]);
            let mode = resources::call_argument(args, 1, &["mode"], text);
            self.open_effects(path, mode, &callee, span);
        } else if last == "open" && path_receiver.is_some() {
            let mode = resources::call_argument(args, 0, &["mode"], text);
            self.open_effects(path_receiver, mode, &callee, span);
        } else if receiver.is_some() && matches!(last, "read_text" | "read_bytes" | "write_text" | "write_bytes") {
            let path = path_receiver.unwrap_or(PathArg::Unknown);
            self.file_access(path, last.starts_with("write"), &callee, span);
        } else if receiver.is_some() && resources::WRITERS.contains(&last) {
            if let Some(p) = arg(0, resources::WRITER_KEYWORDS) {
                self.file_access(p, true, &callee, span);
            }
        } else if !prefix.is_empty() && resources::READERS.contains(&last) {
            if let Some(p) = arg(0, resources::READER_KEYWORDS) {
                self.file_access(p, false, &callee, span);
            }
        } else if matches!(prefix, "np" | "numpy") {
            let write = match last {
                "save" | "savez" | "savez_compressed" | "savetxt" => true,
                "load" | "loadtxt" | "genfromtxt" => false,
                _ => return,
            };
            if let Some(p) = arg(0, &["file", "fname"]) {
                // numpy adds the extension when the name has none: `np.save("a", x)` writes `a.npy`.
                let extension = match last {
                    "save" => Some(".npy"),
                    "savez" | "savez_compressed" => Some(".npz"),
                    _ => None,
                };
                let p = match (p, extension) {
                    (resources::PathArg::Known(path), Some(ext)) if !path.ends_with(ext) => {
                        resources::PathArg::Known(format!("{path}{ext}"))
                    }
                    (p, _) => p,
                };
                self.file_access(p, write, &callee, span);
            }
        } else if matches!(prefix, "joblib" | "torch") {
            let (write, position, keyword) = match (prefix, last) {
                ("joblib", "dump") => (true, 1, "filename"),
                ("joblib", "load") => (false, 0, "filename"),
                ("torch", "save") => (true, 1, "f"),
                ("torch", "load") => (false, 0, "f"),
                _ => return,
            };
            if let Some(p) = arg(position, &[keyword]) {
                self.file_access(p, write, &callee, span);
            }
        } else if receiver.is_some() && last == "savefig" {
            if let Some(p) = arg(0, &["fname"]) {
                self.file_access(p, true, &callee, span);
            }
        } else if prefix == "shutil" && matches!(last, "copy" | "copy2" | "copyfile") {
            if let Some(p) = arg(0, &["src"]) {
                self.file_access(p, false, &callee, span);
            }
            if let Some(p) = arg(1, &["dst"]) {
                self.file_access(p, true, &callee, span);
            }
        } else if last == "ExcelWriter" {
            if let Some(p) = arg(0, &["path"]) {
                self.file_access(p, true, &callee, span);
            }
        }
    }

    /// `open(path, mode)`: read for `r`, write for `w`/`x`, both for `a`/`+` or a mode
    /// that is not a literal.
    fn open_effects(&mut self, path: Option<PathArg>, mode: Option<Node>, callee: &str, span: Span) {
        let Some(path) = path else { return };
        let mode = match mode {
            None => Some("r".to_string()),
            Some(m) => resources::string_literal(m, self.text),
        };
        let (read, write) = match mode.as_deref() {
            Some(m) if m.contains(['w', 'x']) && !m.contains('+') => (false, true),
            Some(m) if m.contains(['a', '+']) => (true, true),
            Some(_) => (true, false),
            None => (true, true),
        };
        if read {
            self.file_access(path.clone(), false, callee, span);
        }
        if write {
            self.file_access(path, true, callee, span);
        }
    }

    fn file_access(&mut self, path: PathArg, write: bool, callee: &str, span: Span) {
        let e = match path {
            PathArg::Known(path) if write => Effect::FileWrite { path, span },
            PathArg::Known(path) => Effect::FileRead { path, span },
            PathArg::Unknown => Effect::FileUnknown { call: callee.to_string(), write, span },
            PathArg::NotAFile => return,
        };
        self.emit(e);
    }
}

// ----- free helpers --------------------------------------------------------------------

/// `x` (also `(x)`): the identifier an assignment target is, if it is one.
fn plain_identifier(t: Node) -> Option<Node> {
    match t.kind() {
        "identifier" => Some(t),
        "parenthesized_expression" if t.named_child_count() == 1 => t.named_child(0).and_then(plain_identifier),
        _ => None,
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

fn named_children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).collect()
}

fn first_identifier(n: Node) -> Option<Node> {
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

fn first_identifier_or_self(n: Node) -> Option<Node> {
    if n.kind() == "identifier" {
        Some(n)
    } else {
        first_identifier(n)
    }
}

/// Identifiers bound by a target pattern (`a, (b, *c)`), not those inside subscripts or
/// attributes.
fn pattern_identifiers(n: Node) -> Vec<Node> {
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

/// The attribute names of `x.a.b` (through subscripts): `["a", "b"]`.
fn attribute_path(n: Node, text: &str) -> Vec<String> {
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
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '\\').collect()
}

/// Names local to a function or lambda body, and its `global` names: everything the
/// body binds (outside nested functions, classes and lambdas, whose names only are
/// local) — assignments, loop/with/except targets, imports, walrus, `del`, match
/// captures. `nonlocal` names count as local (they are not module names).
fn collect_locals(body: Node, text: &str) -> (HashSet<String>, HashSet<String>) {
    let mut locals = HashSet::new();
    let mut globals = HashSet::new();
    let name = |n: Node| text.get(n.byte_range()).unwrap_or("").to_string();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::{MagicHandling, ProblemSeverity};

    /// A compact rendering of effects: `R x`, `r x` (soft), `B x`, `b x` (conditional),
    /// `M x`, `D x`, `MC x.a.b`, `MC! x.a` (inplace), `C f(a,_;k=c)`, `* m`.
    fn fx(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .map(|e| match e {
                Effect::Read { name, soft, .. } => {
                    format!("{} {name}", if *soft { "r" } else { "R" })
                }
                Effect::Bind { name, conditional, .. } => format!("{} {name}", if *conditional { "b" } else { "B" }),
                Effect::Mutate { name, .. } => format!("M {name}"),
                Effect::Delete { name, .. } => format!("D {name}"),
                Effect::MethodCall { receiver, path, inplace, .. } => {
                    format!("MC{} {receiver}.{}", if *inplace { "!" } else { "" }, path.join("."))
                }
                Effect::Call { callee, args, kwargs, .. } => {
                    let a: Vec<String> = args.iter().map(|x| x.clone().unwrap_or("_".into())).collect();
                    let k: Vec<String> =
                        kwargs.iter().map(|(k, v)| format!("{k}={}", v.clone().unwrap_or("_".into()))).collect();
                    format!("C {callee}({};{})", a.join(","), k.join(","))
                }
                Effect::StarImport { module, .. } => format!("* {module}"),
                Effect::Alias { name, of, .. } => format!("A {name}<-{}", of.join(",")),
                Effect::Value { name, hint, .. } => match hint {
                    ValueHint::Lambda => format!("V {name}: lambda"),
                    ValueHint::Unserializable { what } => format!("V {name}: {what}"),
                },
                Effect::DynamicNamespace { call, .. } => format!("DN {call}"),
                Effect::FileWrite { path, .. } => format!("FW {path}"),
                Effect::FileRead { path, .. } => format!("FR {path}"),
                Effect::FileUnknown { call, write, .. } => {
                    format!("FU{} {call}", if *write { "w" } else { "r" })
                }
            })
            .collect()
    }

    /// Whether an effect is one of the alias/value/namespace/file effects (left out by
    /// [`effects`], so the older tests state only the scope effects).
    fn is_resource_effect(e: &Effect) -> bool {
        matches!(
            e,
            Effect::Alias { .. }
                | Effect::Value { .. }
                | Effect::DynamicNamespace { .. }
                | Effect::FileWrite { .. }
                | Effect::FileRead { .. }
                | Effect::FileUnknown { .. }
        )
    }

    fn cell(src: &str) -> CellFacts {
        let f = analyze_cell(src);
        assert_eq!(f.program.matches('\n').count(), src.matches('\n').count());
        f
    }

    fn effects(src: &str) -> Vec<String> {
        let f = cell(src);
        assert!(f.problems.iter().all(|p| p.severity != ProblemSeverity::Error), "{:?}", f.problems);
        let scope: Vec<Effect> = f.effects.into_iter().filter(|e| !is_resource_effect(e)).collect();
        fx(&scope)
    }

    /// All effects, scope and resource ones.
    fn all_effects(src: &str) -> Vec<String> {
        let f = cell(src);
        assert!(f.problems.iter().all(|p| p.severity != ProblemSeverity::Error), "{:?}", f.problems);
        fx(&f.effects)
    }

    /// Only the resource effects (alias, value, namespace, files) of a cell.
    fn res(src: &str) -> Vec<String> {
        let f = cell(src);
        let kept: Vec<Effect> = f.effects.into_iter().filter(is_resource_effect).collect();
        fx(&kept)
    }

    /// Only the resource effects in the call effects of the cell's first definition.
    fn call_res(src: &str) -> Vec<String> {
        let f = cell(src);
        let kept: Vec<Effect> =
            f.definitions[0].call_effects.iter().filter(|e| is_resource_effect(e)).cloned().collect();
        fx(&kept)
    }

    #[test]
    fn assignment_order() {
        assert_eq!(effects("x = f(y)\n"), ["R f", "R y", "C f(y;)", "B x"]);
        assert_eq!(effects("a = b = c\n"), ["R c", "B a", "B b"]);
        assert_eq!(effects("x += v\n"), ["R x", "R v", "B x"]);
        assert_eq!(effects("x: T = v\ny: int\n"), ["R T", "R v", "B x", "R int"]);
        assert_eq!(effects("a, (b, *c) = t\n"), ["R t", "B a", "B b", "B c"]);
    }

    #[test]
    fn mutations() {
        assert_eq!(effects("x.append(1)\n"), ["R x", "MC x.append"]);
        assert_eq!(effects("x[k] = v\n"), ["R v", "R x", "R k", "M x"]);
        assert_eq!(effects("x.a = v\n"), ["R v", "R x", "M x"]);
        assert_eq!(effects("x.a[k] = v\n"), ["R v", "R x", "R k", "M x"]);
        assert_eq!(effects("del x[k]\ndel y.a\ndel z\n"), ["R x", "R k", "M x", "R y", "M y", "D z"]);
        assert_eq!(effects("x[0] += 1\n"), ["R x", "M x"]);
        assert_eq!(effects("df.drop(columns=c, inplace=True)\n"), ["R df", "R c", "MC! df.drop"]);
        assert_eq!(effects("np.random.seed(0)\n"), ["R np", "MC np.random.seed"]);
        assert_eq!(effects("random.shuffle(x)\n"), ["R random", "R x", "MC random.shuffle", "M x"]);
        assert_eq!(effects("heapq.heappush(h, 1)\n"), ["R heapq", "R h", "MC heapq.heappush", "M h"]);
        assert_eq!(effects("v = next(it)\n"), ["R next", "R it", "C next(it;)", "M it", "B v"]);
        assert_eq!(effects("f(a, 1, k=c, j=2)\n"), ["R f", "R a", "R c", "C f(a,_;k=c,j=_)"]);
    }

    #[test]
    fn control_flow_is_conditional() {
        assert_eq!(effects("for i in xs:\n    y = i\n"), ["R xs", "b i", "R i", "b y"]);
        assert_eq!(effects("if c:\n    a = 1\nelse:\n    b = 2\n"), ["R c", "b a", "b b"]);
        assert_eq!(
            effects("with open(p) as fh:\n    d = fh\n"),
            ["R open", "R p", "C open(p;)", "B fh", "R fh", "B d"]
        );
        assert_eq!(effects("while c:\n    n = 1\n"), ["R c", "b n"]);
    }

    #[test]
    fn except_as_is_deleted() {
        assert_eq!(
            effects("try:\n    a = f()\nexcept ValueError as e:\n    m = e\n"),
            ["R f", "C f(;)", "b a", "R ValueError", "b e", "R e", "b m", "D e"]
        );
    }

    #[test]
    fn name_error_guard_makes_reads_soft() {
        assert_eq!(effects("try:\n    x\nexcept NameError:\n    x = 1\n"), ["r x", "R NameError", "b x"]);
        assert_eq!(effects("try:\n    x\nexcept:\n    pass\n"), ["r x"]);
        assert_eq!(effects("try:\n    x\nexcept KeyError:\n    pass\n"), ["R x", "R KeyError"]);
    }

    #[test]
    fn comprehensions_and_walrus() {
        assert_eq!(effects("ys = [y * k for y in xs if y]\n"), ["R xs", "R k", "B ys"]);
        assert_eq!(effects("ys = [(last := y) for y in xs]\n"), ["R xs", "b last", "B ys"]);
        assert_eq!(effects("d = {k: v for k, v in items.items()}\n"), ["R items", "MC items.items", "B d"]);
        assert_eq!(effects("if (n := len(a)) > 1:\n    pass\n"), ["R len", "R a", "C len(a;)", "B n"]);
        assert_eq!(effects("s = sum(x for x in xs)\n"), ["R sum", "R xs", "C sum(_;)", "B s"]);
    }

    #[test]
    fn lambdas_read_softly() {
        assert_eq!(effects("f = lambda a, b=d: a + g(b) + c\n"), ["R d", "r g", "C g(b;)", "r c", "B f"]);
    }

    #[test]
    fn imports() {
        let f = cell("import a.b.c\nimport a.b as ab\nfrom m import x as y, z\nfrom . import loc\nfrom n import *\nfrom __future__ import annotations\n");
        assert_eq!(fx(&f.effects), ["B a", "B ab", "B y", "B z", "B loc", "* n"]);
        let kinds: Vec<&BindKind> = f
            .effects
            .iter()
            .filter_map(|e| if let Effect::Bind { kind, .. } = e { Some(kind) } else { None })
            .collect();
        assert_eq!(
            kinds[0],
            &BindKind::Import { module: "a.b.c".into(), attribute: None, statement: "import a.b.c".into() }
        );
        assert_eq!(
            kinds[1],
            &BindKind::Import { module: "a.b".into(), attribute: None, statement: "import a.b as ab".into() }
        );
        assert_eq!(
            kinds[2],
            &BindKind::Import {
                module: "m".into(),
                attribute: Some("x".into()),
                statement: "from m import x as y".into()
            }
        );
        assert_eq!(
            kinds[4],
            &BindKind::Import {
                module: ".".into(),
                attribute: Some("loc".into()),
                statement: "from . import loc".into()
            }
        );
        assert_eq!(f.imported_modules, ["a.b.c", "a.b", "m", ".", "n"]);
    }

    #[test]
    fn imports_inside_functions_are_listed_but_local() {
        let f = cell("def f():\n    import os\n    try:\n        import ujson as json\n    except ImportError:\n        json = None\n    return os.getcwd(), json\n");
        assert_eq!(f.imported_modules, ["os", "ujson"]);
        assert_eq!(fx(&f.definitions[0].call_effects), ["r ImportError"]);
    }

    #[test]
    fn functions_defer_their_reads() {
        let f = cell("@deco(a)\ndef f(p, q=dflt, *args, k: T = 1, **kw):\n    loc = p + g\n    h(loc)\n    return [loc for _ in q]\nf(x)\n");
        assert_eq!(fx(&f.effects), ["R deco", "R a", "C deco(a;)", "R dflt", "r T", "B f", "R f", "R x", "C f(x;)"]);
        let d = &f.definitions[0];
        assert_eq!(d.name, "f");
        assert_eq!(fx(&d.call_effects), ["r g", "r h", "C h(loc;)"]);
        assert!(d.source.starts_with("@deco(a)\ndef f("));
        assert!(d.source.ends_with("return [loc for _ in q]"));
        assert!(matches!(f.effects[5], Effect::Bind { kind: BindKind::Definition(0), .. }));
    }

    #[test]
    fn globals_in_functions() {
        let f = cell("def inc():\n    global counter, gone\n    counter += 1\n    del gone\n    cache[1] = 2\n    log.append(1)\n");
        assert_eq!(
            fx(&f.definitions[0].call_effects),
            ["r counter", "b counter", "D gone", "r cache", "M cache", "r log", "MC log.append"]
        );
        assert!(f.effects.len() == 1);
    }

    #[test]
    fn nonlocal_and_nested_functions() {
        let f = cell("def outer():\n    n = 0\n    def inner():\n        nonlocal n\n        n += 1\n        return m\n    return inner\n");
        assert_eq!(fx(&f.definitions[0].call_effects), ["r m"]);
        assert_eq!(f.definitions.len(), 1);
    }

    #[test]
    fn mutated_params() {
        let f = cell(
            "def f(a, b, c, d, e):\n    a.append(1)\n    b[0] = 1\n    c.x += 1\n    random.shuffle(d)\n    e = 3\n",
        );
        assert_eq!(
            f.definitions[0].mutated_params,
            [(0, "a".to_string()), (1, "b".into()), (2, "c".into()), (3, "d".into())]
        );
    }

    #[test]
    fn classes() {
        let src = "class C(Base, metaclass=M):\n    k = v\n    j = k + w\n    def __init__(self, data):\n        self.data = data\n        data.clear()\n    def m(self):\n        return k + z\n";
        let f = cell(src);
        assert_eq!(fx(&f.effects), ["R Base", "R M", "R v", "R w", "B C"]);
        let d = &f.definitions[0];
        assert_eq!(d.kind, DefinitionKind::Class);
        assert_eq!(fx(&d.call_effects), ["r k", "r z"]);
        assert_eq!(d.mutated_params, [(0, "data".to_string())]);
        assert_eq!(d.source, src.trim_end());
    }

    #[test]
    fn fstrings() {
        assert_eq!(effects("s = f\"{a!r:{w}} {b.c} {d['k']}\"\n"), ["R a", "R w", "R b", "R d", "B s"]);
    }

    #[test]
    fn match_statement() {
        let e = effects("match p:\n    case Point(x=0, y=yy) | [a, *rest] as whole:\n        pass\n    case Color.RED:\n        pass\n    case _:\n        pass\n");
        assert_eq!(e, ["R p", "R Point", "b yy", "b a", "b rest", "b whole", "R Color"]);
    }

    #[test]
    fn type_alias_and_type_params() {
        assert_eq!(effects("type Vec[T] = list[T]\ndef f[T](x: T) -> T:\n    return x\n"), ["B Vec", "B f"]);
    }

    #[test]
    fn magics_in_analysis() {
        let f = cell("%matplotlib inline\nfiles = !ls {d}/*.csv\n!echo $n\n%time y = f(files)\n");
        assert_eq!(fx(&f.effects), ["r d", "B files", "r n", "R f", "R files", "C f(files;)", "B y"]);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        assert_eq!(f.magics.len(), 4);
    }

    #[test]
    fn cell_magic_bodies() {
        let f = cell("%%capture out\nx = g(1)\n");
        assert_eq!(fx(&f.effects), ["R g", "C g(_;)", "B x", "B out"]);
        assert_eq!(f.program, "\nx = g(1)\n");
        let f = cell("%%time\ndef h():\n    return q\n");
        assert_eq!(f.definitions[0].source, "def h():\n    return q");
        let f = cell("%%bash\necho $x\n");
        assert!(f.effects.is_empty());
        assert_eq!(f.magics[0].handling, MagicHandling::Translated);
    }

    #[test]
    fn definition_source_uses_translated_program() {
        let f = cell("if True:\n    def f():\n        !ls\n");
        assert_eq!(f.definitions[0].source, "def f():\n    _nbkf_ipython.system('ls', globals(), locals())");
    }

    #[test]
    fn python2_and_syntax_errors() {
        let f = cell("print \"hi\"\n");
        assert!(f.problems.iter().any(|p| p.message.starts_with("Python 2 syntax")), "{:?}", f.problems);
        let f = cell("x = (1,\ny = 2 +\n");
        let p = f.problems.iter().find(|p| p.message == "invalid Python syntax").expect("syntax error");
        assert!(p.span.line >= 1);
        let f = cell("pip install pandas\n");
        assert!(
            f.problems
                .iter()
                .any(|p| p.hint.as_deref() == Some("write `%pip install pandas` (IPython automagic is not supported)")),
            "{:?}",
            f.problems
        );
    }

    #[test]
    fn spans_are_one_based_in_chars() {
        let f = cell("é = 1\nz = é\n");
        let Effect::Read { span, .. } = &f.effects[1] else { panic!("{:?}", f.effects) };
        assert_eq!((span.line, span.column), (2, 5));
    }

    #[test]
    fn robustness() {
        for src in [
            "",
            "# only a comment\n",
            "\n\n",
            "x = 1\r\ny = x\r\n",
            "\tif a:\n\t\tb",
            "def f(:\n",
            "%",
            "!",
            "?",
            "%%",
            "x = !",
            "\u{feff}x=1",
        ] {
            let _ = analyze_cell(src);
        }
        assert_eq!(effects("x = 1\r\ny = x\r\n"), ["B x", "R x", "B y"]);
        let deep = format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
        let f = analyze_cell(&deep);
        assert!(!f.problems.is_empty());
        let deep_blocks: String =
            (0..300).map(|i| format!("{}if a:\n", " ".repeat(i))).collect::<String>() + &" ".repeat(300) + "pass\n";
        let _ = analyze_cell(&deep_blocks);
        let big = "x = [1, 2, 3]\ny = x[0] + f(x)\n".repeat(20_000);
        let f = analyze_cell(&big);
        assert_eq!(f.effects.len(), 20_000 * 6);
    }

    // ----- aliases, value hints, dynamic namespaces, files ---------------------------

    #[test]
    fn alias_follows_its_bind() {
        assert_eq!(all_effects("b = a\n"), ["R a", "B b", "A b<-a"]);
        assert_eq!(all_effects("b = c = a\n"), ["R a", "B b", "A b<-a", "B c", "A c<-a"]);
        assert_eq!(res("b = a.attr\n"), ["A b<-a"]);
        assert_eq!(res("b = a[k]\n"), ["A b<-a"]);
        assert_eq!(res("b = a.x[0].y\n"), ["A b<-a"]);
        assert_eq!(res("b = [a, c]\n"), ["A b<-a,c"]);
        assert_eq!(res("b = (a, c)\n"), ["A b<-a,c"]);
        assert_eq!(res("b = a, c\n"), ["A b<-a,c"]);
        assert_eq!(res("b = {a, c}\n"), ["A b<-a,c"]);
        assert_eq!(res("b = {'k': a, 'x': c}\n"), ["A b<-a,c"]);
        assert_eq!(res("b = {'k': [a, (c, d)], 'x': {'y': e}}\n"), ["A b<-a,c,d,e"]);
        assert_eq!(res("b = [a, a]\n"), ["A b<-a"]);
        assert_eq!(res("b = [*a, c]\n"), ["A b<-a,c"]);
        assert_eq!(res("b = a if cond else c\n"), ["A b<-a,c"]);
        assert_eq!(res("b = a or c\n"), ["A b<-a,c"]);
    }

    #[test]
    fn alias_of_unpacking() {
        assert_eq!(all_effects("b, c = a\n"), ["R a", "B b", "A b<-a", "B c", "A c<-a"]);
        assert_eq!(res("b, c = a, d\n"), ["A b<-a", "A c<-d"]);
        assert_eq!(res("b, (c, e) = a, (d, f)\n"), ["A b<-a", "A c<-d", "A e<-f"]);
        assert_eq!(res("b, *c = a, d, e\n"), ["A b<-a,d,e", "A c<-a,d,e"]);
        assert_eq!(res("b, c = a, f(d)\n"), ["A b<-a"]);
    }

    #[test]
    fn no_alias_for_new_values() {
        for src in [
            "b = f(a)\n",
            "b = a.copy()\n",
            "b = a + c\n",
            "b = -a\n",
            "b = 1\n",
            "b = 'a'\n",
            "b = [x for x in a]\n",
            "b = [f(a), g(c)]\n",
            "b = {k: a for k in c}\n",
            "b = lambda: a\n",
            "b = a < c\n",
            "b = not a\n",
            "x[0] = a\n",
            "x.y = a\n",
            "b += a\n",
        ] {
            assert!(res(src).iter().all(|e| !e.starts_with("A ")), "{src}: {:?}", res(src));
        }
        assert_eq!(res("b = [f(a), c]\n"), ["A b<-c"]);
    }

    #[test]
    fn alias_only_at_module_level() {
        assert!(res("def f():\n    b = a\n    global g\n    g = a\n").is_empty());
        assert!(call_res("def f():\n    global g\n    g = a\n").is_empty());
        assert!(res("class C:\n    b = a\n").is_empty());
        assert!(res("[b for b in a]\n").is_empty());
        assert_eq!(res("if t:\n    b = a\n"), ["A b<-a"]);
        let f = cell("if t:\n    b = a\n");
        assert!(matches!(&f.effects[2], Effect::Bind { conditional: true, .. }));
    }

    #[test]
    fn alias_of_loop_targets() {
        assert_eq!(all_effects("for b in xs:\n    pass\n"), ["R xs", "b b", "A b<-xs"]);
        assert_eq!(res("for b in [a, c]:\n    pass\n"), ["A b<-a,c"]);
        assert_eq!(res("for b in a, c:\n    pass\n"), ["A b<-a,c"]);
        assert_eq!(res("for b in self.items:\n    pass\n"), ["A b<-self"]);
        assert_eq!(res("for i, b in enumerate(xs):\n    pass\n"), ["A b<-xs"]);
        assert_eq!(res("for i, b in enumerate(xs, start=1):\n    pass\n"), ["A b<-xs"]);
        assert_eq!(res("for a, b in zip(xs, ys):\n    pass\n"), ["A a<-xs", "A b<-ys"]);
        assert_eq!(res("for i, (a, b) in enumerate(zip(xs, ys)):\n    pass\n"), ["A a<-xs", "A b<-ys"]);
        assert_eq!(res("for k, v in d.items():\n    pass\n"), ["A k<-d", "A v<-d"]);
        assert_eq!(res("for v in d.values():\n    pass\n"), ["A v<-d"]);
        assert_eq!(res("for a, b in pairs:\n    pass\n"), ["A a<-pairs", "A b<-pairs"]);
        assert!(res("for i in range(n):\n    pass\n").is_empty());
        assert!(res("for b in sorted(xs):\n    pass\n").is_empty());
        assert!(res("def f():\n    for b in xs:\n        pass\n").is_empty());
    }

    #[test]
    fn value_hints_of_open_files() {
        assert_eq!(
            all_effects("f = open('a.txt')\n"),
            ["R open", "C open(_;)", "FR a.txt", "B f", "V f: an open file (`open(...)`)"]
        );
        assert_eq!(
            res("import gzip\nf = gzip.open(p, 'rt')\n"),
            ["FUr gzip.open", "V f: an open file (`gzip.open(...)`)"]
        );
        assert_eq!(res("f = io.open(p)\n"), ["FUr io.open", "V f: an open file (`io.open(...)`)"]);
        assert_eq!(res("t = tempfile.NamedTemporaryFile()\n"), ["V t: an open file (`tempfile.NamedTemporaryFile()`)"]);
        assert_eq!(res("t = TemporaryFile()\n"), ["V t: an open file (`TemporaryFile()`)"]);
        assert_eq!(res("with open('a.txt') as f:\n    pass\n"), ["FR a.txt", "V f: an open file (`open(...)`)"]);
        assert_eq!(
            res("with open('a') as f, open('b', 'w') as g:\n    pass\n"),
            ["FR a", "V f: an open file (`open(...)`)", "FW b", "V g: an open file (`open(...)`)"]
        );
        assert_eq!(res("f = Path('a').open()\n"), ["FR a", "V f: an open file (`Path('a').open(...)`)"]);
        // Not the file: what is read from it.
        assert_eq!(res("s = open('a').read()\n"), ["FR a"]);
        assert!(res("def g():\n    f = open(p)\n").is_empty());
    }

    #[test]
    fn value_hints_of_generators_and_lambdas() {
        assert_eq!(all_effects("g = (x for x in y)\n"), ["R y", "B g", "V g: a generator"]);
        assert_eq!(res("f = lambda x: x\n"), ["V f: lambda"]);
        assert_eq!(res("f = (lambda: 1)\n"), ["V f: lambda"]);
        assert_eq!(res("def gen():\n    yield 1\ng = gen()\n"), ["V g: a generator (`gen()` yields)"]);
        assert_eq!(res("def gen():\n    yield from range(3)\ng = gen()\n"), ["V g: a generator (`gen()` yields)"]);
        // No yield of its own, only in a nested function; decorated (`@contextmanager`).
        assert!(res("def f():\n    def g():\n        yield 1\n    return g\nx = f()\n").is_empty());
        assert!(res("@contextmanager\ndef f():\n    yield 1\nx = f()\n").is_empty());
        // A list comprehension, a call of an unknown function.
        assert!(res("g = [x for x in y]\n").is_empty());
        assert!(res("g = gen()\n").is_empty());
        assert!(res("g = list(x for x in y)\n").is_empty());
    }

    #[test]
    fn value_hints_of_unserializable_objects() {
        let one = |src: &str| -> String {
            let r = res(src);
            assert_eq!(r.len(), 1, "{src}: {r:?}");
            r[0].clone()
        };
        assert_eq!(one("l = threading.Lock()\n"), "V l: a lock (`threading.Lock()`)");
        assert_eq!(one("l = RLock()\n"), "V l: a lock (`RLock()`)");
        assert_eq!(one("t = threading.Thread(target=f)\n"), "V t: a thread (`threading.Thread(...)`)");
        assert_eq!(one("p = multiprocessing.Pool(4)\n"), "V p: a process pool (`multiprocessing.Pool(...)`)");
        assert_eq!(one("from multiprocessing import Pool\np = Pool(4)\n"), "V p: a process pool (`Pool(...)`)");
        assert_eq!(one("s = socket.socket()\n"), "V s: a socket (`socket.socket()`)");
        assert_eq!(
            one("con = sqlite3.connect('db.sqlite')\n"),
            "V con: a database connection (`sqlite3.connect(...)`)"
        );
        assert_eq!(
            one("con = mysql.connector.connect(host=h)\n"),
            "V con: a database connection (`mysql.connector.connect(...)`)"
        );
        assert_eq!(one("e = create_engine(url)\n"), "V e: a database engine (`create_engine(...)`)");
        assert_eq!(one("r = urllib.request.urlopen(u)\n"), "V r: an open URL (`urllib.request.urlopen(...)`)");
        assert_eq!(
            one("with sqlite3.connect('x.db') as con:\n    pass\n"),
            "V con: a database connection (`sqlite3.connect(...)`)"
        );
        // `with Lock() as l` binds what `acquire()` returned, not the lock.
        assert!(res("with threading.Lock() as l:\n    pass\n").is_empty());
        // Picklable, or not known to be unpicklable.
        for src in [
            "from catboost import Pool\np = Pool(X, y)\n",
            "c = connect(url)\n",
            "s = requests.Session()\n",
            "it = iter(xs)\n",
            "df = pd.DataFrame(x)\n",
            "l = threading.Lock\n",
        ] {
            assert!(res(src).iter().all(|e| !e.starts_with("V ")), "{src}");
        }
    }

    #[test]
    fn dynamic_namespaces() {
        assert_eq!(all_effects("g = globals()\n"), ["R globals", "C globals(;)", "DN globals", "B g"]);
        for call in ["locals()", "vars()", "exec(code)", "eval(s)", "__import__(m)"] {
            let name = call.split('(').next().unwrap_or("");
            assert_eq!(res(&format!("{call}\n")), [format!("DN {name}")], "{call}");
        }
        assert_eq!(res("m = importlib.import_module('x')\n"), ["DN importlib.import_module"]);
        assert!(res("vars(obj)\n").is_empty());
        assert!(res("evaluate(s)\n").is_empty());
        assert!(res("model.eval()\n").is_empty());
        // In a function: in its call effects, not the cell's.
        let src = "def f(s):\n    return eval(s)\n";
        assert!(res(src).is_empty());
        assert_eq!(call_res(src), ["DN eval"]);
        assert_eq!(call_res("class C:\n    def m(self):\n        exec(c)\n"), ["DN exec"]);
        // A local named like the builtin.
        assert!(call_res("def f(eval):\n    return eval(1)\n").is_empty());
    }

    #[test]
    fn open_modes() {
        assert_eq!(res("open('a')\n"), ["FR a"]);
        assert_eq!(res("open('a', 'r')\n"), ["FR a"]);
        assert_eq!(res("open('a', 'rb')\n"), ["FR a"]);
        assert_eq!(res("open('a', 'w')\n"), ["FW a"]);
        assert_eq!(res("open('a', mode='wb')\n"), ["FW a"]);
        assert_eq!(res("open('a', 'x')\n"), ["FW a"]);
        assert_eq!(res("open('a', 'a')\n"), ["FR a", "FW a"]);
        assert_eq!(res("open('a', 'r+')\n"), ["FR a", "FW a"]);
        assert_eq!(res("open('a', m)\n"), ["FR a", "FW a"]);
        assert_eq!(res("open(file='a', mode='w')\n"), ["FW a"]);
        assert_eq!(res("open(p, 'w')\n"), ["FUw open"]);
        assert_eq!(res("open(p)\n"), ["FUr open"]);
        assert_eq!(res("open(p, 'a')\n"), ["FUr open", "FUw open"]);
        assert_eq!(res("open(f'{d}/a.csv')\n"), ["FUr open"]);
        assert_eq!(res("open(d + '/a.csv')\n"), ["FUr open"]);
        assert_eq!(res("open(os.path.join(d, 'a'))\n"), ["FUr open"]);
        assert_eq!(res("open(os.path.join('d', 'a'))\n"), ["FR d/a"]);
        assert_eq!(res("open(Path('d') / 'a')\n"), ["FUr open"]);
        assert_eq!(res("open(Path('d', 'a'))\n"), ["FR d/a"]);
        assert_eq!(res("open('a\\\\b\\x41.txt')\n"), ["FR a\\bA.txt"]);
        assert_eq!(res("open(r'a\\b')\n"), ["FR a\\b"]);
        assert_eq!(res("gzip.open('a.gz', 'wt')\n"), ["FW a.gz"]);
        assert_eq!(res("pickle.dump(m, open('m.pkl', 'wb'))\n"), ["FW m.pkl"]);
        assert_eq!(res("json.dump(d, open('d.json', 'w'))\n"), ["FW d.json"]);
        assert!(res("open(3)\n").is_empty());
        assert!(res("f.open()\n").is_empty());
        assert!(res("Image.open(p)\n").is_empty());
    }

    #[test]
    fn pathlib_files() {
        assert_eq!(res("Path('a.txt').write_text(s)\n"), ["FW a.txt"]);
        assert_eq!(res("pathlib.Path('a.bin').write_bytes(b)\n"), ["FW a.bin"]);
        assert_eq!(res("s = Path('a.txt').read_text()\n"), ["FR a.txt"]);
        assert_eq!(res("Path('a').read_bytes()\n"), ["FR a"]);
        assert_eq!(res("Path('a').open('w')\n"), ["FW a"]);
        assert_eq!(res("p.write_text(s)\n"), ["FUw p.write_text"]);
        assert_eq!(res("Path(d).read_text()\n"), ["FUr Path(d).read_text"]);
    }

    #[test]
    fn pandas_numpy_and_friends() {
        assert_eq!(res("df.to_csv('out.csv', index=False)\n"), ["FW out.csv"]);
        assert_eq!(res("df.to_parquet(path='o.parquet')\n"), ["FW o.parquet"]);
        assert_eq!(res("df.to_excel(excel_writer='o.xlsx')\n"), ["FW o.xlsx"]);
        assert_eq!(res("df.to_json(path_or_buf='o.json')\n"), ["FW o.json"]);
        assert_eq!(res("df.head().to_pickle('o.pkl')\n"), ["FW o.pkl"]);
        assert_eq!(res("df.to_csv(out)\n"), ["FUw df.to_csv"]);
        assert_eq!(res("df.to_csv(f'{d}/o.csv')\n"), ["FUw df.to_csv"]);
        assert!(res("s = df.to_csv()\n").is_empty());
        assert!(res("s = df.to_json(orient='records')\n").is_empty());
        assert!(res("df.to_csv(None)\n").is_empty());
        assert!(res("df.to_csv(sys.stdout)\n").is_empty());
        assert!(res("df.to_csv(buf := io.StringIO())\n").iter().all(|e| e.starts_with("FU")));
        assert!(res("df.to_sql('t', con)\n").is_empty());
        assert_eq!(res("df = pd.read_csv('in.csv')\n"), ["FR in.csv"]);
        assert_eq!(res("pd.read_parquet(path='in.parquet')\n"), ["FR in.parquet"]);
        assert_eq!(res("pd.read_excel(io='in.xlsx')\n"), ["FR in.xlsx"]);
        assert_eq!(res("pd.read_csv(filepath_or_buffer='in.csv')\n"), ["FR in.csv"]);
        assert_eq!(res("pandas.read_table('t.tsv')\n"), ["FR t.tsv"]);
        assert_eq!(res("pd.read_csv(path)\n"), ["FUr pd.read_csv"]);
        assert!(res("pd.read_csv('https://x.org/a.csv')\n").is_empty());
        assert!(res("df.to_parquet('s3://bucket/a.parquet')\n").is_empty());
        assert!(res("pd.read_csv(io.StringIO(text))\n").is_empty());
        assert!(res("read_csv('a.csv')\n").is_empty());
        assert_eq!(res("np.save('a.npy', a)\n"), ["FW a.npy"]);
        assert_eq!(res("np.savez('a.npz', a=a)\n"), ["FW a.npz"]);
        assert_eq!(res("numpy.savetxt('a.txt', a)\n"), ["FW a.txt"]);
        assert_eq!(res("a = np.load('a.npy')\n"), ["FR a.npy"]);
        assert_eq!(res("np.loadtxt(fname='a.txt')\n"), ["FR a.txt"]);
        assert_eq!(res("np.genfromtxt(p)\n"), ["FUr np.genfromtxt"]);
        assert!(res("np.sum('a.npy')\n").is_empty());
        assert_eq!(res("joblib.dump(model, 'm.joblib')\n"), ["FW m.joblib"]);
        assert_eq!(res("m = joblib.load('m.joblib')\n"), ["FR m.joblib"]);
        assert_eq!(res("joblib.dump(model, path)\n"), ["FUw joblib.dump"]);
        assert_eq!(res("torch.save(model.state_dict(), 'm.pt')\n"), ["FW m.pt"]);
        assert_eq!(res("plt.savefig('fig.png', dpi=100)\n"), ["FW fig.png"]);
        assert_eq!(res("fig.savefig(fname='fig.svg')\n"), ["FW fig.svg"]);
        assert_eq!(res("fig.savefig(out)\n"), ["FUw fig.savefig"]);
        assert_eq!(res("shutil.copy('a', 'b')\n"), ["FR a", "FW b"]);
        assert_eq!(res("shutil.copyfile(src, 'b')\n"), ["FUr shutil.copyfile", "FW b"]);
    }

    #[test]
    fn file_effects_in_functions_go_to_call_effects() {
        let src = "def save(df):\n    df.to_csv('out.csv')\n    return pd.read_csv(p)\n";
        assert!(res(src).is_empty());
        assert_eq!(call_res(src), ["FW out.csv", "FUr pd.read_csv"]);
        let src = "class C:\n    def load(self):\n        return np.load('a.npy')\n";
        assert_eq!(call_res(src), ["FR a.npy"]);
        // Comprehensions and class bodies run now.
        assert_eq!(res("xs = [np.load(f) for f in fs]\n"), ["FUr np.load"]);
        assert_eq!(res("class C:\n    data = open('a').read()\n"), ["FR a"]);
    }

    #[test]
    fn writefile_cell_magic() {
        let f = cell("%%writefile script.py\nprint(1)\n");
        assert_eq!(fx(&f.effects), ["FW script.py"]);
        match &f.effects[0] {
            Effect::FileWrite { span, .. } => assert_eq!(span.line, 1),
            e => panic!("{e:?}"),
        }
        assert_eq!(fx(&cell("%%writefile -a 'my file.txt'\nx\n").effects), ["FR my file.txt", "FW my file.txt"]);
        assert_eq!(fx(&cell("%%writefile $name\nx\n").effects), ["FUw %%writefile"]);
        assert!(cell("%%writefile\nx\n").effects.is_empty());
        assert!(cell("%%bash\necho hi > a.txt\n").effects.is_empty());
    }

    /// Random cells from a tricky alphabet (magics, quotes, brackets, CRLF, non-ASCII)
    /// must never panic, and the program must keep the cell's line count.
    #[test]
    fn random_cells_never_panic() {
        const PIECES: &[&str] = &[
            "%",
            "%%",
            "!",
            "!!",
            "?",
            "x",
            "= ",
            "\\",
            "\n",
            "\r\n",
            "'",
            "\"",
            "\"\"\"",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "#",
            " ",
            "    ",
            "\t",
            "def f(a):",
            "class C:",
            "lambda y:",
            "é",
            "$",
            "time ",
            "pip install ",
            "for i in z:",
            ":",
            ".",
            "*",
            "del ",
            "global g",
            "try:",
            "except E as e:",
            "match m:",
            "case [a]:",
            "import a.b",
            "from . import *",
            "f'{",
            "}'",
            "ls",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut src = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                src.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            let f = analyze_cell(&src);
            assert_eq!(f.program.matches('\n').count(), src.matches('\n').count(), "{src:?}");
            let _ = crate::python::parse_parameters_cell(&src);
            let _ = crate::python::parse_metrics_cell(&src);
        }
    }
}
