//! `nbkf submit`: a pipeline file becomes a run on a KFP installation. The pipeline is
//! found by name (or created), its version by the content hash (or uploaded: the same
//! content reuses the existing version), the experiment by name (or created), and a run
//! of exactly that version is started, with a display name unique to this submission so
//! that a lost answer can be checked before anything is created twice.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::api::{Kfp, KfpError};
use crate::emit::file::PipelineFile;

/// What to submit.
pub struct Submission<'a> {
    pub file: &'a PipelineFile,
    /// The YAML as uploaded.
    pub yaml: &'a [u8],
    /// Where it came from, in words, for the descriptions of a new pipeline (when the
    /// file has none) and of a new version: `converted by nbkf from titanic.ipynb`.
    pub origin: &'a str,
    /// The experiment (else the file's, else `Default`).
    pub experiment: Option<String>,
    /// The start of the run's display name (else the pipeline's name).
    pub run_name: Option<String>,
    /// Parameter values, already checked against the pipeline's parameters.
    pub parameters: Map<String, Value>,
}

/// What a submission found or made.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Submitted {
    pub pipeline_id: String,
    pub pipeline_name: String,
    pub pipeline_created: bool,
    pub version_id: String,
    pub version_name: String,
    pub version_created: bool,
    pub experiment_id: String,
    pub experiment_name: String,
    pub run_id: String,
    pub run_name: String,
    /// The run's page in the KFP UI, when the UI's address is known.
    pub run_url: Option<String>,
}

/// The experiment runs go to when neither the command line nor the notebook names one
/// (as `kfp.Client` does).
pub const DEFAULT_EXPERIMENT: &str = "Default";

/// The version name of a pipeline file: the first 12 hex digits of its content hash. On a
/// Kubernetes-native KFP the server stores it as `<pipeline>-<hash>`, the name `nbkf apply`
/// gives the same content.
pub fn version_name(file: &PipelineFile) -> String {
    file.content_hash()[..crate::k8s::manifests::HASH_DIGITS].to_string()
}

/// A run display name no other submission has: `<prefix> <UTC time> <random>`.
pub fn unique_run_name(prefix: &str) -> String {
    let time = humantime::format_rfc3339_seconds(SystemTime::now());
    format!("{prefix} {time} {:06x}", fastrand::u32(..0x0100_0000))
}

fn id(v: &Value, key: &str, what: &str) -> Result<String, KfpError> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| KfpError::Unexpected { request: what.into(), detail: format!("the answer has no `{key}`") })
}

/// Submits: pipeline, version, experiment, run.
pub fn submit(kfp: &Kfp, s: &Submission, ui: Option<&str>) -> Result<Submitted, KfpError> {
    let name = &s.file.name;
    let (pipeline, pipeline_created) = match kfp.pipeline_by_name(name)? {
        Some(p) => (p, false),
        None => (kfp.create_pipeline(name, Some(s.file.description.as_deref().unwrap_or(s.origin)))?, true),
    };
    let pipeline_id = id(&pipeline, "pipeline_id", "create pipeline")?;

    let version_name = version_name(s.file);
    // A pipeline made just now has no versions to look through.
    let existing = if pipeline_created { None } else { kfp.version_by_name(&pipeline_id, &version_name)? };
    let (version, version_created) = match existing {
        Some(v) => (v, false),
        None => (kfp.upload_version(&pipeline_id, &version_name, Some(s.origin), s.yaml)?, true),
    };
    let version_id = id(&version, "pipeline_version_id", "upload version")?;

    let experiment_name =
        s.experiment.clone().or_else(|| s.file.experiment.clone()).unwrap_or_else(|| DEFAULT_EXPERIMENT.to_string());
    let experiment = kfp.ensure_experiment(&experiment_name)?;
    let experiment_id = id(&experiment, "experiment_id", "create experiment")?;

    let run_name = unique_run_name(s.run_name.as_deref().unwrap_or(name));
    let run = kfp.create_run(&run_name, &experiment_id, &pipeline_id, &version_id, &s.parameters)?;
    let run_id = id(&run, "run_id", "create run")?;
    Ok(Submitted {
        run_url: ui.map(|u| run_url(u, &run_id)),
        pipeline_id,
        pipeline_name: name.clone(),
        pipeline_created,
        version_id,
        version_name,
        version_created,
        experiment_id,
        experiment_name,
        run_id,
        run_name,
    })
}

/// The run's page in the KFP UI.
pub fn run_url(ui: &str, run_id: &str) -> String {
    format!("{}/#/runs/details/{run_id}", ui.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_are_unique_and_readable() {
        let a = unique_run_name("titanic");
        let b = unique_run_name("titanic");
        assert!(a.starts_with("titanic 20") && a.ends_with(char::is_alphanumeric), "{a}");
        assert_ne!(a, b);
        assert_eq!(run_url("https://kf/pipeline/", "r1"), "https://kf/pipeline/#/runs/details/r1");
    }
}
