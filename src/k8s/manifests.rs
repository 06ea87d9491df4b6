//! The Kubernetes-native form of a pipeline: a `Pipeline` and a `PipelineVersion` object
//! (`pipelines.kubeflow.org/v2beta1`) built from the KFP IR YAML that `nbkf convert` writes.
//!
//! A `PipelineVersion`'s spec is immutable (KFP's admission webhook refuses changes), so
//! every distinct pipeline content gets its own version, named after a hash of that content:
//! `<pipeline>-<first 12 hex digits of its SHA-256>`. The *content* is exactly what the
//! version's immutable spec holds (the IR document and the platform document), written as
//! canonical JSON (keys sorted, no spaces), so:
//! - converting an unchanged notebook again gives the same name (the YAML's comment header,
//!   which names the notebook file and nbkf's version, is not content; neither is key
//!   order or YAML formatting);
//! - any change that would change the stored spec (a cell, the image, a parameter default,
//!   the description, nbkf's `sdkVersion`) gives a new name, hence a new version.

use serde_json::{json, Map, Value};

use crate::emit::file::{PipelineFile, PipelineFileError};

/// The API group of Kubernetes-native KFP.
pub const GROUP: &str = "pipelines.kubeflow.org";
/// The API version of its objects.
pub const VERSION: &str = "v2beta1";
/// `apiVersion` of the objects.
pub const API_VERSION: &str = "pipelines.kubeflow.org/v2beta1";
/// The label every object nbkf writes carries, with the value `nbkf`.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// How many hex digits of the content hash end a version name.
pub const HASH_DIGITS: usize = 12;
/// The longest Kubernetes object name (a DNS-1123 subdomain).
pub const MAX_NAME: usize = 253;

/// Why a pipeline YAML cannot become manifests.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    File(#[from] PipelineFileError),
    #[error("pipeline name `{0}` is not a valid Kubernetes object name (lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253 characters); convert with `--pipeline-name`")]
    Name(String),
    #[error("cannot write the manifests: {0}")]
    Write(String),
}

/// The two objects of one pipeline version.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    /// The `Pipeline` object.
    pub pipeline: Value,
    /// The `PipelineVersion` object.
    pub version: Value,
    /// The full content hash the version name ends with (64 hex digits).
    pub content_hash: String,
    /// The IR's comment header, kept for the file.
    header: Vec<String>,
}

impl Manifests {
    /// Builds both objects; `namespace` goes into their metadata when given (without it,
    /// whoever applies the file chooses).
    pub fn build(ir: &PipelineFile, namespace: Option<&str>) -> Result<Self, ManifestError> {
        let name = ir.name.as_str();
        if !is_dns1123_subdomain(name) {
            return Err(ManifestError::Name(name.to_string()));
        }
        let content_hash = ir.content_hash();
        let version_name = version_name(name, &content_hash);
        let metadata = |object_name: &str| {
            let mut m = Map::new();
            m.insert("name".into(), json!(object_name));
            if let Some(ns) = namespace {
                m.insert("namespace".into(), json!(ns));
            }
            m.insert("labels".into(), json!({ MANAGED_BY: "nbkf" }));
            Value::Object(m)
        };
        let mut pipeline_spec = Map::new();
        let mut version_spec = Map::new();
        if let Some(d) = &ir.display_name {
            pipeline_spec.insert("displayName".into(), json!(d));
            version_spec.insert("displayName".into(), json!(d));
        }
        if let Some(d) = ir.spec["pipelineInfo"]["description"].as_str().filter(|d| !d.is_empty()) {
            pipeline_spec.insert("description".into(), json!(d));
            version_spec.insert("description".into(), json!(d));
        }
        version_spec.insert("pipelineName".into(), json!(name));
        version_spec.insert("pipelineSpec".into(), ir.spec.clone());
        if let Some(p) = &ir.platform {
            version_spec.insert("platformSpec".into(), p.clone());
        }
        let object = |kind: &str, object_name: &str, spec: Map<String, Value>| json!({ "apiVersion": API_VERSION, "kind": kind, "metadata": metadata(object_name), "spec": spec });
        Ok(Manifests {
            pipeline: object("Pipeline", name, pipeline_spec),
            version: object("PipelineVersion", &version_name, version_spec),
            content_hash,
            header: ir.header.clone(),
        })
    }

    /// `metadata.name` of the `Pipeline`.
    pub fn pipeline_name(&self) -> &str {
        self.pipeline["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `metadata.name` of the `PipelineVersion`.
    pub fn version_name(&self) -> &str {
        self.version["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// Both objects as one YAML file (two documents) under a comment header that says what
    /// they are and how to apply them, followed by the IR's own header lines.
    pub fn to_yaml(&self) -> Result<String, ManifestError> {
        let mut out =
            String::from("# KUBEFLOW PIPELINES MANIFESTS (Kubernetes-native KFP, pipelines.kubeflow.org/v2beta1)\n");
        out.push_str(&format!("# Pipeline: {}\n", self.pipeline_name()));
        out.push_str(&format!("# PipelineVersion: {} (named after the SHA-256 of its content)\n", self.version_name()));
        out.push_str(
            "# Apply: kubectl apply --server-side -f FILE (client-side apply would copy the whole spec into an\n\
             #   annotation), or `nbkf apply` the notebook.\n",
        );
        // The IR's own lines, but for its title and name, said above.
        for line in self.header.iter().filter(|l| l.as_str() != "# PIPELINE DEFINITION" && !l.starts_with("# Name: ")) {
            out.push_str(line);
            out.push('\n');
        }
        let write = |v: &Value| serde_saphyr::to_string(v).map_err(|e| ManifestError::Write(e.to_string()));
        out.push_str(&write(&self.pipeline)?);
        out.push_str("---\n");
        out.push_str(&write(&self.version)?);
        Ok(out)
    }
}

/// `<pipeline>-<12 hex digits>`, the pipeline part shortened when needed so the whole
/// stays a DNS-1123 subdomain of at most 253 characters.
pub fn version_name(pipeline: &str, content_hash: &str) -> String {
    let room = MAX_NAME - HASH_DIGITS - 1;
    let prefix: String = pipeline.chars().take(room).collect();
    let prefix = prefix.trim_end_matches(['-', '.']);
    format!("{prefix}-{}", &content_hash[..HASH_DIGITS])
}

/// Whether `name` is a DNS-1123 subdomain (a valid name for most Kubernetes objects):
/// at most 253 characters, dot-separated labels of lower-case letters, digits and `-`
/// that start and end with a letter or digit.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// Whether `name` is a DNS-1123 label (a valid namespace name): at most 63 lower-case
/// letters, digits and `-`, starting and ending with a letter or digit.
pub fn is_dns1123_label(name: &str) -> bool {
    name.len() <= 63 && !name.contains('.') && is_dns1123_subdomain(name)
}

/// Whether two JSON values are the same data, as a Kubernetes API server keeps it: key
/// order does not matter and numbers compare by value (a stored `1.0` comes back as `1`).
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IR: &str = "# PIPELINE DEFINITION\n# Name: demo\n# Experiment: exp one\n\
components: {}\npipelineInfo:\n  name: demo\n  description: Demo pipeline\nroot:\n  dag:\n    tasks: {}\n\
schemaVersion: 2.1.0\nsdkVersion: nbkf-0.1.0\n";

    fn ir(text: &str) -> PipelineFile {
        PipelineFile::parse(text).unwrap()
    }

    #[test]
    fn names_follow_the_pipeline_and_the_content() {
        let m = Manifests::build(&ir(IR), Some("team-a")).unwrap();
        assert_eq!(m.pipeline_name(), "demo");
        assert_eq!(m.version_name(), format!("demo-{}", &m.content_hash[..12]));
        assert_eq!(m.content_hash.len(), 64);
        assert_eq!(m.pipeline["metadata"]["namespace"], "team-a");
        assert_eq!(m.version["metadata"]["labels"][MANAGED_BY], "nbkf");
        assert_eq!(m.version["spec"]["pipelineName"], "demo");
        assert_eq!(m.version["spec"]["description"], "Demo pipeline");
        assert_eq!(m.pipeline["spec"]["description"], "Demo pipeline");
        assert!(m.version["spec"].get("platformSpec").is_none());
        assert_eq!(m.version["spec"]["pipelineSpec"], ir(IR).spec);
        let without = Manifests::build(&ir(IR), None).unwrap();
        assert!(without.pipeline["metadata"].get("namespace").is_none());
        assert_eq!(without.version_name(), m.version_name(), "the namespace is not content");
    }

    #[test]
    fn the_hash_ignores_comments_order_and_formatting_but_not_content() {
        let base = ir(IR).content_hash();
        let reordered =
            "# Generated by nbkf 9.9 from elsewhere.ipynb\nschemaVersion: '2.1.0'\nsdkVersion: nbkf-0.1.0\n\
root: {dag: {tasks: {}}}\npipelineInfo: {description: Demo pipeline, name: demo}\ncomponents: {}\n";
        assert_eq!(ir(reordered).content_hash(), base);
        let changed = IR.replace("Demo pipeline", "Demo pipeline, v2");
        assert_ne!(ir(&changed).content_hash(), base);
        let newer_sdk = IR.replace("nbkf-0.1.0", "nbkf-0.2.0");
        assert_ne!(ir(&newer_sdk).content_hash(), base, "a different stored spec needs a new version");
        let with_platform = format!("{IR}---\nplatforms:\n  kubernetes:\n    deploymentSpec: {{executors: {{}}}}\n");
        let p = ir(&with_platform);
        assert_ne!(p.content_hash(), base);
        let m = Manifests::build(&p, None).unwrap();
        assert_eq!(
            m.version["spec"]["platformSpec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"],
            json!({})
        );
    }

    #[test]
    fn version_names_stay_within_the_dns_1123_limits() {
        let hash = "0123456789abcdef".repeat(4);
        let long = "a".repeat(250);
        let name = version_name(&long, &hash);
        assert_eq!(name.len(), 253);
        assert!(is_dns1123_subdomain(&name), "{name}");
        // A cut that would end the prefix with `-` or `.` drops them.
        let dashed = format!("{}-{}", "b".repeat(239), "c".repeat(10));
        let name = version_name(&dashed, &hash);
        assert!(is_dns1123_subdomain(&name), "{name}");
        assert!(name.ends_with("b-0123456789ab"), "{name}");
        for bad in ["", "Demo", "-a", "a-", "a..b", "a_b", &"x".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
        for good in ["a", "my-pipe.v2", "0abc", &"x".repeat(253)] {
            assert!(is_dns1123_subdomain(good), "{good}");
        }
        let upper = IR.replace("name: demo", "name: Demo");
        assert_eq!(Manifests::build(&ir(&upper), None), Err(ManifestError::Name("Demo".into())));
    }

    #[test]
    fn the_file_has_two_documents_and_keeps_the_experiment_line() {
        let m = Manifests::build(&ir(IR), None).unwrap();
        let text = m.to_yaml().unwrap();
        assert!(text.starts_with("# KUBEFLOW PIPELINES MANIFESTS"), "{text}");
        assert!(text.contains("# Experiment: exp one\n"), "{text}");
        assert!(!text.contains("# PIPELINE DEFINITION"), "{text}");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        assert_eq!(docs, vec![m.pipeline.clone(), m.version.clone()]);
        assert_eq!(PipelineFile::parse(&text), Err(PipelineFileError::Manifests));
    }

    #[test]
    fn stored_json_compares_by_value() {
        assert!(same_json(&json!({"a": 1.0, "b": [1, {"c": "x"}]}), &json!({"b": [1, {"c": "x"}], "a": 1})));
        assert!(!same_json(&json!({"a": 1.5}), &json!({"a": 1})));
        assert!(!same_json(&json!({"a": 1, "b": 2}), &json!({"a": 1})));
        assert!(!same_json(&json!([1, 2]), &json!([2, 1])));
    }
}
