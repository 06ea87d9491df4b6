//! nbkf's JupyterLab extension (`jupyterlab/`) in a real JupyterLab (pinned in
//! `tests/jupyterlab-requirements.txt`, the extension built and installed there by
//! `scripts/jupyterlab-build`) on loopback, driven in headless system Chromium by Playwright
//! (`tests/support/jupyterlab_test.py`): the proxy's authentication, the Pipeline panel (steps,
//! labelled edges), cell badges, a diagnostic at its line, Tag notebook and its undo, the
//! settings form, Compile, Submit without a cluster, Run locally to every step succeeded, Check,
//! and nbkf serve stopping with JupyterLab. Screenshots are kept in
//! `<target>/jupyterlab-screenshots/`.
//!
//! Without the JupyterLab environment (`NBKF_TEST_JUPYTER`, set by `scripts/test`) or Chromium,
//! the tests fail when `CI` or `NBKF_REQUIRE_JUPYTERLAB` is set; elsewhere they say so and
//! return.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{chromium, fixture, python, repo, screenshots};
use serde_json::json;

/// The `jupyter` of the environment the extension is installed in.
fn jupyter() -> Option<PathBuf> {
    match std::env::var_os("NBKF_TEST_JUPYTER").map(PathBuf::from) {
        Some(path) if path.exists() => Some(path),
        found => {
            let message = format!(
                "no JupyterLab with nbkf's extension ({}): run `scripts/test`, which builds the extension \
                 and installs it into its JupyterLab environment",
                found.map_or("NBKF_TEST_JUPYTER is not set".to_string(), |p| format!("{} is missing", p.display()))
            );
            if std::env::var_os("CI").is_some() || std::env::var_os("NBKF_REQUIRE_JUPYTERLAB").is_some() {
                panic!("{message}");
            }
            eprintln!("skipped: {message}");
            None
        }
    }
}

/// A notebook of two tagged code cells.
fn two_steps(first: (&str, &str), second: (&str, &str)) -> String {
    let cell = |id: &str, (step, source): (&str, &str)| {
        json!({"cell_type": "code", "id": id, "metadata": {"tags": [format!("step:{step}")]}, "source": source,
               "outputs": [], "execution_count": null})
    };
    json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [cell("first", first), cell("second", second)]
    })
    .to_string()
}

fn driver(jupyter: &Path, root: &Path, shots: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(python())
        .arg(repo().join("tests/support/jupyterlab_test.py"))
        .arg("--jupyter")
        .arg(jupyter)
        .arg("--nbkf")
        .arg(env!("CARGO_BIN_EXE_nbkf"))
        .arg("--python")
        .arg(python())
        .arg("--root")
        .arg(root)
        .arg("--screenshots")
        .arg(shots)
        .args(extra)
        .output()
        .expect("cannot run tests/support/jupyterlab_test.py");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_extension_shows_the_pipeline_beside_the_notebook_and_runs_it() {
    let Some(chromium) = chromium() else { return };
    let Some(jupyter) = jupyter() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(fixture("steps_and_continuation.ipynb"), root.join("steps_and_continuation.ipynb")).unwrap();
    std::fs::copy(fixture("headings_mixed_levels.ipynb"), root.join("headings.ipynb")).unwrap();
    std::fs::copy(fixture("parameters.ipynb"), root.join("parameters.ipynb")).unwrap();
    std::fs::copy(fixture("composed_two_levels.ipynb"), root.join("composed_two_levels.ipynb")).unwrap();
    std::fs::create_dir(root.join("composed")).unwrap();
    std::fs::copy(fixture("composed/prepare.ipynb"), root.join("composed/prepare.ipynb")).unwrap();
    // The second cell reads, on its third line, a name nothing defines.
    let broken = two_steps(("load", "x = 1"), ("use", "y = x + 1\nz = y * 2\nw = undefined_total + z"));
    std::fs::write(root.join("broken.ipynb"), broken).unwrap();
    // Step `divide` fails on line 2 of cell 2.
    let failing = two_steps(
        ("make", "values = [1, 2, 0]"),
        ("divide", "total = sum(values)\nratios = [total / v for v in values]"),
    );
    std::fs::write(root.join("failing.ipynb"), failing).unwrap();
    // A clock value passed between steps: the pipeline's differs from the notebook's.
    let differs = two_steps(("make", "import time\nstamp = time.time_ns()"), ("use", "later = stamp * 2"));
    std::fs::write(root.join("differs.ipynb"), differs).unwrap();
    let shots = screenshots("jupyterlab-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let chromium = chromium.to_string_lossy().into_owned();
    let (ok, text) = driver(&jupyter, &root, &shots, &["--chromium", &chromium]);
    println!("{text}\nscreenshots: {}", shots.display());
    assert!(ok, "the JupyterLab test failed:\n{text}\nscreenshots: {}", shots.display());
    assert!(text.contains("jupyterlab: ok"), "{text}");
    for shot in ["panel-and-badges.png", "diagnostic-at-line.png", "tagged.png", "run-succeeded.png", "run-failed.png"]
    {
        assert!(shots.join(shot).is_file(), "no screenshot {shot} in {}", shots.display());
    }
}

#[test]
fn without_nbkf_the_proxy_says_what_is_missing_and_what_to_do() {
    let Some(jupyter) = jupyter() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let (ok, text) = driver(&jupyter, &root, &dir.path().join("shots"), &["--missing-nbkf"]);
    println!("{text}");
    assert!(ok, "the JupyterLab test failed:\n{text}");
    assert!(text.contains("jupyterlab: ok"), "{text}");
}
