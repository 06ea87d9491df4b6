//! Building the plan: assign cells to steps, walk the cells in notebook order keeping the
//! binding of every module-level name, and route each read to the step that last bound
//! or mutated the name before it.
//!
//! [`layout`] assigns the cells to steps, [`walk`] keeps the bindings and applies each
//! effect, [`routing`] resolves reads and records what steps pass each other, [`mutation`]
//! follows in-place changes through aliases, [`calls`] says what a call changes among its
//! arguments, [`checks`] holds the diagnostics about values and names, [`packages`] works
//! out what each step installs and carries, [`exit`] checks the exit step, [`fan_out`] the
//! `for:` steps, and [`order`] orders the steps.

mod calls;
mod checks;
mod compose;
mod exit;
mod fan_out;
mod layout;
mod mutation;
mod order;
mod packages;
mod routing;
mod walk;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use super::{
    CellCode, FanOut, InjectedCode, ListSource, ParameterKind, PipelineParameter, Plan, StepPlan, VariableInput,
};
use crate::config::PipelineSettings;
use crate::diagnostics::{self, Diagnostic};
use crate::notebook::Notebook;
use crate::packages::ModuleFinder;
use crate::python::{self, CellFacts, Literal, ProblemSeverity};
use layout::{assign_cells, step_settings, Slot};
use order::order_steps;
use walk::{Binding, Kind, Unit, Walk};

/// What the plan may look at beside the notebook.
#[derive(Debug, Default)]
pub struct Surroundings {
    /// The notebook's folder: requirement files named by `pip install -r` are read there.
    pub dir: Option<PathBuf>,
    /// Finds the local modules the notebook imports (files beside it).
    pub modules: ModuleFinder,
    /// Whether steps carry the sources of local modules (else the image has them).
    pub carry_modules: bool,
}

impl Surroundings {
    /// Nothing around the notebook (it is not a file): no local modules, no files.
    pub fn none() -> Self {
        Surroundings { dir: None, modules: ModuleFinder::none(), carry_modules: true }
    }
}

/// Builds the plan of a notebook.
pub fn build(
    notebook: &Notebook,
    settings: PipelineSettings,
    notebook_file: &str,
    surroundings: &Surroundings,
) -> Plan {
    let mut diags = Vec::new();
    let layout = assign_cells(notebook, &mut diags);
    if let Some(c) = &notebook.composition {
        compose::check_steps(notebook, c, &layout, &mut diags);
    }

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

    let exit = exit::exit_step(notebook, &layout, &walk, &mut diags);
    let fan_outs = fan_out::fan_outs(notebook, &layout, &walk, &facts, &parameters, exit, &mut diags);
    let mut order = order_steps(&layout, &walk, &mut diags);
    // The exit step runs last: nothing reads from it, and it reads from no other step.
    if let Some(e) = exit {
        order.retain(|s| *s != e);
        order.push(e);
    }
    let prelude: Vec<usize> = layout.prelude.clone();
    let mut steps = Vec::new();
    let position: HashMap<usize, usize> = order.iter().enumerate().map(|(new, old)| (*old, new)).collect();
    let install = packages::InstallLines::collect(&facts, surroundings, &mut diags);
    let mut reported = BTreeSet::new();
    let mut local_modules: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut carried: Vec<(String, BTreeSet<String>)> = Vec::new();
    for &old in &order {
        let acc = &walk.steps[old];
        let tagged = &layout.steps[old];
        let mut after: BTreeSet<usize> = acc.inputs.values().map(|r| position[&r.producer]).collect();
        after.extend(tagged.prev.iter().filter_map(|p| p.resolved).map(|p| position[&p]));
        after.remove(&position[&old]);
        if exit == Some(old) {
            // It runs after all the others (its `prev:` tags have no effect).
            after.clear();
        }
        let mut imports = packages::imports_of(prelude.iter().chain(&tagged.cells), &facts);
        for (module, cell) in &acc.modules {
            imports.push(packages::copied_import(*cell, module));
        }
        let found = packages::step_packages(
            &tagged.name,
            &tagged.cells,
            &prelude,
            &imports,
            &install,
            surroundings,
            &mut reported,
            &mut diags,
        );
        let mut packages: BTreeSet<String> = found.requirements;
        packages.extend(acc.extra_packages.iter().cloned());
        let sources = prelude
            .iter()
            .chain(&tagged.cells)
            .filter_map(|c| facts[*c].as_ref().map(|f| (f, notebook.cells[*c].source.as_str())));
        let used = packages::features_used(sources);
        if settings.ipython {
            packages.insert("ipython".into());
        }
        for input in acc.inputs.values() {
            // A producer is planned before its readers (unless the steps form a cycle,
            // which is an error of its own).
            if let Some(producer) = steps.get(position[&input.producer]) {
                let producer: &StepPlan = producer;
                packages.extend(producer.packages.iter().cloned());
            }
        }
        let implied = packages::optional_features(&packages, &used);
        packages.extend(implied);
        let mut step_modules = Vec::new();
        if surroundings.carry_modules {
            for name in &found.local_modules {
                if let Some(m) = surroundings.modules.find(name).and_then(|m| m.as_ref().as_ref().ok().cloned()) {
                    local_modules
                        .entry(name.clone())
                        .or_insert_with(|| m.files.iter().map(|f| (f.path.clone(), f.source.clone())).collect());
                    step_modules.push(name.clone());
                }
            }
            carried.push((tagged.name.clone(), found.local_modules.clone()));
        } else {
            for name in &found.local_modules {
                if reported.insert(format!("image:{name}")) {
                    diags.push(
                        Diagnostic::warning("local-module", format!("module `{name}` is a file beside the notebook, not a package: with `--packages image` the step image must contain it"))
                            .with_hint("copy it into the image, or convert with `--packages pip` (the default) to carry its source with the steps"),
                    );
                }
            }
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
            choices: acc.choices.iter().map(|(v, c)| (v.clone(), c.clone())).collect(),
            candidates: acc.candidates.iter().map(|(v, c)| (v.clone(), c.clone())).collect(),
            inputs: acc
                .inputs
                .iter()
                .map(|(v, r)| VariableInput { variable: v.clone(), producer: position[&r.producer], group: None })
                .collect(),
            outputs: acc.outputs.iter().cloned().collect(),
            output_groups: walk.output_groups(old),
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
            pip_options: found.options,
            local_modules: step_modules,
            settings: step_settings(&settings, notebook, &tagged.cells, &mut diags),
            sub_pipeline: notebook.composition.as_ref().and_then(|c| c.sub_of(*tagged.cells.first()?)),
            fan_out: fan_outs[old].as_ref().map(|f| FanOut {
                list: f.list.clone(),
                source: f.producer.map_or(ListSource::Parameter, |p| ListSource::Step(position[&p])),
                accumulators: f.accumulators.clone(),
                parallelism: f.parallelism,
            }),
        });
    }
    packages::check_module_sizes(&local_modules, &carried, &mut diags);
    // Each input saved in a group is loaded from its group.
    for i in 0..steps.len() {
        for k in 0..steps[i].inputs.len() {
            let (variable, producer) = (steps[i].inputs[k].variable.clone(), steps[i].inputs[k].producer);
            steps[i].inputs[k].group = steps[producer].output_groups.iter().position(|g| g.contains(&variable));
        }
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
    let sub_pipelines = notebook.composition.as_ref().map(|c| compose::sub_pipelines(c, &steps)).unwrap_or_default();
    Plan {
        settings,
        notebook_file: notebook_file.to_string(),
        sub_pipelines,
        origins: notebook.composition.as_ref().map(|c| c.origins.clone()).unwrap_or_default(),
        parameters,
        cells,
        prelude,
        parameter_cells,
        metrics_cells,
        steps,
        local_modules,
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
