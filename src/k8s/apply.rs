//! `nbkf apply`: creates or updates a pipeline's `Pipeline` object and creates the
//! `PipelineVersion` of its content, by server-side apply (field manager `nbkf`).
//!
//! - The `Pipeline` is applied every time, so its description follows the notebook. It is
//!   applied *without* `force` by default: if another field manager (the KFP UI, `kubectl
//!   edit`, a GitOps tool) set one of its fields to another value, the API server answers
//!   409 and nbkf says so, as `kubectl apply --server-side` does; `force_conflicts` takes
//!   the fields over, for when the notebook is meant to win.
//! - A `PipelineVersion` is named after its content ([`super::manifests`]) and its spec is
//!   immutable, so nbkf never changes an existing one: when the version exists, its stored
//!   spec is compared with the pipeline's before anything is written; the same content is
//!   reported as unchanged (no request that writes), another content is an error
//!   ([`K8sError::VersionExists`]) and nothing is applied.
//!   Otherwise it is created by an apply, which cannot conflict with anyone (the object is
//!   new), so `force` is never needed there.
//! - The `Pipeline`'s `metadata.uid` is the KFP pipeline id in this mode; the version's uid
//!   is the version id.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::manifests::{same_json, Manifests, GROUP, VERSION};
use super::{api_error, Connection, K8sError, Operation};

/// The field manager of every apply nbkf makes.
pub const FIELD_MANAGER: &str = "nbkf";

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Ask the API server to check everything and persist nothing (`dryRun=All`).
    pub dry_run: bool,
    /// Take over the `Pipeline`'s fields that another field manager set.
    pub force_conflicts: bool,
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl Outcome {
    /// `created`, `updated`, `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// One applied object.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// `Pipeline` or `PipelineVersion`.
    pub kind: &'static str,
    /// `pipelines.pipelines.kubeflow.org`.
    pub resource: String,
    pub name: String,
    pub outcome: Outcome,
    /// The object's uid (the KFP id); `None` in a dry run of a new object.
    pub uid: Option<String>,
    /// Whether the API server checked this object (a dry run of a version whose pipeline
    /// does not exist yet cannot be checked: KFP's admission webhook looks the pipeline up).
    pub checked: bool,
}

impl Applied {
    fn new(kind: &'static str, name: &str, outcome: Outcome, uid: Option<String>, checked: bool) -> Self {
        Applied {
            kind,
            resource: resource_name(kind),
            name: name.to_string(),
            outcome,
            uid: uid.filter(|u| !u.is_empty()),
            checked,
        }
    }
}

/// What `apply` did.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyReport {
    pub namespace: String,
    pub pipeline: Applied,
    pub version: Applied,
    pub dry_run: bool,
}

/// The `ApiResource` of `Pipeline` or `PipelineVersion`.
pub fn resource(kind: &str) -> ApiResource {
    let plural = format!("{}s", kind.to_ascii_lowercase());
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, kind), &plural)
}

/// `pipelines.pipelines.kubeflow.org`, as RBAC and kubectl name it.
pub fn resource_name(kind: &str) -> String {
    format!("{}.{GROUP}", resource(kind).plural)
}

/// Applies `manifests` in the connection's namespace (their own namespace, if any, is
/// replaced by it).
pub fn apply(conn: &Connection, manifests: &Manifests, options: ApplyOptions) -> Result<ApplyReport, K8sError> {
    let namespace = conn.namespace().to_string();
    let mut pipeline = manifests.pipeline.clone();
    let mut version = manifests.version.clone();
    pipeline["metadata"]["namespace"] = Value::from(namespace.as_str());
    version["metadata"]["namespace"] = Value::from(namespace.as_str());

    let pipelines: Api<DynamicObject> = Api::namespaced_with(conn.client(), &namespace, &resource("Pipeline"));
    let versions: Api<DynamicObject> = Api::namespaced_with(conn.client(), &namespace, &resource("PipelineVersion"));
    let op = |verb: &'static str, kind: &str, name: &str| Operation {
        verb,
        resource: resource_name(kind),
        namespace: namespace.clone(),
        name: Some(name.to_string()),
    };
    let fail = |e: kube::Error, verb, kind: &str, name: &str| api_error(e, op(verb, kind, name), &conn.cluster);

    // The version first: one of this name with another content stops everything before
    // anything is written.
    let vname = manifests.version_name();
    let existing = conn.block_on(versions.get_opt(vname)).map_err(|e| fail(e, "get", "PipelineVersion", vname))?;
    if existing.as_ref().is_some_and(|stored| !same_content(stored, &version)) {
        return Err(K8sError::VersionExists { name: vname.to_string(), namespace });
    }

    // The Pipeline.
    let name = manifests.pipeline_name();
    let before = conn.block_on(pipelines.get_opt(name)).map_err(|e| fail(e, "get", "Pipeline", name))?;
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force_conflicts;
    params.dry_run = options.dry_run;
    let after = conn
        .block_on(pipelines.patch(name, &params, &Patch::Apply(&pipeline)))
        .map_err(|e| fail(e, "patch", "Pipeline", name))?;
    let outcome = match &before {
        None => Outcome::Created,
        // What a reader of the object sees; a write that only added nbkf to the field
        // managers (after `kubectl apply` of the same content) changed nothing.
        Some(b) if same_json(&visible(b), &visible(&after)) => Outcome::Unchanged,
        Some(_) => Outcome::Updated,
    };
    // A dry run of a new object has no lasting uid.
    let uid = after.metadata.uid.clone().filter(|_| !(options.dry_run && before.is_none()));
    let pipeline_applied = Applied::new("Pipeline", name, outcome, uid, true);

    // The PipelineVersion: created once, never changed.
    let version_applied = match existing {
        Some(stored) => Applied::new("PipelineVersion", vname, Outcome::Unchanged, stored.metadata.uid.clone(), true),
        // In a dry run the pipeline of a new version does not exist, and KFP's webhook
        // would refuse the version for that alone: nothing to ask the server.
        None if options.dry_run && outcome == Outcome::Created => {
            Applied::new("PipelineVersion", vname, Outcome::Created, None, false)
        }
        None => {
            let mut params = PatchParams::apply(FIELD_MANAGER);
            params.dry_run = options.dry_run;
            let created = conn
                .block_on(versions.patch(vname, &params, &Patch::Apply(&version)))
                .map_err(|e| fail(e, "patch", "PipelineVersion", vname))?;
            let uid = created.metadata.uid.clone().filter(|_| !options.dry_run);
            Applied::new("PipelineVersion", vname, Outcome::Created, uid, true)
        }
    };
    Ok(ApplyReport { namespace, pipeline: pipeline_applied, version: version_applied, dry_run: options.dry_run })
}

/// The spec, labels and annotations of an object.
fn visible(object: &DynamicObject) -> Value {
    serde_json::json!({
        "spec": object.data.get("spec"),
        "labels": object.metadata.labels,
        "annotations": object.metadata.annotations,
    })
}

/// Whether a stored version holds the content of `wanted` (its immutable spec fields).
fn same_content(stored: &DynamicObject, wanted: &Value) -> bool {
    let spec = stored.data.get("spec").cloned().unwrap_or(Value::Null);
    ["pipelineName", "pipelineSpec", "platformSpec"].iter().all(|key| {
        let s = spec.get(key).unwrap_or(&Value::Null);
        let w = wanted["spec"].get(key).unwrap_or(&Value::Null);
        same_json(s, w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_named_as_rbac_names_them() {
        assert_eq!(resource_name("Pipeline"), "pipelines.pipelines.kubeflow.org");
        assert_eq!(resource_name("PipelineVersion"), "pipelineversions.pipelines.kubeflow.org");
        assert_eq!(resource("PipelineVersion").api_version, "pipelines.kubeflow.org/v2beta1");
    }

    #[test]
    fn a_stored_version_matches_by_its_immutable_spec() {
        let wanted = serde_json::json!({"spec": {"pipelineName": "p", "pipelineSpec": {"a": 1.0}, "displayName": "x"}});
        let stored = |spec: Value| DynamicObject {
            types: None,
            metadata: Default::default(),
            data: serde_json::json!({ "spec": spec }),
        };
        assert!(same_content(&stored(serde_json::json!({"pipelineName": "p", "pipelineSpec": {"a": 1}})), &wanted));
        assert!(!same_content(&stored(serde_json::json!({"pipelineName": "p", "pipelineSpec": {"a": 2}})), &wanted));
        assert!(!same_content(
            &stored(serde_json::json!({"pipelineName": "p", "pipelineSpec": {"a": 1}, "platformSpec": {}})),
            &wanted
        ));
    }
}
