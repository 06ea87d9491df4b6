//! Shared helpers of the integration tests: where the Python test environment and the
//! shared oracles are, and how to run them.
#![allow(dead_code)]

pub mod kfp_real;
pub mod kube;
pub mod standin;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` (DESIGN.md, oracles, corpus), or `$NBKF_SHARED`.
pub fn shared() -> PathBuf {
    std::env::var_os("NBKF_SHARED").map(PathBuf::from).unwrap_or_else(|| repo().join("..").join("shared"))
}

/// The Python of the test environment: `$NBKF_TEST_PYTHON` (`scripts/test` creates the
/// environment and sets it), else `.venv-test/bin/python` in the repository.
pub fn python() -> PathBuf {
    let p = std::env::var_os("NBKF_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv-test").join("bin").join("python"));
    assert!(
        p.exists(),
        "the Python test environment is missing at {}: run `scripts/test` (it creates it and sets NBKF_TEST_PYTHON)",
        p.display()
    );
    p
}

/// The `nbkf` binary built for these tests.
pub fn nbkf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nbkf"))
}

/// Runs a command and returns its output, with stdout and stderr in the panic message
/// when it does not exit as expected.
pub fn run(cmd: &mut Command, expect_success: bool) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if out.status.success() != expect_success {
        panic!(
            "{cmd:?} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Converts a notebook with the real binary into `out_dir`, returning the YAML path.
pub fn convert(notebook: &Path, out_dir: &Path, extra: &[&str]) -> PathBuf {
    let yaml = out_dir.join(format!("{}.pipeline.yaml", notebook.file_stem().unwrap().to_string_lossy()));
    run(nbkf().arg("convert").arg(notebook).arg("-o").arg(&yaml).args(extra), true);
    yaml
}

/// Checks IR files with the shared strict validator (`validate_ir.py`).
pub fn validate_ir(files: &[PathBuf]) {
    let out = run(Command::new(python()).arg(shared().join("oracles/validate_ir.py")).args(files), true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().filter(|l| l.starts_with("OK: ")).count(), files.len(), "{text}");
}

/// Runs the pipeline under the KFP SDK's local runner and compares every routed value and
/// metric with a one-process IPython run of the notebook (`tests/support/equivalence.py`).
/// Returns the JSON report.
pub fn equivalence(notebook: &Path, yaml: &Path, params: &[&str]) -> serde_json::Value {
    equivalence_with(notebook, yaml, params, None)
}

/// The local package index of the pip-preamble tests (`scripts/test` downloads it):
/// `$NBKF_WHEELHOUSE`.
pub fn wheelhouse() -> PathBuf {
    let w = std::env::var_os("NBKF_WHEELHOUSE").map(PathBuf::from).unwrap_or_default();
    assert!(
        w.join("kfp-2.17.3-py3-none-any.whl").exists(),
        "the local package index is missing at `{}`: run `scripts/test` (it downloads tests/wheelhouse.txt into ~/.cache/nbkf and sets NBKF_WHEELHOUSE)",
        w.display()
    );
    w
}

/// As [`equivalence`]; with a wheelhouse, every step's pip preamble installs its packages
/// into a new environment from that folder only (`tests/support/pip_local_run.py`).
pub fn equivalence_with(notebook: &Path, yaml: &Path, params: &[&str], wheelhouse: Option<&Path>) -> serde_json::Value {
    let root = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("tests/support/equivalence.py")).arg(notebook).arg(yaml).arg("--root").arg(root.path());
    if let Some(w) = wheelhouse {
        cmd.arg("--wheelhouse").arg(w);
    }
    let out = run(cmd.args(params).env("NBKF_SHARED", shared()), true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json =
        stdout.split("=== nbkf equivalence report ===").nth(1).unwrap_or_else(|| panic!("no report in:\n{stdout}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad report ({e}):\n{stdout}"))
}

/// A copy of a notebook that seeds `random` (and `numpy.random`) in a new first `imports`
/// cell, so two runs draw the same numbers (`tests/support/seed_notebook.py`).
pub fn seeded_copy(notebook: &Path, dir: &Path) -> PathBuf {
    let out = dir.join(notebook.file_name().unwrap());
    run(Command::new(python()).arg(repo().join("tests/support/seed_notebook.py")).arg(notebook).arg(&out), true);
    out
}

/// The notebooks (`*.ipynb`) directly in a folder, sorted.
pub fn notebooks_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    files.sort();
    files
}

/// A notebook of `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

/// The system Chromium (`$NBKF_CHROMIUM`, else `/usr/bin/chromium`) for a browser test,
/// with Playwright checked in the Python test environment. `None` (the test is skipped,
/// saying so) when Chromium is missing, unless `CI` or `NBKF_REQUIRE_CHROMIUM` is set: then
/// it panics.
pub fn chromium() -> Option<PathBuf> {
    let path =
        std::env::var_os("NBKF_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !path.exists() {
        let message = "Chromium is missing at /usr/bin/chromium (or $NBKF_CHROMIUM): install Debian's `chromium` (scripts/test does)";
        if std::env::var_os("CI").is_some() || std::env::var_os("NBKF_REQUIRE_CHROMIUM").is_some() {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
        return None;
    }
    let python = python();
    let has_playwright =
        Command::new(&python).args(["-c", "import playwright"]).output().is_ok_and(|o| o.status.success());
    assert!(
        has_playwright,
        "Playwright is missing from the Python test environment {}: run `scripts/test` (tests/requirements.txt lists it)",
        python.display()
    );
    Some(path)
}

/// Where a browser test keeps its screenshots: `<name>/` in the target folder.
pub fn screenshots(name: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join(name)
}

/// The environment variables through which the machine could reach a cluster (KFP
/// settings, the profile, an in-cluster host, proxies): tests that give the connection as
/// flags remove them.
pub const CONNECTION_VARIABLES: &[&str] = &[
    "KF_PIPELINES_ENDPOINT",
    "KF_PIPELINES_TOKEN",
    "KF_PIPELINES_SA_TOKEN_PATH",
    "KF_PIPELINES_NAMESPACE",
    "KF_PIPELINES_USERID",
    "KF_PIPELINES_COOKIE",
    "KF_PIPELINES_UI_ENDPOINT",
    "KF_PIPELINES_CA_CERT",
    "NBKF_PROFILE",
    "KUBERNETES_SERVICE_HOST",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// nbkf with its configuration file at `config` and none of [`CONNECTION_VARIABLES`].
pub fn nbkf_isolated(config: &Path) -> Command {
    let mut cmd = nbkf();
    cmd.env("NBKF_CONFIG", config);
    for var in CONNECTION_VARIABLES {
        cmd.env_remove(var);
    }
    cmd
}
