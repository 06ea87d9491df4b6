//! `nbkf run --cache`: a step whose program, parameter values and input artifacts (by
//! content) are unchanged since a successful earlier run reuses that run's outputs, as
//! KFP's caching does on a cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{LocalTask, ProducedArtifact};

/// The cache index: one JSON file per key under `<runs_dir>/.cache/`.
pub struct Cache {
    dir: PathBuf,
}

/// The cache key of a task run: a SHA-256 over its program, parameters and inputs.
pub fn key(
    task: &LocalTask,
    parameters: &BTreeMap<String, Value>,
    inputs: &BTreeMap<String, Vec<ProducedArtifact>>,
) -> String {
    let mut h = Sha256::new();
    h.update(task.function.as_bytes());
    h.update([0]);
    h.update(task.source.as_bytes());
    h.update([0]);
    h.update(serde_json::to_string(parameters).unwrap_or_default().as_bytes());
    for (argument, artifact) in inputs.iter().flat_map(|(a, list)| list.iter().map(move |x| (a, x))) {
        h.update([0]);
        h.update(argument.as_bytes());
        h.update([0]);
        match std::fs::read(&artifact.uri) {
            Ok(bytes) => h.update(Sha256::digest(&bytes)),
            Err(_) => h.update(b"<missing>"),
        }
        h.update(serde_json::to_string(&artifact.metadata).unwrap_or_default().as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Cache {
    pub fn new(runs_dir: &Path) -> Self {
        Cache { dir: runs_dir.join(".cache") }
    }

    /// Copies the cached outputs of `key` into `task_dir`; returns the run they came from
    /// and the outputs at their new place. `None` when there is no usable entry.
    pub fn reuse(&self, key: &str, task_dir: &Path) -> Option<(String, BTreeMap<String, ProducedArtifact>)> {
        let entry: Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir.join(format!("{key}.json"))).ok()?).ok()?;
        let from = entry["run_id"].as_str()?.to_string();
        let cached: BTreeMap<String, ProducedArtifact> = serde_json::from_value(entry["outputs"].clone()).ok()?;
        let mut outputs = BTreeMap::new();
        std::fs::create_dir_all(task_dir.join("outputs")).ok()?;
        for (name, artifact) in &cached {
            let target = task_dir.join("outputs").join(name);
            std::fs::copy(&artifact.uri, &target).ok()?;
            outputs.insert(
                name.clone(),
                ProducedArtifact { uri: target.to_string_lossy().into_owned(), metadata: artifact.metadata.clone() },
            );
        }
        let executor_output = json!({"artifacts": outputs.iter().map(|(n, a)| (n.clone(), json!({"artifacts": [{"name": n, "uri": a.uri, "metadata": a.metadata}]}))).collect::<serde_json::Map<_, _>>()});
        std::fs::write(task_dir.join("executor_output.json"), executor_output.to_string()).ok()?;
        Some((from, outputs))
    }

    /// Records a successful task run (best effort: a cache that cannot be written is only
    /// a missed reuse later).
    pub fn store(&self, key: &str, run_id: &str, task: &str, outputs: &BTreeMap<String, ProducedArtifact>) {
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let entry = json!({"run_id": run_id, "task": task, "outputs": outputs});
        let _ = std::fs::write(self.dir.join(format!("{key}.json")), entry.to_string());
    }
}
