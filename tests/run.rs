//! `nbkf run` (the local runner) and `nbkf check` (pipeline vs the notebook run top to
//! bottom), through the real binary: on every fixture, on the runnable corpus notebooks,
//! and on the small notebooks of `tests/notebooks/` (written by `make_notebooks.py`), each
//! showing one behaviour: a value the plan cannot carry, a failing step, typed parameters,
//! parallel steps, caching, no `kfp` package, a YAML target.
//!
//! Every command runs in a temporary directory with `--workdir` in it; notebooks are
//! copied there first, since steps run in the notebook's folder and may write files.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{nbkf, python, repo, run, shared};
use serde_json::Value;
use tempfile::TempDir;

fn tempdir() -> TempDir {
    tempfile::tempdir().unwrap()
}

/// A notebook of `tests/notebooks/`.
fn test_notebook(name: &str) -> PathBuf {
    let path = repo().join("tests/notebooks").join(format!("{name}.ipynb"));
    assert!(path.exists(), "{} is missing: run `python3 tests/notebooks/make_notebooks.py`", path.display());
    path
}

/// Copies `notebook` into `dir`, returning the copy.
fn copy_into(notebook: &Path, dir: &Path) -> PathBuf {
    let to = dir.join(notebook.file_name().unwrap());
    std::fs::copy(notebook, &to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", notebook.display()));
    to
}

/// `nbkf <sub> <target> --workdir <dir>/work --python <venv>` run in `dir`.
fn nbkf_in(dir: &Path, sub: &str, target: &Path) -> Command {
    let mut cmd = nbkf();
    cmd.current_dir(dir)
        .arg(sub)
        .arg(target)
        .arg("--workdir")
        .arg(workdir(dir))
        .arg("--python")
        .arg(python())
        .arg("--color=never");
    cmd
}

fn workdir(dir: &Path) -> PathBuf {
    dir.join("work")
}

/// Runs and returns (exit code, stdout, stderr).
fn outcome(cmd: &mut Command) -> (i32, String, String) {
    let out: Output = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The ids of the runs kept in `workdir`.
fn run_ids(workdir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(workdir.join("runs")) {
        Ok(entries) => entries
            .map(|e| e.unwrap())
            .filter(|e| e.path().join("run.json").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// The `run.json` of the one run that is in `workdir` now and was not in `before`.
fn new_run(workdir: &Path, before: &BTreeSet<String>) -> Value {
    let new: Vec<String> = run_ids(workdir).difference(before).cloned().collect();
    assert_eq!(new.len(), 1, "expected one new run in {}, found {new:?}", workdir.display());
    let path = workdir.join("runs").join(&new[0]).join("run.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(json["run_id"], new[0].as_str(), "{json:#}");
    json
}

/// The only run in `workdir`.
fn only_run(workdir: &Path) -> Value {
    new_run(workdir, &BTreeSet::new())
}

fn step<'a>(report: &'a Value, task: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task"] == task)
        .unwrap_or_else(|| panic!("no step `{task}` in {report:#}"))
}

fn state<'a>(report: &'a Value, task: &str) -> &'a str {
    step(report, task)["state"].as_str().unwrap()
}

/// The notebook's steps and their states (the task that writes the step runtime, which
/// every run starts with, is checked and left out).
fn states(report: &Value) -> Vec<(String, String)> {
    let all: Vec<(String, String)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["task"].as_str().unwrap().to_string(), s["state"].as_str().unwrap().to_string()))
        .collect();
    let runtime = all.iter().find(|(t, _)| t == nbkf::names::RUNTIME_TASK);
    if all.iter().any(|(_, s)| s == "succeeded") {
        assert_eq!(runtime.map(|(_, s)| s.as_str()), Some("succeeded"), "{all:?}");
    }
    all.into_iter().filter(|(t, _)| t != nbkf::names::RUNTIME_TASK).collect()
}

/// The `[started_at, ended_at]` the runner recorded for a step.
fn interval(report: &Value, task: &str) -> (f64, f64) {
    let s = step(report, task);
    let (a, b) = (s["started_at"].as_f64().unwrap(), s["ended_at"].as_f64().unwrap());
    assert!(a <= b, "{s:#}");
    (a, b)
}

fn overlap(x: (f64, f64), y: (f64, f64)) -> bool {
    x.0 < y.1 && y.0 < x.1
}

/// The `✗ ... differs:` blocks of a check report, each with its indented lines.
fn differences(report: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let mut open = false;
    for line in report.lines() {
        if line.starts_with("✗ ") && line.ends_with("differs:") {
            blocks.push(line.to_string());
            open = true;
        } else if open && line.starts_with("    ") {
            let last = blocks.last_mut().unwrap();
            last.push('\n');
            last.push_str(line);
        } else {
            open = false;
        }
    }
    blocks
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

#[test]
fn run_and_check_pass_on_every_fixture() {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(repo().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 13, "{fixtures:?}");
    for fixture in &fixtures {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempdir();
        let nb = copy_into(fixture, dir.path());
        // The local modules some fixtures import sit beside them, and the notebooks the
        // composed fixtures run in `composed/`.
        copy_local_modules(dir.path());

        let out = run(&mut nbkf_in(dir.path(), "run", &nb), true);
        let report = only_run(&workdir(dir.path()));
        let steps = states(&report);
        assert!(!steps.is_empty(), "{name}: no steps in {report:#}");
        assert!(
            steps.iter().all(|(_, s)| s == "succeeded"),
            "{name}: {steps:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = run(&mut nbkf_in(dir.path(), "check", &nb), true);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(last_line(&stdout).starts_with('✓'), "{name}:\n{stdout}");
    }
}

/// Copies the fixtures' local modules (`fixtures/nbkf_fixture_*`) and the notebooks the
/// composed fixtures run (`fixtures/composed/`) into `dir`.
fn copy_local_modules(dir: &Path) {
    fn copy_tree(from: &Path, to: &Path) {
        if from.is_dir() {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name().is_some_and(|n| n != "__pycache__") {
                    copy_tree(&path, &to.join(path.file_name().unwrap()));
                }
            }
        } else {
            std::fs::copy(from, to).unwrap();
        }
    }
    for entry in std::fs::read_dir(repo().join("fixtures")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("nbkf_fixture_") || name == "composed" {
            copy_tree(&path, &dir.join(&name));
        }
    }
}

/// The corpus notebooks whose `run_status` in `MANIFEST.tsv` is `ok`.
fn runnable_corpus() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(shared().join("corpus/MANIFEST.tsv")).expect("../shared/corpus/MANIFEST.tsv");
    let mut rows = manifest.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    let file = header.iter().position(|h| *h == "file").expect("a `file` column");
    let status = header.iter().position(|h| *h == "run_status").expect("a `run_status` column");
    rows.map(|r| r.split('\t').collect::<Vec<_>>())
        .filter(|r| r.get(status) == Some(&"ok"))
        .map(|r| r[file].to_string())
        .collect()
}

/// `line` with the value of its `Time:` field (`HH:MM:SS`) blanked out.
fn without_time(line: &str) -> Option<String> {
    let at = line.find("Time:")? + "Time:".len();
    let rest = &line[at..];
    let value_start = rest.len() - rest.trim_start().len();
    let value_len = rest[value_start..].find(' ').unwrap_or(rest.len() - value_start);
    Some(format!("{}{}", &line[..at + value_start], &rest[value_start + value_len..]))
}

#[test]
fn check_passes_on_runnable_corpus_notebooks() {
    let notebooks = runnable_corpus();
    assert_eq!(notebooks.len(), 8, "{notebooks:#?}");
    let timed = [
        "statsmodels__statsmodels__examples__notebooks__ols.ipynb",
        "statsmodels__statsmodels__examples__notebooks__glm.ipynb",
    ];
    for name in &notebooks {
        let dir = tempdir();
        let nb = copy_into(&shared().join("corpus").join(name), dir.path());
        assert_check_passes(name, &nb, dir.path(), &[], timed.contains(&name.as_str()));
    }

    // Unseeded, the two runs of candies_sharing draw different numbers.
    let name = "kubeflow-kale__kale__examples__base__candies_sharing.ipynb";
    assert!(notebooks.iter().any(|n| n == name));
    let dir = tempdir();
    let nb = copy_into(&shared().join("corpus").join(name), dir.path());
    let (code, stdout, stderr) = outcome(nbkf_in(dir.path(), "check", &nb).arg("-q"));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(last_line(&stdout).starts_with('✗'), "{stdout}");
    assert!(differences(&stdout).iter().any(|d| d.contains("kid1")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("hint:") && l.contains("--seed")), "no seeding hint:\n{stdout}");
}

/// The runnable corpus notebooks split into many steps: their own tags, or one step per
/// markdown section (one per cell without headings) added by `tests/support/split_sections.py`;
/// each step in its own empty folder (`--isolated`), as pods share no files.
#[test]
fn check_passes_on_runnable_corpus_notebooks_split_into_steps() {
    let notebooks = runnable_corpus();
    for name in &notebooks {
        let dir = tempdir();
        let nb = dir.path().join(name);
        let source = shared().join("corpus").join(name);
        let tagged = std::fs::read_to_string(&source).unwrap().contains("\"step:");
        if tagged {
            std::fs::copy(&source, &nb).unwrap();
        } else {
            common::run(
                Command::new(common::python())
                    .arg(common::repo().join("tests/support/split_sections.py"))
                    .arg(&source)
                    .arg(&nb),
                true,
            );
        }
        let out = common::run(common::nbkf().arg("convert").arg(&nb).args(["-o", "-", "-q"]), true);
        let yaml = String::from_utf8_lossy(&out.stdout);
        let steps = yaml.matches("\n  comp-").count();
        assert!(steps >= 2, "{name}: split into {steps} steps");
        let timed = name.starts_with("statsmodels__");
        assert_check_passes(name, &nb, dir.path(), &["--isolated"], timed);
    }
}

/// `nbkf check --seed 0` passes; for statsmodels notebooks (`timed`), the only
/// differences allowed are the wall-clock times statsmodels prints.
fn assert_check_passes(name: &str, nb: &Path, dir: &Path, extra: &[&str], timed: bool) {
    {
        let (code, stdout, stderr) = outcome(nbkf_in(dir, "check", nb).args(["--seed", "0", "-q"]).args(extra));
        let summary = last_line(&stdout);
        if timed {
            // statsmodels' printed summaries carry the wall-clock time the cell ran: the
            // two runs may be a second apart, and nothing else may differ.
            assert!(code == 0 || code == 1, "{name}: exit {code}\n{stdout}\n{stderr}");
            assert!(summary.starts_with('✓') || summary.starts_with('✗'), "{name}: no summary\n{stdout}\n{stderr}");
            let diffs = differences(&stdout);
            assert_eq!(code == 0, diffs.is_empty(), "{name}:\n{stdout}");
            assert!(!stdout.lines().any(|l| l.starts_with("? ")), "{name}: something not comparable\n{stdout}");
            for d in &diffs {
                assert!(
                    d.contains("Time:"),
                    "{name}: a difference other than the time:\n{d}\n--- full report\n{stdout}"
                );
                let side = |label: &str| d.lines().find_map(|l| l.trim_start().strip_prefix(label)).map(str::to_string);
                let (p, n) = (side("pipeline: ").expect(d), side("notebook: ").expect(d));
                assert_eq!(without_time(&p), without_time(&n), "{name}: the lines differ beyond `Time:`:\n{d}");
                assert!(without_time(&p).is_some(), "{name}: {d}");
            }
        } else {
            assert_eq!(code, 0, "{name}:\n{stdout}\n{stderr}");
            assert!(summary.starts_with('✓'), "{name}:\n{stdout}");
        }
    }
}

/// Pods share no files: with `--isolated`, a file one step writes at a literal path
/// reaches the step that reads it only because nbkf carries it; at a path nbkf cannot
/// know, convert warns with both places and the isolated run fails like a cluster would.
#[test]
fn files_are_carried_between_isolated_steps() {
    let dir = tempdir();
    let nb = copy_into(&common::repo().join("fixtures/files_between_steps.ipynb"), dir.path());
    let (code, stdout, stderr) = outcome(nbkf_in(dir.path(), "check", &nb).args(["--isolated", "-q"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!dir.path().join("clean.csv").exists(), "isolated steps must not write into the notebook's folder");

    let nb = dir.path().join("unknown_path.ipynb");
    let notebook = serde_json::json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "w", "metadata": {"tags": ["step:write"]}, "outputs": [], "execution_count": null,
         "source": "name = 'out.txt'\nwith open(name, 'w') as f:\n    f.write('x')"},
        {"cell_type": "code", "id": "r", "metadata": {"tags": ["step:read"]}, "outputs": [], "execution_count": null,
         "source": "data = open('out.txt').read()"}]});
    std::fs::write(&nb, notebook.to_string()).unwrap();
    let out = common::run(common::nbkf().arg("convert").arg(&nb).args(["-o", "-", "--color", "never"]), true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("file-between-steps") && err.contains("cell 1") && err.contains("cell 2"), "{err}");
    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).arg("--isolated"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FileNotFoundError"), "{stderr}");
}

#[test]
fn check_reports_a_value_the_plan_cannot_carry() {
    // `exec` changes `a` where the analysis cannot see it: the pipeline passes `a` from
    // step `one` as it was there, and `check` must report the difference.
    let dir = tempdir();
    let nb = copy_into(&test_notebook("hidden_mutation"), dir.path());
    let (code, stdout, stderr) = outcome(&mut nbkf_in(dir.path(), "check", &nb));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(last_line(&stdout).starts_with('✗'), "{stdout}");
    let diffs = differences(&stdout);
    let named = diffs.iter().filter(|d| d.contains("variable `a`") || d.contains("metric `n`")).collect::<Vec<_>>();
    assert!(!named.is_empty(), "neither `a` nor `n` is reported:\n{stdout}");
    for d in named {
        // Both sides shown: `a` is [1] in the pipeline, [1, 2] in the notebook (or n 1 vs 2).
        let side =
            |label: &str| d.lines().find_map(|l| l.trim_start().strip_prefix(label)).map(str::trim).map(str::to_string);
        let (p, n) = (side("pipeline:").expect(d), side("notebook:").expect(d));
        assert!(
            (p.contains("[1]") && n.contains("[1, 2]")) || (p.starts_with('1') && n.starts_with('2')),
            "unexpected values:\n{d}"
        );
    }
}

#[test]
fn a_change_through_an_alias_made_in_an_earlier_step_is_carried() {
    let dir = tempdir();
    let nb = copy_into(&test_notebook("aliased_mutation"), dir.path());
    let (code, stdout, stderr) = outcome(&mut nbkf_in(dir.path(), "check", &nb));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(last_line(&stdout).starts_with('✓'), "{stdout}");
}

#[test]
fn failing_step_maps_the_traceback_and_stops() {
    let dir = tempdir();
    let nb = copy_into(&test_notebook("failing_step"), dir.path());
    let (code, stdout, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).args(["--jobs", "1"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("ZeroDivisionError"), "{stderr}");
    // Step b's cell is the notebook's third cell (the markdown cell counts), and the error
    // is on its second line.
    assert!(stderr.contains("cell 3"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    let report = only_run(&workdir(dir.path()));
    assert_eq!(state(&report, "a"), "succeeded", "{report:#}");
    assert_eq!(state(&report, "b"), "failed", "{report:#}");
    assert_eq!(state(&report, "c"), "not_started", "{report:#}");
    assert!(["succeeded", "not_started"].contains(&state(&report, "d")), "{report:#}");
    let failure = step(&report, "b")["failure"].as_str().unwrap_or_default();
    assert!(failure.contains("ZeroDivisionError") && failure.contains("line 2"), "{report:#}");
    let log = std::fs::read_to_string(step(&report, "b")["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("ZeroDivisionError"), "{log}");
}

#[test]
fn bad_param_is_a_usage_error() {
    let dir = tempdir();
    let nb = copy_into(&test_notebook("typed_parameters"), dir.path());
    let work = workdir(dir.path());

    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).args(["--param", "EPOCHS=1.5"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("integer"), "{stderr}");

    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).args(["--param", "EPOHCS=2"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("EPOCHS"), "no suggestion: {stderr}");

    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).args(["--param", "EPOCHS"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(run_ids(&work).is_empty(), "a usage error must not run anything: {:?}", run_ids(&work));

    // The same check in `nbkf check`.
    let (code, stdout, stderr) = outcome(nbkf_in(dir.path(), "check", &nb).args(["--param", "EPOCHS=1.5"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");

    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).args(["--param", "EPOCHS=7"]));
    assert_eq!(code, 0, "{stderr}");
    let report = only_run(&work);
    assert_eq!(report["parameters"]["EPOCHS"], 7, "{report:#}");
    assert_eq!(report["parameters"]["RATE"], 0.5, "{report:#}");
}

#[test]
fn independent_steps_run_in_parallel() {
    for jobs in ["2", "1"] {
        let dir = tempdir();
        let nb = copy_into(&test_notebook("parallel_sleeps"), dir.path());
        run(nbkf_in(dir.path(), "run", &nb).args(["--jobs", jobs, "-q"]), true);
        let report = only_run(&workdir(dir.path()));
        assert!(states(&report).iter().all(|(_, s)| s == "succeeded"), "{report:#}");
        let (left, right) = (interval(&report, "left"), interval(&report, "right"));
        for sleeper in [left, right] {
            assert!(sleeper.1 - sleeper.0 >= 1.0, "a sleeping step took less than its sleep: {report:#}");
        }
        // The dependencies were respected either way.
        let (start, join) = (interval(&report, "start"), interval(&report, "join"));
        assert!(start.1 <= left.0 && start.1 <= right.0 && left.1 <= join.0 && right.1 <= join.0, "{report:#}");
        if jobs == "2" {
            assert!(overlap(left, right), "--jobs 2: left {left:?} and right {right:?} did not overlap");
        } else {
            assert!(!overlap(left, right), "--jobs 1: left {left:?} and right {right:?} overlapped");
        }
    }
}

#[test]
fn cache_reuses_unchanged_steps() {
    let dir = tempdir();
    let nb = copy_into(&test_notebook("cached_steps"), dir.path());
    let work = workdir(dir.path());

    let before = run_ids(&work);
    run(nbkf_in(dir.path(), "run", &nb).arg("--cache"), true);
    let first = new_run(&work, &before);
    assert!(states(&first).iter().all(|(_, s)| s == "succeeded"), "{first:#}");
    let first_id = first["run_id"].as_str().unwrap().to_string();

    let before = run_ids(&work);
    let out = run(nbkf_in(dir.path(), "run", &nb).arg("--cache"), true);
    let second = new_run(&work, &before);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for s in second["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "cached", "{second:#}");
        assert_eq!(s["cached_from"], first_id.as_str(), "{second:#}");
    }
    assert!(stderr.contains("cached") || stderr.contains("reused"), "{stderr}");
    assert!(stderr.contains(&first_id), "{stderr}");

    // A new parameter value: only the step that reads it runs again.
    let before = run_ids(&work);
    run(nbkf_in(dir.path(), "run", &nb).args(["--cache", "--param", "FACTOR=3"]), true);
    let third = new_run(&work, &before);
    assert_eq!(state(&third, "load"), "cached", "{third:#}");
    assert_eq!(state(&third, "total"), "cached", "{third:#}");
    assert_eq!(state(&third, "scale"), "succeeded", "{third:#}");
    assert_eq!(step(&third, "load")["cached_from"], first_id.as_str(), "{third:#}");
    assert_eq!(step(&third, "scale")["cached_from"], Value::Null, "{third:#}");
    assert_eq!(third["parameters"]["FACTOR"], 3, "{third:#}");

    // Without `--cache`, everything runs.
    let before = run_ids(&work);
    run(&mut nbkf_in(dir.path(), "run", &nb), true);
    let fourth = new_run(&work, &before);
    assert!(states(&fourth).iter().all(|(_, s)| s == "succeeded"), "{fourth:#}");
    assert!(fourth["steps"].as_array().unwrap().iter().all(|s| s["cached_from"].is_null()), "{fourth:#}");
}

#[test]
fn runs_without_the_kfp_package() {
    let dir = tempdir();
    let probe =
        Command::new("python3").current_dir(dir.path()).args(["-c", "import kfp"]).output().expect("python3 on PATH");
    assert!(!probe.status.success(), "the system python3 has `kfp`; this test needs one without it");
    assert!(String::from_utf8_lossy(&probe.stderr).contains("kfp"), "{}", String::from_utf8_lossy(&probe.stderr));

    let nb = copy_into(&test_notebook("stdlib_only"), dir.path());
    let mut cmd = nbkf();
    cmd.current_dir(dir.path())
        .arg("run")
        .arg(&nb)
        .arg("--workdir")
        .arg(workdir(dir.path()))
        .args(["--python", "python3"]);
    run(&mut cmd, true);
    let report = only_run(&workdir(dir.path()));
    assert_eq!(
        states(&report),
        vec![("produce".to_string(), "succeeded".to_string()), ("consume".to_string(), "succeeded".to_string())],
        "{report:#}"
    );
    let log = std::fs::read_to_string(step(&report, "consume")["log"].as_str().unwrap()).unwrap();
    assert!(log.lines().any(|l| l.trim() == "3"), "the consuming step did not print the passed value's length:\n{log}");
}

#[test]
fn run_accepts_a_pipeline_yaml() {
    let dir = tempdir();
    let nb = copy_into(&repo().join("fixtures/steps_and_continuation.ipynb"), dir.path());
    let yaml = dir.path().join("x.yaml");
    run(nbkf().current_dir(dir.path()).arg("convert").arg(&nb).arg("-o").arg(&yaml), true);
    assert!(yaml.exists());
    run(&mut nbkf_in(dir.path(), "run", &yaml), true);
    let report = only_run(&workdir(dir.path()));
    assert_eq!(report["pipeline"], "steps-and-continuation", "{report:#}");
    let steps = states(&report);
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(steps.iter().all(|(_, s)| s == "succeeded"), "{steps:?}");
}

#[test]
fn report_parsing_helpers() {
    // The helpers above read `nbkf check`'s report; a mistake in them would make the
    // corpus test pass vacuously.
    let report = "✗ the output of cell 9 (step `main`) differs:\n    pipeline: line 7: 'Time:                        20:52:03   Log-Likelihood:                -146.51'\n    notebook: line 7: 'Time:                        20:52:04   Log-Likelihood:                -146.51'\n? variable `x` (step `a`) could not be compared: no\n✗ metric `n` (`n`) of step `three` differs:\n    pipeline: 1.0\n    notebook: 2\n✗ `p`: compared 0 values passed between steps, 1 metric and 27 cell outputs; 2 differences\n";
    let diffs = differences(report);
    assert_eq!(diffs.len(), 2, "{diffs:#?}");
    assert!(diffs[0].contains("Time:") && diffs[0].lines().count() == 3, "{diffs:#?}");
    assert!(!diffs[1].contains("Time:") && diffs[1].contains("notebook: 2"), "{diffs:#?}");
    let a = without_time("line 7: 'Time:                        20:52:03   Log-Likelihood:                -146.51'");
    let b = without_time("line 7: 'Time:                        20:52:04   Log-Likelihood:                -146.51'");
    let c = without_time("line 7: 'Time:                        20:52:04   Log-Likelihood:                -146.52'");
    assert!(a.is_some());
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(without_time("no time here"), None);
    assert!(overlap((0.0, 2.0), (1.0, 3.0)) && !overlap((0.0, 1.0), (1.0, 2.0)));
}

/// `--ipython`: steps run their cells as written in a real IPython shell, so magics nbkf
/// cannot translate work (here `%alias`), and the values still match the notebook's.
#[test]
fn ipython_mode_runs_cells_as_written() {
    let dir = tempdir();
    let nb = dir.path().join("alias.ipynb");
    let notebook = serde_json::json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {"tags": ["step:a"]}, "outputs": [], "execution_count": null,
         "source": "x = 2\n%alias greet echo hello\n%greet"},
        {"cell_type": "code", "id": "b", "metadata": {"tags": ["step:b"]}, "outputs": [], "execution_count": null,
         "source": "y = x * 3"}]});
    std::fs::write(&nb, notebook.to_string()).unwrap();
    // Translated, `%alias` is an error naming the cell and line.
    let out = common::run(common::nbkf().arg("convert").arg(&nb).args(["-o", "-", "--color", "never"]), false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("%alias is not supported"));
    // In IPython it runs; ipython becomes a package of the steps.
    let out = common::run(common::nbkf().arg("convert").arg(&nb).args(["-o", "-", "--ipython"]), true);
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("'ipython'") && yaml.contains("ipython=True"), "{yaml}");
    let (code, stdout, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).arg("--ipython"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = outcome(nbkf_in(dir.path(), "check", &nb).args(["--ipython", "-q"]));
    // The values passed between steps match; IPython's shell output for `%greet` is
    // compared too and may go to the process's own output instead of `sys.stdout`.
    assert!(!stdout.lines().any(|l| l.starts_with("✗ variable")), "{stdout}\n{stderr}");
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = outcome(
        nbkf_in(dir.path(), "check", &copy_into(&common::repo().join("fixtures/cell_magics.ipynb"), dir.path()))
            .args(["--ipython", "-q"]),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// A step loads (and so unpickles) only artifacts an nbkf step of this pipeline wrote and
/// that did not change since: here a cached output is altered in the run directory, and
/// the step that reads it refuses it.
#[test]
fn altered_artifacts_are_refused() {
    let dir = tempdir();
    let nb = copy_into(&test_notebook("cached_steps"), dir.path());
    let work = workdir(dir.path());
    let before = run_ids(&work);
    run(nbkf_in(dir.path(), "run", &nb).arg("--cache"), true);
    let first = new_run(&work, &before);
    let outputs = std::path::Path::new(first["run_dir"].as_str().unwrap()).join("load").join("outputs");
    let mut altered = 0;
    for entry in std::fs::read_dir(&outputs).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("out_")) {
            // A pickle that would run code when loaded.
            std::fs::write(&path, b"cos\nsystem\n(S'echo pwned'\ntR.").unwrap();
            altered += 1;
        }
    }
    assert!(altered > 0, "no output of `load` in {}", outputs.display());
    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).arg("--cache"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("changed after the step that wrote it finished"), "{stderr}");
    assert!(!stderr.contains("pwned"), "the altered pickle ran: {stderr}");
}

/// Ctrl-C (SIGINT) during `nbkf run` stops the running step and everything it started,
/// starts no other step, and exits 130.
#[cfg(unix)]
#[test]
fn interrupting_a_run_stops_its_steps() {
    let dir = tempdir();
    let nb = copy_into(&test_notebook("long_step"), dir.path());
    let pids = dir.path().join("pids.txt");
    let mut child = nbkf_in(dir.path(), "run", &nb)
        .env("NBKF_TEST_PIDS", &pids)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !pids.exists() && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&pids).expect("the slow step started");
    let running: Vec<i32> = text.split_whitespace().map(|p| p.parse().unwrap()).collect();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "stopped quickly");
    assert!(stderr.contains("was cancelled"), "{stderr}");
    for pid in running {
        // Signal 0 checks existence; a zombie reaped by init disappears.
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ");
        assert!(!alive, "process {pid} of the step is still running");
    }
    let report = only_run(&workdir(dir.path()));
    assert_eq!(state(&report, "slow"), "canceled");
    assert_eq!(state(&report, "after"), "not_started");
}

/// The exit step (`finally`) runs after a step failed, and the run still fails.
#[test]
fn the_exit_step_runs_after_a_failed_step() {
    let dir = tempfile::tempdir().unwrap();
    let nb = copy_into(&repo().join("fixtures").join("exit_step.ipynb"), dir.path());
    let notify = dir.path().join("notify.txt");
    let notify_param = format!("NOTIFY_FILE={}", notify.display());
    let (code, _, stderr) =
        outcome(nbkf_in(dir.path(), "run", &nb).args(["--param", "FAIL=true", "--param", &notify_param]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("step `train` failed") && stderr.contains("cell 5"), "{stderr}");
    let report = only_run(&workdir(dir.path()));
    let states: BTreeMap<String, String> = states(&report).into_iter().collect();
    assert_eq!(states["train"], "failed", "{states:?}");
    assert_eq!(states["cleanup"], "succeeded", "{states:?}");
    assert_eq!(std::fs::read_to_string(&notify).unwrap(), "pipeline nightly finished: FAILED\n");

    // Without the failure, it runs last, after the others succeeded.
    std::fs::remove_file(&notify).unwrap();
    let before = run_ids(&workdir(dir.path()));
    run(nbkf_in(dir.path(), "run", &nb).args(["--param", &notify_param]), true);
    let report = new_run(&workdir(dir.path()), &before);
    let steps = report["steps"].as_array().unwrap();
    let ended = |t: &str| step(&report, t)["ended_at"].as_f64().unwrap();
    let started = step(&report, "cleanup")["started_at"].as_f64().unwrap();
    assert!(steps.iter().all(|s| s["state"] == "succeeded"), "{report:#}");
    assert!(started >= ended("train") && started >= ended("load"), "{report:#}");
    assert_eq!(std::fs::read_to_string(&notify).unwrap(), "pipeline nightly finished: SUCCEEDED\n");
}

/// A `for:` step runs once per item (in `<task>/item-<i>/`), as many as the list given at run
/// time has; an item that fails fails the step, named.
#[test]
fn a_for_step_runs_each_item_and_a_failing_item_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let nb = copy_into(&repo().join("fixtures").join("fan_out_parameter.ipynb"), dir.path());
    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).args(["--param", "SIZES=[1, 2, 3, 4, 5]"]));
    assert_eq!(code, 0, "{stderr}");
    let report = only_run(&workdir(dir.path()));
    let run_dir = PathBuf::from(report["run_dir"].as_str().unwrap());
    let items = (0..).take_while(|k| run_dir.join("fit").join(format!("item-{k}")).is_dir()).count();
    assert_eq!(items, 5, "one run per item");
    assert_eq!(state(&report, "fit"), "succeeded");

    // `n = 0` makes the item divide by zero.
    let before = run_ids(&workdir(dir.path()));
    let (code, _, stderr) = outcome(nbkf_in(dir.path(), "run", &nb).args(["--param", "SIZES=[3, 0, 2]"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("item 1 of 3") && stderr.contains("ZeroDivisionError"), "{stderr}");
    let report = new_run(&workdir(dir.path()), &before);
    assert_eq!(state(&report, "fit"), "failed");
    assert_eq!(state(&report, "report"), "not_started");
}

/// `prev:` may name a `for:` step: the later step runs after every item.
#[test]
fn prev_may_name_a_for_step() {
    let dir = tempfile::tempdir().unwrap();
    let code = |tags: &[&str], source: &str| serde_json::json!({"cell_type": "code", "metadata": {"tags": tags}, "source": source, "outputs": [], "execution_count": null});
    let nb = serde_json::json!({
        "cells": [
            code(&["pipeline-parameters"], "XS = [1, 2, 3]"),
            code(&["step:square", "for:XS"], "squares = []\nfor x in XS:\n    squares.append(x * x)\n    print('item', x)"),
            code(&["step:after", "prev:square"], "print('after the items')"),
        ],
        "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
        "nbformat": 4, "nbformat_minor": 5,
    });
    let path = dir.path().join("prev_for.ipynb");
    std::fs::write(&path, nb.to_string()).unwrap();
    run(&mut nbkf_in(dir.path(), "run", &path), true);
    let report = only_run(&workdir(dir.path()));
    let (_, square_end) = interval(&report, "square");
    let (after_start, _) = interval(&report, "after");
    assert!(after_start >= square_end, "{report:#}");
    let out = run(&mut nbkf_in(dir.path(), "check", &path), true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(last_line(&stdout).starts_with('✓'), "{stdout}");
}

#[test]
fn a_failing_step_of_a_sub_notebook_names_that_notebook_cell_and_line() {
    let dir = tempdir();
    let cell = |tags: &[&str], source: &str, meta: Value| {
        let mut metadata = meta.as_object().cloned().unwrap_or_default();
        metadata.insert("tags".into(), serde_json::json!(tags));
        serde_json::json!({"cell_type": "code", "metadata": metadata, "source": source, "outputs": [], "execution_count": null})
    };
    let notebook = |cells: Vec<Value>| {
        serde_json::json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).to_string()
    };
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let sub =
        notebook(vec![cell(&["step:b"], "y = x * 2", Value::Null), cell(&["step:c"], "w = 1\nz = y / 0", Value::Null)]);
    std::fs::write(dir.path().join("sub/f.ipynb"), sub).unwrap();
    let caller = notebook(vec![
        cell(&["step:a"], "x = 1", Value::Null),
        cell(&["notebook:fail"], "", serde_json::json!({"notebook_path": "sub/f.ipynb"})),
        cell(&["step:d"], "print(z)", Value::Null),
    ]);
    let nb = dir.path().join("f.ipynb");
    std::fs::write(&nb, caller).unwrap();
    let (code, stdout, stderr) = outcome(&mut nbkf_in(dir.path(), "run", &nb));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("step `fail_c` failed at sub/f.ipynb, cell 2, line 2: ZeroDivisionError"), "{stderr}");
    assert!(stderr.contains("File \"<sub/f.ipynb, cell 2>\", line 2"), "{stderr}");
    assert!(!stderr.contains("<nbkf step runtime>"), "the runtime's own frames are left out: {stderr}");
    let report = only_run(&workdir(dir.path()));
    assert_eq!(state(&report, "fail-b"), "succeeded", "{report:#}");
    assert_eq!(state(&report, "d"), "not_started", "{report:#}");
}
