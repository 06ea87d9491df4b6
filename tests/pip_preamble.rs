//! Pipelines run as a cluster runs them: every step's pip preamble installs the step's
//! packages, and `kfp` without its dependencies, into a new Python environment, from a
//! local package index only (a folder of wheels, `tests/wheelhouse.txt`), under the KFP
//! SDK's local runner (`tests/support/pip_local_run.py`). A package name that does not
//! exist, or a package a step needs and does not install, fails here rather than in a pod.
//! Values are compared with a one-process run of the notebook, as in `tests/fixtures.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    common::repo().join("fixtures").join(format!("{name}.ipynb"))
}

/// Converts and runs with the pip preamble; the equivalence report.
fn run_with_preamble(notebook: &Path, params: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let yaml = common::convert(notebook, dir.path(), &[]);
    let report = common::equivalence_with(notebook, &yaml, params, Some(&common::wheelhouse()));
    assert_eq!(report["differences"], serde_json::json!([]), "{}: {report:#}", notebook.display());
    report
}

#[test]
fn fixtures_install_what_they_import() {
    for name in [
        "optional_imports",
        "local_modules",
        "module_settings",
        "process_state",
        "calls_change_arguments",
        "conditional_definitions",
        "classes_by_calls",
        "steps_and_continuation",
    ] {
        let report = run_with_preamble(&fixture(name), &[]);
        assert!(report["compared"].as_u64().unwrap() >= 1, "{name}: {report:#}");
    }
}

/// A notebook whose steps import `name` (no such module beside it, no such package).
fn notebook_importing(dir: &Path, module: &str) -> PathBuf {
    let nb = serde_json::json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
        "cells": [
            {"cell_type": "code", "id": "a", "metadata": {"tags": ["step:make"]}, "execution_count": null, "outputs": [],
             "source": format!("import {module}\nvalue = {module}.VALUE")},
            {"cell_type": "code", "id": "b", "metadata": {"tags": ["step:use"]}, "execution_count": null, "outputs": [],
             "source": "double = value * 2"},
        ]
    });
    let path = dir.join("imports_helper.ipynb");
    std::fs::write(&path, serde_json::to_string_pretty(&nb).unwrap()).unwrap();
    path
}

#[test]
fn a_module_found_nowhere_is_named_at_convert_time_and_fails_the_run_here() {
    let dir = tempfile::tempdir().unwrap();
    let nb = notebook_importing(dir.path(), "nbkf_helper_module");
    let yaml = dir.path().join("p.yaml");
    let out = common::run(common::nbkf().arg("convert").arg(&nb).arg("-o").arg(&yaml), true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown-import") && stderr.contains("pip install nbkf-helper-module"),
        "the warning names the import and the package nbkf assumed:\n{stderr}"
    );
    // pip finds no such package: the run fails on the first step, here.
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(common::python())
        .arg(common::repo().join("tests/support/pip_local_run.py"))
        .arg(&yaml)
        .arg("--wheelhouse")
        .arg(common::wheelhouse())
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("RUN FAILED"), "the wrong package name must fail the run:\n{stdout}");

    // With the module beside the notebook, its source travels with the steps: no warning,
    // nothing to install, the run succeeds.
    std::fs::write(dir.path().join("nbkf_helper_module.py"), "VALUE = 21\n").unwrap();
    let out = common::run(common::nbkf().arg("convert").arg(&nb).arg("-o").arg(&yaml), true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("unknown-import"), "{stderr}");
    let report = common::equivalence_with(&nb, &yaml, &[], Some(&common::wheelhouse()));
    assert_eq!(report["differences"], serde_json::json!([]), "{report:#}");
}

/// The corpus notebooks whose `run_status` in `MANIFEST.tsv` is `ok`, converted with
/// nbkf's defaults. Some draw unseeded random numbers: every copy seeds `random` and
/// `numpy.random` in a first cell, so the two runs draw the same.
#[test]
fn runnable_corpus_notebooks_run_with_their_pip_preamble() {
    let manifest = std::fs::read_to_string(common::shared().join("corpus/MANIFEST.tsv")).unwrap();
    let mut rows = manifest.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    let file = header.iter().position(|h| *h == "file").unwrap();
    let status = header.iter().position(|h| *h == "run_status").unwrap();
    let names: Vec<String> = rows
        .map(|r| r.split('\t').collect::<Vec<_>>())
        .filter(|r| r.get(status) == Some(&"ok"))
        .map(|r| r[file].to_string())
        .collect();
    assert_eq!(names.len(), 8, "{names:#?}");
    let mut outcomes = Vec::new();
    for name in &names {
        let dir = tempfile::tempdir().unwrap();
        let source = common::shared().join("corpus").join(name);
        let nb = common::seeded_copy(&source, dir.path());
        let started = std::time::Instant::now();
        let report = run_with_preamble(&nb, &[]);
        outcomes.push(format!(
            "{name}: {} values and metrics equal, {:.0} s",
            report["compared"],
            started.elapsed().as_secs_f64()
        ));
    }
    eprintln!("pip preamble outcomes:\n{}", outcomes.join("\n"));
}
