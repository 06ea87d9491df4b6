//! Pipeline-wide settings: built-in defaults, then the notebook's `kubeflow_notebook`
//! metadata (Kale's), then explicit command-line flags, each winning over the one before.
//!
//! Keys written by older Kale versions (`docker_image`, `autosnapshot`, Rok volume
//! fields, Katib settings, ...) are understood or ignored with a warning, never fatal:
//! Kale 2.3 refuses its own older example notebooks for exactly this reason.

use serde_json::{Map, Value};

use crate::diagnostics::Diagnostic;
use crate::tags::{self, StepSetting};

/// The base image used when neither the notebook nor the command line names one.
pub const DEFAULT_BASE_IMAGE: &str = "python:3.11";

/// Settings that apply to the whole pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSettings {
    /// `pipelineInfo.name`: DNS-1123 style, at most 128 characters.
    pub name: String,
    pub description: Option<String>,
    /// The KFP experiment runs go to (used when submitting).
    pub experiment: Option<String>,
    /// The image of steps without an `image:` tag.
    pub base_image: String,
    /// KFP caching for steps without a `cache:` tag.
    pub enable_caching: bool,
    /// Settings applied to every step before its own tags (`steps_defaults`).
    pub step_defaults: Vec<(StepSetting, String)>,
    /// Existing PersistentVolumeClaims mounted into every step.
    pub volumes: Vec<PvcMount>,
    /// Steps run their cells in a real IPython shell (every magic exactly as in Jupyter;
    /// IPython is added to every step's packages) instead of as translated Python.
    pub ipython: bool,
}

/// An existing PVC mounted into every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvcMount {
    pub pvc: String,
    pub mount_path: String,
}

/// Values given on the command line; they win over the notebook's metadata.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub pipeline_name: Option<String>,
    pub experiment: Option<String>,
    pub base_image: Option<String>,
    pub description: Option<String>,
    /// Run cells in IPython in the steps.
    pub ipython: bool,
}

/// Keys of `kubeflow_notebook` that older Kale versions wrote and nbkf ignores, with why.
const IGNORED_KEYS: &[(&str, &str)] = &[
    ("autosnapshot", "Rok snapshots do not exist outside Arrikto's platform"),
    ("snapshot_volumes", "Rok snapshots do not exist outside Arrikto's platform"),
    ("katib_run", "Katib tuning is not supported"),
    ("katib_metadata", "Katib tuning is not supported"),
    ("marshal_path", "nbkf passes data as KFP artifacts, not through a marshal volume"),
    ("timeout", "step timeouts are not supported yet"),
    ("security_context", "pod security contexts are not supported yet"),
    ("output_path", "use `nbkf convert -o PATH`"),
    ("storage_class_name", "only existing PVCs are mounted"),
    ("volume_access_mode", "only existing PVCs are mounted"),
];

/// Keys that tools write for their own bookkeeping: accepted silently.
const BOOKKEEPING_KEYS: &[&str] = &["experiment", "abs_working_dir", "notebook_path", "kfp_host"];

/// Resolves the pipeline settings. `default_name` is used when neither the flags nor the
/// notebook name the pipeline (nbkf passes the notebook's file name).
pub fn resolve(
    metadata: &Map<String, Value>,
    default_name: &str,
    overrides: &Overrides,
) -> (PipelineSettings, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let empty = Map::new();
    let kf = match metadata.get("kubeflow_notebook") {
        Some(Value::Object(map)) => map,
        None | Some(Value::Null) => &empty,
        Some(other) => {
            diags.push(meta_warning(format!(
                "`kubeflow_notebook` metadata should be an object, found {other}; it is ignored"
            )));
            &empty
        }
    };
    let text = |key: &str, diags: &mut Vec<Diagnostic>| -> Option<String> {
        match kf.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            None | Some(Value::Null) | Some(Value::String(_)) => None,
            Some(other) => {
                diags.push(meta_warning(format!(
                    "`kubeflow_notebook.{key}` should be a string, found {other}; it is ignored"
                )));
                None
            }
        }
    };

    for key in kf.keys() {
        if let Some((_, why)) = IGNORED_KEYS.iter().find(|(k, _)| k == key) {
            if is_set(&kf[key]) {
                diags.push(meta_warning(format!("`kubeflow_notebook.{key}` is ignored: {why}")));
            }
        } else if !KNOWN_KEYS.contains(&key.as_str()) && !BOOKKEEPING_KEYS.contains(&key.as_str()) {
            diags.push(meta_warning(format!("`kubeflow_notebook.{key}` is not a setting nbkf knows; it is ignored")));
        }
    }

    let name = match overrides.pipeline_name.clone().or_else(|| text("pipeline_name", &mut diags)) {
        Some(n) if is_pipeline_name(&n) => n,
        Some(n) => {
            let fixed = pipeline_name_from(&n);
            diags.push(meta_warning(format!(
                "pipeline name `{n}` is not valid in KFP (lower-case letters, digits and `-`); using `{fixed}`"
            )));
            fixed
        }
        None => pipeline_name_from(default_name),
    };
    let experiment = overrides.experiment.clone().or_else(|| text("experiment_name", &mut diags)).or_else(|| {
        kf.get("experiment")
            .and_then(|e| e.get("name"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    });
    let description = overrides.description.clone().or_else(|| text("pipeline_description", &mut diags));
    let base_image = overrides
        .base_image
        .clone()
        .or_else(|| text("base_image", &mut diags))
        .or_else(|| text("docker_image", &mut diags))
        .unwrap_or_else(|| DEFAULT_BASE_IMAGE.to_string());
    let enable_caching = match kf.get("enable_caching") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            diags.push(meta_warning(format!(
                "`kubeflow_notebook.enable_caching` should be true or false, found {other}; caching stays on"
            )));
            true
        }
    };
    let mut step_defaults = Vec::new();
    match kf.get("steps_defaults") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Some(tag) = item.as_str() else {
                    diags.push(meta_error(format!("`steps_defaults` entries must be tag strings, found {item}")));
                    continue;
                };
                match tags::parse_setting(tag) {
                    Ok(Some(setting)) => step_defaults.push((setting, tag.to_string())),
                    Ok(None) => {
                        diags.push(meta_error(format!("`{tag}` in `steps_defaults` is not a step setting")).with_hint(
                            "use `limit:`, `annotation:`, `label:`, `secret:`, `image:`, `cache:` or `report:` tags",
                        ))
                    }
                    Err((message, hint)) => {
                        let mut d = meta_error(format!("in `steps_defaults`: {message}"));
                        if let Some(h) = hint {
                            d = d.with_hint(h);
                        }
                        diags.push(d)
                    }
                }
            }
        }
        Some(other) => diags.push(meta_error(format!("`steps_defaults` must be a list of tags, found {other}"))),
    }
    let volumes = volumes(kf.get("volumes"), &mut diags);
    let ipython = overrides.ipython;
    (
        PipelineSettings { name, description, experiment, base_image, enable_caching, step_defaults, volumes, ipython },
        diags,
    )
}

const KNOWN_KEYS: &[&str] = &[
    "pipeline_name",
    "experiment_name",
    "pipeline_description",
    "base_image",
    "docker_image",
    "enable_caching",
    "steps_defaults",
    "volumes",
];

fn is_set(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
        && v.as_str() != Some("")
        && v.as_array().is_none_or(|a| !a.is_empty())
}

fn volumes(value: Option<&Value>, diags: &mut Vec<Diagnostic>) -> Vec<PvcMount> {
    let mut out = Vec::new();
    let items = match value {
        None | Some(Value::Null) => return out,
        Some(Value::Array(items)) => items,
        Some(other) => {
            diags.push(meta_error(format!("`volumes` must be a list, found {other}")));
            return out;
        }
    };
    for (i, v) in items.iter().enumerate() {
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let kind = field("type");
        let name = field("name");
        let mount = field("mount_point");
        match kind.as_str() {
            "pvc" if !name.is_empty() && mount.starts_with('/') => out.push(PvcMount { pvc: name, mount_path: mount }),
            "pvc" => diags.push(meta_error(format!("volume {} needs a `name` and an absolute `mount_point`", i + 1))),
            other => diags.push(
                meta_warning(format!(
                "volume {} (`{name}`) of type `{other}` is ignored: only existing PVCs (`type: pvc`) can be mounted",
                i + 1
            ))
                .with_hint("create the PVC first and reference it with `type: pvc`"),
            ),
        }
    }
    out
}

/// A valid KFP pipeline name (Kubernetes-native mode's rule, the strictest).
pub fn is_pipeline_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !name.ends_with('-')
}

/// Makes a valid pipeline name from any text (a file name, a title).
pub fn pipeline_name_from(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(128);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "pipeline".into()
    } else {
        out
    }
}

fn meta_warning(message: String) -> Diagnostic {
    Diagnostic::warning("notebook-metadata", message)
}

fn meta_error(message: String) -> Diagnostic {
    Diagnostic::error("notebook-metadata", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve_json(v: Value, o: &Overrides) -> (PipelineSettings, Vec<Diagnostic>) {
        resolve(v.as_object().unwrap(), "My Notebook", o)
    }

    #[test]
    fn precedence_defaults_metadata_flags() {
        let (s, _) = resolve_json(json!({}), &Overrides::default());
        assert_eq!((s.name.as_str(), s.base_image.as_str()), ("my-notebook", DEFAULT_BASE_IMAGE));
        let meta = json!({"kubeflow_notebook": {"pipeline_name": "titanic-ml", "docker_image": "img:1", "enable_caching": false}});
        let (s, d) = resolve_json(meta.clone(), &Overrides::default());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!((s.name.as_str(), s.base_image.as_str(), s.enable_caching), ("titanic-ml", "img:1", false));
        let o = Overrides { pipeline_name: Some("cli".into()), base_image: Some("cli:2".into()), ..Default::default() };
        let (s, _) = resolve_json(meta, &o);
        assert_eq!((s.name.as_str(), s.base_image.as_str()), ("cli", "cli:2"));
    }

    #[test]
    fn legacy_keys_warn_never_fail() {
        let meta = json!({"kubeflow_notebook": {"autosnapshot": true, "katib_run": false, "docker_image": "",
            "volumes": [{"type": "clone", "name": "ws", "mount_point": "/home/jovyan", "snapshot": false}], "mystery": 1}});
        let (s, d) = resolve_json(meta, &Overrides::default());
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        assert_eq!(d.len(), 3, "{d:?}"); // autosnapshot, clone volume, unknown key
        assert!(s.volumes.is_empty());
    }

    #[test]
    fn pvc_volumes_and_step_defaults() {
        let meta = json!({"kubeflow_notebook": {"volumes": [{"type": "pvc", "name": "data", "mount_point": "/data"}],
            "steps_defaults": ["label:team:ml", "limit:memory:2Gi", "bogus"]}});
        let (s, d) = resolve_json(meta, &Overrides::default());
        assert_eq!(s.volumes, vec![PvcMount { pvc: "data".into(), mount_path: "/data".into() }]);
        assert_eq!(s.step_defaults.len(), 2);
        assert_eq!(d.len(), 1);
        assert!(d[0].is_error());
    }
}
