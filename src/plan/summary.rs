//! The plan for a person deciding whether the split is right (`nbkf plan`), as text or
//! data, and the Kale tags that write it back into the notebook (`nbkf tag`).

use std::fmt::Write as _;

use serde::Serialize;

use super::{Plan, Variable};
use crate::notebook::Notebook;

/// The plan as data (`nbkf plan --format json`). Cell numbers count from 1, as Jupyter
/// shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanSummary {
    pub pipeline: String,
    /// The KFP experiment runs go to, when the notebook or the command line names one.
    pub experiment: Option<String>,
    pub notebook: String,
    pub parameters: Vec<ParameterSummary>,
    /// Cells that run at the start of every step (`imports`, `functions`).
    pub prelude_cells: Vec<usize>,
    pub steps: Vec<StepSummary>,
    /// The sub-pipelines: notebooks that `notebook:` cells run, in the order their cells
    /// start (empty for a notebook without `notebook:` cells).
    pub sub_pipelines: Vec<SubPipelineSummary>,
}

/// A notebook a `notebook:` cell runs, as a sub-pipeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubPipelineSummary {
    /// The names from the outermost sub-pipeline down to this one: `outer/square`.
    pub name: String,
    /// The task that runs it.
    pub task: String,
    /// Its path from the converted notebook's folder.
    pub notebook: String,
    /// The notebook with the `notebook:` cell (`None`: the converted notebook).
    pub caller: Option<String>,
    /// The `notebook:` cell, counted from 1 in the caller.
    pub cell: usize,
    /// The steps directly in it.
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParameterSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub default: serde_json::Value,
    pub cell: usize,
    /// The sub-notebook whose parameters cell defines it (`None`: the converted notebook).
    pub notebook: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepSummary {
    pub name: String,
    pub task: String,
    /// Its cells, counted from 1 in its notebook.
    pub cells: Vec<usize>,
    /// The sub-notebook its cells are in (`None`: the converted notebook).
    pub notebook: Option<String>,
    /// The sub-pipeline it is in (see [`SubPipelineSummary::name`]).
    pub sub_pipeline: Option<String>,
    /// Steps this one runs after.
    pub after: Vec<String>,
    /// The exit step (`finally`): it runs after all the others, also when one failed.
    pub finally: bool,
    /// A `for:` step: the list it runs once per item of.
    pub for_each: Option<String>,
    /// At most this many items at once (`parallelism:`).
    pub parallelism: Option<u32>,
    /// The lists its items append to, collected in item order for later steps.
    pub collects: Vec<String>,
    pub inputs: Vec<InputSummary>,
    pub outputs: Vec<Variable>,
    pub parameters: Vec<String>,
    pub metrics: Vec<String>,
    /// Imports, functions and classes copied in from other steps.
    pub definitions: Vec<String>,
    pub packages: Vec<String>,
    /// Local modules (files beside the notebook) whose sources the step carries.
    pub local_modules: Vec<String>,
    pub image: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InputSummary {
    pub variable: Variable,
    pub from: String,
}

/// The plan as data.
pub fn summary(plan: &Plan) -> PlanSummary {
    let one = |c: &usize| plan.locate(*c).1 + 1;
    let notebook = |c: Option<&usize>| c.and_then(|c| plan.locate(*c).0).map(str::to_string);
    let chain = |g: usize| {
        plan.sub_pipeline_path(Some(g))
            .iter()
            .map(|s| plan.sub_pipelines[*s].name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    };
    PlanSummary {
        pipeline: plan.settings.name.clone(),
        experiment: plan.settings.experiment.clone(),
        notebook: plan.notebook_file.clone(),
        parameters: plan
            .parameters
            .iter()
            .map(|p| ParameterSummary {
                name: p.name.clone(),
                kind: p.kind.describe(),
                default: p.default.to_json(),
                cell: one(&p.cell),
                notebook: notebook(Some(&p.cell)),
            })
            .collect(),
        prelude_cells: plan.prelude.iter().filter(|c| plan.locate(**c).0.is_none()).map(one).collect(),
        steps: plan
            .steps
            .iter()
            .map(|s| StepSummary {
                name: s.name.clone(),
                task: s.task.clone(),
                cells: s.cells.iter().map(one).collect(),
                notebook: notebook(s.cells.first()),
                sub_pipeline: s.sub_pipeline.map(chain),
                after: s.after.iter().map(|a| plan.steps[*a].name.clone()).collect(),
                finally: s.settings.finally,
                for_each: s.fan_out.as_ref().map(|f| f.list.clone()),
                parallelism: s.fan_out.as_ref().and_then(|f| f.parallelism),
                collects: s.fan_out.as_ref().map(|f| f.accumulators.clone()).unwrap_or_default(),
                inputs: s
                    .inputs
                    .iter()
                    .map(|i| InputSummary { variable: i.variable.clone(), from: plan.steps[i.producer].name.clone() })
                    .collect(),
                outputs: s.outputs.clone(),
                parameters: s.parameters.clone(),
                metrics: s.metrics.iter().map(|(k, _)| k.clone()).collect(),
                definitions: unique_names(s.definitions.iter().map(|d| d.name.as_str())),
                packages: s.packages.clone(),
                local_modules: s.local_modules.clone(),
                image: s.settings.image.clone(),
            })
            .collect(),
        sub_pipelines: plan
            .sub_pipelines
            .iter()
            .enumerate()
            .map(|(g, sub)| SubPipelineSummary {
                name: chain(g),
                task: sub.task.clone(),
                notebook: sub.path.clone(),
                caller: notebook(Some(&sub.cell)),
                cell: one(&sub.cell),
                steps: plan.steps.iter().filter(|s| s.sub_pipeline == Some(g)).map(|s| s.name.clone()).collect(),
            })
            .collect(),
    }
}

/// Names in their first order, each once (two steps may supply code of the same name).
fn unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

/// Cell numbers as ranges: `3-5, 8`.
pub fn ranges(cells: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        let start = cells[i];
        let mut end = start;
        while i + 1 < cells.len() && cells[i + 1] == end + 1 {
            i += 1;
            end = cells[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    parts.join(", ")
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

/// The plan in words.
pub fn summary_text(plan: &Plan) -> String {
    let s = summary(plan);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pipeline `{}` from {}: {} step{}, {} parameter{}",
        s.pipeline,
        s.notebook,
        s.steps.len(),
        if s.steps.len() == 1 { "" } else { "s" },
        s.parameters.len(),
        if s.parameters.len() == 1 { "" } else { "s" }
    );
    let of = |notebook: &Option<String>| notebook.as_ref().map(|n| format!(" of {n}")).unwrap_or_default();
    for p in &s.parameters {
        let _ =
            writeln!(out, "  parameter {}: {} = {} (cell {}{})", p.name, p.kind, p.default, p.cell, of(&p.notebook));
    }
    if !s.prelude_cells.is_empty() {
        let _ = writeln!(out, "  every step first runs cells {} (imports, functions)", ranges(&s.prelude_cells));
    }
    for sub in &s.sub_pipelines {
        let _ = writeln!(
            out,
            "  sub-pipeline {}: {}, run by cell {}{}; steps {}",
            sub.name,
            sub.notebook,
            sub.cell,
            of(&sub.caller),
            list(&sub.steps)
        );
    }
    for step in &s.steps {
        let _ = writeln!(out, "\nstep {} (cells {}{})", step.name, ranges(&step.cells), of(&step.notebook));
        if let Some(sub) = &step.sub_pipeline {
            let _ = writeln!(out, "  in:         sub-pipeline {sub}");
        }
        if step.finally {
            let _ = writeln!(out, "  exit step:  runs after all the other steps, also when one of them failed");
        }
        if let Some(list) = &step.for_each {
            let limit = step.parallelism.map(|n| format!(", at most {n} at once")).unwrap_or_default();
            let _ = writeln!(out, "  for each:   item of {list}, in parallel{limit}");
            let _ =
                writeln!(out, "  collects:   {} (each item's appends, in item order)", list_or_dash(&step.collects));
        }
        if !step.after.is_empty() {
            let _ = writeln!(out, "  after:      {}", step.after.join(", "));
        }
        let inputs: Vec<String> = step.inputs.iter().map(|i| format!("{} (from {})", i.variable, i.from)).collect();
        let _ = writeln!(out, "  reads:      {}", list(&inputs));
        let _ = writeln!(out, "  passes on:  {}", list(&step.outputs));
        if !step.parameters.is_empty() {
            let _ = writeln!(out, "  parameters: {}", step.parameters.join(", "));
        }
        if !step.metrics.is_empty() {
            let _ = writeln!(out, "  metrics:    {}", step.metrics.join(", "));
        }
        if !step.definitions.is_empty() {
            let _ = writeln!(out, "  code from other steps: {}", step.definitions.join(", "));
        }
        let _ = writeln!(out, "  packages:   {}", list(&step.packages));
        if !step.local_modules.is_empty() {
            let _ = writeln!(out, "  modules:    {} (carried from beside the notebook)", step.local_modules.join(", "));
        }
    }
    out
}

fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

/// The Kale tags that describe the plan, for every code cell whose tags would change:
/// the step tags (inferred ones included) and a `prev:` tag for each step a step runs
/// after, so that Kale's JupyterLab extension shows the same DAG. For a composed notebook,
/// only the notebook's own cells (counted as in its file) and `prev:` tags between its own
/// steps: the sub-notebooks are files of their own, and Kale finds the edges between
/// notebooks from the data.
pub fn kale_tags(
    plan: &Plan,
    notebook: &Notebook,
    inferred: Option<&[(usize, Vec<String>)]>,
) -> Vec<(usize, Vec<String>)> {
    let mut tags: Vec<Vec<String>> = notebook.cells.iter().map(|c| c.tags.clone()).collect();
    for (cell, t) in inferred.unwrap_or_default() {
        tags[*cell] = t.clone();
    }
    for step in &plan.steps {
        // The step's first cell carries its name (code before the first tagged cell joins
        // the first step: tagging that code keeps Kale from dropping it) and its `prev:`s.
        let Some(&first) = step.cells.first() else { continue };
        let cell_tags = &mut tags[first];
        if plan.steps.len() > 1 && !cell_tags.iter().any(|t| t.starts_with("step:") || t.starts_with("block:")) {
            cell_tags.push(format!("step:{}", step.name));
        }
        for dep in step.after.iter().filter(|d| plan.steps[**d].sub_pipeline == step.sub_pipeline) {
            let tag = format!("prev:{}", plan.steps[*dep].name);
            if !cell_tags.contains(&tag) {
                cell_tags.push(tag);
            }
        }
    }
    let calls: Vec<usize> = plan.sub_pipelines.iter().map(|g| g.cell).collect();
    notebook
        .cells
        .iter()
        .filter(|c| {
            notebook.written_tags(c.index) != tags[c.index].as_slice()
                && plan.locate(c.index).0.is_none()
                && !calls.contains(&c.index)
        })
        .map(|c| (plan.locate(c.index).1, tags[c.index].clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_from_two_steps_with_one_name_is_listed_once() {
        assert_eq!(super::unique_names(["f", "g", "f"].into_iter()), ["f", "g"]);
    }
}
