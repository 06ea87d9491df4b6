//! How big the pipeline of a long notebook is. KFP turns a run into one Argo `Workflow`
//! object holding every step's program, and etcd refuses objects over about 1.5 MiB: the
//! pipeline of a 100-step notebook must stay well under 1 MiB, each step carrying little
//! beyond its own cells. The notebook is generated: step `i` reads what step `i - 1`
//! computed, imports numpy, and holds one short cell.
//!
//! Run with `cargo bench --bench workflow_size`: it prints the sizes, then times the
//! conversion of the 100-step notebook.

fn main() {
    let sizes: Vec<(usize, usize, usize)> = [1, 10, 45, 100]
        .iter()
        .map(|&n| {
            let (yaml, code) = convert(n);
            (n, yaml.len(), code)
        })
        .collect();
    println!("steps  YAML bytes  cell code bytes");
    for (n, size, code) in &sizes {
        println!("{n:5}  {size:10}  {code:15}");
    }
    let (_, size10, code10) = sizes[1];
    let (_, size100, code100) = sizes[3];
    let per_step = ((size100 - size10) - (code100 - code10)) / 90;
    println!("per step beyond its cell code: {per_step} bytes; 100 steps: {:.2} MiB", size100 as f64 / 1048576.0);
    divan::main();
}

/// A notebook of `steps` steps, each one cell.
fn notebook(steps: usize) -> serde_json::Value {
    let mut cells = vec![
        serde_json::json!({"cell_type": "code", "metadata": {"tags": ["imports"]}, "source": "import numpy as np", "outputs": [], "execution_count": null}),
    ];
    for i in 0..steps {
        let source = if i == 0 {
            "value_0 = np.arange(10)\ntotal_0 = int(value_0.sum())".to_string()
        } else {
            format!("value_{i} = value_{} * 2 + {i}\ntotal_{i} = int(value_{i}.sum())", i - 1)
        };
        cells.push(serde_json::json!({"cell_type": "code", "metadata": {"tags": [format!("step:step_{i}")]}, "source": source, "outputs": [], "execution_count": null}));
    }
    serde_json::json!({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells})
}

/// The YAML of a generated notebook, and the bytes of its cells' code.
fn convert(steps: usize) -> (String, usize) {
    let nb = notebook(steps);
    let code: usize = nb["cells"].as_array().unwrap().iter().map(|c| c["source"].as_str().unwrap().len()).sum();
    let (notebook, diags) = nbkf::notebook::Notebook::from_slice(nb.to_string().as_bytes(), "long.ipynb").unwrap();
    let yaml = nbkf::convert(notebook, diags, "long.ipynb", None, &Default::default()).unwrap().yaml.expect("converts");
    (yaml, code)
}

#[divan::bench(sample_count = 20)]
fn convert_100_steps() -> usize {
    convert(100).0.len()
}
