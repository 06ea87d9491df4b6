//! `nbkf graph` and the drawing code behind it: the SVG, DOT and Mermaid of three fixtures
//! pinned (insta; one with nested sub-pipelines), every fixture and corpus notebook drawn as well-formed SVG with no
//! overlapping boxes (and, where Graphviz is installed, DOT that `dot` accepts), a generated
//! 40-step notebook drawn in a reasonable size, and the command's files, formats and exit
//! codes. Update the snapshots with `INSTA_UPDATE=always cargo test --test graph`.

mod common;
#[path = "common/generated.rs"]
mod generated;

use std::path::{Path, PathBuf};
use std::process::Command;

use nbkf::graph::{self, Format, Graph};
use nbkf::plan::PlanSummary;
use nbkf::{convert_file, ConvertOptions};

/// The plan summary of a notebook, or `None` when it has errors.
fn summary(path: &Path) -> Option<PlanSummary> {
    let conversion =
        convert_file(path, &ConvertOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (!conversion.has_errors()).then(|| nbkf::plan::summary(&conversion.plan))
}

fn fixture(name: &str) -> PathBuf {
    common::repo().join("fixtures").join(format!("{name}.ipynb"))
}

macro_rules! drawing_snapshots {
    ($($test:ident: $fixture:literal as $format:expr),* $(,)?) => {$(
        #[test]
        fn $test() {
            let summary = summary(&fixture($fixture)).expect("converts");
            insta::assert_snapshot!(stringify!($test), graph::draw(&summary, $format));
        }
    )*};
}

drawing_snapshots!(
    svg_of_parameters: "parameters" as Format::Svg,
    dot_of_parameters: "parameters" as Format::Dot,
    mermaid_of_parameters: "parameters" as Format::Mermaid,
    svg_of_steps_and_continuation: "steps_and_continuation" as Format::Svg,
    dot_of_steps_and_continuation: "steps_and_continuation" as Format::Dot,
    mermaid_of_steps_and_continuation: "steps_and_continuation" as Format::Mermaid,
    svg_of_composed_three_levels: "composed_three_levels" as Format::Svg,
    dot_of_composed_three_levels: "composed_three_levels" as Format::Dot,
    mermaid_of_composed_three_levels: "composed_three_levels" as Format::Mermaid,
);

/// Every notebook of `fixtures/` and of the shared corpus.
fn all_notebooks() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [common::repo().join("fixtures"), common::shared().join("corpus")] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "ipynb")));
    }
    files.sort();
    files
}

/// Checks the SVG of a plan: well-formed XML, one group per step carrying its name and
/// task, one group per edge, no two boxes overlapping, no label over a box.
fn check_svg(name: &str, summary: &PlanSummary) {
    let graph = Graph::from_summary(summary);
    let svg = graph::svg(&graph);
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(doc.root_element().attribute("class"), Some("nbkf-graph"));
    for step in &summary.steps {
        let groups: Vec<_> =
            doc.descendants().filter(|n| n.attribute("data-step") == Some(step.name.as_str())).collect();
        assert_eq!(groups.len(), 1, "{name}: step {}", step.name);
        assert_eq!(groups[0].attribute("data-task"), Some(step.task.as_str()));
        assert_eq!(groups[0].attribute("id"), Some(format!("step-{}", step.task).as_str()));
    }
    let edges = doc.descendants().filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("edge "))).count();
    assert_eq!(edges, graph.edges.len(), "{name}");
    let layout = graph::graph_layout(&graph);
    for (i, a) in layout.nodes.iter().enumerate() {
        for b in &layout.nodes[i + 1..] {
            assert!(!a.overlaps(b), "{name}: {a:?} overlaps {b:?}");
        }
        for label in layout.edges.iter().filter_map(|e| e.label) {
            assert!(!a.overlaps(&label), "{name}: label {label:?} over {a:?}");
        }
    }
}

#[test]
fn every_notebook_that_converts_draws_as_well_formed_svg() {
    let mut drawn = 0;
    for path in all_notebooks() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(summary) = summary(&path) {
            check_svg(&name, &summary);
            drawn += 1;
        }
    }
    // 44 corpus notebooks convert (tests/corpus.rs), and every fixture.
    assert!(drawn >= 44 + 30, "only {drawn} notebooks drawn");
}

/// Graphviz's `dot`, when installed (`apt-get install graphviz`); the check that uses it is
/// skipped, saying so, without it.
fn graphviz() -> Option<PathBuf> {
    let found = Command::new("dot").arg("-V").output().is_ok_and(|o| o.status.success());
    found.then(|| PathBuf::from("dot"))
}

#[test]
fn graphviz_reads_every_dot_drawing() {
    let Some(dot) = graphviz() else {
        eprintln!("note: Graphviz `dot` is not installed: the DOT drawings were not given to it");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for path in all_notebooks() {
        let Some(summary) = summary(&path) else { continue };
        let file = dir.path().join("dag.dot");
        std::fs::write(&file, graph::draw(&summary, Format::Dot)).unwrap();
        let out = common::run(Command::new(&dot).arg("-Tsvg").arg(&file), true);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.trim().is_empty(), "{}: {stderr}", path.display());
        assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"), "{}", path.display());
    }
}

#[test]
fn a_forty_step_notebook_draws_without_overlaps_in_a_reasonable_size() {
    let summary = generated::summary(40);
    assert_eq!(summary.steps.len(), 40);
    check_svg("40 steps", &summary);
    let graph = Graph::from_summary(&summary);
    let layout = graph::graph_layout(&graph);
    assert!(graph.edges.len() > 60, "{} edges", graph.edges.len());
    // Wide enough for a few steps side by side, not one row; tall enough for the chain.
    assert!(layout.width < 2000.0 && layout.height < 40.0 * 120.0, "{} x {}", layout.width, layout.height);
    assert!(graph::svg(&graph).len() < 200_000);
}

#[test]
fn the_command_writes_the_format_its_output_names() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = fixture("parameters");
    let expected = |format| graph::draw(&summary(&notebook).unwrap(), format);
    for (file, format) in
        [("dag.dot", Format::Dot), ("dag.gv", Format::Dot), ("dag.mmd", Format::Mermaid), ("dag", Format::Svg)]
    {
        let out = dir.path().join(file);
        let run = common::run(common::nbkf().arg("graph").arg(&notebook).arg("-o").arg(&out), true);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(format), "{file}");
        let said = String::from_utf8_lossy(&run.stderr);
        assert!(said.contains("drew pipeline `parameters` (3 steps) -> "), "{said}");
    }
    // `--format` wins over the extension; `-` is standard output.
    let out = dir.path().join("dag.svg");
    common::run(common::nbkf().arg("graph").arg(&notebook).args(["--format", "mermaid", "-o"]).arg(&out), true);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(Format::Mermaid));
    let run = common::run(common::nbkf().arg("graph").arg(&notebook).args(["-o", "-", "--format", "dot"]), true);
    assert_eq!(String::from_utf8(run.stdout).unwrap(), expected(Format::Dot));
    let run = common::run(common::nbkf().arg("graph").arg(&notebook).args(["-o", "-"]), true);
    assert!(String::from_utf8(run.stdout).unwrap().starts_with("<svg "));
}

#[test]
fn the_command_writes_pipeline_name_svg_beside_the_notebook_by_default() {
    let dir = tempfile::tempdir().unwrap();
    // The file is named after the pipeline (`steps-and-continuation`), not the notebook.
    let notebook = dir.path().join("steps_and_continuation.ipynb");
    std::fs::copy(fixture("steps_and_continuation"), &notebook).unwrap();
    common::run(common::nbkf().arg("graph").arg(&notebook), true);
    let svg = std::fs::read_to_string(dir.path().join("steps-and-continuation.svg")).unwrap();
    assert!(svg.contains("data-step=\"b\""));
    common::run(common::nbkf().arg("graph").arg(&notebook).args(["--format", "dot"]), true);
    assert!(dir.path().join("steps-and-continuation.dot").exists());
}

#[test]
fn the_command_refuses_unknown_extensions_and_notebooks_with_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dag.png");
    let run = common::run(common::nbkf().arg("graph").arg(fixture("parameters")).arg("-o").arg(&out), false);
    assert_eq!(run.status.code(), Some(2));
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("cannot tell the drawing format from `.png`"), "{said}");
    assert!(!out.exists());

    let bad = dir.path().join("bad.ipynb");
    let cell = |source: &str| serde_json::json!({"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": null});
    let nb = serde_json::json!({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell("x = 1"), cell("print(y)")]});
    std::fs::write(&bad, nb.to_string()).unwrap();
    let run = common::run(common::nbkf().arg("graph").arg(&bad).args(["--color", "never"]), false);
    assert_eq!(run.status.code(), Some(1));
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("`y` is used but never defined") && said.contains("has errors"), "{said}");
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e.unwrap().path().to_string_lossy().ends_with(".svg")));
}
