//! `nbkf migrate` on a tree of real notebooks (../shared/corpus) and deliberately broken
//! files: every good one converted and valid, every bad one recorded with a reason and
//! nothing written for it, the tree mirrored, skipped folders skipped, the report valid
//! against its schema; `--resume`, `--tag`, `--graph`, `--format k8s`, `--check`,
//! `--timeout`, several inputs, exit codes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{nbkf, python, shared};
use serde_json::{json, Value};

/// A notebook with these (tags, source) code cells.
fn notebook(cells: &[(&[&str], &str)]) -> String {
    let cells: Vec<Value> = cells
        .iter()
        .enumerate()
        .map(|(i, (tags, source))| {
            json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {"tags": tags}, "source": source,
                   "outputs": [], "execution_count": null})
        })
        .collect();
    json!({"nbformat": 4, "nbformat_minor": 5, "cells": cells,
           "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}})
    .to_string()
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn corpus_notebooks() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared().join("corpus"))
        .expect("../shared/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 48);
    files
}

/// `nbkf migrate ARGS` with standard error piped (plain lines, no bar).
fn migrate(args: &[&Path], extra: &[&str]) -> Output {
    nbkf().arg("migrate").args(args).args(extra).output().unwrap()
}

fn report(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("report.json is not JSON: {e}\n{text}"))
}

/// Checks the report against `schemas/migrate-report-v1.json` (with the Python test
/// environment's `jsonschema`).
fn assert_valid_report(out: &Path) {
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.Draft202012Validator.check_schema(schema)\n\
                  jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))\n\
                  print('valid')\n";
    let result = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(common::repo().join("schemas/migrate-report-v1.json"))
        .arg(out.join("report.json"))
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "report.json does not follow its schema:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Records by source.
fn records(report: &Value) -> BTreeMap<String, Value> {
    report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["source"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_tree_of_real_and_broken_notebooks() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    for nb in corpus_notebooks() {
        std::fs::create_dir_all(tree.join("corpus")).unwrap();
        std::fs::copy(&nb, tree.join("corpus").join(nb.file_name().unwrap())).unwrap();
    }
    let good = notebook(&[(&["step:load"], "x = [1, 2]\n"), (&["step:total"], "print(sum(x))\n")]);
    write(&tree.join("sub/dir/nb.ipynb"), &good);
    write(&tree.join("broken/truncated.ipynb"), &good[..good.len() / 2]);
    write(&tree.join("broken/garbage.ipynb"), [0u8, 159, 146, 150, 255, 1, 2, 3]);
    write(&tree.join("broken/empty.ipynb"), "");
    write(&tree.join("broken/syntax.ipynb"), notebook(&[(&[], "def f(:\n    pass\n")]));
    write(&tree.join("broken/bad_name.ipynb"), notebook(&[(&["step:a b"], "x = 1\n"), (&["step:c"], "print(x)\n")]));
    // Two spellings of one step name: joined, with a warning.
    write(&tree.join("collide.ipynb"), notebook(&[(&["step:a_b"], "x = 1\n"), (&["step:a-b"], "print(x)\n")]));
    // Skipped: checkpoints, hidden folders, what .gitignore ignores (no git repository here).
    write(&tree.join(".ipynb_checkpoints/nb-checkpoint.ipynb"), &good);
    write(&tree.join("sub/.hidden/h.ipynb"), &good);
    write(&tree.join("ignored/i.ipynb"), &good);
    write(&tree.join(".gitignore"), "ignored/\n");
    // A symbolic link back to its parent: a loop.
    std::os::unix::fs::symlink("..", tree.join("sub/dir/loop")).unwrap();
    // A file without read permission.
    write(&tree.join("locked.ipynb"), &good);
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tree.join("locked.ipynb"), std::fs::Permissions::from_mode(0o000)).unwrap();
    }

    let out = dir.path().join("out");
    let result = migrate(&[&tree], &["--out", out.to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(result.status.code(), Some(1), "some notebooks need attention\n{}", stderr(&result));
    assert_valid_report(&out);
    let report = report(&out);
    let by_source = records(&report);

    // Every corpus notebook: converted exactly when the library converts it, refused with a
    // reason and its error diagnostics otherwise; output written only when converted.
    let mut yamls = Vec::new();
    for nb in corpus_notebooks() {
        let name = nb.file_name().unwrap().to_string_lossy().into_owned();
        let source = format!("corpus/{name}");
        let record = by_source.get(&source).unwrap_or_else(|| panic!("no record of {source}"));
        let conversion = nbkf::convert_file(&nb, &nbkf::ConvertOptions::default()).unwrap();
        let yaml = out.join("corpus").join(name.replace(".ipynb", ".pipeline.yaml"));
        if conversion.has_errors() {
            assert_eq!(record["outcome"], "refused", "{source}");
            assert!(record["message"].as_str().is_some_and(|m| !m.is_empty()), "{source}: {record}");
            assert!(record["diagnostics"].as_array().unwrap().iter().any(|d| d["severity"] == "error"), "{source}");
            assert!(!yaml.exists(), "{source} was refused but {} was written", yaml.display());
        } else {
            let expected = if conversion.diagnostics.is_empty() { "converted" } else { "converted_with_warnings" };
            assert_eq!(record["outcome"], expected, "{source}");
            assert_eq!(record["steps"].as_array().unwrap().len(), conversion.plan.steps.len(), "{source}");
            assert_eq!(record["outputs"], json!([format!("corpus/{}", name.replace(".ipynb", ".pipeline.yaml"))]));
            assert!(yaml.is_file(), "{}", yaml.display());
            yamls.push(yaml);
        }
        assert_eq!(record["input"], tree.to_str().unwrap());
        assert_eq!(record["content_sha256"].as_str().unwrap().len(), 64);
    }
    assert!(yamls.len() >= 40, "{} corpus notebooks converted", yamls.len());

    // The tree is mirrored, and the good notebook's record describes its plan.
    let nested = &by_source["sub/dir/nb.ipynb"];
    assert_eq!(nested["outcome"], "converted");
    assert_eq!(nested["steps"], json!(["load", "total"]));
    assert_eq!(nested["edges"], json!([{"from": "load", "to": "total", "variables": ["x"]}]));
    assert!(out.join("sub/dir/nb.pipeline.yaml").is_file());
    yamls.push(out.join("sub/dir/nb.pipeline.yaml"));
    common::validate_ir(&yamls);

    // Every broken notebook: recorded with a reason, nothing written.
    for (source, outcome, needle) in [
        ("broken/truncated.ipynb", "invalid", "not valid notebook JSON"),
        ("broken/garbage.ipynb", "invalid", "not valid notebook JSON"),
        ("broken/empty.ipynb", "invalid", "empty"),
        ("broken/syntax.ipynb", "refused", "invalid Python syntax"),
        ("broken/bad_name.ipynb", "refused", "invalid step name"),
    ] {
        let record = by_source.get(source).unwrap_or_else(|| panic!("no record of {source}"));
        assert_eq!(record["outcome"], outcome, "{source}: {record}");
        let message = record["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{source}: `{message}` should say `{needle}`");
        assert_eq!(record["outputs"], json!([]));
        let stem = source.trim_end_matches(".ipynb");
        assert!(!out.join(format!("{stem}.pipeline.yaml")).exists(), "something was written for {source}");
    }
    assert_eq!(by_source["broken/syntax.ipynb"]["diagnostics"][0]["code"], "python");
    assert_eq!(by_source["broken/syntax.ipynb"]["diagnostics"][0]["cell"], 1);
    assert_eq!(by_source["broken/syntax.ipynb"]["diagnostics"][0]["cell_id"], "c0");
    assert!(!out.join("broken").exists(), "no folder is made for notebooks that did not convert");
    let collide = &by_source["collide.ipynb"];
    assert_eq!(collide["outcome"], "converted_with_warnings");
    assert!(collide["diagnostics"].as_array().unwrap().iter().any(|d| d["code"] == "step-name"), "{collide}");

    // The loop is recorded, not fatal; the unreadable file too (root reads any file: then
    // it converts, and that is what is asserted).
    let loops: Vec<&Value> =
        by_source.values().filter(|r| r["message"].as_str().is_some_and(|m| m.contains("loop"))).collect();
    assert_eq!(loops.len(), 1, "{loops:?}");
    assert_eq!(loops[0]["outcome"], "unreadable");
    assert!(loops[0]["source"].as_str().unwrap().starts_with("sub/dir/loop"), "{}", loops[0]);
    let locked = &by_source["locked.ipynb"];
    if is_root() {
        eprintln!("note: running as root, which reads a mode-000 file: locked.ipynb is expected to convert");
        assert_eq!(locked["outcome"], "converted");
    } else {
        assert_eq!(locked["outcome"], "unreadable");
        assert!(locked["message"].as_str().unwrap().contains("cannot read"), "{locked}");
    }

    // Skipped folders have no records.
    for skipped in [".ipynb_checkpoints", ".hidden", "ignored/"] {
        assert!(!by_source.keys().any(|s| s.contains(skipped)), "{skipped} was walked: {:?}", by_source.keys());
    }

    // Totals agree with the records.
    let totals = &report["totals"];
    let count =
        |outcomes: &[&str]| by_source.values().filter(|r| outcomes.contains(&r["outcome"].as_str().unwrap())).count();
    assert_eq!(totals["notebooks"], by_source.len());
    assert_eq!(totals["converted"], count(&["converted", "converted_with_warnings"]));
    assert_eq!(totals["converted_with_warnings"], count(&["converted_with_warnings"]));
    assert_eq!(totals["refused"], count(&["refused"]));
    assert_eq!(totals["invalid"], 3);
    assert_eq!(totals["resumed"], 0);
    let common = report["common_diagnostics"].as_array().unwrap();
    assert!(common.iter().any(|c| c["code"] == "step-name" && c["notebooks"] == 1), "{common:?}");

    // Piped: one plain line per notebook, its outcome and path; then a summary.
    let text = stderr(&result);
    for (source, record) in &by_source {
        let outcome = record["outcome"].as_str().unwrap();
        assert!(
            text.lines().any(|l| l.starts_with(outcome) && l.ends_with(source.as_str())),
            "no line for {source}:\n{text}"
        );
    }
    assert!(text.contains(&format!("migrated {} notebooks", by_source.len())), "{text}");
    assert!(out.join("report.html").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// A small folder of fixtures that all convert.
fn fixtures_tree(dir: &Path, names: &[&str]) -> PathBuf {
    let tree = dir.join("notebooks");
    for (i, name) in names.iter().enumerate() {
        let to = if i % 2 == 0 { tree.join(name) } else { tree.join("nested").join(name) };
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(common::repo().join("fixtures").join(name), to).unwrap();
    }
    tree
}

const FIXTURES: &[&str] = &["parameters.ipynb", "skip_cells.ipynb", "legacy_block.ipynb", "untagged.ipynb"];

#[test]
fn resume_redoes_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let tree = fixtures_tree(dir.path(), FIXTURES);
    let out = dir.path().join("out");
    let first = migrate(&[&tree], &["--out", out.to_str().unwrap()]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let before = records(&report(&out));
    assert_eq!(before.len(), FIXTURES.len());
    let yaml = out.join("parameters.pipeline.yaml");
    let modified = std::fs::metadata(&yaml).unwrap().modified().unwrap();

    // Nothing changed: nothing converted again.
    let second = migrate(&[&tree], &["--out", out.to_str().unwrap(), "--resume"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_valid_report(&out);
    let again = report(&out);
    assert_eq!(again["totals"]["resumed"], FIXTURES.len());
    for (source, record) in records(&again) {
        assert_eq!(record["resumed"], true, "{source}");
        let mut old = before[&source].clone();
        old["resumed"] = json!(true);
        assert_eq!(record, old, "{source}: the earlier record is carried over as it was");
    }
    assert_eq!(std::fs::metadata(&yaml).unwrap().modified().unwrap(), modified, "the pipeline was written again");

    // One notebook's content changed (a comment), one output removed: exactly those redone.
    let changed = tree.join("nested/skip_cells.ipynb");
    let mut nb: Value = serde_json::from_str(&std::fs::read_to_string(&changed).unwrap()).unwrap();
    let cell = nb["cells"].as_array_mut().unwrap().iter_mut().find(|c| c["cell_type"] == "code").unwrap();
    let source = match &cell["source"] {
        Value::Array(lines) => lines.iter().map(|l| l.as_str().unwrap()).collect::<String>(),
        other => other.as_str().unwrap().to_string(),
    };
    cell["source"] = json!(format!("# changed\n{source}"));
    std::fs::write(&changed, nb.to_string()).unwrap();
    std::fs::remove_file(out.join("nested/untagged.pipeline.yaml")).unwrap();
    let third = migrate(&[&tree], &["--out", out.to_str().unwrap(), "--resume"]);
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let after = records(&report(&out));
    let redone: Vec<&String> = after.iter().filter(|(_, r)| r["resumed"] == false).map(|(s, _)| s).collect();
    assert_eq!(redone, ["nested/skip_cells.ipynb", "nested/untagged.ipynb"]);
    assert_ne!(after["nested/skip_cells.ipynb"]["content_sha256"], before["nested/skip_cells.ipynb"]["content_sha256"]);
    assert!(out.join("nested/untagged.pipeline.yaml").is_file());

    // Other settings: nothing is carried over.
    let other = migrate(&[&tree], &["--out", out.to_str().unwrap(), "--resume", "--split", "cells"]);
    assert_eq!(other.status.code(), Some(0), "{}", stderr(&other));
    assert_eq!(report(&out)["totals"]["resumed"], 0);
}

#[test]
fn tag_graph_and_k8s_outputs_go_beside_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let tree = fixtures_tree(dir.path(), &["no_headings.ipynb", "legacy_block.ipynb"]);
    let out = tree.join("out");
    let args = ["--out", out.to_str().unwrap(), "--tag", "--graph", "--format", "k8s"];
    let result = migrate(&[&tree], &args);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    assert_valid_report(&out);
    let tagged = std::fs::read_to_string(out.join("no_headings.ipynb")).unwrap();
    let tagged: Value = serde_json::from_str(&tagged).unwrap();
    let tags: Vec<&str> = tagged["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["metadata"]["tags"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    assert!(tags.iter().any(|t| t.starts_with("step:")), "the tagged notebook has step tags: {tags:?}");
    let svg = std::fs::read_to_string(out.join("nested/legacy_block.svg")).unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(80)]);
    let k8s = std::fs::read_to_string(out.join("nested/legacy_block.k8s.yaml")).unwrap();
    assert!(k8s.contains("kind: Pipeline") && k8s.contains("kind: PipelineVersion"), "{k8s}");
    assert!(!out.join("no_headings.pipeline.yaml").exists(), "--format k8s writes manifests only");
    // The output folder is inside the input: a second run does not walk it (the tagged
    // notebooks there would be found otherwise).
    let again = migrate(&[&tree], &args);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(report(&out)["totals"]["notebooks"], 2);
}

#[test]
fn several_inputs_are_mirrored_under_their_own_names() {
    let dir = tempfile::tempdir().unwrap();
    let good = notebook(&[(&["step:a"], "x = 1\n"), (&["step:b"], "print(x)\n")]);
    write(&dir.path().join("team1/nb.ipynb"), &good);
    write(&dir.path().join("team2/nb.ipynb"), &good);
    write(&dir.path().join("single.ipynb"), &good);
    let out = dir.path().join("out");
    let inputs = [dir.path().join("team1"), dir.path().join("team2"), dir.path().join("single.ipynb")];
    let result = migrate(&[&inputs[0], &inputs[1], &inputs[2]], &["--out", out.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    for path in ["team1/nb.pipeline.yaml", "team2/nb.pipeline.yaml", "single/single.pipeline.yaml"] {
        assert!(out.join(path).is_file(), "{path} missing");
    }
    assert_eq!(report(&out)["inputs"].as_array().unwrap().len(), 3);
}

#[test]
fn exit_codes_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let none = migrate(&[&dir.path().join("empty")], &["--out", out.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("no notebooks (*.ipynb) found under"), "{}", stderr(&none));
    assert!(!out.join("report.json").exists());

    let missing = migrate(&[&dir.path().join("nowhere")], &["--out", out.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no such file or folder"), "{}", stderr(&missing));

    write(&dir.path().join("in/nb.ipynb"), notebook(&[(&[], "print(1)\n")]));
    write(&dir.path().join("a-file"), "x");
    let file_out = migrate(&[&dir.path().join("in")], &["--out", dir.path().join("a-file").to_str().unwrap()]);
    assert_eq!(file_out.status.code(), Some(2));
    assert!(stderr(&file_out).contains("is a file"), "{}", stderr(&file_out));
    let same = migrate(&[&dir.path().join("in")], &["--out", dir.path().join("in").to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(2));
    assert!(stderr(&same).contains("is an input folder itself"), "{}", stderr(&same));
    let zero = migrate(&[&dir.path().join("in")], &["--out", out.to_str().unwrap(), "--jobs", "0"]);
    assert_eq!(zero.status.code(), Some(2));

    let ok = migrate(&[&dir.path().join("in")], &["--out", out.to_str().unwrap(), "-q"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert_eq!(stderr(&ok), "", "quiet prints nothing when all is well");
}

#[test]
fn a_conversion_past_the_time_limit_is_recorded_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let big = corpus_notebooks().into_iter().max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap();
    let tree = dir.path().join("in");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::copy(&big, tree.join("big.ipynb")).unwrap();
    let out = dir.path().join("out");
    let result = migrate(&[&tree], &["--out", out.to_str().unwrap(), "--timeout", "1ms"]);
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
    assert_valid_report(&out);
    let record = &report(&out)["records"][0];
    assert_eq!(record["outcome"], "timed_out", "{record}");
    assert!(record["message"].as_str().unwrap().contains("--timeout"), "{record}");
    assert!(!out.join("big.pipeline.yaml").exists());
}

#[test]
fn check_runs_nbkf_check_on_each_converted_notebook() {
    let dir = tempfile::tempdir().unwrap();
    let tree = fixtures_tree(dir.path(), &["parameters.ipynb", "skip_cells.ipynb"]);
    let out = dir.path().join("out");
    let py = python();
    let base = ["--out", out.to_str().unwrap(), "--check", "--python", py.to_str().unwrap()];
    let result = migrate(&[&tree], &base);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    assert_valid_report(&out);
    let report = report(&out);
    for (source, record) in records(&report) {
        assert_eq!(record["check"]["outcome"], "passed", "{source}: {record}");
    }
    assert_eq!(report["totals"]["check_passed"], 2);
    assert!(!out.join(".nbkf-check").exists(), "the runs of passed checks are removed");

    // A check past its time limit is stopped and recorded.
    let slow = migrate(&[&tree.join("parameters.ipynb")], &[&base[..], &["--check-timeout", "50ms"]].concat());
    assert_eq!(slow.status.code(), Some(1), "{}", stderr(&slow));
    let record = &self::report(&out)["records"][0];
    assert_eq!(record["check"]["outcome"], "timed_out", "{record}");
}

#[test]
fn a_check_that_finds_differences_is_recorded_with_them_and_keeps_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("in");
    std::fs::create_dir_all(&tree).unwrap();
    // A clock value passed between steps: the pipeline's run reads another time.
    let cell = |id: &str, step: &str, source: &str| {
        serde_json::json!({"cell_type": "code", "id": id, "metadata": {"tags": [format!("step:{step}")]},
                           "source": source, "outputs": [], "execution_count": null})
    };
    let nb = serde_json::json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        cell("a", "make", "import time\nstamp = time.time_ns()"), cell("b", "use", "later = stamp * 2")]});
    std::fs::write(tree.join("clock.ipynb"), nb.to_string()).unwrap();
    let out = dir.path().join("out");
    let py = python();
    let result = migrate(&[&tree], &["--out", out.to_str().unwrap(), "--check", "--python", py.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(1), "a check that did not pass fails the batch: {}", stderr(&result));
    assert_valid_report(&out);
    let report = report(&out);
    let record = &report["records"][0];
    assert_eq!(record["outcome"], "converted", "the notebook itself converts: {record}");
    assert_eq!(record["check"]["outcome"], "differs", "{record}");
    let message = record["check"]["message"].as_str().unwrap();
    assert!(message.contains("stamp"), "the differing value is named: {message}");
    assert_eq!(report["totals"]["check_failed"], 1, "{report:#}");
    // The run is kept for a look: its folder is named in the message and exists.
    let kept = message.rsplit("(run kept in ").next().unwrap().trim_end_matches(')');
    assert!(std::path::Path::new(kept).is_dir(), "{message}");
}
