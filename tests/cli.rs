//! The `nbkf` command line: help, exit codes, messages, output files.

mod common;

use std::path::Path;

use common::{nbkf, run};

fn write(dir: &Path, name: &str, cells: &[(&[&str], &str)]) -> std::path::PathBuf {
    let cells: Vec<serde_json::Value> = cells
        .iter()
        .enumerate()
        .map(|(i, (tags, src))| serde_json::json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {"tags": tags}, "source": src, "outputs": [], "execution_count": null}))
        .collect();
    let nb = serde_json::json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells});
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&nb).unwrap()).unwrap();
    path
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_documents_commands_flags_and_exit_codes() {
    let out = run(nbkf().arg("--help"), true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes: 0 success; 1 the notebook has errors"), "{text}");
    let out = run(nbkf().args(["convert", "--help"]), true);
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--output", "--pipeline-name", "--image", "--experiment", "--packages", "--description", "--quiet"] {
        assert!(text.contains(flag), "{flag} missing from convert --help:\n{text}");
    }
}

#[test]
fn converts_beside_the_notebook_by_default_and_to_stdout_with_dash() {
    let dir = tempfile::tempdir().unwrap();
    let nb = write(dir.path(), "My Analysis.ipynb", &[(&["step:a"], "x = 1"), (&["step:b"], "y = x + 1")]);
    let out = run(nbkf().arg("convert").arg(&nb), true);
    assert!(stderr(&out).contains("2 steps"), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(dir.path().join("my-analysis.pipeline.yaml")).unwrap();
    assert!(yaml.starts_with("# PIPELINE DEFINITION\n# Name: my-analysis\n"), "{yaml}");
    let out = run(nbkf().arg("convert").arg(&nb).args(["-o", "-", "--pipeline-name", "renamed"]), true);
    assert!(String::from_utf8_lossy(&out.stdout).contains("name: renamed"));
}

#[test]
fn notebook_errors_exit_1_name_the_cell_and_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let nb = write(dir.path(), "bad.ipynb", &[(&["step:a"], "x = 1"), (&["step:b", "prev:aa"], "print(x)\nprint(y)")]);
    let target = dir.path().join("out.yaml");
    std::fs::write(&target, "old").unwrap();
    let out = run(nbkf().arg("convert").arg(&nb).arg("-o").arg(&target).arg("--color=never"), false);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("`y` is used but never defined"), "{err}");
    assert!(err.contains("cell 2 (id c1), line 2"), "{err}");
    assert!(err.contains("did you mean `prev:a`?"), "{err}");
    assert!(err.contains("has 2 errors; no pipeline was written"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old", "the old output must stay untouched");
}

#[test]
fn usage_and_io_problems_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(nbkf().args(["convert", "/no/such.ipynb"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read /no/such.ipynb"), "{}", stderr(&out));

    let broken = dir.path().join("broken.ipynb");
    std::fs::write(&broken, "{\n  \"cells\": [\n    {\"cell_type\": \"code\" \"source\": \"\"}\n  ]\n}").unwrap();
    let out = run(nbkf().arg("convert").arg(&broken), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 3, column"), "{}", stderr(&out));

    let nb = write(dir.path(), "ok.ipynb", &[(&[], "x = 1")]);
    let out = run(nbkf().arg("convert").arg(&nb).args(["--pipeline-name", "Bad_Name"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid pipeline name `Bad_Name`"), "{}", stderr(&out));

    let out = run(nbkf().arg("convert").arg(&nb).arg("--no-such-flag"), false);
    assert_eq!(out.status.code(), Some(2));

    let v3 = dir.path().join("v3.ipynb");
    std::fs::write(&v3, r#"{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}"#).unwrap();
    let out = run(nbkf().arg("convert").arg(&v3), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nbformat 3 is not supported"), "{}", stderr(&out));
}

#[test]
fn warnings_are_printed_and_quiet_hides_them() {
    let dir = tempfile::tempdir().unwrap();
    let nb = write(dir.path(), "w.ipynb", &[(&["step:a", "hide-input"], "x = 1")]);
    let out = run(nbkf().arg("convert").arg(&nb).arg("--color=never"), true);
    assert!(stderr(&out).contains("tag `hide-input` is not an nbkf tag"), "{}", stderr(&out));
    let out = run(nbkf().arg("convert").arg(&nb).arg("--quiet"), true);
    assert_eq!(stderr(&out), "");
}

#[test]
fn flags_win_over_notebook_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let nb = write(dir.path(), "m.ipynb", &[(&[], "x = 1")]);
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&nb).unwrap()).unwrap();
    json["metadata"]["kubeflow_notebook"] =
        serde_json::json!({"pipeline_name": "from-meta", "base_image": "meta/image:1"});
    std::fs::write(&nb, json.to_string()).unwrap();
    let out = run(nbkf().arg("convert").arg(&nb).args(["-o", "-"]), true);
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("name: from-meta") && yaml.contains("image: meta/image:1"), "{yaml}");
    let out = run(nbkf().arg("convert").arg(&nb).args(["-o", "-", "--experiment", "exp-1"]), true);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\n# Experiment: exp-1\n"));
    let out =
        run(nbkf().arg("convert").arg(&nb).args(["-o", "-", "--image", "cli/image:2", "--packages", "image"]), true);
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("image: cli/image:2"), "{yaml}");
    assert!(!yaml.contains("pip install"), "--packages image must drop the pip preamble");
}

#[cfg(unix)]
#[test]
fn output_files_get_the_permissions_of_any_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let nb = write(dir.path(), "nb.ipynb", &[(&["step:a"], "x = 1")]);
    let yaml = dir.path().join("nb.yaml");
    run(nbkf().arg("convert").arg(&nb).arg("-o").arg(&yaml), true);
    // What this process's umask gives any new file.
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    let expected = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
    assert_eq!(std::fs::metadata(&yaml).unwrap().permissions().mode() & 0o777, expected);
    // A file that exists keeps its mode.
    std::fs::set_permissions(&yaml, std::fs::Permissions::from_mode(0o640)).unwrap();
    run(nbkf().arg("convert").arg(&nb).arg("-o").arg(&yaml), true);
    assert_eq!(std::fs::metadata(&yaml).unwrap().permissions().mode() & 0o777, 0o640);
}

#[test]
fn help_says_how_untagged_notebooks_are_split_and_names_module_path() {
    let out = run(nbkf().args(["convert", "--help"]), true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("becomes one step"), "{text}");
    assert!(text.contains("split automatically") && text.contains("--module-path"), "{text}");
}

#[test]
fn local_modules_too_large_to_carry_are_an_error_that_suggests_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let nb = write(dir.path(), "nb.ipynb", &[(&["step:a"], "import big_helpers\nx = big_helpers.X")]);
    let big: String = (0..20_000).map(|i| format!("VALUE_{i} = {i}\n")).collect::<String>() + "X = 1\n";
    std::fs::write(dir.path().join("big_helpers.py"), big).unwrap();
    let out = run(nbkf().arg("convert").arg(&nb).args(["-o", "-", "--color", "never"]), false);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("local-module") && err.contains("big_helpers") && err.contains("--packages image"), "{err}");
    // With the modules in the image, nothing is carried and the notebook converts.
    let out = run(nbkf().arg("convert").arg(&nb).args(["-o", "-", "--packages", "image", "--color", "never"]), true);
    assert!(stderr(&out).contains("step image must contain it"), "{}", stderr(&out));
    // A --module-path that is not a folder is a usage error.
    let out = run(nbkf().arg("convert").arg(&nb).args(["-o", "-", "--module-path", "/no/such/folder"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--module-path /no/such/folder"), "{}", stderr(&out));
}

/// Output to a device is written, not replaced by a file: `-o /dev/null` (run as root, an
/// atomic rename over it would turn /dev/null into a regular file for every program).
#[cfg(unix)]
#[test]
fn output_to_a_device_leaves_the_device() {
    use std::os::unix::fs::FileTypeExt;
    let null = std::path::Path::new("/dev/null");
    assert!(std::fs::metadata(null).unwrap().file_type().is_char_device());
    let nb = common::repo().join("fixtures/steps_and_continuation.ipynb");
    common::run(common::nbkf().arg("convert").arg(&nb).args(["-o", "/dev/null", "-q"]), true);
    assert!(std::fs::symlink_metadata(null).unwrap().file_type().is_char_device(), "/dev/null was replaced");
}

#[test]
fn notebooks_that_run_each_other_are_refused_naming_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::nbkf()
        .arg("convert")
        .arg(common::repo().join("fixtures/composed/cycle_a.ipynb"))
        .arg("-o")
        .arg(dir.path().join("p.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("notebooks call each other in a cycle: cycle_a.ipynb → cycle_b.ipynb → cycle_a.ipynb"),
        "{err}"
    );
    assert!(err.contains("at cycle_b.ipynb, cell 3"), "{err}");
    assert!(!dir.path().join("p.yaml").exists(), "nothing is written");
}
