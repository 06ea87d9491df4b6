use std::path::Path;

use serde_json::{json, Value};

use crate::convert::{convert_file, ConvertOptions};
use crate::diagnostics::Diagnostic;

/// A notebook file: cells as (tags, source, cell metadata).
fn write(dir: &Path, name: &str, cells: &[(&[&str], &str, Value)]) {
    let cells: Vec<Value> = cells
        .iter()
        .map(|(tags, source, meta)| {
            let mut metadata = meta.as_object().cloned().unwrap_or_default();
            metadata.insert("tags".into(), json!(tags));
            json!({"cell_type": "code", "metadata": metadata, "source": source, "outputs": [], "execution_count": null})
        })
        .collect();
    let nb = json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, nb.to_string()).unwrap();
}

fn call(path: &str) -> Value {
    json!({ "notebook_path": path })
}

fn none() -> Value {
    json!({})
}

/// The errors converting `name` in `dir`.
fn errors(dir: &Path, name: &str) -> Vec<Diagnostic> {
    let c = convert_file(&dir.join(name), &ConvertOptions::default()).unwrap();
    c.diagnostics.into_iter().filter(Diagnostic::is_error).collect()
}

fn only(errors: &[Diagnostic], code: &str) -> Diagnostic {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].code, code, "{errors:#?}");
    errors[0].clone()
}

#[test]
fn a_cycle_names_the_chain_at_the_cell_that_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.ipynb", &[(&["step:a"], "x = 1", none()), (&["notebook:b"], "", call("sub/b.ipynb"))]);
    write(
        dir.path(),
        "sub/b.ipynb",
        &[(&["step:b"], "y = x", none()), (&["notebook:a"], "# back", call("../a.ipynb"))],
    );
    let d = only(&errors(dir.path(), "a.ipynb"), "notebook-cycle");
    assert_eq!(d.message, "notebooks call each other in a cycle: a.ipynb → sub/b.ipynb → a.ipynb");
    assert_eq!((d.notebook.as_deref(), d.cell), (Some("sub/b.ipynb"), Some(1)));
    // A notebook that runs itself.
    write(dir.path(), "self.ipynb", &[(&["step:a"], "x = 1", none()), (&["notebook:me"], "", call("self.ipynb"))]);
    let d = only(&errors(dir.path(), "self.ipynb"), "notebook-cycle");
    assert!(d.message.ends_with("self.ipynb → self.ipynb"), "{d:?}");
}

#[test]
fn missing_paths_and_files_are_errors_at_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.ipynb", &[(&["step:a"], "x = 1", none()), (&["notebook:b"], "", none())]);
    let d = only(&errors(dir.path(), "a.ipynb"), "missing-notebook-path");
    assert_eq!((d.notebook, d.cell, d.tag.as_deref()), (None, Some(1), Some("notebook:b")));
    assert!(d.hint.unwrap().contains("notebook_path"));

    write(dir.path(), "a.ipynb", &[(&["step:a"], "x = 1", none()), (&["notebook:b"], "", call("nowhere.ipynb"))]);
    let d = only(&errors(dir.path(), "a.ipynb"), "notebook-not-found");
    assert!(d.message.contains("nowhere.ipynb"), "{d:?}");
    assert_eq!(d.cell, Some(1));

    std::fs::write(dir.path().join("broken.ipynb"), "{not json").unwrap();
    write(dir.path(), "a.ipynb", &[(&["step:a"], "x = 1", none()), (&["notebook:b"], "", call("broken.ipynb"))]);
    let d = only(&errors(dir.path(), "a.ipynb"), "notebook-unreadable");
    assert!(d.message.contains("broken.ipynb"), "{d:?}");
}

#[test]
fn the_notebook_cell_holds_only_comments_and_has_a_valid_unique_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.ipynb", &[(&["step:b"], "y = 2", none())]);
    write(dir.path(), "a.ipynb", &[(&["notebook:b"], "# ok\nz = 3", call("b.ipynb"))]);
    let d = only(&errors(dir.path(), "a.ipynb"), "notebook-cell-code");
    assert!(d.message.contains("line 2"), "{d:?}");

    write(dir.path(), "a.ipynb", &[(&["notebook:Bad-Name"], "", call("b.ipynb"))]);
    only(&errors(dir.path(), "a.ipynb"), "invalid-tag");

    write(
        dir.path(),
        "a.ipynb",
        &[
            (&["notebook:b"], "", call("b.ipynb")),
            (&["step:mid"], "m = 1", none()),
            (&["notebook:b"], "", call("b.ipynb")),
        ],
    );
    let d = only(&errors(dir.path(), "a.ipynb"), "duplicate-notebook-name");
    assert_eq!(d.cell, Some(2));
}

#[test]
fn a_parameter_of_another_type_than_the_callers_is_an_error_at_the_calling_cell() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "b.ipynb",
        &[(&["pipeline-parameters"], "RATE = 0.5\nNAME = 'x'", none()), (&["step:b"], "y = RATE", none())],
    );
    write(
        dir.path(),
        "a.ipynb",
        &[(&["pipeline-parameters"], "RATE = 'fast'\nNAME = 'y'", none()), (&["notebook:b"], "", call("b.ipynb"))],
    );
    let d = only(&errors(dir.path(), "a.ipynb"), "parameter-mismatch");
    assert_eq!((d.notebook.as_deref(), d.cell), (None, Some(1)));
    assert!(d.message.contains("`RATE`") && d.message.contains("float") && d.message.contains("str"), "{d:?}");
    // An int where the sub-notebook has a float is fine (Python computes with either).
    write(
        dir.path(),
        "a.ipynb",
        &[(&["pipeline-parameters"], "RATE = 1", none()), (&["notebook:b"], "", call("b.ipynb"))],
    );
    assert_eq!(errors(dir.path(), "a.ipynb"), []);
}

#[test]
fn code_after_a_notebook_cell_needs_a_step_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.ipynb", &[(&["step:b"], "y = 2", none())]);
    write(
        dir.path(),
        "a.ipynb",
        &[(&["step:a"], "x = 1", none()), (&["notebook:b"], "", call("b.ipynb")), (&[], "z = y + x", none())],
    );
    let d = only(&errors(dir.path(), "a.ipynb"), "step-across-notebooks");
    assert_eq!((d.notebook.as_deref(), d.cell), (None, Some(2)));
    assert!(d.message.contains("`b_b`") && d.message.contains("`b.ipynb`"), "{d:?}");
}

#[test]
fn a_sub_notebook_cannot_have_the_exit_step() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.ipynb", &[(&["step:b", "finally"], "y = 2", none())]);
    write(dir.path(), "a.ipynb", &[(&["step:a"], "x = 1", none()), (&["notebook:b"], "", call("b.ipynb"))]);
    let d = only(&errors(dir.path(), "a.ipynb"), "sub-notebook-exit-step");
    assert_eq!((d.notebook.as_deref(), d.cell), (Some("b.ipynb"), Some(0)));
}

#[test]
fn errors_inside_a_sub_notebook_point_into_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sub/b.ipynb", &[(&["step:b"], "y = 2", none()), (&["step:c"], "w = undefined_thing", none())]);
    write(dir.path(), "a.ipynb", &[(&["step:a"], "x = 1", none()), (&["notebook:b"], "", call("sub/b.ipynb"))]);
    let d = only(&errors(dir.path(), "a.ipynb"), "undefined-name");
    assert_eq!((d.notebook.as_deref(), d.cell, d.span.map(|s| s.line)), (Some("sub/b.ipynb"), Some(1), Some(1)));
    // Rendered with the sub-notebook's name and its cell's source.
    let c = convert_file(&dir.path().join("a.ipynb"), &ConvertOptions::default()).unwrap();
    let text = crate::diagnostics::render(&[d], Some(&c.notebook), "a.ipynb", false);
    assert!(text.contains("at sub/b.ipynb, cell 2, line 1"), "{text}");
    assert!(text.contains("w = undefined_thing"), "{text}");
}

#[test]
fn bindings_follow_the_caller_and_line_numbers_stay() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "b.ipynb",
        &[
            (&["pipeline-parameters"], "A = 1\nB = 2\nC = [\n    3,\n]", none()),
            (&["step:b"], "y = A + B + len(C)", none()),
        ],
    );
    write(
        dir.path(),
        "a.ipynb",
        &[
            (&["pipeline-parameters"], "A = 10", none()),
            (&["step:a"], "C = [1, 2]", none()),
            (&["notebook:b"], "", call("b.ipynb")),
        ],
    );
    let c = convert_file(&dir.path().join("a.ipynb"), &ConvertOptions::default()).unwrap();
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let params = &c.notebook.cells[3].source;
    assert_eq!(
        params,
        "# A = 1  # nbkf: bound by the calling notebook\nB = 2\n# C = [  # nbkf: bound by the calling notebook\n#     3,\n# ]"
    );
    let names: Vec<&str> = c.plan.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["A", "B"], "B is the sub-notebook's own, now the pipeline's");
    let b = c.plan.steps.iter().find(|s| s.name == "b_b").unwrap();
    assert_eq!(b.inputs.iter().map(|i| i.variable.as_str()).collect::<Vec<_>>(), ["C"], "C from step `a`");
    assert_eq!(c.plan.sub_pipelines.len(), 1);
    assert_eq!((c.plan.sub_pipelines[0].task.as_str(), c.plan.sub_pipelines[0].path.as_str()), ("b", "b.ipynb"));
}

#[test]
fn a_notebook_without_step_tags_of_its_own_gets_one_step_per_run_of_code() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "sub.ipynb",
        &[(&[], "z = x + 1", none()), (&["notebook:deeper"], "", call("deeper.ipynb")), (&[], "w = z + v", none())],
    );
    write(dir.path(), "deeper.ipynb", &[(&["step:v"], "v = 10", none())]);
    write(
        dir.path(),
        "a.ipynb",
        &[(&[], "x = 1", none()), (&["notebook:sub"], "", call("sub.ipynb")), (&[], "y = w + 1", none())],
    );
    let c = convert_file(&dir.path().join("a.ipynb"), &ConvertOptions::default()).unwrap();
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let steps: Vec<(&str, Option<usize>)> = c.plan.steps.iter().map(|s| (s.name.as_str(), s.sub_pipeline)).collect();
    assert_eq!(
        steps,
        [("main", None), ("sub_main", Some(0)), ("sub_deeper_v", Some(1)), ("sub_main_2", Some(0)), ("main_2", None)]
    );
    // In a notebook with step tags, an untagged first cell would join the first step, a
    // sub-notebook's: refused at that cell.
    write(
        dir.path(),
        "c.ipynb",
        &[(&[], "x = 1", none()), (&["notebook:deeper"], "", call("deeper.ipynb")), (&["step:r"], "y = v", none())],
    );
    let d = only(&errors(dir.path(), "c.ipynb"), "step-across-notebooks");
    assert_eq!((d.notebook.as_deref(), d.cell), (None, Some(0)));
    assert!(d.message.contains("step `deeper_v`, which is in `deeper.ipynb`"), "{d:?}");
}

#[test]
fn tags_are_written_for_the_notebooks_own_cells_as_its_file_has_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sub.ipynb", &[(&["step:s"], "z = x + 1", none())]);
    write(
        dir.path(),
        "a.ipynb",
        &[(&[], "x = 1", none()), (&["notebook:sub"], "", call("sub.ipynb")), (&[], "y = z", none())],
    );
    let c = convert_file(&dir.path().join("a.ipynb"), &ConvertOptions::default()).unwrap();
    let changes = crate::plan::kale_tags(&c.plan, &c.notebook, c.inferred_tags.as_deref());
    // Cells counted in a.ipynb; the `notebook:` cell and the sub-notebook's cells untouched.
    assert_eq!(changes, [(0, vec!["step:main".to_string()]), (2, vec!["step:main_2".to_string()])]);
    let raw = std::fs::read_to_string(dir.path().join("a.ipynb")).unwrap();
    std::fs::write(dir.path().join("a.ipynb"), crate::notebook::edit::set_cell_tags(&raw, &changes).unwrap()).unwrap();
    let again = convert_file(&dir.path().join("a.ipynb"), &ConvertOptions::default()).unwrap();
    assert_eq!(crate::plan::kale_tags(&again.plan, &again.notebook, None), []);
    assert_eq!(again.yaml, c.yaml, "the same pipeline");
}
