//! The plan's diagnostics about values and names: values that cannot be routed as the
//! notebook used them, shadowed builtins, dynamic namespaces, files passed between steps.

use std::collections::HashSet;

use super::walk::{Unit, Walk};
use crate::diagnostics::Diagnostic;
use crate::plan::builtins::is_builtin;
use crate::python::{Span, ValueHint};

impl Walk<'_> {
    /// What is known about a value passed from step `p` to step `q`.
    pub(super) fn check_route(&mut self, name: &str, p: usize, q: usize, cell: usize, span: Span) {
        let (producer, consumer) = (self.layout.steps[p].name.clone(), self.layout.steps[q].name.clone());
        match self.hints.get(name).cloned() {
            Some((ValueHint::Unserializable { what }, hcell, hspan))
                if self.warned.insert(("unserializable", format!("{name}:{q}"))) =>
            {
                self.diags.push(
                        Diagnostic::error("unserializable", format!(
                            "step `{consumer}` reads `{name}`, which holds {what} (cell {}, line {}, step `{producer}`): such a value cannot leave its process",
                            hcell + 1,
                            hspan.line
                        ))
                        .in_cell(cell)
                        .at(span)
                        .with_hint(format!("create `{name}` again in step `{consumer}`, or put the cells that use it in one step")),
                    );
            }
            Some((ValueHint::Unserializable { .. }, _, _)) => {}
            Some((ValueHint::Lambda, _, _)) => {
                // Pickle cannot carry a lambda; cloudpickle can (the step runtime uses it).
                self.steps[p].extra_packages.insert("cloudpickle".into());
                self.steps[q].extra_packages.insert("cloudpickle".into());
            }
            None => {}
        }
        if let Some((ccell, cspan)) = self.conditional_only.get(name).copied() {
            if self.warned.insert(("conditional-binding", name.to_string())) {
                self.diags.push(
                    Diagnostic::warning("conditional-binding", format!(
                        "step `{consumer}` reads `{name}`, which is bound only on some paths (cell {}, line {}, inside `if`, `try`, a loop or `match`); when it is not, the step fails as the notebook would",
                        ccell + 1,
                        cspan.line
                    ))
                    .in_cell(cell)
                    .at(span)
                    .with_hint(format!("give `{name}` a value before the condition")),
                );
            }
        }
    }

    /// Checks that every routed value is the one the reader saw in the notebook. Only
    /// steps whose cells are spread over the notebook (a step name used again further
    /// down) can break this.
    pub(super) fn check_routes(&self, diags: &mut Vec<Diagnostic>) {
        let mut seen = HashSet::new();
        for r in &self.routes {
            let producer = &self.layout.steps[r.producer].name;
            let writes = self.writes.get(&(Unit::Step(r.producer), r.variable.clone()));
            let last = writes.and_then(|w| w.last()).copied();
            let display = display_variable(&r.variable);
            if last != Some(r.binding_cell) && seen.insert((r.variable.clone(), r.reader_cell, 0)) {
                diags.push(
                    Diagnostic::error("split-step", format!(
                        "this cell reads {display} as set in cell {}, but step `{producer}` changes it again in cell {}; a step passes on its final values only",
                        r.binding_cell + 1,
                        last.map_or(0, |c| c + 1)
                    ))
                    .in_cell(r.reader_cell)
                    .at(r.span)
                    .with_hint(format!("give the cells after cell {} their own step name", r.binding_cell + 1)),
                );
            }
            if r.consumer == usize::MAX {
                continue;
            }
            let consumer = &self.layout.steps[r.consumer].name;
            if let Some(first) = self.steps[r.consumer].inputs.get(&r.variable) {
                if first.binding_cell != r.binding_cell && seen.insert((r.variable.clone(), r.reader_cell, 1)) {
                    diags.push(
                        Diagnostic::error("split-step", format!(
                            "step `{consumer}` reads {display} twice with different values (from cells {} and {}); a step loads each variable once",
                            first.binding_cell + 1,
                            r.binding_cell + 1
                        ))
                        .in_cell(r.reader_cell)
                    .at(r.span)
                        .with_hint("give the later cells their own step name"),
                    );
                }
            }
            let own_writes = self.writes.get(&(Unit::Step(r.consumer), r.variable.clone()));
            // A relay (the step passes on a value it loaded, shared with an alias it made)
            // does not change the value: the route still holds.
            let changed =
                |c: &&usize| **c < r.reader_cell && !self.relays.contains(&(r.consumer, r.variable.clone(), **c));
            if let Some(w) = own_writes.and_then(|w| w.iter().find(changed)) {
                if seen.insert((r.variable.clone(), r.reader_cell, 2)) {
                    diags.push(
                        Diagnostic::error("split-step", format!(
                            "step `{consumer}` sets {display} in cell {} but this cell needs the value from step `{producer}`; the step cannot have both",
                            w + 1
                        ))
                        .in_cell(r.reader_cell)
                    .at(r.span)
                        .with_hint("give this cell its own step name"),
                    );
                }
            }
        }
    }

    /// `globals()`, `exec(...)` and friends: warn once per cell and call.
    pub(super) fn dynamic_namespace(&mut self, cell: usize, call: &str, span: Span) {
        if self.warned.insert(("dynamic-namespace", format!("{cell}:{call}"))) {
            self.diags.push(
                Diagnostic::warning("dynamic-namespace", format!("`{call}` can read or bind names nbkf cannot see; values it uses from other steps are not passed"))
                    .in_cell(cell)
                    .at(span)
                    .with_hint("use plain names, or keep this code in the step that defines what it uses"),
            );
        }
    }

    pub(super) fn check_shadowing(&mut self, cell: usize, name: &str, span: Span) {
        const HARMLESS: &[&str] = &["display", "get_ipython", "In", "Out", "exit", "quit", "_"];
        if is_builtin(name)
            && !name.starts_with("__")
            && !HARMLESS.contains(&name)
            && self.warned.insert(("shadowed-builtin", name.to_string()))
        {
            self.diags.push(
                Diagnostic::warning("shadowed-builtin", format!("`{name}` shadows Python's builtin `{name}`: every later use of `{name}` gets this value, in every step"))
                    .in_cell(cell)
                    .at(span)
                    .with_hint(format!("rename the variable (e.g. `{name}_`)")),
            );
        }
    }

    /// A file is read in `unit`: warn when a step wrote a file nbkf cannot name.
    pub(super) fn unknown_file_read(&mut self, unit: Unit, cell: usize, span: Span, what: &str) {
        let writer = self.unknown_writes.iter().find(|(u, _, _, _)| *u != unit && matches!(u, Unit::Step(_))).cloned();
        if let Some((_, wcell, wspan, call)) = writer {
            self.warn_files(cell, span, &format!("{what} is read here, and `{call}` in cell {} (line {}) writes a file whose path nbkf cannot know, in another step", wcell + 1, wspan.line));
        }
    }

    pub(super) fn warn_files(&mut self, cell: usize, span: Span, message: &str) {
        if self.warned.insert(("file-between-steps", format!("{cell}:{}", span.line))) {
            self.diags.push(
                Diagnostic::warning("file-between-steps", format!("{message}; pods do not share files, so if it is the same file the reading step will not find it"))
                    .in_cell(cell)
                    .at(span)
                    .with_hint("write and read it with a path given as a string literal (nbkf then carries the file), or do both in one step"),
            );
        }
    }
}

/// The hidden variable of a file the notebook writes or reads at a literal path.
pub(super) fn file_variable(path: &str) -> String {
    format!("@file:{}", path.strip_prefix("./").unwrap_or(path))
}

/// How a routed variable is named in messages.
pub(super) fn display_variable(v: &str) -> String {
    match v {
        "@random" => "the state of `random`'s generator".into(),
        "@numpy.random" => "the state of `numpy.random`'s generator".into(),
        _ => match v.strip_prefix("@file:") {
            Some(path) => format!("the file `{path}`"),
            None => format!("`{v}`"),
        },
    }
}
