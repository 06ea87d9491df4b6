//! `nbkf convert --format dsl`: the pipeline as a KFP Python DSL script. For every fixture
//! and every corpus notebook that converts, the script is left unchanged by `ruff format`,
//! compiles with the KFP SDK (the function behind `kfp dsl compile`), and its IR passes the
//! strict validator. Every fixture's script, and the runnable tagged corpus notebooks', run
//! under the SDK's local runner computing what nbkf's own YAML computes: the same values
//! compared with the notebook, none differing. Three scripts are pinned as snapshots.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{nbkf, python, repo, run, shared};
use serde_json::Value;

/// The fixtures (`fixtures/*.ipynb`).
fn fixtures() -> Vec<PathBuf> {
    let files = common::notebooks_in(&repo().join("fixtures"));
    assert!(files.len() >= 30, "fixtures: {files:?}");
    files
}

/// A module name for a notebook's script (the KFP SDK imports the script by its file name).
fn module_name(notebook: &Path) -> String {
    let stem = notebook.file_stem().unwrap().to_string_lossy();
    stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// Writes the notebook's DSL script into `dir`; `None` when nbkf refuses the notebook.
fn dsl(notebook: &Path, dir: &Path) -> Option<PathBuf> {
    dsl_with(notebook, dir, &[])
}

/// As [`dsl`], converted with more flags.
fn dsl_with(notebook: &Path, dir: &Path, flags: &[&str]) -> Option<PathBuf> {
    let script = dir.join(format!("{}.py", module_name(notebook)));
    let out = nbkf()
        .arg("convert")
        .arg(notebook)
        .args(["--format", "dsl", "-q", "-o"])
        .arg(&script)
        .args(flags)
        .output()
        .unwrap();
    out.status.success().then_some(script)
}

/// Compiles scripts as `kfp dsl compile` does (`tests/support/dsl_compile.py`); their IR files.
fn compile(scripts: &[PathBuf]) -> Vec<PathBuf> {
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("tests/support/dsl_compile.py"));
    let outputs: Vec<PathBuf> = scripts.iter().map(|s| s.with_extension("yaml")).collect();
    for (s, o) in scripts.iter().zip(&outputs) {
        cmd.arg(s).arg(o);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the KFP SDK did not compile every script:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("OK: ")).count(), scripts.len(), "{text}");
    outputs
}

/// `ruff format --check` on the scripts: formatting them changes nothing.
fn formatted(scripts: &[PathBuf]) {
    let out =
        Command::new(python()).args(["-m", "ruff", "format", "--check", "--no-cache"]).args(scripts).output().unwrap();
    assert!(
        out.status.success(),
        "ruff format would change the scripts:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The notebooks of the corpus that nbkf converts (the others it refuses, as tests/corpus.rs checks).
fn corpus() -> Vec<PathBuf> {
    common::notebooks_in(&shared().join("corpus"))
}

#[test]
fn every_script_is_formatted_compiles_with_the_kfp_sdk_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let mut scripts: Vec<PathBuf> =
        fixtures().iter().map(|f| dsl(f, dir.path()).expect("every fixture converts")).collect();
    let corpus = corpus();
    let converted: Vec<PathBuf> = corpus.iter().filter_map(|n| dsl(n, dir.path())).collect();
    assert_eq!(converted.len(), 44, "44 of the 48 corpus notebooks convert (tests/corpus.rs)");
    scripts.extend(converted);
    formatted(&scripts);
    let yamls = compile(&scripts);
    common::validate_ir(&yamls);
    println!("{} scripts formatted, compiled and validated", scripts.len());
}

/// The documents of an IR file (the pipeline, and the platform spec when there is one).
fn documents(path: &Path) -> Vec<Value> {
    serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Where a task's input artifacts come from, sorted: `task <producer>` or `input <name>`.
fn producers(artifacts: &Value) -> Vec<String> {
    let mut from: Vec<String> = artifacts
        .as_object()
        .into_iter()
        .flat_map(|a| a.values())
        .map(|b| match b["taskOutputArtifact"]["producerTask"].as_str() {
            Some(p) => format!("task {p}"),
            None => format!("input {}", b["componentInputArtifact"].as_str().unwrap_or("?")),
        })
        .collect();
    from.sort();
    from
}

/// What a pipeline's tasks are given besides their code: per task (in the root DAG and in
/// sub-DAGs: the exit handler's, loops') its dependencies, trigger policy, parameter and
/// artifact wiring, loop (items, parallelism, collected outputs and inputs), caching,
/// display name, image and resources; the pipeline's parameters; the Kubernetes
/// settings.
fn settings(path: &Path) -> Value {
    let docs = documents(path);
    let spec = &docs[0];
    let mut tasks = serde_json::Map::new();
    let mut dags = vec![("root".to_string(), spec["root"].clone())];
    while let Some((dag_name, dag)) = dags.pop() {
        for (name, task) in dag["dag"]["tasks"].as_object().unwrap() {
            let mut deps: Vec<Value> = task["dependentTasks"].as_array().cloned().unwrap_or_default();
            deps.sort_by_key(|d| d.to_string());
            let component = task["componentRef"]["name"].as_str().unwrap();
            if spec["components"][component].get("dag").is_some() {
                dags.push((name.clone(), spec["components"][component].clone()));
            }
            let executor = component.replacen("comp-", "exec-", 1);
            let container = &spec["deploymentSpec"]["executors"][&executor]["container"];
            let resources = &container["resources"];
            tasks.insert(
                name.clone(),
                serde_json::json!({
                    "in": dag_name,
                    "after": deps,
                    "trigger": task["triggerPolicy"],
                    "parameters": task["inputs"]["parameters"],
                    // By producer: the script's argument names are ASCII where nbkf's may not be.
                    "artifacts": producers(&task["inputs"]["artifacts"]),
                    "iterator": task["parameterIterator"],
                    "parallelism": task["iteratorPolicy"],
                    "lists": spec["components"][component]["inputDefinitions"]["artifacts"]
                        .as_object()
                        .map(|a| a.values().filter(|d| d["isArtifactList"] == true).count()),
                    "dag_outputs": spec["components"][component]["dag"]["outputs"]["artifacts"].as_object().map(|o| o.len()),
                    "cache": task["cachingOptions"]["enableCache"],
                    "display": task["taskInfo"]["name"],
                    "image": container["image"],
                    "cpu": resources["resourceCpuLimit"],
                    "memory": resources["resourceMemoryLimit"],
                    "accelerator": [resources["accelerator"]["resourceType"], resources["accelerator"]["resourceCount"]],
                    "kubernetes": docs.get(1).map(|p| p["platforms"]["kubernetes"]["deploymentSpec"]["executors"][&executor].clone()),
                }),
            );
        }
    }
    // Defaults are protobuf values, whose numbers are doubles: the SDK writes `2.0` for 2.
    let mut parameters = spec["root"]["inputDefinitions"].clone();
    if let Some(map) = parameters["parameters"].as_object_mut() {
        for p in map.values_mut() {
            if let Some(n) = p["defaultValue"].as_f64() {
                p["defaultValue"] = serde_json::json!(n);
            }
        }
    }
    serde_json::json!({"parameters": parameters, "tasks": tasks})
}

#[test]
fn the_sdk_gives_the_tasks_what_nbkfs_yaml_gives_them() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = fixtures();
    let scripts: Vec<PathBuf> = fixtures.iter().map(|f| dsl(f, dir.path()).unwrap()).collect();
    let compiled = compile(&scripts);
    let mut platform = 0;
    for (notebook, from_dsl) in fixtures.iter().zip(&compiled) {
        let yaml = common::convert(notebook, dir.path(), &[]);
        assert_eq!(settings(from_dsl), settings(&yaml), "{}", notebook.display());
        platform += usize::from(documents(&yaml).len() > 1);
    }
    assert!(platform >= 1, "a fixture with Kubernetes settings is compared");
}

/// Runs the equivalence harness on one IR file: its report.
fn report(notebook: &Path, yaml: &Path) -> Value {
    let report = common::equivalence(notebook, yaml, &["--min-compared", "0"]);
    assert_eq!(report["differences"], serde_json::json!([]), "{}: {report:#}", yaml.display());
    report
}

/// The script's pipeline and nbkf's YAML compute the same: the same values are compared with
/// the notebook, and none differs.
fn same_as_yaml(notebook: &Path, dir: &Path) {
    same_as_yaml_with(notebook, dir, &[]);
}

/// As [`same_as_yaml`], both converted with more flags; the tasks' settings compared too.
fn same_as_yaml_with(notebook: &Path, dir: &Path, flags: &[&str]) {
    let script = dsl_with(notebook, dir, flags).unwrap_or_else(|| panic!("{} does not convert", notebook.display()));
    let from_dsl = compile(std::slice::from_ref(&script)).remove(0);
    let yaml = common::convert(notebook, dir, flags);
    if !flags.is_empty() {
        assert_eq!(settings(&from_dsl), settings(&yaml), "{} {flags:?}", notebook.display());
    }
    let (a, b) = (report(notebook, &from_dsl), report(notebook, &yaml));
    assert_eq!(a["variables"], b["variables"], "{}: the values compared differ", notebook.display());
    assert_eq!(a["metrics"], b["metrics"], "{}: the metrics differ", notebook.display());
    assert_eq!(a["compared"], b["compared"], "{}", notebook.display());
}

#[test]
fn every_fixture_script_computes_what_nbkfs_yaml_computes() {
    let fixtures = fixtures();
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Two at a time: each run starts several Python processes.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(notebook) = fixtures.get(i) else { break };
                let dir = tempfile::tempdir().unwrap();
                same_as_yaml(notebook, dir.path());
            });
        }
    });
}

#[test]
fn cells_run_by_ipython_and_packages_in_the_image_carry_over() {
    for flags in [&["--ipython"][..], &["--packages", "image"][..]] {
        let dir = tempfile::tempdir().unwrap();
        same_as_yaml_with(&common::fixture("magic_lines.ipynb"), dir.path(), flags);
        let script = std::fs::read_to_string(dir.path().join("magic_lines.py")).unwrap();
        if flags[0] == "--ipython" {
            assert!(script.contains("ipython=True") && script.contains("\"ipython"), "{script}");
        } else {
            assert!(
                script.contains("install_kfp_package=False") && !script.contains("packages_to_install"),
                "{script}"
            );
        }
    }
}

#[test]
fn runnable_corpus_scripts_compute_what_the_notebooks_compute() {
    for name in [
        "kubeflow-kale__kale__examples__base__candies_sharing.ipynb",
        "kubeflow-kale__kale__backend__kale__tests__assets__notebooks__pipeline_parameters_and_metrics.ipynb",
    ] {
        let dir = tempfile::tempdir().unwrap();
        // Unseeded random numbers in the notebook: a copy with a seed cell added.
        let notebook = common::seeded_copy(&shared().join("corpus").join(name), dir.path());
        same_as_yaml(&notebook, dir.path());
    }
}

#[test]
fn the_kfp_command_line_compiles_a_script_and_parameters_reach_the_steps() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = common::fixture("parameters.ipynb");
    let script = dsl(&notebook, dir.path()).unwrap();
    let kfp = python().parent().unwrap().join("kfp");
    let yaml = dir.path().join("compiled.yaml");
    run(Command::new(&kfp).args(["dsl", "compile", "--py"]).arg(&script).arg("--output").arg(&yaml), true);
    let report = common::equivalence(&notebook, &yaml, &["LR=0.5", "NAME=x'y", "OFFSET=-7", "VERBOSE=false"]);
    assert_eq!(report["differences"], serde_json::json!([]), "{report:#}");
    // `train` doubles LR (tests/fixtures.rs, `parameters`).
    assert_eq!(report["metrics"]["final-lr"], serde_json::json!(1.0), "{report:#}");
    assert_eq!(
        report["metrics"]["message-length"],
        serde_json::json!("x'y: lr=1.0 loss=-3.0".len() as f64),
        "{report:#}"
    );
    // Running the script itself writes `<pipeline>.pipeline.yaml` beside it.
    run(Command::new(python()).arg(&script).current_dir(dir.path()), true);
    assert!(dir.path().join("parameters.pipeline.yaml").is_file());
}

#[test]
fn the_default_file_and_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = dir.path().join("steps_and_continuation.ipynb");
    std::fs::copy(common::fixture("steps_and_continuation.ipynb"), &notebook).unwrap();
    run(nbkf().arg("convert").arg(&notebook).args(["--format", "dsl"]), true);
    let written = dir.path().join("steps_and_continuation_pipeline.py");
    let text = std::fs::read_to_string(&written).expect("the default file name");
    let out = run(nbkf().arg("convert").arg(&notebook).args(["--format", "dsl", "-o", "-", "-q"]), true);
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);
    assert!(text.contains("kfp dsl compile --py steps_and_continuation_pipeline.py"), "{text}");
}

#[test]
fn what_the_dsl_cannot_say_is_refused_with_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = dir.path().join("find_links.ipynb");
    let nb = serde_json::json!({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": "code", "id": "a", "metadata": {"tags": ["step:load"]},
                   "source": "%pip install --find-links wheels/ numpy\nimport numpy\nx = numpy.zeros(2)",
                   "outputs": [], "execution_count": null}]
    });
    std::fs::write(&notebook, nb.to_string()).unwrap();
    let out = nbkf()
        .arg("convert")
        .arg(&notebook)
        .args(["--format", "dsl", "-o"])
        .arg(dir.path().join("x.py"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("step `load`") && err.contains("--find-links") && err.contains("--format ir"), "{err}");
    assert!(!dir.path().join("x.py").exists(), "nothing is written for a refused notebook");
    // The YAML says it.
    run(nbkf().arg("convert").arg(&notebook).arg("-o").arg(dir.path().join("x.yaml")), true);
}

/// The script of a fixture with the step runtime's text and hash replaced by markers (they
/// are pinned by the IR snapshots).
fn snapshot_text(name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let script = dsl(&common::fixture(&format!("{name}.ipynb")), dir.path()).unwrap();
    let text = std::fs::read_to_string(script).unwrap();
    let runtime = nbkf::emit::python_literal::string(include_str!("../src/runtime/step_runtime.py"));
    assert_eq!(text.matches(runtime.as_str()).count(), 1, "the runtime appears once");
    text.replace(runtime.as_str(), "'<nbkf step runtime, src/runtime/step_runtime.py>'")
        .replace(&nbkf::emit::runtime_sha256(), "<sha256 of the step runtime>")
        .replace(&format!("nbkf {}", env!("CARGO_PKG_VERSION")), "nbkf <version>")
}

#[test]
fn snapshot_steps_and_continuation() {
    insta::assert_snapshot!(snapshot_text("steps_and_continuation"));
}

#[test]
fn snapshot_parameters() {
    insta::assert_snapshot!(snapshot_text("parameters"));
}

#[test]
fn snapshot_platform_settings() {
    insta::assert_snapshot!(snapshot_text("platform_settings"));
}

#[test]
fn snapshot_composed_three_levels() {
    insta::assert_snapshot!(snapshot_text("composed_three_levels"));
}
