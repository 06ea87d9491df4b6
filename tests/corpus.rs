//! The 48 real notebooks of ../shared/corpus (written by other people, for other
//! purposes): every one converts or is refused with diagnostics that name the cell; no
//! panic; every pipeline passes the strict IR validator; the runnable tagged ones compute
//! what the notebook computes.

mod common;

use std::path::PathBuf;

use nbkf::{convert_file, ConvertOptions};

fn corpus() -> Vec<PathBuf> {
    let files = common::notebooks_in(&common::shared().join("corpus"));
    assert_eq!(files.len(), 48, "the corpus has 48 notebooks");
    files
}

/// Notebooks Jupyter itself cannot run: `%%capture` below the first line of a cell is a
/// UsageError in IPython ("Line magic function `%%capture` not found").
const REFUSED: &[&str] = &[
    "LineaLabs__lineapy__examples__tutorials__01_using_artifacts.ipynb",
    "LineaLabs__lineapy__examples__tutorials__02_pipeline_building.ipynb",
    "LineaLabs__lineapy__examples__use_cases__clean_up_a_messy_notebook__clean_up_a_messy_notebook.ipynb",
    "LineaLabs__lineapy__examples__use_cases__create_a_simple_pipeline__create_a_simple_pipeline.ipynb",
];

#[test]
fn every_corpus_notebook_converts_or_is_refused_with_located_diagnostics() {
    let out = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for path in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let conversion = convert_file(&path, &ConvertOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let errors: Vec<_> = conversion.diagnostics.iter().filter(|d| d.is_error()).collect();
        for d in &conversion.diagnostics {
            assert!(
                d.cell.is_some() || d.code == "notebook-metadata" || d.code == "local-module",
                "{name}: diagnostic without a cell: {d:?}"
            );
        }
        if REFUSED.contains(&name.as_str()) {
            assert!(!errors.is_empty(), "{name} should be refused");
            assert!(errors.iter().all(|d| d.message.contains("%%capture")), "{name}: {errors:#?}");
            assert!(conversion.yaml.is_none());
            continue;
        }
        assert!(errors.is_empty(), "{name} should convert: {errors:#?}");
        let file = out.path().join(name.replace(".ipynb", ".yaml"));
        std::fs::write(&file, conversion.yaml.unwrap()).unwrap();
        written.push(file);
    }
    assert_eq!(written.len(), 44);
    common::validate_ir(&written);
}

#[test]
fn kales_older_examples_all_convert() {
    // Kale 2.3.0 refuses all 11 of these for their legacy metadata keys or `block:` tags.
    let kale: Vec<PathBuf> =
        corpus().into_iter().filter(|p| p.to_string_lossy().contains("kubeflow-kale__kale")).collect();
    assert_eq!(kale.len(), 11);
    for path in kale {
        let conversion = convert_file(&path, &ConvertOptions::default()).unwrap();
        assert!(!conversion.has_errors(), "{}: {:#?}", path.display(), conversion.diagnostics);
    }
}

/// The runnable tagged corpus notebooks, run under the KFP local runner and compared
/// value by value with a one-process run of the notebook. Both draw unseeded random
/// numbers, so the test runs a copy with a seed cell added (`seeded_copy`).
#[test]
fn candies_sharing_computes_what_the_notebook_computes() {
    let dir = tempfile::tempdir().unwrap();
    let nb = common::seeded_copy(
        &common::shared().join("corpus/kubeflow-kale__kale__examples__base__candies_sharing.ipynb"),
        dir.path(),
    );
    let yaml = common::convert(&nb, dir.path(), &[]);
    common::validate_ir(std::slice::from_ref(&yaml));
    let report = common::equivalence(&nb, &yaml, &[]);
    assert_eq!(report["differences"], serde_json::json!([]), "{report:#}");
    let vars: Vec<&str> = report["variables"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for expected in ["kid1:kid1", "kid2:kid2", "kid1:@random", "kid2:@random"] {
        assert!(vars.contains(&expected), "{expected} not compared: {vars:?}");
    }
}

#[test]
fn pipeline_parameters_and_metrics_computes_what_the_notebook_computes() {
    let dir = tempfile::tempdir().unwrap();
    let nb = common::seeded_copy(&common::shared().join("corpus/kubeflow-kale__kale__backend__kale__tests__assets__notebooks__pipeline_parameters_and_metrics.ipynb"), dir.path());
    let yaml = common::convert(&nb, dir.path(), &[]);
    common::validate_ir(std::slice::from_ref(&yaml));
    let report = common::equivalence(&nb, &yaml, &[]);
    assert_eq!(report["differences"], serde_json::json!([]), "{report:#}");
    let metrics = report["metrics"].as_object().unwrap();
    for key in ["d1", "d2", "sum-result"] {
        assert!(metrics.contains_key(key), "metric {key} missing: {report:#}");
    }
    // Parameter values given at run time reach the steps (and the reference run).
    let report = common::equivalence(&nb, &yaml, &["d1=3", "d2=4"]);
    assert_eq!(report["differences"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["metrics"]["d1"], serde_json::json!(3.0));
}
