//! Reading a pipeline file back: the IR document, the optional platform document, and
//! what `nbkf convert` records in the header comments for submission (`# Experiment:`).
//! Files compiled by the KFP SDK read the same way (they have no experiment).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A pipeline YAML, parsed.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// The IR `PipelineSpec` (document 1).
    pub spec: Value,
    /// The Kubernetes `PlatformSpec` (document 2), when there is one.
    pub platform: Option<Value>,
    /// `pipelineInfo.name`.
    pub name: String,
    /// `pipelineInfo.description`, else the header's `# Description:`.
    pub description: Option<String>,
    /// The header's `# Experiment:` (the notebook's `experiment_name`).
    pub experiment: Option<String>,
}

/// Why a file is not a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineFileError {
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("{0}")]
    Shape(String),
}

impl PipelineFile {
    /// Parses a pipeline YAML (one or two documents).
    pub fn parse(yaml: &str) -> Result<Self, PipelineFileError> {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|e| PipelineFileError::Yaml(e.to_string()))?;
        let mut docs = docs.into_iter().filter(|d| !d.is_null());
        let spec = docs.next().ok_or_else(|| PipelineFileError::Shape("the file holds no document".into()))?;
        let platform = docs.next();
        if docs.next().is_some() {
            return Err(PipelineFileError::Shape(
                "more than two documents: a pipeline file holds the IR and at most a platform document".into(),
            ));
        }
        if spec.get("schemaVersion").and_then(Value::as_str) != Some("2.1.0") {
            return Err(PipelineFileError::Shape("not a KFP v2 pipeline (its schemaVersion is not 2.1.0)".into()));
        }
        let name = spec["pipelineInfo"]["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| PipelineFileError::Shape("pipelineInfo.name is missing".into()))?
            .to_string();
        let header = |key: &str| {
            yaml.lines()
                .take_while(|l| l.starts_with('#'))
                .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let description = spec["pipelineInfo"]["description"]
            .as_str()
            .map(str::to_string)
            .filter(|d| !d.is_empty())
            .or_else(|| header("Description"));
        Ok(PipelineFile { name, description, experiment: header("Experiment"), spec, platform })
    }

    /// A short hash of what the pipeline does: the first 12 hex digits of the SHA-256 of
    /// its documents as JSON with sorted keys. Comments, key order and YAML style do not
    /// change it; any change to the IR or the platform document does.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(canonical(&self.spec).to_string());
        if let Some(p) = &self.platform {
            hasher.update(b"\n---\n");
            hasher.update(canonical(p).to_string());
        }
        hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
    }
}

/// The value with every object's keys sorted.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IR: &str = "# PIPELINE DEFINITION\n# Name: p\n# Experiment: nightly runs\n# Description: adds\nschemaVersion: 2.1.0\npipelineInfo:\n  name: p\nroot:\n  dag:\n    tasks: {}\n";

    #[test]
    fn reads_the_header_and_hashes_content_not_style() {
        let f = PipelineFile::parse(IR).unwrap();
        assert_eq!(f.name, "p");
        assert_eq!(f.experiment.as_deref(), Some("nightly runs"));
        assert_eq!(f.description.as_deref(), Some("adds"));
        assert!(f.platform.is_none());
        let h = f.content_hash();
        assert_eq!(h.len(), 12);
        // Comments and key order do not count.
        let reordered = "root:\n  dag:\n    tasks: {}\npipelineInfo: {name: p}\nschemaVersion: 2.1.0\n";
        assert_eq!(PipelineFile::parse(reordered).unwrap().content_hash(), h);
        // A platform document or a changed spec does.
        let with_platform = format!("{IR}---\nplatform: {{}}\n");
        assert_ne!(PipelineFile::parse(&with_platform).unwrap().content_hash(), h);
        assert_ne!(PipelineFile::parse(&IR.replace("name: p", "name: q")).unwrap().content_hash(), h);
    }

    #[test]
    fn refuses_what_is_not_a_pipeline() {
        for bad in [
            "",
            "a: [",
            "schemaVersion: 2.0.0\npipelineInfo: {name: p}\n",
            "schemaVersion: 2.1.0\n",
            "schemaVersion: 2.1.0\npipelineInfo: {name: p}\n---\na: 1\n---\nb: 2\n",
        ] {
            assert!(PipelineFile::parse(bad).is_err(), "{bad:?}");
        }
    }
}
