//! Conversion speed on real notebooks from ../shared/corpus (Kale's titanic example is the
//! reference: Kale 2.3.0 takes about 3.3 s and 127 MiB for it).
//!
//! Run with `cargo bench --bench convert`.

use std::path::PathBuf;

use nbkf::notebook::Notebook;
use nbkf::{convert, convert_file, ConvertOptions};

fn main() {
    divan::main();
}

fn corpus(name: &str) -> PathBuf {
    let shared = std::env::var_os("NBKF_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    shared.join("corpus").join(name)
}

const TITANIC: &str = "kubeflow-kale__kale__examples__titanic-ml-dataset__titanic_dataset_ml.ipynb";
const CANDIES: &str = "kubeflow-kale__kale__examples__base__candies_sharing.ipynb";
const HANDSON: &str = "ageron__handson-ml2__02_end_to_end_machine_learning_project.ipynb";

/// The whole conversion, file to YAML text, as `nbkf convert` does it.
#[divan::bench(args = [TITANIC, CANDIES, HANDSON])]
fn convert_notebook(name: &str) -> usize {
    let conversion = convert_file(&corpus(name), &ConvertOptions::default()).expect("converts");
    conversion.yaml.map_or(0, |y| y.len())
}

/// Only reading the notebook JSON (1.3 MB of it for the Hands-On ML chapter, mostly outputs).
#[divan::bench(args = [TITANIC, HANDSON])]
fn parse_notebook(bencher: divan::Bencher, name: &str) {
    let bytes = std::fs::read(corpus(name)).unwrap();
    bencher.bench(|| Notebook::from_slice(divan::black_box(&bytes), name).unwrap().0.cells.len());
}

/// Analysis, planning and emission of an already parsed notebook.
#[divan::bench(args = [TITANIC])]
fn plan_and_emit(bencher: divan::Bencher, name: &str) {
    let (notebook, _) = Notebook::from_path(&corpus(name)).unwrap();
    bencher.bench(|| {
        convert(notebook.clone(), Vec::new(), name, None, &ConvertOptions::default())
            .unwrap()
            .yaml
            .map_or(0, |y| y.len())
    });
}

/// Writing the KFP Python DSL script of an already planned notebook (`--format dsl`),
/// against writing its YAML.
#[divan::bench(args = [TITANIC, HANDSON])]
fn emit_dsl(bencher: divan::Bencher, name: &str) {
    let plan = convert_file(&corpus(name), &ConvertOptions::default()).expect("converts").plan;
    bencher.bench(|| {
        nbkf::emit::kfp_dsl(divan::black_box(&plan), nbkf::emit::PreambleMode::Pip, "p.py", "p.yaml").unwrap().len()
    });
}

/// As [`emit_dsl`], the YAML.
#[divan::bench(args = [TITANIC, HANDSON])]
fn emit_yaml(bencher: divan::Bencher, name: &str) {
    let plan = convert_file(&corpus(name), &ConvertOptions::default()).expect("converts").plan;
    bencher.bench(|| nbkf::emit::kfp_ir_yaml(divan::black_box(&plan), nbkf::emit::PreambleMode::Pip).unwrap().len());
}

/// A notebook that runs two more (`notebook:` cells, three levels, a loop in the innermost):
/// reading the three files, expanding, planning and writing the YAML, against the same
/// pipeline's two-level fixture.
#[divan::bench(args = ["composed_three_levels.ipynb", "composed_two_levels.ipynb"])]
fn convert_composed(name: &str) -> usize {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    let conversion = convert_file(&path, &ConvertOptions::default()).expect("converts");
    conversion.yaml.map_or(0, |y| y.len())
}
