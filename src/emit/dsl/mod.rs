//! The pipeline as a KFP Python DSL script (`nbkf convert --format dsl`): one
//! `@kfp.dsl.component` per step whose body is the step program of the IR (the same
//! literals, [`super::step_program::fields`]), the runtime component, and the pipeline
//! function wiring them with the same parameters, dependencies, caching, resources and
//! Kubernetes settings. The KFP SDK compiles it into a pipeline that behaves as nbkf's own
//! IR. Laid out as `black`/`ruff format` lay Python out (one element per line, trailing
//! commas), so formatting it changes nothing.

mod sub_pipelines;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use minijinja::{context, Environment};
use serde::Serialize;

use super::python_literal::string as py;
use super::step_program::{component_names, fields, runtime_sha256, ComponentNames, StepFields};
use super::{literal_json, PreambleMode, KFP_VERSION, RUNTIME_OUTPUT};
use crate::names::{unique_name, RUNTIME_FUNCTION};
use crate::plan::{cell_ranges, Plan};
use crate::runtime::STEP_RUNTIME;

/// Why a plan cannot be written as a DSL script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DslError(pub String);

impl std::fmt::Display for DslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DslError {}

/// Module-level names of the script that neither components nor the pipeline function may take.
const MODULE_NAMES: &[&str] = &[
    "kfp",
    "nbkf_kubernetes",
    "Input",
    "Output",
    "Artifact",
    "HTML",
    "Metrics",
    "List",
    "PipelineTaskFinalStatus",
    RUNTIME_FUNCTION,
    "hashlib",
];

#[derive(Serialize)]
struct Component {
    name: String,
    cells_text: String,
    function: String,
    image: String,
    packages: Vec<String>,
    index_urls: Vec<String>,
    trusted_hosts: Vec<String>,
    f: StepFields,
}

/// A sub-pipeline's `@kfp.dsl.pipeline` function.
#[derive(Serialize)]
struct SubFunction {
    name: String,
    path: String,
    /// Its `name=` (the KFP task that runs it).
    name_literal: String,
    function: String,
    /// The `NamedTuple` class of its results, with its fields (`name: Artifact`); empty
    /// when it gives nothing back.
    class: String,
    fields: Vec<String>,
    /// Its arguments (`NAME: int`, `name: Input[Artifact]`).
    signature: Vec<String>,
    tasks: Vec<TaskCall>,
    /// The lines of its `return Class(...)` arguments.
    results: Vec<String>,
}

/// The component that lists the item numbers of a `for:` step.
#[derive(Serialize)]
struct ItemsComponent {
    step: String,
    function: String,
    image: String,
    /// Its `def` line(s).
    signature: String,
    /// Its body, indented.
    body: String,
}

#[derive(Serialize)]
struct TaskCall {
    /// Its indentation in the pipeline function.
    pad: String,
    /// `with kfp.dsl.ParallelFor(...) as item:` before a `for:` step's task (its lines, at
    /// `pad` less 4); empty for other tasks.
    header: Vec<String>,
    variable: String,
    function: String,
    /// The lines of its arguments (`name=value,`), relative to their indentation.
    arguments: Vec<String>,
    /// The lines of the method calls on the task (`x_task.set_caching_options(False)`).
    calls: Vec<String>,
    /// (function of `kfp.kubernetes`, argument lines after the task)
    kubernetes: Vec<(String, Vec<String>)>,
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_filter("q", |literal: String| black_quotes(&literal));
        env.add_template("dsl.py.j2", include_str!("../../../templates/dsl.py.j2")).expect("the DSL template is valid");
        env
    })
}

/// An argument name the KFP SDK takes (ASCII letters, digits and `_`): non-ASCII letters
/// transliterated where Unicode says how, with a short hash of the original so that names
/// stay different (`out_données` → `out_donnees_1f0a`).
fn ascii_argument(name: &str) -> String {
    if name.is_ascii() {
        return name.to_string();
    }
    use sha2::{Digest, Sha256};
    use unicode_normalization::UnicodeNormalization;
    let base: String = name.nfkd().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let hash = Sha256::digest(name.as_bytes());
    format!("{}_{:02x}{:02x}", base.trim_end_matches('_'), hash[0], hash[1])
}

/// The component's argument names, as the KFP SDK takes them.
fn ascii_names(mut n: ComponentNames) -> ComponentNames {
    let fix = |pairs: &mut Vec<(String, String)>| pairs.iter_mut().for_each(|(_, a)| *a = ascii_argument(a));
    fix(&mut n.parameters);
    fix(&mut n.inputs);
    fix(&mut n.outputs);
    n.output_groups.iter_mut().for_each(|(_, a)| *a = ascii_argument(a));
    n
}

/// The line length `black` and `ruff format` keep to.
const WIDTH: usize = 88;

fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `head` + `inner` + `tail` on one line at `indent`, or split after `head`'s opening bracket
/// as `black` splits a line too long (`inner` indented on a line of its own).
fn fitted(indent: usize, head: String, inner: &str, tail: &str) -> Vec<String> {
    let line = format!("{head}{inner}{tail}");
    if indent + width(&line) <= WIDTH {
        vec![line]
    } else {
        vec![head, format!("    {inner}"), tail.to_string()]
    }
}

/// `with kfp.dsl.ParallelFor(items, parallelism=n) as item:` at `indent`, split as `ruff
/// format` splits it when it is too long: the arguments on a line of their own, then one per
/// line with a trailing comma.
fn parallel_for(indent: usize, items: &str, parallelism: Option<u32>, item: &str) -> Vec<String> {
    let mut arguments = vec![items.to_string()];
    arguments.extend(parallelism.map(|n| format!("parallelism={n}")));
    let joined = arguments.join(", ");
    let line = format!("with kfp.dsl.ParallelFor({joined}) as {item}:");
    if indent + width(&line) <= WIDTH {
        return vec![line];
    }
    let tail = format!(") as {item}:");
    if indent + 4 + width(&joined) <= WIDTH {
        return vec!["with kfp.dsl.ParallelFor(".into(), format!("    {joined}"), tail];
    }
    let mut lines = vec!["with kfp.dsl.ParallelFor(".to_string()];
    lines.extend(arguments.iter().map(|a| format!("    {a},")));
    lines.push(tail);
    lines
}

/// `head(inner)tail` as [`fitted`] lays it out, for other emitters.
pub(crate) fn fitted_call(indent: usize, head: &str, inner: &str, tail: &str) -> Vec<String> {
    fitted(indent, head.to_string(), inner, tail)
}

/// `name=object[key],` at `indent`.
fn subscript_argument(indent: usize, name: &str, object: &str, key: &str) -> Vec<String> {
    fitted(indent, format!("{name}={object}["), key, "],")
}

/// `object.method(argument)` at `indent`.
fn method_call(indent: usize, object: &str, method: &str, argument: &str) -> Vec<String> {
    fitted(indent, format!("{object}.{method}("), argument, ")")
}

/// A one-line string literal as [`py`] writes it (double quotes), in the quotes `black` and
/// `ruff format` choose: single quotes when that takes fewer backslashes. Anything else (a
/// triple-quoted literal, a number, a name) is returned as it is.
fn black_quotes(literal: &str) -> String {
    if literal.len() < 2 || !literal.starts_with('"') || literal.starts_with("\"\"\"") || !literal.ends_with('"') {
        return literal.to_string();
    }
    let body = &literal[1..literal.len() - 1];
    let escaped_double = body.matches("\\\"").count();
    let single = body.matches('\'').count();
    if single >= escaped_double {
        return literal.to_string();
    }
    let mut out = String::from("'");
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('"') => out.push('"'),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A comment line: no line breaks or other control characters.
fn comment(text: &str) -> String {
    text.chars().map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c }).collect()
}

/// A step's pip options as the component decorator takes them.
#[derive(Debug, Default, PartialEq)]
struct PipOptions {
    index_urls: Vec<String>,
    trusted_hosts: Vec<String>,
    /// Options given before the packages (`--pre`).
    before: Vec<String>,
}

/// The pip options of a step as the SDK's component decorator takes them: index URLs,
/// trusted hosts, and options given before the packages. `-f`/`--find-links` and
/// `--no-index` apply to kfp's own installation in nbkf's preamble, which the SDK cannot
/// say: refused.
fn pip_options(step: &str, options: &[String]) -> Result<PipOptions, DslError> {
    let (mut index, mut extra, mut trusted, mut before) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut k = 0;
    while k < options.len() {
        let option = options[k].as_str();
        let value = options.get(k + 1).filter(|v| !v.starts_with('-')).cloned();
        let (name, inline) = match option.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (option, None),
        };
        let takes_value = matches!(name, "-i" | "--index-url" | "--extra-index-url" | "--trusted-host");
        let argument = if takes_value && inline.is_none() { value.clone() } else { inline.clone() };
        match name {
            "-i" | "--index-url" => index.extend(argument.clone()),
            "--extra-index-url" => extra.extend(argument.clone()),
            "--trusted-host" => trusted.extend(argument.clone()),
            "-f" | "--find-links" | "--no-index" => {
                return Err(DslError(format!(
                    "step `{step}` installs its packages with `{name}`, which nbkf's pipeline YAML also applies to \
                     installing kfp; the KFP DSL cannot say that: use `--format ir`, or `--packages image`"
                )))
            }
            _ => before.push(option.to_string()),
        }
        k += if takes_value && inline.is_none() && value.is_some() { 2 } else { 1 };
    }
    if index.is_empty() && !extra.is_empty() {
        return Err(DslError(format!(
            "step `{step}` adds `--extra-index-url` without `--index-url`; the KFP DSL's first index URL replaces \
             PyPI: use `--format ir`"
        )));
    }
    index.extend(extra);
    Ok(PipOptions { index_urls: index, trusted_hosts: trusted, before })
}

/// The script.
pub fn kfp_dsl(plan: &Plan, preamble: PreambleMode, file: &str, package_path: &str) -> Result<String, DslError> {
    let parameters: BTreeSet<String> = plan.parameters.iter().map(|p| p.name.clone()).collect();
    let mut module: BTreeSet<String> = MODULE_NAMES.iter().map(|s| s.to_string()).collect();
    for p in &parameters {
        if !p.is_ascii() {
            return Err(DslError(format!(
                "the pipeline parameter `{p}`: the KFP SDK takes only ASCII letters, digits and `_` in names; \
                 rename it, or use `--format ir`"
            )));
        }
        if MODULE_NAMES.contains(&p.as_str()) {
            return Err(DslError(format!(
                "the pipeline parameter `{p}` has the name of something the KFP DSL script needs; rename it, or use `--format ir`"
            )));
        }
    }
    let pipeline_function = unique_name("pipeline".into(), &mut module);
    // Step functions are called in the pipeline function: never a parameter's name.
    let mut taken: BTreeSet<String> = module.union(&parameters).cloned().collect();
    let functions: Vec<String> = plan.steps.iter().map(|s| unique_name(s.function.clone(), &mut taken)).collect();
    let runtime_task = unique_name("nbkf_runtime_task".into(), &mut taken);
    // `    x_task = x(` on one line; when it would not fit, a shorter name.
    let variables: Vec<String> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let wanted = format!("{f}_task");
            let wanted =
                if 4 + width(&wanted) + 3 + width(f) + 2 > WIDTH { format!("step{}_task", i + 1) } else { wanted };
            unique_name(wanted, &mut taken)
        })
        .collect();

    // A sub-pipeline's function and the variable of its task.
    let sub_functions: Vec<String> =
        plan.sub_pipelines.iter().map(|g| unique_name(g.task.replace('-', "_"), &mut taken)).collect();
    let sub_variables: Vec<String> =
        sub_functions.iter().map(|f| unique_name(format!("{f}_task"), &mut taken)).collect();
    let mut sub_tasks: Vec<Vec<TaskCall>> = plan.sub_pipelines.iter().map(|_| Vec::new()).collect();
    // Where each sub-pipeline's call is: (its caller, index among the caller's calls).
    let mut opened: Vec<Option<(Option<usize>, usize)>> = vec![None; plan.sub_pipelines.len()];
    let mut group_after: Vec<BTreeSet<String>> = vec![BTreeSet::new(); plan.sub_pipelines.len()];

    let names: Vec<ComponentNames> = plan.steps.iter().map(|s| ascii_names(component_names(plan, s))).collect();
    let ir_names: Vec<ComponentNames> = plan.steps.iter().map(|s| component_names(plan, s)).collect();
    let both = sub_pipelines::Names { ir: &ir_names, dsl: &names };
    let faces: Vec<sub_pipelines::Interface> =
        (0..plan.sub_pipelines.len()).map(|g| sub_pipelines::interface(plan, &both, g)).collect();
    let mut components = Vec::new();
    let mut tasks = Vec::new();
    let mut annotations: BTreeSet<&str> = ["Artifact", "Input", "Output"].into();
    let mut kubernetes = !plan.settings.volumes.is_empty();
    let exit = plan.exit_step();
    // The steps run in `with kfp.dsl.ExitHandler(...)` when there is an exit step.
    let inner = if exit.is_some() { 8 } else { 4 };
    let mut exit_call = None;
    let mut items_components = Vec::new();
    let mut typing_list = false;
    let loops = super::fan_out::loop_names(plan);
    let pad_of = |scope: Option<usize>| if scope.is_some() { 4 } else { inner };
    for (i, step) in plan.steps.iter().enumerate() {
        let scope = step.sub_pipeline;
        // The sub-pipelines it is in are called from their callers before its first step.
        let chain = plan.sub_pipeline_chain(i);
        for (k, &g) in chain.iter().enumerate() {
            if opened[g].is_some() {
                continue;
            }
            let caller = k.checked_sub(1).map(|c| chain[c]);
            let pad = pad_of(caller);
            let face = &faces[g];
            let mut arguments: Vec<String> = face.parameters.iter().map(|(p, _)| format!("{p}={p},")).collect();
            for (name, producer, key, list) in &face.artifacts {
                match producer {
                    None => match sub_pipelines::runtime(caller, &runtime_task) {
                        sub_pipelines::Reference::Output(object, key) => {
                            arguments.extend(subscript_argument(pad + 4, name, &object, &key))
                        }
                        sub_pipelines::Reference::Argument(a) => arguments.push(format!("{name}={a},")),
                    },
                    Some(p) => arguments.extend(sub_pipelines::argument(
                        plan,
                        caller,
                        pad + 4,
                        name,
                        *p,
                        key,
                        *list,
                        &variables,
                        &sub_variables,
                    )),
                }
            }
            let call = TaskCall {
                pad: " ".repeat(pad),
                header: Vec::new(),
                variable: sub_variables[g].clone(),
                function: sub_functions[g].clone(),
                arguments,
                calls: Vec::new(),
                kubernetes: Vec::new(),
            };
            let list = match caller {
                Some(c) => &mut sub_tasks[c],
                None => &mut tasks,
            };
            opened[g] = Some((caller, list.len()));
            list.push(call);
        }
        let mut indent = if exit == Some(i) { 4 } else { pad_of(scope) };
        // A `for:` step: its items task, then the step in `with kfp.dsl.ParallelFor(...)`.
        let mut header = Vec::new();
        let mut item_variable = None;
        if let (Some(fan_out), Some(l)) = (&step.fan_out, &loops[i]) {
            let function = unique_name(l.items_task.replace('-', "_"), &mut taken);
            let variable = unique_name(format!("{function}_task"), &mut taken);
            let item = unique_name(format!("{}_item", functions[i]), &mut taken);
            let (annotation, body) = super::fan_out::items_function(plan, fan_out);
            let one_line = format!("def {function}(items: {annotation}) -> List[str]:");
            let signature = if width(&one_line) <= WIDTH {
                one_line
            } else {
                format!("def {function}(\n    items: {annotation},\n) -> List[str]:")
            };
            items_components.push(ItemsComponent {
                step: comment(&step.name),
                function: function.clone(),
                image: py(&plan.settings.base_image),
                signature,
                body,
            });
            let argument = match fan_out.source {
                crate::plan::ListSource::Parameter => vec![format!("items={},", fan_out.list)],
                crate::plan::ListSource::Step(p) => sub_pipelines::argument(
                    plan,
                    scope,
                    indent + 4,
                    "items",
                    p,
                    &sub_pipelines::Key {
                        ir: super::fan_out::list_key(step, fan_out, &ir_names, p),
                        dsl: super::fan_out::list_key(step, fan_out, &names, p),
                    },
                    false,
                    &variables,
                    &sub_variables,
                ),
            };
            let calls = method_call(
                indent,
                &variable,
                "set_caching_options",
                if step.settings.cache { "True" } else { "False" },
            );
            let list = match scope {
                Some(g) => &mut sub_tasks[g],
                None => &mut tasks,
            };
            list.push(TaskCall {
                pad: " ".repeat(indent),
                header: Vec::new(),
                variable: variable.clone(),
                function,
                arguments: argument,
                calls,
                kubernetes: Vec::new(),
            });
            header = parallel_for(indent, &format!("{variable}.output"), fan_out.parallelism, &item);
            item_variable = Some(item);
            indent += 4;
            typing_list = true;
        }
        let n = &names[i];
        let f = fields(plan, step, n);
        if n.metrics.is_some() {
            annotations.insert("Metrics");
        }
        if n.report.is_some() {
            annotations.insert("HTML");
        }
        if n.status.is_some() {
            annotations.insert("PipelineTaskFinalStatus");
        }
        let PipOptions { index_urls, trusted_hosts, before } = match preamble {
            PreambleMode::Pip => pip_options(&step.name, &step.pip_options)?,
            PreambleMode::Image => PipOptions::default(),
        };
        let packages = match preamble {
            PreambleMode::Pip if !step.packages.is_empty() => {
                before.iter().chain(&step.packages).map(|p| py(p)).collect()
            }
            _ => Vec::new(),
        };
        let cells: Vec<usize> = step.cells.iter().map(|c| c + 1).collect();
        components.push(Component {
            name: comment(&step.name),
            cells_text: format!(
                "{} {} of {}",
                if cells.len() == 1 { "cell" } else { "cells" },
                cell_ranges(&cells),
                comment(&plan.notebook_file)
            ),
            function: functions[i].clone(),
            image: py(&step.settings.image),
            packages,
            index_urls: index_urls.iter().map(|u| py(u)).collect(),
            trusted_hosts: trusted_hosts.iter().map(|h| py(h)).collect(),
            f,
        });

        let mut arguments = match (&n.runtime, sub_pipelines::runtime(scope, &runtime_task)) {
            (Some(runtime), sub_pipelines::Reference::Output(object, key)) => {
                subscript_argument(indent + 4, runtime, &object, &key)
            }
            (Some(runtime), sub_pipelines::Reference::Argument(a)) => vec![format!("{runtime}={a},")],
            (None, _) => Vec::new(),
        };
        for (param, arg) in &n.parameters {
            arguments.push(format!("{arg}={param},"));
        }
        let mut seen = BTreeSet::new();
        for (input, (_, arg)) in step.inputs.iter().zip(&n.inputs) {
            if !seen.insert(arg.clone()) {
                continue;
            }
            let key = sub_pipelines::Key {
                ir: ir_names[input.producer].output_of(input),
                dsl: names[input.producer].output_of(input),
            };
            let collected =
                plan.steps[input.producer].fan_out.as_ref().is_some_and(|f| f.accumulators.contains(&input.variable));
            // The lists a `for:` step's items append to: each item's, collected.
            typing_list |= collected;
            arguments.extend(sub_pipelines::argument(
                plan,
                scope,
                indent + 4,
                arg,
                input.producer,
                &key,
                collected,
                &variables,
                &sub_variables,
            ));
        }
        if let (Some(item), Some(arg)) = (&item_variable, &n.item) {
            arguments.push(format!("{arg}={item},"));
        }
        let var = &variables[i];
        let mut calls = Vec::new();
        if !step.name.is_ascii() {
            calls.extend(method_call(indent, var, "set_display_name", &py(&step.name)));
        }
        calls.extend(method_call(
            indent,
            var,
            "set_caching_options",
            if step.settings.cache { "True" } else { "False" },
        ));
        let s = &step.settings;
        if let Some(cpu) = &s.cpu_limit {
            calls.extend(method_call(indent, var, "set_cpu_limit", &py(cpu)));
        }
        if let Some(memory) = &s.memory_limit {
            calls.extend(method_call(indent, var, "set_memory_limit", &py(memory)));
        }
        if let Some((kind, count)) = &s.accelerator {
            calls.extend(method_call(indent, var, "set_accelerator_type", &py(kind)));
            calls.extend(method_call(indent, var, "set_accelerator_limit", &count.to_string()));
        }
        // Steps it runs after without reading from them (`prev:`); across sub-pipelines,
        // the call of the outermost sub-pipeline that holds one and not the other.
        for a in &step.after {
            if step.inputs.iter().any(|i| i.producer == *a) {
                continue;
            }
            let theirs = plan.sub_pipeline_chain(*a);
            let common = chain.iter().zip(&theirs).take_while(|(x, y)| x == y).count();
            let target = theirs.get(common).map_or_else(|| variables[*a].clone(), |g| sub_variables[*g].clone());
            match chain.get(common) {
                None => calls.extend(method_call(indent, var, "after", &target)),
                Some(g) => {
                    group_after[*g].insert(target);
                }
            }
        }
        let mut k8s = Vec::new();
        let mut secrets: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
        for (secret, key, env) in &s.secrets {
            match secrets.iter_mut().find(|(name, _)| name == secret) {
                Some((_, keys)) => keys.push((key, env)),
                None => secrets.push((secret, vec![(key, env)])),
            }
        }
        secrets.sort_by(|a, b| a.0.cmp(b.0));
        for (secret, keys) in secrets {
            let mut lines = vec![format!("secret_name={},", py(secret)), "secret_key_to_env={".to_string()];
            lines.extend(keys.iter().map(|(k, e)| format!("    {}: {},", py(k), py(e))));
            lines.push("},".into());
            k8s.push(("use_secret_as_env".to_string(), lines));
        }
        for (key, value) in &s.labels {
            k8s.push(("add_pod_label".to_string(), vec![format!("{},", py(key)), format!("{},", py(value))]));
        }
        for (key, value) in &s.annotations {
            k8s.push(("add_pod_annotation".to_string(), vec![format!("{},", py(key)), format!("{},", py(value))]));
        }
        for v in &plan.settings.volumes {
            k8s.push((
                "mount_pvc".to_string(),
                vec![format!("pvc_name={},", py(&v.pvc)), format!("mount_path={},", py(&v.mount_path))],
            ));
        }
        kubernetes |= !k8s.is_empty();
        let call = TaskCall {
            pad: " ".repeat(indent),
            header,
            variable: variables[i].clone(),
            function: functions[i].clone(),
            arguments,
            calls,
            kubernetes: k8s,
        };
        if exit == Some(i) {
            exit_call = Some(call);
        } else {
            match scope {
                Some(g) => sub_tasks[g].push(call),
                None => tasks.push(call),
            }
        }
    }
    for (g, targets) in group_after.iter().enumerate() {
        let Some((caller, at)) = opened[g] else { continue };
        let list = match caller {
            Some(c) => &mut sub_tasks[c],
            None => &mut tasks,
        };
        let call = &mut list[at];
        for target in targets {
            call.calls.extend(method_call(pad_of(caller), &call.variable, "after", target));
        }
    }
    let mut sub_functions_out = Vec::new();
    let mut typing_named_tuple = false;
    for (g, calls) in sub_tasks.into_iter().enumerate() {
        if opened[g].is_none() {
            continue;
        }
        let sub = &plan.sub_pipelines[g];
        let face = &faces[g];
        let mut signature: Vec<String> = face.parameters.iter().map(|(p, t)| format!("{p}: {t}")).collect();
        for (name, _, _, list) in &face.artifacts {
            typing_list |= *list;
            signature.push(format!("{name}: Input[{}]", if *list { "List[Artifact]" } else { "Artifact" }));
        }
        let class = if face.outputs.is_empty() {
            String::new()
        } else {
            typing_named_tuple = true;
            unique_name(format!("{}Outputs", sub_pipelines::camel(&sub_functions[g])), &mut taken)
        };
        let fields: Vec<String> = face
            .outputs
            .iter()
            .map(|(name, _, _, list)| format!("{name}: {}", if *list { "List[Artifact]" } else { "Artifact" }))
            .collect();
        let mut results = Vec::new();
        for (name, p, key, list) in &face.outputs {
            typing_list |= *list;
            results.extend(sub_pipelines::argument(plan, Some(g), 8, name, *p, key, *list, &variables, &sub_variables));
        }
        sub_functions_out.push(SubFunction {
            name: comment(&sub.name),
            path: comment(&sub.path),
            name_literal: py(&sub.task),
            function: sub_functions[g].clone(),
            class,
            fields,
            signature,
            tasks: calls,
            results,
        });
    }
    // The SDK traces a pipeline function when it is defined: the ones it calls come first.
    sub_functions_out.reverse();

    let pipeline_parameters: Vec<(String, String, String)> = plan
        .parameters
        .iter()
        .map(|p| {
            let json = literal_json(&p.default);
            let default = if p.kind.is_json() { py(&json.to_string()) } else { python_value(&json) };
            (p.name.clone(), p.kind.python_type().to_string(), default)
        })
        .collect();
    let title =
        format!("Generated by nbkf {}. Edit it as you like; converting again replaces it.", env!("CARGO_PKG_VERSION"));
    environment()
        .get_template("dsl.py.j2")
        .and_then(|t| {
            t.render(context! {
                title,
                pipeline => comment(&plan.settings.name),
                notebook => comment(&plan.notebook_file),
                file => comment(file),
                version => env!("CARGO_PKG_VERSION"),
                kfp_version => KFP_VERSION,
                kubernetes,
                annotations => annotations.into_iter().collect::<Vec<_>>().join(", "),
                components => minijinja::Value::from(minijinja::value::Serde(&components)),
                install_kfp => preamble == PreambleMode::Pip,
                runtime_sha256 => runtime_sha256(),
                name_literal => py(&plan.settings.name),
                description_literal => plan.settings.description.as_deref().map(py),
                pipeline_function,
                parameters => pipeline_parameters,
                runtime_task,
                tasks => minijinja::Value::from(minijinja::value::Serde(&tasks)),
                exit_task => minijinja::Value::from(minijinja::value::Serde(&exit_call)),
                items_components => minijinja::Value::from(minijinja::value::Serde(&items_components)),
                typing => [typing_list.then_some("List"), typing_named_tuple.then_some("NamedTuple")].into_iter().flatten().collect::<Vec<_>>().join(", "),
                sub_pipelines => minijinja::Value::from(minijinja::value::Serde(&sub_functions_out)),
                pad => " ".repeat(inner),
                base_image => py(&plan.settings.base_image),
                runtime_output => RUNTIME_OUTPUT,
                runtime_literal => py(STEP_RUNTIME),
                package_path => py(package_path),
            })
        })
        // The template's last line break is not kept.
        .map(|text| text + "\n")
        .map_err(|e| DslError(format!("the DSL template failed: {e}")))
}

/// A JSON scalar (a parameter's default) as a Python literal.
fn python_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(true) => "True".into(),
        serde_json::Value::Bool(false) => "False".into(),
        serde_json::Value::Null => "None".into(),
        serde_json::Value::String(s) => py(s),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_options_become_the_decorator_arguments() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = pip_options("s", &o(&["--index-url", "https://a/simple", "--trusted-host", "a", "--pre"])).unwrap();
        assert_eq!(
            p,
            PipOptions { index_urls: o(&["https://a/simple"]), trusted_hosts: o(&["a"]), before: o(&["--pre"]) }
        );
        let p = pip_options("s", &o(&["-i", "https://a/simple", "--extra-index-url=https://b/simple"])).unwrap();
        assert_eq!(p.index_urls, o(&["https://a/simple", "https://b/simple"]));
        let e = pip_options("s", &o(&["--find-links", "wheels/"])).unwrap_err();
        assert!(e.0.contains("step `s`") && e.0.contains("--find-links"), "{e}");
        assert!(pip_options("s", &o(&["--extra-index-url", "https://b/simple"])).is_err());
    }

    #[test]
    fn quotes_are_chosen_as_black_chooses_them() {
        assert_eq!(black_quotes(&py("plain")), "\"plain\"");
        assert_eq!(black_quotes(&py("say \"hi\"")), "'say \"hi\"'");
        assert_eq!(black_quotes(&py("it's \"x\" \\ y")), "'it\\'s \"x\" \\\\ y'");
        assert_eq!(black_quotes(&py("it's \"x\"'")), py("it's \"x\"'"));
        assert_eq!(black_quotes(&py("a\nb")), py("a\nb"));
        assert_eq!(black_quotes("12"), "12");
    }

    #[test]
    fn a_long_parallel_for_is_split_as_ruff_splits_it() {
        assert_eq!(
            parallel_for(4, "a_task.output", Some(2), "a_item"),
            ["with kfp.dsl.ParallelFor(a_task.output, parallelism=2) as a_item:"]
        );
        let long = parallel_for(8, "square_items_task.output", Some(2), "square_item");
        assert_eq!(
            long,
            ["with kfp.dsl.ParallelFor(", "    square_items_task.output, parallelism=2", ") as square_item:"]
        );
        let longer = parallel_for(8, &format!("{}.output", "x".repeat(80)), Some(2), "i");
        assert_eq!(longer.len(), 4, "{longer:?}");
        assert!(longer[1].ends_with(',') && longer[2] == "    parallelism=2,");
    }

    #[test]
    fn defaults_are_python_literals() {
        assert_eq!(python_value(&serde_json::json!(true)), "True");
        assert_eq!(python_value(&serde_json::json!(1.5)), "1.5");
        assert_eq!(python_value(&serde_json::json!("a\"b")), "\"a\\\"b\"");
    }
}
