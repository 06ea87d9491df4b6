//! Which cell goes where: the prelude, the parameters and metrics cells, and the steps
//! the tags define (with their `prev:` order), and the settings of each step.

use std::collections::{BTreeSet, HashMap};

use crate::config::PipelineSettings;
use crate::diagnostics::Diagnostic;
use crate::names;
use crate::notebook::{CellKind, Notebook};
use crate::plan::StepSettings;
use crate::python::{self, ProblemSeverity};
use crate::tags::{self, Role, StepSetting};

/// Where a code cell's code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Prelude,
    Params,
    Metrics,
    Step(usize),
}

/// A `prev:` tag and the step it names, once resolved.
#[derive(Debug, Clone)]
pub(super) struct PrevTag {
    pub(super) resolved: Option<usize>,
}

/// A step as the tags define it.
#[derive(Debug, Clone)]
pub(super) struct TaggedStep {
    pub(super) name: String,
    pub(super) task: String,
    pub(super) function: String,
    pub(super) cells: Vec<usize>,
    pub(super) prev: Vec<PrevTag>,
}

/// The cell layout: which cells form the prelude, the parameters, the metrics, each step.
pub(super) struct Layout {
    pub(super) unit_of: Vec<Option<Slot>>,
    pub(super) prelude: Vec<usize>,
    pub(super) steps: Vec<TaggedStep>,
    pub(super) diags: Vec<Diagnostic>,
}

/// Assigns every code cell to a slot, from its tags.
pub(super) fn assign_cells(notebook: &Notebook, diags: &mut Vec<Diagnostic>) -> Layout {
    let mut unit_of = vec![None; notebook.cells.len()];
    let mut prelude = Vec::new();
    let mut steps: Vec<TaggedStep> = Vec::new();
    let mut by_task: HashMap<String, usize> = HashMap::new();
    let mut leading = Vec::new();
    let mut current: Option<Slot> = None;
    let mut layout_diags = Vec::new();
    let mut pending_prev: Vec<(usize, String, usize)> = Vec::new(); // (step, name, cell)

    for cell in notebook.cells.iter().filter(|c| c.kind == CellKind::Code) {
        let (tags, tag_diags) = tags::parse_cell_tags(cell);
        diags.extend(tag_diags);
        let slot = match &tags.role {
            Role::Skip => continue,
            Role::Imports | Role::Functions => Some(Slot::Prelude),
            Role::PipelineParameters => Some(Slot::Params),
            Role::PapermillParameters => {
                let (_, problems) = python::parse_parameters_cell(&cell.source);
                match problems.iter().find(|p| p.severity == ProblemSeverity::Error) {
                    None => {
                        // Papermill's cell defines parameters; the cells after it are not
                        // part of it (unlike Kale's `pipeline-parameters`).
                        unit_of[cell.index] = Some(Slot::Params);
                        continue;
                    }
                    Some(problem) => {
                        layout_diags.push(
                            Diagnostic::warning("parameters-cell", format!(
                                "this `parameters` cell is not only literal assignments ({}); it runs as ordinary code and defines no pipeline parameters",
                                problem.message
                            ))
                            .in_cell(cell.index)
                            .at(problem.span)
                            .with_hint("to make pipeline parameters, keep only `name = <literal>` lines in it"),
                        );
                        current
                    }
                }
            }
            Role::PipelineMetrics => Some(Slot::Metrics),
            Role::Step(name) => {
                let task = names::step_task(name);
                let index = *by_task.entry(task.clone()).or_insert_with(|| {
                    steps.push(TaggedStep {
                        name: name.clone(),
                        task: task.clone(),
                        function: String::new(),
                        cells: Vec::new(),
                        prev: Vec::new(),
                    });
                    steps.len() - 1
                });
                if steps[index].name != *name {
                    diags.push(
                        Diagnostic::warning(
                            "step-name",
                            format!(
                                "`{name}` and `{}` name the same step `{task}`; the cells are joined",
                                steps[index].name
                            ),
                        )
                        .in_cell(cell.index),
                    );
                }
                Some(Slot::Step(index))
            }
            Role::Continue => current,
        };
        current = slot.or(current);
        match slot {
            None => leading.push(cell.index),
            Some(s) => {
                unit_of[cell.index] = Some(s);
                match s {
                    Slot::Prelude => prelude.push(cell.index),
                    Slot::Step(i) => steps[i].cells.push(cell.index),
                    _ => {}
                }
            }
        }
        let has_step_tags = !tags.prev.is_empty() || !tags.settings.is_empty();
        match (slot, has_step_tags) {
            (Some(Slot::Step(i)), _) => pending_prev.extend(tags.prev.iter().map(|p| (i, p.clone(), cell.index))),
            (None, true) => pending_prev.extend(tags.prev.iter().map(|p| (usize::MAX, p.clone(), cell.index))),
            (Some(_), true) if tags.role == Role::Continue => layout_diags.push(
                Diagnostic::warning("ignored-tag", "step tags on a cell that continues an imports, functions, parameters or metrics cell have no effect")
                    .in_cell(cell.index)
                    .with_hint("add a `step:<name>` tag to start a step here"),
            ),
            _ => {}
        }
    }

    if !leading.is_empty() {
        if steps.is_empty() {
            steps.push(TaggedStep {
                name: "main".into(),
                task: "main".into(),
                function: String::new(),
                cells: Vec::new(),
                prev: Vec::new(),
            });
        } else {
            let first = &steps[0];
            let where_ = if leading.len() == 1 {
                format!("cell {}", leading[0] + 1)
            } else {
                format!("cells {}-{}", leading[0] + 1, leading[leading.len() - 1] + 1)
            };
            layout_diags.push(
                Diagnostic::warning(
                    "leading-cells",
                    format!("{where_} come before the first step tag; they run at the start of step `{}`", first.name),
                )
                .in_cell(leading[0])
                .with_hint("tag them with a `step:` of their own to make them a separate step"),
            );
        }
        let first = &mut steps[0];
        let mut cells = leading.clone();
        cells.append(&mut first.cells);
        first.cells = cells;
        for c in &leading {
            unit_of[*c] = Some(Slot::Step(0));
        }
        for p in pending_prev.iter_mut().filter(|p| p.0 == usize::MAX) {
            p.0 = 0;
        }
    }

    // Python function names, unique; task names are already unique (steps are keyed by them).
    let mut taken = BTreeSet::from([names::RUNTIME_FUNCTION.to_string()]);
    for step in &mut steps {
        step.function = names::unique(names::python_identifier(&step.task), &mut taken, '_', 200);
    }

    // `prev:` names a step that starts earlier in the notebook (as in Kale).
    for (step, name, cell) in pending_prev {
        if step == usize::MAX {
            continue;
        }
        let task = names::step_task(&name);
        let target = steps.iter().position(|s| s.task == task);
        let starts_before = |t: usize| steps[t].cells.first().is_some_and(|first| *first < cell);
        match target {
            Some(t) if t != step && starts_before(t) => steps[step].prev.push(PrevTag { resolved: Some(t) }),
            Some(t) if t == step => layout_diags.push(
                Diagnostic::error("invalid-prev", format!("step `{name}` cannot run after itself"))
                    .in_cell(cell)
                    .with_tag(format!("prev:{name}")),
            ),
            Some(_) => layout_diags.push(
                Diagnostic::error(
                    "invalid-prev",
                    format!("step `{name}` starts later in the notebook; `prev:` must name an earlier step"),
                )
                .in_cell(cell)
                .with_tag(format!("prev:{name}")),
            ),
            None => {
                let known: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
                let mut d = Diagnostic::error("invalid-prev", format!("there is no step `{name}`"))
                    .in_cell(cell)
                    .with_tag(format!("prev:{name}"));
                if let Some(best) = known
                    .iter()
                    .min_by_key(|k| strsim::levenshtein(k, &name))
                    .filter(|k| strsim::levenshtein(k, &name) <= 3)
                {
                    d = d.with_hint(format!("did you mean `prev:{best}`?"));
                }
                layout_diags.push(d);
            }
        }
    }
    Layout { unit_of, prelude, steps, diags: layout_diags }
}

/// The settings of a step: the pipeline's defaults, then the step tags of its cells.
pub(super) fn step_settings(
    settings: &PipelineSettings,
    notebook: &Notebook,
    cells: &[usize],
    diags: &mut Vec<Diagnostic>,
) -> StepSettings {
    let mut out = StepSettings {
        image: settings.base_image.clone(),
        cache: settings.enable_caching,
        report: true,
        ..Default::default()
    };
    let mut apply = |setting: &StepSetting, cell: Option<usize>, tag: &str, diags: &mut Vec<Diagnostic>| match setting {
        StepSetting::Limit { resource, quantity } => match resource.as_str() {
            "cpu" => out.cpu_limit = Some(quantity.clone()),
            "memory" => out.memory_limit = Some(quantity.clone()),
            other => {
                let count: u32 = quantity.parse().unwrap_or(1);
                if let Some((existing, _)) = &out.accelerator {
                    if existing != other && cell.is_some() {
                        let mut d = Diagnostic::error(
                            "invalid-tag",
                            format!("a step can use one kind of accelerator; it already has `{existing}`"),
                        )
                        .with_tag(tag);
                        if let Some(c) = cell {
                            d = d.in_cell(c);
                        }
                        diags.push(d);
                        return;
                    }
                }
                out.accelerator = Some((other.to_string(), count));
            }
        },
        StepSetting::Annotation { key, value } => {
            out.annotations.insert(key.clone(), value.clone());
        }
        StepSetting::Label { key, value } => {
            out.labels.insert(key.clone(), value.clone());
        }
        StepSetting::Secret { secret, key, env } => {
            out.secrets.retain(|(_, _, e)| e != env);
            out.secrets.push((secret.clone(), key.clone(), env.clone()));
        }
        StepSetting::Image(image) => out.image = image.clone(),
        StepSetting::Cache(on) => out.cache = *on,
        StepSetting::Report(on) => out.report = *on,
        StepSetting::Finally => out.finally = true,
        StepSetting::ForEach(list) => out.for_each = Some(list.clone()),
        StepSetting::Parallelism(n) => out.parallelism = Some(*n),
    };
    for (setting, tag) in &settings.step_defaults {
        apply(setting, None, tag, diags);
    }
    let mut cache_tagged = false;
    for &c in cells {
        let (tags, _) = tags::parse_cell_tags(&notebook.cells[c]);
        for (setting, tag) in &tags.settings {
            cache_tagged |= matches!(setting, StepSetting::Cache(_));
            apply(setting, Some(c), tag, diags);
        }
    }
    // The exit step notifies and cleans up: it runs every time unless its cells say
    // `cache:enabled`.
    if out.finally && !cache_tagged {
        out.cache = false;
    }
    out
}
