//! In-place changes: an object changed through a name changes every name that shares it
//! (aliases), and calls into `random` / `numpy.random` change the hidden generator state.

use std::collections::HashSet;

use super::walk::{AliasLink, Binding, Kind, Need, Unit, Walk};
use crate::diagnostics::Diagnostic;
use crate::plan::hidden_state::{random_effect, setting, RandomEffect, Setting};
use crate::python::Span;

impl Walk<'_> {
    /// The object bound to `name` is changed in place: `name` and every name sharing the
    /// object get a new binding in this cell.
    pub(super) fn mutate(&mut self, unit: Unit, cell: usize, name: &str, binding: &Binding) {
        if let Kind::Definition(_) | Kind::Choice(_) = binding.kind {
            // A notebook class or function is code; its attributes are data
            // (`Config.lr = 0.1`): they travel as `@attrs:<name>`.
            let attrs = format!("@attrs:{name}");
            self.read(unit, cell, &attrs, Span::default(), Need::Soft);
            self.write(unit, cell, &attrs, Kind::Value);
            if !matches!(binding.kind, Kind::Choice(_)) {
                return;
            }
        }
        if !binding.kind.is_data() {
            return;
        }
        // Everything that shares the object changes too: follow the live alias links
        // (breadth first from `name`; at each name its links in the order they were made).
        let live = |l: &AliasLink| {
            self.bindings.get(&l.a).map(|b| b.cell) == Some(l.a_cell)
                && self.bindings.get(&l.b).map(|b| b.cell) == Some(l.b_cell)
        };
        let mut reached: Vec<String> = vec![name.to_string()];
        let mut seen: HashSet<String> = HashSet::from([name.to_string()]);
        let mut used: HashSet<usize> = HashSet::new();
        let mut links_used: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < reached.len() {
            for &k in self.alias_index.get(reached[i].as_str()).map(Vec::as_slice).unwrap_or_default() {
                let l = &self.aliases[k];
                if used.contains(&k) || !live(l) {
                    continue;
                }
                used.insert(k);
                let other = if l.a == reached[i] { &l.b } else { &l.a };
                links_used.push(k);
                if seen.insert(other.clone()) {
                    reached.push(other.clone());
                }
            }
            i += 1;
        }
        // Every name sharing the object changes with it. A link made in another step holds
        // there: that step passes the names on together, in one artifact, so that this
        // step loads them as one object again (the link's step becomes the producer of the
        // names it did not bind itself: it has them, shared, since the link was made).
        let mut changed = vec![name.to_string()];
        for k in &links_used {
            let l = self.aliases[*k].clone();
            if let (Unit::Step(link_step), true) = (l.unit, l.unit != unit) {
                for (n, c) in [(&l.a, l.a_cell), (&l.b, l.b_cell)] {
                    let bound_elsewhere = self.bindings.get(n).is_some_and(|b| b.unit != l.unit && b.cell == c);
                    if bound_elsewhere {
                        let kind = self.bindings[n].kind.clone();
                        self.write(Unit::Step(link_step), l.cell, n, kind);
                        self.relays.insert((link_step, n.clone(), l.cell));
                    }
                }
                self.link(AliasLink { a_cell: l.cell, b_cell: l.cell, ..l.clone() });
            }
            for n in [&l.a, &l.b] {
                if !changed.contains(n) {
                    changed.push(n.clone());
                }
            }
        }
        let span = Span::default();
        for n in &changed {
            if n != name {
                self.read(unit, cell, n, span, Need::Soft);
            }
            // A value changed in place keeps its kind (a definition chosen in a branch
            // stays one).
            let kind = match self.bindings.get(n).map(|b| &b.kind) {
                Some(k @ Kind::Choice(_)) => k.clone(),
                _ => Kind::Value,
            };
            self.write(unit, cell, n, kind);
        }
        // The names still share one object, now bound in this cell: a new version of each
        // link (the old versions say what the earlier producers passed on together).
        for k in links_used {
            let l = self.aliases[k].clone();
            if changed.contains(&l.a) && changed.contains(&l.b) {
                self.link(AliasLink { a_cell: cell, b_cell: cell, unit, cell, ..l });
            }
        }
    }

    /// Records an alias link, unless the same link is recorded already.
    pub(super) fn link(&mut self, link: AliasLink) {
        if self.alias_set.insert(link.clone()) {
            let k = self.aliases.len();
            self.alias_index.entry(link.a.clone()).or_default().push(k);
            if link.b != link.a {
                self.alias_index.entry(link.b.clone()).or_default().push(k);
            }
            self.aliases.push(link);
        }
    }

    /// What a call into `random` / `numpy.random` does to the global generators.
    pub(super) fn random(&mut self, unit: Unit, cell: usize, module: &str, function: &str, span: Span) {
        match random_effect(module, function) {
            Some(RandomEffect::Seed(var)) => self.write(unit, cell, var, Kind::Value),
            Some(RandomEffect::Advance(var)) => {
                self.read(unit, cell, var, span, Need::Soft);
                self.write(unit, cell, var, Kind::Value);
            }
            None => {}
        }
    }

    /// A call of (or, with `assignment`, an assignment to) `full` may change a process
    /// setting: a carried one becomes a hidden variable every later step reads; another
    /// one gets a warning naming the steps that will not see it.
    pub(super) fn setting(&mut self, unit: Unit, cell: usize, full: &str, assignment: bool, span: Span) {
        let Unit::Step(step) = unit else {
            // `imports`/`functions` cells run in every step: their settings hold everywhere.
            return;
        };
        match setting(full, assignment) {
            Some(Setting::Carried(variable)) => {
                self.read(unit, cell, &variable, span, Need::Soft);
                self.write(unit, cell, &variable, Kind::Value);
                self.process_state.insert(variable);
            }
            Some(Setting::NotCarried(what)) => {
                let later: Vec<String> = self
                    .layout
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(i, s)| *i != step && s.cells.iter().any(|c| *c > cell))
                    .map(|(_, s)| format!("`{}`", s.name))
                    .collect();
                if later.is_empty() || !self.warned.insert(("process-state", format!("{cell}:{full}"))) {
                    return;
                }
                self.diags.push(
                    Diagnostic::warning(
                        "process-state",
                        format!(
                            "`{full}(...)` in step `{}` changes {what}, which nbkf cannot carry to the steps after it: {} run without this change",
                            self.layout.steps[step].name,
                            later.join(", ")
                        ),
                    )
                    .in_cell(cell)
                    .at(span)
                    .with_hint("move it into a cell tagged `imports` or `functions` (every step runs those), or repeat it in the steps that need it"),
                );
            }
            None => {}
        }
    }
}
