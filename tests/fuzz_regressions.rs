//! Inputs the fuzzers (`scripts/fuzz`, fuzz/fuzz_targets/) once crashed or hung on, kept
//! in tests/hostile/fuzz-<target>-<name>. Each is fed to the same functions as its fuzz
//! target; none may panic, and a conversion must finish in under 10 s.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nbkf::notebook::{Cell, CellKind, Notebook};

/// The kept inputs of one target.
fn cases(target: &str) -> Vec<PathBuf> {
    let prefix = format!("fuzz-{target}-");
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::repo().join("tests/hostile"))
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)));
    files.sort();
    files
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn every_kept_input_names_a_target() {
    let dir = common::repo().join("tests/hostile");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix("fuzz-") {
            let target = rest.split('-').next().unwrap_or_default();
            assert!(
                ["notebook", "tags", "python", "convert"].contains(&target),
                "{name}: not fuzz-<notebook|tags|python|convert>-<name>"
            );
        }
    }
}

#[test]
fn notebook_inputs_do_not_panic() {
    for path in cases("notebook") {
        let _ = Notebook::from_slice(&read(&path), "fuzz.ipynb");
    }
}

#[test]
fn tags_inputs_do_not_panic() {
    for path in cases("tags") {
        let data = read(&path);
        let tags: Vec<String> = String::from_utf8_lossy(&data).split('\n').map(str::to_string).collect();
        for tag in &tags {
            let _ = nbkf::tags::parse_setting(tag);
        }
        let cell = Cell {
            index: 0,
            id: None,
            kind: CellKind::Code,
            source: String::new(),
            tags,
            metadata: Default::default(),
        };
        let _ = nbkf::tags::parse_cell_tags(&cell);
    }
}

#[test]
fn python_inputs_do_not_panic() {
    for path in cases("python") {
        let data = read(&path);
        let source = String::from_utf8_lossy(&data);
        let _ = nbkf::python::analyze_cell(&source);
        let _ = nbkf::python::parse_parameters_cell(&source);
        let _ = nbkf::python::parse_metrics_cell(&source);
    }
}

/// Converts notebook JSON when it parses; fails when that takes 10 s or more.
fn convert_quickly(bytes: &[u8], what: &str) {
    let start = Instant::now();
    if let Ok((notebook, diagnostics)) = Notebook::from_slice(bytes, "fuzz.ipynb") {
        let _ = nbkf::convert(notebook, diagnostics, "fuzz.ipynb", None, &Default::default());
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(10), "{what}: conversion took {took:?}");
}

#[test]
fn convert_inputs_do_not_panic_or_hang() {
    for path in cases("convert") {
        let data = read(&path);
        let what = path.display().to_string();
        // As the fuzz target: the input as a notebook, then as a code cell's source.
        convert_quickly(&data, &what);
        let source = serde_json::Value::String(String::from_utf8_lossy(&data).into_owned());
        let notebook = format!(
            r#"{{"nbformat":4,"nbformat_minor":5,"metadata":{{}},"cells":[{{"cell_type":"code","metadata":{{"tags":["step:a"]}},"source":{source}}},{{"cell_type":"code","metadata":{{"tags":["step:b"]}},"source":"print(x)"}}]}}"#
        );
        convert_quickly(notebook.as_bytes(), &format!("{what} (as a cell)"));
    }
}
