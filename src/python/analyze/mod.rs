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
//!
//! The walk is split by concern, the way ruff splits its AST checker: [`statements`] and
//! [`expressions`] visit the tree, [`definitions`] handles `def`/`class` (whose bodies run
//! later), [`scope`] holds the scope model and name resolution, [`mutation`] decides what
//! changes an object in place, [`aliases`] what a binding shares with other names, and
//! [`files`] what a call does outside the name bindings (files, dynamic namespaces);
//! [`syntax`] has the tree-sitter helpers and the syntax-error report.

mod aliases;
mod definitions;
mod expressions;
mod files;
mod mutation;
mod paths;
mod scope;
mod statements;
mod syntax;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Parser};

use super::magics::{self, LineIndex, Preprocessed};
use super::{Arg, BindKind, CellFacts, Definition, Effect, ImportedModule, Problem, ProblemSeverity, Span};
use aliases::BindExtra;
use scope::{Scope, ScopeKind};
use syntax::syntax_problems;

/// Nesting depth beyond which the walk stops (real code stays far below it; Python's
/// own parser gives up at about 200 nested brackets).
const MAX_DEPTH: usize = 400;

/// Analyses one code cell: IPython syntax, then scopes and module-level effects.
pub fn analyze_cell(source: &str) -> CellFacts {
    let pre = magics::preprocess(source);
    let mut facts = CellFacts {
        magics: pre.magics.clone(),
        pip_packages: pre.pip_packages.clone(),
        pip_options: pre.pip_options.clone(),
        requirement_files: pre.requirement_files.clone(),
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
        optional_imports: 0,
        exhaustive: HashSet::new(),
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
            exhaustive: false,
        });
    }
    for (setting, start, end) in &pre.settings {
        a.emit(Effect::SetState { setting: setting.clone(), span: index.span(*start, *end) });
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
    facts.imports = a.imported;
    facts.problems.extend(a.problems);
    if root.has_error() {
        syntax_problems(root, &pre, &index, &mut facts.problems);
    }
    facts
}

/// NFKC normalisation, which Python applies to every identifier it parses (PEP 3131).
pub(super) fn normalize(name: &str) -> std::borrow::Cow<'_, str> {
    use unicode_normalization::UnicodeNormalization;
    if name.is_ascii() {
        std::borrow::Cow::Borrowed(name)
    } else {
        std::borrow::Cow::Owned(name.nfkc().collect())
    }
}

fn normalize_effect(e: &mut Effect) {
    let fix = |s: &mut String| {
        if !s.is_ascii() {
            *s = normalize(s).into_owned();
        }
    };
    let fix_arg = |a: &mut Arg| match a {
        Arg::Name(n) if !n.is_ascii() => *n = normalize(n).into_owned(),
        Arg::Names(ns) => {
            for n in ns.iter_mut().filter(|n| !n.is_ascii()) {
                *n = normalize(n).into_owned();
            }
        }
        _ => {}
    };
    match e {
        Effect::Read { name, .. }
        | Effect::Bind { name, .. }
        | Effect::Mutate { name, .. }
        | Effect::Delete { name, .. }
        | Effect::Value { name, .. } => fix(name),
        Effect::MethodCall { receiver, args, kwargs, .. } => {
            fix(receiver);
            args.iter_mut().for_each(fix_arg);
            kwargs.iter_mut().for_each(|(_, a)| fix_arg(a));
        }
        Effect::Call { callee, args, kwargs, .. } => {
            fix(callee);
            args.iter_mut().for_each(fix_arg);
            kwargs.iter_mut().for_each(|(_, a)| fix_arg(a));
        }
        Effect::Alias { name, of, .. } => {
            fix(name);
            of.iter_mut().for_each(fix);
        }
        Effect::StarImport { .. }
        | Effect::DynamicNamespace { .. }
        | Effect::FileWrite { .. }
        | Effect::FileRead { .. }
        | Effect::FileUnknown { .. }
        | Effect::SetState { .. } => {}
    }
}

/// An error [`Problem`] at `span`.
fn problem(span: Span, message: &str, hint: Option<&str>) -> Problem {
    Problem { severity: ProblemSeverity::Error, span, message: message.to_string(), hint: hint.map(str::to_string) }
}

/// The walk over one cell's tree: where effects go, the scope stack, and what the
/// statement being walked has planned for the names it binds.
struct Analyzer<'a> {
    /// The cell as written (for definition sources).
    src: &'a str,
    /// The masked cell that was parsed (identifier text is the same as in `src`).
    text: &'a str,
    index: &'a LineIndex<'a>,
    pre: &'a Preprocessed,
    effects: Vec<Effect>,
    definitions: Vec<Definition>,
    imported: Vec<ImportedModule>,
    problems: Vec<Problem>,
    scopes: Vec<Scope>,
    /// Greater than 0 inside a branch, loop, `try` or `match` case at the current level.
    conditional: usize,
    /// Greater than 0 inside a `try` body whose handlers catch `NameError`.
    soft_guard: usize,
    /// Greater than 0 inside a `try` body whose handlers catch `ImportError`: imports
    /// there are optional.
    optional_imports: usize,
    /// Names the module-level compound statement being walked binds on every path
    /// through it (see [`paths`]).
    exhaustive: HashSet<String>,
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
    fn text_of(&self, n: Node) -> &'a str {
        self.text.get(n.byte_range()).unwrap_or("")
    }

    fn span(&self, n: Node) -> Span {
        self.index.span(n.start_byte(), n.end_byte())
    }

    /// A name as Python compares names: NFKC-normalised (`µ` and `μ` are one name).
    fn normalized(&self, name: &str) -> String {
        normalize(name).into_owned()
    }

    /// Records an effect where it belongs: the cell, or the call effects of the
    /// definition whose body is being walked. Exact consecutive duplicates are dropped.
    /// Names are normalised as Python normalises identifiers.
    fn emit(&mut self, mut e: Effect) {
        normalize_effect(&mut e);
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
}
