//! In-place changes: an object changed through a name changes every name that shares it
//! (aliases), and calls into `random` / `numpy.random` change the hidden generator state.

use super::walk::{AliasLink, Binding, Kind, Unit, Walk};
use crate::diagnostics::Diagnostic;
use crate::plan::hidden_state::{random_effect, RandomEffect};
use crate::python::Span;

impl Walk<'_> {
    /// The object bound to `name` is changed in place: `name` and every name sharing the
    /// object get a new binding in this cell.
    pub(super) fn mutate(&mut self, unit: Unit, cell: usize, name: &str, binding: &Binding) {
        if !matches!(binding.kind, Kind::Value | Kind::Param) {
            return;
        }
        // Everything that shares the object changes too: follow the live alias links.
        let live = |w: &Self, l: &AliasLink| {
            w.bindings.get(&l.a).map(|b| b.cell) == Some(l.a_cell)
                && w.bindings.get(&l.b).map(|b| b.cell) == Some(l.b_cell)
        };
        let mut reached: Vec<String> = vec![name.to_string()];
        let mut links_used: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < reached.len() {
            let current = reached[i].clone();
            for (k, l) in self.aliases.iter().enumerate() {
                if links_used.contains(&k) || !live(self, l) {
                    continue;
                }
                let other = if l.a == current {
                    &l.b
                } else if l.b == current {
                    &l.a
                } else {
                    continue;
                };
                links_used.push(k);
                if !reached.contains(other) {
                    reached.push(other.clone());
                }
            }
            i += 1;
        }
        let shared_here = |l: &AliasLink| l.unit == unit || l.unit == Unit::Prelude;
        let mut changed = vec![name.to_string()];
        for k in &links_used {
            let l = self.aliases[*k].clone();
            if shared_here(&l) {
                for n in [&l.a, &l.b] {
                    if !changed.contains(n) {
                        changed.push(n.clone());
                    }
                }
            } else if let Unit::Step(s) = unit {
                let (through, other) =
                    if reached.iter().position(|r| *r == l.a) < reached.iter().position(|r| *r == l.b) {
                        (&l.a, &l.b)
                    } else {
                        (&l.b, &l.a)
                    };
                if self.warned.insert(("aliased-mutation", format!("{}:{}:{}", cell, l.a, l.b))) {
                    self.diags.push(
                        Diagnostic::warning("aliased-mutation", format!(
                            "`{}` and `{}` share one object since cell {} (line {}), but step `{}` changes it through `{}`: each step loads its own copy of each variable, so `{}` will not show this change in later steps",
                            l.a, l.b, l.cell + 1, l.span.line, self.layout.steps[s].name, through, other
                        ))
                        .in_cell(cell)
                        .with_hint(format!("change `{other}` itself, or make the change in the step that creates both names")),
                    );
                }
            }
        }
        let span = Span::default();
        for n in &changed {
            if n != name {
                self.read(unit, cell, n, span, true);
            }
            let kind = Kind::Value;
            self.write(unit, cell, n, kind);
        }
        // The writes moved the names' bindings; the links still hold.
        for k in links_used {
            let (a, b) = (self.aliases[k].a.clone(), self.aliases[k].b.clone());
            if changed.contains(&a) && changed.contains(&b) {
                self.aliases[k].a_cell = cell;
                self.aliases[k].b_cell = cell;
            }
        }
    }

    /// What a call into `random` / `numpy.random` does to the global generators.
    pub(super) fn random(&mut self, unit: Unit, cell: usize, module: &str, function: &str, span: Span) {
        match random_effect(module, function) {
            Some(RandomEffect::Seed(var)) => self.write(unit, cell, var, Kind::Value),
            Some(RandomEffect::Advance(var)) => {
                self.read(unit, cell, var, span, true);
                self.write(unit, cell, var, Kind::Value);
            }
            None => {}
        }
    }
}
