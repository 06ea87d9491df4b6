//! The local runner's own overhead per step: a chain of trivial steps (`x = x + 1`) run
//! one at a time with `nbkf run`'s machinery; the time per step is what the runner and
//! Python start-up cost beyond the user's code (Kale's pipelines take about 12 s per
//! trivial step under the KFP local runner).
//!
//! Run with `cargo bench --bench run`.

use nbkf::run::{self, LocalPipeline, RunOptions, Silent};

fn main() {
    divan::main();
}

const STEPS: usize = 10;

fn trivial_pipeline() -> String {
    let mut cells = vec![
        serde_json::json!({"cell_type": "code", "metadata": {"tags": ["step:s0"]}, "source": "x = 0", "outputs": [], "execution_count": null}),
    ];
    for i in 1..STEPS {
        cells.push(serde_json::json!({"cell_type": "code", "metadata": {"tags": [format!("step:s{i}")]}, "source": "x = x + 1", "outputs": [], "execution_count": null}));
    }
    let nb = serde_json::json!({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells});
    let (notebook, diags) = nbkf::notebook::Notebook::from_slice(nb.to_string().as_bytes(), "trivial.ipynb").unwrap();
    nbkf::convert(notebook, diags, "trivial.ipynb", None, &Default::default()).unwrap().yaml.expect("converts")
}

/// One run of the 10-step chain; divide by 10 for the cost of a step.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn chain_of_10_trivial_steps(bencher: divan::Bencher) {
    let yaml = trivial_pipeline();
    let pipeline = LocalPipeline::from_yaml(&yaml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        parameters: Default::default(),
        jobs: 1,
        runs_dir: dir.path().join("runs"),
        step_dir: dir.path().to_path_buf(),
        python: "python3".into(),
        cache: false,
        env: Vec::new(),
        isolated: false,
        run_id: None,
        cancel: Default::default(),
    };
    bencher.bench(|| {
        let report = run::run(&pipeline, &yaml, &options, &Silent).unwrap();
        assert!(report.succeeded());
    });
}
