//! Aliases and value hints: which names the value bound to a target shares objects with
//! (`b = a`, `for b in xs`), and what is known about the value (an open file, a lambda).

use tree_sitter::Node;

use super::mutation::returns_view;
use super::syntax::named_children;
use super::Analyzer;
use crate::python::{resources, Effect, Span, ValueHint};

/// What follows the module-level `Bind` of one target identifier: the names its new
/// value aliases, and what is known about the value (with the span of the expression).
#[derive(Default)]
pub(super) struct BindExtra {
    of: Vec<String>,
    pub(super) value: Option<(ValueHint, Span)>,
}

/// Where the value bound to a target comes from, for aliases: names, or one source per
/// element when a tuple is unpacked (`a, b = x, y`; `for i, v in enumerate(xs)`).
pub(super) enum AliasSource {
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

impl Analyzer<'_> {
    /// Emits the `Alias` and `Value` planned for target identifier `t`, right after its
    /// module-level `Bind`.
    pub(super) fn after_bind(&mut self, t: Node) {
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
    pub(super) fn plan_target(&mut self, t: Node, source: &AliasSource) {
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
    /// the receivers of view-returning methods ([`returns_view`]),
    /// the roots of attribute/subscript chains (`a.x`, `a[k]` may be part of `a`), and
    /// the plain names in displays (`[a, c]`, `{"k": a}`), not inside calls,
    /// comprehensions, operators or lambdas.
    pub(super) fn alias_source(&mut self, n: Node) -> AliasSource {
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
                        && f.child_by_field_name("attribute").is_some_and(|a| returns_view(self.text_of(a))) =>
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
    pub(super) fn iteration_source(&mut self, n: Node) -> AliasSource {
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
    pub(super) fn value_hint(&self, n: Node, in_with: bool) -> Option<ValueHint> {
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
}
