//! Reading a pipeline file back: the IR document, the optional platform document, and
//! what `nbkf convert` records in the header comments (`# Experiment:`). Files compiled by
//! the KFP SDK read the same way (they have no experiment). `submit` and `apply` both read
//! pipelines through this, and both name a pipeline's versions by its [`content
//! hash`](PipelineFile::content_hash).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `apiVersion` of Kubernetes-native KFP objects: a file of them is not a pipeline file.
const MANIFESTS_API_VERSION: &str = "pipelines.kubeflow.org/v2beta1";

/// A pipeline YAML, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineFile {
    /// The IR `PipelineSpec` (document 1).
    pub spec: Value,
    /// The Kubernetes `PlatformSpec` (document 2), when there is one.
    pub platform: Option<Value>,
    /// `pipelineInfo.name`.
    pub name: String,
    /// `pipelineInfo.displayName`.
    pub display_name: Option<String>,
    /// `pipelineInfo.description`, else the header's `# Description:`.
    pub description: Option<String>,
    /// The header's `# Experiment:` (the notebook's `experiment_name`).
    pub experiment: Option<String>,
    /// The file's leading comment lines (`# PIPELINE DEFINITION`, `# Name: ...`).
    pub header: Vec<String>,
}

/// Why a file is not a pipeline.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelineFileError {
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("not a KFP v2 pipeline: {0}")]
    NotIr(String),
    #[error(
        "this file holds Kubernetes manifests (`{MANIFESTS_API_VERSION}`), not a pipeline; give nbkf the notebook or the pipeline YAML of `nbkf convert`, or apply the file with `kubectl apply --server-side -f`"
    )]
    Manifests,
}

impl PipelineFile {
    /// Parses a pipeline YAML (one or two documents).
    pub fn parse(yaml: &str) -> Result<Self, PipelineFileError> {
        let not_ir = |m: &str| PipelineFileError::NotIr(m.to_string());
        let header: Vec<String> = yaml.lines().take_while(|l| l.starts_with('#')).map(str::to_string).collect();
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|e| PipelineFileError::Yaml(e.to_string()))?;
        let mut docs = docs.into_iter().filter(|d| !d.is_null());
        let spec = docs.next().ok_or_else(|| not_ir("the file holds no document"))?;
        if spec.get("apiVersion").and_then(Value::as_str) == Some(MANIFESTS_API_VERSION) {
            return Err(PipelineFileError::Manifests);
        }
        if !spec.is_object() {
            return Err(not_ir("the first document is not a mapping"));
        }
        if spec.get("schemaVersion").and_then(Value::as_str) != Some("2.1.0") {
            return Err(not_ir("its `schemaVersion` is not \"2.1.0\""));
        }
        let info =
            |key: &str| spec["pipelineInfo"][key].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let name = info("name").ok_or_else(|| not_ir("`pipelineInfo.name` is missing"))?;
        let platform = docs.next();
        if platform.as_ref().is_some_and(|p| p.get("platforms").is_none()) {
            return Err(not_ir("the second document is not a platform spec (it has no `platforms`)"));
        }
        if docs.next().is_some() {
            return Err(not_ir(
                "more than two documents: a pipeline file holds the IR and at most a platform document",
            ));
        }
        let from_header = |key: &str| {
            header
                .iter()
                .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(PipelineFile {
            display_name: info("displayName"),
            description: info("description").or_else(|| from_header("Description")),
            experiment: from_header("Experiment"),
            name,
            header,
            spec,
            platform,
        })
    }

    /// The SHA-256 (64 hex digits) of what the pipeline does: its IR and platform
    /// documents, exactly what a KFP pipeline version stores, as JSON with sorted keys and
    /// no spaces (`{"pipelineSpec": ..., "platformSpec": ...}`). Comments (the header names
    /// the notebook file and nbkf's version), key order and YAML style do not change it;
    /// any change to what would be stored does.
    pub fn content_hash(&self) -> String {
        let mut content = json!({ "pipelineSpec": self.spec });
        if let Some(p) = &self.platform {
            content["platformSpec"] = p.clone();
        }
        let digest = Sha256::digest(canonical_json(&content).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// JSON with object keys sorted at every level and no spaces: one text per value.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
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
        assert_eq!(f.header.len(), 4);
        assert!(f.platform.is_none());
        let h = f.content_hash();
        assert_eq!(h.len(), 64);
        // Comments and key order do not count.
        let reordered = "root:\n  dag:\n    tasks: {}\npipelineInfo: {name: p}\nschemaVersion: '2.1.0'\n";
        assert_eq!(PipelineFile::parse(reordered).unwrap().content_hash(), h);
        // A platform document or a changed spec does.
        let with_platform = format!("{IR}---\nplatforms: {{kubernetes: {{}}}}\n");
        assert_ne!(PipelineFile::parse(&with_platform).unwrap().content_hash(), h);
        assert_ne!(PipelineFile::parse(&IR.replace("name: p", "name: q")).unwrap().content_hash(), h);
        assert_eq!(canonical_json(&json!({"b": 1, "a": {"d": 2, "c": 3}})), r#"{"a":{"c":3,"d":2},"b":1}"#);
    }

    #[test]
    fn refuses_what_is_not_a_pipeline() {
        assert!(matches!(PipelineFile::parse("a: [1"), Err(PipelineFileError::Yaml(_))));
        for bad in [
            "",
            "- 1\n",
            "schemaVersion: 2.0.0\npipelineInfo: {name: p}\n",
            "schemaVersion: 2.1.0\n",
            "schemaVersion: 2.1.0\npipelineInfo: {name: p}\n---\na: 1\n",
            "schemaVersion: 2.1.0\npipelineInfo: {name: p}\n---\nplatforms: {}\n---\nplatforms: {}\n",
        ] {
            assert!(matches!(PipelineFile::parse(bad), Err(PipelineFileError::NotIr(_))), "{bad:?}");
        }
        let manifests = "apiVersion: pipelines.kubeflow.org/v2beta1\nkind: Pipeline\n";
        assert_eq!(PipelineFile::parse(manifests), Err(PipelineFileError::Manifests));
    }
}
