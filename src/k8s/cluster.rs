//! What an editor asks a cluster for (Kale's JupyterLab panel asks its backend the same):
//! the namespace in use, and the persistent volume claims a pipeline could mount.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::{api_error, ClusterConfig, Connection, K8sError, Operation};

/// The namespace in use and where it came from (`nbkf kube namespace`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NamespaceInfo {
    pub namespace: String,
    /// `flag`, `context`, `in-cluster` or `default`.
    pub source: &'static str,
    /// The kubeconfig context (`null` in a pod).
    pub context: Option<String>,
    /// The API server's URL.
    pub server: String,
}

/// The effective namespace of a configuration (no request is made).
pub fn namespace(cluster: &ClusterConfig) -> NamespaceInfo {
    NamespaceInfo {
        namespace: cluster.namespace.clone(),
        source: cluster.namespace_source.as_str(),
        context: cluster.context.clone(),
        server: cluster.server(),
    }
}

/// One persistent volume claim (`nbkf kube pvcs`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PvcInfo {
    pub name: String,
    /// `ReadWriteOnce`, `ReadWriteMany`, `ReadOnlyMany`, `ReadWriteOncePod`.
    pub access_modes: Vec<String>,
    /// The bound volume's size (`status.capacity.storage`), else the size asked for
    /// (`spec.resources.requests.storage`), else `null`.
    pub capacity: Option<String>,
    pub storage_class: Option<String>,
    /// `Pending`, `Bound` or `Lost`.
    pub phase: Option<String>,
}

impl From<&PersistentVolumeClaim> for PvcInfo {
    fn from(pvc: &PersistentVolumeClaim) -> Self {
        let spec = pvc.spec.as_ref();
        let status = pvc.status.as_ref();
        let bound = status.and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage"));
        let requested =
            spec.and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
        PvcInfo {
            name: pvc.metadata.name.clone().unwrap_or_default(),
            access_modes: spec.and_then(|s| s.access_modes.clone()).unwrap_or_default(),
            capacity: bound.or(requested).map(|q| q.0.clone()),
            storage_class: spec.and_then(|s| s.storage_class_name.clone()),
            phase: status.and_then(|s| s.phase.clone()),
        }
    }
}

/// The claims of the connection's namespace, sorted by name.
pub fn pvcs(conn: &Connection) -> Result<Vec<PvcInfo>, K8sError> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(conn.client(), conn.namespace());
    let list = conn.block_on(api.list(&ListParams::default())).map_err(|e| {
        let operation = Operation {
            verb: "list",
            resource: "persistentvolumeclaims".into(),
            namespace: conn.namespace().to_string(),
            name: None,
        };
        api_error(e, operation, &conn.cluster)
    })?;
    let mut out: Vec<PvcInfo> = list.items.iter().map(PvcInfo::from).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_the_bound_size_else_the_request() {
        let pending: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "fast"},
            "status": {"phase": "Pending"}
        }))
        .unwrap();
        let info = PvcInfo::from(&pending);
        assert_eq!(info.capacity.as_deref(), Some("1Gi"));
        assert_eq!(info.access_modes, vec!["ReadWriteOnce"]);
        assert_eq!(info.storage_class.as_deref(), Some("fast"));
        assert_eq!(info.phase.as_deref(), Some("Pending"));
        let bound: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}}
        }))
        .unwrap();
        assert_eq!(PvcInfo::from(&bound).capacity.as_deref(), Some("2Gi"));
        let json = serde_json::to_value(PvcInfo::from(&bound)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "data", "access_modes": ["ReadWriteMany"], "capacity": "2Gi", "storage_class": null, "phase": "Bound"})
        );
    }
}
