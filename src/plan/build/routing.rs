//! Routing values: resolving a read to the binding it sees, and what the reading step
//! then needs (an input from another step, a pipeline parameter, copied code).

use super::walk::{Binding, Kind, Need, Route, Unit, Walk, MAX_EXPANSION_DEPTH};
use crate::diagnostics::Diagnostic;
use crate::plan::builtins::is_builtin;
use crate::plan::{ChoiceCode, InjectedCode};
use crate::python::Span;

impl Walk<'_> {
    /// Resolves a read in `unit`'s cell and records what the unit needs for it.
    pub(super) fn read(&mut self, unit: Unit, cell: usize, name: &str, span: Span, need: Need) -> Option<Binding> {
        if let Unit::Step(s) = unit {
            self.readers.insert(name.to_string(), s);
        }
        let soft = need != Need::Always;
        match self.bindings.get(name).cloned() {
            Some(b) => {
                self.use_binding(unit, cell, name, &b, span, soft, 0);
                Some(b)
            }
            None => {
                if is_builtin(name) || name.starts_with('@') {
                    return None;
                }
                if let Some((star_unit, star_cell, module)) = self.stars.last().cloned() {
                    if let (Unit::Step(q), Unit::Step(p)) = (unit, star_unit) {
                        if p != q {
                            let statement = format!("from {module} import *");
                            self.inject(q, "*", &statement, star_cell, star_cell, 1, false);
                            self.steps[q].modules.entry(module).or_insert(star_cell);
                        }
                    }
                    return None;
                }
                if need != Need::Soft
                    && !self.cell_binds.contains(name)
                    && self.reported_undefined.insert((cell, name.to_string()))
                {
                    let d = if need == Need::Always {
                        Diagnostic::error(
                            "undefined-name",
                            format!("`{name}` is used but never defined before this cell"),
                        )
                    } else {
                        // Jupyter runs such a notebook; the step fails where it would.
                        Diagnostic::warning(
                            "undefined-name",
                            format!("`{name}` is never defined before this cell; it is read only on a path that may not run (a branch, loop, `try` or `match`), where the step fails as the notebook would"),
                        )
                    };
                    let d = d.in_cell(cell).at(span).with_hint(self.undefined_hint(name));
                    self.diags.push(d);
                }
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn use_binding(&mut self, unit: Unit, cell: usize, name: &str, b: &Binding, span: Span, soft: bool, depth: usize) {
        if depth > MAX_EXPANSION_DEPTH {
            return;
        }
        // A notebook class or function whose attributes a step changed: the change
        // comes with it.
        if matches!(b.kind, Kind::Definition(_) | Kind::Choice(_)) && !name.starts_with('@') {
            let attrs = format!("@attrs:{name}");
            if let Some(ab) = self.bindings.get(&attrs).cloned() {
                self.use_binding(unit, cell, &attrs, &ab, span, true, depth + 1);
            }
        }
        if let Kind::Deleted = b.kind {
            if !soft && self.reported_undefined.insert((cell, name.to_string())) {
                self.diags.push(
                    Diagnostic::error(
                        "deleted-name",
                        format!("`{name}` is used here but was deleted (`del {name}`) in cell {}", b.cell + 1),
                    )
                    .in_cell(cell)
                    .at(span)
                    .with_hint(format!("define `{name}` again before using it, or remove the `del`")),
                );
            }
            return;
        }
        match (unit, b.unit) {
            (u, v) if u == v => {}
            (_, Unit::Prelude) => {}
            (Unit::Step(q), Unit::Params) => {
                self.steps[q].params.insert(name.to_string());
            }
            (Unit::Prelude, Unit::Params) => {
                self.prelude_params.insert(name.to_string());
            }
            (Unit::Prelude, Unit::Step(p)) => {
                if !soft {
                    self.diags.push(
                        Diagnostic::error("prelude-reads-step", format!(
                            "this `imports`/`functions` cell reads `{name}`, which step `{}` computes; those cells run at the start of every step, before any step's data is loaded",
                            self.layout.steps[p].name
                        ))
                        .in_cell(cell)
                        .at(span)
                        .with_hint("move this code into a step, or tag the cell as part of a step"),
                    );
                }
            }
            (Unit::Step(q), Unit::Step(p)) => match &b.kind {
                Kind::Value | Kind::Param | Kind::Choice(_) => {
                    self.check_route(name, p, q, cell, span);
                    let route = Route {
                        variable: name.to_string(),
                        producer: p,
                        consumer: q,
                        binding_cell: b.cell,
                        reader_cell: cell,
                        span,
                    };
                    self.routes.push(route.clone());
                    self.steps[p].outputs.insert(name.to_string());
                    let first = !self.steps[q].inputs.contains_key(name);
                    self.steps[q].inputs.entry(name.to_string()).or_insert(route);
                    if first && !name.starts_with('@') {
                        self.inject_live_classes(q, cell, span, depth);
                    }
                    if let Kind::Choice(choice) = &b.kind {
                        // The reader runs the definition the producer says ran: it gets
                        // them all, with what they read when they run.
                        let choice = choice.clone();
                        let keys = choice.candidates.iter().map(|d| d.key()).collect();
                        self.steps[p].candidates.insert(name.to_string(), keys);
                        for def in &choice.candidates {
                            for (n, db) in &def.def_time {
                                self.use_binding(unit, cell, n, db, span, true, depth + 1);
                            }
                            let code = ChoiceCode { key: def.key(), source: def.source.clone() };
                            let list = self.steps[q].choices.entry(name.to_string()).or_default();
                            if !list.contains(&code) {
                                list.push(code);
                            }
                        }
                    }
                }
                Kind::Import { module, statement, .. } => {
                    self.inject(q, name, statement, b.cell, 0, 1, false);
                    self.steps[q].modules.entry(module.clone()).or_insert(b.cell);
                }
                Kind::Definition(def) => {
                    let def = def.clone();
                    let mut after_inputs = false;
                    for (n, db) in &def.def_time {
                        self.use_binding(unit, cell, n, db, span, true, depth + 1);
                        after_inputs |=
                            matches!((db.unit, &db.kind), (Unit::Step(p2), Kind::Value | Kind::Param) if p2 != q);
                    }
                    self.inject(q, name, &def.source, def.cell, def.start, def.lines.0, after_inputs);
                }
                Kind::Deleted => {}
            },
            (Unit::Params, _) => {}
        }
    }

    fn undefined_hint(&self, name: &str) -> String {
        let close = self
            .bindings
            .keys()
            .filter(|k| !k.starts_with('@'))
            .map(|k| (strsim::levenshtein(k, name), k))
            .filter(|(d, _)| *d <= 2)
            .min();
        match close {
            Some((_, k)) => format!(
                "did you mean `{k}`? Otherwise define `{name}` in an earlier cell or make it a pipeline parameter"
            ),
            None => format!("define `{name}` in an earlier cell (not tagged `skip`), or make it a pipeline parameter"),
        }
    }

    pub(super) fn write(&mut self, unit: Unit, cell: usize, name: &str, kind: Kind) {
        self.bindings.insert(name.to_string(), Binding { unit, cell, kind });
        let cells = self.writes.entry((unit, name.to_string())).or_default();
        if cells.last() != Some(&cell) {
            cells.push(cell);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn inject(
        &mut self,
        step: usize,
        name: &str,
        source: &str,
        cell: usize,
        start: usize,
        line: usize,
        after_inputs: bool,
    ) {
        let acc = &mut self.steps[step];
        let key = (cell, name.to_string());
        acc.definition_order.entry(key.clone()).or_insert((cell, start));
        let entry = acc.definitions.entry(key).or_insert_with(|| InjectedCode {
            name: name.to_string(),
            source: source.to_string(),
            cell,
            line,
            after_inputs,
        });
        entry.after_inputs |= after_inputs;
    }

    /// A value from another step may be an instance of a class the notebook defined:
    /// pickle refers to it as `__main__.<Class>`, so the loading step needs the class.
    /// Every class bound at this point in another step is copied into `step`.
    fn inject_live_classes(&mut self, step: usize, cell: usize, span: Span, depth: usize) {
        let classes: Vec<(String, Binding)> = self
            .bindings
            .iter()
            .filter(|(_, b)| match (&b.kind, b.unit) {
                (Kind::Definition(d), Unit::Step(p)) => d.is_class && p != step,
                // A class defined in a branch: its instances need the definition that ran.
                (Kind::Choice(c), Unit::Step(p)) => p != step && c.candidates.iter().any(|d| d.is_class),
                _ => false,
            })
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect();
        for (name, binding) in classes {
            self.use_binding(Unit::Step(step), cell, &name, &binding, span, true, depth + 1);
        }
    }

    pub(super) fn metric(&mut self, cell: usize, name: &str, span: Span) {
        let key = name.replace('_', "-");
        match self.bindings.get(name).cloned() {
            Some(Binding { unit: Unit::Step(p), cell: bcell, kind: Kind::Value | Kind::Param | Kind::Choice(_) }) => {
                self.steps[p].metrics.push((key, name.to_string()));
                self.routes.push(Route {
                    variable: name.to_string(),
                    producer: p,
                    consumer: usize::MAX,
                    binding_cell: bcell,
                    reader_cell: cell,
                    span,
                });
            }
            Some(Binding { unit: unit @ (Unit::Params | Unit::Prelude), kind: Kind::Value | Kind::Param, .. }) => {
                // Every step has this value: the last step that reads it logs it (as Kale
                // does), or the last step when none reads it.
                let reader = self.readers.get(name).copied().or_else(|| self.steps.len().checked_sub(1));
                match reader {
                    Some(step) => {
                        if unit == Unit::Params {
                            self.steps[step].params.insert(name.to_string());
                        }
                        self.steps[step].metrics.push((key, name.to_string()));
                    }
                    None => self.diags.push(
                        Diagnostic::error(
                            "invalid-metric",
                            format!("metric `{name}` needs a step to log it, and the pipeline has none"),
                        )
                        .in_cell(cell)
                        .at(span),
                    ),
                }
            }
            Some(Binding { kind: Kind::Deleted, .. }) | None => {
                self.diags.push(
                    Diagnostic::error(
                        "undefined-name",
                        format!("metric `{name}` is not defined by any step before this cell"),
                    )
                    .in_cell(cell)
                    .at(span)
                    .with_hint(self.undefined_hint(name)),
                );
            }
            Some(_) => {
                self.diags.push(
                    Diagnostic::error("invalid-metric", format!("metric `{name}` is not a value computed by a step (it is a module, function or class, or set in an imports/functions cell)"))
                        .in_cell(cell)
                        .at(span),
                );
            }
        }
    }
}
