//! Sub-pipelines in the IR, as the KFP SDK compiles a pipeline called inside another: the
//! steps of each notebook a `notebook:` cell runs (and the loops of its `for:` steps, and
//! the sub-pipelines it runs in turn) move into a DAG component `comp-<task>`, run by one
//! task. What they read from outside comes in as the DAG's inputs, and what later steps
//! read from them goes out as its outputs, named as the Python DSL's sub-pipeline
//! functions name their arguments and results ([`boundary_name`]), so that the KFP SDK
//! compiles `--format dsl` into the same wiring.

use std::collections::{BTreeMap, BTreeSet};

use super::channel;
use super::fan_out::{base_parameter, loop_names};
use super::kfp_ir::*;
use crate::plan::{ParameterKind, Plan};

/// Moves the tasks of each sub-pipeline into its DAG, innermost first.
pub fn apply(plan: &Plan, tasks: &mut BTreeMap<String, Task>, components: &mut BTreeMap<String, ComponentSpec>) {
    if plan.sub_pipelines.is_empty() {
        return;
    }
    // The sub-pipeline each task of the root DAG is directly in.
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for (step, loop_names) in plan.steps.iter().zip(loop_names(plan)) {
        let Some(g) = step.sub_pipeline else { continue };
        owner.insert(step.task.clone(), g);
        if let Some(l) = loop_names {
            owner.insert(l.task, g);
            owner.insert(l.items_task, g);
        }
    }
    let mut order: Vec<usize> = (0..plan.sub_pipelines.len()).collect();
    order.sort_by_key(|g| std::cmp::Reverse(plan.sub_pipeline_path(Some(*g)).len()));
    for g in order {
        let sub = &plan.sub_pipelines[g];
        let members: BTreeSet<String> =
            owner.iter().filter(|(t, o)| **o == g && tasks.contains_key(*t)).map(|(t, _)| t.clone()).collect();
        if members.is_empty() {
            continue;
        }
        wrap(plan, &sub.task, &members, tasks, components);
        if let Some(parent) = sub.parent {
            owner.insert(sub.task.clone(), parent);
        }
    }
}

/// The name a value has where it crosses a sub-pipeline's boundary (an input or output of
/// its DAG; an argument or result of its DSL function): a Python identifier made from the
/// task that makes it and its output there (`load` + `out_data` → `load_out_data`). The
/// same value has the same name at every level.
pub(crate) fn boundary_name(producer: &str, key: &str) -> String {
    format!("{producer}-{key}").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// The boundary name of output `key` of task `producer`: a sub-pipeline's outputs already
/// have theirs, a loop's collected outputs are named after the step inside it.
fn crossing_name(producer: &str, key: &str, sub_tasks: &BTreeSet<&str>) -> String {
    if sub_tasks.contains(producer) {
        key.to_string()
    } else if let Some(inner) = key.strip_prefix("pipelinechannel--") {
        boundary_name(inner, "").trim_end_matches('_').to_string()
    } else {
        boundary_name(producer, key)
    }
}

/// Whether output `key` of `task` is a list of artifacts (a loop's collected output).
fn is_list(task: Option<&Task>, key: &str, components: &BTreeMap<String, ComponentSpec>) -> bool {
    task.and_then(|t| components.get(&t.component_ref.name))
        .and_then(|c| c.output_definitions.artifacts.get(key))
        .is_some_and(|a| a.is_artifact_list)
}

/// Replaces the tasks `members` of `tasks` by one task `name` running them as a DAG.
fn wrap(
    plan: &Plan,
    name: &str,
    members: &BTreeSet<String>,
    tasks: &mut BTreeMap<String, Task>,
    components: &mut BTreeMap<String, ComponentSpec>,
) {
    let sub_tasks: BTreeSet<&str> = plan.sub_pipelines.iter().map(|s| s.task.as_str()).collect();
    let mut inner: BTreeMap<String, Task> = members.iter().filter_map(|m| tasks.remove_entry(m)).collect();
    let mut renamed: Vec<(String, String, String)> = Vec::new(); // (loop component, old input, new input)
    let mut defs = Definitions::default();
    let mut inputs = TaskInputs::default();
    let mut after = BTreeSet::new();
    for task in inner.values_mut() {
        for d in task.dependent_tasks.iter().filter(|d| !members.contains(*d)) {
            after.insert(d.clone());
        }
        task.dependent_tasks.retain(|d| members.contains(d));
        let mut arguments = std::mem::take(&mut task.inputs.artifacts);
        for (arg, binding) in arguments.iter_mut() {
            let Some(toa) = binding.task_output_artifact.as_ref().filter(|t| !members.contains(&t.producer_task))
            else {
                continue;
            };
            let (producer, key) = (toa.producer_task.clone(), toa.output_artifact_key.clone());
            let outer = crossing_name(&producer, &key, &sub_tasks);
            if arg.starts_with("pipelinechannel--") {
                // A loop's input: named after the DAG input it now comes from, as the SDK
                // names it.
                renamed.push((task.component_ref.name.clone(), arg.clone(), channel(&outer)));
            }
            let list = is_list(tasks.get(&producer), &key, components);
            defs.artifacts.insert(
                outer.clone(),
                ArtifactSpec { artifact_type: ArtifactType::of("system.Artifact"), is_artifact_list: list },
            );
            inputs.artifacts.insert(outer.clone(), ArtifactBinding::task(&producer, key));
            after.insert(producer);
            *binding = ArtifactBinding::input(outer);
        }
        task.inputs.artifacts = arguments
            .into_iter()
            .map(|(arg, b)| match renamed.iter().find(|(c, old, _)| *c == task.component_ref.name && *old == arg) {
                Some((_, _, new)) => (new.clone(), b),
                None => (arg, b),
            })
            .collect();
        for binding in task.inputs.parameters.values_mut() {
            let Some(from) = binding.component_input_parameter.clone() else { continue };
            let base = base_parameter(&from);
            let kind = plan.parameters.iter().find(|p| p.name == base).map_or(ParameterKind::Str, |p| p.kind);
            let param = base.to_string();
            defs.parameters.insert(
                param.clone(),
                ParameterSpec { default_value: None, is_optional: false, parameter_type: kind.ir_type() },
            );
            inputs.parameters.insert(param.clone(), ParameterBinding::input(from));
            *binding = ParameterBinding::input(param);
        }
    }

    // What the tasks outside read from inside: the DAG's outputs.
    let mut outputs = BTreeMap::new();
    let mut out_defs = Definitions::default();
    for task in tasks.values_mut() {
        for d in task.dependent_tasks.iter_mut().filter(|d| members.contains(*d)) {
            *d = name.to_string();
        }
        task.dependent_tasks.sort();
        task.dependent_tasks.dedup();
        for binding in task.inputs.artifacts.values_mut() {
            let Some(toa) = binding.task_output_artifact.as_mut().filter(|t| members.contains(&t.producer_task)) else {
                continue;
            };
            let key = crossing_name(&toa.producer_task, &toa.output_artifact_key, &sub_tasks);
            let list = is_list(inner.get(&toa.producer_task), &toa.output_artifact_key, components);
            outputs.insert(
                key.clone(),
                DagOutputArtifact {
                    artifact_selectors: vec![ArtifactSelector {
                        output_artifact_key: toa.output_artifact_key.clone(),
                        producer_subtask: toa.producer_task.clone(),
                    }],
                },
            );
            out_defs.artifacts.insert(
                key.clone(),
                ArtifactSpec { artifact_type: ArtifactType::of("system.Artifact"), is_artifact_list: list },
            );
            toa.producer_task = name.to_string();
            toa.output_artifact_key = key;
        }
    }
    for (component, old, new) in renamed {
        rename_input(components, &component, &old, &new);
    }
    let comp = format!("comp-{name}");
    components.insert(
        comp.clone(),
        ComponentSpec {
            dag: Some(Dag {
                outputs: (!outputs.is_empty()).then_some(DagOutputs { artifacts: outputs }),
                tasks: inner,
            }),
            executor_label: None,
            input_definitions: defs,
            output_definitions: out_defs,
        },
    );
    tasks.insert(
        name.to_string(),
        Task {
            // As the KFP SDK sets it on a pipeline's task (the steps inside keep their own).
            caching_options: Some(CachingOptions { enable_cache: true }),
            component_ref: ComponentRef { name: comp },
            dependent_tasks: after.into_iter().collect(),
            inputs,
            iterator_policy: None,
            parameter_iterator: None,
            task_info: TaskInfo { name: name.to_string() },
            trigger_policy: None,
        },
    );
}

/// Renames input artifact `old` of DAG component `component` (a loop) to `new`, and what
/// its tasks take from it.
fn rename_input(components: &mut BTreeMap<String, ComponentSpec>, component: &str, old: &str, new: &str) {
    let Some(c) = components.get_mut(component) else { return };
    if let Some(spec) = c.input_definitions.artifacts.remove(old) {
        c.input_definitions.artifacts.insert(new.to_string(), spec);
    }
    for task in c.dag.iter_mut().flat_map(|d| d.tasks.values_mut()) {
        for binding in task.inputs.artifacts.values_mut() {
            if binding.component_input_artifact.as_deref() == Some(old) {
                binding.component_input_artifact = Some(new.to_string());
            }
        }
    }
}
