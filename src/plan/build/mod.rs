//! Building the plan: assign cells to steps, walk the cells in notebook order keeping the
//! binding of every module-level name, and route each read to the step that last bound
//! or mutated the name before it.
//!
//! [`layout`] assigns the cells to steps, [`walk`] keeps the bindings and applies each
//! effect, [`routing`] resolves reads and records what steps pass each other, [`mutation`]
//! follows in-place changes through aliases, [`checks`] holds the diagnostics about values
//! and names, and [`order`] orders the steps.

mod checks;
mod layout;
mod mutation;
mod order;
mod routing;
mod walk;

use std::collections::{BTreeSet, HashMap};

use super::{CellCode, InjectedCode, ParameterKind, PipelineParameter, Plan, StepPlan, VariableInput};
use crate::config::PipelineSettings;
use crate::diagnostics::{self, Diagnostic};
use crate::notebook::Notebook;
use crate::packages;
use crate::python::{self, CellFacts, Literal, ProblemSeverity};
use layout::{assign_cells, step_settings, Slot};
use order::order_steps;
use walk::{Binding, Kind, Unit, Walk};

/// Builds the plan of a notebook. `is_local_module` tells whether an imported top-level
/// module is a file next to the notebook (not a PyPI package).
pub fn build(
    notebook: &Notebook,
    settings: PipelineSettings,
    notebook_file: &str,
    is_local_module: &dyn Fn(&str) -> bool,
) -> Plan {
    let mut diags = Vec::new();
    let layout = assign_cells(notebook, &mut diags);

    let mut parameters: Vec<PipelineParameter> = Vec::new();
    let mut facts: Vec<Option<CellFacts>> = vec![None; notebook.cells.len()];
    let mut metric_lines = Vec::new();
    for cell in notebook.code_cells() {
        match layout.unit_of[cell.index] {
            Some(Slot::Params) => {
                let (assignments, problems) = python::parse_parameters_cell(&cell.source);
                push_problems(&mut diags, cell.index, problems);
                for a in assignments {
                    let kind = match &a.value {
                        Literal::Int(_) => ParameterKind::Int,
                        Literal::Float(_) => ParameterKind::Float,
                        Literal::Str(_) => ParameterKind::Str,
                        Literal::Bool(_) => ParameterKind::Bool,
                        Literal::List(_) => ParameterKind::List,
                        Literal::Dict(_) => ParameterKind::Struct,
                        Literal::None => continue,
                    };
                    if let Some(old) = parameters.iter().position(|p| p.name == a.name) {
                        parameters.remove(old);
                    }
                    parameters.push(PipelineParameter { name: a.name, default: a.value, kind, cell: cell.index });
                }
            }
            Some(Slot::Metrics) => {
                let (lines, problems) = python::parse_metrics_cell(&cell.source);
                push_problems(&mut diags, cell.index, problems);
                metric_lines.push((cell.index, lines));
            }
            Some(Slot::Prelude | Slot::Step(_)) => {
                let f = python::analyze_cell(&cell.source);
                let mut problems = f.problems.clone();
                if settings.ipython {
                    // IPython runs the magics nbkf cannot translate.
                    let unsupported: Vec<usize> = f
                        .magics
                        .iter()
                        .filter(|m| m.handling == python::MagicHandling::Unsupported)
                        .map(|m| m.span.line)
                        .collect();
                    problems.retain(|p| !(p.severity == ProblemSeverity::Error && unsupported.contains(&p.span.line)));
                }
                push_problems(&mut diags, cell.index, problems);
                facts[cell.index] = Some(f);
            }
            None => {}
        }
    }

    let mut walk = Walk::new(&layout);
    for cell in notebook.code_cells() {
        match layout.unit_of[cell.index] {
            Some(Slot::Params) => {
                for p in parameters.iter().filter(|p| p.cell == cell.index) {
                    walk.bindings
                        .insert(p.name.clone(), Binding { unit: Unit::Params, cell: cell.index, kind: Kind::Param });
                }
            }
            Some(Slot::Metrics) => {
                if let Some((_, lines)) = metric_lines.iter().find(|(c, _)| *c == cell.index) {
                    for line in lines {
                        walk.metric(cell.index, &line.name, line.span);
                    }
                }
            }
            Some(slot @ (Slot::Prelude | Slot::Step(_))) => {
                let unit = match slot {
                    Slot::Step(s) => Unit::Step(s),
                    _ => Unit::Prelude,
                };
                if let Some(f) = &facts[cell.index] {
                    walk.cell(unit, cell.index, f);
                }
            }
            None => {}
        }
    }
    diags.append(&mut walk.diags);
    walk.check_routes(&mut diags);

    let order = order_steps(&layout, &walk, &mut diags);
    let prelude: Vec<usize> = layout.prelude.clone();
    let mut steps = Vec::new();
    let position: HashMap<usize, usize> = order.iter().enumerate().map(|(new, old)| (*old, new)).collect();
    let mut local_reported = BTreeSet::new();
    for &old in &order {
        let acc = &walk.steps[old];
        let tagged = &layout.steps[old];
        let mut after: BTreeSet<usize> = acc.inputs.values().map(|r| position[&r.producer]).collect();
        after.extend(tagged.prev.iter().filter_map(|p| p.resolved).map(|p| position[&p]));
        after.remove(&position[&old]);
        let mut modules: BTreeSet<String> = acc.modules.clone();
        let mut pip: BTreeSet<String> = BTreeSet::new();
        for &c in prelude.iter().chain(&tagged.cells) {
            if let Some(f) = &facts[c] {
                modules.extend(f.imported_modules.iter().cloned());
                pip.extend(f.pip_packages.iter().cloned());
            }
        }
        let mut packages: BTreeSet<String> = pip;
        packages.extend(acc.extra_packages.iter().cloned());
        if settings.ipython {
            packages.insert("ipython".into());
        }
        for module in &modules {
            let top = packages::top_level(module);
            if is_local_module(top) {
                if local_reported.insert(top.to_string()) {
                    diags.push(Diagnostic::warning("local-module", format!("module `{top}` is a file next to the notebook, not a package: the step image must contain it")).with_hint("copy it into the image, or set the image with `image:` / `--image`"));
                }
                continue;
            }
            if let Some(d) = packages::distribution_for(module) {
                packages.insert(d);
            }
        }
        for input in acc.inputs.values() {
            let producer: &StepPlan = &steps[position[&input.producer]];
            packages.extend(producer.packages.iter().cloned());
        }
        let mut definitions: Vec<InjectedCode> = acc.definitions.values().cloned().collect();
        definitions.sort_by_key(|d| {
            (d.after_inputs, acc.definition_order.get(&(d.cell, d.name.clone())).copied().unwrap_or_default())
        });
        steps.push(StepPlan {
            name: tagged.name.clone(),
            task: tagged.task.clone(),
            function: tagged.function.clone(),
            cells: tagged.cells.clone(),
            parameters: acc
                .params
                .iter()
                .chain(&walk.prelude_params)
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            definitions,
            inputs: acc
                .inputs
                .iter()
                .map(|(v, r)| VariableInput { variable: v.clone(), producer: position[&r.producer] })
                .collect(),
            outputs: acc.outputs.iter().cloned().collect(),
            output_cells: acc
                .outputs
                .iter()
                .filter_map(|v| {
                    walk.writes.get(&(Unit::Step(old), v.clone())).and_then(|w| w.last()).map(|c| (v.clone(), *c))
                })
                .collect(),
            metrics: acc.metrics.clone(),
            after: after.into_iter().collect(),
            packages: packages.into_iter().collect(),
            settings: step_settings(&settings, notebook, &tagged.cells, &mut diags),
        });
    }

    let cells = notebook
        .cells
        .iter()
        .map(|c| {
            facts[c.index].as_ref().map(|f| CellCode {
                index: c.index,
                id: c.id.clone(),
                program: f.program.clone(),
                source: c.source.clone(),
                cell_magic: f.cell_magic.clone(),
            })
        })
        .collect();
    diags.extend(layout.diags.iter().cloned());
    diagnostics::sort(&mut diags);
    let cells_in = |slot: Slot| {
        layout.unit_of.iter().enumerate().filter(|(_, s)| **s == Some(slot)).map(|(i, _)| i).collect::<Vec<_>>()
    };
    let parameter_cells = cells_in(Slot::Params);
    let metrics_cells = cells_in(Slot::Metrics);
    Plan {
        settings,
        notebook_file: notebook_file.to_string(),
        parameters,
        cells,
        prelude,
        parameter_cells,
        metrics_cells,
        steps,
        diagnostics: diags,
    }
}

/// Turns the problems of a cell's Python into diagnostics pointing at the cell.
fn push_problems(diags: &mut Vec<Diagnostic>, cell: usize, problems: Vec<python::Problem>) {
    for p in problems {
        let d = match p.severity {
            ProblemSeverity::Error => Diagnostic::error("python", p.message),
            ProblemSeverity::Warning => Diagnostic::warning("python", p.message),
        };
        let d = d.in_cell(cell).at(p.span);
        diags.push(match p.hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }
}

#[cfg(test)]
mod tests;
