//! Building the plan: assign cells to steps, walk the cells in notebook order keeping the
//! binding of every module-level name, and route each read to the step that last bound
//! or mutated the name before it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::rc::Rc;

use petgraph::graph::DiGraph;

use super::builtins::is_builtin;
use super::hidden_state::{is_read_only_method, random_effect, RandomEffect};
use super::names;
use super::{CellCode, InjectedCode, ParameterKind, PipelineParameter, Plan, StepPlan, StepSettings, VariableInput};
use crate::config::PipelineSettings;
use crate::diagnostics::{self, Diagnostic};
use crate::notebook::{CellKind, Notebook};
use crate::packages;
use crate::python::{self, BindKind, CellFacts, Effect, Literal, ProblemSeverity, Span, ValueHint};
use crate::tags::{self, Role, StepSetting};

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

// ---------------------------------------------------------------------------------------
// Which cell goes where.

/// Where a code cell's code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Prelude,
    Params,
    Metrics,
    Step(usize),
}

/// A `prev:` tag and the step it names, once resolved.
#[derive(Debug, Clone)]
struct PrevTag {
    resolved: Option<usize>,
}

/// A step as the tags define it.
#[derive(Debug, Clone)]
struct TaggedStep {
    name: String,
    task: String,
    function: String,
    cells: Vec<usize>,
    prev: Vec<PrevTag>,
}

/// The cell layout: which cells form the prelude, the parameters, the metrics, each step.
struct Layout {
    unit_of: Vec<Option<Slot>>,
    prelude: Vec<usize>,
    steps: Vec<TaggedStep>,
    diags: Vec<Diagnostic>,
}

fn assign_cells(notebook: &Notebook, diags: &mut Vec<Diagnostic>) -> Layout {
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
                let task = names::dns_label(name);
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
    let mut taken = BTreeSet::new();
    for step in &mut steps {
        step.function = names::unique(names::python_identifier(&step.task), &mut taken, '_', 200);
    }

    // `prev:` names a step that starts earlier in the notebook (as in Kale).
    for (step, name, cell) in pending_prev {
        if step == usize::MAX {
            continue;
        }
        let task = names::dns_label(&name);
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

fn step_settings(
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
    };
    for (setting, tag) in &settings.step_defaults {
        apply(setting, None, tag, diags);
    }
    for &c in cells {
        let (tags, _) = tags::parse_cell_tags(&notebook.cells[c]);
        for (setting, tag) in &tags.settings {
            apply(setting, Some(c), tag, diags);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The walk: bindings in notebook order.

/// Where a binding lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Unit {
    /// `imports`/`functions` cells: run at the start of every step.
    Prelude,
    /// The pipeline parameters.
    Params,
    Step(usize),
}

/// What a name is bound to.
#[derive(Debug, Clone)]
enum Kind {
    Value,
    Param,
    Import { module: String, attribute: Option<String>, statement: String },
    Definition(Rc<DefinitionInfo>),
    Deleted,
}

/// A `def`/`class` binding: its code, and what its definition reads.
#[derive(Debug)]
struct DefinitionInfo {
    name: String,
    is_class: bool,
    source: String,
    cell: usize,
    start: usize,
    call_effects: Vec<Effect>,
    mutated_params: Vec<(usize, String)>,
    /// Names read when the definition runs (decorators, defaults, base classes), with the
    /// bindings they had then.
    def_time: Vec<(String, Binding)>,
}

#[derive(Debug, Clone)]
struct Binding {
    unit: Unit,
    cell: usize,
    kind: Kind,
}

/// One variable read by a step from another step.
#[derive(Debug, Clone)]
struct Route {
    variable: String,
    producer: usize,
    consumer: usize,
    binding_cell: usize,
    reader_cell: usize,
    span: Span,
}

#[derive(Debug, Default)]
struct StepAccumulator {
    params: BTreeSet<String>,
    inputs: BTreeMap<String, Route>,
    outputs: BTreeSet<String>,
    definitions: BTreeMap<(usize, String), InjectedCode>,
    definition_order: HashMap<(usize, String), (usize, usize)>,
    metrics: Vec<(String, String)>,
    modules: BTreeSet<String>,
    /// Packages the step needs beyond its imports (cloudpickle for lambdas it passes on).
    extra_packages: BTreeSet<String>,
}

/// Two names that refer to the same object (or one contains the other), as established
/// by `b = a`, `b = [a, c]`, `for b in a`: changing one changes the other.
#[derive(Debug, Clone)]
struct AliasLink {
    a: String,
    a_cell: usize,
    b: String,
    b_cell: usize,
    /// Where the link was made: only there (or in the prelude, which every step runs) do
    /// the two names share an object; steps load each variable separately.
    unit: Unit,
    cell: usize,
    span: Span,
}

struct Walk<'a> {
    layout: &'a Layout,
    bindings: HashMap<String, Binding>,
    /// Active `from m import *`: (unit, cell, module).
    stars: Vec<(Unit, usize, String)>,
    steps: Vec<StepAccumulator>,
    prelude_params: BTreeSet<String>,
    routes: Vec<Route>,
    /// Cells in which each unit wrote each name, in order.
    writes: HashMap<(Unit, String), Vec<usize>>,
    diags: Vec<Diagnostic>,
    reported_undefined: HashSet<(usize, String)>,
    /// Reads of the current cell, with the bindings they resolved to (for def-time reads).
    cell_reads: Vec<(String, Span, Option<Binding>)>,
    /// Names the current cell binds somewhere (a read before the binding in a loop is fine).
    cell_binds: HashSet<String>,
    /// The last step that read each name (for metrics of values every step has).
    readers: HashMap<String, usize>,
    aliases: Vec<AliasLink>,
    /// What is known about the value of each name, from the expression that made it.
    hints: HashMap<String, (ValueHint, usize, Span)>,
    /// Names that had a binding on every path at some point.
    unconditional: HashSet<String>,
    /// Names bound only on some paths so far: where.
    conditional_only: HashMap<String, (usize, Span)>,
    /// Files written at paths nbkf cannot know: (unit, cell, span, call).
    unknown_writes: Vec<(Unit, usize, Span, String)>,
    /// Warnings already given, by code and subject (each is said once).
    warned: HashSet<(&'static str, String)>,
}

const MAX_EXPANSION_DEPTH: usize = 64;

impl<'a> Walk<'a> {
    fn new(layout: &'a Layout) -> Self {
        Walk {
            layout,
            bindings: HashMap::new(),
            stars: Vec::new(),
            steps: (0..layout.steps.len()).map(|_| StepAccumulator::default()).collect(),
            prelude_params: BTreeSet::new(),
            routes: Vec::new(),
            writes: HashMap::new(),
            diags: Vec::new(),
            reported_undefined: HashSet::new(),
            cell_reads: Vec::new(),
            cell_binds: HashSet::new(),
            readers: HashMap::new(),
            aliases: Vec::new(),
            hints: HashMap::new(),
            unconditional: HashSet::new(),
            conditional_only: HashMap::new(),
            unknown_writes: Vec::new(),
            warned: HashSet::new(),
        }
    }

    fn cell(&mut self, unit: Unit, cell: usize, facts: &CellFacts) {
        self.cell_reads.clear();
        self.cell_binds = facts
            .effects
            .iter()
            .filter_map(|e| if let Effect::Bind { name, .. } = e { Some(name.clone()) } else { None })
            .collect();
        let mut expanding = Vec::new();
        for effect in &facts.effects {
            self.effect(unit, cell, effect, None, facts, &mut expanding);
        }
    }

    /// Applies one effect. `call_site` is set while expanding a function body's call-time
    /// effects at the place the function is used.
    fn effect(
        &mut self,
        unit: Unit,
        cell: usize,
        effect: &Effect,
        call_site: Option<Span>,
        facts: &CellFacts,
        expanding: &mut Vec<(usize, String)>,
    ) {
        let here = |span: Span| call_site.unwrap_or(span);
        match effect {
            Effect::Read { name, span, soft } => {
                let binding = self.read(unit, cell, name, here(*span), *soft || call_site.is_some());
                if call_site.is_none() {
                    self.cell_reads.push((name.clone(), *span, binding.clone()));
                }
                if let Some(Binding { kind: Kind::Definition(def), .. }) = binding {
                    self.expand(unit, cell, &def, here(*span), facts, expanding);
                }
            }
            Effect::Bind { name, span, kind, conditional } => {
                if *conditional || call_site.is_some() {
                    // The name may keep its old value: the step needs it.
                    self.read(unit, cell, name, here(*span), true);
                }
                if call_site.is_none() {
                    self.hints.remove(name);
                    if *conditional {
                        if !self.unconditional.contains(name) {
                            self.conditional_only.entry(name.clone()).or_insert((cell, *span));
                        }
                    } else {
                        self.unconditional.insert(name.clone());
                        self.conditional_only.remove(name);
                    }
                    self.check_shadowing(cell, name, *span);
                    if let BindKind::Definition(i) = kind {
                        for e in facts.definitions.get(*i).map(|d| d.call_effects.as_slice()).unwrap_or_default() {
                            if let Effect::DynamicNamespace { call, span } = e {
                                self.dynamic_namespace(cell, call, *span);
                            }
                        }
                    }
                }
                let kind = match kind {
                    BindKind::Value => Kind::Value,
                    BindKind::Import { module, attribute, statement } => Kind::Import {
                        module: module.clone(),
                        attribute: attribute.clone(),
                        statement: statement.clone(),
                    },
                    BindKind::Definition(i) => match facts.definitions.get(*i) {
                        Some(d) if call_site.is_none() => {
                            let def_time = self
                                .cell_reads
                                .iter()
                                .filter(|(_, s, _)| s.start >= d.span.start && s.end <= d.span.end)
                                .filter_map(|(n, _, b)| b.clone().map(|b| (n.clone(), b)))
                                .collect();
                            Kind::Definition(Rc::new(DefinitionInfo {
                                name: d.name.clone(),
                                is_class: d.kind == python::DefinitionKind::Class,
                                source: d.source.clone(),
                                cell,
                                start: d.span.start,
                                call_effects: d.call_effects.clone(),
                                mutated_params: d.mutated_params.clone(),
                                def_time,
                            }))
                        }
                        _ => Kind::Value,
                    },
                };
                self.write(unit, cell, name, kind);
            }
            Effect::Mutate { name, span } => {
                if let Some(b) = self.read(unit, cell, name, here(*span), call_site.is_some()) {
                    self.mutate(unit, cell, name, &b);
                }
            }
            Effect::MethodCall { receiver, path, span, inplace } => {
                let Some(b) = self.bindings.get(receiver).cloned() else { return };
                match &b.kind {
                    Kind::Import { module, attribute, .. } => {
                        let mut full = match attribute {
                            Some(a) => format!("{module}.{a}"),
                            None => module.clone(),
                        };
                        if let Some((function, prefix)) = path.split_last() {
                            for p in prefix {
                                full.push('.');
                                full.push_str(p);
                            }
                            self.random(unit, cell, &full, function, here(*span));
                        }
                    }
                    Kind::Value | Kind::Param if !is_read_only_method(path, *inplace) => {
                        self.mutate(unit, cell, receiver, &b)
                    }
                    _ => {}
                }
            }
            Effect::Call { callee, args, kwargs, span } => {
                let Some(b) = self.bindings.get(callee).cloned() else { return };
                match &b.kind {
                    Kind::Import { module, attribute: Some(function), .. } => {
                        self.random(unit, cell, module, function, here(*span))
                    }
                    Kind::Definition(def) => {
                        let mut mutated = Vec::new();
                        for (position, param) in &def.mutated_params {
                            if let Some(Some(arg)) = args.get(*position) {
                                mutated.push(arg.clone());
                            }
                            if let Some((_, Some(arg))) = kwargs.iter().find(|(k, _)| k == param) {
                                mutated.push(arg.clone());
                            }
                        }
                        for name in mutated {
                            self.effect(
                                unit,
                                cell,
                                &Effect::Mutate { name, span: *span },
                                call_site.or(Some(*span)),
                                facts,
                                expanding,
                            );
                        }
                    }
                    _ => {}
                }
            }
            Effect::Delete { name, span } => {
                self.read(unit, cell, name, here(*span), call_site.is_some());
                self.write(unit, cell, name, Kind::Deleted);
            }
            Effect::StarImport { module, .. } => self.stars.push((unit, cell, module.clone())),
            Effect::Alias { name, of, span } if call_site.is_none() => {
                let Some(own) = self.bindings.get(name).map(|b| b.cell) else { return };
                for target in of.iter().filter(|t| *t != name) {
                    if let Some(tb) = self.bindings.get(target).filter(|b| matches!(b.kind, Kind::Value | Kind::Param))
                    {
                        self.aliases.push(AliasLink {
                            a: name.clone(),
                            a_cell: own,
                            b: target.clone(),
                            b_cell: tb.cell,
                            unit,
                            cell,
                            span: *span,
                        });
                    }
                }
            }
            Effect::Value { name, span, hint } if call_site.is_none() => {
                self.hints.insert(name.clone(), (hint.clone(), cell, *span));
            }
            Effect::DynamicNamespace { call, span } if call_site.is_none() => self.dynamic_namespace(cell, call, *span),
            Effect::FileWrite { path, .. } => self.write(unit, cell, &file_variable(path), Kind::Value),
            Effect::FileRead { path, span } => {
                let var = file_variable(path);
                self.read(unit, cell, &var, here(*span), true);
                self.unknown_file_read(unit, cell, here(*span), &format!("`{path}`"));
            }
            Effect::FileUnknown { call, write: true, span } => {
                self.unknown_writes.push((unit, cell, here(*span), call.clone()))
            }
            Effect::FileUnknown { call, write: false, span } => {
                let span = here(*span);
                // A file written at a known path by another step may be the one read here.
                let known: Vec<(String, Unit, usize)> = self
                    .bindings
                    .iter()
                    .filter(|(n, b)| n.starts_with("@file:") && b.unit != unit && matches!(b.unit, Unit::Step(_)))
                    .map(|(n, b)| (n.clone(), b.unit, b.cell))
                    .collect();
                if let Some((file, _, wcell)) = known.into_iter().min_by_key(|k| k.2) {
                    self.warn_files(cell, span, &format!("`{call}` reads a file whose path nbkf cannot know here, and cell {} writes `{}` in another step", wcell + 1, &file["@file:".len()..]));
                }
                self.unknown_file_read(unit, cell, span, &format!("`{call}`"));
            }
            Effect::Alias { .. } | Effect::Value { .. } | Effect::DynamicNamespace { .. } => {}
        }
    }

    /// Runs a function's call-time effects where it is used.
    fn expand(
        &mut self,
        unit: Unit,
        cell: usize,
        def: &Rc<DefinitionInfo>,
        site: Span,
        facts: &CellFacts,
        expanding: &mut Vec<(usize, String)>,
    ) {
        let key = (def.cell, def.name.clone());
        if expanding.contains(&key) || expanding.len() >= MAX_EXPANSION_DEPTH {
            return;
        }
        expanding.push(key);
        for e in &def.call_effects {
            self.effect(unit, cell, e, Some(site), facts, expanding);
        }
        expanding.pop();
    }

    /// What a call into `random` / `numpy.random` does to the global generators.
    fn random(&mut self, unit: Unit, cell: usize, module: &str, function: &str, span: Span) {
        match random_effect(module, function) {
            Some(RandomEffect::Seed(var)) => self.write(unit, cell, var, Kind::Value),
            Some(RandomEffect::Advance(var)) => {
                self.read(unit, cell, var, span, true);
                self.write(unit, cell, var, Kind::Value);
            }
            None => {}
        }
    }

    fn mutate(&mut self, unit: Unit, cell: usize, name: &str, binding: &Binding) {
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

    /// `globals()`, `exec(...)` and friends: warn once per cell and call.
    fn dynamic_namespace(&mut self, cell: usize, call: &str, span: Span) {
        if self.warned.insert(("dynamic-namespace", format!("{cell}:{call}"))) {
            self.diags.push(
                Diagnostic::warning("dynamic-namespace", format!("`{call}` can read or bind names nbkf cannot see; values it uses from other steps are not passed"))
                    .in_cell(cell)
                    .at(span)
                    .with_hint("use plain names, or keep this code in the step that defines what it uses"),
            );
        }
    }

    fn check_shadowing(&mut self, cell: usize, name: &str, span: Span) {
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
    fn unknown_file_read(&mut self, unit: Unit, cell: usize, span: Span, what: &str) {
        let writer = self.unknown_writes.iter().find(|(u, _, _, _)| *u != unit && matches!(u, Unit::Step(_))).cloned();
        if let Some((_, wcell, wspan, call)) = writer {
            self.warn_files(cell, span, &format!("{what} is read here, and `{call}` in cell {} (line {}) writes a file whose path nbkf cannot know, in another step", wcell + 1, wspan.line));
        }
    }

    fn warn_files(&mut self, cell: usize, span: Span, message: &str) {
        if self.warned.insert(("file-between-steps", format!("{cell}:{}", span.line))) {
            self.diags.push(
                Diagnostic::warning("file-between-steps", format!("{message}; pods do not share files, so if it is the same file the reading step will not find it"))
                    .in_cell(cell)
                    .at(span)
                    .with_hint("write and read it with a path given as a string literal (nbkf then carries the file), or do both in one step"),
            );
        }
    }

    fn write(&mut self, unit: Unit, cell: usize, name: &str, kind: Kind) {
        self.bindings.insert(name.to_string(), Binding { unit, cell, kind });
        let cells = self.writes.entry((unit, name.to_string())).or_default();
        if cells.last() != Some(&cell) {
            cells.push(cell);
        }
    }

    /// Resolves a read in `unit`'s cell and records what the unit needs for it.
    fn read(&mut self, unit: Unit, cell: usize, name: &str, span: Span, soft: bool) -> Option<Binding> {
        if let Unit::Step(s) = unit {
            self.readers.insert(name.to_string(), s);
        }
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
                            self.inject(q, "*", &statement, star_cell, star_cell, false);
                            self.steps[q].modules.insert(module);
                        }
                    }
                    return None;
                }
                if !soft && !self.cell_binds.contains(name) && self.reported_undefined.insert((cell, name.to_string()))
                {
                    let mut d = Diagnostic::error(
                        "undefined-name",
                        format!("`{name}` is used but never defined before this cell"),
                    )
                    .in_cell(cell)
                    .at(span);
                    d = d.with_hint(self.undefined_hint(name));
                    self.diags.push(d);
                }
                None
            }
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

    #[allow(clippy::too_many_arguments)]
    fn use_binding(&mut self, unit: Unit, cell: usize, name: &str, b: &Binding, span: Span, soft: bool, depth: usize) {
        if depth > MAX_EXPANSION_DEPTH {
            return;
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
                Kind::Value | Kind::Param => {
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
                }
                Kind::Import { module, statement, .. } => {
                    self.inject(q, name, statement, b.cell, 0, false);
                    self.steps[q].modules.insert(module.clone());
                }
                Kind::Definition(def) => {
                    let def = def.clone();
                    let mut after_inputs = false;
                    for (n, db) in &def.def_time {
                        self.use_binding(unit, cell, n, db, span, true, depth + 1);
                        after_inputs |=
                            matches!((db.unit, &db.kind), (Unit::Step(p2), Kind::Value | Kind::Param) if p2 != q);
                    }
                    self.inject(q, name, &def.source, def.cell, def.start, after_inputs);
                }
                Kind::Deleted => {}
            },
            (Unit::Params, _) => {}
        }
    }

    /// What is known about a value passed from step `p` to step `q`.
    fn check_route(&mut self, name: &str, p: usize, q: usize, cell: usize, span: Span) {
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

    /// A value from another step may be an instance of a class the notebook defined:
    /// pickle refers to it as `__main__.<Class>`, so the loading step needs the class.
    /// Every class bound at this point in another step is copied into `step`.
    fn inject_live_classes(&mut self, step: usize, cell: usize, span: Span, depth: usize) {
        let classes: Vec<(String, Binding)> = self
            .bindings
            .iter()
            .filter(
                |(_, b)| matches!((&b.kind, b.unit), (Kind::Definition(d), Unit::Step(p)) if d.is_class && p != step),
            )
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect();
        for (name, binding) in classes {
            self.use_binding(Unit::Step(step), cell, &name, &binding, span, true, depth + 1);
        }
    }

    fn inject(&mut self, step: usize, name: &str, source: &str, cell: usize, start: usize, after_inputs: bool) {
        let acc = &mut self.steps[step];
        let key = (cell, name.to_string());
        acc.definition_order.entry(key.clone()).or_insert((cell, start));
        let entry = acc.definitions.entry(key).or_insert_with(|| InjectedCode {
            name: name.to_string(),
            source: source.to_string(),
            cell,
            after_inputs,
        });
        entry.after_inputs |= after_inputs;
    }

    fn metric(&mut self, cell: usize, name: &str, span: Span) {
        let key = name.replace('_', "-");
        match self.bindings.get(name).cloned() {
            Some(Binding { unit: Unit::Step(p), cell: bcell, kind: Kind::Value | Kind::Param }) => {
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

    /// Checks that every routed value is the one the reader saw in the notebook. Only
    /// steps whose cells are spread over the notebook (a step name used again further
    /// down) can break this.
    fn check_routes(&self, diags: &mut Vec<Diagnostic>) {
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
            if let Some(w) = own_writes.and_then(|w| w.iter().find(|c| **c < r.reader_cell)) {
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
}

/// The hidden variable of a file the notebook writes or reads at a literal path.
fn file_variable(path: &str) -> String {
    format!("@file:{}", path.strip_prefix("./").unwrap_or(path))
}

/// How a routed variable is named in messages.
fn display_variable(v: &str) -> String {
    match v {
        "@random" => "the state of `random`'s generator".into(),
        "@numpy.random" => "the state of `numpy.random`'s generator".into(),
        _ => match v.strip_prefix("@file:") {
            Some(path) => format!("the file `{path}`"),
            None => format!("`{v}`"),
        },
    }
}

/// Orders steps so that every step follows the steps it depends on, keeping notebook
/// order where the data allows; reports cycles.
fn order_steps(layout: &Layout, walk: &Walk, diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    let n = layout.steps.len();
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<_> = (0..n).map(|i| graph.add_node(i)).collect();
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (q, acc) in walk.steps.iter().enumerate() {
        for r in acc.inputs.values() {
            edges.insert((r.producer, q));
        }
        for p in layout.steps[q].prev.iter().filter_map(|p| p.resolved) {
            edges.insert((p, q));
        }
    }
    edges.retain(|(a, b)| a != b);
    for (a, b) in &edges {
        graph.add_edge(nodes[*a], nodes[*b], ());
    }
    if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
        let step = &layout.steps[graph[cycle.node_id()]];
        diags.push(
            Diagnostic::error("cycle", format!("step `{}` depends on itself through the data other steps read from it", step.name))
                .in_cell(step.cells.first().copied().unwrap_or(0))
                .with_hint("a step name used again further down the notebook joins those cells to the earlier step; use a new step name"),
        );
        return (0..n).collect();
    }
    // Kahn's algorithm, taking the step that comes first in the notebook among the ready ones.
    let first_cell = |s: usize| layout.steps[s].cells.first().copied().unwrap_or(usize::MAX);
    let mut indegree = vec![0usize; n];
    for (_, b) in &edges {
        indegree[*b] += 1;
    }
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> =
        (0..n).filter(|s| indegree[*s] == 0).map(|s| Reverse((first_cell(s), s))).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, s))) = ready.pop() {
        order.push(s);
        for (_, b) in edges.iter().filter(|(a, _)| *a == s) {
            indegree[*b] -= 1;
            if indegree[*b] == 0 {
                ready.push(Reverse((first_cell(*b), *b)));
            }
        }
    }
    order
}

#[cfg(test)]
mod tests;
