//! Sub-pipelines in the DSL script: each notebook a `notebook:` cell runs is a
//! `@kfp.dsl.pipeline` function called from its caller's, as the KFP SDK composes
//! pipelines. Its arguments are the pipeline parameters its steps read and the artifacts
//! they read from steps outside it; its results (a `NamedTuple`) are what steps outside it
//! read from its steps. Both are named as nbkf's YAML names its sub-DAG's inputs and
//! outputs ([`boundary_name`]), so that the SDK compiles the same wiring.

use std::collections::BTreeSet;

use super::{fitted, subscript_argument};
use crate::emit::python_literal::string as py;
use crate::emit::step_program::ComponentNames;
use crate::emit::sub_pipelines::boundary_name;
use crate::emit::RUNTIME_OUTPUT;
use crate::names::RUNTIME_TASK;
use crate::plan::{ListSource, Plan};

/// What a sub-pipeline's function takes and gives.
#[derive(Debug, Default)]
pub(super) struct Interface {
    /// Pipeline parameters (name, Python type), sorted.
    pub parameters: Vec<(String, &'static str)>,
    /// Artifacts from outside: (boundary name, producer step or `None` for the step
    /// runtime, output [`Key`], collected list), sorted by name.
    pub artifacts: Vec<(String, Option<usize>, Key, bool)>,
    /// Artifacts for steps outside: (boundary name, producer step, output [`Key`],
    /// collected list), sorted by name.
    pub outputs: Vec<(String, usize, Key, bool)>,
}

/// An output of a step: its name in nbkf's YAML (what boundary names are made of) and in
/// the script (ASCII).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key {
    pub ir: String,
    pub dsl: String,
}

/// Whether step `s` is in sub-pipeline `g` (directly or deeper).
fn inside(plan: &Plan, s: usize, g: usize) -> bool {
    plan.steps[s].sub_pipeline.is_some_and(|own| plan.sub_pipeline_within(own, g))
}

/// Whether output `key` of step `p` that holds `variable` is a `for:` step's collected list.
fn collected(plan: &Plan, p: usize, variable: &str) -> bool {
    plan.steps[p].fan_out.as_ref().is_some_and(|f| f.accumulators.iter().any(|a| a == variable))
}

/// The reads of step `s` from other steps: (producer, output key, collected list).
fn reads(plan: &Plan, names: &Names, s: usize) -> Vec<(usize, Key, bool)> {
    let step = &plan.steps[s];
    let mut out: Vec<(usize, Key, bool)> = step
        .inputs
        .iter()
        .map(|i| {
            let key = Key { ir: names.ir[i.producer].output_of(i), dsl: names.dsl[i.producer].output_of(i) };
            (i.producer, key, collected(plan, i.producer, &i.variable))
        })
        .collect();
    if let Some(f) = &step.fan_out {
        if let ListSource::Step(p) = f.source {
            let key = Key {
                ir: crate::emit::fan_out::list_key(step, f, names.ir, p),
                dsl: crate::emit::fan_out::list_key(step, f, names.dsl, p),
            };
            out.push((p, key, false));
        }
    }
    out
}

/// The steps' argument names: in nbkf's YAML, and in the script (ASCII).
pub(super) struct Names<'a> {
    pub ir: &'a [ComponentNames],
    pub dsl: &'a [ComponentNames],
}

/// The interface of sub-pipeline `g`, as nbkf's YAML gives its sub-DAG.
pub(super) fn interface(plan: &Plan, names: &Names, g: usize) -> Interface {
    let mut parameters = BTreeSet::new();
    let mut artifacts = BTreeSet::new();
    let mut outputs = BTreeSet::new();
    for s in 0..plan.steps.len() {
        if inside(plan, s, g) {
            parameters.extend(plan.steps[s].parameters.iter().cloned());
            if names.ir[s].runtime.is_some() {
                let key = Key { ir: RUNTIME_OUTPUT.to_string(), dsl: RUNTIME_OUTPUT.to_string() };
                artifacts.insert((boundary_name(RUNTIME_TASK, RUNTIME_OUTPUT), None, key, false));
            }
            for (p, key, list) in reads(plan, names, s) {
                if !inside(plan, p, g) {
                    artifacts.insert((boundary_name(&plan.steps[p].task, &key.ir), Some(p), key, list));
                }
            }
        } else {
            for (p, key, list) in reads(plan, names, s) {
                if inside(plan, p, g) {
                    outputs.insert((boundary_name(&plan.steps[p].task, &key.ir), p, key, list));
                }
            }
        }
    }
    let kind = |name: &str| plan.parameters.iter().find(|p| p.name == name).map_or("str", |p| p.kind.python_type());
    Interface {
        parameters: parameters
            .into_iter()
            .map(|p| {
                let k = kind(&p);
                (p, k)
            })
            .collect(),
        artifacts: artifacts.into_iter().collect(),
        outputs: outputs.into_iter().collect(),
    }
}

/// How code in sub-pipeline `scope` (`None`: the pipeline function) refers to output `key`
/// of step `p`: `(object, key)` for `object[key]`, or the name of its own argument.
pub(super) enum Reference {
    Output(String, String),
    Argument(String),
}

/// See [`Reference`]. `variables` are the steps' task variables, `sub_variables` the
/// sub-pipelines'.
pub(super) fn reference(
    plan: &Plan,
    scope: Option<usize>,
    p: usize,
    key: &Key,
    variables: &[String],
    sub_variables: &[String],
) -> Reference {
    let chain = plan.sub_pipeline_chain(p);
    let depth = match scope {
        None => 0,
        Some(s) => match chain.iter().position(|g| *g == s) {
            Some(k) => k + 1,
            None => return Reference::Argument(boundary_name(&plan.steps[p].task, &key.ir)),
        },
    };
    match chain.get(depth) {
        None => Reference::Output(format!("{}.outputs", variables[p]), py(&key.dsl)),
        Some(child) => Reference::Output(
            format!("{}.outputs", sub_variables[*child]),
            py(&boundary_name(&plan.steps[p].task, &key.ir)),
        ),
    }
}

/// The argument lines (`name=value,`) at `indent` giving output `key` of step `p` to code
/// in `scope`; a `for:` step's list read where the loop is, collected.
#[allow(clippy::too_many_arguments)]
pub(super) fn argument(
    plan: &Plan,
    scope: Option<usize>,
    indent: usize,
    name: &str,
    p: usize,
    key: &Key,
    list: bool,
    variables: &[String],
    sub_variables: &[String],
) -> Vec<String> {
    match reference(plan, scope, p, key, variables, sub_variables) {
        Reference::Argument(a) => vec![format!("{name}={a},")],
        Reference::Output(object, key) if list && plan.steps[p].sub_pipeline == scope => {
            fitted(indent, format!("{name}=kfp.dsl.Collected("), &format!("{object}[{key}]"), "),")
        }
        Reference::Output(object, key) => subscript_argument(indent, name, &object, &key),
    }
}

/// The step runtime as code in `scope` has it.
pub(super) fn runtime(scope: Option<usize>, runtime_task: &str) -> Reference {
    match scope {
        None => Reference::Output(format!("{runtime_task}.outputs"), py(RUNTIME_OUTPUT)),
        Some(_) => Reference::Argument(boundary_name(RUNTIME_TASK, RUNTIME_OUTPUT)),
    }
}

/// `Name` in CamelCase, for the class of a sub-pipeline's results.
pub(super) fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}
