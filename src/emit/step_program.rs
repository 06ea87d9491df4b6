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
    /// (pipeline parameter, argument)
    pub parameters: Vec<(String, String)>,
    /// (variable, argument), in the order of [`StepPlan::inputs`].
    pub inputs: Vec<(String, String)>,
    /// (variable, argument), in the order of [`StepPlan::outputs`].
    pub outputs: Vec<(String, String)>,
    pub metrics: Option<String>,
    pub report: Option<String>,
}

/// The Python-identifier part of a variable's argument names.
fn slug(variable: &str) -> String {
    match variable {
        "@random" => "random_state".into(),
        "@numpy.random" => "numpy_random_state".into(),
        v => match v.strip_prefix("@file:") {
            // A file carried between steps: `@file:data/clean.csv` -> `file_data_clean_csv`.
            Some(path) => {
                let mut s: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
                s.truncate(60);
                format!("file_{}", s.trim_matches('_'))
            }
            None => v.to_string(),
        },
    }
}

/// Allocates the argument names of a step's component.
pub fn component_names(_plan: &Plan, step: &StepPlan) -> ComponentNames {
    let mut taken = BTreeSet::new();
    let mut take = |wanted: String| {
        let wanted = if wanted.starts_with("_nbkf") { format!("p{wanted}") } else { wanted };
        crate::names::unique_name(wanted, &mut taken)
    };
    let parameters = step.parameters.iter().map(|p| (p.clone(), take(p.clone()))).collect();
    let inputs = step.inputs.iter().map(|i| (i.variable.clone(), take(format!("in_{}", slug(&i.variable))))).collect();
    let outputs = step.outputs.iter().map(|v| (v.clone(), take(format!("out_{}", slug(v))))).collect();
    let metrics = (!step.metrics.is_empty()).then(|| take("metrics".into()));
    let report = step.settings.report.then(|| take("report".into()));
    ComponentNames { parameters, inputs, outputs, metrics, report }
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_template("step.py.j2", include_str!("../../templates/step.py.j2")).expect("the step template is valid");
        env
    })
}

/// `_nbkf_cell(index, id, source[, magic])`: a cell as the runtime takes it.
/// (Translated Python, or the cell as written when IPython runs the cells.)
fn cell_literal(cell: &CellCode, ipython: bool) -> String {
    let id = cell.id.as_deref().map_or("None".to_string(), py);
    if ipython {
        return format!("_nbkf_cell({}, {id}, {})", cell.index, py(&cell.source));
    }
    let magic =
        cell.cell_magic.as_ref().map(|m| format!(", magic=({}, {})", py(&m.name), py(&m.args))).unwrap_or_default();
    format!("_nbkf_cell({}, {id}, {}{magic})", cell.index, py(&cell.program))
}

fn injected_literal(cell: usize, source: &str) -> String {
    format!("_nbkf_cell({cell}, None, {})", py(source))
}

/// Renders the step's Python source.
pub fn render(plan: &Plan, step: &StepPlan, names: &ComponentNames) -> String {
    let ipython = plan.settings.ipython;
    let cell = |i: &usize| plan.cells.get(*i).and_then(Option::as_ref).map(|c| cell_literal(c, ipython));
    let prelude: Vec<String> = plan.prelude.iter().filter_map(cell).collect();
    let cells: Vec<String> = step.cells.iter().filter_map(cell).collect();
    let definitions: Vec<String> =
        step.definitions.iter().filter(|d| !d.after_inputs).map(|d| injected_literal(d.cell, &d.source)).collect();
    let late_definitions: Vec<String> =
        step.definitions.iter().filter(|d| d.after_inputs).map(|d| injected_literal(d.cell, &d.source)).collect();

    let mut signature = Vec::new();
    let mut parameters = Vec::new();
    for (param, arg) in &names.parameters {
        let kind = plan.parameters.iter().find(|p| &p.name == param).map(|p| p.kind);
        signature.push(format!("{arg}: {}", kind.map_or("str", |k| k.python_type())));
        // Lists and dicts arrive as JSON text.
        let value = if kind.is_some_and(|k| k.is_json()) { format!("_nbkf_json({arg})") } else { arg.clone() };
        parameters.push((py(param), value));
    }
    let mut inputs = Vec::new();
    for (variable, arg) in &names.inputs {
        signature.push(format!("{arg}: Input[Artifact]"));
        inputs.push((py(variable), arg.clone()));
    }
    let last_cell = step.cells.last().copied().unwrap_or_default();
    let mut outputs = Vec::new();
    for (variable, arg) in &names.outputs {
        signature.push(format!("{arg}: Output[Artifact]"));
        let cell = step.output_cells.get(variable).copied().unwrap_or(last_cell);
        outputs.push((py(variable), arg.clone(), cell));
    }
    if let Some(m) = &names.metrics {
        signature.push(format!("{m}: Output[Metrics]"));
    }
    if let Some(r) = &names.report {
        signature.push(format!("{r}: Output[HTML]"));
    }
    let metrics: Vec<(String, String)> = step.metrics.iter().map(|(k, v)| (py(k), py(v))).collect();
    environment()
        .get_template("step.py.j2")
        .and_then(|t| {
            t.render(context! {
                step => &step.name,
                step_literal => py(&step.name),
                notebook => plan.notebook_file.replace('\n', " "),
                notebook_literal => py(&plan.notebook_file),
                pipeline_literal => py(&plan.settings.name),
                ipython => if ipython { "True" } else { "False" },
                version => env!("CARGO_PKG_VERSION"),
                runtime => STEP_RUNTIME,
                prelude, definitions, late_definitions, cells,
                function => &step.function,
                signature, parameters, inputs, outputs, metrics,
                metrics_artifact => names.metrics.clone().unwrap_or_else(|| "None".into()),
                report => names.report.clone().unwrap_or_else(|| "None".into()),
            })
        })
        .expect("the step template renders with any plan")
}
