//! `nbkf check`: proves that the pipeline computes what the notebook computes, on this
//! machine. It runs the pipeline with the local runner, runs the notebook's non-`skip`
//! cells top to bottom in one Python process (with the same IPython handling steps get),
//! and compares every value the pipeline passed between steps (with the notebook's value
//! right after the cell that made it final), every metric, and each step cell's printed
//! output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::notebook::Notebook;
use crate::plan::Plan;
use crate::run::{self, LocalPipeline, Observer, RunError, RunOptions, RunReport};

/// One comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The task that produced the pipeline's side.
    pub task: String,
    /// The variable or metric compared (`None` for a cell's output).
    #[serde(default)]
    pub variable: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    /// The notebook cell (0-based) after which the value is final, or whose output it is.
    #[serde(default)]
    pub cell: Option<usize>,
    /// The value as a later step loads it (compared before that step's first cell),
    /// rather than as its producer saved it.
    #[serde(default, deserialize_with = "null_as_false")]
    pub before: bool,
    /// `equal`, `differs` or `not_comparable`.
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub notebook: Option<String>,
}

/// What `nbkf check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub run: RunReport,
    /// Set when the notebook itself fails in the reference run.
    pub notebook_failure: Option<String>,
    pub values: Vec<Comparison>,
    pub metrics: Vec<Comparison>,
    pub outputs: Vec<Comparison>,
}

impl CheckReport {
    /// All comparisons.
    pub fn comparisons(&self) -> impl Iterator<Item = &Comparison> {
        self.values.iter().chain(&self.metrics).chain(&self.outputs)
    }

    /// The pipeline ran, the notebook ran, and nothing differs.
    pub fn passed(&self) -> bool {
        self.run.succeeded() && self.notebook_failure.is_none() && self.comparisons().all(|c| c.status != "differs")
    }
}

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub run: RunOptions,
    /// Seed `random` and `numpy.random` at the start of both runs, so that a notebook
    /// drawing unseeded random numbers can be compared.
    pub seed: Option<u64>,
}

fn null_as_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

#[derive(Deserialize)]
struct ReferenceResult {
    failure: Option<String>,
    values: Vec<Comparison>,
    metrics: Vec<Comparison>,
    outputs: Vec<Comparison>,
}

/// Runs the pipeline and the notebook and compares them.
pub fn check(
    notebook: &Notebook,
    plan: &Plan,
    yaml: &str,
    options: &CheckOptions,
    observer: &dyn Observer,
) -> Result<CheckReport, RunError> {
    let pipeline = LocalPipeline::from_yaml(yaml)?;
    let cells_dir = tempfile::Builder::new()
        .prefix(".check-cells-")
        .tempdir_in(create(&options.run.runs_dir)?)
        .map_err(|e| RunError::Io { context: "cannot create a temporary directory".into(), source: e })?;
    let mut run_options = options.run.clone();
    run_options.cache = false;
    // Both runs see the notebook's folder, but files they create land in a folder of their
    // own: neither sees what the other wrote.
    let pipeline_view =
        overlay(&options.run.step_dir, &options.run.runs_dir.join(format!(".check-{}-pipeline", std::process::id())))?;
    run_options.step_dir = pipeline_view.clone();
    run_options.env.push(("NBKF_CELL_OUTPUT_DIR".into(), cells_dir.path().to_string_lossy().into_owned()));
    if let Some(seed) = options.seed {
        run_options.env.push(("NBKF_SEED".into(), seed.to_string()));
    }
    let report = run::run(&pipeline, yaml, &run_options, observer)?;
    let cells_kept = report.run_dir.join("cells");
    let _ = std::fs::rename(cells_dir.path(), &cells_kept);
    if !report.succeeded() {
        return Ok(CheckReport {
            run: report,
            notebook_failure: None,
            values: Vec::new(),
            metrics: Vec::new(),
            outputs: Vec::new(),
        });
    }

    let manifest = manifest(notebook, plan, &pipeline, &report, &cells_kept, options);
    let dir = report.run_dir.join("reference");
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::Io { context: format!("cannot create {}", dir.display()), source: e })?;
    let write = |name: &str, text: String| -> Result<PathBuf, RunError> {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| RunError::Io { context: format!("cannot write {}", path.display()), source: e })?;
        Ok(path)
    };
    let manifest_path = write("manifest.json", serde_json::to_string_pretty(&manifest).unwrap_or_default())?;
    let program = format!(
        "{}\n_NBKF_NOTEBOOK = {}\n_NBKF_PIPELINE = {}\n{}\n_nbkf_reference({}, {})\n",
        crate::runtime::STEP_RUNTIME,
        crate::emit::python_literal::string(&plan.notebook_file),
        crate::emit::python_literal::string(&plan.settings.name),
        include_str!("reference.py"),
        crate::emit::python_literal::string(&manifest_path.to_string_lossy()),
        crate::emit::python_literal::string(&dir.join("result.json").to_string_lossy()),
    );
    let program_path = write("reference.py", program)?;
    let _ = std::fs::remove_dir_all(&pipeline_view);
    let work_dir =
        if options.run.isolated { dir.join("work") } else { overlay(&options.run.step_dir, &dir.join("work"))? };
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| RunError::Io { context: format!("cannot create {}", work_dir.display()), source: e })?;
    let log = std::fs::File::create(dir.join("log.txt"))
        .map_err(|e| RunError::Io { context: "cannot write the reference log".into(), source: e })?;
    let mut reference = Command::new(&options.run.python);
    reference
        .arg(&program_path)
        .current_dir(&work_dir)
        .env("MPLBACKEND", "Agg")
        .stdout(log.try_clone().map_err(|e| RunError::Io { context: "log".into(), source: e })?)
        .stderr(log);
    let status = run::wait_unless_canceled(&mut reference, &options.run.cancel)
        .map_err(|e| RunError::Io { context: format!("cannot start {}", options.run.python.display()), source: e })?
        .ok_or(RunError::Canceled)?;
    let result: ReferenceResult = std::fs::read_to_string(dir.join("result.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            RunError::Pipeline(format!(
                "the reference run of the notebook did not finish ({status}); see {}",
                dir.join("log.txt").display()
            ))
        })?;
    Ok(CheckReport {
        run: report,
        notebook_failure: result.failure,
        values: result.values,
        metrics: result.metrics,
        outputs: result.outputs,
    })
}

/// A new folder `view` holding a symbolic link to every entry of `dir`: code run in it
/// reads (and changes) the folder's files, but the files it creates stay in `view`.
fn overlay(dir: &Path, view: &Path) -> Result<PathBuf, RunError> {
    let fail = |e: std::io::Error| RunError::Io { context: format!("cannot prepare {}", view.display()), source: e };
    let _ = std::fs::remove_dir_all(view);
    std::fs::create_dir_all(view).map_err(fail)?;
    let dir = std::fs::canonicalize(dir).map_err(fail)?;
    for entry in std::fs::read_dir(&dir).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        if entry.file_name() == ".nbkf" {
            continue;
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(entry.path(), view.join(entry.file_name())).map_err(fail)?;
    }
    std::fs::canonicalize(view).map_err(fail)
}

fn create(dir: &Path) -> Result<&Path, RunError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| RunError::Io { context: format!("cannot create {}", dir.display()), source: e })?;
    Ok(dir)
}

/// What the reference run needs: the cells to run, the values and outputs to compare.
fn manifest(
    notebook: &Notebook,
    plan: &Plan,
    pipeline: &LocalPipeline,
    report: &RunReport,
    cells_dir: &Path,
    options: &CheckOptions,
) -> Value {
    let mut cells = Vec::new();
    for cell in notebook.code_cells() {
        let (program, magic) = match plan.cells.get(cell.index).and_then(Option::as_ref) {
            // With `--ipython` the reference runs the cells as written in IPython too.
            Some(code) if plan.settings.ipython => (code.source.clone(), None),
            Some(code) => (code.program.clone(), code.cell_magic.as_ref().map(|m| json!([m.name, m.args]))),
            None if plan.parameter_cells.contains(&cell.index) || plan.metrics_cells.contains(&cell.index) => {
                (cell.source.clone(), None)
            }
            None => continue,
        };
        cells.push(json!({"index": cell.index, "id": cell.id, "source": program, "magic": magic}));
    }
    let mut values = Vec::new();
    let mut metrics = Vec::new();
    for task in &pipeline.tasks {
        let step = plan.steps.iter().find(|s| s.task == task.name);
        for (art, paths) in task_artifacts(&report.run_dir.join(&task.name), task.loop_over.is_some()) {
            let meta = &art["metadata"];
            if let Some(variable) = meta["nbkf_variable"].as_str() {
                // A group artifact holds several variables (aliases saved together).
                let members: Vec<(String, Value)> = match meta["nbkf_group"].as_array() {
                    Some(names) => names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|n| (n.to_string(), meta["nbkf_cells"][n].clone()))
                        .collect(),
                    None => vec![(variable.to_string(), meta["nbkf_cell"].clone())],
                };
                let group = meta["nbkf_group"].is_array();
                for (variable, cell) in members {
                    values.push(json!({"task": task.name, "variable": variable, "cell": cell, "path": art["uri"], "paths": paths, "serializer": meta["nbkf_serializer"], "group": group}));
                    // Also as each consumer loads it: the notebook's value right before the
                    // consumer's first cell must be the same (a change the plan could not
                    // see shows up here).
                    if let Some(producer) = step {
                        for consumer in plan.steps.iter().filter(|s| {
                            s.inputs
                                .iter()
                                .any(|i| i.variable == variable && plan.steps[i.producer].task == producer.task)
                        }) {
                            if let Some(first) = consumer.cells.first() {
                                values.push(json!({"task": consumer.task, "variable": variable, "cell": first, "before": true, "path": art["uri"], "paths": paths, "serializer": meta["nbkf_serializer"], "group": group}));
                            }
                        }
                    }
                }
            } else if let (Some(step), Some(m)) = (step, meta.as_object()) {
                for (key, value) in m {
                    if let Some((_, variable)) = step.metrics.iter().find(|(k, _)| k == key) {
                        metrics.push(json!({"task": task.name, "key": key, "variable": variable, "value": value}));
                    }
                }
            }
        }
    }
    let mut outputs = Vec::new();
    for step in &plan.steps {
        // The items of a `for:` step each print their part, concatenated in item order.
        let items = match &step.fan_out {
            Some(_) => (0..).take_while(|k| report.run_dir.join(&step.task).join(format!("item-{k}")).is_dir()).count(),
            None => 0,
        };
        for cell in &step.cells {
            let paths: Vec<PathBuf> = (0..items).map(|k| cells_dir.join(format!("cell-{cell}.item-{k}.txt"))).collect();
            outputs.push(json!({"task": step.task, "cell": cell, "path": cells_dir.join(format!("cell-{cell}.txt")), "paths": paths}));
        }
    }
    // The parameter values of the run, as the notebook's cells see them: lists and dicts
    // travel as JSON text in the pipeline.
    let overrides: BTreeMap<&String, Value> = options
        .run
        .parameters
        .iter()
        .map(|(name, value)| {
            let json_kind = plan.parameters.iter().any(|p| &p.name == name && p.kind.is_json());
            let decoded = match (json_kind, value.as_str()) {
                (true, Some(text)) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
                _ => value.clone(),
            };
            (name, decoded)
        })
        .collect();
    json!({
        "cells": cells,
        "params_cells": plan.parameter_cells,
        "ipython": plan.settings.ipython,
        "overrides": overrides,
        "seed": options.seed.map(|s| s.to_string()),
        "values": values,
        "metrics": metrics,
        "outputs": outputs,
    })
}

/// The artifacts a task wrote (from its `executor_output.json`), each with the files of
/// its items when the task ran once per item of a loop (`<task>/item-<i>/`, in item order:
/// the reference run concatenates them); else no item files.
fn task_artifacts(task_dir: &Path, items: bool) -> Vec<(Value, Vec<Value>)> {
    let read = |dir: &Path| -> Vec<Value> {
        let Ok(text) = std::fs::read_to_string(dir.join("executor_output.json")) else { return Vec::new() };
        let Ok(output) = serde_json::from_str::<Value>(&text) else { return Vec::new() };
        output["artifacts"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .map(|e| e["artifacts"][0].clone())
            .collect()
    };
    if !items {
        return read(task_dir).into_iter().map(|a| (a, Vec::new())).collect();
    }
    let mut by_key: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
    for k in 0.. {
        let dir = task_dir.join(format!("item-{k}"));
        if !dir.is_dir() {
            break;
        }
        for art in read(&dir) {
            let key = art["name"].as_str().unwrap_or_default().to_string();
            let entry = by_key.entry(key).or_insert_with(|| (art.clone(), Vec::new()));
            entry.1.push(art["uri"].clone());
        }
    }
    by_key.into_values().collect()
}

/// The report in words, for a terminal.
pub fn render(report: &CheckReport, plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let cell = |c: Option<usize>| c.map(|c| plan.describe_cell(c)).unwrap_or_default();
    let count = |list: &[Comparison]| list.iter().filter(|c| c.status != "not_comparable").count();
    let (v, m, o) = (count(&report.values), count(&report.metrics), count(&report.outputs));
    if let Some(failure) = &report.notebook_failure {
        let _ = writeln!(
            out,
            "the notebook itself fails when run top to bottom, so there is nothing to compare:\n{failure}"
        );
        return out;
    }
    let differences: Vec<&Comparison> = report.comparisons().filter(|c| c.status == "differs").collect();
    let unknown: Vec<&Comparison> = report.comparisons().filter(|c| c.status == "not_comparable").collect();
    for d in &differences {
        let what = match (&d.variable, &d.key) {
            (Some(var), None) if d.before => {
                format!("variable `{var}` as step `{}` loads it (the notebook's value before {})", d.task, cell(d.cell))
            }
            (Some(var), None) => {
                format!("variable `{var}` passed on by step `{}` (its value after {})", d.task, cell(d.cell))
            }
            (Some(var), Some(key)) => format!("metric `{key}` (`{var}`) of step `{}`", d.task),
            _ => format!("the output of {} (step `{}`)", cell(d.cell), d.task),
        };
        let _ = writeln!(
            out,
            "✗ {what} differs:\n    pipeline: {}\n    notebook: {}",
            d.pipeline.as_deref().unwrap_or("?"),
            d.notebook.as_deref().unwrap_or("?")
        );
    }
    for u in &unknown {
        let what = u
            .variable
            .as_ref()
            .map(|v| format!("variable `{v}` (step `{}`)", u.task))
            .unwrap_or_else(|| format!("the output of {} (step `{}`)", cell(u.cell), u.task));
        let _ = writeln!(out, "? {what} could not be compared: {}", u.reason.as_deref().unwrap_or("unknown reason"));
    }
    let random = differences.iter().any(|d| matches!(d.variable.as_deref(), Some("@random" | "@numpy.random")));
    if random {
        let _ = writeln!(out, "hint: the notebook draws random numbers without a seed; seed them in the notebook or run `nbkf check --seed 0`");
    }
    let _ = writeln!(
        out,
        "{} `{}`: compared {v} value{} passed between steps, {m} metric{} and {o} cell output{}; {} difference{}{}",
        if differences.is_empty() { "✓" } else { "✗" },
        plan.settings.name,
        if v == 1 { "" } else { "s" },
        if m == 1 { "" } else { "s" },
        if o == 1 { "" } else { "s" },
        differences.len(),
        if differences.len() == 1 { "" } else { "s" },
        if unknown.is_empty() { String::new() } else { format!(", {} not comparable", unknown.len()) },
    );
    out
}
