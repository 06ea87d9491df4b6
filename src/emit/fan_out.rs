//! `for:` steps in the IR, as the KFP SDK compiles `dsl.ParallelFor` and `dsl.Collected`:
//! a small task lists the item numbers (`<task>-items`, from the list parameter, or from the
//! length the producing step records in its artifact's metadata), a `for-loop-<n>` sub-DAG
//! runs the step once per number, and the steps that read its lists get each item's
//! artifact (`isArtifactList`), which the step runtime concatenates in item order.

use std::collections::BTreeMap;

use super::kfp_ir::*;
use super::{channel, pip_preamble, ComponentNames, PreambleMode, LAUNCHER};
use crate::plan::{ListSource, Plan, StepPlan};

/// The output parameter of an items task.
const ITEMS_OUTPUT: &str = "Output";

/// The names of the loop of a `for:` step.
pub struct LoopNames {
    /// The sub-DAG's task (and `comp-<it>`): `for-loop-<n>`.
    pub task: String,
    /// The task listing the item numbers.
    pub items_task: String,
}

/// The loop names of each `for:` step, numbered as the KFP SDK numbers its groups (the exit
/// handler, when there is one, is the first).
pub fn loop_names(plan: &Plan) -> Vec<Option<LoopNames>> {
    let mut n = usize::from(plan.exit_step().is_some());
    plan.steps
        .iter()
        .map(|s| {
            s.fan_out.as_ref().map(|_| {
                n += 1;
                let mut items_task = format!("{}-items", s.task);
                if plan.steps.iter().any(|other| other.task == items_task) {
                    items_task = format!("{}-nbkf-items", s.task);
                }
                LoopNames { task: format!("for-loop-{n}"), items_task }
            })
        })
        .collect()
}

/// The pipeline parameter a binding takes, without the sub-DAG prefix.
pub(crate) fn base_parameter(name: &str) -> &str {
    name.strip_prefix("pipelinechannel--").unwrap_or(name)
}

/// Moves each `for:` step's task into its loop sub-DAG, adds its items task, and points
/// the readers of its lists at the loop's collected outputs.
pub fn apply(
    plan: &Plan,
    names: &[ComponentNames],
    preamble: PreambleMode,
    tasks: &mut BTreeMap<String, Task>,
    components: &mut BTreeMap<String, ComponentSpec>,
    executors: &mut BTreeMap<String, Executor>,
) {
    let loops = loop_names(plan);
    let exit = plan.exit_step();
    for (i, step) in plan.steps.iter().enumerate() {
        let (Some(fan_out), Some(l)) = (&step.fan_out, &loops[i]) else { continue };
        let Some(mut inner) = tasks.remove(&step.task) else { continue };
        let item_arg = names[i].item.clone().unwrap_or_default();
        let items_channel = channel(&format!("{}-{ITEMS_OUTPUT}", l.items_task));
        let item_input = format!("{items_channel}-loop-item");

        // The items task, beside the loop.
        let inside_exit = exit.is_some_and(|e| e != i);
        items_task(plan, step, fan_out, &l.items_task, inside_exit, names, preamble, tasks, components, executors);

        // The loop task takes what the step took; the step takes it from the loop.
        let mut loop_inputs = TaskInputs::default();
        let mut loop_defs = Definitions::default();
        loop_inputs.parameters.insert(items_channel.clone(), ParameterBinding::task(&l.items_task, ITEMS_OUTPUT));
        loop_defs.parameters.insert(
            items_channel.clone(),
            ParameterSpec { default_value: None, is_optional: false, parameter_type: "LIST" },
        );
        loop_defs.parameters.insert(
            item_input.clone(),
            ParameterSpec { default_value: None, is_optional: false, parameter_type: "STRING" },
        );
        let comp = &components[&format!("comp-{}", step.task)];
        for (arg, binding) in std::mem::take(&mut inner.inputs.artifacts) {
            let Some(toa) = binding.task_output_artifact else { continue };
            let outer = channel(&format!("{}-{}", toa.producer_task, toa.output_artifact_key));
            loop_defs.artifacts.insert(outer.clone(), ArtifactSpec::of("system.Artifact"));
            loop_inputs
                .artifacts
                .insert(outer.clone(), ArtifactBinding::task(toa.producer_task, toa.output_artifact_key));
            inner.inputs.artifacts.insert(arg, ArtifactBinding::input(outer));
        }
        for (arg, binding) in std::mem::take(&mut inner.inputs.parameters) {
            let Some(from) = binding.component_input_parameter else { continue };
            let param = base_parameter(&from).to_string();
            let kind = comp.input_definitions.parameters.get(&arg).map_or("STRING", |p| p.parameter_type);
            loop_defs.parameters.insert(
                channel(&param),
                ParameterSpec { default_value: None, is_optional: false, parameter_type: kind },
            );
            loop_inputs.parameters.insert(channel(&param), ParameterBinding::input(from));
            inner.inputs.parameters.insert(arg, ParameterBinding::input(channel(&param)));
        }
        inner.inputs.parameters.insert(item_arg, ParameterBinding::input(item_input.clone()));

        // The lists later steps read, collected over the items.
        let mut outputs = BTreeMap::new();
        let mut out_defs = Definitions::default();
        for (variable, arg) in &names[i].outputs {
            if !fan_out.accumulators.contains(variable) {
                continue;
            }
            let key = channel(&format!("{}-{arg}", step.task));
            outputs.insert(
                key.clone(),
                DagOutputArtifact {
                    artifact_selectors: vec![ArtifactSelector {
                        output_artifact_key: arg.clone(),
                        producer_subtask: step.task.clone(),
                    }],
                },
            );
            out_defs.artifacts.insert(
                key,
                ArtifactSpec { artifact_type: ArtifactType::of("system.Artifact"), is_artifact_list: true },
            );
        }
        let mut dependent_tasks = std::mem::take(&mut inner.dependent_tasks);
        dependent_tasks.push(l.items_task.clone());
        dependent_tasks.sort();
        dependent_tasks.dedup();
        let loop_task = Task {
            caching_options: None,
            component_ref: ComponentRef { name: format!("comp-{}", l.task) },
            dependent_tasks,
            inputs: loop_inputs,
            iterator_policy: fan_out.parallelism.map(|n| IteratorPolicy { parallelism_limit: n }),
            parameter_iterator: Some(ParameterIterator {
                item_input,
                items: IteratorItems { input_parameter: items_channel },
            }),
            task_info: TaskInfo { name: l.task.clone() },
            trigger_policy: None,
        };
        components.insert(
            format!("comp-{}", l.task),
            ComponentSpec {
                dag: Some(Dag {
                    outputs: (!outputs.is_empty()).then_some(DagOutputs { artifacts: outputs }),
                    tasks: BTreeMap::from([(step.task.clone(), inner)]),
                }),
                executor_label: None,
                input_definitions: loop_defs,
                output_definitions: out_defs,
            },
        );
        tasks.insert(l.task.clone(), loop_task);

        // Readers take the collected lists from the loop, and run after it.
        for (j, reader) in plan.steps.iter().enumerate() {
            if j == i {
                continue;
            }
            let Some(task) = tasks.get_mut(&reader.task) else { continue };
            for d in task.dependent_tasks.iter_mut().filter(|d| **d == step.task) {
                d.clone_from(&l.task);
            }
            let reader_comp = components.get_mut(&format!("comp-{}", reader.task));
            let mut lists = Vec::new();
            for (arg, binding) in task.inputs.artifacts.iter_mut() {
                if let Some(toa) = binding.task_output_artifact.as_mut().filter(|t| t.producer_task == step.task) {
                    toa.output_artifact_key = channel(&format!("{}-{}", step.task, toa.output_artifact_key));
                    toa.producer_task.clone_from(&l.task);
                    lists.push(arg.clone());
                }
            }
            if let Some(c) = reader_comp {
                for arg in lists {
                    if let Some(spec) = c.input_definitions.artifacts.get_mut(&arg) {
                        spec.is_artifact_list = true;
                    }
                }
            }
        }
    }
}

/// The output of step `p` that holds the list of a `for:` step.
pub(crate) fn list_key(step: &StepPlan, fan_out: &crate::plan::FanOut, names: &[ComponentNames], p: usize) -> String {
    step.inputs.iter().find(|i| i.variable == fan_out.list).map(|i| names[p].output_of(i)).unwrap_or_default()
}

/// The function that lists the item numbers of a `for:` step: the annotation of its
/// `items` argument and its body (indented, formatted as `ruff format` leaves it). The
/// numbers come from the list parameter (JSON text), or from the length the producing step
/// recorded in its artifact's metadata.
pub(crate) fn items_function(plan: &Plan, fan_out: &crate::plan::FanOut) -> (&'static str, String) {
    let list = &fan_out.list;
    let raise = |message: &str| {
        let lines = super::dsl::fitted_call(8, "raise TypeError(", message, ")");
        lines.iter().map(|l| format!("        {l}\n")).collect::<String>()
    };
    match fan_out.source {
        ListSource::Parameter => (
            "str",
            format!(
                "    \"\"\"The item numbers of `for:{list}` (nbkf {}).\"\"\"\n    import json\n\n    value = json.loads(items)\n    if not isinstance(value, list):\n        kind = type(value).__name__\n{}    return [str(i) for i in range(len(value))]\n",
                env!("CARGO_PKG_VERSION"),
                raise(&format!("\"`for:{list}` needs a list, not a %s\" % kind")),
            ),
        ),
        ListSource::Step(p) => (
            "Input[Artifact]",
            format!(
                "    \"\"\"The item numbers of `for:{list}`: the length step `{}` recorded.\"\"\"\n    meta = items.metadata or {{}}\n    if meta.get(\"nbkf_variable\") == \"@group\":\n        n = (meta.get(\"nbkf_lengths\") or {{}}).get({})\n    else:\n        n = meta.get(\"nbkf_length\")\n    if n is None:\n        kind = meta.get(\"nbkf_type\", \"not one\")\n{}    return [str(i) for i in range(int(n))]\n",
                plan.steps[p].name.replace('\n', " "),
                crate::emit::python_literal::string(list),
                raise(&format!("\"`for:{list}` needs a list or a tuple, not %s\" % kind")),
            ),
        ),
    }
}

/// The task that lists the item numbers of a `for:` step (`["0", "1", ...]`, as strings: a
/// KFP list of numbers would arrive as doubles).
#[allow(clippy::too_many_arguments)]
fn items_task(
    plan: &Plan,
    step: &StepPlan,
    fan_out: &crate::plan::FanOut,
    name: &str,
    inside_exit: bool,
    names: &[ComponentNames],
    preamble: PreambleMode,
    tasks: &mut BTreeMap<String, Task>,
    components: &mut BTreeMap<String, ComponentSpec>,
    executors: &mut BTreeMap<String, Executor>,
) {
    let mut inputs = Definitions::default();
    let mut task_inputs = TaskInputs::default();
    let mut dependent_tasks = Vec::new();
    let (annotation, body) = items_function(plan, fan_out);
    match fan_out.source {
        ListSource::Parameter => {
            inputs.parameters.insert(
                "items".into(),
                ParameterSpec { default_value: None, is_optional: false, parameter_type: "STRING" },
            );
            let from = if inside_exit { channel(&fan_out.list) } else { fan_out.list.clone() };
            task_inputs.parameters.insert("items".into(), ParameterBinding::input(from));
        }
        ListSource::Step(p) => {
            let producer = &plan.steps[p];
            inputs.artifacts.insert("items".into(), ArtifactSpec::of("system.Artifact"));
            task_inputs.artifacts.insert(
                "items".into(),
                ArtifactBinding::task(producer.task.clone(), list_key(step, fan_out, names, p)),
            );
            dependent_tasks.push(producer.task.clone());
        }
    }
    let source = format!(
        "from kfp.dsl import *\nfrom typing import *\n\n\ndef nbkf_items(items: {annotation}) -> List[str]:\n{body}"
    );
    let mut outputs = Definitions::default();
    outputs
        .parameters
        .insert(ITEMS_OUTPUT.into(), ParameterSpec { default_value: None, is_optional: false, parameter_type: "LIST" });
    components.insert(
        format!("comp-{name}"),
        ComponentSpec {
            dag: None,
            executor_label: Some(format!("exec-{name}")),
            input_definitions: inputs,
            output_definitions: outputs,
        },
    );
    let mut command = Vec::new();
    if preamble == PreambleMode::Pip {
        command.extend(["sh".into(), "-c".into(), pip_preamble(&[], &[])]);
    }
    command.extend(["sh".into(), "-ec".into(), LAUNCHER.into(), source]);
    executors.insert(
        format!("exec-{name}"),
        Executor {
            container: Container {
                args: vec![
                    "--executor_input".into(),
                    "{{$}}".into(),
                    "--function_to_execute".into(),
                    "nbkf_items".into(),
                ],
                command,
                image: plan.settings.base_image.clone(),
                resources: None,
            },
        },
    );
    tasks.insert(
        name.to_string(),
        Task {
            caching_options: Some(CachingOptions { enable_cache: step.settings.cache }),
            component_ref: ComponentRef { name: format!("comp-{name}") },
            dependent_tasks,
            inputs: task_inputs,
            iterator_policy: None,
            parameter_iterator: None,
            task_info: TaskInfo { name: name.to_string() },
            trigger_policy: None,
        },
    );
}
