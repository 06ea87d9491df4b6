//! Reading a KFP IR YAML file into what the local runner needs: parameters, tasks,
//! their wiring, and each task's container command.

use std::collections::BTreeMap;

use serde_json::Value;

use super::RunError;

/// A pipeline parameter as the IR declares it.
#[derive(Debug, Clone)]
pub struct ParameterDef {
    pub name: String,
    /// The IR `parameterType` (`NUMBER_INTEGER`, `STRING`, ...).
    pub kind: String,
    pub default: Option<Value>,
}

/// An artifact input of a task: which producer output it takes.
#[derive(Debug, Clone)]
pub struct ArtifactInput {
    pub argument: String,
    pub producer: String,
    pub output_key: String,
    pub schema_title: String,
    /// A list of artifacts (`isArtifactList`: the items' outputs of a loop).
    pub list: bool,
}

/// How a task inside a `dsl.ParallelFor` runs: once per item of a list another task made.
#[derive(Debug, Clone)]
pub struct LoopSpec {
    /// The task whose output parameter is the list of items, and that output.
    pub items_task: String,
    pub items_key: String,
    /// The task's input parameter that takes the item.
    pub item_argument: String,
    /// At most this many items at once.
    pub parallelism: Option<u32>,
}

/// One task of the pipeline, ready to run as a local process.
#[derive(Debug, Clone)]
pub struct LocalTask {
    pub name: String,
    pub dependencies: Vec<String>,
    /// (component argument, pipeline parameter it takes)
    pub parameter_inputs: Vec<(String, String)>,
    pub artifact_inputs: Vec<ArtifactInput>,
    /// (output argument, schema title)
    pub outputs: Vec<(String, String)>,
    /// Output parameters (a function's return value, `Output`).
    pub output_parameters: Vec<String>,
    /// For a task inside a loop: how it runs once per item.
    pub loop_over: Option<LoopSpec>,
    /// The input parameter that takes how the tasks it waited for ended (an exit task's
    /// `PipelineTaskFinalStatus`).
    pub status_argument: Option<String>,
    /// The `sh -ec <launcher> <source>` part of the command (without the pip preamble).
    pub launcher: Vec<String>,
    /// The container args, with the `{{$}}` placeholder.
    pub args: Vec<String>,
    /// The Python source of the step program.
    pub source: String,
    pub function: String,
    pub caching: bool,
    /// Runs once its upstream tasks are done, whether or not they succeeded (the exit
    /// step: `triggerPolicy.strategy: ALL_UPSTREAM_TASKS_COMPLETED`).
    pub finally: bool,
}

/// A pipeline the local runner can execute.
#[derive(Debug, Clone)]
pub struct LocalPipeline {
    pub name: String,
    pub parameters: Vec<ParameterDef>,
    /// In an order where every task follows its dependencies.
    pub tasks: Vec<LocalTask>,
}

fn bad(message: impl Into<String>) -> RunError {
    RunError::Pipeline(message.into())
}

fn text(v: &Value, what: &str) -> Result<String, RunError> {
    v.as_str().map(str::to_string).ok_or_else(|| bad(format!("{what} is missing or not a string")))
}

impl LocalPipeline {
    /// Reads KFP IR YAML (the first document; the platform document is not needed locally).
    pub fn from_yaml(yaml: &str) -> Result<Self, RunError> {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|e| bad(format!("not valid YAML: {e}")))?;
        let spec = docs.into_iter().next().ok_or_else(|| bad("the file is empty"))?;
        if spec.get("schemaVersion").and_then(Value::as_str) != Some("2.1.0") {
            return Err(bad("not a KFP v2 pipeline (schemaVersion 2.1.0)"));
        }
        let name = text(&spec["pipelineInfo"]["name"], "pipelineInfo.name")?;
        let parameters = parameter_defs(&spec)?;
        let root = spec["root"]["dag"]["tasks"].as_object().ok_or_else(|| bad("root.dag.tasks is missing"))?;
        let mut tasks = Vec::new();
        flatten(&spec, root, &Scope::default(), &mut tasks)?;
        let mut seen = std::collections::BTreeSet::new();
        if let Some(t) = tasks.iter().find(|t| !seen.insert(t.name.as_str())) {
            return Err(bad(format!(
                "two tasks are named `{}` (in different sub-pipelines); `nbkf run` needs unique task names",
                t.name
            )));
        }
        Ok(LocalPipeline { name, parameters, tasks: order(tasks)? })
    }

    /// Checks `--param name=value` values against the parameters' types and fills in the
    /// defaults. Errors name the parameter and say what is expected.
    pub fn resolve_parameters(&self, given: &[(String, String)]) -> Result<BTreeMap<String, Value>, Vec<String>> {
        resolve_parameters(&self.parameters, given)
    }
}

/// What the tasks of a sub-DAG take from around it.
#[derive(Debug, Default, Clone)]
struct Scope {
    /// The DAG's input parameters: the pipeline parameter each one is.
    parameters: BTreeMap<String, String>,
    /// The DAG's input artifacts: (producer task, output key) of each.
    artifacts: BTreeMap<String, (String, String)>,
    /// Tasks every task of the DAG runs after (the DAG task's own dependencies).
    after: Vec<String>,
    /// The loop the DAG is the body of: (items task, its output, item input, parallelism).
    loop_over: Option<(String, String, String, Option<u32>)>,
}

/// The names of a pipeline's container tasks: the root DAG's, with the tasks of its
/// sub-DAGs (an exit handler's) in place of the sub-DAG's task.
pub fn container_task_names(spec: &Value) -> Vec<String> {
    match spec["root"]["dag"]["tasks"].as_object() {
        Some(root) => root.keys().flat_map(|k| leaves(spec, root, k)).collect(),
        None => Vec::new(),
    }
}

/// The names of the container tasks a task of `dag` stands for: itself, or every task of
/// its sub-DAG.
fn leaves(spec: &Value, dag: &serde_json::Map<String, Value>, task: &str) -> Vec<String> {
    let comp = dag.get(task).and_then(|t| t["componentRef"]["name"].as_str()).unwrap_or_default();
    match spec["components"][comp]["dag"]["tasks"].as_object() {
        Some(inner) => inner.keys().flat_map(|k| leaves(spec, inner, k)).collect(),
        None => vec![task.to_string()],
    }
}

/// Adds the tasks of `dag` to `out`, the tasks of sub-DAGs (`dsl.ExitHandler`) in their
/// place: a sub-DAG runs its tasks after its own dependencies, and a task that depends on
/// it runs after all of them.
fn flatten(
    spec: &Value,
    dag: &serde_json::Map<String, Value>,
    scope: &Scope,
    out: &mut Vec<LocalTask>,
) -> Result<(), RunError> {
    for (tname, task) in dag {
        let comp_name = text(&task["componentRef"]["name"], &format!("task {tname}: componentRef.name"))?;
        let comp = &spec["components"][&comp_name];
        let policy = &task["triggerPolicy"];
        if policy.get("condition").is_some() || task.get("artifactIterator").is_some() {
            return Err(bad(format!("task `{tname}` has a condition or a loop over artifacts; `nbkf run` runs pipelines without them (run it with the KFP SDK's local runner or on a cluster)")));
        }
        let finally = match policy["strategy"].as_str() {
            None | Some("ALL_UPSTREAM_TASKS_SUCCEEDED") => false,
            Some("ALL_UPSTREAM_TASKS_COMPLETED") => true,
            Some(other) => return Err(bad(format!("task `{tname}`: trigger strategy `{other}` is not supported"))),
        };
        let mut dependencies: Vec<String> = scope.after.clone();
        for d in task["dependentTasks"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            dependencies.extend(leaves(spec, dag, d));
        }
        if let Some(inner) = comp["dag"]["tasks"].as_object() {
            // Its outputs (a loop's collected ones) are read where they are made (`artifact_source`).
            let mut inner_scope = Scope { after: dependencies, ..Scope::default() };
            if let Some(iterator) = task.get("parameterIterator") {
                if scope.loop_over.is_some() {
                    return Err(bad(format!("task `{tname}`: loops inside loops cannot run locally")));
                }
                let items =
                    text(&iterator["items"]["inputParameter"], &format!("task {tname}: parameterIterator.items"))?;
                let item_input = text(&iterator["itemInput"], &format!("task {tname}: parameterIterator.itemInput"))?;
                let top = &task["inputs"]["parameters"][&items]["taskOutputParameter"];
                let (Some(producer), Some(key)) = (top["producerTask"].as_str(), top["outputParameterKey"].as_str())
                else {
                    return Err(bad(format!("task `{tname}` loops over `{items}`, which is not another task's output; `nbkf run` loops over task outputs")));
                };
                let parallelism = task["iteratorPolicy"]["parallelismLimit"].as_u64().map(|n| n as u32);
                inner_scope.loop_over = Some((producer.to_string(), key.to_string(), item_input, parallelism));
            }
            for (arg, binding) in task["inputs"]["parameters"].as_object().into_iter().flatten() {
                if binding.get("taskOutputParameter").is_some() {
                    continue; // the loop's items, given to the loop's tasks one by one
                }
                let p = parameter_source(tname, arg, binding, scope)?;
                inner_scope.parameters.insert(arg.clone(), p);
            }
            for (arg, binding) in task["inputs"]["artifacts"].as_object().into_iter().flatten() {
                let source = artifact_source(spec, dag, tname, arg, binding, scope)?;
                inner_scope.artifacts.insert(arg.clone(), source);
            }
            if finally {
                return Err(bad(format!("task `{tname}`: a sub-pipeline as an exit task cannot run locally")));
            }
            flatten(spec, inner, &inner_scope, out)?;
            continue;
        }
        out.push(container_task(spec, dag, tname, task, &comp_name, scope, dependencies, finally)?);
    }
    Ok(())
}

/// The pipeline parameter a task's input parameter takes.
fn parameter_source(tname: &str, arg: &str, binding: &Value, scope: &Scope) -> Result<String, RunError> {
    match binding.get("componentInputParameter").and_then(Value::as_str) {
        Some(p) => Ok(scope.parameters.get(p).cloned().unwrap_or_else(|| p.to_string())),
        None => Err(bad(format!("task `{tname}`: input `{arg}` is not a pipeline parameter; only pipeline parameters and artifacts of other tasks can be passed locally"))),
    }
}

/// The (producer task, output key) of a task's input artifact: an output of a sub-DAG (a
/// loop's collected outputs) is the output of the task inside that makes it.
fn artifact_source(
    spec: &Value,
    dag: &serde_json::Map<String, Value>,
    tname: &str,
    arg: &str,
    binding: &Value,
    scope: &Scope,
) -> Result<(String, String), RunError> {
    if let Some(name) = binding.get("componentInputArtifact").and_then(Value::as_str) {
        return scope.artifacts.get(name).cloned().ok_or_else(|| {
            bad(format!("task `{tname}`: input `{arg}` takes `{name}`, which its sub-pipeline does not have"))
        });
    }
    let toa = &binding["taskOutputArtifact"];
    let mut producer = text(&toa["producerTask"], &format!("task {tname}: input {arg}: producerTask"))?;
    let mut key = text(&toa["outputArtifactKey"], &format!("task {tname}: input {arg}: outputArtifactKey"))?;
    let mut tasks = dag.clone();
    // Through nested sub-DAGs, to the container task that writes it.
    for _ in 0..16 {
        let comp = tasks.get(&producer).and_then(|t| t["componentRef"]["name"].as_str()).unwrap_or_default();
        let sub = &spec["components"][comp]["dag"];
        if sub.is_null() {
            break;
        }
        let selector = &sub["outputs"]["artifacts"][&key]["artifactSelectors"][0];
        let (Some(p), Some(k)) = (selector["producerSubtask"].as_str(), selector["outputArtifactKey"].as_str()) else {
            return Err(bad(format!(
                "task `{tname}`: input `{arg}` takes `{key}` of `{producer}`, which that sub-pipeline does not give"
            )));
        };
        (producer, key) = (p.to_string(), k.to_string());
        tasks = sub["tasks"].as_object().cloned().unwrap_or_default();
    }
    Ok((producer, key))
}

/// A task that runs a container: its command, inputs and outputs.
#[allow(clippy::too_many_arguments)]
fn container_task(
    spec: &Value,
    dag: &serde_json::Map<String, Value>,
    tname: &str,
    task: &Value,
    comp_name: &str,
    scope: &Scope,
    mut dependencies: Vec<String>,
    finally: bool,
) -> Result<LocalTask, RunError> {
    let comp = &spec["components"][comp_name];
    let exec_label = text(&comp["executorLabel"], &format!("component {comp_name}: executorLabel"))?;
    let container = &spec["deploymentSpec"]["executors"][&exec_label]["container"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let command = strings(&container["command"]);
    let args = strings(&container["args"]);
    let start = command.iter().position(|c| c == "-ec").and_then(|i| i.checked_sub(1));
    let launcher = match start {
        Some(i) if command.iter().any(|c| c.contains("kfp.dsl.executor_main")) => command[i..].to_vec(),
        _ => return Err(bad(format!("task `{tname}` is not a lightweight Python component; `nbkf run` runs pipelines whose steps are Python functions (as nbkf and the KFP SDK write them)"))),
    };
    let source = launcher.last().cloned().unwrap_or_default();
    let function = args
        .iter()
        .position(|a| a == "--function_to_execute")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .ok_or_else(|| bad(format!("task `{tname}`: no --function_to_execute")))?;
    let mut parameter_inputs = Vec::new();
    let mut loop_over = None;
    let mut status_argument = None;
    for (arg, binding) in task["inputs"]["parameters"].as_object().into_iter().flatten() {
        if binding.get("taskFinalStatus").is_some() {
            status_argument = Some(arg.clone());
            continue;
        }
        let item = binding.get("componentInputParameter").and_then(Value::as_str);
        match (&scope.loop_over, item) {
            (Some((items_task, items_key, item_input, parallelism)), Some(p)) if p == item_input => {
                dependencies.push(items_task.clone());
                loop_over = Some(LoopSpec {
                    items_task: items_task.clone(),
                    items_key: items_key.clone(),
                    item_argument: arg.clone(),
                    parallelism: *parallelism,
                });
            }
            _ => parameter_inputs.push((arg.clone(), parameter_source(tname, arg, binding, scope)?)),
        }
    }
    if scope.loop_over.is_some() && loop_over.is_none() {
        return Err(bad(format!("task `{tname}` is in a loop but does not take its item; `nbkf run` cannot run it")));
    }
    let in_defs = &comp["inputDefinitions"]["artifacts"];
    let mut artifact_inputs = Vec::new();
    for (arg, binding) in task["inputs"]["artifacts"].as_object().into_iter().flatten() {
        let (producer, output_key) = artifact_source(spec, dag, tname, arg, binding, scope)?;
        artifact_inputs.push(ArtifactInput {
            argument: arg.clone(),
            producer,
            output_key,
            schema_title: in_defs[arg]["artifactType"]["schemaTitle"].as_str().unwrap_or("system.Artifact").to_string(),
            list: in_defs[arg]["isArtifactList"].as_bool().unwrap_or(false),
        });
    }
    let outputs = comp["outputDefinitions"]["artifacts"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (k.clone(), v["artifactType"]["schemaTitle"].as_str().unwrap_or("system.Artifact").to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    for input in &artifact_inputs {
        if !dependencies.contains(&input.producer) {
            dependencies.push(input.producer.clone());
        }
    }
    Ok(LocalTask {
        name: tname.to_string(),
        dependencies,
        parameter_inputs,
        artifact_inputs,
        outputs,
        launcher,
        args,
        source,
        function,
        caching: task["cachingOptions"]["enableCache"].as_bool().unwrap_or(false),
        finally,
        output_parameters: comp["outputDefinitions"]["parameters"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
        loop_over,
        status_argument,
    })
}

/// The pipeline's parameters (`root.inputDefinitions.parameters`).
pub fn parameter_defs(spec: &Value) -> Result<Vec<ParameterDef>, RunError> {
    let mut parameters = Vec::new();
    if let Some(params) = spec["root"]["inputDefinitions"]["parameters"].as_object() {
        for (pname, def) in params {
            parameters.push(ParameterDef {
                name: pname.clone(),
                kind: text(&def["parameterType"], "parameterType")?,
                default: def.get("defaultValue").cloned(),
            });
        }
    }
    Ok(parameters)
}

/// Checks `--param name=value` values against the parameters' types and fills in the
/// defaults. Errors name the parameter and say what is expected.
pub fn resolve_parameters(
    parameters: &[ParameterDef],
    given: &[(String, String)],
) -> Result<BTreeMap<String, Value>, Vec<String>> {
    let mut errors = Vec::new();
    let mut values = BTreeMap::new();
    for p in parameters {
        if let Some(d) = &p.default {
            values.insert(p.name.clone(), d.clone());
        }
    }
    for (name, raw) in given {
        let Some(def) = parameters.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
            let hint = known
                .iter()
                .min_by_key(|k| strsim::levenshtein(k, name))
                .filter(|k| strsim::levenshtein(k, name) <= 2)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            errors.push(if known.is_empty() {
                format!("the pipeline has no parameters, so `--param {name}=...` cannot be used")
            } else {
                format!("unknown parameter `{name}` (the pipeline's parameters: {}){hint}", known.join(", "))
            });
            continue;
        };
        match parse_value(&def.kind, raw) {
            Ok(v) => {
                values.insert(name.clone(), v);
            }
            Err(expected) => errors.push(format!("parameter `{name}` is {expected}; `{raw}` is not")),
        }
    }
    for p in parameters {
        if !values.contains_key(&p.name) {
            errors.push(format!("parameter `{}` has no default value: give it with `--param {}=...`", p.name, p.name));
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// Parses a command-line value for an IR parameter type; the error says what is expected.
fn parse_value(kind: &str, raw: &str) -> Result<Value, &'static str> {
    match kind {
        "NUMBER_INTEGER" => raw.trim().parse::<i64>().map(Value::from).map_err(|_| "an integer"),
        "NUMBER_DOUBLE" => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or("a number"),
        "BOOLEAN" => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("a boolean (`true` or `false`)"),
        },
        "LIST" => serde_json::from_str::<Value>(raw).ok().filter(Value::is_array).ok_or("a list (JSON, e.g. `[1, 2]`)"),
        "STRUCT" => {
            serde_json::from_str::<Value>(raw).ok().filter(Value::is_object).ok_or("a dict (JSON, e.g. `{\"a\": 1}`)")
        }
        _ => Ok(Value::String(raw.to_string())),
    }
}

/// Orders tasks so that each follows its dependencies; reports unknown ones and cycles.
fn order(mut tasks: Vec<LocalTask>) -> Result<Vec<LocalTask>, RunError> {
    let names: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
    for t in &tasks {
        if let Some(d) = t.dependencies.iter().find(|d| !names.contains(d)) {
            return Err(bad(format!("task `{}` depends on `{d}`, which is not a task of the pipeline", t.name)));
        }
    }
    let mut ordered: Vec<LocalTask> = Vec::with_capacity(tasks.len());
    while !tasks.is_empty() {
        let ready = tasks.iter().position(|t| t.dependencies.iter().all(|d| ordered.iter().any(|o| &o.name == d)));
        match ready {
            Some(i) => ordered.push(tasks.remove(i)),
            None => {
                return Err(bad(format!(
                    "the tasks {} depend on each other in a cycle",
                    tasks.iter().map(|t| format!("`{}`", t.name)).collect::<Vec<_>>().join(", ")
                )))
            }
        }
    }
    Ok(ordered)
}
