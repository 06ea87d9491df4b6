//! The Python source of one step: the step runtime, the cells it runs as literals, and
//! the KFP component function whose typed parameters are the step's inputs and outputs.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use minijinja::{context, Environment};

use super::python_literal::string as py;
use crate::plan::{CellCode, Plan, StepPlan};
use crate::runtime::STEP_RUNTIME;

/// The argument names of a step's component function (they are also the input and
/// output names in the IR), unique within the component.
#[derive(Debug, Clone)]
pub struct ComponentNames {
    /// The input artifact with the step runtime; none for the exit step, which carries the
    /// runtime itself (it may run when the task that writes the runtime did not).
    pub runtime: Option<String>,
    /// (pipeline parameter, argument)
    pub parameters: Vec<(String, String)>,
    /// (variable, argument), in the order of [`StepPlan::inputs`]. Inputs loaded from one
    /// output group of one producer share an argument.
    pub inputs: Vec<(String, String)>,
    /// (variable, argument), in the order of [`StepPlan::outputs`], for the outputs saved
    /// alone.
    pub outputs: Vec<(String, String)>,
    /// (variables, argument), in the order of [`StepPlan::output_groups`].
    pub output_groups: Vec<(Vec<String>, String)>,
    pub metrics: Option<String>,
    pub report: Option<String>,
    /// For a `for:` step: the input parameter with the index of its item.
    pub item: Option<String>,
    /// For the exit step: the input parameter with how the other steps ended.
    pub status: Option<String>,
}

impl ComponentNames {
    /// The output argument of this (producing) step that holds `input`: its group's
    /// artifact, or its own.
    pub fn output_of(&self, input: &crate::plan::VariableInput) -> String {
        match input.group {
            Some(g) => self.output_groups.get(g).map(|(_, a)| a.clone()),
            None => self.outputs.iter().find(|(v, _)| *v == input.variable).map(|(_, a)| a.clone()),
        }
        .unwrap_or_default()
    }
}

/// The Python-identifier part of a variable's argument names.
fn slug(variable: &str) -> String {
    // Hidden variables: a prefix and a name or path, made an identifier part:
    // `@file:data/clean.csv` -> `file_data_clean_csv`, `@state:pandas.options` ->
    // `state_pandas_options`, `@attrs:Config` -> `attrs_Config`.
    let hidden = |prefix: &str, rest: &str| {
        let mut s: String = rest.chars().map(|c| if c.is_alphanumeric() || c == '_' { c } else { '_' }).collect();
        s.truncate(60);
        format!("{prefix}_{}", s.trim_matches('_'))
    };
    match variable {
        "@random" => "random_state".into(),
        "@numpy.random" => "numpy_random_state".into(),
        v => {
            for (prefix, slug) in [("@file:", "file"), ("@state:", "state"), ("@attr:", "attr"), ("@attrs:", "attrs")] {
                if let Some(rest) = v.strip_prefix(prefix) {
                    return hidden(slug, rest);
                }
            }
            v.to_string()
        }
    }
}

/// Allocates the argument names of a step's component.
pub fn component_names(plan: &Plan, step: &StepPlan) -> ComponentNames {
    let mut taken = BTreeSet::new();
    let mut take = |wanted: String| {
        let wanted = if wanted.starts_with("_nbkf") { format!("p{wanted}") } else { wanted };
        crate::names::unique_name(wanted, &mut taken)
    };
    let runtime = (!step.settings.finally).then(|| take("nbkf_runtime".into()));
    let parameters = step.parameters.iter().map(|p| (p.clone(), take(p.clone()))).collect();
    let mut group_args: Vec<((usize, usize), String)> = Vec::new();
    let inputs = step
        .inputs
        .iter()
        .map(|i| match i.group {
            Some(g) => {
                let arg = match group_args.iter().find(|(k, _)| *k == (i.producer, g)) {
                    Some((_, a)) => a.clone(),
                    None => {
                        let first = &plan.steps[i.producer].output_groups[g][0];
                        let a = take(format!("in_group_{}", slug(first)));
                        group_args.push(((i.producer, g), a.clone()));
                        a
                    }
                };
                (i.variable.clone(), arg)
            }
            None => (i.variable.clone(), take(format!("in_{}", slug(&i.variable)))),
        })
        .collect();
    let grouped = |v: &String| step.output_groups.iter().any(|g| g.contains(v));
    let outputs =
        step.outputs.iter().filter(|v| !grouped(v)).map(|v| (v.clone(), take(format!("out_{}", slug(v))))).collect();
    let output_groups =
        step.output_groups.iter().map(|g| (g.clone(), take(format!("out_group_{}", slug(&g[0]))))).collect();
    let metrics = (!step.metrics.is_empty()).then(|| take("metrics".into()));
    let report = step.settings.report.then(|| take("report".into()));
    let item = step.fan_out.as_ref().map(|_| take("nbkf_item".into()));
    let status = step.settings.finally.then(|| take("nbkf_status".into()));
    ComponentNames { runtime, parameters, inputs, outputs, output_groups, metrics, report, item, status }
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_template("step.py.j2", include_str!("../../templates/step.py.j2")).expect("the step template is valid");
        env.add_template("runtime.py.j2", include_str!("../../templates/runtime.py.j2"))
            .expect("the runtime template is valid");
        env
    })
}

/// `(index, id, source[, magic])`: a cell as the runtime takes it (`_nbkf_cell(*cell)`):
/// translated Python, or the cell as written when IPython runs the cells. As the tuple's
/// elements (Python literals).
fn cell_literal(cell: &CellCode, ipython: bool) -> Vec<String> {
    let id = cell.id.as_deref().map_or("None".to_string(), py);
    if ipython {
        return vec![cell.index.to_string(), id, py(&cell.source)];
    }
    let mut parts = vec![cell.index.to_string(), id, py(&cell.program)];
    if let Some(m) = &cell.cell_magic {
        parts.push(format!("({}, {})", py(&m.name), py(&m.args)));
    }
    parts
}

/// `(cell, None, source[, None, line])`: code copied from a cell, starting at `line`
/// ([`located`] in a sub-notebook).
fn injected_literal(plan: &Plan, cell: usize, line: usize, source: &str) -> Vec<String> {
    let mut parts = vec![cell.to_string(), "None".to_string(), py(source)];
    if line > 1 {
        parts.extend(["None".to_string(), line.to_string()]);
    }
    located(plan, cell, parts)
}

/// A cell literal with, for a cell of a notebook that a `notebook:` cell runs, where it is
/// (`(notebook, index)`, the runtime's `where`), so that tracebacks name that notebook.
fn located(plan: &Plan, cell: usize, mut parts: Vec<String>) -> Vec<String> {
    if let (Some(notebook), index) = plan.locate(cell) {
        while parts.len() < 5 {
            parts.push(if parts.len() == 3 { "None".to_string() } else { "1".to_string() });
        }
        parts.push(format!("({}, {index})", py(notebook)));
    }
    parts
}

/// The SHA-256 of the step runtime, which every step checks before it runs it.
pub fn runtime_sha256() -> String {
    use sha2::{Digest, Sha256};
    // The runtime is a constant: hashed once per process, not once per step.
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| Sha256::digest(STEP_RUNTIME.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()).clone()
}

/// The Python source of the runtime task: it writes the step runtime to its output
/// artifact `output`.
pub fn render_runtime(plan: &Plan, output: &str) -> String {
    environment()
        .get_template("runtime.py.j2")
        .and_then(|t| {
            t.render(context! {
                pipeline => plan.settings.name.replace('\n', " "),
                version => env!("CARGO_PKG_VERSION"),
                runtime_literal => py(STEP_RUNTIME),
                function => crate::names::RUNTIME_FUNCTION,
                output,
            })
        })
        .expect("the runtime template renders with any plan")
}

/// A tuple literal: its elements (Python literals) in parentheses.
fn tuple(parts: &[String]) -> String {
    format!("({})", parts.join(", "))
}

/// A tuple's elements, each a Python literal.
pub type Tuple = Vec<String>;

/// A variable whose definition depends on which branch ran: (variable, [(key, code)]).
pub type Choice = (String, Vec<(String, Tuple)>);

/// What a step's program says, as Python literals: the data of `_NBKF_STEP` and the
/// arguments of `_nbkf_run_step`. Shared by the step program of the IR and the components
/// of the KFP DSL script ([`super::dsl`]), which lay them out differently.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepFields {
    pub step_literal: String,
    pub notebook_literal: String,
    pub pipeline_literal: String,
    pub ipython: &'static str,
    /// Each a tuple's elements.
    pub prelude: Vec<Vec<String>>,
    pub definitions: Vec<Vec<String>>,
    pub late_definitions: Vec<Vec<String>>,
    pub cells: Vec<Vec<String>>,
    /// (variable, [(key, code tuple's elements)])
    pub choices: Vec<Choice>,
    /// (variable, keys)
    pub candidates: Vec<(String, Vec<String>)>,
    /// (path, source)
    pub modules: Vec<(String, String)>,
    /// The component function's parameters (`name: Type`).
    pub signature: Vec<String>,
    /// The runtime's input argument, or empty when the step carries the runtime
    /// (`runtime_literal`).
    pub runtime_arg: String,
    /// The step runtime as a Python literal, for the exit step; else empty.
    pub runtime_literal: String,
    /// (name, value expression)
    pub parameters: Vec<(String, String)>,
    /// (key, argument)
    pub inputs: Vec<(String, String)>,
    /// For each input: the members of a group key (a tuple), else none.
    pub input_groups: Vec<Vec<String>>,
    /// (key, argument, cell or {variable: cell})
    pub outputs: Vec<(String, String, String)>,
    /// For each output: the members of a group key with each one's cell, else none.
    pub output_groups: Vec<Vec<(String, usize)>>,
    /// (key, variable)
    pub metrics: Vec<(String, String)>,
    pub metrics_artifact: String,
    pub report: String,
    /// `(list name, item argument)` for a `for:` step; else empty.
    pub item: String,
    /// The status argument of the exit step; else empty.
    pub status: String,
}

/// The literals of a step's program.
pub fn fields(plan: &Plan, step: &StepPlan, names: &ComponentNames) -> StepFields {
    let ipython = plan.settings.ipython;
    let cell =
        |i: &usize| plan.cells.get(*i).and_then(Option::as_ref).map(|c| located(plan, *i, cell_literal(c, ipython)));
    let prelude: Vec<Vec<String>> = plan.prelude.iter().filter_map(cell).collect();
    let cells: Vec<Vec<String>> = step.cells.iter().filter_map(cell).collect();
    let definitions: Vec<Vec<String>> = step
        .definitions
        .iter()
        .filter(|d| !d.after_inputs)
        .map(|d| injected_literal(plan, d.cell, d.line, &d.source))
        .collect();
    let late_definitions: Vec<Vec<String>> = step
        .definitions
        .iter()
        .filter(|d| d.after_inputs)
        .map(|d| injected_literal(plan, d.cell, d.line, &d.source))
        .collect();
    let key = |k: &(usize, usize, usize)| format!("({}, {}, {})", k.0, k.1, k.2);
    let choices: Vec<Choice> = step
        .choices
        .iter()
        .map(|(v, codes)| {
            (py(v), codes.iter().map(|c| (key(&c.key), injected_literal(plan, c.key.0, c.key.1, &c.source))).collect())
        })
        .collect();
    let candidates: Vec<(String, Vec<String>)> =
        step.candidates.iter().map(|(v, keys)| (py(v), keys.iter().map(key).collect())).collect();
    let modules: Vec<(String, String)> = step
        .local_modules
        .iter()
        .flat_map(|m| plan.local_modules.get(m).into_iter().flatten())
        .map(|(path, source)| (py(path), py(source)))
        .collect();

    let mut signature: Vec<String> = names.runtime.iter().map(|r| format!("{r}: Input[Artifact]")).collect();
    let mut parameters = Vec::new();
    for (param, arg) in &names.parameters {
        let kind = plan.parameters.iter().find(|p| &p.name == param).map(|p| p.kind);
        signature.push(format!("{arg}: {}", kind.map_or("str", |k| k.python_type())));
        // Lists and dicts arrive as JSON text.
        let value = if kind.is_some_and(|k| k.is_json()) { format!("_nbkf_json({arg})") } else { arg.clone() };
        parameters.push((py(param), value));
    }
    // Inputs: one artifact per variable, or per output group of a producer (its members
    // as a tuple key).
    let mut inputs: Vec<(String, String)> = Vec::new();
    let mut input_groups: Vec<Vec<String>> = Vec::new();
    let mut seen_args: Vec<String> = Vec::new();
    for (variable, arg) in &names.inputs {
        if seen_args.contains(arg) {
            continue;
        }
        seen_args.push(arg.clone());
        // A list a `for:` step appends to arrives as each item's artifact.
        let collected = step.inputs.iter().any(|i| {
            i.variable == *variable
                && plan.steps[i.producer].fan_out.as_ref().is_some_and(|f| f.accumulators.contains(variable))
        });
        signature.push(format!("{arg}: Input[{}]", if collected { "List[Artifact]" } else { "Artifact" }));
        let members: Vec<&String> = names.inputs.iter().filter(|(_, a)| a == arg).map(|(v, _)| v).collect();
        let key = if members.len() > 1 || step.inputs.iter().any(|i| i.variable == *variable && i.group.is_some()) {
            input_groups.push(members.iter().map(|m| py(m)).collect());
            format!("({},)", members.iter().map(|m| py(m)).collect::<Vec<_>>().join(", "))
        } else {
            input_groups.push(Vec::new());
            py(variable)
        };
        inputs.push((key, arg.clone()));
    }
    let last_cell = step.cells.last().copied().unwrap_or_default();
    let cell_of = |v: &String| step.output_cells.get(v).copied().unwrap_or(last_cell);
    let mut outputs: Vec<(String, String, String)> = Vec::new();
    let mut output_groups: Vec<Vec<(String, usize)>> = Vec::new();
    for (variable, arg) in &names.outputs {
        signature.push(format!("{arg}: Output[Artifact]"));
        outputs.push((py(variable), arg.clone(), cell_of(variable).to_string()));
        output_groups.push(Vec::new());
    }
    for (group, arg) in &names.output_groups {
        signature.push(format!("{arg}: Output[Artifact]"));
        let key = format!("({},)", group.iter().map(|m| py(m)).collect::<Vec<_>>().join(", "));
        let cells = group.iter().map(|v| format!("{}: {}", py(v), cell_of(v))).collect::<Vec<_>>().join(", ");
        outputs.push((key, arg.clone(), format!("{{{cells}}}")));
        output_groups.push(group.iter().map(|v| (py(v), cell_of(v))).collect());
    }
    if let Some(m) = &names.metrics {
        signature.push(format!("{m}: Output[Metrics]"));
    }
    if let Some(r) = &names.report {
        signature.push(format!("{r}: Output[HTML]"));
    }
    let item = match (&step.fan_out, &names.item) {
        (Some(f), Some(arg)) => {
            signature.push(format!("{arg}: str"));
            format!("({}, {arg})", py(&f.list))
        }
        _ => String::new(),
    };
    if let Some(arg) = &names.status {
        signature.push(format!("{arg}: PipelineTaskFinalStatus"));
    }
    let metrics: Vec<(String, String)> = step.metrics.iter().map(|(k, v)| (py(k), py(v))).collect();
    StepFields {
        step_literal: py(&step.name),
        notebook_literal: py(&plan.notebook_file),
        pipeline_literal: py(&plan.settings.name),
        ipython: if ipython { "True" } else { "False" },
        prelude,
        definitions,
        late_definitions,
        cells,
        choices,
        candidates,
        modules,
        signature,
        runtime_arg: names.runtime.clone().unwrap_or_default(),
        runtime_literal: if names.runtime.is_none() { py(STEP_RUNTIME) } else { String::new() },
        parameters,
        inputs,
        input_groups,
        outputs,
        output_groups,
        metrics,
        metrics_artifact: names.metrics.clone().unwrap_or_else(|| "None".into()),
        report: names.report.clone().unwrap_or_else(|| "None".into()),
        item,
        status: names.status.clone().unwrap_or_default(),
    }
}

/// Renders the step's Python source.
pub fn render(plan: &Plan, step: &StepPlan, names: &ComponentNames) -> String {
    let f = fields(plan, step, names);
    let cells = |list: &[Vec<String>]| list.iter().map(|c| tuple(c)).collect::<Vec<_>>();
    let choices: Vec<(String, Vec<(String, String)>)> = f
        .choices
        .iter()
        .map(|(v, codes)| (v.clone(), codes.iter().map(|(k, c)| (k.clone(), tuple(c))).collect()))
        .collect();
    let candidates: Vec<(String, String)> = f.candidates.iter().map(|(v, keys)| (v.clone(), keys.join(", "))).collect();
    environment()
        .get_template("step.py.j2")
        .and_then(|t| {
            t.render(context! {
                step => &step.name,
                step_literal => &f.step_literal,
                notebook => plan.notebook_file.replace('\n', " "),
                notebook_literal => &f.notebook_literal,
                pipeline_literal => &f.pipeline_literal,
                ipython => f.ipython,
                version => env!("CARGO_PKG_VERSION"),
                runtime_task => crate::names::RUNTIME_TASK,
                runtime_sha256 => runtime_sha256(),
                runtime_arg => &f.runtime_arg,
                runtime_literal => &f.runtime_literal,
                prelude => cells(&f.prelude),
                definitions => cells(&f.definitions),
                late_definitions => cells(&f.late_definitions),
                cells => cells(&f.cells),
                choices, candidates,
                modules => &f.modules,
                function => &step.function,
                signature => &f.signature,
                parameters => &f.parameters,
                inputs => &f.inputs,
                outputs => &f.outputs,
                metrics => &f.metrics,
                metrics_artifact => &f.metrics_artifact,
                report => &f.report,
                item => &f.item,
                status => &f.status,
            })
        })
        .expect("the step template renders with any plan")
}
