//! A long notebook for the drawing tests and benchmark (`tests/graph.rs`,
//! `benches/graph.rs`): step `i` reads what one to three of the eight steps before it
//! computed (a fixed pseudo-random choice), every seventh step reads a pipeline parameter,
//! and some steps also run after a step they read nothing from (`prev:`).

/// The notebook JSON of `steps` steps.
pub fn notebook(steps: usize) -> serde_json::Value {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % bound
    };
    let cell = |tags: Vec<String>, source: String| {
        serde_json::json!({"cell_type": "code", "metadata": {"tags": tags}, "source": source, "outputs": [], "execution_count": null})
    };
    let mut cells = vec![cell(vec!["pipeline-parameters".into()], "RATE = 0.5\nLIMIT = 10".into())];
    for i in 0..steps {
        let mut terms: Vec<String> = Vec::new();
        if i > 0 {
            for _ in 0..1 + next(3) {
                let j = i - 1 - next(i.min(8));
                let term = if next(2) == 0 { format!("value_{j}") } else { format!("total_{j}") };
                if !terms.contains(&term) {
                    terms.push(term);
                }
            }
        }
        if i % 7 == 0 {
            terms.push("RATE".into());
        }
        let expression = if terms.is_empty() { "1".to_string() } else { terms.join(" + ") };
        let source = format!("value_{i} = {expression}\ntotal_{i} = value_{i} * 2");
        let mut tags = vec![format!("step:step_{i}")];
        if i % 11 == 5 {
            tags.push(format!("prev:step_{}", i - 4));
        }
        cells.push(cell(tags, source));
    }
    serde_json::json!({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells})
}

/// The plan summary of the generated notebook.
pub fn summary(steps: usize) -> nbkf::plan::PlanSummary {
    let bytes = notebook(steps).to_string();
    let (notebook, diagnostics) = nbkf::notebook::Notebook::from_slice(bytes.as_bytes(), "long.ipynb").unwrap();
    let conversion = nbkf::convert(notebook, diagnostics, "long.ipynb", None, &Default::default()).unwrap();
    assert!(!conversion.has_errors(), "{:#?}", conversion.diagnostics);
    nbkf::plan::summary(&conversion.plan)
}
